//! safetensors checkpoints, memory-mapped: a validated header and, per
//! tensor, a [`TensorSpec`] plus a [`BufferHandle`] window of the map. No
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

pub mod compressed_tensors;
mod header;
mod shards;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

pub use header::{Dtype, MAX_HEADER_SIZE};
pub use shards::INDEX_FILE_NAME;

use super::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::{BufferHandle, MappedFile, TensorSpec};

/// One tensor of a checkpoint: what it is and where its bytes are.
#[derive(Clone, Debug)]
pub struct SafetensorsTensor {
    /// Name, shape, element type and encoding.
    pub spec: TensorSpec,
    /// The on-disk dtype string's meaning.
    pub dtype: Dtype,
    /// A window of the mapped file holding the tensor's bytes.
    pub buffer: BufferHandle,
}

/// A loaded checkpoint: one file, or every shard of an index, as one set of
/// tensors in file order.
#[derive(Debug)]
pub struct Safetensors {
    tensors: Vec<SafetensorsTensor>,
    by_name: HashMap<String, usize>,
    metadata: Vec<(String, String)>,
}

pub(crate) fn error(field: impl Into<String>, kind: FormatErrorKind) -> FormatError {
    FormatError::new(FormatName::Safetensors, field, kind)
}

pub(crate) fn invalid(
    field: impl Into<String>,
    found: impl ToString,
    expected: &str,
) -> FormatError {
    error(
        field,
        FormatErrorKind::InvalidValue {
            found: found.to_string(),
            expected: expected.to_string(),
        },
    )
}

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

    /// Parses the header of a mapped file and makes windows for its tensors.
    pub fn from_mapped(mapped: &Arc<MappedFile>) -> Result<Self, FormatError> {
        let header = header::parse(mapped.bytes())?;
        let mut tensors = Vec::with_capacity(header.tensors.len());
        for entry in header.tensors {
            let window = mapped
                .window(header.data_start + entry.begin, entry.end - entry.begin)
                .expect("the header check keeps every range inside the file");
            tensors.push(SafetensorsTensor {
                spec: TensorSpec::dense(entry.name, &entry.shape, entry.dtype.element_type()),
                dtype: entry.dtype,
                buffer: BufferHandle::Mapped(window),
            });
        }
        Self::from_parts(tensors, header.metadata)
    }

    fn from_parts(
        tensors: Vec<SafetensorsTensor>,
        metadata: Vec<(String, String)>,
    ) -> Result<Self, FormatError> {
        let mut by_name = HashMap::with_capacity(tensors.len());
        for (index, tensor) in tensors.iter().enumerate() {
            if by_name.insert(tensor.spec.name.clone(), index).is_some() {
                return Err(
                    error("tensor", FormatErrorKind::DuplicateKey).with_key(&tensor.spec.name)
                );
            }
        }
        Ok(Self {
            tensors,
            by_name,
            metadata,
        })
    }

    /// Returns every tensor, in file (and shard) order.
    pub fn tensors(&self) -> &[SafetensorsTensor] {
        &self.tensors
    }

    /// Returns the tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&SafetensorsTensor> {
        self.by_name.get(name).map(|&index| &self.tensors[index])
    }

    /// Returns the `__metadata__` pairs (of every shard, in order).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
}
