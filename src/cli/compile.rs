//! `irex compile`: compile MLIR text or bytecode to a `.vmfb` in-process.

use std::path::PathBuf;

use clap::Args;
use irex::export::compile_file;

use super::target::TargetArgs;

/// Arguments of `irex compile`.
#[derive(Args)]
pub struct CompileArgs {
    /// An .mlir or .mlirbc file.
    input: PathBuf,
    /// The .vmfb to write.
    #[arg(short, long)]
    output: PathBuf,
    #[command(flatten)]
    target: TargetArgs,
}

/// Runs `irex compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    super::refuse_non_mlir(&args.input)?;
    let options = args.target.compile_options();
    compile_file(&options, &args.input, &args.output)?;
    Ok(())
}
