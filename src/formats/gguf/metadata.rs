//! Metadata values: every GGUF value type, arrays (nested ones too) read
//! with their declared counts checked against the bytes left.

use super::cursor::{Cursor, invalid};
use crate::formats::FormatError;

/// How deep arrays may nest.
const MAX_NESTING: usize = 8;

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
    Array(Vec<MetadataValue>),
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
    pub fn as_array(&self) -> Option<&[MetadataValue]> {
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
    let mut values = Vec::with_capacity(count as usize);
    for _ in 0..count {
        values.push(read_value(cursor, key, element_type, depth + 1)?);
    }
    Ok(MetadataValue::Array(values))
}
