//! `irex verify`: checks every artifact of an export folder against the
//! size and SHA-256 its `irex.json` recorded at export.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use irex::run::ExportFolder;

/// Arguments of `irex verify`.
#[derive(Args)]
pub struct VerifyArgs {
    /// A folder written by `irex export`.
    folder: PathBuf,
}

/// Runs `irex verify`: one `ok` line per artifact, or the first mismatch.
pub fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let folder = ExportFolder::open(&args.folder)?;
    let mut text = String::new();
    for record in folder.verify()? {
        writeln!(
            text,
            "{} {} bytes sha256 {} ok",
            record.file, record.bytes, record.sha256
        )?;
    }
    super::print_bytes(text.as_bytes())
}
