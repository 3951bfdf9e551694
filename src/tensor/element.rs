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
}

impl ElementType {
    /// Returns the number of bytes one element takes in storage.
    pub const fn byte_size(self) -> usize {
        match self {
            Self::F64 | Self::I64 | Self::U64 => 8,
            Self::F32 | Self::I32 | Self::U32 => 4,
            Self::F16 | Self::BF16 | Self::I16 | Self::U16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
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
            Self::U64 => "ui64",
            Self::U32 => "ui32",
            Self::U16 => "ui16",
            Self::U8 => "ui8",
            Self::Bool => "i1",
        }
    }

    /// Returns whether the type is a floating-point type.
    pub const fn is_float(self) -> bool {
        matches!(self, Self::F64 | Self::F32 | Self::F16 | Self::BF16)
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
            assert_eq!(element.byte_size(), size, "{element}");
        }
        assert_eq!(ElementType::Bool.mlir_name(), "i1");
        assert!(ElementType::BF16.is_float());
        assert!(!ElementType::U16.is_float());
    }
}
