//! `irex inspect`: list the tensors of an `.irpa` archive or a safetensors
//! checkpoint (file, shard index or folder), after validating it.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use irex::formats::detect::{SourceKind, detect};
use irex::formats::gguf::{Gguf, MetadataValue};
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
    let kind =
        detect(&args.input).with_context(|| format!("reading `{}`", args.input.display()))?;
    // Written as it is listed (a header of a million tensors would be a
    // hundred megabytes of text held at once); errors as `print_bytes`'.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    match kind {
        SourceKind::Irpa => list_irpa(&args.input, &mut out)?,
        SourceKind::Gguf => list_gguf(&args.input, &mut out)?,
        _ => list_safetensors(&args.input, &mut out)?,
    }
    out.flush().context("writing to stdout")
}

fn list_gguf(path: &Path, text: &mut impl Write) -> anyhow::Result<()> {
    let gguf = Gguf::open(path)?;
    writeln!(
        text,
        "GGUF v{}, {} metadata keys, alignment {}",
        gguf.version,
        gguf.metadata.len(),
        gguf.alignment
    )
    .context("writing to stdout")?;
    for (key, value) in gguf.metadata.iter() {
        let shown = match value {
            MetadataValue::String(text) => {
                format!("{:?}", text.chars().take(80).collect::<String>())
            }
            MetadataValue::Array(values) => format!("[{} values]", values.len()),
            other => format!("{other:?}"),
        };
        writeln!(text, "  {key} = {shown}")?;
    }
    writeln!(
        text,
        "{:<8} {:<20} {:>12} {:>12}  name",
        "type", "shape", "offset", "bytes"
    )?;
    for tensor in gguf.tensors() {
        let window = tensor
            .buffer
            .mapped_window()
            .expect("GGUF tensors are mapped");
        let shape = format!("{:?}", tensor.spec.shape);
        writeln!(
            text,
            "{:<8} {shape:<20} {:>12} {:>12}  {}",
            tensor.kind.name(),
            window.offset(),
            window.len(),
            tensor.spec.name
        )?;
    }
    Ok(())
}

fn list_irpa(path: &Path, text: &mut impl Write) -> anyhow::Result<()> {
    let mapped = MappedFile::open(path).with_context(|| format!("opening `{}`", path.display()))?;
    let index = IrpaIndex::parse_mapped(&mapped).map_err(|error| error.with_path(path))?;
    writeln!(text, "{:<6} {:>12} {:>12}  key", "kind", "offset", "bytes")?;
    for entry in index.entries() {
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
    Ok(())
}

fn list_safetensors(path: &Path, text: &mut impl Write) -> anyhow::Result<()> {
    let checkpoint = Safetensors::open(path)?;
    writeln!(
        text,
        "{:<8} {:<20} {:>12} {:>12}  name",
        "dtype", "shape", "offset", "bytes"
    )?;
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
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
