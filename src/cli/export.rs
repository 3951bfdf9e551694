//! `irex export`: build a module, verify it, write its outputs.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use irex::formats::irpa::write_archive;
use irex::hlo::{
    ConstantMaterializationPolicy, ModuleBuilder, PrintOptions, archive_entries, print_module,
};
use irex::iree::{CompileOptions, compile_module};
use irex::melior::ir::operation::OperationLike;
use irex::models::tutorial::{Example, SCOPE};

/// What `-o` receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// MLIR text.
    Text,
    /// MLIR bytecode.
    Bytecode,
}

/// Arguments of `irex export`.
#[derive(Args)]
pub struct ExportArgs {
    /// A built-in example graph: affine, linear, uniform-linear, mismatched-add.
    #[arg(long, value_parser = parse_example)]
    example: Example,
    /// Where weights go: inline, external, or threshold=BYTES (external from that size up).
    #[arg(long, default_value = "inline")]
    policy: ConstantMaterializationPolicy,
    /// Parameter scope of external weights.
    #[arg(long, default_value = SCOPE)]
    scope: String,
    /// Output form for -o.
    #[arg(long, value_enum, default_value = "text")]
    emit: Emit,
    /// Print op locations in text output.
    #[arg(long)]
    locations: bool,
    /// MLIR output path, or - for stdout.
    #[arg(short, long)]
    output: PathBuf,
    /// Also write the external weights to this .irpa.
    #[arg(long)]
    irpa: Option<PathBuf>,
    /// Also compile to this .vmfb.
    #[arg(long)]
    vmfb: Option<PathBuf>,
    /// Target backend for --vmfb: llvm-cpu, cuda, rocm, vulkan-spirv.
    #[arg(long, default_value = "llvm-cpu")]
    target: String,
    /// Target CPU (llvm-cpu, default host) or GPU architecture (cuda, default sm_80).
    #[arg(long)]
    target_cpu: Option<String>,
}

fn parse_example(name: &str) -> Result<Example, String> {
    Example::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Example::ALL.iter().map(|example| example.name()).collect();
        format!("unknown example `{name}`; one of: {}", names.join(", "))
    })
}

/// Runs `irex export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let options = CompileOptions {
        target: args.target.clone(),
        target_cpu: args.target_cpu.clone(),
        extra_flags: Vec::new(),
    };
    let session = options.session()?;
    let context = session.context()?;
    let module_name = args.example.name().replace('-', "_");
    let mut builder = ModuleBuilder::new(context, &module_name, args.policy, &args.scope);
    args.example.build(&mut builder)?;
    let converted = builder.finish()?;
    let bytes = match args.emit {
        Emit::Text => print_module(
            &converted.module,
            PrintOptions {
                locations: args.locations,
            },
        )
        .into_bytes(),
        Emit::Bytecode => converted.module.as_operation().write_bytecode(),
    };
    super::write_output(&args.output, &bytes)?;
    match (&args.irpa, converted.parameters.is_empty()) {
        (Some(path), _) => {
            write_archive(path, &archive_entries(&converted.parameters))?;
        }
        (None, false) => eprintln!(
            "irex: {} external parameters not written (pass --irpa PATH)",
            converted.parameters.len()
        ),
        (None, true) => {}
    }
    if let Some(path) = &args.vmfb {
        compile_module(&session, &converted.module, path)
            .with_context(|| format!("compiling `{}`", path.display()))?;
    }
    Ok(())
}
