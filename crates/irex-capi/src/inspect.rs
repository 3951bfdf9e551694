//! `irex_inspect`: what a model file or archive holds, as JSON, for hosts
//! that want to look before they export (the C face of `irex inspect`).

use std::ffi::c_char;
use std::path::Path;

use irex::formats::FormatError;
use irex::formats::detect::{SourceKind, detect};
use irex::formats::gguf::Gguf;
use irex::formats::irpa::{IrpaEntryKind, IrpaIndex};
use irex::formats::safetensors::Safetensors;
use irex::tensor::{BufferHandle, MappedFile};
use serde_json::{Value, json};

use crate::boundary::{Failure, IREX_ERROR_IO, guard, hand_out, irex_status, path, require_length};

/// Describes the GGUF file, safetensors checkpoint (file, shard index or
/// folder) or `.irpa` archive at `path`, after validating it, as a JSON
/// object, NUL-terminated: `{"format": "gguf" | "safetensors" | "irpa",
/// "tensors": [{"name", "type", "shape", "file", "offset", "bytes"}]}`
/// (an archive's entries have `"kind": "data" | "splat"` instead of a type
/// and shape). Sizes as every variable-size result (see `irex.h`).
///
/// # Safety
/// `path` is null or a NUL-terminated string; `buffer` is null or writable
/// for `capacity` bytes; `length` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_inspect(
    path: *const c_char,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> irex_status {
    guard(|| {
        require_length(length)?;
        // SAFETY: the caller's contract.
        let path = unsafe { self::path(path, "path") }?;
        let kind = detect(&path).map_err(|error| Failure {
            status: IREX_ERROR_IO,
            message: format!("reading `{}`: {error}", path.display()),
        })?;
        let described = match kind {
            SourceKind::Irpa => describe_irpa(&path)?,
            SourceKind::Gguf => describe_gguf(&path)?,
            _ => describe_safetensors(&path)?,
        };
        let text = described.to_string();
        // SAFETY: the caller's contract, passed on.
        unsafe { hand_out(text.as_bytes(), true, buffer.cast(), capacity, length) }
    })
}

fn format_failure(error: FormatError) -> Failure {
    Failure::from(irex::Error::from(error))
}

fn window(buffer: &BufferHandle) -> (String, u64, u64) {
    match buffer.mapped_window() {
        Some(window) => (
            window.file().path().display().to_string(),
            window.offset(),
            window.len(),
        ),
        None => (String::new(), 0, buffer.len()),
    }
}

fn describe_gguf(path: &Path) -> Result<Value, Failure> {
    let gguf = Gguf::open(path).map_err(format_failure)?;
    let tensors: Vec<Value> = gguf
        .tensors()
        .map(|tensor| {
            let (file, offset, bytes) = window(&tensor.buffer);
            json!({"name": tensor.spec.name, "type": tensor.kind.name(), "shape": tensor.spec.shape,
                   "file": file, "offset": offset, "bytes": bytes})
        })
        .collect();
    Ok(json!({"format": "gguf", "version": gguf.version, "tensors": tensors}))
}

fn describe_safetensors(path: &Path) -> Result<Value, Failure> {
    let checkpoint = Safetensors::open(path).map_err(format_failure)?;
    let tensors: Vec<Value> = checkpoint
        .tensors()
        .map(|tensor| {
            let (file, offset, bytes) = window(&tensor.buffer);
            json!({"name": tensor.spec.name, "type": tensor.dtype.name(), "shape": tensor.spec.shape,
                   "file": file, "offset": offset, "bytes": bytes})
        })
        .collect();
    Ok(json!({"format": "safetensors", "tensors": tensors}))
}

fn describe_irpa(path: &Path) -> Result<Value, Failure> {
    let mapped = MappedFile::open(path).map_err(|error| Failure {
        status: IREX_ERROR_IO,
        message: format!("opening `{}`: {error}", path.display()),
    })?;
    let index =
        IrpaIndex::parse_mapped(&mapped).map_err(|error| format_failure(error.with_path(path)))?;
    let file = path.display().to_string();
    let entries: Vec<Value> = index
        .entries()
        .map(|entry| match &entry.kind {
            IrpaEntryKind::Data { offset, .. } => json!({"name": entry.name, "kind": "data",
                "file": file, "offset": offset, "bytes": entry.length()}),
            IrpaEntryKind::Splat { .. } => json!({"name": entry.name, "kind": "splat",
                "bytes": entry.length()}),
        })
        .collect();
    Ok(json!({"format": "irpa", "tensors": entries}))
}
