//! Graph constants (not weights): splats such as the `2` of `2x + 1`, and
//! small computed tables such as rotary frequencies, from raw bytes.

use melior::ir::Attribute;
use melior::ir::attribute::{DenseElementsAttribute, FloatAttribute, IntegerAttribute};

use super::shape_error;
use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::types::{TensorType, element_to_mlir};
use crate::tensor::ElementType;

impl<'c> FunctionBuilder<'_, 'c> {
    /// `stablehlo.constant` holding computed f32 `values` (tables such as
    /// rotary frequencies, not weights), from their raw bytes.
    pub fn constant_f32(
        &mut self,
        location: &str,
        shape: &[u64],
        values: &[f32],
    ) -> Result<ValueId, HloError> {
        let result_type = TensorType::new(shape, ElementType::F32);
        let expected: u64 = shape.iter().product();
        if expected != values.len() as u64 {
            let message = format!("{} values for {result_type}", values.len());
            return Err(shape_error("stablehlo.constant", location, message));
        }
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|value| value.to_le_bytes())
            .collect();
        let attribute =
            DenseElementsAttribute::raw_buffer(result_type.to_mlir(self.context()), &bytes);
        self.build(
            "stablehlo.constant",
            location,
            &[],
            &[("value", attribute.into())],
            result_type,
        )
    }

    /// `stablehlo.constant` of `shape` with every element `value` (a splat;
    /// for graph constants such as `2` in `2x + 1`, not for weights).
    pub fn splat_constant(
        &mut self,
        location: &str,
        element: ElementType,
        shape: &[u64],
        value: f64,
    ) -> Result<ValueId, HloError> {
        let context = self.context();
        let result_type = TensorType::new(shape, element);
        let scalar_type = element_to_mlir(context, element);
        let scalar: Attribute<'c> = if element.is_float() {
            FloatAttribute::new(context, scalar_type, value).into()
        } else {
            IntegerAttribute::new(scalar_type, value as i64).into()
        };
        let splat = DenseElementsAttribute::splat(result_type.to_mlir(context), scalar);
        self.build(
            "stablehlo.constant",
            location,
            &[],
            &[("value", splat.into())],
            result_type,
        )
    }
}
