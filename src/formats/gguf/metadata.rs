//! Metadata values: every GGUF value type, arrays (nested ones too) read
//! with their declared counts checked against the bytes left.
//!
//! Memory stays bounded by the file: arrays are stored as compactly as the
//! file stores them (numbers in typed vectors, strings concatenated with
//! their ends), never as one enum value per element, so a metadata array
//! costs about its bytes in the file however many elements it declares.

use super::cursor::{Cursor, invalid};
use crate::formats::FormatError;

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

/// The elements of a metadata array, stored by element type.
#[derive(Clone, Debug, PartialEq)]
pub enum MetadataArray {
    /// u8 elements.
    U8(Vec<u8>),
    /// i8 elements.
    I8(Vec<i8>),
    /// u16 elements.
    U16(Vec<u16>),
    /// i16 elements.
    I16(Vec<i16>),
    /// u32 elements.
    U32(Vec<u32>),
    /// i32 elements.
    I32(Vec<i32>),
    /// f32 elements.
    F32(Vec<f32>),
    /// bool elements.
    Bool(Vec<bool>),
    /// string elements.
    String(Strings),
    /// u64 elements.
    U64(Vec<u64>),
    /// i64 elements.
    I64(Vec<i64>),
    /// f64 elements.
    F64(Vec<f64>),
    /// Arrays of arrays.
    Array(Vec<MetadataArray>),
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
            Self::U8(v) => v.len(),
            Self::I8(v) => v.len(),
            Self::U16(v) => v.len(),
            Self::I16(v) => v.len(),
            Self::U32(v) => v.len(),
            Self::I32(v) => v.len(),
            Self::F32(v) => v.len(),
            Self::Bool(v) => v.len(),
            Self::String(v) => v.len(),
            Self::U64(v) => v.len(),
            Self::I64(v) => v.len(),
            Self::F64(v) => v.len(),
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
            Self::U8(_) => "u8",
            Self::I8(_) => "i8",
            Self::U16(_) => "u16",
            Self::I16(_) => "i16",
            Self::U32(_) => "u32",
            Self::I32(_) => "i32",
            Self::F32(_) => "f32",
            Self::Bool(_) => "bool",
            Self::String(_) => "string",
            Self::U64(_) => "u64",
            Self::I64(_) => "i64",
            Self::F64(_) => "f64",
            Self::Array(_) => "array",
        }
    }

    /// The strings, when the elements are strings.
    pub fn as_strings(&self) -> Option<&Strings> {
        match self {
            Self::String(strings) => Some(strings),
            _ => None,
        }
    }

    /// The elements as unsigned integers, when they are integers (a negative
    /// one is `None`).
    pub fn unsigned(&self) -> Option<Vec<Option<u64>>> {
        fn all<T: Copy>(values: &[T], to: impl Fn(T) -> Option<u64>) -> Option<Vec<Option<u64>>> {
            Some(values.iter().map(|&v| to(v)).collect())
        }
        match self {
            Self::U8(v) => all(v, |x| Some(x.into())),
            Self::U16(v) => all(v, |x| Some(x.into())),
            Self::U32(v) => all(v, |x| Some(x.into())),
            Self::U64(v) => all(v, Some),
            Self::I8(v) => all(v, |x| u64::try_from(x).ok()),
            Self::I16(v) => all(v, |x| u64::try_from(x).ok()),
            Self::I32(v) => all(v, |x| u64::try_from(x).ok()),
            Self::I64(v) => all(v, |x| u64::try_from(x).ok()),
            _ => None,
        }
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
        9 => read_array(cursor, key, depth)?,
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
    key: &str,
    depth: usize,
) -> Result<MetadataValue, FormatError> {
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
    read_elements(cursor, key, element_type, count, depth).map(MetadataValue::Array)
}

/// Reads `count` elements of `element_type` (the count already checked
/// against the bytes left) into their typed vector.
fn read_elements(
    cursor: &mut Cursor<'_>,
    key: &str,
    element_type: u32,
    count: u64,
    depth: usize,
) -> Result<MetadataArray, FormatError> {
    let field = "metadata value";
    let count = count as usize;
    macro_rules! numbers {
        ($variant:ident, $read:expr) => {{
            let mut values = Vec::with_capacity(count);
            for _ in 0..count {
                values.push($read(cursor)?);
            }
            MetadataArray::$variant(values)
        }};
    }
    Ok(match element_type {
        0 => numbers!(U8, |c: &mut Cursor<'_>| c.u8(field)),
        1 => numbers!(I8, |c: &mut Cursor<'_>| c.u8(field).map(|v| v as i8)),
        2 => numbers!(U16, |c: &mut Cursor<'_>| c.u16(field)),
        3 => numbers!(I16, |c: &mut Cursor<'_>| c.u16(field).map(|v| v as i16)),
        4 => numbers!(U32, |c: &mut Cursor<'_>| c.u32(field)),
        5 => numbers!(I32, |c: &mut Cursor<'_>| c.u32(field).map(|v| v as i32)),
        6 => numbers!(F32, |c: &mut Cursor<'_>| c.u32(field).map(f32::from_bits)),
        7 => numbers!(
            Bool,
            |c: &mut Cursor<'_>| match read_value(c, key, 7, depth)? {
                MetadataValue::Bool(b) => Ok(b),
                _ => unreachable!("type 7 reads a bool"),
            }
        ),
        8 => {
            let mut strings = Strings::default();
            for _ in 0..count {
                let text = cursor.string(field).map_err(|error| error.with_key(key))?;
                strings.push(&text);
            }
            MetadataArray::String(strings)
        }
        9 => {
            if count > MAX_NESTED_ARRAYS {
                let found = format!("{count} nested arrays");
                return Err(
                    invalid("array length", found, "at most 65536 arrays of arrays").with_key(key),
                );
            }
            let mut arrays = Vec::with_capacity(count);
            for _ in 0..count {
                let MetadataValue::Array(inner) = read_array(cursor, key, depth + 1)? else {
                    unreachable!("read_array reads an array");
                };
                arrays.push(inner);
            }
            MetadataArray::Array(arrays)
        }
        10 => numbers!(U64, |c: &mut Cursor<'_>| c.u64(field)),
        11 => numbers!(I64, |c: &mut Cursor<'_>| c.u64(field).map(|v| v as i64)),
        12 => numbers!(F64, |c: &mut Cursor<'_>| c.u64(field).map(f64::from_bits)),
        other => unreachable!("element type {other} was checked by minimum_size"),
    })
}
