//! Tensor types as the converter tracks them, and their MLIR forms.

use std::fmt;

use melior::Context;
use melior::ir::Type;
use melior::ir::r#type::{IntegerType, RankedTensorType};

use crate::tensor::ElementType;

/// A ranked, statically shaped tensor type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TensorType {
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// Element type.
    pub element: ElementType,
}

impl TensorType {
    /// Makes a tensor type.
    pub fn new(shape: &[u64], element: ElementType) -> Self {
        Self {
            shape: shape.to_vec(),
            element,
        }
    }

    /// Returns the rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Returns the MLIR `tensor<...>` type.
    pub fn to_mlir<'c>(&self, context: &'c Context) -> Type<'c> {
        RankedTensorType::new(&self.shape, element_to_mlir(context, self.element), None).into()
    }
}

impl fmt::Display for TensorType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("tensor<")?;
        for dimension in &self.shape {
            write!(formatter, "{dimension}x")?;
        }
        write!(formatter, "{}>", self.element)
    }
}

/// Returns the MLIR builtin type of an element type.
pub fn element_to_mlir(context: &Context, element: ElementType) -> Type<'_> {
    match element {
        ElementType::F64 => Type::float64(context),
        ElementType::F32 => Type::float32(context),
        ElementType::F16 => Type::float16(context),
        ElementType::BF16 => Type::bfloat16(context),
        ElementType::I64 => IntegerType::new(context, 64).into(),
        ElementType::I32 => IntegerType::new(context, 32).into(),
        ElementType::I16 => IntegerType::new(context, 16).into(),
        ElementType::I8 => IntegerType::new(context, 8).into(),
        ElementType::I4 => IntegerType::new(context, 4).into(),
        ElementType::U64 => IntegerType::unsigned(context, 64).into(),
        ElementType::U32 => IntegerType::unsigned(context, 32).into(),
        ElementType::U16 => IntegerType::unsigned(context, 16).into(),
        ElementType::U8 => IntegerType::unsigned(context, 8).into(),
        ElementType::Bool => IntegerType::new(context, 1).into(),
        ElementType::F8E4M3 => Type::float8_e4m3fn(context),
        ElementType::F8E5M2 => Type::float8_e5m2(context),
        ElementType::F8E8M0 => Type::float8_e8m0fnu(context),
        ElementType::F6E2M3 => Type::float6_e2m3fn(context),
        ElementType::F6E3M2 => Type::float6_e3m2fn(context),
        ElementType::F4E2M1 => Type::float4_e2m1fn(context),
        ElementType::C64 => {
            Type::parse(context, "complex<f32>").expect("complex<f32> is a builtin type")
        }
    }
}
