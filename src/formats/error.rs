//! The one error type every parser and writer of [`crate::formats`] returns:
//! which file, which format, which field, which tensor or key, at which byte
//! offset, and what is wrong.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// The file format an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatName {
    /// GGUF model file.
    Gguf,
    /// IREE parameter archive.
    Irpa,
    /// `irex.json`, the manifest of an export folder.
    Manifest,
    /// NumPy `.npy` array.
    Npy,
    /// safetensors checkpoint.
    Safetensors,
}

impl fmt::Display for FormatName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Gguf => "gguf",
            Self::Irpa => "irpa",
            Self::Manifest => "irex.json",
            Self::Npy => "npy",
            Self::Safetensors => "safetensors",
        })
    }
}

/// What is wrong, with the found and expected values where they exist.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatErrorKind {
    /// The file ends before a structure it declares.
    #[error("truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes the structure needs.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// The magic number is not the format's.
    #[error("bad magic {found:#x}, expected {expected:#x}")]
    BadMagic {
        /// The magic read from the file.
        found: u64,
        /// The format's magic.
        expected: u64,
    },
    /// The version is one irex does not read.
    #[error("unsupported version {found}, expected {expected}")]
    UnsupportedVersion {
        /// The version in the file.
        found: String,
        /// The versions irex reads.
        expected: String,
    },
    /// A field holds a value the format does not allow.
    #[error("invalid value {found}, expected {expected}")]
    InvalidValue {
        /// The value in the file.
        found: String,
        /// What the format allows.
        expected: String,
    },
    /// An offset plus a length wraps `u64` or points past its segment.
    #[error("range {offset}+{length} lies outside 0..{limit}")]
    OutOfRange {
        /// Start of the range.
        offset: u64,
        /// Length of the range.
        length: u64,
        /// End of the segment the range must lie in.
        limit: u64,
    },
    /// Two entries claim overlapping bytes.
    #[error("overlaps `{other}`")]
    Overlap {
        /// The entry the bytes also belong to.
        other: String,
    },
    /// A key or tensor name appears twice.
    #[error("duplicate key")]
    DuplicateKey,
    /// The format allows it, but no IREE reader does.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What is not supported.
        what: String,
    },
    /// Reading or writing the file failed.
    #[error("i/o error: {0}")]
    Io(String),
}

/// A typed error about a file: which file, format, field, key and offset.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub struct FormatError {
    /// The file, when the bytes came from one.
    pub path: Option<PathBuf>,
    /// The format being read or written.
    pub format: FormatName,
    /// The field at fault (`header_size`, `entry[3].name`, ...).
    pub field: String,
    /// The tensor or key the field belongs to, when there is one.
    pub key: Option<String>,
    /// The byte offset of the field, when known.
    pub offset: Option<u64>,
    /// What is wrong.
    pub kind: FormatErrorKind,
}

impl FormatError {
    /// Makes an error about `field` of a `format` file.
    pub fn new(format: FormatName, field: impl Into<String>, kind: FormatErrorKind) -> Self {
        Self {
            path: None,
            format,
            field: field.into(),
            key: None,
            offset: None,
            kind,
        }
    }

    /// Wraps an I/O error met while reading or writing `field`.
    pub fn io(format: FormatName, field: impl Into<String>, error: &io::Error) -> Self {
        Self::new(format, field, FormatErrorKind::Io(error.to_string()))
    }

    /// Names the file the error is about.
    pub fn with_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Names the tensor or key the error is about.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Records the byte offset of the field.
    pub fn at(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }
}

/// Escapes and caps a string taken from a file before it goes into a message.
pub(crate) fn printable(text: &str) -> String {
    const LIMIT: usize = 120;
    let escaped: String = text.escape_debug().collect();
    if escaped.chars().count() <= LIMIT {
        escaped
    } else {
        let head: String = escaped.chars().take(LIMIT).collect();
        format!("{head}…")
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}", self.format)?;
        if let Some(path) = &self.path {
            write!(formatter, " file `{}`", path.display())?;
        }
        if let Some(key) = &self.key {
            write!(formatter, ", `{}`", printable(key))?;
        }
        write!(formatter, ", field `{}`", self.field)?;
        if let Some(offset) = self.offset {
            write!(formatter, " at byte {offset}")?;
        }
        write!(formatter, ": {}", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_file_key_field_and_offset() {
        let error = FormatError::new(
            FormatName::Irpa,
            "entry[2].storage",
            FormatErrorKind::OutOfRange {
                offset: 8,
                length: 16,
                limit: 20,
            },
        )
        .with_path("/tmp/m.irpa")
        .with_key("w\n")
        .at(96);
        assert_eq!(
            error.to_string(),
            "irpa file `/tmp/m.irpa`, `w\\n`, field `entry[2].storage` at byte 96: \
             range 8+16 lies outside 0..20"
        );
    }

    #[test]
    fn printable_caps_long_strings() {
        let long = "x".repeat(1000);
        assert_eq!(printable(&long).chars().count(), 121);
    }
}
