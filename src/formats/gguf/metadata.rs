//! Metadata values: every GGUF value type, arrays (nested ones too) read
//! with their declared counts checked against the bytes left.
//!
//! Memory stays bounded by the file: arrays of numbers stay where they lie
//! (a window of the map, read on demand: a sparse file that declares a
//! gigabyte of them costs neither memory nor time), strings are concatenated
//! with their ends, never one enum value per element.

use std::fmt;
use std::sync::Arc;

use super::cursor::{Cursor, invalid};
use crate::formats::FormatError;
use crate::formats::table::{Names, TableFull};
use crate::tensor::{MappedFile, MappedWindow, PageReleaser};

/// How deep arrays may nest.
const MAX_NESTING: usize = 8;
/// How many arrays an array of arrays may hold: each costs more in memory
/// than its 12 bytes in the file, so their number is capped.
const MAX_NESTED_ARRAYS: usize = 1 << 16;

/// One metadata value.
#[derive(Clone, Debug, PartialEq)]
pub enum MetadataValue {
    /// Type 0.
    U8(u8),
    /// Type 1.
    I8(i8),
    /// Type 2.
    U16(u16),
    /// Type 3.
    I16(i16),
    /// Type 4.
    U32(u32),
    /// Type 5.
    I32(i32),
    /// Type 6.
    F32(f32),
    /// Type 7 (a byte that must be 0 or 1).
    Bool(bool),
    /// Type 8.
    String(String),
    /// Type 9: values of one element type.
    Array(MetadataArray),
    /// Type 10.
    U64(u64),
    /// Type 11.
    I64(i64),
    /// Type 12.
    F64(f64),
}

impl MetadataValue {
    /// Returns the value as an unsigned integer, when it is a non-negative integer.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Self::U8(v) => Some(v.into()),
            Self::U16(v) => Some(v.into()),
            Self::U32(v) => Some(v.into()),
            Self::U64(v) => Some(v),
            Self::I8(v) => u64::try_from(v).ok(),
            Self::I16(v) => u64::try_from(v).ok(),
            Self::I32(v) => u64::try_from(v).ok(),
            Self::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// Returns the value as a float, when it is a number.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Self::F32(v) => Some(v.into()),
            Self::F64(v) => Some(v),
            _ => self.as_u64().map(|v| v as f64),
        }
    }

    /// Returns the string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// Takes the string, when it is one.
    pub fn into_string(self) -> Option<String> {
        match self {
            Self::String(text) => Some(text),
            _ => None,
        }
    }

    /// Takes the elements, when it is an array.
    pub fn into_array(self) -> Option<MetadataArray> {
        match self {
            Self::Array(values) => Some(values),
            _ => None,
        }
    }

    /// Returns the elements, when it is an array.
    pub fn as_array(&self) -> Option<&MetadataArray> {
        match self {
            Self::Array(values) => Some(values),
            _ => None,
        }
    }

    /// Returns the GGUF type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::U8(_) => "u8",
            Self::I8(_) => "i8",
            Self::U16(_) => "u16",
            Self::I16(_) => "i16",
            Self::U32(_) => "u32",
            Self::I32(_) => "i32",
            Self::F32(_) => "f32",
            Self::Bool(_) => "bool",
            Self::String(_) => "string",
            Self::Array(_) => "array",
            Self::U64(_) => "u64",
            Self::I64(_) => "i64",
            Self::F64(_) => "f64",
        }
    }
}

/// The elements of a metadata array.
#[derive(Clone, Debug, PartialEq)]
pub enum MetadataArray {
    /// Numbers or bools, as the file stores them.
    Numbers(Numbers),
    /// Strings.
    String(Strings),
    /// Arrays of arrays.
    Array(Vec<MetadataArray>),
}

/// An array of numbers (or bools, checked to be 0 or 1) of one GGUF type,
/// little-endian where the file holds them.
#[derive(Clone)]
pub struct Numbers {
    value_type: u32,
    window: MappedWindow,
}

impl Numbers {
    /// How many elements.
    pub fn len(&self) -> usize {
        self.window.len() as usize / minimum_size(self.value_type) as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.window.is_empty()
    }

    /// The GGUF type name of the elements.
    pub fn element_type_name(&self) -> &'static str {
        type_name(self.value_type)
    }

    /// The stored bytes.
    pub fn bytes(&self) -> &[u8] {
        self.window.bytes()
    }

    /// The elements as unsigned integers, when they are integers (a
    /// negative one is `None`).
    pub fn unsigned(&self) -> Option<Vec<Option<u64>>> {
        let signed = match self.value_type {
            0 | 2 | 4 | 10 => false,
            1 | 3 | 5 | 11 => true,
            _ => return None,
        };
        let size = minimum_size(self.value_type) as usize;
        let element = |bytes: &[u8]| {
            let mut wide = [0u8; 8];
            wide[..size].copy_from_slice(bytes);
            let value = u64::from_le_bytes(wide);
            // Sign-extended from `size` bytes, a negative value is no u64.
            let shift = 64 - 8 * size as u32;
            let negative = signed && ((value << shift) as i64) < 0;
            (!negative).then_some(value)
        };
        Some(self.bytes().chunks_exact(size).map(element).collect())
    }
}

impl PartialEq for Numbers {
    fn eq(&self, other: &Self) -> bool {
        self.value_type == other.value_type && self.bytes() == other.bytes()
    }
}

impl std::fmt::Debug for Numbers {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "[{}; {}]", self.element_type_name(), self.len())
    }
}

/// Strings stored one after another, with the end of each.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Strings {
    text: String,
    ends: Vec<usize>,
}

impl Strings {
    /// How many strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The strings, in order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .map(|(start, &end)| &self.text[start..end])
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.ends.push(self.text.len());
    }
}

impl MetadataArray {
    /// How many elements.
    pub fn len(&self) -> usize {
        match self {
            Self::Numbers(v) => v.len(),
            Self::String(v) => v.len(),
            Self::Array(v) => v.len(),
        }
    }

    /// Whether it has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The GGUF type name of the elements, for messages.
    pub fn element_type_name(&self) -> &'static str {
        match self {
            Self::Numbers(v) => v.element_type_name(),
            Self::String(_) => "string",
            Self::Array(_) => "array",
        }
    }

    /// The strings, when the elements are strings.
    pub fn into_strings(self) -> Option<Strings> {
        match self {
            Self::String(strings) => Some(strings),
            _ => None,
        }
    }

    /// The elements, when they are strings.
    pub fn as_strings(&self) -> Option<&Strings> {
        match self {
            Self::String(strings) => Some(strings),
            _ => None,
        }
    }

    /// The elements as unsigned integers, when they are integers (a negative
    /// one is `None`).
    pub fn unsigned(&self) -> Option<Vec<Option<u64>>> {
        match self {
            Self::Numbers(numbers) => numbers.unsigned(),
            _ => None,
        }
    }
}

/// The GGUF name of a value type (of one known to [`minimum_size`]).
fn type_name(value_type: u32) -> &'static str {
    match value_type {
        0 => "u8",
        1 => "i8",
        2 => "u16",
        3 => "i16",
        4 => "u32",
        5 => "i32",
        6 => "f32",
        7 => "bool",
        8 => "string",
        9 => "array",
        10 => "u64",
        11 => "i64",
        12 => "f64",
        _ => "unknown",
    }
}

/// The fewest bytes a value of `value_type` takes (0 for unknown types).
fn minimum_size(value_type: u32) -> u64 {
    match value_type {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        8 | 10..=12 => 8,
        9 => 12,
        _ => 0,
    }
}

/// Reads one value of `value_type` for `key`.
pub(super) fn read_value(
    cursor: &mut Cursor<'_>,
    file: &Arc<MappedFile>,
    key: &str,
    value_type: u32,
    depth: usize,
) -> Result<MetadataValue, FormatError> {
    let field = "metadata value";
    let bad = |found: String, expected: &str| invalid(field, found, expected).with_key(key);
    Ok(match value_type {
        0 => MetadataValue::U8(cursor.u8(field)?),
        1 => MetadataValue::I8(cursor.u8(field)? as i8),
        2 => MetadataValue::U16(cursor.u16(field)?),
        3 => MetadataValue::I16(cursor.u16(field)? as i16),
        4 => MetadataValue::U32(cursor.u32(field)?),
        5 => MetadataValue::I32(cursor.u32(field)? as i32),
        6 => MetadataValue::F32(f32::from_bits(cursor.u32(field)?)),
        7 => match cursor.u8(field)? {
            0 => MetadataValue::Bool(false),
            1 => MetadataValue::Bool(true),
            other => return Err(bad(format!("bool byte {other}"), "0 or 1")),
        },
        8 => MetadataValue::String(cursor.string(field).map_err(|error| error.with_key(key))?),
        9 => MetadataValue::Array(read_array(cursor, file, key, depth)?),
        10 => MetadataValue::U64(cursor.u64(field)?),
        11 => MetadataValue::I64(cursor.u64(field)? as i64),
        12 => MetadataValue::F64(f64::from_bits(cursor.u64(field)?)),
        other => {
            return Err(bad(
                format!("value type {other}"),
                "a GGUF value type 0 to 12",
            ));
        }
    })
}

fn read_array(
    cursor: &mut Cursor<'_>,
    file: &Arc<MappedFile>,
    key: &str,
    depth: usize,
) -> Result<MetadataArray, FormatError> {
    if depth >= MAX_NESTING {
        return Err(invalid(
            "metadata value",
            format!("arrays nested {} deep", depth + 1),
            "at most 8 levels",
        )
        .with_key(key));
    }
    let element_type = cursor.u32("array type")?;
    let count = cursor.u64("array length")?;
    let minimum = minimum_size(element_type);
    if minimum == 0 {
        return Err(invalid("array type", element_type, "a GGUF value type 0 to 12").with_key(key));
    }
    // Never allocate for a count the remaining bytes cannot hold.
    if count
        .checked_mul(minimum)
        .is_none_or(|bytes| bytes > cursor.remaining())
    {
        let found = format!("{count} elements with {} bytes left", cursor.remaining());
        return Err(invalid("array length", found, "an array inside the file").with_key(key));
    }
    match element_type {
        8 => read_strings(cursor, key, count),
        9 => read_arrays(cursor, file, key, count, depth),
        _ => read_numbers(cursor, file, key, element_type, count * minimum),
    }
}

/// Numbers stay in the file: their window, bools checked to be 0 or 1.
fn read_numbers(
    cursor: &mut Cursor<'_>,
    file: &Arc<MappedFile>,
    key: &str,
    value_type: u32,
    length: u64,
) -> Result<MetadataArray, FormatError> {
    let offset = cursor.position();
    let bytes = cursor.take("metadata value", length)?;
    if value_type == 7 {
        if let Some(bad) = bytes.iter().position(|&byte| byte > 1) {
            let found = format!("bool byte {}", bytes[bad]);
            return Err(invalid("metadata value", found, "0 or 1")
                .with_key(key)
                .at(offset + bad as u64));
        }
    }
    let window = file
        .window(offset, length)
        .expect("the cursor read these bytes of the file");
    Ok(MetadataArray::Numbers(Numbers { value_type, window }))
}

fn read_strings(
    cursor: &mut Cursor<'_>,
    key: &str,
    count: u64,
) -> Result<MetadataArray, FormatError> {
    let mut strings = Strings::default();
    for _ in 0..count {
        let text = cursor
            .string("metadata value")
            .map_err(|error| error.with_key(key))?;
        strings.push(&text);
    }
    Ok(MetadataArray::String(strings))
}

fn read_arrays(
    cursor: &mut Cursor<'_>,
    file: &Arc<MappedFile>,
    key: &str,
    count: u64,
    depth: usize,
) -> Result<MetadataArray, FormatError> {
    if count > MAX_NESTED_ARRAYS as u64 {
        let found = format!("{count} nested arrays");
        return Err(invalid("array length", found, "at most 65536 arrays of arrays").with_key(key));
    }
    let mut arrays = Vec::with_capacity(count as usize);
    for _ in 0..count {
        arrays.push(read_array(cursor, file, key, depth + 1)?);
    }
    Ok(MetadataArray::Array(arrays))
}

/// A file's key-values: the keys in a [`Names`] arena, each value read from
/// the map again when asked for (it was checked when the file was opened).
/// 12 bytes a key-value beside its key, where the file spends at least 13,
/// so that a flood of tiny key-values costs no more than the file. (Hence
/// key-values must lie in the first 4 GiB of the file: llama.cpp's largest
/// tokenizers take tens of MB.)
pub struct Metadata {
    mapped: Arc<MappedFile>,
    keys: Names,
    /// The file offset of each value's type field.
    values: Vec<u32>,
}

impl Metadata {
    pub(super) fn new(mapped: &Arc<MappedFile>) -> Self {
        Self {
            mapped: Arc::clone(mapped),
            keys: Names::default(),
            values: Vec::new(),
        }
    }

    /// Keeps a key whose value (type field first) starts at `value_at`.
    pub(super) fn push(&mut self, key: &str, value_at: u64) -> Result<(), TableFull> {
        let value_at = u32::try_from(value_at).map_err(|_| TableFull)?;
        self.keys.push(key)?;
        self.values.push(value_at);
        Ok(())
    }

    /// Makes the key index; `Err((first, second))` names a repeated key.
    pub(super) fn seal(&mut self) -> Result<(), (usize, usize)> {
        self.values.shrink_to_fit();
        self.keys.seal()
    }

    /// Returns key `row`.
    pub(super) fn key(&self, row: usize) -> &str {
        self.keys.get(row)
    }

    /// Returns the number of key-values.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Returns whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Returns the value of `key`.
    pub fn get(&self, key: &str) -> Option<MetadataValue> {
        self.keys.find(key).map(|row| self.value(row))
    }

    /// Returns every key-value in file order. The pages read are given back
    /// as it goes, so listing a huge header does not make it resident.
    pub fn iter(&self) -> impl Iterator<Item = (&str, MetadataValue)> + '_ {
        let mut releaser = PageReleaser::new(&self.mapped);
        (0..self.len()).map(move |row| {
            releaser.advance_to(self.values[row].into());
            (self.key(row), self.value(row))
        })
    }

    /// Returns the heap bytes held, for the tests that bound it.
    pub fn heap_bytes(&self) -> usize {
        self.keys.heap_bytes() + 4 * self.values.capacity()
    }

    fn value(&self, row: usize) -> MetadataValue {
        let mut cursor = Cursor::at(self.mapped.bytes(), self.values[row].into());
        let key = self.key(row);
        cursor
            .u32("metadata type")
            .and_then(|value_type| read_value(&mut cursor, &self.mapped, key, value_type, 0))
            .expect("read once when the file was opened")
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_list().entries(self.iter()).finish()
    }
}
