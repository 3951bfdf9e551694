//! `.irpa` archives straight from checkpoints: every tensor of every source,
//! its bytes streamed from the mapped file (in-kernel where possible), as
//! IREE's `iree-convert-parameters` does, only without reading them through
//! user space.

use std::path::Path;

use crate::Result;
use crate::formats::irpa::{
    ArchiveEntry, ArchivePlan, DEFAULT_DATA_ALIGNMENT, EntryContents, write_archive,
};
use crate::formats::safetensors::Safetensors;

/// Writes every tensor of `sources` (safetensors files, shard indexes or
/// folders) to the archive at `output`, in source order; returns the layout.
///
/// # Safety
///
/// The sources are memory-mapped: they must not change while packing.
pub unsafe fn pack(sources: &[&Path], output: &Path) -> Result<ArchivePlan> {
    let mut entries = Vec::new();
    for source in sources {
        // SAFETY: forwarded to the caller.
        let checkpoint = unsafe { Safetensors::open(source) }?;
        entries.extend(checkpoint.tensors().iter().map(|tensor| ArchiveEntry {
            name: tensor.spec.name.clone(),
            contents: EntryContents::Data {
                buffer: tensor.buffer.clone(),
                alignment: DEFAULT_DATA_ALIGNMENT,
            },
        }));
    }
    Ok(write_archive(output, &entries)?)
}
