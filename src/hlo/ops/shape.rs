//! Ops that move elements without computing on them: broadcasts,
//! reshapes and transposes.

use melior::ir::attribute::DenseI64ArrayAttribute;

use super::shape_error;
use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::types::TensorType;

impl<'c> FunctionBuilder<'_, 'c> {
    /// `stablehlo.broadcast_in_dim`: operand dimension `i` becomes result
    /// dimension `dimensions[i]` of `shape`.
    pub fn broadcast_in_dim(
        &mut self,
        location: &str,
        operand: ValueId,
        shape: &[u64],
        dimensions: &[u64],
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.broadcast_in_dim";
        let operand_type = self.type_of(operand).clone();
        if dimensions.len() != operand_type.rank() {
            let message = format!(
                "{} dimensions for an operand of rank {}",
                dimensions.len(),
                operand_type.rank()
            );
            return Err(shape_error(OP, location, message));
        }
        for (index, &target) in dimensions.iter().enumerate() {
            let size = operand_type.shape[index];
            match shape.get(target as usize) {
                Some(&result) if size == 1 || size == result => {}
                _ => {
                    let message = format!(
                        "operand dimension {index} ({size}) cannot go to result dimension {target} of {shape:?}"
                    );
                    return Err(shape_error(OP, location, message));
                }
            }
        }
        let dims: Vec<i64> = dimensions.iter().map(|&d| d as i64).collect();
        let attribute = DenseI64ArrayAttribute::new(self.context(), &dims).into();
        let result_type = TensorType::new(shape, operand_type.element);
        self.build(
            OP,
            location,
            &[operand],
            &[("broadcast_dimensions", attribute)],
            result_type,
        )
    }

    /// `stablehlo.reshape`: same elements, new shape.
    pub fn reshape(
        &mut self,
        location: &str,
        operand: ValueId,
        shape: &[u64],
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.reshape";
        let operand_type = self.type_of(operand).clone();
        let count = |shape: &[u64]| shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        if count(shape) != count(&operand_type.shape) {
            let message = format!("cannot reshape {operand_type} to {shape:?}");
            return Err(shape_error(OP, location, message));
        }
        self.build(
            OP,
            location,
            &[operand],
            &[],
            TensorType::new(shape, operand_type.element),
        )
    }

    /// `stablehlo.transpose`: result dimension `i` is operand dimension `permutation[i]`.
    pub fn transpose(
        &mut self,
        location: &str,
        operand: ValueId,
        permutation: &[u64],
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.transpose";
        let operand_type = self.type_of(operand).clone();
        let mut sorted = permutation.to_vec();
        sorted.sort_unstable();
        if sorted != (0..operand_type.rank() as u64).collect::<Vec<_>>() {
            let message = format!(
                "{permutation:?} is not a permutation of rank {}",
                operand_type.rank()
            );
            return Err(shape_error(OP, location, message));
        }
        let shape: Vec<u64> = permutation
            .iter()
            .map(|&d| operand_type.shape[d as usize])
            .collect();
        let dims: Vec<i64> = permutation.iter().map(|&d| d as i64).collect();
        let attribute = DenseI64ArrayAttribute::new(self.context(), &dims).into();
        self.build(
            OP,
            location,
            &[operand],
            &[("permutation", attribute)],
            TensorType::new(&shape, operand_type.element),
        )
    }
}
