//! Module outputs: MLIR text for people and FileCheck, MLIR bytecode for
//! tools, and parsing either back.

use std::path::Path;

use melior::Context;
use melior::ir::Module;
use melior::ir::operation::{OperationLike, OperationPrintingFlags};
use std::ffi::c_void;

use mlir_sys::{MlirStringRef, mlirModuleCreateParse, mlirOperationPrintWithFlags};

use super::operation::capture_diagnostics;
use crate::hlo::HloError;
use crate::output::write_atomically;

/// How a module is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrintOptions {
    /// Print every op's location (`loc("blk.0.attn_q")`).
    pub locations: bool,
}

/// Prints `module` as MLIR text, byte for byte as MLIR prints it: strings
/// in a module read from a file need not be UTF-8 (a parameter key, say), so
/// the text is bytes, not a `String`.
pub fn print_module_bytes(module: &Module<'_>, options: PrintOptions) -> Vec<u8> {
    let flags = OperationPrintingFlags::new().enable_debug_info(options.locations, false);
    let mut bytes: Vec<u8> = Vec::new();
    // SAFETY: the module and the flags are alive for the call; the callback
    // only appends the chunks MLIR hands it to `bytes`, which outlives it.
    unsafe {
        mlirOperationPrintWithFlags(
            module.as_operation().to_raw(),
            flags.to_raw(),
            Some(append_chunk),
            (&mut bytes as *mut Vec<u8>).cast(),
        );
    }
    bytes
}

/// Appends one printed chunk to the `Vec<u8>` behind `data`.
unsafe extern "C" fn append_chunk(chunk: MlirStringRef, data: *mut c_void) {
    // SAFETY: `data` is the `Vec<u8>` print_module_bytes passed; the chunk
    // is `length` valid bytes for the duration of the callback.
    unsafe {
        let bytes = &mut *(data as *mut Vec<u8>);
        bytes.extend_from_slice(std::slice::from_raw_parts(chunk.data.cast(), chunk.length));
    }
}

/// Prints `module` as MLIR text; bytes that are not UTF-8 (see
/// [`print_module_bytes`]) become U+FFFD.
pub fn print_module(module: &Module<'_>, options: PrintOptions) -> String {
    String::from_utf8_lossy(&print_module_bytes(module, options)).into_owned()
}

/// Writes `module` as MLIR text to `path` atomically.
pub fn write_text(module: &Module<'_>, options: PrintOptions, path: &Path) -> Result<(), HloError> {
    write_atomically(path, &print_module_bytes(module, options)).map_err(|source| HloError::Io {
        path: path.display().to_string(),
        source,
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
///
/// MLIR's bytecode reader aborts the process on some hostile inputs (a
/// count past `SmallVector`'s limit) and spins on others; `irex print` and
/// `irex compile` parse untrusted files in a child process first, under a
/// deadline. A library caller parsing untrusted bytes should do the same.
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
