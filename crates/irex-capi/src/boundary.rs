//! What every entry point does at the FFI boundary: turn arguments from C
//! into Rust (refusing null pointers and strings that are not UTF-8), run
//! the call with panics caught, and turn the outcome into a status code and
//! a per-thread message. Nothing unwinds into C and nothing aborts.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

/// A status code: `IREX_OK` or one of the `IREX_ERROR_*` values.
#[allow(non_camel_case_types)]
pub type irex_status = i32;

/// The call succeeded.
pub const IREX_OK: irex_status = 0;
/// An argument is wrong: a null pointer, a string that is not UTF-8, an
/// option name irex does not know or a value out of range.
pub const IREX_ERROR_INVALID_ARGUMENT: irex_status = 1;
/// The input is wrong: a file that is not a model, a malformed header, a
/// model the options do not fit.
pub const IREX_ERROR_INPUT: irex_status = 2;
/// MLIR or IREE's compiler refused the module or a flag.
pub const IREX_ERROR_COMPILER: irex_status = 3;
/// Reading or writing a file failed.
pub const IREX_ERROR_IO: irex_status = 4;
/// The caller's buffer is smaller than the result; `*length` holds the
/// size needed and nothing was written.
pub const IREX_ERROR_BUFFER_TOO_SMALL: irex_status = 5;
/// A bug in irex, caught at the boundary (a panic): the call had no effect
/// the caller can rely on, and the process goes on.
pub const IREX_ERROR_INTERNAL: irex_status = 6;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

/// A failed call: its status and its one-line message.
#[derive(Debug)]
pub struct Failure {
    pub status: irex_status,
    pub message: String,
}

impl Failure {
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: IREX_ERROR_INVALID_ARGUMENT,
            message: message.into(),
        }
    }
}

/// The status of `error`: I/O (a file missing, unreadable or unwritable)
/// apart from what is wrong inside a file, and both apart from the compiler.
fn status_of(error: &irex::Error) -> irex_status {
    use irex::formats::{FormatError, FormatErrorKind};
    use irex::models::ModelError;
    let is_io = |format: &FormatError| matches!(format.kind, FormatErrorKind::Io(_));
    match error {
        irex::Error::Io { .. } | irex::Error::Model(ModelError::Io { .. }) => IREX_ERROR_IO,
        irex::Error::Format(format) | irex::Error::Model(ModelError::Format(format))
            if is_io(format) =>
        {
            IREX_ERROR_IO
        }
        irex::Error::Hlo(_) | irex::Error::Iree(_) | irex::Error::Model(ModelError::Hlo(_)) => {
            IREX_ERROR_COMPILER
        }
        _ => IREX_ERROR_INPUT,
    }
}

impl From<irex::Error> for Failure {
    fn from(error: irex::Error) -> Self {
        let status = status_of(&error);
        Self {
            status,
            message: irex::diagnostic::error_message(&error),
        }
    }
}

/// Runs `call` with panics caught, records its message for
/// `irex_last_error` and returns its status.
pub fn guard(call: impl FnOnce() -> Result<(), Failure>) -> irex_status {
    let failure = match catch_unwind(AssertUnwindSafe(call)) {
        Ok(Ok(())) => {
            set_last_error("");
            return IREX_OK;
        }
        Ok(Err(failure)) => failure,
        Err(panic) => Failure {
            status: IREX_ERROR_INTERNAL,
            message: format!("internal error (a bug in irex): {}", panic_text(&*panic)),
        },
    };
    set_last_error(&failure.message);
    failure.status
}

/// Runs `call`, which returns a new handle, with panics caught; a failure
/// becomes a null pointer with its message recorded.
pub fn guard_pointer<T>(call: impl FnOnce() -> Result<Box<T>, Failure>) -> *mut T {
    let mut made = None;
    guard(|| {
        made = Some(call()?);
        Ok(())
    });
    made.map_or(std::ptr::null_mut(), Box::into_raw)
}

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic without a message".into()
    }
}

fn set_last_error(message: &str) {
    // A message from Rust has no NUL; if a file's name smuggled one in, it
    // is shown escaped rather than cutting the message short.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// The message of this thread's last failed call ("" after a success).
pub fn last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// Reads the C string `pointer` points at, named `what` in errors.
///
/// # Safety
/// `pointer` is null or a NUL-terminated string alive for `'a`.
pub unsafe fn text<'a>(pointer: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if pointer.is_null() {
        return Err(Failure::invalid(format!("{what} is null")));
    }
    // SAFETY: the caller's contract: a live NUL-terminated string.
    let bytes = unsafe { CStr::from_ptr(pointer) };
    bytes.to_str().map_err(|_| {
        Failure::invalid(format!(
            "{what} is not UTF-8: {}",
            bytes.to_string_lossy().escape_debug()
        ))
    })
}

/// Reads a path argument; paths must be UTF-8 so they can be named in
/// errors and manifests.
///
/// # Safety
/// As [`text`].
pub unsafe fn path(pointer: *const c_char, what: &str) -> Result<PathBuf, Failure> {
    // SAFETY: the caller's contract, passed on.
    let text = unsafe { text(pointer, what) }?;
    if text.is_empty() {
        return Err(Failure::invalid(format!("{what} is empty")));
    }
    Ok(PathBuf::from(text))
}

/// Borrows the object behind a handle, named `what` in errors.
///
/// # Safety
/// `pointer` is null or a live handle this library made and not yet
/// destroyed, not used mutably elsewhere during the borrow.
pub unsafe fn handle<'a, T>(pointer: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { pointer.as_ref() }.ok_or_else(|| Failure::invalid(format!("{what} is null")))
}

/// Borrows the object behind a handle mutably.
///
/// # Safety
/// As [`handle`], with no other borrow alive.
pub unsafe fn handle_mut<'a, T>(pointer: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract.
    unsafe { pointer.as_mut() }.ok_or_else(|| Failure::invalid(format!("{what} is null")))
}

/// Refuses a null `length`: calls with a variable-size result check it
/// before their work, so a caller's mistake costs no model build.
pub fn require_length(length: *mut usize) -> Result<(), Failure> {
    if length.is_null() {
        return Err(Failure::invalid("length is null"));
    }
    Ok(())
}

/// Hands `bytes` to the caller the way every variable-size result is:
/// `*length` gets the full size (plus a NUL when `nul` is set); the bytes
/// are copied only when `capacity` holds them all, otherwise the call
/// fails with [`IREX_ERROR_BUFFER_TOO_SMALL`] and writes nothing else.
/// A null `buffer` with `capacity` 0 asks for the size alone.
///
/// # Safety
/// `buffer` is null or writable for `capacity` bytes; `length` is null
/// or writable.
pub unsafe fn hand_out(
    bytes: &[u8],
    nul: bool,
    buffer: *mut u8,
    capacity: usize,
    length: *mut usize,
) -> Result<(), Failure> {
    let needed = bytes.len() + usize::from(nul);
    require_length(length)?;
    // SAFETY: checked non-null; the caller's contract makes it writable.
    unsafe { *length = needed };
    if capacity < needed {
        return Err(Failure {
            status: IREX_ERROR_BUFFER_TOO_SMALL,
            message: format!("the buffer holds {capacity} bytes, the result needs {needed}"),
        });
    }
    if buffer.is_null() {
        return Err(Failure::invalid(format!(
            "buffer is null but capacity is {capacity}"
        )));
    }
    // SAFETY: `buffer` is writable for `capacity` ≥ `needed` bytes and
    // cannot overlap `bytes`, which irex owns.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), buffer, bytes.len());
        if nul {
            *buffer.add(bytes.len()) = 0;
        }
    }
    Ok(())
}
