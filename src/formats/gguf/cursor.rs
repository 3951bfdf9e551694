//! A bounds-checked little-endian cursor over the bytes of a GGUF file.

use crate::formats::{FormatError, FormatErrorKind, FormatName};

/// An error about `field` of a GGUF file.
pub(super) fn error(field: impl Into<String>, kind: FormatErrorKind) -> FormatError {
    FormatError::new(FormatName::Gguf, field, kind)
}

/// A field holding a value GGUF does not allow.
pub(super) fn invalid(
    field: impl Into<String>,
    found: impl ToString,
    expected: &str,
) -> FormatError {
    let kind = FormatErrorKind::InvalidValue {
        found: found.to_string(),
        expected: expected.to_string(),
    };
    error(field, kind)
}

/// Reads values in order, refusing to read past the end.
pub(super) struct Cursor<'data> {
    bytes: &'data [u8],
    position: usize,
}

impl<'data> Cursor<'data> {
    pub fn new(bytes: &'data [u8]) -> Self {
        Self { bytes, position: 0 }
    }

    /// Starts at `position` (at most the length).
    pub fn at(bytes: &'data [u8], position: u64) -> Self {
        let position = (position as usize).min(bytes.len());
        Self { bytes, position }
    }

    pub fn position(&self) -> u64 {
        self.position as u64
    }

    pub fn remaining(&self) -> u64 {
        (self.bytes.len() - self.position) as u64
    }

    pub fn take(&mut self, field: &str, count: u64) -> Result<&'data [u8], FormatError> {
        if count > self.remaining() {
            let kind = FormatErrorKind::Truncated {
                need: self.position() + count,
                have: self.bytes.len() as u64,
            };
            return Err(error(field, kind).at(self.position()));
        }
        let start = self.position;
        self.position += count as usize;
        Ok(&self.bytes[start..self.position])
    }

    pub fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N], FormatError> {
        Ok(self.take(field, N as u64)?.try_into().unwrap())
    }

    pub fn u8(&mut self, field: &str) -> Result<u8, FormatError> {
        Ok(self.array::<1>(field)?[0])
    }

    pub fn u16(&mut self, field: &str) -> Result<u16, FormatError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    pub fn u32(&mut self, field: &str) -> Result<u32, FormatError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    pub fn u64(&mut self, field: &str) -> Result<u64, FormatError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    /// Reads a `u64` length and that many bytes of UTF-8.
    pub fn string(&mut self, field: &str) -> Result<String, FormatError> {
        let at = self.position();
        let length = self.u64(field)?;
        if length > self.remaining() {
            let found = format!(
                "a {length}-byte string with {} bytes left",
                self.remaining()
            );
            return Err(invalid(field, found, "a string inside the file").at(at));
        }
        let bytes = self.take(field, length)?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| invalid(field, "bytes that are not UTF-8", "UTF-8").at(at))
    }
}
