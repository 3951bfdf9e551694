//! A validating reader: everything IREE's `irpa_parser.c` checks, and what it
//! leaves out (integer overflow, alignment, overlaps, duplicate names, splat
//! patterns, linked headers).

use std::collections::HashSet;

use super::schema::{
    self, DATA_ENTRY_SIZE, ENTRY_ALIGNMENT, ENTRY_HEADER_SIZE, HEADER_SIZE, MAGIC,
    MAX_SPLAT_PATTERN, SPLAT_ENTRY_SIZE, entry_type,
};
use crate::formats::{FormatError, FormatErrorKind, FormatName};

/// What an entry of a parsed archive holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IrpaEntryKind {
    /// Stored bytes.
    Data {
        /// File offset of the first byte.
        offset: u64,
        /// Number of bytes.
        length: u64,
        /// The alignment the entry declares (0: unspecified).
        minimum_alignment: u64,
    },
    /// A repeated pattern.
    Splat {
        /// The pattern bytes.
        pattern: Vec<u8>,
        /// Total length in bytes.
        length: u64,
    },
}

/// One live entry of a parsed archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrpaEntry {
    /// The parameter key.
    pub name: String,
    /// What it holds.
    pub kind: IrpaEntryKind,
}

impl IrpaEntry {
    /// Returns the entry's length in bytes (virtual for splats).
    pub fn length(&self) -> u64 {
        match self.kind {
            IrpaEntryKind::Data { length, .. } | IrpaEntryKind::Splat { length, .. } => length,
        }
    }
}

/// The validated index of an archive: its live entries in table order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IrpaIndex {
    /// Live entries (SKIP entries are dropped), in table order.
    pub entries: Vec<IrpaEntry>,
}

/// A segment of the archive: a range relative to the header.
#[derive(Clone, Copy)]
struct Segment {
    offset: u64,
    length: u64,
}

struct Parser<'data> {
    bytes: &'data [u8],
}

fn error(field: impl Into<String>, kind: FormatErrorKind) -> FormatError {
    FormatError::new(FormatName::Irpa, field, kind)
}

fn invalid(field: impl Into<String>, found: impl ToString, expected: &str) -> FormatError {
    error(
        field,
        FormatErrorKind::InvalidValue {
            found: found.to_string(),
            expected: expected.to_string(),
        },
    )
}

fn out_of_range(field: impl Into<String>, offset: u64, length: u64, limit: u64) -> FormatError {
    error(
        field,
        FormatErrorKind::OutOfRange {
            offset,
            length,
            limit,
        },
    )
}

/// Returns `offset..offset+length` when it lies inside `0..limit`.
fn checked_range(offset: u64, length: u64, limit: u64) -> Option<(u64, u64)> {
    let end = offset.checked_add(length)?;
    (end <= limit).then_some((offset, end))
}

impl<'data> Parser<'data> {
    fn u64_at(&self, field: &str, at: u64) -> Result<u64, FormatError> {
        let end = at
            .checked_add(8)
            .filter(|&end| end <= self.bytes.len() as u64);
        let Some(end) = end else {
            let kind = FormatErrorKind::Truncated {
                need: at.saturating_add(8),
                have: self.bytes.len() as u64,
            };
            return Err(error(field, kind).at(at));
        };
        let bytes: [u8; 8] = self.bytes[at as usize..end as usize].try_into().unwrap();
        Ok(u64::from_le_bytes(bytes))
    }

    fn u32_at(&self, field: &str, at: u64) -> Result<u32, FormatError> {
        Ok(self.u64_at(field, at)? as u32)
    }

    fn segment(&self, field: &str, at: usize) -> Result<Segment, FormatError> {
        let segment = Segment {
            offset: self.u64_at(field, at as u64)?,
            length: self.u64_at(field, at as u64 + 8)?,
        };
        let file = self.bytes.len() as u64;
        if segment.length != 0 && checked_range(segment.offset, segment.length, file).is_none() {
            return Err(out_of_range(field, segment.offset, segment.length, file).at(at as u64));
        }
        Ok(segment)
    }

    fn check_header(&self) -> Result<(), FormatError> {
        let have = self.bytes.len() as u64;
        if have < HEADER_SIZE {
            let kind = FormatErrorKind::Truncated {
                need: HEADER_SIZE,
                have,
            };
            return Err(error("header", kind));
        }
        let magic = self.u32_at("magic", 0)?;
        if magic != MAGIC {
            let kind = FormatErrorKind::BadMagic {
                found: magic as u64,
                expected: MAGIC as u64,
            };
            return Err(error("magic", kind).at(0));
        }
        let version = |at: usize| u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]]);
        let major = version(schema::header::VERSION_MAJOR);
        let minor = version(schema::header::VERSION_MINOR);
        if (major, minor) != (0, 0) {
            let kind = FormatErrorKind::UnsupportedVersion {
                found: format!("{major}.{minor}"),
                expected: "0.0".into(),
            };
            return Err(error("version", kind).at(4));
        }
        let header_size = self.u64_at("header_size", schema::header::HEADER_SIZE as u64)?;
        if header_size != HEADER_SIZE {
            return Err(invalid("header_size", header_size, "88").at(8));
        }
        let next = self.u64_at(
            "next_header_offset",
            schema::header::NEXT_HEADER_OFFSET as u64,
        )?;
        if next != 0 {
            let what = format!("a linked header at {next} (IREE's parser misreads them)");
            return Err(error("next_header_offset", FormatErrorKind::Unsupported { what }).at(16));
        }
        Ok(())
    }
}

/// The table, metadata and storage segments, validated against the file.
struct Segments {
    table: Segment,
    metadata: Segment,
    storage: Segment,
}

impl IrpaIndex {
    /// Parses and validates an archive held in `bytes` (usually a map of the
    /// whole file). Errors name the field and, where known, the entry key.
    pub fn parse(bytes: &[u8]) -> Result<Self, FormatError> {
        let parser = Parser { bytes };
        parser.check_header()?;
        let count = parser.u64_at("entry_count", schema::header::ENTRY_COUNT as u64)?;
        let segments = Segments {
            table: parser.segment("entry_segment", schema::header::ENTRY_SEGMENT)?,
            metadata: parser.segment("metadata_segment", schema::header::METADATA_SEGMENT)?,
            storage: parser.segment("storage_segment", schema::header::STORAGE_SEGMENT)?,
        };
        // Every entry needs at least 60 table bytes: never trust the count
        // for an allocation beyond what the table can hold.
        let capacity = count.min(segments.table.length / ENTRY_HEADER_SIZE) as usize;
        let mut entries = Vec::with_capacity(capacity);
        let mut cursor = 0u64;
        for index in 0..count {
            let (entry, size) = parser.entry(&segments, index, cursor)?;
            cursor = schema::align_up(cursor + size, ENTRY_ALIGNMENT).unwrap_or(u64::MAX);
            entries.extend(entry);
        }
        let index = Self { entries };
        index.check_unique_and_disjoint()?;
        Ok(index)
    }

    /// Returns the entry named `name`.
    pub fn get(&self, name: &str) -> Option<&IrpaEntry> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    fn check_unique_and_disjoint(&self) -> Result<(), FormatError> {
        let mut names = HashSet::with_capacity(self.entries.len());
        for entry in &self.entries {
            if !names.insert(entry.name.as_str()) {
                return Err(error("name", FormatErrorKind::DuplicateKey).with_key(&entry.name));
            }
        }
        let mut ranges: Vec<(u64, u64, &str)> = self
            .entries
            .iter()
            .filter_map(|entry| match entry.kind {
                IrpaEntryKind::Data { offset, length, .. } if length > 0 => {
                    Some((offset, offset + length, entry.name.as_str()))
                }
                _ => None,
            })
            .collect();
        ranges.sort_unstable();
        for pair in ranges.windows(2) {
            if pair[1].0 < pair[0].1 {
                let kind = FormatErrorKind::Overlap {
                    other: pair[0].2.to_string(),
                };
                return Err(error("storage", kind).with_key(pair[1].2));
            }
        }
        Ok(())
    }
}

impl Parser<'_> {
    /// Reads entry `index` at `cursor` bytes into the table; returns the
    /// entry (`None` for SKIP) and its declared size.
    fn entry(
        &self,
        segments: &Segments,
        index: u64,
        cursor: u64,
    ) -> Result<(Option<IrpaEntry>, u64), FormatError> {
        let field = |name: &str| format!("entry[{index}].{name}");
        let table = segments.table;
        let remaining = table.length.saturating_sub(cursor);
        if cursor > table.length || remaining < ENTRY_HEADER_SIZE {
            let kind = FormatErrorKind::Truncated {
                need: ENTRY_HEADER_SIZE,
                have: remaining,
            };
            return Err(error(field("size"), kind));
        }
        let base = table.offset + cursor;
        let size = self.u64_at(&field("size"), base + schema::entry::SIZE as u64)?;
        if !(ENTRY_HEADER_SIZE..=remaining).contains(&size) {
            let expected = format!("60..={remaining}");
            return Err(invalid(field("size"), size, &expected).at(base));
        }
        self.metadata_ref(segments.metadata, &field("metadata"), base)?;
        let kind = self.u32_at(&field("type"), base + schema::entry::TYPE as u64)?;
        if kind == entry_type::SKIP {
            let name_at = base + schema::entry::NAME as u64;
            self.reference(segments.metadata, &field("name"), name_at)?;
            return Ok((None, size));
        }
        let name = self.name(segments.metadata, &field("name"), base)?;
        let with_name = |error: FormatError| error.with_key(&name).at(base);
        let contents = match kind {
            entry_type::SPLAT => self.splat(&field, base, size).map_err(with_name)?,
            entry_type::DATA => self.data(&field, base, size, segments).map_err(with_name)?,
            entry_type::EXTERNAL => {
                let what = "EXTERNAL entries (no IREE reader accepts them)".to_string();
                let error = error(field("type"), FormatErrorKind::Unsupported { what });
                return Err(with_name(error));
            }
            other => return Err(with_name(invalid(field("type"), other, "0, 1, 2 or 3"))),
        };
        Ok((
            Some(IrpaEntry {
                name,
                kind: contents,
            }),
            size,
        ))
    }

    fn reference(
        &self,
        metadata: Segment,
        field: &str,
        at: u64,
    ) -> Result<(u64, u64), FormatError> {
        let offset = self.u64_at(field, at)?;
        let length = self.u64_at(field, at + 8)?;
        if checked_range(offset, length, metadata.length).is_none() {
            return Err(out_of_range(field, offset, length, metadata.length).at(at));
        }
        Ok((metadata.offset + offset, length))
    }

    fn name(&self, metadata: Segment, field: &str, base: u64) -> Result<String, FormatError> {
        let (start, length) = self.reference(metadata, field, base + schema::entry::NAME as u64)?;
        if length == 0 {
            return Err(invalid(field, "an empty name", "a non-empty key").at(base));
        }
        let bytes = &self.bytes[start as usize..(start + length) as usize];
        String::from_utf8(bytes.to_vec())
            .map_err(|_| invalid(field, "bytes that are not UTF-8", "a UTF-8 key").at(base))
    }

    fn metadata_ref(&self, metadata: Segment, field: &str, base: u64) -> Result<(), FormatError> {
        self.reference(metadata, field, base + schema::entry::METADATA as u64)
            .map(|_| ())
    }

    fn splat(
        &self,
        field: &dyn Fn(&str) -> String,
        base: u64,
        size: u64,
    ) -> Result<IrpaEntryKind, FormatError> {
        if size < SPLAT_ENTRY_SIZE {
            return Err(invalid(field("size"), size, "at least 85 for a splat"));
        }
        let length = self.u64_at(&field("length"), base + schema::entry::SPLAT_LENGTH as u64)?;
        let width =
            self.bytes[(base + schema::entry::SPLAT_PATTERN_LENGTH as u64) as usize] as usize;
        if !matches!(width, 1 | 2 | 4 | 8 | 16) {
            return Err(invalid(field("pattern_length"), width, "1, 2, 4, 8 or 16"));
        }
        if length % width as u64 != 0 {
            let expected = format!("a multiple of the {width}-byte pattern");
            return Err(invalid(field("length"), length, &expected));
        }
        let at = (base + schema::entry::SPLAT_PATTERN as u64) as usize;
        let pattern = self.bytes[at..at + width].to_vec();
        debug_assert!(width <= MAX_SPLAT_PATTERN);
        Ok(IrpaEntryKind::Splat { pattern, length })
    }

    fn data(
        &self,
        field: &dyn Fn(&str) -> String,
        base: u64,
        size: u64,
        segments: &Segments,
    ) -> Result<IrpaEntryKind, FormatError> {
        if size < DATA_ENTRY_SIZE {
            return Err(invalid(field("size"), size, "at least 76 for data"));
        }
        let storage = segments.storage;
        let at = base + schema::entry::DATA_STORAGE as u64;
        let relative = self.u64_at(&field("storage"), at)?;
        let length = self.u64_at(&field("storage"), at + 8)?;
        if checked_range(relative, length, storage.length).is_none() {
            return Err(out_of_range(
                field("storage"),
                relative,
                length,
                storage.length,
            ));
        }
        let offset = storage.offset + relative;
        let alignment_at = base + schema::entry::MINIMUM_ALIGNMENT as u64;
        let minimum_alignment = self.u64_at(&field("minimum_alignment"), alignment_at)?;
        if minimum_alignment != 0 {
            if !minimum_alignment.is_power_of_two() {
                let field = field("minimum_alignment");
                return Err(invalid(field, minimum_alignment, "0 or a power of two"));
            }
            if length > 0 && offset % minimum_alignment != 0 {
                let found = format!("data at file offset {offset}");
                let expected = format!("a multiple of {minimum_alignment}");
                return Err(invalid(field("storage"), found, &expected));
            }
        }
        Ok(IrpaEntryKind::Data {
            offset,
            length,
            minimum_alignment,
        })
    }
}
