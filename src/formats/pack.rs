//! `.irpa` archives straight from checkpoints: every tensor of every source,
//! its bytes streamed from the mapped file (in-kernel where possible), as
//! IREE's `iree-convert-parameters` does, only without reading them through
//! user space.

use std::path::Path;

use super::FormatError;
use super::detect::{SourceKind, detect};
use super::gguf::Gguf;
use super::irpa::{
    ArchiveEntry, ArchivePlan, DEFAULT_DATA_ALIGNMENT, EntryContents, write_archive,
};
use super::safetensors::Safetensors;
use crate::tensor::BufferHandle;

/// Writes every tensor of `sources` (GGUF files, safetensors files, shard
/// indexes or folders) to the archive at `output`, in source order, GGUF
/// blocks as they are; returns the layout.
pub fn pack(sources: &[&Path], output: &Path) -> Result<ArchivePlan, FormatError> {
    let mut entries = Vec::new();
    for source in sources {
        let tensors = source_tensors(source)?;
        entries.extend(tensors.into_iter().map(|(name, buffer)| ArchiveEntry {
            name,
            contents: EntryContents::Data {
                buffer,
                alignment: DEFAULT_DATA_ALIGNMENT,
            },
        }));
    }
    write_archive(output, &entries)
}

/// Returns the (name, bytes) of every tensor of one source.
fn source_tensors(source: &Path) -> Result<Vec<(String, BufferHandle)>, FormatError> {
    if detect(source).is_ok_and(|kind| kind == SourceKind::Gguf) {
        let gguf = Gguf::open(source)?;
        return Ok(gguf.tensors().map(|t| (t.spec.name, t.buffer)).collect());
    }
    let checkpoint = Safetensors::open(source)?;
    Ok(checkpoint
        .tensors()
        .map(|t| (t.spec.name, t.buffer))
        .collect())
}
