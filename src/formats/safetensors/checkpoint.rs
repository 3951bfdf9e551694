//! A loaded checkpoint: its tensors (spec plus a window of the mapped
//! file) by name and in order, and its `__metadata__`.

use std::collections::HashMap;
use std::sync::Arc;

use super::header::{self, Dtype, error};
use crate::formats::{FormatError, FormatErrorKind};
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
    pub(super) tensors: Vec<SafetensorsTensor>,
    by_name: HashMap<String, usize>,
    pub(super) metadata: Vec<(String, String)>,
}

impl Safetensors {
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

    pub(super) fn from_parts(
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
