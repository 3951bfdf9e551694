//! irex's C ABI: `libirex.so` and `libirex.a`, declared by
//! `include/irex.h` (generated from this crate by cbindgen; `tests/header.rs`
//! fails when it is out of date).
//!
//! Every entry point returns an `irex_status` (or a handle, null on
//! failure) and leaves a one-line message for `irex_last_error` on the
//! calling thread. Null pointers, strings that are not UTF-8 and values out
//! of range are refused with `IREX_ERROR_INVALID_ARGUMENT`; a panic inside
//! irex is caught at the boundary and returned as `IREX_ERROR_INTERNAL`, so
//! nothing unwinds into C and the host process never aborts.
//!
//! Variable-size results (MLIR, JSON, flags) are written into the caller's
//! buffer: `*length` always gets the size needed, and a buffer smaller than
//! that fails with `IREX_ERROR_BUFFER_TOO_SMALL`; a null buffer with
//! capacity 0 asks for the size alone.

mod boundary;
mod inspect;
mod irpa;
mod model;
mod options;

use std::ffi::c_char;

pub use boundary::{
    IREX_ERROR_BUFFER_TOO_SMALL, IREX_ERROR_COMPILER, IREX_ERROR_INPUT, IREX_ERROR_INTERNAL,
    IREX_ERROR_INVALID_ARGUMENT, IREX_ERROR_IO, IREX_OK, irex_status,
};
pub use inspect::irex_inspect;
pub use irpa::{
    IrpaWriter, irex_irpa_writer_add_file, irex_irpa_writer_add_memory, irex_irpa_writer_create,
    irex_irpa_writer_destroy, irex_irpa_writer_write,
};
pub use model::{
    IREX_MLIR_BYTECODE, IREX_MLIR_TEXT, IREX_MLIR_TEXT_WITH_LOCATIONS, irex_export, irex_import,
    irex_mlir_format, irex_write_mlir,
};
pub use options::{
    Options, irex_options_add_iree_flag, irex_options_compile_flags, irex_options_create,
    irex_options_destroy, irex_options_set_batch, irex_options_set_compile,
    irex_options_set_policy, irex_options_set_quant, irex_options_set_scope,
    irex_options_set_sequence_length, irex_options_set_target,
};

/// irex's version, `MAJOR.MINOR.PATCH`, as a static NUL-terminated string.
#[unsafe(no_mangle)]
pub extern "C" fn irex_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the calling thread's last failed call, one line
/// (continuations indented), NUL-terminated; "" after a call that
/// succeeded. Valid until the thread's next irex call.
#[unsafe(no_mangle)]
pub extern "C" fn irex_last_error() -> *const c_char {
    boundary::last_error()
}
