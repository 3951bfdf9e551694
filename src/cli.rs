//! Command-line parsing and dispatch. Each subcommand lives in its own
//! file and stays thin: it parses flags, calls the library, prints.

mod compile;
mod embed;
mod equivalent;
mod export;
mod generate;
mod inspect;
mod logits;
mod pack;
mod print;
mod progress;
mod target;
mod verify;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Turns models into IREE deployables, MLIR-natively.
#[derive(Parser)]
#[command(name = "irex", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Export a model (a GGUF file or a model folder) or a built-in example:
    /// MLIR, .irpa, .vmfb, manifest.
    Export(export::ExportArgs),
    /// Embed sentences with a sentence encoder exported by `irex export`.
    Embed(embed::EmbedArgs),
    /// Continue a prompt with an exported causal LM, streamed.
    Generate(generate::GenerateArgs),
    /// Logits at every position of a token sequence, with an exported causal LM.
    Logits(logits::LogitsArgs),
    /// Print an MLIR text or bytecode file as text.
    Print(print::PrintArgs),
    /// Compile an MLIR text or bytecode file to a .vmfb in-process.
    Compile(compile::CompileArgs),
    /// List the tensors of an .irpa archive, a GGUF file or a safetensors checkpoint.
    Inspect(inspect::InspectArgs),
    /// Write every tensor of GGUF or safetensors files to one .irpa.
    Pack(pack::PackArgs),
    /// Check an export folder's artifacts against the SHA-256 it recorded.
    Verify(verify::VerifyArgs),
    /// Parse an MLIR file and exit 0, or 1 if it does not parse (the child
    /// process of `print` and `compile`, see `parse_in_a_child_first`).
    #[command(name = "__parse", hide = true)]
    Parse(print::ParseArgs),
}

/// Parses the command line and runs the subcommand; errors go to stderr as
/// one line. SIGINT, SIGTERM and SIGHUP remove the temporary files of the
/// outputs being written before the process ends. A reader that closed stdout early (`irex print | head`) ends
/// the command quietly and successfully, as it does for `cat`.
pub fn main() -> ExitCode {
    find_compiler_tools_on_path();
    let cli = Cli::parse();
    if let Err(error) = irex::output::remove_temporaries_on_signals() {
        eprintln!("irex: cannot watch for signals: {error}");
        return ExitCode::FAILURE;
    }
    let result = match cli.command {
        Command::Export(args) => export::run(args),
        Command::Embed(args) => embed::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Logits(args) => logits::run(args),
        Command::Print(args) => print::run(args),
        Command::Compile(args) => compile::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Pack(args) => pack::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Parse(args) => return print::parse_only(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("irex: {}", message(&error));
            ExitCode::FAILURE
        }
    }
}

/// Appends the folder of the loaded `libIREECompiler.so` to `PATH`, where
/// IREE's ROCm target looks for `iree-lld` (it looks beside the running
/// executable, which is irex, and on `PATH` only).
fn find_compiler_tools_on_path() {
    let Some(folder) = irex::iree::compiler_tools_folder() else {
        return;
    };
    let mut folders: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect())
        .unwrap_or_default();
    if folders.contains(&folder) {
        return;
    }
    folders.push(folder);
    if let Ok(path) = std::env::join_paths(folders) {
        // SAFETY: called first thing in `main`, before irex starts any
        // thread (the signal thread, the runtime's), so nothing reads the
        // environment concurrently.
        unsafe { std::env::set_var("PATH", path) };
    }
}

/// The error and its causes as one line, with indented continuations (see
/// [`irex::diagnostic::error_message`]).
fn message(error: &anyhow::Error) -> String {
    irex::diagnostic::error_message(error.as_ref())
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes `bytes` to stdout; a closed stdout is a broken pipe (ended
/// quietly by `main`), a full one a typed error, never a panic.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes).context("writing to stdout")?;
    stdout.flush().context("writing to stdout")
}

/// Refuses a model or archive given where MLIR is expected (`print`,
/// `compile`): MLIR's parser would first copy the whole file into memory.
/// Then has a child process parse the file first
/// ([`parse_in_a_child_first`]).
fn refuse_non_mlir(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use irex::formats::detect::{SourceKind, detect};
    match detect(path) {
        Ok(SourceKind::MlirBytecode | SourceKind::Other) => parse_in_a_child_first(path),
        Ok(kind) => anyhow::bail!(
            "`{}` is {kind}, not MLIR text or bytecode (`irex export` reads models, `irex inspect` lists files)",
            path.display()
        ),
        Err(error) => Err(error).with_context(|| format!("reading `{}`", path.display())),
    }
}

/// MLIR's bytecode reader ends the process on some hostile files (fuzzing
/// found `LLVM ERROR: SmallVector unable to grow` in a few hundred runs),
/// and IREE's library exports no hook to catch that. So a child `irex
/// __parse FILE` parses the file first: a child that dies becomes one typed
/// error here, and this process parses only what a child has parsed
/// (parsing is deterministic) or what fails with MLIR's own diagnostics.
fn parse_in_a_child_first(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let irex = std::env::current_exe().context("finding the irex executable")?;
    let child = Command::new(irex)
        .arg("__parse")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .context("starting a child irex to parse the file")?;
    if child.status.code().is_some_and(|code| code <= 1) {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&child.stderr);
    let said = stderr
        .lines()
        .rfind(|line| line.contains("ERROR") || line.contains("error"))
        .unwrap_or_default();
    let how = match child.status.signal() {
        Some(signal) => format!("died of signal {signal}"),
        None => format!("exited {}", child.status.code().unwrap_or(-1)),
    };
    let said = said.trim();
    anyhow::bail!(
        "MLIR's reader crashed on `{}` ({how}: {said}); the file is not MLIR irex can read",
        path.display()
    )
}

/// Writes `bytes` to `path` atomically, or to stdout when `path` is `-`.
fn write_output(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    if path == Path::new("-") {
        return print_bytes(bytes);
    }
    irex::output::write_atomically(path, bytes)
        .with_context(|| format!("writing `{}`", path.display()))
}
