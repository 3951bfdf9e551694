//! `irex export`: a model (a llama GGUF, a sentence-transformers folder) or
//! a built-in example, through the one export pipeline, into a folder
//! (module, `.irpa`, `.vmfb`, tokenizer, manifest) or, with `-o FILE` or
//! `-o -`, as one MLIR file (plus `--irpa` and `--vmfb` if asked).

use std::path::{Path, PathBuf};

use anyhow::bail;
use clap::{Args, ValueEnum};
use irex::export::{
    ArtifactSelection, DEFAULT_SCOPE, ExportOptions, Step, build_module, commands, compile_to_vmfb,
    export_folder,
};
use irex::formats::irpa::write_archive;
use irex::formats::manifest::Manifest;
use irex::hlo::{
    ConstantMaterializationPolicy, ConvertedModule, IntegerKernel, PrintOptions, archive_entries,
    function_signatures, print_module_bytes, uniform_dequantizations,
};
use irex::iree::CompileOptions;
use irex::melior::ir::operation::OperationLike;
use irex::models::QuantMode;
use irex::models::tutorial::Example;
use irex::models::{Model, ModelKind};

use super::progress::StderrProgress;
use super::target::TargetArgs;

/// Which MLIR form to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Emit {
    /// MLIR text.
    Text,
    /// MLIR bytecode.
    Bytecode,
    /// Both (folder exports only).
    Both,
}

/// Arguments of `irex export`.
#[derive(Args)]
pub struct ExportArgs {
    /// A model: a llama GGUF file, or a sentence-transformers BERT folder
    /// (model.safetensors beside config.json).
    #[arg(required_unless_present = "example", conflicts_with = "example")]
    model: Option<PathBuf>,
    /// A built-in example graph instead: affine, linear, uniform-linear,
    /// mismatched-add, int8-linear.
    #[arg(long, value_parser = parse_example)]
    example: Option<Example>,
    /// Where weights go: inline, external, or threshold=BYTES (external from
    /// that size up). Default: inline for examples, external for models.
    #[arg(long)]
    policy: Option<ConstantMaterializationPolicy>,
    /// Fixed sequence length of the model's functions (the KV cache length
    /// of a causal LM). Default: 128 for BERT, 64 for llama.
    #[arg(long, visible_alias = "max-seq-len")]
    seq_len: Option<u64>,
    /// Block-quantized GGUF weights: packed (verbatim blocks, contracted as
    /// integers in decode, unpacked exactly in prefill; the default),
    /// packed-exact (verbatim blocks, all unpacked), dequant (f32 at export)
    /// or dequant-f16.
    #[arg(long)]
    quant: Option<QuantMode>,
    /// The integer kernel of `--quant packed`: nibbles (weights resident at
    /// 4 bits; fast where IREE has its i16 × u4 kernel, AVX-512 VNNI) or
    /// bytes (one i8 per weight resident, IREE's i8 kernels). Default:
    /// nibbles on an AVX-512 VNNI host, bytes elsewhere.
    #[arg(long)]
    int_kernel: Option<IntegerKernel>,
    /// Also build `generate`, greedy generation inside the module in one call
    /// (GGUF llama; `irex generate` then uses it). Doubles the compile time.
    #[arg(long)]
    generation_loop: bool,
    /// Batch size of the model's functions (BERT; default 1).
    #[arg(long)]
    batch: Option<u64>,
    /// Write MLIR only, no .vmfb (folder exports).
    #[arg(long)]
    no_compile: bool,
    /// Parameter scope of external weights.
    #[arg(long, default_value = DEFAULT_SCOPE)]
    scope: String,
    /// MLIR form: what -o FILE or -o - receives (default text), or which of
    /// model.mlir / model.mlirbc a folder export writes (default bytecode).
    #[arg(long, value_enum)]
    emit: Option<Emit>,
    /// Print op locations in text output.
    #[arg(long)]
    locations: bool,
    /// The output folder of a model; an MLIR file for an example; - streams
    /// the module to stdout (with --irpa PATH for a model's weights).
    #[arg(short, long)]
    output: PathBuf,
    /// Write the external weights to this .irpa (file and stdout exports).
    #[arg(long)]
    irpa: Option<PathBuf>,
    /// Also compile to this .vmfb (file and stdout exports).
    #[arg(long)]
    vmfb: Option<PathBuf>,
    /// Target and IREE compiler flags of the .vmfb.
    #[command(flatten)]
    target: TargetArgs,
    /// Also print the `iree-compile` and `iree-run-module` lines that redo
    /// this export with IREE's own tools (to stdout; to stderr with -o -).
    #[arg(long)]
    print_commands: bool,
}

fn parse_example(name: &str) -> Result<Example, String> {
    Example::from_name(name).ok_or_else(|| {
        let names: Vec<&str> = Example::ALL.iter().map(|example| example.name()).collect();
        format!("unknown example `{name}`; one of: {}", names.join(", "))
    })
}

/// Runs `irex export`.
pub fn run(args: ExportArgs) -> anyhow::Result<()> {
    let mut progress = StderrProgress::new();
    let model: Box<dyn Model> = match (&args.example, &args.model) {
        (Some(example), _) => Box::new(*example),
        (None, Some(path)) => progress.run(Step::Reading, || irex::models::open(path))?,
        (None, None) => bail!("name a model (a GGUF file or a model folder) or --example"),
    };
    let options = export_options(&args);
    if writes_one_file(&args, model.as_ref()) {
        export_file(model.as_ref(), &args, &options, &mut progress)
    } else {
        refuse_file_flags(&args, model.as_ref())?;
        eprintln!(
            "irex: exporting {} `{}` to `{}`",
            model.source_description(),
            model.source(),
            args.output.display()
        );
        let manifest = export_folder(model.as_ref(), &args.output, &options, &mut progress)?;
        report(&manifest, &args.output);
        if args.print_commands {
            print_folder_commands(&manifest, &args.output)?;
        }
        Ok(())
    }
}

/// Examples and `-o -` write one MLIR file; models write a folder.
fn writes_one_file(args: &ExportArgs, model: &dyn Model) -> bool {
    args.output == Path::new("-") || model.kind() == ModelKind::Example
}

fn export_options(args: &ExportArgs) -> ExportOptions {
    let emit = args.emit.unwrap_or(Emit::Bytecode);
    ExportOptions {
        policy: args.policy,
        scope: args.scope.clone(),
        batch: args.batch,
        sequence_length: args.seq_len,
        quant: args.quant,
        generation_loop: args.generation_loop,
        kernel: args.int_kernel,
        compile: args.target.compile_options(),
        selection: ArtifactSelection {
            text: matches!(emit, Emit::Text | Emit::Both),
            bytecode: matches!(emit, Emit::Bytecode | Emit::Both),
            vmfb: !args.no_compile,
            locations: args.locations,
        },
    }
}

/// A folder export writes its own `.irpa` and `.vmfb`.
fn refuse_file_flags(args: &ExportArgs, model: &dyn Model) -> anyhow::Result<()> {
    for (flag, set) in [
        ("--irpa", args.irpa.is_some()),
        ("--vmfb", args.vmfb.is_some()),
    ] {
        if set {
            bail!(
                "{flag} does not apply to a folder export of {}: the folder gets model.irpa and model.vmfb (use -o - to stream the module and name the files)",
                model.source_description()
            );
        }
    }
    Ok(())
}

/// Builds the module and writes it to `-o` (a file, or stdout for `-`),
/// its weights to `--irpa` and its compiled form to `--vmfb`.
fn export_file(
    model: &dyn Model,
    args: &ExportArgs,
    options: &ExportOptions,
    progress: &mut StderrProgress,
) -> anyhow::Result<()> {
    if args.no_compile {
        bail!(
            "--no-compile does not apply to a one-file export of {}: it compiles only with --vmfb PATH",
            model.source_description()
        );
    }
    let emit = args.emit.unwrap_or(Emit::Text);
    if emit == Emit::Both {
        bail!("--emit both needs a folder export; -o FILE and -o - receive one form");
    }
    let compile = options.compile_options(model)?;
    let session = compile.session()?;
    let converted = build_module(model, session.context()?, options, progress)?;
    // Read before compiling: the compiler rewrites the module in place.
    let commands = args
        .print_commands
        .then(|| file_commands(args, &compile, &converted))
        .transpose()?;
    let parameters = converted.parameters.len();
    if parameters > 0 && args.irpa.is_none() && model.kind() != ModelKind::Example {
        bail!(
            "{} puts {parameters} weights in an .irpa: name it with --irpa PATH (or pass --policy inline)",
            model.source_description()
        );
    }
    let bytes = match emit {
        Emit::Bytecode => converted.module.as_operation().write_bytecode(),
        _ => print_module_bytes(
            &converted.module,
            PrintOptions {
                locations: args.locations,
            },
        ),
    };
    super::write_output(&args.output, &bytes)?;
    match &args.irpa {
        Some(path) => {
            progress.run(Step::WritingParameters, || {
                write_archive(path, &archive_entries(&converted.parameters))
            })?;
        }
        None if parameters > 0 => {
            eprintln!("irex: {parameters} external parameters not written (pass --irpa PATH)")
        }
        None => {}
    };
    if let Some(path) = &args.vmfb {
        progress.run(Step::Compiling, || {
            compile_to_vmfb(&session, &converted.module, path)
        })?;
    }
    if let Some(script) = commands {
        super::equivalent::print(&script, args.output == Path::new("-"))?;
    }
    Ok(())
}

/// The IREE command lines of a one-file export: `iree-compile` of the file
/// written (`-`: the stream) to `--vmfb` (or the file's name with `.vmfb`),
/// then a call of each function with `--irpa`'s weights.
fn file_commands(
    args: &ExportArgs,
    compile: &CompileOptions,
    converted: &ConvertedModule<'_>,
) -> anyhow::Result<String> {
    let vmfb = match (&args.vmfb, args.output == Path::new("-")) {
        (Some(path), _) => path.clone(),
        (None, true) => PathBuf::from("model.vmfb"),
        (None, false) => args.output.with_extension("vmfb"),
    };
    let parameters: Vec<(String, PathBuf)> = args
        .irpa
        .iter()
        .map(|path| (converted.scope.clone(), path.clone()))
        .collect();
    let mut lines = vec![commands::iree_compile_line(
        &args.output,
        &compile.portable_flags(),
        &vmfb,
    )];
    for function in function_signatures(&converted.module)? {
        lines.push(commands::iree_run_module_line(
            &vmfb,
            &function,
            &parameters,
            compile.runtime_device(),
        ));
    }
    let lower_first = uniform_dequantizations(&converted.module)? > 0;
    Ok(commands::shell_script(&lines, lower_first))
}

/// Prints the IREE command lines that redo the folder export `out`.
fn print_folder_commands(manifest: &Manifest, out: &Path) -> anyhow::Result<()> {
    let lines = commands::folder_commands(manifest, out);
    let lower_first = match lines.first().and_then(|line| line.get(1)) {
        Some(mlir) => super::equivalent::needs_lowering(Path::new(mlir))?,
        None => false,
    };
    super::equivalent::print(&commands::shell_script(&lines, lower_first), false)
}

fn report(manifest: &Manifest, out: &Path) {
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
