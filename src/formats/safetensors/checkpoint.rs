//! A loaded checkpoint: its tensors (spec plus a window of the mapped
//! file) by name and in order, and its `__metadata__`.

use std::sync::Arc;

use super::header::{self, Dtype, error, sorted_by_name};
use crate::formats::{FormatError, FormatErrorKind};
use crate::tensor::{BufferHandle, MappedFile, TensorEncoding, TensorSpec};

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
    /// Indices of `tensors` in name order (looked up by binary search).
    by_name: Vec<usize>,
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
            let element = entry.dtype.element_type();
            tensors.push(SafetensorsTensor {
                spec: TensorSpec {
                    name: entry.name,
                    shape: entry.shape,
                    element,
                    encoding: TensorEncoding::Dense(element),
                },
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
        let by_name = sorted_by_name(&tensors, |tensor| &tensor.spec.name).map_err(|index| {
            error("tensor", FormatErrorKind::DuplicateKey).with_key(&tensors[index].spec.name)
        })?;
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

    /// Takes the tensors, in file (and shard) order, without copying them.
    pub fn into_tensors(self) -> Vec<SafetensorsTensor> {
        self.tensors
    }

    /// Returns the tensor named `name`.
    pub fn get(&self, name: &str) -> Option<&SafetensorsTensor> {
        let name_of = |&index: &usize| self.tensors[index].spec.name.as_str();
        let at = self
            .by_name
            .binary_search_by(|index| name_of(index).cmp(name))
            .ok()?;
        Some(&self.tensors[self.by_name[at]])
    }

    /// Returns the `__metadata__` pairs (of every shard, in order).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }
}
