//! What a tensor is, independent of where its bytes are.

use super::ElementType;

/// How a tensor's bytes are laid out in storage.
///
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TensorEncoding {
    /// Row-major elements of one type, little-endian, no padding.
    Dense(ElementType),
    /// ggml blocks (`Q8_0`, `Q4_K`, ...) along the innermost dimension, kept
    /// exactly as the source stores them.
    Ggml(super::GgmlType),
}

impl TensorEncoding {
    /// Returns the storage size in bytes of `elements` elements, or `None`
    /// when it overflows `u64`.
    /// Packed sub-byte types must fill whole bytes: `None` otherwise.
    pub fn storage_bytes(self, elements: u64) -> Option<u64> {
        match self {
            Self::Dense(element) => {
                let bits = elements.checked_mul(element.bit_width())?;
                (bits % 8 == 0).then_some(bits / 8)
            }
            Self::Ggml(kind) => kind.storage_bytes(elements),
        }
    }

    /// Returns the width of the unit a uniform tensor repeats (one element),
    /// or `None` where equal bytes need not mean equal elements (packed
    /// sub-byte types).
    pub fn splat_unit(self) -> Option<usize> {
        match self {
            Self::Dense(element) => element.byte_size(),
            Self::Ggml(kind) => kind.element_type().and_then(ElementType::byte_size),
        }
    }
}

/// A tensor's name (its parameter key), shape, logical element type and
/// storage encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The parameter key: the name in the source file and in the `.irpa`.
    pub name: String,
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// The element type the model computes with.
    pub element: ElementType,
    /// How the stored bytes encode the elements.
    pub encoding: TensorEncoding,
}

impl TensorSpec {
    /// Describes a dense tensor whose storage type is its logical type.
    pub fn dense(name: impl Into<String>, shape: &[u64], element: ElementType) -> Self {
        Self {
            name: name.into(),
            shape: shape.to_vec(),
            element,
            encoding: TensorEncoding::Dense(element),
        }
    }

    /// Returns the number of elements, or `None` when it overflows `u64`.
    pub fn element_count(&self) -> Option<u64> {
        self.shape
            .iter()
            .try_fold(1u64, |count, &dimension| count.checked_mul(dimension))
    }

    /// Returns the storage size in bytes, or `None` when it overflows `u64`.
    pub fn storage_bytes(&self) -> Option<u64> {
        self.encoding.storage_bytes(self.element_count()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_bytes_multiplies_shape_and_element_size() {
        let spec = TensorSpec::dense("w", &[3, 5], ElementType::F16);
        assert_eq!(spec.element_count(), Some(15));
        assert_eq!(spec.storage_bytes(), Some(30));
        let scalar = TensorSpec::dense("s", &[], ElementType::F32);
        assert_eq!(scalar.storage_bytes(), Some(4));
    }

    #[test]
    fn packed_types_fill_whole_bytes() {
        let even = TensorSpec::dense("f4", &[2, 3], ElementType::F4E2M1);
        assert_eq!(even.storage_bytes(), Some(3));
        let odd = TensorSpec::dense("f4", &[3], ElementType::F4E2M1);
        assert_eq!(odd.storage_bytes(), None);
        let f6 = TensorSpec::dense("f6", &[4], ElementType::F6E2M3);
        assert_eq!(f6.storage_bytes(), Some(3));
    }

    #[test]
    fn storage_bytes_reports_overflow() {
        let spec = TensorSpec::dense("w", &[1 << 62, 8], ElementType::F32);
        assert_eq!(spec.storage_bytes(), None);
        let spec = TensorSpec::dense("w", &[1 << 61], ElementType::F64);
        assert_eq!(spec.storage_bytes(), None);
    }
}
