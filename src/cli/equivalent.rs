//! `--print-commands`: the `iree-compile` and `iree-run-module` lines that
//! redo what `irex export` or `irex compile` did, with IREE's own tools.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use irex::hlo::{parse_module, uniform_dequantizations};
use irex::iree::CompileOptions;
use irex::tensor::MappedFile;

/// Prints `script` to stdout, or to stderr when stdout carries a module.
pub fn print(script: &str, to_stderr: bool) -> anyhow::Result<()> {
    if to_stderr {
        let mut stderr = std::io::stderr().lock();
        return stderr
            .write_all(script.as_bytes())
            .context("writing to stderr");
    }
    super::print_bytes(script.as_bytes())
}

/// Whether the MLIR file `path` has `!quant.uniform` weights, which
/// `iree-compile` cannot take until irex lowers them.
pub fn needs_lowering(path: &Path) -> anyhow::Result<bool> {
    let mapped = MappedFile::open(path).with_context(|| format!("reading `{}`", path.display()))?;
    let session = CompileOptions::default().session()?;
    let context = session.context()?;
    let module = parse_module(context, mapped.bytes(), &path.display().to_string())?;
    Ok(uniform_dequantizations(&module)? > 0)
}
