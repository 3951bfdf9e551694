//! `irex inspect`: list an `.irpa` archive's entries after validating it.

use std::fmt::Write;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use irex::formats::irpa::{IrpaEntryKind, IrpaIndex};
use irex::tensor::MappedFile;

/// Arguments of `irex inspect`.
#[derive(Args)]
pub struct InspectArgs {
    /// An .irpa file.
    input: PathBuf,
}

/// Runs `irex inspect`.
pub fn run(args: InspectArgs) -> anyhow::Result<()> {
    // SAFETY: the archive is only read; irex documents that inputs must not
    // change while it runs.
    let mapped = unsafe { MappedFile::open(&args.input) }
        .with_context(|| format!("opening `{}`", args.input.display()))?;
    let index = IrpaIndex::parse(mapped.bytes()).map_err(|error| error.with_path(&args.input))?;
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
    print!("{text}");
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
