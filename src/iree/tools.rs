//! IREE's runtime tools (`iree-run-module`, `iree-dump-parameters`, ...),
//! found and run as subprocesses. The runtime wheel ships no C library, so
//! modules run through these tools.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::IreeError;
use crate::formats::npy::NpyArray;

/// Finds an IREE tool: `$IREX_IREE_TOOLS/NAME`, then beside the
/// `libIREECompiler.so` irex loaded (the compiler wheel's tools) and in the
/// runtime wheel installed next to it (`iree/_runtime_libs`), then `PATH`.
/// No folder of the machine irex was built on is baked in.
pub fn find(name: &str) -> Result<PathBuf, IreeError> {
    let mut searched = Vec::new();
    let mut folders: Vec<PathBuf> = Vec::new();
    if let Some(folder) = std::env::var_os("IREX_IREE_TOOLS") {
        folders.push(folder.into());
    }
    if let Some(libraries) = super::compile::loaded_compiler_library()
        .as_deref()
        .and_then(Path::parent)
    {
        folders.push(libraries.to_path_buf());
        if let Some(iree) = libraries.parent().and_then(Path::parent) {
            folders.push(iree.join("_runtime_libs"));
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        folders.extend(std::env::split_paths(&path));
    }
    for folder in folders {
        let candidate = folder.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(folder.display().to_string());
    }
    Err(IreeError::ToolNotFound {
        tool: name.into(),
        searched: searched.join(", "),
    })
}

/// Runs an IREE tool with `arguments` and returns its stdout.
pub fn run(name: &str, arguments: &[OsString]) -> Result<String, IreeError> {
    let tool = find(name)?;
    let output = Command::new(&tool)
        .args(arguments)
        .output()
        .map_err(|source| IreeError::Io {
            what: "running",
            path: tool.display().to_string(),
            source,
        })?;
    let words: Vec<String> = std::iter::once(tool.display().to_string())
        .chain(arguments.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect();
    // Quoted so that the printed line can be pasted back into a shell.
    let command =
        shlex::try_join(words.iter().map(String::as_str)).unwrap_or_else(|_| words.join(" "));
    if !output.status.success() {
        return Err(IreeError::ToolFailed {
            command,
            status: output.status.to_string(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// One function call through `iree-run-module`.
#[derive(Clone, Debug)]
pub struct RunRequest<'r> {
    /// The compiled module.
    pub module: &'r Path,
    /// The function to call.
    pub function: &'r str,
    /// Input arrays, in argument order.
    pub inputs: &'r [NpyArray],
    /// How many results the function returns.
    pub result_count: usize,
    /// Parameter archives as (scope, path).
    pub parameters: &'r [(String, PathBuf)],
    /// Runtime device (`local-task`, `cuda`, ...).
    pub device: &'r str,
}

/// Calls a function of a compiled module and returns its results.
pub fn run_module(request: &RunRequest<'_>) -> Result<Vec<NpyArray>, IreeError> {
    let scratch = tempfile::tempdir().map_err(|source| IreeError::Io {
        what: "creating a scratch folder",
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    let mut inputs = Vec::with_capacity(request.inputs.len());
    for (index, input) in request.inputs.iter().enumerate() {
        let path = scratch.path().join(format!("input{index}.npy"));
        input.write(&path)?;
        inputs.push(flag("@", &path));
    }
    let outputs: Vec<PathBuf> = (0..request.result_count)
        .map(|index| scratch.path().join(format!("output{index}.npy")))
        .collect();
    run_module_with_files(
        request.module,
        request.function,
        &inputs,
        &outputs,
        request.parameters,
        request.device,
    )?;
    outputs
        .iter()
        .map(|path| NpyArray::read(path).map_err(IreeError::from))
        .collect()
}

/// Calls a function with inputs given as `iree-run-module` values
/// (`1x1xi32=5`, or `@file.npy`) and writes its results to `outputs`
/// (`.npy` paths), so that large results can feed the next call as files.
pub fn run_module_with_files(
    module: &Path,
    function: &str,
    inputs: &[OsString],
    outputs: &[PathBuf],
    parameters: &[(String, PathBuf)],
    device: &str,
) -> Result<(), IreeError> {
    let mut arguments: Vec<OsString> = vec![
        format!("--device={device}").into(),
        flag("--module=", module),
        format!("--function={function}").into(),
    ];
    for (scope, path) in parameters {
        arguments.push(flag(&format!("--parameters={scope}="), path));
    }
    for input in inputs {
        let mut argument = OsString::from("--input=");
        argument.push(input);
        arguments.push(argument);
    }
    for path in outputs {
        arguments.push(flag("--output=@", path));
    }
    run("iree-run-module", &arguments).map(|_| ())
}

fn flag(prefix: &str, path: &Path) -> OsString {
    let mut flag = OsString::from(prefix);
    flag.push(path.as_os_str());
    flag
}
