//! The one way the converter creates an operation from its parts, shared
//! by the function builder (which appends it to a function) and the
//! quantization lowering (which inserts it before the op it replaces); and
//! the capture of the diagnostics MLIR reports on the way.

use std::cell::RefCell;

use melior::Context;
use melior::diagnostic::{Diagnostic as MlirDiagnostic, DiagnosticSeverity};
use melior::ir::operation::OperationBuilder;
use melior::ir::{Attribute, Identifier, Location, Operation, Type, Value};

use crate::diagnostic::{Diagnostic, Severity};
use crate::hlo::HloError;

/// Creates op `name` at `location` with `operands`, named `attributes` and
/// `results`; `location_name` names it in the error if MLIR refuses.
pub(in crate::hlo) fn create_operation<'c>(
    context: &'c Context,
    name: &str,
    location: Location<'c>,
    location_name: &str,
    operands: &[Value<'c, '_>],
    attributes: &[(&str, Attribute<'c>)],
    results: &[Type<'c>],
) -> Result<Operation<'c>, HloError> {
    let named: Vec<(Identifier<'c>, Attribute<'c>)> = attributes
        .iter()
        .map(|(key, value)| (Identifier::new(context, key), *value))
        .collect();
    OperationBuilder::new(name, location)
        .add_operands(operands)
        .add_attributes(&named)
        .add_results(results)
        .build()
        .map_err(|_| HloError::build(name, location_name))
}

/// Runs `action` with a diagnostic handler on `context` that collects every
/// diagnostic (with its notes) instead of printing it.
pub(in crate::hlo) fn capture_diagnostics<T>(
    context: &Context,
    action: impl FnOnce() -> T,
) -> (T, Vec<Diagnostic>) {
    let collected = RefCell::new(Vec::new());
    let handler = context.attach_diagnostic_handler(|diagnostic| {
        push_diagnostic(&mut collected.borrow_mut(), &diagnostic);
        true
    });
    let result = action();
    context.detach_diagnostic_handler(handler);
    (result, collected.into_inner())
}

/// MLIR's text of `value`: melior's `Display` fails on bytes that are not
/// UTF-8 (a diagnostic quoting a hostile file's op name does), where
/// `to_string` would panic inside MLIR's callback. What printed before the
/// bad bytes stays, marked. (Found by the bytecode fuzz target.)
fn mlir_text(value: &dyn std::fmt::Display) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    if write!(text, "{value}").is_err() {
        text.push_str("<bytes that are not UTF-8>");
    }
    text
}

fn push_diagnostic(collected: &mut Vec<Diagnostic>, diagnostic: &MlirDiagnostic) {
    let severity = match diagnostic.severity() {
        DiagnosticSeverity::Error => Severity::Error,
        DiagnosticSeverity::Warning => Severity::Warning,
        DiagnosticSeverity::Remark => Severity::Remark,
        DiagnosticSeverity::Note => Severity::Note,
    };
    collected.push(Diagnostic {
        severity,
        location: Some(mlir_text(&diagnostic.location())),
        message: mlir_text(diagnostic),
    });
    for index in 0..diagnostic.note_count() {
        if let Ok(note) = diagnostic.note(index) {
            push_diagnostic(collected, &note);
        }
    }
}
