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

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use cursor::{Cursor, error, invalid};
pub use metadata::{MetadataArray, MetadataValue, Numbers, Strings};

use super::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::GgmlType;
use crate::tensor::{BufferHandle, MappedFile, TensorEncoding, TensorSpec};

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

/// A parsed GGUF file.
#[derive(Debug)]
pub struct Gguf {
    /// 2 or 3.
    pub version: u32,
    /// Key-values in file order.
    pub metadata: Vec<(String, MetadataValue)>,
    /// Tensors in file order.
    pub tensors: Vec<GgufTensor>,
    /// The data alignment.
    pub alignment: u64,
    /// File offset of the data section.
    pub data_start: u64,
}

/// A tensor info before its data range is checked.
struct TensorInfo {
    name: String,
    dims: Vec<u64>,
    kind: GgmlType,
    offset: u64,
    at: u64,
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
        let metadata = read_metadata(&mut cursor, mapped, kv_count)?;
        check_count("tensor_count", tensor_count, 24, &cursor)?;
        let alignment = alignment_of(&metadata)?;
        let infos = read_tensor_infos(&mut cursor, tensor_count)?;
        let data_start = cursor.position().next_multiple_of(alignment);
        let tensors = place_tensors(mapped, infos, data_start, alignment)?;
        Ok(Self {
            version,
            metadata,
            tensors,
            alignment,
            data_start,
        })
    }

    /// Returns the metadata value of `key`.
    pub fn get(&self, key: &str) -> Option<&MetadataValue> {
        self.metadata
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Returns the tensor named `name`.
    pub fn tensor(&self, name: &str) -> Option<&GgufTensor> {
        self.tensors.iter().find(|tensor| tensor.spec.name == name)
    }
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

/// How many key-values or tensor infos are allocated for before they are
/// read: a declared count only bounds them (a sparse file's zeros pass the
/// bytes-left check), the entries actually read grow the vectors.
const PREALLOCATED_ENTRIES: u64 = 4096;

fn read_metadata(
    cursor: &mut Cursor<'_>,
    file: &Arc<MappedFile>,
    count: u64,
) -> Result<Vec<(String, MetadataValue)>, FormatError> {
    let capacity = count.min(PREALLOCATED_ENTRIES) as usize;
    let mut seen = HashSet::with_capacity(capacity);
    let mut metadata = Vec::with_capacity(capacity);
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
        if !seen.insert(key.clone()) {
            return Err(
                error(format!("kv[{index}].key"), FormatErrorKind::DuplicateKey)
                    .with_key(key)
                    .at(at),
            );
        }
        let value_type = cursor
            .u32("metadata type")
            .map_err(|error| error.with_key(&key))?;
        let value = metadata::read_value(cursor, file, &key, value_type, 0)?;
        metadata.push((key, value));
    }
    Ok(metadata)
}

fn alignment_of(metadata: &[(String, MetadataValue)]) -> Result<u64, FormatError> {
    let Some((_, value)) = metadata.iter().find(|(key, _)| key == "general.alignment") else {
        return Ok(DEFAULT_ALIGNMENT);
    };
    match value {
        MetadataValue::U32(alignment)
            if alignment.is_power_of_two() && u64::from(*alignment) <= MAX_ALIGNMENT =>
        {
            Ok((*alignment).into())
        }
        other => Err(invalid(
            "general.alignment",
            format!("{other:?}"),
            "a u32 power of two up to 2^20",
        )
        .with_key("general.alignment")),
    }
}

fn read_tensor_infos(cursor: &mut Cursor<'_>, count: u64) -> Result<Vec<TensorInfo>, FormatError> {
    let capacity = count.min(PREALLOCATED_ENTRIES) as usize;
    let mut seen = HashSet::with_capacity(capacity);
    let mut infos = Vec::with_capacity(capacity);
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
        if !seen.insert(name.clone()) {
            return Err(error(field("name"), FormatErrorKind::DuplicateKey)
                .with_key(name)
                .at(at));
        }
        let bad = |what: &str, found: String, expected: &str| {
            invalid(field(what), found, expected).with_key(&name).at(at)
        };
        let dim_count = cursor.u32(&field("n_dims"))?;
        if dim_count > MAX_DIMS {
            return Err(bad("n_dims", dim_count.to_string(), "at most 4"));
        }
        let dims = (0..dim_count)
            .map(|_| cursor.u64(&field("dims")))
            .collect::<Result<Vec<u64>, _>>()?;
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
        infos.push(TensorInfo {
            name,
            dims,
            kind,
            offset,
            at,
        });
    }
    Ok(infos)
}

/// Checks each tensor's size and offset (exactly where llama.cpp's writer
/// puts it: after the previous tensor, padded to the alignment) and makes
/// its window.
fn place_tensors(
    mapped: &Arc<MappedFile>,
    infos: Vec<TensorInfo>,
    data_start: u64,
    alignment: u64,
) -> Result<Vec<GgufTensor>, FormatError> {
    let file_length = mapped.bytes().len() as u64;
    let mut expected_offset = 0u64;
    let mut tensors = Vec::with_capacity(infos.len());
    for (index, info) in infos.into_iter().enumerate() {
        let field = |name: &str| format!("tensor[{index}].{name}");
        let elements = info
            .dims
            .iter()
            .try_fold(1u64, |count, &dim| count.checked_mul(dim));
        let size = elements.and_then(|count| info.kind.storage_bytes(count));
        let Some(size) = size else {
            return Err(invalid(
                field("dims"),
                format!("{:?}", info.dims),
                "a size that fits in u64",
            )
            .with_key(&info.name)
            .at(info.at));
        };
        if info.offset != expected_offset {
            let found = format!("offset {}", info.offset);
            let expected = format!(
                "offset {expected_offset} (after the previous tensor, aligned to {alignment})"
            );
            return Err(invalid(field("offset"), found, &expected)
                .with_key(&info.name)
                .at(info.at));
        }
        let start = data_start.checked_add(info.offset);
        let end = start.and_then(|start| start.checked_add(size));
        let window = start
            .zip(end)
            .filter(|&(_, end)| end <= file_length)
            .and_then(|(start, _)| mapped.window(start, size));
        let Some(window) = window else {
            let need = end.unwrap_or(u64::MAX);
            let kind = FormatErrorKind::Truncated {
                need,
                have: file_length,
            };
            return Err(error(field("data"), kind).with_key(&info.name));
        };
        expected_offset = (info.offset + size)
            .checked_next_multiple_of(alignment)
            .ok_or_else(|| {
                invalid(
                    field("offset"),
                    "a data section past u64::MAX",
                    "a file that fits",
                )
            })?;
        let shape: Vec<u64> = info.dims.iter().rev().copied().collect();
        let element = info
            .kind
            .element_type()
            .unwrap_or(crate::tensor::ElementType::F32);
        let encoding = match info.kind.element_type() {
            Some(plain) => TensorEncoding::Dense(plain),
            None => TensorEncoding::Ggml(info.kind),
        };
        tensors.push(GgufTensor {
            spec: TensorSpec {
                name: info.name,
                shape,
                element,
                encoding,
            },
            kind: info.kind,
            buffer: BufferHandle::Mapped(window),
        });
    }
    Ok(tensors)
}
