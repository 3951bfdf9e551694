//! `irex print`: read MLIR text or bytecode and print it as text.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use irex::hlo::{PrintOptions, lower_uniform_quantization, parse_module, print_module};
use irex::iree::CompileOptions;

/// Arguments of `irex print`.
#[derive(Args)]
pub struct PrintArgs {
    /// An .mlir or .mlirbc file.
    input: PathBuf,
    /// Print op locations.
    #[arg(long)]
    locations: bool,
    /// Print the module as irex hands it to IREE: `!quant.uniform` weights
    /// lowered to integer arithmetic.
    #[arg(long)]
    lower_quant: bool,
}

/// Runs `irex print`.
pub fn run(args: PrintArgs) -> anyhow::Result<()> {
    let bytes = std::fs::read(&args.input)
        .with_context(|| format!("reading `{}`", args.input.display()))?;
    let session = CompileOptions::default().session()?;
    let context = session.context()?;
    let module = parse_module(context, &bytes, &args.input.display().to_string())?;
    if args.lower_quant {
        lower_uniform_quantization(context, &module)?;
    }
    let text = print_module(
        &module,
        PrintOptions {
            locations: args.locations,
        },
    );
    super::write_output(std::path::Path::new("-"), text.as_bytes())
}
