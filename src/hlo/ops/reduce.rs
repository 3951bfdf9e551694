//! `stablehlo.reduce` with the two bodies models need (sum and max), and the
//! reductions built from it.

use melior::ir::attribute::DenseI64ArrayAttribute;
use melior::ir::block::BlockLike;
use melior::ir::operation::OperationBuilder;
use melior::ir::{Block, Identifier, Region, RegionLike, Value};

use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::types::TensorType;

/// How a reduction combines elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Sum, starting from 0.
    Sum,
    /// Maximum, starting from -∞ (the lowest integer for integers).
    Max,
    /// Minimum, starting from +∞ (the highest integer for integers).
    Min,
}

impl Reduction {
    fn body_op(self) -> &'static str {
        match self {
            Self::Sum => "stablehlo.add",
            Self::Max => "stablehlo.maximum",
            Self::Min => "stablehlo.minimum",
        }
    }

    /// The starting value for `element`: infinities for floats, the
    /// extreme values of the width for (signed) integers.
    fn identity(self, element: crate::tensor::ElementType) -> f64 {
        let integer_bound = || ((1u64 << (element.bit_width() - 1)) - 1) as f64;
        match (self, element.is_float()) {
            (Self::Sum, _) => 0.0,
            (Self::Max, true) => f64::NEG_INFINITY,
            (Self::Min, true) => f64::INFINITY,
            (Self::Max, false) => -integer_bound() - 1.0,
            (Self::Min, false) => integer_bound(),
        }
    }
}

impl<'c> FunctionBuilder<'_, 'c> {
    /// `stablehlo.reduce` of `operand` over `dimensions` (which disappear
    /// from the result shape).
    pub fn reduce(
        &mut self,
        location: &str,
        operand: ValueId,
        dimensions: &[u64],
        reduction: Reduction,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.reduce";
        let operand_type = self.type_of(operand).clone();
        if let Some(&bad) = dimensions
            .iter()
            .find(|&&d| d as usize >= operand_type.rank())
        {
            return Err(HloError::Shape {
                op: OP,
                location: location.to_string(),
                message: format!("no dimension {bad} in {operand_type}"),
            });
        }
        let element = operand_type.element;
        let init = self.splat_constant(
            &format!("{location}.init"),
            element,
            &[],
            reduction.identity(element),
        )?;
        let shape: Vec<u64> = (0..operand_type.rank())
            .filter(|d| !dimensions.contains(&(*d as u64)))
            .map(|d| operand_type.shape[d])
            .collect();
        let result_type = TensorType::new(&shape, element);
        let region = self.reduction_body(location, reduction, &TensorType::new(&[], element))?;
        let context = self.context();
        let dims: Vec<i64> = dimensions.iter().map(|&d| d as i64).collect();
        let operation = {
            let operands: Vec<Value<'c, '_>> =
                vec![self.mlir_value(operand), self.mlir_value(init)];
            OperationBuilder::new(OP, self.location(location))
                .add_operands(&operands)
                .add_attributes(&[(
                    Identifier::new(context, "dimensions"),
                    DenseI64ArrayAttribute::new(context, &dims).into(),
                )])
                .add_regions([region])
                .add_results(&[result_type.to_mlir(context)])
                .build()
        }
        .map_err(|_| HloError::build(OP, location))?;
        Ok(self.push(operation, result_type))
    }

    /// Builds the region `^bb0(%a, %b): return op(%a, %b)` on scalars.
    fn reduction_body(
        &self,
        location: &str,
        reduction: Reduction,
        scalar: &TensorType,
    ) -> Result<Region<'c>, HloError> {
        let context = self.context();
        let loc = self.location(location);
        let scalar_type = scalar.to_mlir(context);
        let block = Block::new(&[(scalar_type, loc), (scalar_type, loc)]);
        let lhs = block.argument(0).expect("two arguments").into();
        let rhs = block.argument(1).expect("two arguments").into();
        let combine = OperationBuilder::new(reduction.body_op(), loc)
            .add_operands(&[lhs, rhs])
            .add_results(&[scalar_type])
            .build()
            .map_err(|_| HloError::build(reduction.body_op(), location))?;
        let combined = block.append_operation(combine);
        let result = combined.result(0).expect("one result").into();
        let terminator = OperationBuilder::new("stablehlo.return", loc)
            .add_operands(&[result])
            .build()
            .map_err(|_| HloError::build("stablehlo.return", location))?;
        block.append_operation(terminator);
        let region = Region::new();
        region.append_block(block);
        Ok(region)
    }

    /// Sums over the last dimension and broadcasts the result back to the
    /// operand's shape (the form normalisations and softmax need).
    pub fn reduce_last_keep(
        &mut self,
        location: &str,
        operand: ValueId,
        reduction: Reduction,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(operand).shape.clone();
        let last = shape.len() as u64 - 1;
        let reduced = self.reduce(location, operand, &[last], reduction)?;
        let kept: Vec<u64> = (0..last).collect();
        self.broadcast_in_dim(&format!("{location}.broadcast"), reduced, &shape, &kept)
    }
}
