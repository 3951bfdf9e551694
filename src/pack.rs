//! `.irpa` archives straight from checkpoints: every tensor of every source,
//! its bytes streamed from the mapped file (in-kernel where possible), as
//! IREE's `iree-convert-parameters` does, only without reading them through
//! user space.

use std::path::Path;

use crate::Result;
use crate::formats::gguf::Gguf;
use crate::formats::irpa::{
    ArchiveEntry, ArchivePlan, DEFAULT_DATA_ALIGNMENT, EntryContents, write_archive,
};
use crate::formats::safetensors::Safetensors;
use crate::tensor::BufferHandle;

/// Writes every tensor of `sources` (GGUF files, safetensors files, shard
/// indexes or folders) to the archive at `output`, in source order, GGUF
/// blocks as they are; returns the layout.
pub fn pack(sources: &[&Path], output: &Path) -> Result<ArchivePlan> {
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
    Ok(write_archive(output, &entries)?)
}

/// Returns the (name, bytes) of every tensor of one source.
fn source_tensors(source: &Path) -> Result<Vec<(String, BufferHandle)>> {
    if is_gguf(source) {
        let gguf = Gguf::open(source)?;
        return Ok(gguf
            .tensors
            .into_iter()
            .map(|t| (t.spec.name, t.buffer))
            .collect());
    }
    let checkpoint = Safetensors::open(source)?;
    Ok(checkpoint
        .tensors()
        .iter()
        .map(|t| (t.spec.name.clone(), t.buffer.clone()))
        .collect())
}

/// Returns whether `path` is a file that starts with GGUF's magic.
pub fn is_gguf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut file| file.read_exact(&mut magic))
        .is_ok_and(|()| &magic == b"GGUF")
}
