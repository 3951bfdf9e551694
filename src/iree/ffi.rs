//! Declarations of the IREE compiler embedding API (`embedding_api.h`, API
//! 1.4, as IREE 3.10 through 3.13 ship it) and the MLIR interop functions of
//! `mlir_interop.h` that irex calls. `libIREECompiler.so` exports both.

#![allow(non_camel_case_types, reason = "C type names from embedding_api.h")]

use std::ffi::{c_char, c_int, c_void};

use mlir_sys::{MlirContext, MlirOperation};

/// Opaque `iree_compiler_error_t`.
#[repr(C)]
pub struct iree_compiler_error_t {
    _opaque: [u8; 0],
}
/// Opaque `iree_compiler_session_t`.
#[repr(C)]
pub struct iree_compiler_session_t {
    _opaque: [u8; 0],
}
/// Opaque `iree_compiler_invocation_t`.
#[repr(C)]
pub struct iree_compiler_invocation_t {
    _opaque: [u8; 0],
}
/// Opaque `iree_compiler_output_t`.
#[repr(C)]
pub struct iree_compiler_output_t {
    _opaque: [u8; 0],
}

/// `IREE_COMPILER_PIPELINE_STD`: the whole input-to-VM pipeline.
pub const PIPELINE_STD: c_int = 0;

/// Diagnostic callback: severity, message (not NUL-terminated), length, user data.
pub type DiagnosticCallback =
    unsafe extern "C" fn(severity: c_int, message: *const c_char, length: usize, user: *mut c_void);

/// Backend enumeration callback.
pub type NameCallback = unsafe extern "C" fn(name: *const c_char, user: *mut c_void);

#[link(name = "IREECompiler")]
unsafe extern "C" {
    pub fn ireeCompilerGetAPIVersion() -> c_int;
    pub fn ireeCompilerGetRevision() -> *const c_char;
    pub fn ireeCompilerGlobalInitialize();
    pub fn ireeCompilerEnumerateRegisteredHALTargetBackends(
        callback: NameCallback,
        user: *mut c_void,
    );

    pub fn ireeCompilerErrorDestroy(error: *mut iree_compiler_error_t);
    pub fn ireeCompilerErrorGetMessage(error: *mut iree_compiler_error_t) -> *const c_char;

    pub fn ireeCompilerSessionCreate() -> *mut iree_compiler_session_t;
    pub fn ireeCompilerSessionDestroy(session: *mut iree_compiler_session_t);
    pub fn ireeCompilerSessionSetFlags(
        session: *mut iree_compiler_session_t,
        argc: c_int,
        argv: *const *const c_char,
    ) -> *mut iree_compiler_error_t;
    pub fn ireeCompilerSessionBorrowContext(session: *mut iree_compiler_session_t) -> MlirContext;

    pub fn ireeCompilerInvocationCreate(
        session: *mut iree_compiler_session_t,
    ) -> *mut iree_compiler_invocation_t;
    pub fn ireeCompilerInvocationDestroy(invocation: *mut iree_compiler_invocation_t);
    pub fn ireeCompilerInvocationEnableCallbackDiagnostics(
        invocation: *mut iree_compiler_invocation_t,
        flags: c_int,
        callback: DiagnosticCallback,
        user: *mut c_void,
    );
    pub fn ireeCompilerInvocationImportBorrowModule(
        invocation: *mut iree_compiler_invocation_t,
        module: MlirOperation,
    ) -> bool;
    pub fn ireeCompilerInvocationPipeline(
        invocation: *mut iree_compiler_invocation_t,
        pipeline: c_int,
    ) -> bool;
    pub fn ireeCompilerInvocationOutputVMBytecode(
        invocation: *mut iree_compiler_invocation_t,
        output: *mut iree_compiler_output_t,
    ) -> *mut iree_compiler_error_t;

    pub fn ireeCompilerOutputOpenFile(
        path: *const c_char,
        output: *mut *mut iree_compiler_output_t,
    ) -> *mut iree_compiler_error_t;
    pub fn ireeCompilerOutputKeep(output: *mut iree_compiler_output_t);
    pub fn ireeCompilerOutputDestroy(output: *mut iree_compiler_output_t);
}
