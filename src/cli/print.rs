//! `irex print`: read MLIR text or bytecode and print it as text.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use irex::hlo::{PrintOptions, lower_uniform_quantization, parse_module, print_module_bytes};
use irex::iree::CompileOptions;
use irex::tensor::MappedFile;

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
    super::refuse_non_mlir(&args.input)?;
    let mapped = MappedFile::open(&args.input)
        .with_context(|| format!("reading `{}`", args.input.display()))?;
    let bytes = mapped.bytes();
    let session = CompileOptions::default().session()?;
    let context = session.context()?;
    let module = parse_module(context, bytes, &args.input.display().to_string())?;
    if args.lower_quant {
        lower_uniform_quantization(context, &module)?;
    }
    let options = PrintOptions {
        locations: args.locations,
    };
    super::print_bytes(&print_module_bytes(&module, options))
}
