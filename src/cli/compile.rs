//! `irex compile`: compile MLIR text or bytecode to a `.vmfb` in-process.

use std::path::PathBuf;

use clap::Args;
use irex::export::{commands, compile_file};

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
    /// Also print the `iree-compile` line that does the same with IREE's
    /// own tool.
    #[arg(long)]
    print_commands: bool,
}

/// Runs `irex compile`.
pub fn run(args: CompileArgs) -> anyhow::Result<()> {
    super::refuse_non_mlir(&args.input)?;
    let options = args.target.compile_options();
    // Judged before compiling: the compiler rewrites the module.
    let lower_first = args.print_commands && super::equivalent::needs_lowering(&args.input)?;
    compile_file(&options, &args.input, &args.output)?;
    if args.print_commands {
        let line =
            commands::iree_compile_line(&args.input, &options.portable_flags(), &args.output);
        super::equivalent::print(&commands::shell_script(&[line], lower_first), false)?;
    }
    Ok(())
}
