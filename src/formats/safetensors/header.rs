//! The header: its length prefix, its JSON, and every rule a checkpoint
//! must meet before a single window is made.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::formats::table::TensorTable;
use crate::formats::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::{ElementType, MappedFile, PageReleaser, TensorEncoding};

/// The largest header accepted (the reference crate's limit).
pub const MAX_HEADER_SIZE: u64 = 100_000_000;
/// Tensor names longer than this are refused.
const MAX_NAME_BYTES: usize = 4096;
/// Shapes of more dimensions than this are refused.
const MAX_RANK: usize = 64;

pub(super) fn error(field: impl Into<String>, kind: FormatErrorKind) -> FormatError {
    FormatError::new(FormatName::Safetensors, field, kind)
}

pub(super) fn invalid(
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

/// The dtypes of the format, as their on-disk strings name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dtype {
    /// `BOOL`
    Bool,
    /// `U8`
    U8,
    /// `I8`
    I8,
    /// `U16`
    U16,
    /// `I16`
    I16,
    /// `U32`
    U32,
    /// `I32`
    I32,
    /// `U64`
    U64,
    /// `I64`
    I64,
    /// `F16`
    F16,
    /// `BF16`
    BF16,
    /// `F32`
    F32,
    /// `F64`
    F64,
    /// `C64`
    C64,
    /// `F8_E4M3`
    F8E4M3,
    /// `F8_E5M2`
    F8E5M2,
    /// `F8_E8M0`
    F8E8M0,
    /// `F6_E2M3`
    F6E2M3,
    /// `F6_E3M2`
    F6E3M2,
    /// `F4`
    F4,
}

impl Dtype {
    const ALL: [(&'static str, Self); 20] = [
        ("BOOL", Self::Bool),
        ("U8", Self::U8),
        ("I8", Self::I8),
        ("U16", Self::U16),
        ("I16", Self::I16),
        ("U32", Self::U32),
        ("I32", Self::I32),
        ("U64", Self::U64),
        ("I64", Self::I64),
        ("F16", Self::F16),
        ("BF16", Self::BF16),
        ("F32", Self::F32),
        ("F64", Self::F64),
        ("C64", Self::C64),
        ("F8_E4M3", Self::F8E4M3),
        ("F8_E5M2", Self::F8E5M2),
        ("F8_E8M0", Self::F8E8M0),
        ("F6_E2M3", Self::F6E2M3),
        ("F6_E3M2", Self::F6E3M2),
        ("F4", Self::F4),
    ];

    /// Looks a dtype up by its on-disk string.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(text, _)| *text == name)
            .map(|&(_, dtype)| dtype)
    }

    /// Returns the dtype's code in a [`TensorTable`]: its index in the list.
    pub(super) fn code(self) -> u8 {
        Self::ALL
            .iter()
            .position(|&(_, dtype)| dtype == self)
            .unwrap() as u8
    }

    /// Returns the dtype of a [`TensorTable`] code.
    pub(super) fn from_code(code: u8) -> Self {
        Self::ALL[code as usize].1
    }

    /// Returns the byte size of `elements` elements, or `None` when it
    /// overflows or packed elements do not fill whole bytes.
    pub fn storage_bytes(self, elements: u64) -> Option<u64> {
        TensorEncoding::Dense(self.element_type()).storage_bytes(elements)
    }

    /// Returns the on-disk string.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, dtype)| *dtype == self)
            .map(|&(text, _)| text)
            .unwrap()
    }

    /// Returns the element type irex computes with.
    pub fn element_type(self) -> ElementType {
        match self {
            Self::Bool => ElementType::Bool,
            Self::U8 => ElementType::U8,
            Self::I8 => ElementType::I8,
            Self::U16 => ElementType::U16,
            Self::I16 => ElementType::I16,
            Self::U32 => ElementType::U32,
            Self::I32 => ElementType::I32,
            Self::U64 => ElementType::U64,
            Self::I64 => ElementType::I64,
            Self::F16 => ElementType::F16,
            Self::BF16 => ElementType::BF16,
            Self::F32 => ElementType::F32,
            Self::F64 => ElementType::F64,
            Self::C64 => ElementType::C64,
            Self::F8E4M3 => ElementType::F8E4M3,
            Self::F8E5M2 => ElementType::F8E5M2,
            Self::F8E8M0 => ElementType::F8E8M0,
            Self::F6E2M3 => ElementType::F6E2M3,
            Self::F6E3M2 => ElementType::F6E3M2,
            Self::F4 => ElementType::F4E2M1,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// One tensor's header entry, validated; offsets relative to the data.
/// It lives only while its entry is read: the table keeps the rest.
#[derive(Debug)]
struct HeaderEntry {
    name: String,
    dtype: Dtype,
    shape: Vec<u64>,
    begin: u64,
    end: u64,
}

/// A parsed header. Its tensors are rows of the caller's table, their
/// layout checked by [`check_layout`] once duplicate names are ruled out.
#[derive(Debug)]
pub(super) struct Header {
    /// File offset of the data section: 8 + header length.
    pub data_start: u64,
    /// The bytes of the data section.
    pub data_length: u64,
    /// The `__metadata__` pairs, in file order.
    pub metadata: MetadataPairs,
}

/// The `__metadata__` string pairs, in file order.
type MetadataPairs = Vec<(String, String)>;

/// The header's tensors and metadata, converted entry by entry as the JSON
/// is read, so that at most one entry's JSON value exists at a time (the
/// whole header as `serde_json::Value`s costs ~20 times its bytes).
struct Entries<'t> {
    table: &'t mut TensorTable,
    metadata: Option<MetadataPairs>,
}

impl Entries<'_> {
    /// Checks and keeps one top-level pair. Duplicate tensor names are
    /// refused when the table is sealed (serde_json's maps would keep only
    /// the last), a second `__metadata__` here.
    fn add(&mut self, name: String, value: Value) -> Result<(), FormatError> {
        if name == "__metadata__" {
            if self.metadata.is_some() {
                return Err(error("tensor", FormatErrorKind::DuplicateKey).with_key(&name));
            }
            self.metadata = Some(metadata_pairs(value)?);
            return Ok(());
        }
        check_name(&name)?;
        let entry = entry(name, value)?;
        check_size(&entry)?;
        self.table
            .push(&entry.name, &entry.shape, entry.dtype.code(), entry.begin)
            .map_err(|_| {
                invalid("tensor", "more than 4 GiB of names", "a smaller checkpoint")
                    .with_key(&entry.name)
            })
    }
}

/// Reads the top-level object into [`Entries`]; the first refused entry is
/// left in `refused` (and stops the parse).
struct EntriesSeed<'e, 't> {
    entries: &'e mut Entries<'t>,
    refused: &'e mut Option<FormatError>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            if let Err(refusal) = self.entries.add(name, value) {
                *self.refused = Some(refusal);
                return Err(serde::de::Error::custom("refused entry"));
            }
        }
        Ok(())
    }
}

/// Reads the header's JSON from the map, giving what it has read back to
/// the kernel as it goes ([`PageReleaser`]), so that a header at the
/// 100 MB cap is never resident whole beside the table made from it.
struct ReleasingReader<'m> {
    mapped: &'m MappedFile,
    position: u64,
    end: u64,
    releaser: PageReleaser<'m>,
}

impl std::io::Read for ReleasingReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let bytes = &self.mapped.bytes()[self.position as usize..self.end as usize];
        let count = bytes.len().min(buffer.len());
        buffer[..count].copy_from_slice(&bytes[..count]);
        self.position += count as u64;
        self.releaser.advance_to(self.position);
        Ok(count)
    }
}

/// Parses and validates the header of a whole checkpoint file, adding its
/// tensors to `table` (rows from `table.len()` on); their ranges are checked
/// by [`check_layout`].
pub(super) fn parse(mapped: &MappedFile, table: &mut TensorTable) -> Result<Header, FormatError> {
    let file = mapped.bytes();
    let have = file.len() as u64;
    let Some(prefix) = file.get(..8) else {
        return Err(error(
            "header_size",
            FormatErrorKind::Truncated { need: 8, have },
        ));
    };
    let length = u64::from_le_bytes(prefix.try_into().unwrap());
    if length > MAX_HEADER_SIZE {
        return Err(invalid("header_size", length, "at most 100000000 bytes").at(0));
    }
    let data_start = 8 + length;
    if data_start > have {
        return Err(error(
            "header_size",
            FormatErrorKind::Truncated {
                need: data_start,
                have,
            },
        )
        .at(0));
    }
    let reader = ReleasingReader {
        mapped,
        position: 8,
        end: data_start,
        releaser: PageReleaser::new(mapped),
    };
    let mut deserializer =
        serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, reader));
    let mut refused = None;
    let mut entries = Entries {
        table,
        metadata: None,
    };
    let seed = EntriesSeed {
        entries: &mut entries,
        refused: &mut refused,
    };
    let parsed = seed
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    mapped.release(0, data_start);
    match (parsed, refused) {
        (Ok(()), _) => {}
        (Err(_), Some(refusal)) => return Err(refusal),
        (Err(source), None) => {
            return Err(invalid("header", source, "a JSON object of tensors").at(8));
        }
    }
    Ok(Header {
        data_start,
        data_length: have - data_start,
        metadata: entries.metadata.take().unwrap_or_default(),
    })
}

fn metadata_pairs(value: Value) -> Result<MetadataPairs, FormatError> {
    let Value::Object(map) = value else {
        return Err(invalid(
            "__metadata__",
            kind_of(&value),
            "an object of strings",
        ));
    };
    map.into_iter()
        .map(|(key, value)| match value {
            Value::String(text) => Ok((key, text)),
            other => Err(invalid("__metadata__", kind_of(&other), "a string").with_key(key)),
        })
        .collect()
}

fn check_name(name: &str) -> Result<(), FormatError> {
    if name.is_empty() || name.len() > MAX_NAME_BYTES || name.chars().any(char::is_control) {
        let found = format!(
            "a name of {} bytes with control characters or none at all",
            name.len()
        );
        return Err(
            invalid("name", found, "1 to 4096 bytes, no control characters").with_key(name),
        );
    }
    Ok(())
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn entry(name: String, value: Value) -> Result<HeaderEntry, FormatError> {
    let bad = |field: &str, found: String, expected: &str| {
        invalid(field, found, expected).with_key(&name)
    };
    let Value::Object(fields) = value else {
        return Err(bad("tensor", kind_of(&value).into(), "an object"));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|key| !matches!(key.as_str(), "dtype" | "shape" | "data_offsets"))
    {
        return Err(bad(
            "tensor",
            format!("field `{unknown}`"),
            "dtype, shape and data_offsets only",
        ));
    }
    let dtype = match fields.get("dtype") {
        Some(Value::String(text)) => Dtype::from_name(text)
            .ok_or_else(|| bad("dtype", text.clone(), "a safetensors dtype"))?,
        other => {
            return Err(bad(
                "dtype",
                other.map_or("nothing", kind_of).into(),
                "a string",
            ));
        }
    };
    let shape = match fields.get("shape") {
        Some(Value::Array(dims)) if dims.len() <= MAX_RANK => dims
            .iter()
            .map(|dim| {
                dim.as_u64()
                    .ok_or_else(|| bad("shape", dim.to_string(), "non-negative integers"))
            })
            .collect::<Result<Vec<u64>, _>>()?,
        other => {
            return Err(bad(
                "shape",
                other.map_or("nothing".into(), |v| v.to_string()),
                "an array of at most 64 integers",
            ));
        }
    };
    let offsets = match fields.get("data_offsets") {
        Some(Value::Array(pair)) if pair.len() == 2 => (pair[0].as_u64(), pair[1].as_u64()),
        other => {
            return Err(bad(
                "data_offsets",
                other.map_or("nothing".into(), |v| v.to_string()),
                "[begin, end]",
            ));
        }
    };
    let (Some(begin), Some(end)) = offsets else {
        return Err(bad(
            "data_offsets",
            format!("{offsets:?}"),
            "two non-negative integers",
        ));
    };
    Ok(HeaderEntry {
        name,
        dtype,
        shape,
        begin,
        end,
    })
}

/// Checks an entry's size: its shape's element count and byte size fit in
/// u64, its range begins before it ends and holds exactly those bytes.
fn check_size(tensor: &HeaderEntry) -> Result<(), FormatError> {
    let bad = |field: &str, found: String, expected: String| {
        invalid(field, found, &expected).with_key(&tensor.name)
    };
    let elements = tensor
        .shape
        .iter()
        .try_fold(1u64, |count, &dim| count.checked_mul(dim));
    let Some(elements) = elements else {
        return Err(bad(
            "shape",
            format!("{:?}", tensor.shape),
            "an element count that fits in u64".into(),
        ));
    };
    let Some(size) = tensor.dtype.storage_bytes(elements) else {
        let found = format!("{elements} {} elements", tensor.dtype);
        return Err(bad(
            "shape",
            found,
            "a size in whole bytes that fits in u64".into(),
        ));
    };
    if tensor.begin > tensor.end {
        let found = format!("[{}, {}]", tensor.begin, tensor.end);
        return Err(bad("data_offsets", found, "begin ≤ end".into()));
    }
    if tensor.end - tensor.begin != size {
        let found = format!("{} bytes", tensor.end - tensor.begin);
        return Err(bad(
            "data_offsets",
            found,
            format!("{size} bytes for {:?} {}", tensor.shape, tensor.dtype),
        ));
    }
    Ok(())
}

/// Returns the byte size of a row [`check_size`] let into the table.
pub(super) fn row_size(table: &TensorTable, row: usize) -> u64 {
    let elements = table
        .element_count(row)
        .expect("checked when the row was added");
    Dtype::from_code(table.code(row))
        .storage_bytes(elements)
        .expect("checked when the row was added")
}

/// Checks that the ranges of `rows` tile `0..data_length`
/// exactly (no gap, no overlap, no trailing or missing bytes) and returns
/// those rows in data order.
pub(super) fn check_layout(
    table: &TensorTable,
    rows: std::ops::Range<usize>,
    data_length: u64,
) -> Result<Vec<u32>, FormatError> {
    let mut order: Vec<u32> = (rows.start as u32..rows.end as u32).collect();
    order.sort_unstable_by_key(|&row| (table.offset(row as usize), row_size(table, row as usize)));
    let mut cursor = 0u64;
    for &row in &order {
        let row = row as usize;
        let begin = table.offset(row);
        if begin != cursor {
            let what = if begin < cursor {
                "overlaps the tensor before it"
            } else {
                "leaves a gap"
            };
            let found = format!("begin {begin} ({what})");
            return Err(invalid("data_offsets", found, &format!("begin {cursor}"))
                .with_key(table.name(row)));
        }
        cursor = begin + row_size(table, row);
    }
    if cursor != data_length {
        let kind = if cursor > data_length {
            FormatErrorKind::Truncated {
                need: cursor,
                have: data_length,
            }
        } else {
            FormatErrorKind::InvalidValue {
                found: format!("{} trailing bytes", data_length - cursor),
                expected: "data that ends with the last tensor".into(),
            }
        };
        return Err(error("data", kind));
    }
    Ok(order)
}
