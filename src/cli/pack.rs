//! `irex pack`: checkpoints to one `.irpa`, like `iree-convert-parameters`.

use std::path::{Path, PathBuf};

use clap::Args;

/// Arguments of `irex pack`.
#[derive(Args)]
pub struct PackArgs {
    /// GGUF files, safetensors files, shard indexes or folders holding either.
    #[arg(required = true)]
    sources: Vec<PathBuf>,
    /// The archive to write.
    #[arg(short, long)]
    output: PathBuf,
}

/// Runs `irex pack`.
pub fn run(args: PackArgs) -> anyhow::Result<()> {
    let sources: Vec<&Path> = args.sources.iter().map(PathBuf::as_path).collect();
    let plan = irex::formats::pack::pack(&sources, &args.output)?;
    eprintln!(
        "irex: wrote {} entries, {} bytes, to `{}`",
        plan.entry_count,
        plan.file_size,
        args.output.display()
    );
    Ok(())
}
