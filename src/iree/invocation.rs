//! Compiler invocations (one compilation each) and compiler outputs.

use std::ffi::{CString, c_char, c_int, c_void};
use std::marker::PhantomData;
use std::path::Path;
use std::ptr::{self, NonNull};
use std::sync::Mutex;

use melior::ir::Module;

use super::session::{Session, check, compiler_lock};
use super::{IreeError, ffi};
use crate::diagnostic::{Diagnostic, Severity};

/// One compilation: a module imported or parsed, a pipeline run, outputs
/// written. Diagnostics are captured, not printed.
pub struct Invocation<'a> {
    raw: NonNull<ffi::iree_compiler_invocation_t>,
    /// Written by the diagnostic callback, which may run on any thread; boxed
    /// so its address is stable for the callback's lifetime (the invocation's).
    diagnostics: Box<Mutex<Vec<Diagnostic>>>,
    _borrows: PhantomData<&'a Session>,
}

unsafe extern "C" fn collect_diagnostic(
    severity: c_int,
    message: *const c_char,
    length: usize,
    user: *mut c_void,
) {
    // SAFETY: `message` holds `length` bytes for the call's duration; `user`
    // is the invocation's boxed Mutex, alive until the invocation is destroyed.
    let (bytes, sink) = unsafe {
        (
            std::slice::from_raw_parts(message as *const u8, length),
            &*(user as *const Mutex<Vec<Diagnostic>>),
        )
    };
    let text = String::from_utf8_lossy(bytes).into_owned();
    let diagnostic = split_location(Severity::from_iree(severity), text);
    if let Ok(mut diagnostics) = sink.lock() {
        diagnostics.push(diagnostic);
    }
}

/// Splits a leading `loc(...)`-style location off a diagnostic message.
fn split_location(severity: Severity, text: String) -> Diagnostic {
    if let Some(rest) = text.strip_prefix("loc(")
        && let Some(end) = rest.find("): ")
    {
        return Diagnostic {
            severity,
            location: Some(format!("loc({})", &rest[..end])),
            message: rest[end + 3..].to_string(),
        };
    }
    Diagnostic {
        severity,
        location: None,
        message: text,
    }
}

impl<'a> Invocation<'a> {
    /// Creates an invocation in `session`, capturing its diagnostics.
    pub fn new(session: &'a Session) -> Result<Self, IreeError> {
        let _lock = compiler_lock();
        // SAFETY: the session is live for 'a.
        let raw = unsafe { ffi::ireeCompilerInvocationCreate(session.raw()) };
        let raw = NonNull::new(raw).ok_or(IreeError::Api {
            operation: "ireeCompilerInvocationCreate",
            message: "returned null".into(),
        })?;
        let diagnostics = Box::new(Mutex::new(Vec::new()));
        let user = &*diagnostics as *const Mutex<Vec<Diagnostic>> as *mut c_void;
        // SAFETY: flags must be 0; `user` outlives the invocation (dropped after it).
        unsafe {
            ffi::ireeCompilerInvocationEnableCallbackDiagnostics(
                raw.as_ptr(),
                0,
                collect_diagnostic,
                user,
            )
        };
        Ok(Self {
            raw,
            diagnostics,
            _borrows: PhantomData,
        })
    }

    fn failure(&self, stage: &'static str) -> IreeError {
        let diagnostics = self
            .diagnostics
            .lock()
            .map(|mut diagnostics| std::mem::take(&mut *diagnostics))
            .unwrap_or_default();
        IreeError::Compile { stage, diagnostics }
    }

    /// Returns the diagnostics collected so far (warnings, remarks).
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        self.diagnostics
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default()
    }

    /// Imports a module built in the session's context, without copying or
    /// serialising it. The pipeline mutates it in place.
    pub fn import_module(&mut self, module: &'a Module<'_>) -> Result<(), IreeError> {
        let _lock = compiler_lock();
        // SAFETY: the module outlives the invocation ('a) and was built in
        // the session's context.
        let imported = unsafe {
            ffi::ireeCompilerInvocationImportBorrowModule(
                self.raw.as_ptr(),
                module.as_operation().to_raw(),
            )
        };
        if imported {
            Ok(())
        } else {
            Err(self.failure("import"))
        }
    }

    /// Runs the standard pipeline: input conversion to VM bytecode.
    pub fn run_pipeline(&mut self) -> Result<(), IreeError> {
        let _lock = compiler_lock();
        // SAFETY: the invocation is live and holds a module.
        let ran =
            unsafe { ffi::ireeCompilerInvocationPipeline(self.raw.as_ptr(), ffi::PIPELINE_STD) };
        if ran {
            Ok(())
        } else {
            Err(self.failure("pipeline"))
        }
    }

    /// Writes the compiled VM bytecode module (`.vmfb`) to `output`.
    pub fn write_vm_bytecode(&mut self, output: &mut Output) -> Result<(), IreeError> {
        let _lock = compiler_lock();
        // SAFETY: both handles are live.
        let error = unsafe {
            ffi::ireeCompilerInvocationOutputVMBytecode(self.raw.as_ptr(), output.raw.as_ptr())
        };
        check(error, "ireeCompilerInvocationOutputVMBytecode")
    }
}

impl Drop for Invocation<'_> {
    fn drop(&mut self) {
        let _lock = compiler_lock();
        // SAFETY: the handle is ours and destroyed exactly once; the boxed
        // diagnostics are dropped after this, so no callback sees them freed.
        unsafe { ffi::ireeCompilerInvocationDestroy(self.raw.as_ptr()) }
    }
}

fn path_to_c(path: &Path) -> Result<CString, IreeError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|error| IreeError::Io {
        what: "path",
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, error),
    })
}

/// A compiler output file; deleted on drop unless [`Output::keep`] was called.
pub struct Output {
    raw: NonNull<ffi::iree_compiler_output_t>,
}

impl Output {
    /// Opens (creates or truncates) `path` for the compiler to write.
    pub fn open_file(path: &Path) -> Result<Self, IreeError> {
        let c_path = path_to_c(path)?;
        let mut raw = ptr::null_mut();
        // SAFETY: valid path; `raw` receives the handle.
        let error = unsafe { ffi::ireeCompilerOutputOpenFile(c_path.as_ptr(), &mut raw) };
        let output = NonNull::new(raw).map(|raw| Self { raw });
        check(error, "ireeCompilerOutputOpenFile")?;
        output.ok_or(IreeError::Api {
            operation: "ireeCompilerOutputOpenFile",
            message: "returned no output".into(),
        })
    }

    /// Keeps the file when the output is dropped.
    pub fn keep(&mut self) {
        // SAFETY: the handle is live.
        unsafe { ffi::ireeCompilerOutputKeep(self.raw.as_ptr()) }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // SAFETY: the handle is ours and destroyed exactly once.
        unsafe { ffi::ireeCompilerOutputDestroy(self.raw.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_split_from_messages() {
        let diagnostic = split_location(Severity::Error, r#"loc("a.b"): 'x' op failed"#.into());
        assert_eq!(diagnostic.location.as_deref(), Some(r#"loc("a.b")"#));
        assert_eq!(diagnostic.message, "'x' op failed");
        let plain = split_location(Severity::Warning, "no location".into());
        assert_eq!(plain.location, None);
    }
}
