//! The ggml type ids GGUF files use, and each type's block shape. Ids and
//! sizes follow `ggml/include/ggml.h` and `gguf.constants.GGML_QUANT_SIZES`
//! (gguf 0.19.0); ids 4, 5 and 31–33, 36–38 were removed from ggml and are
//! refused.

use std::fmt;

use super::ElementType;

/// A ggml tensor type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, reason = "names as ggml spells them")]
pub enum GgmlType {
    /// ggml `F32`.
    F32,
    /// ggml `F16`.
    F16,
    /// ggml `Q4_0`.
    Q4_0,
    /// ggml `Q4_1`.
    Q4_1,
    /// ggml `Q5_0`.
    Q5_0,
    /// ggml `Q5_1`.
    Q5_1,
    /// ggml `Q8_0`.
    Q8_0,
    /// ggml `Q8_1`.
    Q8_1,
    /// ggml `Q2_K`.
    Q2_K,
    /// ggml `Q3_K`.
    Q3_K,
    /// ggml `Q4_K`.
    Q4_K,
    /// ggml `Q5_K`.
    Q5_K,
    /// ggml `Q6_K`.
    Q6_K,
    /// ggml `Q8_K`.
    Q8_K,
    /// ggml `IQ2_XXS`.
    IQ2_XXS,
    /// ggml `IQ2_XS`.
    IQ2_XS,
    /// ggml `IQ3_XXS`.
    IQ3_XXS,
    /// ggml `IQ1_S`.
    IQ1_S,
    /// ggml `IQ4_NL`.
    IQ4_NL,
    /// ggml `IQ3_S`.
    IQ3_S,
    /// ggml `IQ2_S`.
    IQ2_S,
    /// ggml `IQ4_XS`.
    IQ4_XS,
    /// ggml `I8`.
    I8,
    /// ggml `I16`.
    I16,
    /// ggml `I32`.
    I32,
    /// ggml `I64`.
    I64,
    /// ggml `F64`.
    F64,
    /// ggml `IQ1_M`.
    IQ1_M,
    /// ggml `BF16`.
    BF16,
    /// ggml `TQ1_0`.
    TQ1_0,
    /// ggml `TQ2_0`.
    TQ2_0,
    /// ggml `MXFP4`.
    MXFP4,
    /// ggml `NVFP4`.
    NVFP4,
    /// ggml `Q1_0`.
    Q1_0,
}

/// (type, id, elements per block, bytes per block, name).
const TABLE: [(GgmlType, u32, u64, u64, &str); 34] = [
    (GgmlType::F32, 0, 1, 4, "F32"),
    (GgmlType::F16, 1, 1, 2, "F16"),
    (GgmlType::Q4_0, 2, 32, 18, "Q4_0"),
    (GgmlType::Q4_1, 3, 32, 20, "Q4_1"),
    (GgmlType::Q5_0, 6, 32, 22, "Q5_0"),
    (GgmlType::Q5_1, 7, 32, 24, "Q5_1"),
    (GgmlType::Q8_0, 8, 32, 34, "Q8_0"),
    (GgmlType::Q8_1, 9, 32, 40, "Q8_1"),
    (GgmlType::Q2_K, 10, 256, 84, "Q2_K"),
    (GgmlType::Q3_K, 11, 256, 110, "Q3_K"),
    (GgmlType::Q4_K, 12, 256, 144, "Q4_K"),
    (GgmlType::Q5_K, 13, 256, 176, "Q5_K"),
    (GgmlType::Q6_K, 14, 256, 210, "Q6_K"),
    (GgmlType::Q8_K, 15, 256, 292, "Q8_K"),
    (GgmlType::IQ2_XXS, 16, 256, 66, "IQ2_XXS"),
    (GgmlType::IQ2_XS, 17, 256, 74, "IQ2_XS"),
    (GgmlType::IQ3_XXS, 18, 256, 98, "IQ3_XXS"),
    (GgmlType::IQ1_S, 19, 256, 50, "IQ1_S"),
    (GgmlType::IQ4_NL, 20, 32, 18, "IQ4_NL"),
    (GgmlType::IQ3_S, 21, 256, 110, "IQ3_S"),
    (GgmlType::IQ2_S, 22, 256, 82, "IQ2_S"),
    (GgmlType::IQ4_XS, 23, 256, 136, "IQ4_XS"),
    (GgmlType::I8, 24, 1, 1, "I8"),
    (GgmlType::I16, 25, 1, 2, "I16"),
    (GgmlType::I32, 26, 1, 4, "I32"),
    (GgmlType::I64, 27, 1, 8, "I64"),
    (GgmlType::F64, 28, 1, 8, "F64"),
    (GgmlType::IQ1_M, 29, 256, 56, "IQ1_M"),
    (GgmlType::BF16, 30, 1, 2, "BF16"),
    (GgmlType::TQ1_0, 34, 256, 54, "TQ1_0"),
    (GgmlType::TQ2_0, 35, 256, 66, "TQ2_0"),
    (GgmlType::MXFP4, 39, 32, 17, "MXFP4"),
    (GgmlType::NVFP4, 40, 64, 36, "NVFP4"),
    (GgmlType::Q1_0, 41, 128, 18, "Q1_0"),
];

impl GgmlType {
    fn row(self) -> &'static (GgmlType, u32, u64, u64, &'static str) {
        TABLE
            .iter()
            .find(|row| row.0 == self)
            .expect("every type has a row")
    }

    /// Looks a type up by its id; `None` for unknown or removed ids.
    pub fn from_id(id: u32) -> Option<Self> {
        TABLE.iter().find(|row| row.1 == id).map(|row| row.0)
    }

    /// Returns the type's id.
    pub fn id(self) -> u32 {
        self.row().1
    }

    /// Returns the number of elements in one block (1 for plain types).
    pub fn block_elements(self) -> u64 {
        self.row().2
    }

    /// Returns the number of bytes one block takes.
    pub fn block_bytes(self) -> u64 {
        self.row().3
    }

    /// Returns ggml's name for the type.
    pub fn name(self) -> &'static str {
        self.row().4
    }

    /// Returns the plain element type, for types that are not blocks.
    pub fn element_type(self) -> Option<ElementType> {
        Some(match self {
            Self::F32 => ElementType::F32,
            Self::F16 => ElementType::F16,
            Self::BF16 => ElementType::BF16,
            Self::F64 => ElementType::F64,
            Self::I8 => ElementType::I8,
            Self::I16 => ElementType::I16,
            Self::I32 => ElementType::I32,
            Self::I64 => ElementType::I64,
            _ => return None,
        })
    }

    /// Returns the bytes `elements` elements take, or `None` when the count
    /// is not a whole number of blocks or the size overflows.
    pub fn storage_bytes(self, elements: u64) -> Option<u64> {
        let block = self.block_elements();
        (elements % block == 0).then(|| (elements / block).checked_mul(self.block_bytes()))?
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_removed_ids_are_refused() {
        for row in TABLE {
            assert_eq!(GgmlType::from_id(row.1), Some(row.0));
            assert_eq!(row.0.id(), row.1);
        }
        for removed in [4, 5, 31, 32, 33, 36, 37, 38, 42, u32::MAX] {
            assert_eq!(GgmlType::from_id(removed), None, "{removed}");
        }
    }

    #[test]
    fn sizes_follow_blocks() {
        assert_eq!(GgmlType::Q4_K.storage_bytes(512), Some(288));
        assert_eq!(
            GgmlType::Q4_1.storage_bytes(576 * 1536),
            Some(576 / 32 * 20 * 1536)
        );
        assert_eq!(GgmlType::Q8_0.storage_bytes(33), None);
        assert_eq!(GgmlType::F32.storage_bytes(u64::MAX), None);
    }
}
