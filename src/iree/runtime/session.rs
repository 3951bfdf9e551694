//! A loaded module: [`Session`] holds the runtime instance, the CPU
//! device, the parameters module over the module's parameter files, and
//! the module itself, and calls its functions by name.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use irex_runtime_sys as sys;

use super::buffer::{BufferView, download, upload};
use super::device::cpu_device;
use super::handle::Handle;
use super::status::{check, string_view, system_allocator};
use crate::formats::npy::NpyArray;
use crate::iree::IreeError;
use crate::tensor::MappedFile;

/// How a [`Session`] runs.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    /// Worker threads of the CPU device; `None` takes the CPUs this
    /// process may use.
    pub threads: Option<usize>,
}

impl SessionOptions {
    fn thread_count(&self) -> usize {
        self.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        })
    }
}

/// A module and its parameters, loaded once, ready for calls.
pub struct Session {
    // Field order is release order: the session (which holds the modules)
    // before the device and the instance.
    session: Handle<sys::iree_runtime_session_t>,
    device: Handle<sys::iree_hal_device_t>,
    _instance: Handle<sys::iree_runtime_instance_t>,
    /// The mapped `.vmfb`, which the loaded module reads in place.
    _archive: Option<Arc<MappedFile>>,
    /// The mapped parameter files, which the device's buffers alias.
    _parameter_maps: Vec<Arc<MappedFile>>,
    /// The file, for messages.
    path: PathBuf,
    /// The module's name, which qualifies its functions (`NAME.prefill`).
    name: String,
}

impl Session {
    /// Loads `module` (a `.vmfb`) with its parameter files, each as
    /// (scope, path): `.irpa`, `.gguf` or `.safetensors`, read the way
    /// `iree-run-module --parameters=scope=path` reads them.
    pub fn load(
        module: &Path,
        parameters: &[(String, PathBuf)],
        options: &SessionOptions,
    ) -> Result<Self, IreeError> {
        let instance = instance()?;
        let device = cpu_device(options.thread_count())?;
        let mut session = Handle::empty(sys::iree_runtime_session_release);
        let mut session_options = sys::iree_runtime_session_options_t::default();
        // SAFETY: instance and device are live; the session retains both.
        let status = unsafe {
            sys::iree_runtime_session_options_initialize(&mut session_options);
            sys::iree_runtime_session_create_with_device(
                instance.get(),
                &session_options,
                device.get(),
                system_allocator(),
                session.slot(),
            )
        };
        check(status, || "creating a runtime session".into())?;
        let mut session = Self {
            session,
            device,
            _instance: instance,
            _archive: None,
            _parameter_maps: Vec::new(),
            path: module.to_path_buf(),
            name: String::new(),
        };
        if !parameters.is_empty() {
            session.append_parameters(parameters)?;
        }
        session.append_module(module)?;
        Ok(session)
    }

    /// Appends the parameters module over `parameters`: modules that name
    /// `#flow.parameter.named` weights import it, so it comes first.
    fn append_parameters(&mut self, parameters: &[(String, PathBuf)]) -> Result<(), IreeError> {
        let mut providers = Vec::with_capacity(parameters.len());
        for (scope, path) in parameters {
            let map = MappedFile::open(path).map_err(|source| IreeError::Io {
                what: "reading parameter file",
                path: path.display().to_string(),
                source,
            })?;
            providers.push(parameter_provider(scope, path, &map)?);
            self._parameter_maps.push(map);
        }
        let pointers: Vec<_> = providers.iter().map(Handle::get).collect();
        let mut module = Handle::empty(sys::iree_vm_module_release);
        // SAFETY: the providers are live for the call; the module retains
        // them; the session retains the module.
        let status = unsafe {
            sys::iree_io_parameters_module_create(
                self.vm_instance(),
                pointers.len(),
                pointers.as_ptr(),
                system_allocator(),
                module.slot(),
            )
        };
        let action = || "creating the parameters module".to_string();
        check(status, action)?;
        self.append(&module, action)
    }

    /// The VM instance the session's modules are created in.
    fn vm_instance(&self) -> *mut sys::iree_vm_instance_t {
        // SAFETY: the session is live and holds its instance.
        unsafe {
            sys::iree_runtime_instance_vm_instance(sys::iree_runtime_session_instance(
                self.session.get(),
            ))
        }
    }

    /// Appends a created module to the session's context (which runs its
    /// initializers) and retains it.
    fn append(
        &self,
        module: &Handle<sys::iree_vm_module_t>,
        action: impl FnOnce() -> String,
    ) -> Result<(), IreeError> {
        // SAFETY: session and module are live; the context retains the module.
        let status =
            unsafe { sys::iree_runtime_session_append_module(self.session.get(), module.get()) };
        check(status, action)
    }

    /// Maps the `.vmfb` and appends its module, which also runs its
    /// initializers (those load the parameters, so a missing or mis-sized
    /// one is reported here). IREE verifies the archive before reading it.
    fn append_module(&mut self, module: &Path) -> Result<(), IreeError> {
        let action = || format!("loading module `{}`", module.display());
        let archive = MappedFile::open(module).map_err(|source| IreeError::Io {
            what: "reading module",
            path: module.display().to_string(),
            source,
        })?;
        let bytes = archive.bytes();
        let contents = sys::iree_const_byte_span_t {
            data: bytes.as_ptr(),
            data_length: bytes.len(),
        };
        // The mapping is not IREE's to free: a null allocator.
        let not_owned = sys::iree_allocator_t::default();
        let mut loaded = Handle::empty(sys::iree_vm_module_release);
        // SAFETY: the mapping outlives the module (the session drops
        // first; `_archive` keeps it); the session retains the module.
        let status = unsafe {
            sys::iree_vm_bytecode_module_create(
                self.vm_instance(),
                sys::iree_vm_bytecode_module_flags_e_IREE_VM_BYTECODE_MODULE_FLAG_NONE as _,
                contents,
                not_owned,
                system_allocator(),
                loaded.slot(),
            )
        };
        self._archive = Some(archive);
        check(status, action)?;
        self.append(&loaded, action)?;
        // SAFETY: the module is live; its name is a view into it.
        let name = unsafe { sys::iree_vm_module_name(loaded.get()) };
        // SAFETY: IREE's string view points at `size` bytes it owns.
        let bytes = unsafe { std::slice::from_raw_parts(name.data.cast::<u8>(), name.size) };
        self.name = String::from_utf8_lossy(bytes).into_owned();
        Ok(())
    }

    /// Calls `function` (e.g. `model.decode`, or `decode` for the module's
    /// own) with `inputs`, returning every result it gives.
    pub fn call(
        &mut self,
        function: &str,
        inputs: &[&BufferView],
    ) -> Result<Vec<BufferView>, IreeError> {
        let qualified = self.qualified(function);
        let action = || format!("calling `{qualified}` of `{}`", self.path.display());
        let mut call = sys::iree_runtime_call_t::default();
        // SAFETY: the session is live; `call` is initialised before use and
        // deinitialised on every path after; inputs are retained by it.
        unsafe {
            check(
                sys::iree_runtime_call_initialize_by_name(
                    self.session.get(),
                    string_view(&qualified),
                    &mut call,
                ),
                action,
            )?;
            let results = invoke(&mut call, inputs);
            sys::iree_runtime_call_deinitialize(&mut call);
            results.map_err(|status| check(status, action).unwrap_err())
        }
    }

    /// `function` as the runtime names it: qualified by the loaded
    /// module's name unless it already names a module.
    fn qualified(&self, function: &str) -> String {
        if function.contains('.') {
            function.to_string()
        } else {
            format!("{}.{function}", self.name)
        }
    }

    /// Copies a host array to the device for a call.
    pub fn upload(&self, array: &NpyArray) -> Result<BufferView, IreeError> {
        upload(self.device.get(), array)
    }

    /// Copies a result to the host.
    pub fn download(&self, view: &BufferView) -> Result<NpyArray, IreeError> {
        download(self.device.get(), view)
    }
}

/// Pushes `inputs`, invokes, and pops every output of an initialised call.
///
/// # Safety
/// `call` must be initialised and its session live.
unsafe fn invoke(
    call: &mut sys::iree_runtime_call_t,
    inputs: &[&BufferView],
) -> Result<Vec<BufferView>, sys::iree_status_t> {
    let ok = |status: sys::iree_status_t| {
        if status.is_null() {
            Ok(())
        } else {
            Err(status)
        }
    };
    // SAFETY: per this function's contract; each view is live and the call
    // retains those it takes.
    unsafe {
        for input in inputs {
            ok(sys::iree_runtime_call_inputs_push_back_buffer_view(
                call,
                input.0.get(),
            ))?;
        }
        ok(sys::iree_runtime_call_invoke(call, 0))?;
        let count = sys::iree_vm_list_size(sys::iree_runtime_call_outputs(call));
        let mut results = Vec::with_capacity(count);
        for _ in 0..count {
            let mut view = Handle::empty(sys::iree_hal_buffer_view_release);
            ok(sys::iree_runtime_call_outputs_pop_front_buffer_view(
                call,
                view.slot(),
            ))?;
            results.push(BufferView(view));
        }
        Ok(results)
    }
}

/// The process's runtime instance (created on first use, then shared),
/// with a reference for the caller.
///
/// One per process, because creating an instance registers IREE's HAL ref
/// types into process-wide globals (`iree_hal_command_buffer_registration`,
/// ...), and `iree_vm_instance_register_type` first sets each to 0: a
/// session created while another thread's module ran its initializer made
/// that one fail with "ref type mismatch; while invoking native function
/// hal.command_buffer.dispatch" (seen once in CI, in `tests/smollm2.rs`).
/// Registered once, the globals never change. IREE's instances are
/// thread-safe (their type table has its own lock).
fn instance() -> Result<Handle<sys::iree_runtime_instance_t>, IreeError> {
    /// The instance pointer, owned by the process for its whole run.
    struct Shared(*mut sys::iree_runtime_instance_t);
    // SAFETY: an IREE runtime instance may be used from any thread.
    unsafe impl Send for Shared {}
    static SHARED: std::sync::Mutex<Option<Shared>> = std::sync::Mutex::new(None);

    let mut shared = SHARED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if shared.is_none() {
        *shared = Some(Shared(create_instance()?));
    }
    let pointer = shared
        .as_ref()
        .map_or(std::ptr::null_mut(), |instance| instance.0);
    // SAFETY: the shared instance is live (its reference is never
    // released); the caller's handle owns the reference taken here.
    unsafe { sys::iree_runtime_instance_retain(pointer) };
    Ok(Handle::new(pointer, sys::iree_runtime_instance_release))
}

/// A new runtime instance with IREE's HAL types registered.
fn create_instance() -> Result<*mut sys::iree_runtime_instance_t, IreeError> {
    let mut options = sys::iree_runtime_instance_options_t::default();
    let mut instance = std::ptr::null_mut();
    // SAFETY: `options` is initialised by IREE (no driver registry: irex
    // builds its device itself); the instance is written to `instance`.
    let status = unsafe {
        sys::iree_runtime_instance_options_initialize(&mut options);
        sys::iree_runtime_instance_create(&options, system_allocator(), &mut instance)
    };
    check(status, || "creating the runtime instance".into())?;
    Ok(instance)
}

/// A provider serving the parameters of the file at `path`, mapped as
/// `map`, under `scope`. The file is handed to IREE as a host allocation
/// (the mapping), so that the CPU device imports each weight in place
/// rather than reading it into a heap buffer of its own: no copy of the
/// weights on the heap.
fn parameter_provider(
    scope: &str,
    path: &Path,
    map: &MappedFile,
) -> Result<Handle<sys::iree_io_parameter_provider_t>, IreeError> {
    let action = || format!("opening parameter file `{}`", path.display());
    let text = path.to_str().ok_or_else(|| IreeError::Runtime {
        action: action(),
        code: "INVALID_ARGUMENT",
        message: "the runtime takes UTF-8 paths only".into(),
    })?;
    let host = system_allocator();
    let mut file = Handle::empty(sys::iree_io_file_handle_release);
    let mut index = Handle::empty(sys::iree_io_parameter_index_release);
    let mut provider = Handle::empty(sys::iree_io_parameter_provider_release);
    let bytes = map.bytes();
    let mapping = sys::iree_byte_span_t {
        // IREE's span type is mutable; read-only access is declared below
        // and the mapping is read-only, so nothing writes through it.
        data: bytes.as_ptr().cast_mut(),
        data_length: bytes.len(),
    };
    let read_only = sys::iree_io_file_access_bits_t_IREE_IO_FILE_ACCESS_READ;
    // SAFETY: each create writes to our slot; the index retains the file
    // handle and the provider retains the index. The mapping outlives the
    // handle: the session (and with it every buffer) is released before
    // `Session::_parameter_maps`.
    let status = unsafe {
        let mut status = sys::iree_io_file_handle_wrap_host_allocation(
            read_only as _,
            mapping,
            sys::iree_io_file_handle_release_callback_t::default(),
            host,
            file.slot(),
        );
        if status.is_null() {
            status = sys::iree_io_parameter_index_create(host, index.slot());
        }
        if status.is_null() {
            status =
                sys::iree_io_parse_file_index(string_view(text), file.get(), index.get(), host);
        }
        if status.is_null() {
            status = sys::iree_io_parameter_index_provider_create(
                string_view(scope),
                index.get(),
                sys::IREE_IO_PARAMETER_INDEX_PROVIDER_DEFAULT_MAX_CONCURRENT_OPERATIONS as _,
                host,
                provider.slot(),
            );
        }
        status
    };
    check(status, action)?;
    Ok(provider)
}
