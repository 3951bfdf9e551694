//! `irex compile`: compile MLIR text or bytecode to a `.vmfb` in-process.

use std::path::PathBuf;

use clap::Args;
use irex::export::compile_file;
use irex::iree::CompileOptions;

/// Arguments of `irex compile`.
#[derive(Args)]
pub struct CompileArgs {
    /// An .mlir or .mlirbc file.
    input: PathBuf,
    /// The .vmfb to write.
    #[arg(short, long)]
    output: PathBuf,
    /// Target backend: llvm-cpu, cuda, rocm, vulkan-spirv.
    #[arg(long, default_value = "llvm-cpu")]
    target: String,
    /// Target CPU (llvm-cpu, default host) or GPU architecture (cuda, default sm_80).
    #[arg(long)]
    target_cpu: Option<String>,
}

/// Runs `irex compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    super::refuse_non_mlir(&args.input)?;
    let options = CompileOptions {
        target: args.target,
        target_cpu: args.target_cpu,
        ..CompileOptions::default()
    };
    compile_file(&options, &args.input, &args.output)?;
    Ok(())
}
