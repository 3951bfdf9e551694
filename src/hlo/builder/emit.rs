//! Module outputs: MLIR text for people and FileCheck, MLIR bytecode for
//! tools, and parsing either back.

use std::path::Path;

use melior::Context;
use melior::ir::Module;
use melior::ir::operation::{OperationLike, OperationPrintingFlags};
use mlir_sys::{MlirStringRef, mlirModuleCreateParse};

use super::operation::capture_diagnostics;
use crate::hlo::HloError;
use crate::output::write_atomically;

/// How a module is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Print every op's location (`loc("blk.0.attn_q")`).
    pub locations: bool,
}

/// Prints `module` as MLIR text.
pub fn print_module(module: &Module<'_>, options: PrintOptions) -> String {
    let flags = OperationPrintingFlags::new().enable_debug_info(options.locations, false);
    module
        .as_operation()
        .to_string_with_flags(flags)
        .unwrap_or_else(|_| module.as_operation().to_string())
}

/// Writes `module` as MLIR text to `path` atomically.
pub fn write_text(module: &Module<'_>, options: PrintOptions, path: &Path) -> Result<(), HloError> {
    write_atomically(path, print_module(module, options).as_bytes()).map_err(|source| {
        HloError::Io {
            path: path.display().to_string(),
            source,
        }
    })
}

/// Writes `module` as MLIR bytecode to `path` atomically.
pub fn write_bytecode(module: &Module<'_>, path: &Path) -> Result<(), HloError> {
    let bytes = module.as_operation().write_bytecode();
    write_atomically(path, &bytes).map_err(|source| HloError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Parses MLIR text or bytecode (MLIR tells them apart by the bytecode magic)
/// into a module in `context`, capturing the parser's diagnostics.
pub fn parse_module<'c>(
    context: &'c Context,
    bytes: &[u8],
    source_name: &str,
) -> Result<Module<'c>, HloError> {
    let (module, diagnostics) = capture_diagnostics(context, || {
        // SAFETY: the string ref points at `bytes` for the call's duration;
        // the parser copies what it keeps. The result is null or a module we own.
        unsafe {
            let raw = mlirModuleCreateParse(
                context.to_raw(),
                MlirStringRef {
                    data: bytes.as_ptr().cast(),
                    length: bytes.len(),
                },
            );
            Module::from_option_raw(raw)
        }
    });
    module.ok_or_else(|| HloError::Parse {
        source_name: source_name.to_string(),
        diagnostics,
    })
}
