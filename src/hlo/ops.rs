//! Typed builders for the StableHLO ops irex emits. Each computes its result
//! type from its operands (refusing what cannot fit with a typed error that
//! names the op and its location) and carries a name location.

use melior::ir::attribute::{
    DenseElementsAttribute, DenseI64ArrayAttribute, FloatAttribute, IntegerAttribute,
};
use melior::ir::operation::OperationBuilder;
use melior::ir::{Attribute, Identifier, Value};

use super::function::{FunctionBuilder, ValueId};
use super::module::capture_diagnostics;
use super::types::element_to_mlir;
use super::{HloError, TensorType};
use crate::tensor::ElementType;

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

fn shape_error(op: &'static str, location: &str, message: String) -> HloError {
    HloError::Shape {
        op,
        location: location.to_string(),
        message,
    }
}

impl<'c> FunctionBuilder<'_, 'c> {
    /// Builds `op_name` with `operands`, `attributes` and one result of `result_type`.
    pub(super) fn build(
        &mut self,
        op_name: &'static str,
        location: &str,
        operands: &[ValueId],
        attributes: &[(&str, Attribute<'c>)],
        result_type: TensorType,
    ) -> Result<ValueId, HloError> {
        let context = self.context();
        let operation = {
            let values: Vec<Value<'c, '_>> = operands.iter().map(|&v| self.mlir_value(v)).collect();
            let named: Vec<(Identifier<'c>, Attribute<'c>)> = attributes
                .iter()
                .map(|(name, attribute)| (Identifier::new(context, name), *attribute))
                .collect();
            OperationBuilder::new(op_name, self.location(location))
                .add_operands(&values)
                .add_attributes(&named)
                .add_results(&[result_type.to_mlir(context)])
                .build()
        };
        let operation = operation.map_err(|_| HloError::build(op_name, location))?;
        Ok(self.push(operation, result_type))
    }

    fn elementwise(
        &mut self,
        op_name: &'static str,
        location: &str,
        operands: &[ValueId],
    ) -> Result<ValueId, HloError> {
        let result_type = self.type_of(operands[0]).clone();
        self.build(op_name, location, operands, &[], result_type)
    }

    /// `stablehlo.add`: elementwise sum; the verifier checks the operand types agree.
    pub fn add(&mut self, location: &str, lhs: ValueId, rhs: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.add", location, &[lhs, rhs])
    }

    /// `stablehlo.subtract`: elementwise difference.
    pub fn subtract(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.subtract", location, &[lhs, rhs])
    }

    /// `stablehlo.multiply`: elementwise product.
    pub fn multiply(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.multiply", location, &[lhs, rhs])
    }

    /// `stablehlo.divide`: elementwise quotient.
    pub fn divide(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.divide", location, &[lhs, rhs])
    }

    /// `stablehlo.maximum`: elementwise maximum.
    pub fn maximum(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.maximum", location, &[lhs, rhs])
    }

    /// `stablehlo.and`: elementwise bitwise and (integers) or logical and.
    pub fn and(&mut self, location: &str, lhs: ValueId, rhs: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.and", location, &[lhs, rhs])
    }

    /// `stablehlo.or`: elementwise bitwise or.
    pub fn or(&mut self, location: &str, lhs: ValueId, rhs: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.or", location, &[lhs, rhs])
    }

    /// `stablehlo.shift_left`: elementwise `lhs << rhs`.
    pub fn shift_left(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.shift_left", location, &[lhs, rhs])
    }

    /// `stablehlo.shift_right_logical`: elementwise `lhs >> rhs`, zero-filling.
    pub fn shift_right_logical(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.shift_right_logical", location, &[lhs, rhs])
    }

    /// `stablehlo.bitcast_convert` of the last dimension's bytes into wider
    /// elements: `[..., n, k]` of a `w`-bit type becomes `[..., n]` of a
    /// `k·w`-bit `element` (or the same shape for equal widths).
    pub fn bitcast_convert(
        &mut self,
        location: &str,
        operand: ValueId,
        element: ElementType,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.bitcast_convert";
        let operand_type = self.type_of(operand).clone();
        let (from, to) = (operand_type.element.bit_width(), element.bit_width());
        let mut shape = operand_type.shape.clone();
        if to > from {
            if shape.last().copied() != Some(to / from) {
                let message = format!(
                    "{operand_type} does not end in {} × {} to make one {element}",
                    to / from,
                    operand_type.element
                );
                return Err(shape_error(OP, location, message));
            }
            shape.pop();
        } else if to != from {
            return Err(shape_error(
                OP,
                location,
                format!("narrowing {operand_type} to {element} is not supported"),
            ));
        }
        self.build(
            OP,
            location,
            &[operand],
            &[],
            TensorType::new(&shape, element),
        )
    }

    /// `stablehlo.negate`: elementwise negation.
    pub fn negate(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.negate", location, &[operand])
    }

    /// `stablehlo.rsqrt`: elementwise 1/√x.
    pub fn rsqrt(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.rsqrt", location, &[operand])
    }

    /// `stablehlo.sqrt`: elementwise √x.
    pub fn sqrt(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.sqrt", location, &[operand])
    }

    /// `stablehlo.tanh`: elementwise hyperbolic tangent.
    pub fn tanh(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.tanh", location, &[operand])
    }

    /// `stablehlo.logistic`: elementwise 1 / (1 + e^-x).
    pub fn logistic(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.logistic", location, &[operand])
    }

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

    /// `chlo.erf`: elementwise error function (StableHLO has none; IREE
    /// lowers CHLO's to a polynomial accurate to f32 rounding).
    pub fn erf(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("chlo.erf", location, &[operand])
    }

    /// `stablehlo.exponential`: elementwise e^x.
    pub fn exponential(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.exponential", location, &[operand])
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

    /// `stablehlo.convert`: elementwise conversion to `element`.
    pub fn convert(
        &mut self,
        location: &str,
        operand: ValueId,
        element: ElementType,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(operand).shape.clone();
        self.build(
            "stablehlo.convert",
            location,
            &[operand],
            &[],
            TensorType::new(&shape, element),
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
