//! Elementwise ops: arithmetic, bitwise, the unary math functions, and
//! element type conversions. Each result has its first operand's shape.

use super::shape_error;
use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::types::TensorType;
use crate::tensor::ElementType;

impl<'c> FunctionBuilder<'_, 'c> {
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

    /// `stablehlo.shift_right_arithmetic`: elementwise `lhs >> rhs`,
    /// sign-filling.
    pub fn shift_right_arithmetic(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.shift_right_arithmetic", location, &[lhs, rhs])
    }

    /// `stablehlo.negate`: elementwise negation.
    pub fn negate(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.negate", location, &[operand])
    }

    /// `stablehlo.abs`: elementwise absolute value.
    pub fn abs(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.abs", location, &[operand])
    }

    /// `stablehlo.round_nearest_even`: rounds to the nearest integer, ties
    /// to even (what NumPy's `rint` does).
    pub fn round_nearest_even(
        &mut self,
        location: &str,
        operand: ValueId,
    ) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.round_nearest_even", location, &[operand])
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

    /// `chlo.erf`: elementwise error function (StableHLO has none; IREE
    /// lowers CHLO's to a polynomial accurate to f32 rounding).
    pub fn erf(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("chlo.erf", location, &[operand])
    }

    /// `stablehlo.exponential`: elementwise e^x.
    pub fn exponential(&mut self, location: &str, operand: ValueId) -> Result<ValueId, HloError> {
        self.elementwise("stablehlo.exponential", location, &[operand])
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
}
