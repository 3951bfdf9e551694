//! `.irpa` archives straight from checkpoints: every tensor of every source,
//! its bytes streamed from the mapped file (in-kernel where possible), as
//! IREE's `iree-convert-parameters` does, only without reading them through
//! user space.

use std::path::Path;

use super::FormatError;
use super::detect::{SourceKind, detect};
use super::gguf::Gguf;
use super::irpa::{
    ArchiveLayout, ArchiveSource, DEFAULT_DATA_ALIGNMENT, EntryContents, EntryRequest, EntrySource,
    write_archive_from,
};
use super::safetensors::Safetensors;
use crate::tensor::BufferHandle;

/// Writes every tensor of `sources` (GGUF files, safetensors files, shard
/// indexes or folders) to the archive at `output`, in source order, GGUF
/// blocks as they are; returns the layout. Entries are made from the
/// sources' tensor tables as they are written: no list of a million
/// entries is ever held.
pub fn pack(sources: &[&Path], output: &Path) -> Result<ArchiveLayout, FormatError> {
    let mut opened = Vec::with_capacity(sources.len());
    for source in sources {
        opened.push(Source::open(source)?);
    }
    write_archive_from(output, &Sources::new(opened))
}

/// One opened source.
enum Source {
    Gguf(Gguf),
    Safetensors(Safetensors),
}

impl Source {
    fn open(path: &Path) -> Result<Self, FormatError> {
        if detect(path).is_ok_and(|kind| kind == SourceKind::Gguf) {
            return Ok(Self::Gguf(Gguf::open(path)?));
        }
        Ok(Self::Safetensors(Safetensors::open(path)?))
    }

    fn len(&self) -> usize {
        match self {
            Self::Gguf(gguf) => gguf.tensor_count(),
            Self::Safetensors(checkpoint) => checkpoint.len(),
        }
    }

    fn name(&self, index: usize) -> &str {
        match self {
            Self::Gguf(gguf) => gguf.tensor_name(index),
            Self::Safetensors(checkpoint) => checkpoint.tensor_name(index),
        }
    }

    fn buffer(&self, index: usize) -> BufferHandle {
        match self {
            Self::Gguf(gguf) => gguf.tensor_at(index).buffer,
            Self::Safetensors(checkpoint) => checkpoint.tensor_at(index).buffer,
        }
    }
}

/// Every tensor of the sources, one after another, as archive entries.
struct Sources {
    sources: Vec<Source>,
    /// The index of each source's first tensor.
    starts: Vec<usize>,
}

impl Sources {
    fn new(sources: Vec<Source>) -> Self {
        let starts = sources
            .iter()
            .scan(0, |next, source| {
                let start = *next;
                *next += source.len();
                Some(start)
            })
            .collect();
        Self { sources, starts }
    }

    /// Returns the source holding entry `index` and the tensor's index in it.
    fn locate(&self, index: usize) -> (&Source, usize) {
        let source = self.starts.partition_point(|&start| start <= index) - 1;
        (&self.sources[source], index - self.starts[source])
    }
}

impl EntrySource for Sources {
    fn len(&self) -> usize {
        self.sources.iter().map(Source::len).sum()
    }

    fn name(&self, index: usize) -> &str {
        let (source, at) = self.locate(index);
        source.name(at)
    }

    fn request(&self, index: usize) -> EntryRequest {
        let (source, at) = self.locate(index);
        EntryRequest::Data {
            name: source.name(at).to_string(),
            length: source.buffer(at).len(),
            alignment: DEFAULT_DATA_ALIGNMENT,
        }
    }
}

impl ArchiveSource for Sources {
    fn contents(&self, index: usize) -> EntryContents {
        let (source, at) = self.locate(index);
        EntryContents::Data {
            buffer: source.buffer(at),
            alignment: DEFAULT_DATA_ALIGNMENT,
        }
    }
}
