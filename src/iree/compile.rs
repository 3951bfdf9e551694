//! Compiling modules to `.vmfb` in-process.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use melior::ir::Module;

use super::{Invocation, IreeError, Output, Session};
use crate::output::AtomicFile;

/// Where and how a module is compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileOptions {
    /// HAL target backend: `llvm-cpu` (default), `cuda`, `vulkan` (or
    /// `vulkan-spirv`), `rocm` (or `hip`).
    pub target: String,
    /// CPU for `llvm-cpu` (`host` by default), GPU architecture for `cuda`
    /// (`sm_80`) and `rocm` (`gfx942`).
    pub target_cpu: Option<String>,
    /// Further session flags, passed through as they are.
    pub extra_flags: Vec<String>,
    /// Which of IREE's data-tiling paths `llvm-cpu` compiles take.
    pub data_tiling: DataTiling,
}

/// IREE's two CPU data-tiling paths; each is the better for some modules
/// (ARCHITECTURE.md, "Known limits").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DataTiling {
    /// `--iree-global-opt-data-tiling`: float weights are re-laid once at
    /// load with no second copy (SmolLM2 dequant: 1.2 GB peak RSS against
    /// 2.2 GB on the other path).
    #[default]
    GlobalOptimization,
    /// `--iree-dispatch-creation-data-tiling`: the one that keeps integer
    /// contractions over packed 4-bit weights at 4 bits (SmolLM2 Q4_1
    /// decode 33 ms against 44 ms; the global path widens the weight to
    /// i32 on every call).
    DispatchCreation,
}

impl DataTiling {
    fn flag(self) -> &'static str {
        match self {
            Self::GlobalOptimization => "--iree-global-opt-data-tiling",
            Self::DispatchCreation => "--iree-dispatch-creation-data-tiling",
        }
    }
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            target: "llvm-cpu".into(),
            target_cpu: None,
            extra_flags: Vec::new(),
            data_tiling: DataTiling::default(),
        }
    }
}

impl CompileOptions {
    /// Returns the session flags that select the target.
    pub fn session_flags(&self) -> Vec<String> {
        let cpu = self.target_cpu.as_deref();
        let mut flags = match self.target.as_str() {
            "llvm-cpu" => {
                let mut flags = vec![
                    "--iree-hal-target-device=local".to_string(),
                    "--iree-hal-local-target-device-backends=llvm-cpu".to_string(),
                    format!("--iree-llvmcpu-target-cpu={}", cpu.unwrap_or("host")),
                    // Data tiling: SmolLM2's prefill 27x and decode 4-9x
                    // faster than untiled, logits unchanged.
                    self.data_tiling.flag().to_string(),
                ];
                if let Some(linker) = embedded_linker() {
                    flags.push(format!(
                        "--iree-llvmcpu-embedded-linker-path={}",
                        linker.display()
                    ));
                }
                flags
            }
            "cuda" => vec![
                "--iree-hal-target-device=cuda".to_string(),
                format!("--iree-cuda-target={}", cpu.unwrap_or("sm_80")),
            ],
            "rocm" | "hip" => {
                let mut flags = vec![
                    "--iree-hal-target-device=hip".to_string(),
                    format!("--iree-rocm-target={}", cpu.unwrap_or("gfx942")),
                ];
                if let Some(bitcode) = rocm_bitcode() {
                    flags.push(format!("--iree-rocm-bc-dir={}", bitcode.display()));
                }
                flags
            }
            "vulkan" | "vulkan-spirv" => vec!["--iree-hal-target-device=vulkan".to_string()],
            other => vec![format!("--iree-hal-target-backends={other}")],
        };
        flags.extend(self.extra_flags.iter().cloned());
        flags
    }

    /// The session flags without the paths of this machine that irex adds
    /// (the embedded linker, the ROCm bitcode): what a manifest records and
    /// what an `iree-compile` command line needs, since `iree-compile` finds
    /// both beside itself.
    pub fn portable_flags(&self) -> Vec<String> {
        self.session_flags()
            .into_iter()
            .filter(|flag| !is_machine_path_flag(flag))
            .collect()
    }

    /// Creates a session configured for this target.
    pub fn session(&self) -> Result<Session, IreeError> {
        let mut session = Session::new()?;
        session.set_flags(&self.session_flags())?;
        Ok(session)
    }

    /// Returns the runtime device `iree-run-module` should use for the target.
    pub fn runtime_device(&self) -> &'static str {
        match self.target.as_str() {
            "cuda" => "cuda",
            "rocm" | "hip" => "hip",
            "vulkan" | "vulkan-spirv" => "vulkan",
            _ => "local-task",
        }
    }
}

/// Whether `flag` is one irex adds to point IREE's compiler at a file of
/// this machine.
fn is_machine_path_flag(flag: &str) -> bool {
    [
        "--iree-llvmcpu-embedded-linker-path=",
        "--iree-rocm-bc-dir=",
    ]
    .iter()
    .any(|prefix| flag.starts_with(prefix))
}

/// Returns the `iree-lld` that ships beside the loaded `libIREECompiler.so`.
///
/// The compiler looks for its embedded linker relative to the running
/// executable, which is irex, not a tool of the wheel; so irex points it at
/// the one next to the library it actually loaded.
fn embedded_linker() -> Option<PathBuf> {
    if std::env::var_os("IREE_LLVM_EMBEDDED_LINKER_PATH").is_some() {
        return None;
    }
    let linker = loaded_compiler_library()?.parent()?.join("iree-lld");
    linker.is_file().then_some(linker)
}

/// The ROCm device libraries (`ocml.bc`, `ockl.bc`) that ship beside the
/// loaded `libIREECompiler.so`: the compiler looks for them relative to the
/// running executable, as for `iree-lld`, and irex is not `iree-compile`.
fn rocm_bitcode() -> Option<PathBuf> {
    let folder = loaded_compiler_library()?
        .parent()?
        .join("iree_platform_libs/rocm");
    folder.join("ocml.bc").is_file().then_some(folder)
}

/// The folder of the `libIREECompiler.so` this process loaded, where its
/// tools are (`iree-lld`, `iree-compile`). IREE's ROCm target looks for
/// `iree-lld` only beside the running executable and on `PATH`, so the
/// `irex` command adds this folder to its `PATH` at start.
pub fn compiler_tools_folder() -> Option<PathBuf> {
    Some(loaded_compiler_library()?.parent()?.to_path_buf())
}

/// The real path of the `libIREECompiler.so` this process loaded (through
/// any symlink), asked of the dynamic loader: where irex finds the tools
/// that ship with it, wherever the library was found.
pub(super) fn loaded_compiler_library() -> Option<PathBuf> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let symbol = super::ffi::ireeCompilerGetAPIVersion as *const libc::c_void;
    // SAFETY: dladdr only reads the address and fills `info`.
    let found = unsafe { libc::dladdr(symbol, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr succeeded, so `info` is initialised.
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated path owned by the dynamic loader.
    let library = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    std::fs::canonicalize(std::ffi::OsStr::from_bytes(library.to_bytes())).ok()
}

/// Compiles `module` (built in `session`'s context) to a `.vmfb` at `path`.
///
/// The module is handed over in memory (no serialisation) and mutated by the
/// pipeline: write any MLIR output of it before compiling. The `.vmfb`
/// appears under `path` only when complete; a failure leaves nothing there.
pub fn compile_module(
    session: &Session,
    module: &Module<'_>,
    path: &Path,
) -> Result<(), IreeError> {
    let mut invocation = Invocation::new(session)?;
    invocation.import_module(module)?;
    invocation.run_pipeline()?;
    write_vmfb(&mut invocation, path)
}

fn write_vmfb(invocation: &mut Invocation<'_>, path: &Path) -> Result<(), IreeError> {
    let io = |source| IreeError::Io {
        what: "writing",
        path: path.display().to_string(),
        source,
    };
    let file = AtomicFile::create(path).map_err(io)?;
    {
        let mut output = Output::open_file(file.temporary_path())?;
        invocation.write_vm_bytecode(&mut output)?;
        output.keep();
    }
    file.commit().map_err(io)
}
