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

/// MLIR's bytecode reader ends the process on some hostile files, and spins
/// without end on others (fuzzing found `LLVM ERROR: SmallVector unable to
/// grow` and attribute references that take minutes), and IREE's library
/// exports no hook to catch either. So a child `irex __parse FILE` parses
/// the file first, within [`parse_deadline`]: a child that dies or runs past
/// it becomes one typed error here, and this process parses only what a
/// child has parsed (parsing is deterministic) or what fails with MLIR's own
/// diagnostics.
fn parse_in_a_child_first(path: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::{Read, Seek};
    use std::os::unix::process::ExitStatusExt;
    use std::process::{Command, Stdio};
    let irex = std::env::current_exe().context("finding the irex executable")?;
    let mut stderr = tempfile::tempfile().context("making a file for the child's errors")?;
    let mut child = Command::new(irex)
        .arg("__parse")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(
            stderr
                .try_clone()
                .context("sharing the child's error file")?,
        )
        .spawn()
        .context("starting a child irex to parse the file")?;
    let deadline = parse_deadline(path);
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the child irex")? {
            break status;
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!(
                "MLIR's reader did not finish `{}` in {} s (it can spin on hostile bytecode); the file is not MLIR irex can read",
                path.display(),
                deadline.as_secs()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    if status.code().is_some_and(|code| code <= 1) {
        return Ok(());
    }
    let mut said = String::new();
    let _ = stderr
        .rewind()
        .and_then(|()| stderr.read_to_string(&mut said));
    let said = said
        .lines()
        .rfind(|line| line.contains("ERROR") || line.contains("error"))
        .unwrap_or_default()
        .trim()
        .to_string();
    let how = match status.signal() {
        Some(signal) => format!("died of signal {signal}"),
        None => format!("exited {}", status.code().unwrap_or(-1)),
    };
    anyhow::bail!(
        "MLIR's reader crashed on `{}` ({how}: {said}); the file is not MLIR irex can read",
        path.display()
    )
}

/// How long the child may take to parse `path`: 20 s, and 1 s more for
/// every 4 MB (MLIR parses inline weights at hundreds of MB/s).
fn parse_deadline(path: &Path) -> std::time::Duration {
    let bytes = std::fs::metadata(path).map_or(0, |metadata| metadata.len());
    std::time::Duration::from_secs(20 + bytes / 4_000_000)
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
