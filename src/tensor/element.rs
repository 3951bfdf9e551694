//! Element types of dense tensors, with their storage sizes and MLIR names.

use std::fmt;

/// The element type of a dense tensor, as MLIR's builtin types spell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    /// IEEE 754 binary64.
    F64,
    /// IEEE 754 binary32.
    F32,
    /// IEEE 754 binary16.
    F16,
    /// bfloat16: the top half of a binary32.
    BF16,
    /// Signless 64-bit integer.
    I64,
    /// Signless 32-bit integer.
    I32,
    /// Signless 16-bit integer.
    I16,
    /// Signless 8-bit integer.
    I8,
    /// Signless 4-bit integer, two to a byte, the low nibble first (how
    /// `flow.tensor.bitcast` reads bytes as `i4`); no file stores it.
    I4,
    /// Unsigned 64-bit integer.
    U64,
    /// Unsigned 32-bit integer.
    U32,
    /// Unsigned 16-bit integer.
    U16,
    /// Unsigned 8-bit integer.
    U8,
    /// Boolean, stored as one byte per element.
    Bool,
    /// 8-bit float, 4 exponent bits, 3 mantissa bits, finite (`f8E4M3FN`).
    F8E4M3,
    /// 8-bit float, 5 exponent bits, 2 mantissa bits (`f8E5M2`).
    F8E5M2,
    /// 8-bit exponent-only scale (`f8E8M0FNU`, the MX block scale).
    F8E8M0,
    /// 6-bit float, 2 exponent bits, 3 mantissa bits (`f6E2M3FN`).
    F6E2M3,
    /// 6-bit float, 3 exponent bits, 2 mantissa bits (`f6E3M2FN`).
    F6E3M2,
    /// 4-bit float, 2 exponent bits, 1 mantissa bit (`f4E2M1FN`).
    F4E2M1,
    /// Complex number of two binary32 (`complex<f32>`).
    C64,
}

impl ElementType {
    /// Returns the number of bits one element takes in storage.
    pub const fn bit_width(self) -> u64 {
        match self {
            Self::F64 | Self::I64 | Self::U64 | Self::C64 => 64,
            Self::F32 | Self::I32 | Self::U32 => 32,
            Self::F16 | Self::BF16 | Self::I16 | Self::U16 => 16,
            Self::I8 | Self::U8 | Self::Bool | Self::F8E4M3 | Self::F8E5M2 | Self::F8E8M0 => 8,
            Self::F6E2M3 | Self::F6E3M2 => 6,
            Self::F4E2M1 | Self::I4 => 4,
        }
    }

    /// Returns the number of bytes one element takes, for types of whole
    /// bytes; `None` for the packed sub-byte floats.
    pub const fn byte_size(self) -> Option<usize> {
        match self.bit_width() {
            bits if bits % 8 == 0 => Some(bits as usize / 8),
            _ => None,
        }
    }

    /// Returns the MLIR builtin type name (`f32`, `i8`, `ui8`, `i1`, ...).
    pub const fn mlir_name(self) -> &'static str {
        match self {
            Self::F64 => "f64",
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
            Self::I64 => "i64",
            Self::I32 => "i32",
            Self::I16 => "i16",
            Self::I8 => "i8",
            Self::I4 => "i4",
            Self::U64 => "ui64",
            Self::U32 => "ui32",
            Self::U16 => "ui16",
            Self::U8 => "ui8",
            Self::Bool => "i1",
            Self::F8E4M3 => "f8E4M3FN",
            Self::F8E5M2 => "f8E5M2",
            Self::F8E8M0 => "f8E8M0FNU",
            Self::F6E2M3 => "f6E2M3FN",
            Self::F6E3M2 => "f6E3M2FN",
            Self::F4E2M1 => "f4E2M1FN",
            Self::C64 => "complex<f32>",
        }
    }

    /// Returns whether the type is a floating-point type.
    pub const fn is_float(self) -> bool {
        matches!(
            self,
            Self::F64
                | Self::F32
                | Self::F16
                | Self::BF16
                | Self::F8E4M3
                | Self::F8E5M2
                | Self::F8E8M0
                | Self::F6E2M3
                | Self::F6E3M2
                | Self::F4E2M1
        )
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.mlir_name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_names() {
        for (element, size) in [
            (ElementType::F64, 8),
            (ElementType::BF16, 2),
            (ElementType::U8, 1),
            (ElementType::I32, 4),
        ] {
            assert_eq!(element.byte_size(), Some(size), "{element}");
        }
        assert_eq!(ElementType::F4E2M1.byte_size(), None);
        assert_eq!(ElementType::F6E3M2.bit_width(), 6);
        assert_eq!(ElementType::C64.byte_size(), Some(8));
        assert_eq!(ElementType::Bool.mlir_name(), "i1");
        assert!(ElementType::BF16.is_float());
        assert!(!ElementType::U16.is_float());
    }
}
