//! `irex inspect`: list the tensors of an `.irpa` archive or a safetensors
//! checkpoint (file, shard index or folder), after validating it.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use irex::formats::irpa::{IrpaEntryKind, IrpaIndex};
use irex::formats::safetensors::Safetensors;
use irex::tensor::MappedFile;

/// Arguments of `irex inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// An .irpa archive, a .safetensors file, a shard index or a model folder.
    input: PathBuf,
}

/// Runs `irex inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    let text = if is_irpa(&args.input) {
        list_irpa(&args.input)?
    } else {
        list_safetensors(&args.input)?
    };
    print!("{text}");
    Ok(())
}

fn is_irpa(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"IRPA")
}

fn list_irpa(path: &Path) -> anyhow::Result<String> {
    // SAFETY: irex documents that its inputs must not change while it runs.
    let mapped = unsafe { MappedFile::open(path) }
        .with_context(|| format!("opening `{}`", path.display()))?;
    let index = IrpaIndex::parse(mapped.bytes()).map_err(|error| error.with_path(path))?;
    let mut text = format!("{:<6} {:>12} {:>12}  key\n", "kind", "offset", "bytes");
    for entry in &index.entries {
        let (kind, offset) = match &entry.kind {
            IrpaEntryKind::Data { offset, .. } => ("data", offset.to_string()),
            IrpaEntryKind::Splat { pattern, .. } => ("splat", format!("x{}", hex(pattern))),
        };
        writeln!(
            text,
            "{kind:<6} {offset:>12} {:>12}  {}",
            entry.length(),
            entry.name.escape_debug()
        )?;
    }
    Ok(text)
}

fn list_safetensors(path: &Path) -> anyhow::Result<String> {
    // SAFETY: irex documents that its inputs must not change while it runs.
    let checkpoint = unsafe { Safetensors::open(path) }?;
    let mut text = format!(
        "{:<8} {:<20} {:>12} {:>12}  name\n",
        "dtype", "shape", "offset", "bytes"
    );
    for tensor in checkpoint.tensors() {
        let window = tensor
            .buffer
            .mapped_window()
            .expect("checkpoint tensors are mapped");
        let shape = format!("{:?}", tensor.spec.shape);
        writeln!(
            text,
            "{:<8} {shape:<20} {:>12} {:>12}  {}",
            tensor.dtype.name(),
            window.offset(),
            window.len(),
            tensor.spec.name.escape_debug()
        )?;
    }
    Ok(text)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
