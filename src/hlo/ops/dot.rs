//! `stablehlo.dot_general` and its dimension numbers.

use melior::ir::Attribute;

use super::shape_error;
use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::operation::capture_diagnostics;
use crate::hlo::builder::types::TensorType;

/// The dimension numbers of a `stablehlo.dot_general`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DotDimensions {
    /// Batch dimensions of the left operand.
    pub lhs_batch: Vec<u64>,
    /// Batch dimensions of the right operand, paired with `lhs_batch`.
    pub rhs_batch: Vec<u64>,
    /// Contracted dimensions of the left operand.
    pub lhs_contract: Vec<u64>,
    /// Contracted dimensions of the right operand, paired with `lhs_contract`.
    pub rhs_contract: Vec<u64>,
}

impl DotDimensions {
    /// Contracts `lhs` dimension `lhs_dim` with `rhs` dimension `rhs_dim`, no batch.
    pub fn contract(lhs_dim: u64, rhs_dim: u64) -> Self {
        Self {
            lhs_contract: vec![lhs_dim],
            rhs_contract: vec![rhs_dim],
            ..Self::default()
        }
    }

    fn attribute_source(&self) -> String {
        let list = |dims: &[u64]| {
            dims.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "#stablehlo.dot<lhs_batching_dimensions = [{}], rhs_batching_dimensions = [{}], \
             lhs_contracting_dimensions = [{}], rhs_contracting_dimensions = [{}]>",
            list(&self.lhs_batch),
            list(&self.rhs_batch),
            list(&self.lhs_contract),
            list(&self.rhs_contract)
        )
    }

    /// Returns the result shape: batch dims, then lhs free dims, then rhs free dims.
    fn result_shape(&self, lhs: &[u64], rhs: &[u64]) -> Result<Vec<u64>, String> {
        if self.lhs_batch.len() != self.rhs_batch.len()
            || self.lhs_contract.len() != self.rhs_contract.len()
        {
            return Err("lhs and rhs dimension lists differ in length".into());
        }
        let dim = |shape: &[u64], index: u64, side: &str| {
            shape
                .get(index as usize)
                .copied()
                .ok_or_else(|| format!("{side} has no dimension {index} (rank {})", shape.len()))
        };
        let pairs = self
            .lhs_batch
            .iter()
            .zip(&self.rhs_batch)
            .chain(self.lhs_contract.iter().zip(&self.rhs_contract));
        for (&l, &r) in pairs {
            let (left, right) = (dim(lhs, l, "lhs")?, dim(rhs, r, "rhs")?);
            if left != right {
                return Err(format!(
                    "lhs dimension {l} is {left} but rhs dimension {r} is {right}"
                ));
            }
        }
        let mut shape: Vec<u64> = self.lhs_batch.iter().map(|&d| lhs[d as usize]).collect();
        let free = |shape: &[u64], batch: &[u64], contract: &[u64]| -> Vec<u64> {
            (0..shape.len() as u64)
                .filter(|d| !batch.contains(d) && !contract.contains(d))
                .map(|d| shape[d as usize])
                .collect()
        };
        shape.extend(free(lhs, &self.lhs_batch, &self.lhs_contract));
        shape.extend(free(rhs, &self.rhs_batch, &self.rhs_contract));
        Ok(shape)
    }
}

impl<'c> FunctionBuilder<'_, 'c> {
    /// `stablehlo.dot_general`: contracts `lhs` with `rhs` along `dimensions`.
    pub fn dot_general(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
        dimensions: &DotDimensions,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.dot_general";
        let (lhs_type, rhs_type) = (self.type_of(lhs).clone(), self.type_of(rhs).clone());
        let shape = dimensions
            .result_shape(&lhs_type.shape, &rhs_type.shape)
            .map_err(|message| shape_error(OP, location, message))?;
        let context = self.context();
        let source = dimensions.attribute_source();
        let (parsed, diagnostics) =
            capture_diagnostics(context, || Attribute::parse(context, &source));
        let attribute = parsed.ok_or_else(|| HloError::Build {
            what: "#stablehlo.dot".into(),
            location: location.to_string(),
            diagnostics,
        })?;
        let result_type = TensorType::new(&shape, lhs_type.element);
        self.build(
            OP,
            location,
            &[lhs, rhs],
            &[("dot_dimension_numbers", attribute)],
            result_type,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::DotDimensions;

    #[test]
    fn dot_result_shapes() {
        let matvec = DotDimensions::contract(1, 0);
        assert_eq!(matvec.result_shape(&[3, 2], &[2]), Ok(vec![3]));
        let batched = DotDimensions {
            lhs_batch: vec![0],
            rhs_batch: vec![0],
            lhs_contract: vec![2],
            rhs_contract: vec![1],
        };
        assert_eq!(
            batched.result_shape(&[4, 3, 5], &[4, 5, 7]),
            Ok(vec![4, 3, 7])
        );
        assert!(matvec.result_shape(&[3, 2], &[3]).is_err());
        assert!(
            DotDimensions::contract(2, 0)
                .result_shape(&[3, 2], &[2])
                .is_err()
        );
    }
}
