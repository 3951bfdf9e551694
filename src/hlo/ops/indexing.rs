//! Ops that pick elements: row gathers (embedding lookups), static slices,
//! concatenation, iota, comparisons and selects.

use melior::ir::Attribute;
use melior::ir::attribute::{DenseI64ArrayAttribute, IntegerAttribute};
use melior::ir::r#type::IntegerType;

use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::operation::capture_diagnostics;
use crate::hlo::builder::types::TensorType;
use crate::tensor::ElementType;

/// A `stablehlo.compare` direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Comparison {
    fn name(self) -> &'static str {
        match self {
            Self::Eq => "EQ",
            Self::Ne => "NE",
            Self::Lt => "LT",
            Self::Le => "LE",
            Self::Gt => "GT",
            Self::Ge => "GE",
        }
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
    fn parse_attribute(&self, location: &str, source: &str) -> Result<Attribute<'c>, HloError> {
        let context = self.context();
        let (parsed, diagnostics) =
            capture_diagnostics(context, || Attribute::parse(context, source));
        parsed.ok_or_else(|| HloError::Build {
            what: source.to_string(),
            location: location.to_string(),
            diagnostics,
        })
    }

    /// Looks up rows of a 2-D `table` by integer `indices` of any shape: the
    /// result is `indices.shape + [table.columns]` (an embedding lookup, as
    /// `stablehlo.gather`).
    pub fn gather_rows(
        &mut self,
        location: &str,
        table: ValueId,
        indices: ValueId,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.gather";
        let table_type = self.type_of(table).clone();
        let indices_type = self.type_of(indices).clone();
        if table_type.rank() != 2 {
            return Err(shape_error(
                OP,
                location,
                format!("table {table_type} is not 2-D"),
            ));
        }
        let rank = indices_type.rank();
        let dimensions = format!(
            "#stablehlo.gather<offset_dims = [{rank}], collapsed_slice_dims = [0], start_index_map = [0], index_vector_dim = {rank}>"
        );
        let dimension_numbers = self.parse_attribute(location, &dimensions)?;
        let slice_sizes =
            DenseI64ArrayAttribute::new(self.context(), &[1, table_type.shape[1] as i64]).into();
        let mut shape = indices_type.shape.clone();
        shape.push(table_type.shape[1]);
        let result_type = TensorType::new(&shape, table_type.element);
        self.build(
            OP,
            location,
            &[table, indices],
            &[
                ("dimension_numbers", dimension_numbers),
                ("slice_sizes", slice_sizes),
            ],
            result_type,
        )
    }

    /// `stablehlo.slice`: elements `start[i]..limit[i]` of every dimension (stride 1).
    pub fn slice(
        &mut self,
        location: &str,
        operand: ValueId,
        start: &[u64],
        limit: &[u64],
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.slice";
        let operand_type = self.type_of(operand).clone();
        let fits = start.len() == operand_type.rank()
            && limit.len() == operand_type.rank()
            && start
                .iter()
                .zip(limit)
                .zip(&operand_type.shape)
                .all(|((s, l), d)| s <= l && l <= d);
        if !fits {
            return Err(shape_error(
                OP,
                location,
                format!("{start:?}..{limit:?} is not inside {operand_type}"),
            ));
        }
        let context = self.context();
        let as_i64 = |values: &[u64]| values.iter().map(|&v| v as i64).collect::<Vec<_>>();
        let strides = vec![1i64; start.len()];
        let shape: Vec<u64> = start.iter().zip(limit).map(|(s, l)| l - s).collect();
        let attributes = [
            (
                "start_indices",
                DenseI64ArrayAttribute::new(context, &as_i64(start)).into(),
            ),
            (
                "limit_indices",
                DenseI64ArrayAttribute::new(context, &as_i64(limit)).into(),
            ),
            (
                "strides",
                DenseI64ArrayAttribute::new(context, &strides).into(),
            ),
        ];
        self.build(
            OP,
            location,
            &[operand],
            &attributes,
            TensorType::new(&shape, operand_type.element),
        )
    }

    /// `stablehlo.dynamic_update_slice`: `operand` with `update` written at
    /// the runtime `start` indices (one scalar integer per dimension).
    pub fn dynamic_update_slice(
        &mut self,
        location: &str,
        operand: ValueId,
        update: ValueId,
        start: &[ValueId],
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.dynamic_update_slice";
        let (operand_type, update_type) =
            (self.type_of(operand).clone(), self.type_of(update).clone());
        let fits = start.len() == operand_type.rank()
            && update_type.rank() == operand_type.rank()
            && update_type
                .shape
                .iter()
                .zip(&operand_type.shape)
                .all(|(u, o)| u <= o);
        if !fits {
            return Err(shape_error(
                OP,
                location,
                format!(
                    "cannot write {update_type} into {operand_type} at {} indices",
                    start.len()
                ),
            ));
        }
        let mut operands = vec![operand, update];
        operands.extend_from_slice(start);
        self.build(OP, location, &operands, &[], operand_type)
    }

    /// `stablehlo.concatenate` of `operands` along `dimension`.
    pub fn concatenate(
        &mut self,
        location: &str,
        operands: &[ValueId],
        dimension: u64,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "stablehlo.concatenate";
        let first = self.type_of(operands[0]).clone();
        let mut shape = first.shape.clone();
        if dimension as usize >= shape.len() {
            return Err(shape_error(
                OP,
                location,
                format!("no dimension {dimension} in {first}"),
            ));
        }
        shape[dimension as usize] = operands
            .iter()
            .map(|&v| self.type_of(v).shape[dimension as usize])
            .sum();
        let context = self.context();
        let attribute =
            IntegerAttribute::new(IntegerType::new(context, 64).into(), dimension as i64).into();
        self.build(
            OP,
            location,
            operands,
            &[("dimension", attribute)],
            TensorType::new(&shape, first.element),
        )
    }

    /// `stablehlo.iota`: counts 0, 1, ... along `dimension` of `shape`.
    pub fn iota(
        &mut self,
        location: &str,
        element: ElementType,
        shape: &[u64],
        dimension: u64,
    ) -> Result<ValueId, HloError> {
        let context = self.context();
        let attribute =
            IntegerAttribute::new(IntegerType::new(context, 64).into(), dimension as i64).into();
        self.build(
            "stablehlo.iota",
            location,
            &[],
            &[("iota_dimension", attribute)],
            TensorType::new(shape, element),
        )
    }

    /// `stablehlo.compare`: elementwise comparison giving booleans.
    pub fn compare(
        &mut self,
        location: &str,
        lhs: ValueId,
        rhs: ValueId,
        direction: Comparison,
    ) -> Result<ValueId, HloError> {
        let attribute = self.parse_attribute(
            location,
            &format!("#stablehlo<comparison_direction {}>", direction.name()),
        )?;
        let shape = self.type_of(lhs).shape.clone();
        let result_type = TensorType::new(&shape, ElementType::Bool);
        self.build(
            "stablehlo.compare",
            location,
            &[lhs, rhs],
            &[("comparison_direction", attribute)],
            result_type,
        )
    }

    /// `stablehlo.select`: `on_true` where `predicate` holds, else `on_false`.
    pub fn select(
        &mut self,
        location: &str,
        predicate: ValueId,
        on_true: ValueId,
        on_false: ValueId,
    ) -> Result<ValueId, HloError> {
        let result_type = self.type_of(on_true).clone();
        self.build(
            "stablehlo.select",
            location,
            &[predicate, on_true, on_false],
            &[],
            result_type,
        )
    }
}
