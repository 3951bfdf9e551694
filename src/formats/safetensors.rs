//! safetensors checkpoints, memory-mapped: a validated header and, per
//! tensor, a [`TensorSpec`](crate::tensor::TensorSpec) plus a [`BufferHandle`](crate::tensor::BufferHandle) window of the map. No
//! tensor byte is copied.
//!
//! Format (huggingface/safetensors): an 8-byte little-endian header length
//! `n`, `n` bytes of JSON mapping each tensor name to
//! `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to
//! the end of the header) plus an optional `"__metadata__"` string map, then
//! the data. Quirks the reader guards against (bad-inputs catalog 17–30):
//! the reference crate accepts duplicate keys (last wins) and NUL in names;
//! IREE's parser ignores dtype and shape; data is not aligned, so nothing
//! here ever casts mapped bytes to wider types.
//!
//! Sharded checkpoints (`model.safetensors.index.json`) load as one model.

mod checkpoint;
pub mod compressed_tensors;
mod header;
mod shards;

use std::path::Path;

pub use checkpoint::{Safetensors, SafetensorsTensor};
pub use header::{Dtype, MAX_HEADER_SIZE};
pub use shards::INDEX_FILE_NAME;

use super::{FormatError, FormatName};
use crate::tensor::MappedFile;

impl Safetensors {
    /// Opens a `.safetensors` file, a `model.safetensors.index.json`, or a
    /// folder holding either (the index wins).
    pub fn open(path: &Path) -> Result<Self, FormatError> {
        let path = shards::resolve(path)?;
        if path.file_name().is_some_and(|name| name == INDEX_FILE_NAME) {
            return shards::open_index(&path);
        }
        let mapped = MappedFile::open(&path).map_err(|source| {
            FormatError::io(FormatName::Safetensors, "file", &source).with_path(&path)
        })?;
        Self::from_mapped(&mapped).map_err(|error| error.with_path(&path))
    }
}
