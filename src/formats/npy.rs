//! NumPy `.npy` arrays (format version 1.0), the way IREE's runtime tools
//! take inputs (`--input=@x.npy`) and give outputs (`--output=@y.npy`).
//!
//! Only little-endian, C-order arrays of the element types in
//! [`ElementType`] are read and written.

use std::path::Path;

use super::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::ElementType;

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Headers longer than this are refused (NumPy itself writes under 200).
const MAX_HEADER: usize = 64 * 1024;

/// A dense array: shape, element type and little-endian bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<u64>,
    /// Element type.
    pub element: ElementType,
    /// Row-major little-endian element bytes.
    pub data: Vec<u8>,
}

fn descriptor(element: ElementType) -> &'static str {
    match element {
        ElementType::F64 => "<f8",
        ElementType::F32 => "<f4",
        ElementType::F16 => "<f2",
        ElementType::BF16 => "<V2",
        ElementType::I64 => "<i8",
        ElementType::I32 => "<i4",
        ElementType::I16 => "<i2",
        ElementType::I8 => "|i1",
        ElementType::U64 => "<u8",
        ElementType::U32 => "<u4",
        ElementType::U16 => "<u2",
        ElementType::U8 => "|u1",
        ElementType::Bool => "|b1",
        ElementType::C64 => "<c8",
        // NumPy has no such types; irex exchanges none of them through
        // `.npy`, and they read back as nothing (no descriptor maps to them).
        ElementType::F8E4M3
        | ElementType::F8E5M2
        | ElementType::F8E8M0
        | ElementType::F6E2M3
        | ElementType::F6E3M2
        | ElementType::F4E2M1
        | ElementType::I4 => "|V1",
    }
}

fn element_for(descriptor: &str) -> Option<ElementType> {
    Some(match descriptor {
        "<f8" => ElementType::F64,
        "<f4" => ElementType::F32,
        "<f2" => ElementType::F16,
        "<i8" => ElementType::I64,
        "<i4" => ElementType::I32,
        "<i2" => ElementType::I16,
        "|i1" => ElementType::I8,
        "<u8" => ElementType::U64,
        "<u4" => ElementType::U32,
        "<u2" => ElementType::U16,
        "|u1" => ElementType::U8,
        "|b1" => ElementType::Bool,
        "<c8" => ElementType::C64,
        _ => return None,
    })
}

fn invalid(field: &str, found: impl ToString, expected: &str) -> FormatError {
    let kind = FormatErrorKind::InvalidValue {
        found: found.to_string(),
        expected: expected.to_string(),
    };
    FormatError::new(FormatName::Npy, field, kind)
}

impl NpyArray {
    /// Makes an f32 array from values.
    pub fn from_f32(shape: &[u64], values: &[f32]) -> Self {
        Self {
            shape: shape.to_vec(),
            element: ElementType::F32,
            data: values
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect(),
        }
    }

    /// Makes an i32 array from values.
    pub fn from_i32(shape: &[u64], values: &[i32]) -> Self {
        Self {
            shape: shape.to_vec(),
            element: ElementType::I32,
            data: values
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect(),
        }
    }

    /// Returns the elements as f32, when the array holds f32.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        (self.element == ElementType::F32).then(|| {
            self.data
                .chunks_exact(4)
                .map(|chunk| f32::from_le_bytes(chunk.try_into().unwrap()))
                .collect()
        })
    }

    /// Returns the elements as i32, when the array holds i32.
    pub fn to_i32(&self) -> Option<Vec<i32>> {
        (self.element == ElementType::I32).then(|| {
            self.data
                .chunks_exact(4)
                .map(|chunk| i32::from_le_bytes(chunk.try_into().unwrap()))
                .collect()
        })
    }

    /// Serializes the array.
    pub fn to_bytes(&self) -> Vec<u8> {
        let dims: Vec<String> = self.shape.iter().map(u64::to_string).collect();
        let shape = match dims.len() {
            1 => format!("({},)", dims[0]),
            _ => format!("({})", dims.join(", ")),
        };
        let mut header = format!(
            "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
            descriptor(self.element)
        );
        // Magic (6) + version (2) + length (2) + header + '\n', padded to 64.
        let unpadded = 10 + header.len() + 1;
        header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
        header.push('\n');
        let mut bytes = Vec::with_capacity(10 + header.len() + self.data.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&self.data);
        bytes
    }

    /// Writes the array to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), FormatError> {
        crate::output::write_atomically(path, &self.to_bytes())
            .map_err(|error| FormatError::io(FormatName::Npy, "file", &error).with_path(path))
    }

    /// Reads an array from `path`.
    pub fn read(path: &Path) -> Result<Self, FormatError> {
        let bytes = crate::tensor::read_regular_file(path)
            .map_err(|error| FormatError::io(FormatName::Npy, "file", &error).with_path(path))?;
        Self::parse(&bytes).map_err(|error| error.with_path(path))
    }

    /// Parses a version 1, 2 or 3 `.npy` image.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        if bytes.len() < 10 || &bytes[..6] != MAGIC {
            return Err(invalid(
                "magic",
                "bytes that are not \\x93NUMPY",
                "an .npy file",
            ));
        }
        let (length, start) = match bytes[6] {
            1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
            2 | 3 if bytes.len() >= 12 => (
                u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize,
                12,
            ),
            version => return Err(invalid("version", version, "1, 2 or 3")),
        };
        if length > MAX_HEADER || start + length > bytes.len() {
            return Err(invalid("header_len", length, "a header inside the file"));
        }
        let header = std::str::from_utf8(&bytes[start..start + length])
            .map_err(|_| invalid("header", "non-UTF-8 bytes", "a Python dict literal"))?;
        let element = dict_value(header, "descr")
            .and_then(|value| element_for(value.trim_matches('\'')))
            .ok_or_else(|| invalid("descr", header.trim(), "a little-endian numeric dtype"))?;
        if dict_value(header, "fortran_order") != Some("False") {
            return Err(invalid("fortran_order", header.trim(), "False"));
        }
        let shape = parse_shape(header)?;
        let data = &bytes[start + length..];
        let count = shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d));
        let expected =
            count.and_then(|n| crate::tensor::TensorEncoding::Dense(element).storage_bytes(n));
        if expected != Some(data.len() as u64) {
            return Err(invalid("data", data.len(), "shape × element size bytes"));
        }
        Ok(Self {
            shape,
            element,
            data: data.to_vec(),
        })
    }
}

/// Returns the text of `key`'s value in the header dict, up to the next
/// top-level comma.
fn dict_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}':"))? + key.len() + 3;
    let rest = header[start..].trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')')? + 1
    } else {
        rest.find([',', '}'])?
    };
    Some(rest[..end].trim())
}

fn parse_shape(header: &str) -> Result<Vec<u64>, FormatError> {
    let text = dict_value(header, "shape").ok_or_else(|| invalid("shape", header, "a tuple"))?;
    text.trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(str::trim)
        .filter(|dim| !dim.is_empty())
        .map(|dim| {
            dim.parse()
                .map_err(|_| invalid("shape", text, "non-negative integers"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_pads_header_to_64() {
        let array = NpyArray::from_f32(&[2, 2], &[1.0, 2.0, 3.0, 4.5]);
        let bytes = array.to_bytes();
        assert_eq!((bytes.len() - 16) % 64, 0);
        assert_eq!(NpyArray::parse(&bytes).unwrap(), array);
        let vector = NpyArray::from_f32(&[3], &[1.0, 2.0, 3.0]);
        assert_eq!(NpyArray::parse(&vector.to_bytes()).unwrap().shape, [3]);
        let scalar = NpyArray::from_f32(&[], &[7.0]);
        assert_eq!(NpyArray::parse(&scalar.to_bytes()).unwrap(), scalar);
    }

    #[test]
    fn refuses_wrong_sizes_and_orders() {
        let mut bytes = NpyArray::from_f32(&[2], &[1.0, 2.0]).to_bytes();
        bytes.pop();
        assert_eq!(NpyArray::parse(&bytes).unwrap_err().field, "data");
        let mut fortran = NpyArray::from_f32(&[1], &[1.0]).to_bytes();
        let at = fortran.windows(5).position(|w| w == b"False").unwrap();
        fortran[at..at + 5].copy_from_slice(b"True ");
        assert_eq!(
            NpyArray::parse(&fortran).unwrap_err().field,
            "fortran_order"
        );
    }
}
