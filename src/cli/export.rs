//! `irex export`: build a module, verify it, write its outputs.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use irex::export::{ArtifactSelection, compile_to_vmfb};
use irex::formats::irpa::write_archive;
use irex::hlo::{
    ConstantMaterializationPolicy, ModuleBuilder, PrintOptions, archive_entries, print_module,
};
use irex::iree::CompileOptions;
use irex::melior::ir::operation::OperationLike;
use irex::models::bert::{self, ExportOptions};
use irex::models::llama;
use irex::models::tutorial::{Example, SCOPE};

/// Which MLIR form to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// MLIR text.
    Text,
    /// MLIR bytecode.
    Bytecode,
    /// Both (model folders only).
    Both,
}

/// Arguments of `irex export`.
#[derive(Args)]
pub struct ExportArgs {
    /// A model: a llama GGUF file, or a sentence-transformers BERT folder
    /// (model.safetensors); -o is then the output folder.
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    model: Option<PathBuf>,
    /// A built-in example graph instead: affine, linear, uniform-linear, mismatched-add.
    #[arg(long, value_parser = parse_example)]
    example: Option<Example>,
    /// Where weights go: inline, external, or threshold=BYTES (external from
    /// that size up). Default: inline for examples, external for models.
    #[arg(long)]
    policy: Option<ConstantMaterializationPolicy>,
    /// Sequence length of a model's functions (BERT).
    #[arg(long, default_value_t = 128)]
    seq_len: u64,
    /// Fixed length of `prefill` (GGUF llama models).
    #[arg(long, default_value_t = 64)]
    max_seq_len: u64,
    /// Block-quantized GGUF weights: packed (verbatim blocks, unpacked in the
    /// module), dequant (f32 at export) or dequant-f16.
    #[arg(long, default_value = "packed")]
    quant: llama::QuantMode,
    /// Batch size of a model's functions.
    #[arg(long, default_value_t = 1)]
    batch: u64,
    /// Write MLIR only, do not compile a .vmfb (model folders).
    #[arg(long)]
    no_compile: bool,
    /// Parameter scope of external weights.
    #[arg(long, default_value = SCOPE)]
    scope: String,
    /// MLIR form: for examples what -o receives (default text), for models
    /// which of model.mlir / model.mlirbc to write (default bytecode).
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// Print op locations in text output.
    #[arg(long)]
    locations: bool,
    /// Examples: the MLIR output path, or - for stdout. Models: the output folder.
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
    match (&args.example, &args.model) {
        (Some(example), _) => export_example(*example, &args),
        (None, Some(model))
            if irex::formats::detect::detect(model)
                .is_ok_and(|kind| kind == irex::formats::detect::SourceKind::Gguf) =>
        {
            export_llama(model, &args)
        }
        (None, Some(model)) => export_model(model, &args),
        (None, None) => bail!("name a model folder or --example"),
    }
}

fn compile_options(args: &ExportArgs) -> CompileOptions {
    CompileOptions {
        target: args.target.clone(),
        target_cpu: args.target_cpu.clone(),
        extra_flags: Vec::new(),
    }
}

fn export_model(folder: &Path, args: &ExportArgs) -> anyhow::Result<()> {
    let options = ExportOptions {
        policy: args
            .policy
            .unwrap_or(ConstantMaterializationPolicy::ExternalAlways),
        sequence_length: args.seq_len,
        batch: args.batch,
        compile: compile_options(args),
        selection: selection(args),
    };
    eprintln!(
        "irex: exporting `{}` to `{}`",
        folder.display(),
        args.output.display()
    );
    let manifest = bert::export(folder, &args.output, &options)
        .with_context(|| format!("exporting `{}`", folder.display()))?;
    report(&manifest, &args.output);
    Ok(())
}

fn selection(args: &ExportArgs) -> ArtifactSelection {
    let emit = args.emit.unwrap_or(Emit::Bytecode);
    ArtifactSelection {
        text: matches!(emit, Emit::Text | Emit::Both),
        bytecode: matches!(emit, Emit::Bytecode | Emit::Both),
        vmfb: !args.no_compile,
        locations: args.locations,
    }
}

fn report(manifest: &irex::formats::manifest::Manifest, out: &Path) {
    for file in [
        &manifest.mlir_text,
        &manifest.mlir_bytecode,
        &manifest.parameters,
        &manifest.module,
        &manifest.tokenizer,
    ]
    .into_iter()
    .flatten()
    {
        eprintln!("irex: wrote {}", out.join(file).display());
    }
}

fn export_llama(path: &Path, args: &ExportArgs) -> anyhow::Result<()> {
    let options = llama::LlamaExportOptions {
        max_sequence_length: args.max_seq_len,
        quant: args.quant,
        compile: compile_options(args),
        selection: selection(args),
    };
    eprintln!(
        "irex: exporting `{}` to `{}`",
        path.display(),
        args.output.display()
    );
    let manifest = llama::export(path, &args.output, &options)
        .with_context(|| format!("exporting `{}`", path.display()))?;
    report(&manifest, &args.output);
    Ok(())
}

fn export_example(example: Example, args: &ExportArgs) -> anyhow::Result<()> {
    let options = compile_options(args);
    let session = options.session()?;
    let context = session.context()?;
    let module_name = example.name().replace('-', "_");
    let policy = args.policy.unwrap_or_default();
    let mut builder = ModuleBuilder::new(context, &module_name, policy, &args.scope);
    example.build(&mut builder)?;
    let converted = builder.finish()?;
    let bytes = match args.emit.unwrap_or(Emit::Text) {
        Emit::Text => print_module(
            &converted.module,
            PrintOptions {
                locations: args.locations,
            },
        )
        .into_bytes(),
        Emit::Bytecode => converted.module.as_operation().write_bytecode(),
        Emit::Both => bail!("--emit both needs a model folder; examples write one form to -o"),
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
        compile_to_vmfb(&session, &converted.module, path)
            .with_context(|| format!("compiling `{}`", path.display()))?;
    }
    Ok(())
}
