//! GGUF files (versions 2 and 3), memory-mapped: metadata of every value
//! type, tensor infos, `general.alignment`, and per tensor a
//! [`TensorSpec`] plus a [`BufferHandle`] window of the map: quantized
//! blocks are never copied or converted here.
//!
//! Format: llama.cpp's `docs/gguf.md`. Little-endian; `"GGUF"`, a `u32`
//! version, `u64` tensor and key-value counts, the key-values, the tensor
//! infos (name, dims innermost first, ggml type, offset), then the data at
//! the next multiple of the alignment. What the reader refuses
//! (bad-inputs catalog 1–15) includes every count, length and offset that
//! the file cannot back, duplicate keys and names, removed type ids, rows
//! that are not whole blocks, and offsets that are not exactly where
//! llama.cpp's writer puts them.

mod cursor;
mod metadata;

use std::path::Path;
use std::sync::Arc;

use cursor::{Cursor, error, invalid};
pub use metadata::{Metadata, MetadataArray, MetadataValue, Numbers, Strings};

use super::table::TensorTable;
use super::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::GgmlType;
use crate::tensor::{
    BufferHandle, ElementType, MappedFile, PageReleaser, TensorEncoding, TensorSpec,
};

/// `"GGUF"` read as a little-endian `u32`.
const MAGIC: u32 = 0x4655_4747;
/// The alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// The largest `general.alignment` accepted.
const MAX_ALIGNMENT: u64 = 1 << 20;
/// ggml tensors have at most this many dimensions.
const MAX_DIMS: u32 = 4;
/// Tensor names longer than this are refused (ggml's `GGML_MAX_NAME`).
const MAX_NAME_BYTES: usize = 64;

/// One tensor of a GGUF file.
#[derive(Clone, Debug)]
pub struct GgufTensor {
    /// Name, shape (outermost first), logical element type (f32 for blocks), encoding.
    pub spec: TensorSpec,
    /// The ggml type the bytes are stored in.
    pub kind: GgmlType,
    /// The stored bytes, a window of the map.
    pub buffer: BufferHandle,
}

/// A parsed GGUF file. Its tensor infos are kept in a compact
/// [`TensorTable`]; a [`GgufTensor`] is made when asked for.
#[derive(Debug)]
pub struct Gguf {
    /// 2 or 3.
    pub version: u32,
    /// Key-values in file order.
    pub metadata: Metadata,
    /// The data alignment.
    pub alignment: u64,
    /// File offset of the data section.
    pub data_start: u64,
    /// The tensor infos, in file order (which is data order).
    table: TensorTable,
    mapped: Arc<MappedFile>,
}

impl Gguf {
    /// Maps and parses a GGUF file.
    pub fn open(path: &Path) -> Result<Self, FormatError> {
        let mapped = MappedFile::open(path)
            .map_err(|source| FormatError::io(FormatName::Gguf, "file", &source).with_path(path))?;
        Self::from_mapped(&mapped).map_err(|error| error.with_path(path))
    }

    /// Parses a mapped file and makes windows for its tensors.
    pub fn from_mapped(mapped: &Arc<MappedFile>) -> Result<Self, FormatError> {
        let bytes = mapped.bytes();
        let mut cursor = Cursor::new(bytes);
        let version = read_preamble(&mut cursor)?;
        let tensor_count = cursor.u64("tensor_count")?;
        let kv_count = cursor.u64("kv_count")?;
        // The smallest key-value is 13 bytes, the smallest tensor info 24.
        check_count("kv_count", kv_count, 13, &cursor)?;
        let mut releaser = PageReleaser::new(mapped);
        let metadata = read_metadata(&mut cursor, &mut releaser, mapped, kv_count)?;
        check_count("tensor_count", tensor_count, 24, &cursor)?;
        let alignment = alignment_of(&metadata)?;
        let table = read_tensor_infos(&mut cursor, &mut releaser, tensor_count)?;
        mapped.release(0, cursor.position());
        let data_start = cursor.position().next_multiple_of(alignment);
        check_placement(&table, data_start, alignment, bytes.len() as u64)?;
        Ok(Self {
            version,
            metadata,
            alignment,
            data_start,
            table,
            mapped: Arc::clone(mapped),
        })
    }

    /// Returns the metadata value of `key`.
    pub fn get(&self, key: &str) -> Option<MetadataValue> {
        self.metadata.get(key)
    }

    /// Returns the tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<GgufTensor> {
        self.table.find(name).map(|row| self.row(row))
    }

    /// Returns the tensors in file order.
    pub fn tensors(&self) -> impl ExactSizeIterator<Item = GgufTensor> + '_ {
        (0..self.table.len()).map(|row| self.row(row))
    }

    /// Returns the number of tensors.
    pub fn tensor_count(&self) -> usize {
        self.table.len()
    }

    /// Returns tensor `index` (in file order).
    pub fn tensor_at(&self, index: usize) -> GgufTensor {
        self.row(index)
    }

    /// Returns the name of tensor `index` (in file order).
    pub fn tensor_name(&self, index: usize) -> &str {
        self.table.name(index)
    }

    /// Returns the heap bytes of the tensor table, for the tests that
    /// bound it.
    pub fn table_bytes(&self) -> usize {
        self.table.heap_bytes()
    }

    fn row(&self, row: usize) -> GgufTensor {
        let kind = kind_of_row(&self.table, row);
        let window = self
            .mapped
            .window(
                self.data_start + self.table.offset(row),
                row_size(&self.table, row),
            )
            .expect("the placement check keeps every tensor inside the file");
        let element = kind.element_type().unwrap_or(ElementType::F32);
        let encoding = match kind.element_type() {
            Some(plain) => TensorEncoding::Dense(plain),
            None => TensorEncoding::Ggml(kind),
        };
        GgufTensor {
            spec: TensorSpec {
                name: self.table.name(row).to_string(),
                shape: self.table.shape(row),
                element,
                encoding,
            },
            kind,
            buffer: BufferHandle::Mapped(window),
        }
    }
}

fn kind_of_row(table: &TensorTable, row: usize) -> GgmlType {
    GgmlType::from_id(table.code(row).into()).expect("only ggml ids enter the table")
}

/// Returns the byte size of a row [`read_tensor_infos`] let in (its size
/// was checked to fit by [`check_placement`]).
fn row_size(table: &TensorTable, row: usize) -> u64 {
    table
        .element_count(row)
        .and_then(|count| kind_of_row(table, row).storage_bytes(count))
        .expect("checked when the file was opened")
}

fn read_preamble(cursor: &mut Cursor<'_>) -> Result<u32, FormatError> {
    let magic = cursor.u32("magic")?;
    if magic != MAGIC {
        let kind = FormatErrorKind::BadMagic {
            found: magic.into(),
            expected: MAGIC.into(),
        };
        return Err(error("magic", kind).at(0));
    }
    let version = cursor.u32("version")?;
    if !matches!(version, 2 | 3) {
        let hint = if version.swap_bytes() <= 3 {
            " (a big-endian file?)"
        } else {
            ""
        };
        let kind = FormatErrorKind::UnsupportedVersion {
            found: format!("{version}{hint}"),
            expected: "2 or 3".into(),
        };
        return Err(error("version", kind).at(4));
    }
    Ok(version)
}

fn check_count(
    field: &str,
    count: u64,
    minimum: u64,
    cursor: &Cursor<'_>,
) -> Result<(), FormatError> {
    if count
        .checked_mul(minimum)
        .is_none_or(|bytes| bytes > cursor.remaining())
    {
        let found = format!("{count} with {} bytes left", cursor.remaining());
        return Err(invalid(field, found, "a count the file can hold"));
    }
    Ok(())
}

fn read_metadata(
    cursor: &mut Cursor<'_>,
    releaser: &mut PageReleaser<'_>,
    file: &Arc<MappedFile>,
    count: u64,
) -> Result<Metadata, FormatError> {
    let mut metadata = Metadata::new(file);
    for index in 0..count {
        let at = cursor.position();
        let key = cursor.string(&format!("kv[{index}].key"))?;
        if key.is_empty() || key.chars().any(char::is_control) {
            return Err(invalid(
                format!("kv[{index}].key"),
                key.escape_debug(),
                "a non-empty key without control characters",
            )
            .at(at));
        }
        let value_at = cursor.position();
        let value_type = cursor
            .u32("metadata type")
            .map_err(|error| error.with_key(&key))?;
        metadata::read_value(cursor, file, &key, value_type, 0)?;
        metadata.push(&key, value_at).map_err(|_| {
            let found = "a key-value past 4 GiB into the file";
            invalid(format!("kv[{index}].key"), found, "metadata within 4 GiB").with_key(&key)
        })?;
        releaser.advance_to(cursor.position());
    }
    metadata.seal().map_err(|(_, second)| {
        error(format!("kv[{second}].key"), FormatErrorKind::DuplicateKey)
            .with_key(metadata.key(second))
    })?;
    Ok(metadata)
}

fn alignment_of(metadata: &Metadata) -> Result<u64, FormatError> {
    let Some(value) = metadata.get("general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match value {
        MetadataValue::U32(alignment)
            if alignment.is_power_of_two() && u64::from(alignment) <= MAX_ALIGNMENT =>
        {
            Ok(alignment.into())
        }
        other => Err(invalid(
            "general.alignment",
            format!("{other:?}"),
            "a u32 power of two up to 2^20",
        )
        .with_key("general.alignment")),
    }
}

/// Reads the tensor infos into a [`TensorTable`] (shapes outermost first),
/// checking names (unique, 1 to 64 bytes, no control characters), ranks,
/// type ids and whole-block rows.
fn read_tensor_infos(
    cursor: &mut Cursor<'_>,
    releaser: &mut PageReleaser<'_>,
    count: u64,
) -> Result<TensorTable, FormatError> {
    let mut table = TensorTable::default();
    for index in 0..count {
        let at = cursor.position();
        let field = |name: &str| format!("tensor[{index}].{name}");
        let name = cursor.string(&field("name"))?;
        if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
            return Err(invalid(
                field("name"),
                name.escape_debug(),
                "1 to 64 bytes, no control characters",
            )
            .at(at));
        }
        let bad = |what: &str, found: String, expected: &str| {
            invalid(field(what), found, expected).with_key(&name).at(at)
        };
        let dim_count = cursor.u32(&field("n_dims"))?;
        if dim_count > MAX_DIMS {
            return Err(bad("n_dims", dim_count.to_string(), "at most 4"));
        }
        let mut dims = [0u64; MAX_DIMS as usize];
        for dim in &mut dims[..dim_count as usize] {
            *dim = cursor.u64(&field("dims"))?;
        }
        let dims = &mut dims[..dim_count as usize];
        let type_id = cursor.u32(&field("type"))?;
        let kind = GgmlType::from_id(type_id)
            .ok_or_else(|| bad("type", type_id.to_string(), "a ggml type id"))?;
        if dims
            .first()
            .is_some_and(|&row| row % kind.block_elements() != 0)
        {
            let found = format!("rows of {} {kind} elements", dims[0]);
            return Err(bad(
                "dims",
                found,
                &format!("whole blocks of {}", kind.block_elements()),
            ));
        }
        let offset = cursor.u64(&field("offset"))?;
        dims.reverse();
        let code = u8::try_from(kind.id()).expect("ggml type ids fit in a byte");
        table
            .push(&name, dims, code, offset)
            .map_err(|_| bad("name", "a table past 4 GiB".into(), "a smaller file"))?;
        releaser.advance_to(cursor.position());
    }
    table.seal().map_err(|(_, second)| {
        error(
            format!("tensor[{second}].name"),
            FormatErrorKind::DuplicateKey,
        )
        .with_key(table.name(second))
    })?;
    Ok(table)
}

/// Checks each tensor's size and offset: exactly where llama.cpp's writer
/// puts it (after the previous tensor, padded to the alignment), inside the
/// file.
fn check_placement(
    table: &TensorTable,
    data_start: u64,
    alignment: u64,
    file_length: u64,
) -> Result<(), FormatError> {
    let mut expected_offset = 0u64;
    for row in 0..table.len() {
        let field = |name: &str| format!("tensor[{row}].{name}");
        let name = table.name(row);
        let size = table
            .element_count(row)
            .and_then(|count| kind_of_row(table, row).storage_bytes(count));
        let Some(size) = size else {
            let found = format!("{:?}", table.shape(row));
            return Err(invalid(field("dims"), found, "a size that fits in u64").with_key(name));
        };
        let offset = table.offset(row);
        if offset != expected_offset {
            let found = format!("offset {offset}");
            let expected = format!(
                "offset {expected_offset} (after the previous tensor, aligned to {alignment})"
            );
            return Err(invalid(field("offset"), found, &expected).with_key(name));
        }
        let end = data_start
            .checked_add(offset)
            .and_then(|start| start.checked_add(size));
        if end.is_none_or(|end| end > file_length) {
            let kind = FormatErrorKind::Truncated {
                need: end.unwrap_or(u64::MAX),
                have: file_length,
            };
            return Err(error(field("data"), kind).with_key(name));
        }
        expected_offset = (offset + size)
            .checked_next_multiple_of(alignment)
            .ok_or_else(|| {
                invalid(
                    field("offset"),
                    "a data section past u64::MAX",
                    "a file that fits",
                )
            })?;
    }
    Ok(())
}
