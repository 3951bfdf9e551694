//! `irex_options_t`: how a model is exported or imported, as an opaque
//! handle with one setter an option, so that options can be added without
//! breaking the ABI and every value is checked where it is set.

use std::ffi::c_char;

use irex::export::ExportOptions;
use irex::hlo::ConstantMaterializationPolicy;
use irex::iree::CompileOptions;
use irex::models::QuantMode;

use crate::boundary::{
    Failure, guard, guard_pointer, hand_out, handle, handle_mut, irex_status, path, require_length,
    text,
};
use crate::model::open_model;

/// The longest sequence and the largest batch a function may be built for;
/// beyond them a module's activations alone would not fit a machine.
const MAX_SEQUENCE_LENGTH: u64 = 1 << 20;
const MAX_BATCH: u64 = 1 << 12;

/// How a model is exported or imported (irex::export::ExportOptions).
pub struct Options {
    pub(crate) export: ExportOptions,
}

/// Makes options with every value at irex's default (the model's policy,
/// quant mode and sequence length; `llvm-cpu` for the host; compile the
/// `.vmfb`). Returns null only if irex failed internally.
#[unsafe(no_mangle)]
pub extern "C" fn irex_options_create() -> *mut Options {
    guard_pointer(|| {
        Ok(Box::new(Options {
            export: ExportOptions::default(),
        }))
    })
}

/// Destroys options made by `irex_options_create`; null is ignored.
///
/// # Safety
/// `options` is null or a live handle, destroyed at most once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_destroy(options: *mut Options) {
    if !options.is_null() {
        // SAFETY: the caller's contract: made by `Box::into_raw`, live.
        drop(unsafe { Box::from_raw(options) });
    }
}

/// Runs `set` on the options behind `options`, reading `value` as a string.
///
/// # Safety
/// `options` is null or live; `value` is null or a NUL-terminated string.
unsafe fn set_text(
    options: *mut Options,
    value: *const c_char,
    what: &str,
    set: impl FnOnce(&mut Options, &str) -> Result<(), Failure>,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let options = unsafe { handle_mut(options, "options") }?;
        // SAFETY: the caller's contract.
        let value = unsafe { text(value, what) }?;
        set(options, value)
    })
}

/// Where weights go: `inline`, `external` or `threshold=BYTES`.
///
/// # Safety
/// `options` is null or live; `policy` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_policy(
    options: *mut Options,
    policy: *const c_char,
) -> irex_status {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        set_text(options, policy, "policy", |options, value| {
            let policy = value.parse::<ConstantMaterializationPolicy>();
            options.export.policy = Some(policy.map_err(Failure::invalid)?);
            Ok(())
        })
    }
}

/// How block-quantized GGUF weights reach the module: `packed`,
/// `packed-exact`, `dequant` or `dequant-f16`.
///
/// # Safety
/// As `irex_options_set_policy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_quant(
    options: *mut Options,
    quant: *const c_char,
) -> irex_status {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        set_text(options, quant, "quant", |options, value| {
            options.export.quant = Some(value.parse::<QuantMode>().map_err(Failure::invalid)?);
            Ok(())
        })
    }
}

/// The parameter scope of external weights (default `model`).
///
/// # Safety
/// As `irex_options_set_policy`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_scope(
    options: *mut Options,
    scope: *const c_char,
) -> irex_status {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        set_text(options, scope, "scope", |options, value| {
            if value.is_empty() {
                return Err(Failure::invalid("scope is empty"));
            }
            options.export.scope = value.into();
            Ok(())
        })
    }
}

/// The fixed sequence length of the functions, 1 to 1048576.
///
/// # Safety
/// `options` is null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_sequence_length(
    options: *mut Options,
    length: u64,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let options = unsafe { handle_mut(options, "options") }?;
        options.export.sequence_length =
            Some(in_range(length, MAX_SEQUENCE_LENGTH, "sequence length")?);
        Ok(())
    })
}

/// The batch size of the functions, 1 to 4096.
///
/// # Safety
/// `options` is null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_batch(options: *mut Options, batch: u64) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let options = unsafe { handle_mut(options, "options") }?;
        options.export.batch = Some(in_range(batch, MAX_BATCH, "batch")?);
        Ok(())
    })
}

fn in_range(value: u64, most: u64, what: &str) -> Result<u64, Failure> {
    if (1..=most).contains(&value) {
        Ok(value)
    } else {
        Err(Failure::invalid(format!(
            "{what} {value} is out of range 1..={most}"
        )))
    }
}

/// The compile target: `llvm-cpu`, `cuda`, `vulkan` (or `vulkan-spirv`),
/// `rocm` (or `hip`), and its CPU or GPU architecture (null: the target's
/// default, `host` for `llvm-cpu`).
///
/// # Safety
/// `options` is null or live; `target` is null or a NUL-terminated string;
/// `cpu` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_target(
    options: *mut Options,
    target: *const c_char,
    cpu: *const c_char,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let options = unsafe { handle_mut(options, "options") }?;
        // SAFETY: the caller's contract.
        let target = unsafe { text(target, "target") }?;
        let cpu = if cpu.is_null() {
            None
        } else {
            // SAFETY: the caller's contract; not null.
            Some(unsafe { text(cpu, "target cpu") }?.to_string())
        };
        let compile = CompileOptions {
            target: target.into(),
            target_cpu: cpu,
            ..options.export.compile.clone()
        };
        check_flags(&compile)?;
        options.export.compile = compile;
        Ok(())
    })
}

/// Adds a flag of IREE's compiler (`--iree-opt-level=O3`), checked now by
/// IREE's own option parser: an unknown flag or value fails with its
/// message.
///
/// # Safety
/// `options` is null or live; `flag` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_add_iree_flag(
    options: *mut Options,
    flag: *const c_char,
) -> irex_status {
    // SAFETY: the caller's contract, passed on.
    unsafe {
        set_text(options, flag, "flag", |options, value| {
            let mut compile = options.export.compile.clone();
            compile.extra_flags.push(value.into());
            check_flags(&compile)?;
            options.export.compile = compile;
            Ok(())
        })
    }
}

/// Whether `irex_export` compiles the `.vmfb` (default: yes).
///
/// # Safety
/// `options` is null or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_set_compile(
    options: *mut Options,
    compile: bool,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let options = unsafe { handle_mut(options, "options") }?;
        options.export.selection.vmfb = compile;
        Ok(())
    })
}

/// Writes the compiler session flags irex uses for these options' target,
/// one a line, NUL-terminated: a host that compiles an imported module
/// (`irex_import`) sets them on its own session to get what `irex_export`
/// gets. With `model` (a path; may be null) they are that model's: a GGUF
/// whose weights stay packed takes IREE's dispatch-creation data tiling,
/// which keeps its integer contractions at 4 bits, and every other graph
/// the global-optimization one. Sizes as every variable-size result (see
/// `irex.h`).
///
/// # Safety
/// `options` is null or live; `model` is null or a NUL-terminated string;
/// `buffer` is null or writable for `capacity` bytes; `length` is null or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_options_compile_flags(
    options: *const Options,
    model: *const c_char,
    buffer: *mut c_char,
    capacity: usize,
    length: *mut usize,
) -> irex_status {
    guard(|| {
        require_length(length)?;
        // SAFETY: the caller's contract.
        let options = unsafe { handle(options, "options") }?;
        let compile = if model.is_null() {
            options.export.compile.clone()
        } else {
            // SAFETY: the caller's contract.
            let model = open_model(&unsafe { path(model, "model path") }?)?;
            options
                .export
                .compile_options(model.as_ref())
                .map_err(|error| Failure::from(irex::Error::from(error)))?
        };
        let flags = compile.session_flags().join("\n");
        // SAFETY: the caller's contract, passed on.
        unsafe { hand_out(flags.as_bytes(), true, buffer.cast(), capacity, length) }
    })
}

/// Sets `compile`'s flags on a scratch session, so IREE's parser judges
/// them when they are given rather than at the end of an export.
fn check_flags(compile: &CompileOptions) -> Result<(), Failure> {
    compile
        .session()
        .map(drop)
        .map_err(|error| Failure::from(irex::Error::from(error)))
}

/// The export options behind `options`, or the defaults for null.
///
/// # Safety
/// `options` is null or live.
pub(crate) unsafe fn export_options(options: *const Options) -> ExportOptions {
    // SAFETY: the caller's contract.
    unsafe { options.as_ref() }
        .map_or_else(ExportOptions::default, |options| options.export.clone())
}
