//! IREE's `local-task` CPU device, built by hand rather than through the
//! driver registry so that irex chooses its thread count and wraps its
//! allocator in IREE's caching allocator (which the registry's driver
//! does not).

use irex_runtime_sys as sys;

use super::handle::Handle;
use super::status::{check, string_view, system_allocator};
use crate::iree::IreeError;

/// A CPU device with `threads` worker threads (at least one).
pub(super) fn cpu_device(threads: usize) -> Result<Handle<sys::iree_hal_device_t>, IreeError> {
    let host = system_allocator();
    let executor = task_executor(threads.max(1))?;
    let loader = embedded_elf_loader()?;
    let allocator = caching_allocator()?;
    let pool = proactor_pool()?;
    let mut params = sys::iree_hal_task_device_params_t::default();
    // SAFETY: `params` is a plain struct IREE fills with its defaults.
    unsafe { sys::iree_hal_task_device_params_initialize(&mut params) };
    let create_params = sys::iree_hal_device_create_params_t {
        proactor_pool: pool.get(),
        ..Default::default()
    };
    let mut device = Handle::empty(sys::iree_hal_device_release);
    let mut loaders = [loader.get()];
    let executors = [executor.get()];
    // SAFETY: every handle passed is live; the device retains what it
    // keeps (executor, loader, allocator, pool), so ours go at scope end.
    let status = unsafe {
        sys::iree_hal_task_device_create(
            string_view("local-task"),
            &params,
            1,
            executors.as_ptr(),
            1,
            loaders.as_mut_ptr(),
            allocator.get(),
            &create_params,
            host,
            device.slot(),
        )
    };
    check(status, || "creating the local-task CPU device".into())?;
    Ok(device)
}

/// The thread pool the device schedules dispatches on.
fn task_executor(threads: usize) -> Result<Handle<sys::iree_task_executor_t>, IreeError> {
    let mut topology = sys::iree_task_topology_t::default();
    let mut options = sys::iree_task_executor_options_t::default();
    let mut executor = Handle::empty(sys::iree_task_executor_release);
    // SAFETY: `topology` and `options` are plain structs IREE initialises;
    // the topology is only read during creation and deinitialised after.
    let status = unsafe {
        sys::iree_task_topology_initialize_from_group_count(threads, &mut topology);
        sys::iree_task_executor_options_initialize(&mut options);
        let status =
            sys::iree_task_executor_create(options, &topology, system_allocator(), executor.slot());
        sys::iree_task_topology_deinitialize(&mut topology);
        status
    };
    check(status, || {
        format!("creating a task executor with {threads} threads")
    })?;
    Ok(executor)
}

/// Loads the embedded-ELF executables IREE's `llvm-cpu` target produces.
fn embedded_elf_loader() -> Result<Handle<sys::iree_hal_executable_loader_t>, IreeError> {
    let mut loader = Handle::empty(sys::iree_hal_executable_loader_release);
    // SAFETY: a null plugin manager means no imports beyond IREE's own,
    // which the loader supports; the loader is written to our slot.
    let status = unsafe {
        sys::iree_hal_embedded_elf_loader_create(
            std::ptr::null_mut(),
            system_allocator(),
            loader.slot(),
        )
    };
    check(status, || "creating the embedded ELF loader".into())?;
    Ok(loader)
}

/// A heap allocator behind IREE's unbounded caching allocator: freed
/// buffers are kept for reuse by the next call of the same shape.
fn caching_allocator() -> Result<Handle<sys::iree_hal_allocator_t>, IreeError> {
    let host = system_allocator();
    let mut heap = Handle::empty(sys::iree_hal_allocator_release);
    let mut caching = Handle::empty(sys::iree_hal_allocator_release);
    // SAFETY: both allocators are written to our slots; the caching one
    // retains the heap allocator it wraps.
    let status = unsafe {
        let status =
            sys::iree_hal_allocator_create_heap(string_view("local"), host, host, heap.slot());
        if status.is_null() {
            sys::iree_hal_caching_allocator_create_unbounded(heap.get(), host, caching.slot())
        } else {
            status
        }
    };
    check(status, || "creating the device allocator".into())?;
    Ok(caching)
}

/// The asynchronous I/O workers IREE 3.13's devices require.
fn proactor_pool() -> Result<Handle<sys::iree_async_proactor_pool_t>, IreeError> {
    let mut pool = Handle::empty(sys::iree_async_proactor_pool_release);
    // SAFETY: default options, no explicit NUMA node ids (null), the pool
    // is written to our slot.
    let status = unsafe {
        sys::iree_async_proactor_pool_create(
            sys::iree_numa_node_count(),
            std::ptr::null(),
            sys::iree_async_proactor_pool_options_default(),
            system_allocator(),
            pool.slot(),
        )
    };
    check(status, || "creating the I/O proactor pool".into())?;
    Ok(pool)
}
