//! The compile-target flags `irex export` and `irex compile` share: the
//! target, its CPU or GPU, and IREE compiler flags passed through as they
//! are (checked by IREE's own option parser when the session is made).

use clap::Args;
use irex::iree::CompileOptions;

/// Target and IREE compiler flags.
#[derive(Args)]
pub struct TargetArgs {
    /// Target backend: llvm-cpu, cuda, rocm (or hip), vulkan (or vulkan-spirv).
    #[arg(long, default_value = "llvm-cpu")]
    target: String,
    /// Target CPU (llvm-cpu, default host) or GPU architecture (cuda,
    /// default sm_80; rocm, default gfx942).
    #[arg(long)]
    target_cpu: Option<String>,
    /// A flag of IREE's compiler, passed through (repeatable):
    /// `--iree-flag=--iree-opt-level=O3`. Everything after `--` is passed
    /// the same way. IREE's option parser checks them; the manifest
    /// records them.
    #[arg(long = "iree-flag", value_name = "FLAG", allow_hyphen_values = true)]
    iree_flags: Vec<String>,
    /// IREE compiler flags after `--`.
    #[arg(last = true, value_name = "IREE_FLAGS")]
    after_dashes: Vec<String>,
}

impl TargetArgs {
    /// The compile options these flags ask for.
    pub fn compile_options(&self) -> CompileOptions {
        CompileOptions {
            target: self.target.clone(),
            target_cpu: self.target_cpu.clone(),
            extra_flags: self
                .iree_flags
                .iter()
                .chain(&self.after_dashes)
                .cloned()
                .collect(),
            ..CompileOptions::default()
        }
    }
}
