//! Process-wide compiler initialisation and the compiler session, which owns
//! the MLIR context every irex module is built in.

use std::cell::OnceCell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::ptr::NonNull;
use std::sync::OnceLock;

use melior::{Context, ContextRef};

use super::IreeError;
use super::ffi;

/// The API major version these bindings were written for (IREE 3.10 and
/// 3.13 both report 1.4).
pub const API_MAJOR_VERSION: u32 = 1;

/// Dialects irex emits; loaded into a session's context before any op is built.
///
/// The session's context has them *registered* but not *loaded*; an op of an
/// unloaded dialect is built as an unregistered op, and `func.func` then fails
/// to act as a symbol table (`'util.global.load' op undefined global`).
const DIALECTS: &[&str] = &[
    "builtin",
    "func",
    "stablehlo",
    "chlo",
    "util",
    "flow",
    "arith",
    "tensor",
    "quant",
    "linalg",
];

/// Returns the compiler library's API version as (major, minor).
pub fn api_version() -> (u32, u32) {
    // SAFETY: a pure query with no preconditions.
    let raw = unsafe { ffi::ireeCompilerGetAPIVersion() } as u32;
    (raw >> 16, raw & 0xffff)
}

/// Returns the compiler library's revision string (may be empty).
pub fn revision() -> String {
    // SAFETY: returns a static NUL-terminated string or null.
    let raw = unsafe { ffi::ireeCompilerGetRevision() };
    if raw.is_null() {
        return String::new();
    }
    // SAFETY: non-null and NUL-terminated, owned by the library.
    unsafe { CStr::from_ptr(raw) }
        .to_string_lossy()
        .into_owned()
}

/// Checks the API version, then initialises the compiler once per process.
///
/// It is never shut down: IREE aborts on initialising again after the last
/// shutdown, so the process keeps it until exit.
fn initialize() -> Result<(), IreeError> {
    static INITIALIZED: OnceLock<Result<(), (u32, u32)>> = OnceLock::new();
    let result = INITIALIZED.get_or_init(|| {
        let (major, minor) = api_version();
        if major != API_MAJOR_VERSION {
            return Err((major, minor));
        }
        // SAFETY: called once, guarded by the OnceLock.
        unsafe { ffi::ireeCompilerGlobalInitialize() };
        Ok(())
    });
    result.map_err(|(major, minor)| IreeError::ApiVersion {
        major,
        minor,
        expected: API_MAJOR_VERSION,
    })
}

/// Serialises every embedding-API call that touches the compiler's
/// process-wide state: session creation, flags, activation, invocations,
/// pipelines and teardown. IREE (3.10, measured) initialises LLVM targets, command-line
/// option bindings and plugins lazily and not thread-safely: sessions used
/// from several threads at once were seen to fail `createTargetMachine`,
/// crash, and spin forever in `llvm::TargetRegistry::lookupTarget`. Building
/// ops, which touches only a session's own context, needs no lock.
pub(super) fn compiler_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Converts an `iree_compiler_error_t*` into a result, destroying the handle.
pub(super) fn check(
    raw: *mut ffi::iree_compiler_error_t,
    operation: &'static str,
) -> Result<(), IreeError> {
    if raw.is_null() {
        return Ok(());
    }
    // SAFETY: a non-null error handle from the API; the message is valid
    // until the handle is destroyed, which happens after the copy.
    let message = unsafe { CStr::from_ptr(ffi::ireeCompilerErrorGetMessage(raw)) }
        .to_string_lossy()
        .into_owned();
    // One line ("Error parsing flags: option not found: iree-x"): the
    // compiler breaks its messages over lines, errors here are one line.
    let message = message
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    // SAFETY: the handle is ours and destroyed exactly once.
    unsafe { ffi::ireeCompilerErrorDestroy(raw) };
    Err(IreeError::Api { operation, message })
}

/// A compiler session: options plus the MLIR context modules are built in.
pub struct Session {
    raw: NonNull<ffi::iree_compiler_session_t>,
    /// The borrowed context, once activated. melior's `ContextRef::to_ref`
    /// hands out a `&Context` that points at the `ContextRef` itself, so the
    /// `ContextRef` must live as long as the session does.
    context: OnceCell<ContextRef<'static>>,
}

impl Session {
    /// Initialises the compiler (once per process) and creates a session.
    pub fn new() -> Result<Self, IreeError> {
        initialize()?;
        let _lock = compiler_lock();
        // SAFETY: the compiler is initialised.
        let raw = unsafe { ffi::ireeCompilerSessionCreate() };
        let raw = NonNull::new(raw).ok_or(IreeError::Api {
            operation: "ireeCompilerSessionCreate",
            message: "returned null".into(),
        })?;
        Ok(Self {
            raw,
            context: OnceCell::new(),
        })
    }

    /// Sets session flags (`--iree-hal-target-device=local`, ...). Call it
    /// before [`Session::context`]: borrowing the context activates the
    /// session, after which options are fixed.
    pub fn set_flags<S: AsRef<str>>(&mut self, flags: &[S]) -> Result<(), IreeError> {
        let owned: Vec<CString> = flags
            .iter()
            .map(|flag| CString::new(flag.as_ref()))
            .collect::<Result<_, _>>()
            .map_err(|_| IreeError::Api {
                operation: "ireeCompilerSessionSetFlags",
                message: "a flag contains a NUL byte".into(),
            })?;
        let pointers: Vec<*const c_char> = owned.iter().map(|flag| flag.as_ptr()).collect();
        let _lock = compiler_lock();
        // SAFETY: the session is live; argv points at `pointers.len()` valid
        // C strings that outlive the call.
        let error = unsafe {
            ffi::ireeCompilerSessionSetFlags(
                self.raw.as_ptr(),
                pointers.len() as i32,
                pointers.as_ptr(),
            )
        };
        check(error, "ireeCompilerSessionSetFlags")
    }

    /// Returns the session's MLIR context with irex's dialects loaded. The
    /// session owns the context; the reference cannot outlive it.
    pub fn context(&self) -> Result<&Context, IreeError> {
        if let Some(context) = self.context.get() {
            // SAFETY: the ContextRef lives in `self`, and the session owns the
            // context it refers to; the borrow is tied to `&self`.
            return Ok(unsafe { context.to_ref() });
        }
        let _lock = compiler_lock();
        // SAFETY: the session is live; borrowing activates it.
        let raw = unsafe { ffi::ireeCompilerSessionBorrowContext(self.raw.as_ptr()) };
        if raw.ptr.is_null() {
            return Err(IreeError::Api {
                operation: "ireeCompilerSessionBorrowContext",
                message: "the session could not be activated".into(),
            });
        }
        // SAFETY: a valid context owned by the session, which outlives every
        // borrow handed out below (they are tied to `&self`).
        let context = self
            .context
            .get_or_init(|| unsafe { ContextRef::from_raw(raw) });
        // SAFETY: as above; nothing wraps it in an owning `melior::Context`.
        let context: &Context = unsafe { context.to_ref() };
        load_dialects(context)?;
        drop(_lock);
        Ok(context)
    }

    pub(super) fn raw(&self) -> *mut ffi::iree_compiler_session_t {
        self.raw.as_ptr()
    }

    /// Lists the HAL target backends compiled into the library.
    pub fn target_backends() -> Result<Vec<String>, IreeError> {
        initialize()?;
        unsafe extern "C" fn push(name: *const c_char, user: *mut c_void) {
            // SAFETY: `user` is the Vec passed below; `name` is NUL-terminated.
            unsafe {
                let names = &mut *(user as *mut Vec<String>);
                names.push(CStr::from_ptr(name).to_string_lossy().into_owned());
            }
        }
        let mut names: Vec<String> = Vec::new();
        // SAFETY: the callback only runs during the call, with our Vec.
        unsafe {
            ffi::ireeCompilerEnumerateRegisteredHALTargetBackends(
                push,
                &mut names as *mut _ as *mut c_void,
            )
        };
        Ok(names)
    }
}

/// Loads irex's dialects into `context`; refuses a context where one is
/// not registered (a context not made by IREE's compiler, or by another
/// MLIR), since building ops of an unregistered dialect fails later and
/// obscurely. Callers hold [`compiler_lock`].
fn load_dialects(context: &Context) -> Result<(), IreeError> {
    for dialect in DIALECTS {
        // SAFETY: a live context and a string that outlives the call.
        let loaded = unsafe {
            mlir_sys::mlirContextGetOrLoadDialect(
                context.to_raw(),
                melior::StringRef::new(dialect).to_raw(),
            )
        };
        if loaded.ptr.is_null() {
            return Err(IreeError::Api {
                operation: "mlirContextGetOrLoadDialect",
                message: format!(
                    "the context has no `{dialect}` dialect registered: use a context of IREE's compiler (ireeCompilerSessionBorrowContext)"
                ),
            });
        }
    }
    Ok(())
}

/// An MLIR context a host owns, borrowed to build modules in: a C or C++
/// toolchain that embeds IREE's compiler hands irex its session's context
/// (the C ABI's `irex_import`), so the module needs no file or copy.
pub struct HostContext {
    /// As in [`Session`]: `to_ref` points into the `ContextRef`, so it is
    /// kept here.
    context: ContextRef<'static>,
}

impl HostContext {
    /// Borrows the context at `raw` (an `MlirContext`'s pointer) and loads
    /// irex's dialects into it; refuses null and a context without them.
    ///
    /// # Safety
    /// `raw` is null or a live context of the `libIREECompiler.so` this
    /// process loaded, which outlives the value and everything built in it
    /// through [`HostContext::context`].
    pub unsafe fn from_raw(raw: *mut c_void) -> Result<Self, IreeError> {
        if raw.is_null() {
            return Err(IreeError::Api {
                operation: "irex_import",
                message: "the MLIR context is null".into(),
            });
        }
        initialize()?;
        // SAFETY: the caller's contract: a live context that outlives `self`.
        let context = unsafe { ContextRef::from_raw(mlir_sys::MlirContext { ptr: raw }) };
        let host = Self { context };
        let _lock = compiler_lock();
        load_dialects(host.context())?;
        Ok(host)
    }

    /// The borrowed context.
    pub fn context(&self) -> &Context {
        // SAFETY: `from_raw`'s contract; the borrow is tied to `&self`, and
        // nothing wraps the context in an owning `melior::Context`.
        unsafe { self.context.to_ref() }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _lock = compiler_lock();
        // SAFETY: the handle is ours and destroyed exactly once.
        unsafe { ffi::ireeCompilerSessionDestroy(self.raw.as_ptr()) }
    }
}
