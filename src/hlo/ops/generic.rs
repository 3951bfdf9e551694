//! The escape hatch beside the typed builders: any op by name, with
//! operands, attributes and result types the caller states
//! (`stablehlo.sine`, `stablehlo.custom_call`, an op of a dialect irex has
//! no builder for). Nothing is checked before building; MLIR checks that
//! the op exists, and the verifiers judge it with the whole module at
//! [`ModuleBuilder::finish`](crate::hlo::ModuleBuilder::finish). Ops with
//! regions have their own builders (`while_loop`, `reduce`).

use melior::ir::Attribute;

use super::super::builder::operation::{capture_diagnostics, create_operation};
use crate::hlo::{FunctionBuilder, HloError, TensorType, ValueId};

impl<'c> FunctionBuilder<'_, 'c> {
    /// Appends op `name` at the name location `location` with `operands`,
    /// named `attributes` and one result per type of `results`, and
    /// returns the results. An op MLIR does not know (an unregistered
    /// dialect) is refused here, with what MLIR said.
    /// `examples/custom_model.rs` builds `stablehlo.sine`, and a
    /// `stablehlo.compare` with a parsed attribute, this way.
    pub fn op(
        &mut self,
        name: &str,
        location: &str,
        operands: &[ValueId],
        attributes: &[(&str, Attribute<'c>)],
        results: &[TensorType],
    ) -> Result<Vec<ValueId>, HloError> {
        let context = self.context();
        if !context.is_registered_operation(name) {
            return Err(HloError::Build {
                what: format!("`{name}`"),
                location: location.into(),
                diagnostics: vec![crate::diagnostic::Diagnostic {
                    severity: crate::diagnostic::Severity::Error,
                    location: None,
                    message: format!(
                        "no op `{name}` is registered (is its dialect one irex loads?)"
                    ),
                }],
            });
        }
        let result_types: Vec<_> = results.iter().map(|r| r.to_mlir(context)).collect();
        let operation = {
            let values: Vec<_> = operands.iter().map(|&v| self.mlir_value(v)).collect();
            create_operation(
                context,
                name,
                self.location(location),
                location,
                &values,
                attributes,
                &result_types,
            )?
        };
        Ok(self.push_results(operation, results))
    }

    /// Parses an attribute from MLIR's text form (`#stablehlo<...>`,
    /// `"name"`, `3 : i64`, `array<i64: 1, 2>`) for [`Self::op`]. For the
    /// small attributes that describe ops only: weights never go through
    /// text (use [`Self::weight`]), which is one of irex's invariants.
    pub fn attribute(&self, location: &str, text: &str) -> Result<Attribute<'c>, HloError> {
        let context = self.context();
        let (parsed, diagnostics) =
            capture_diagnostics(context, || Attribute::parse(context, text));
        parsed.ok_or_else(|| HloError::Build {
            what: format!("attribute `{text}`"),
            location: location.into(),
            diagnostics,
        })
    }
}
