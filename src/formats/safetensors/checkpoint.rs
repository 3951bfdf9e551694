//! A loaded checkpoint: its tensors (a compact [`TensorTable`] over one
//! file or every shard of an index) in file order and by name, and its
//! `__metadata__`. A [`SafetensorsTensor`] (spec plus a window of the
//! mapped file) is made when asked for, so that a header's table costs
//! less memory than the header.

use std::sync::Arc;

use super::header::{self, Dtype, check_layout, error, row_size};
use crate::formats::table::TensorTable;
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

/// One file of a checkpoint and the first row of its tensors.
#[derive(Debug)]
struct File {
    mapped: Arc<MappedFile>,
    data_start: u64,
    data_length: u64,
    first_row: usize,
}

/// Why [`Safetensors::seal`] refused the files added.
pub(super) enum Refusal {
    /// Two rows share a name.
    Duplicate(usize, usize),
    /// File `.0` (in the order added) lays its data out wrong.
    Layout(usize, FormatError),
}

/// A loaded checkpoint: one file, or every shard of an index, as one set of
/// tensors in file order.
#[derive(Debug, Default)]
pub struct Safetensors {
    table: TensorTable,
    files: Vec<File>,
    /// The table's rows in file (and shard) order, then data order.
    order: Vec<u32>,
    metadata: Vec<(String, String)>,
}

impl Safetensors {
    /// Parses the header of a mapped file; its tensors' windows are made on
    /// demand.
    pub fn from_mapped(mapped: &Arc<MappedFile>) -> Result<Self, FormatError> {
        let mut checkpoint = Self::default();
        checkpoint.add_file(mapped)?;
        match checkpoint.seal() {
            Ok(()) => Ok(checkpoint),
            Err(Refusal::Duplicate(_, second)) => {
                Err(error("tensor", FormatErrorKind::DuplicateKey)
                    .with_key(checkpoint.table.name(second)))
            }
            Err(Refusal::Layout(_, error)) => Err(error),
        }
    }

    /// Adds the tensors and metadata of one more file (a shard).
    pub(super) fn add_file(&mut self, mapped: &Arc<MappedFile>) -> Result<(), FormatError> {
        let first_row = self.table.len();
        let header = header::parse(mapped, &mut self.table)?;
        self.files.push(File {
            mapped: Arc::clone(mapped),
            data_start: header.data_start,
            data_length: header.data_length,
            first_row,
        });
        self.metadata.extend(header.metadata);
        Ok(())
    }

    /// Makes the name index, then checks each file's data layout and puts
    /// the rows in file order.
    pub(super) fn seal(&mut self) -> Result<(), Refusal> {
        self.table
            .seal()
            .map_err(|(first, second)| Refusal::Duplicate(first, second))?;
        let mut order = Vec::with_capacity(self.table.len());
        for (index, file) in self.files.iter().enumerate() {
            let end = self
                .files
                .get(index + 1)
                .map_or(self.table.len(), |next| next.first_row);
            let rows = check_layout(&self.table, file.first_row..end, file.data_length)
                .map_err(|error| Refusal::Layout(index, error))?;
            order.extend(rows);
        }
        self.order = order;
        Ok(())
    }

    /// Returns the file index (in the order added) that holds row `row`.
    pub(super) fn file_of(&self, row: usize) -> usize {
        self.files.partition_point(|file| file.first_row <= row) - 1
    }

    /// Returns the number of tensors.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Returns whether the checkpoint has no tensors.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Returns every tensor, in file (and shard) order.
    pub fn tensors(&self) -> impl ExactSizeIterator<Item = SafetensorsTensor> + '_ {
        self.order.iter().map(|&row| self.row(row as usize))
    }

    /// Returns tensor `index` in file (and shard) order.
    pub fn tensor_at(&self, index: usize) -> SafetensorsTensor {
        self.row(self.order[index] as usize)
    }

    /// Returns the name of tensor `index` in file (and shard) order.
    pub fn tensor_name(&self, index: usize) -> &str {
        self.table.name(self.order[index] as usize)
    }

    /// Returns the tensor named `name`.
    pub fn get(&self, name: &str) -> Option<SafetensorsTensor> {
        self.table.find(name).map(|row| self.row(row))
    }

    /// Returns the `__metadata__` pairs (of every shard, in order).
    pub fn metadata(&self) -> &[(String, String)] {
        &self.metadata
    }

    /// Returns the heap bytes of the tensor table, for the tests that
    /// bound it.
    pub fn table_bytes(&self) -> usize {
        self.table.heap_bytes() + 4 * self.order.capacity()
    }

    fn row(&self, row: usize) -> SafetensorsTensor {
        let file = &self.files[self.file_of(row)];
        let dtype = Dtype::from_code(self.table.code(row));
        let element = dtype.element_type();
        let window = file
            .mapped
            .window(
                file.data_start + self.table.offset(row),
                row_size(&self.table, row),
            )
            .expect("the header check keeps every range inside the file");
        SafetensorsTensor {
            spec: TensorSpec {
                name: self.table.name(row).to_string(),
                shape: self.table.shape(row),
                element,
                encoding: TensorEncoding::Dense(element),
            },
            dtype,
            buffer: BufferHandle::Mapped(window),
        }
    }

    /// Returns the name of row `row`, for the shard index's checks.
    pub(super) fn row_name(&self, row: usize) -> &str {
        self.table.name(row)
    }

    /// Returns the row named `name`.
    pub(super) fn find(&self, name: &str) -> Option<usize> {
        self.table.find(name)
    }
}
