//! Models through the C ABI: export one to a folder, print its module as
//! MLIR into the caller's memory, or build it in the host's own MLIR
//! context (the importer a compiler plugin would be).

use std::ffi::{c_char, c_void};
use std::path::Path;

use irex::export::{Silent, build_module, export_folder, import_module};
use irex::hlo::{PrintOptions, print_module_bytes};
use irex::iree::{HostContext, Session};
use irex::melior::ir::operation::OperationLike;
use irex::models::Model;

use crate::boundary::{Failure, guard, hand_out, irex_status, path, require_length};
use crate::options::{Options, export_options};

/// Which form of MLIR `irex_write_mlir` writes.
#[allow(non_camel_case_types)]
pub type irex_mlir_format = i32;
/// MLIR bytecode (`.mlirbc`).
pub const IREX_MLIR_BYTECODE: irex_mlir_format = 0;
/// MLIR text (`.mlir`), without locations.
pub const IREX_MLIR_TEXT: irex_mlir_format = 1;
/// MLIR text with every op's location (`loc("blk.0.attn_q")`).
pub const IREX_MLIR_TEXT_WITH_LOCATIONS: irex_mlir_format = 2;

/// Opens a model file or folder, its errors as the ABI reports them.
pub(crate) fn open_model(model: &Path) -> Result<Box<dyn Model>, Failure> {
    irex::models::open(model).map_err(|error| Failure::from(irex::Error::from(error)))
}

/// Exports the model at `model` (a GGUF file or a model folder) into the
/// folder `folder`: MLIR, `.irpa`, `.vmfb`, `tokenizer.json`, `irex.json`,
/// as `irex export MODEL -o FOLDER` does. `options` may be null (defaults).
/// The folder appears, or replaces an earlier export, only when complete.
///
/// # Safety
/// `model` and `folder` are null or NUL-terminated strings; `options` is
/// null or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_export(
    model: *const c_char,
    folder: *const c_char,
    options: *const Options,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let (model, folder) = unsafe { (path(model, "model path")?, path(folder, "folder")?) };
        // SAFETY: the caller's contract.
        let options = unsafe { export_options(options) };
        let model = open_model(&model)?;
        export_folder(model.as_ref(), &folder, &options, &mut Silent)?;
        Ok(())
    })
}

/// Builds and verifies the model's module and writes it as MLIR
/// (`format`: `IREX_MLIR_BYTECODE`, `IREX_MLIR_TEXT` or
/// `IREX_MLIR_TEXT_WITH_LOCATIONS`) into `buffer`. Sizes as every
/// variable-size result: `*length` gets the size; a `capacity` smaller
/// than it fails with `IREX_ERROR_BUFFER_TOO_SMALL` (each call builds the
/// module anew). Weights are external under the default policy, so the
/// module is small; the `.irpa` is `irex_export`'s or `irex_import`'s.
///
/// # Safety
/// `model` is null or a NUL-terminated string; `options` is null or live;
/// `buffer` is null or writable for `capacity` bytes; `length` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_write_mlir(
    model: *const c_char,
    options: *const Options,
    format: irex_mlir_format,
    buffer: *mut u8,
    capacity: usize,
    length: *mut usize,
) -> irex_status {
    guard(|| {
        require_length(length)?;
        // SAFETY: the caller's contract.
        let model = unsafe { path(model, "model path") }?;
        if !(IREX_MLIR_BYTECODE..=IREX_MLIR_TEXT_WITH_LOCATIONS).contains(&format) {
            return Err(Failure::invalid(format!(
                "MLIR format {format} is not IREX_MLIR_BYTECODE, IREX_MLIR_TEXT or IREX_MLIR_TEXT_WITH_LOCATIONS"
            )));
        }
        // SAFETY: the caller's contract.
        let options = unsafe { export_options(options) };
        let model = open_model(&model)?;
        let session = options.compile.session().map_err(irex::Error::from)?;
        let context = session.context().map_err(irex::Error::from)?;
        let converted = build_module(model.as_ref(), context, &options, &mut Silent)?;
        let bytes = match format {
            IREX_MLIR_BYTECODE => converted.module.as_operation().write_bytecode(),
            _ => print_module_bytes(
                &converted.module,
                PrintOptions {
                    locations: format == IREX_MLIR_TEXT_WITH_LOCATIONS,
                },
            ),
        };
        drop(converted);
        drop::<Session>(session);
        // SAFETY: the caller's contract, passed on.
        unsafe { hand_out(&bytes, false, buffer, capacity, length) }
    })
}

/// Builds and verifies the model's module in `context`, an `MlirContext`'s
/// pointer (`ctx.ptr`) the host owns: borrow it from an IREE compiler
/// session (`ireeCompilerSessionBorrowContext`) of the same
/// `libIREECompiler.so` irex links. On success `*module_operation` is the
/// module's operation (`MlirOperation.ptr`), the host's to own: import it
/// with `ireeCompilerInvocationImportStealModule` or destroy it. When
/// `parameters` is not null and the module has external weights, their
/// `.irpa` is written there (scope as `irex_options_set_scope`, default
/// `model`). See `irex_mlir.h` for the same call on MLIR's C types.
///
/// # Safety
/// `context` is null or a live context of IREE's compiler that outlives
/// the module; `model` and `parameters` are null or NUL-terminated
/// strings; `options` is null or live; `module_operation` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_import(
    context: *mut c_void,
    model: *const c_char,
    options: *const Options,
    parameters: *const c_char,
    module_operation: *mut *mut c_void,
) -> irex_status {
    guard(|| {
        if module_operation.is_null() {
            return Err(Failure::invalid("module_operation is null"));
        }
        if context.is_null() {
            return Err(Failure::invalid("the MLIR context is null"));
        }
        // SAFETY: the caller's contract.
        let model = unsafe { path(model, "model path") }?;
        let parameters = if parameters.is_null() {
            None
        } else {
            // SAFETY: the caller's contract; not null.
            Some(unsafe { path(parameters, "parameters path") }?)
        };
        // SAFETY: the caller's contract.
        let options = unsafe { export_options(options) };
        // SAFETY: the caller's contract: null or a live context of IREE's.
        let host = unsafe { HostContext::from_raw(context) }.map_err(irex::Error::from)?;
        let model = open_model(&model)?;
        let module = import_module(
            model.as_ref(),
            host.context(),
            &options,
            parameters.as_deref(),
        )?;
        let operation = module.as_operation().to_raw().ptr;
        // The host owns the module from here: irex must not destroy it.
        std::mem::forget(module);
        // SAFETY: checked non-null; the caller's contract makes it writable.
        unsafe { *module_operation = operation };
        Ok(())
    })
}
