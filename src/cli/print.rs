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

/// Arguments of the hidden `irex __parse`.
#[derive(Args)]
pub struct ParseArgs {
    /// An .mlir or .mlirbc file.
    input: PathBuf,
}

/// Parses the file and exits 0, or 1 when it does not parse; a crash of
/// MLIR's reader ends this process instead of the one that asked.
pub fn parse_only(args: ParseArgs) -> std::process::ExitCode {
    let parsed = (|| -> anyhow::Result<()> {
        let mapped = MappedFile::open(&args.input)?;
        let session = CompileOptions::default().session()?;
        parse_module(session.context()?, mapped.bytes(), "input")?;
        Ok(())
    })();
    match parsed {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(_) => std::process::ExitCode::FAILURE,
    }
}
