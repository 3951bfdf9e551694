//! A validating reader: everything IREE's `irpa_parser.c` checks, and what it
//! leaves out (integer overflow, alignment, overlaps, duplicate names, splat
//! patterns, linked headers).

use super::schema::{
    self, DATA_ENTRY_SIZE, ENTRY_ALIGNMENT, ENTRY_HEADER_SIZE, HEADER_SIZE, MAGIC,
    MAX_SPLAT_PATTERN, SPLAT_ENTRY_SIZE, entry_type,
};
use crate::formats::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::{MappedFile, PageReleaser};

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

/// The validated index of an archive: its live entries in table order (SKIP
/// entries are dropped), names looked up in the bytes it was parsed from.
///
/// Kept compact, because a hostile table can hold a million entries: 48
/// bytes an entry and 4 for the name index, where the file spends at least
/// 76. An [`IrpaEntry`] is made when asked for.
#[derive(Clone, Debug)]
pub struct IrpaIndex<'data> {
    bytes: &'data [u8],
    slots: Vec<Slot>,
    /// Slot indices in name order.
    by_name: Vec<u32>,
}

/// One live entry as the index keeps it: where its name lies in the file
/// (checked UTF-8) and what it holds.
#[derive(Clone, Copy, Debug)]
struct Slot {
    name_at: u64,
    name_length: u64,
    stored: Stored,
}

impl Slot {
    fn name(self, bytes: &[u8]) -> &str {
        let name = &bytes[self.name_at as usize..(self.name_at + self.name_length) as usize];
        std::str::from_utf8(name).expect("names are checked to be UTF-8 when parsed")
    }

    fn entry(self, bytes: &[u8]) -> IrpaEntry {
        IrpaEntry {
            name: self.name(bytes).to_string(),
            kind: self.stored.kind(),
        }
    }
}

/// Checks the header and every entry of `bytes`, handing each live entry to
/// `visit` in table order and giving the table's pages back as it goes.
fn visit_slots(
    bytes: &[u8],
    mut releaser: Option<PageReleaser<'_>>,
    mut visit: impl FnMut(Slot) -> Result<(), FormatError>,
) -> Result<(), FormatError> {
    let parser = Parser { bytes };
    parser.check_header()?;
    let count = parser.u64_at("entry_count", schema::header::ENTRY_COUNT as u64)?;
    let segments = Segments {
        table: parser.segment("entry_segment", schema::header::ENTRY_SEGMENT)?,
        metadata: parser.segment("metadata_segment", schema::header::METADATA_SEGMENT)?,
        storage: parser.segment("storage_segment", schema::header::STORAGE_SEGMENT)?,
    };
    let mut cursor = 0u64;
    for index in 0..count {
        let (read, size) = parser.entry(&segments, index, cursor)?;
        cursor = schema::align_up(cursor + size, ENTRY_ALIGNMENT).unwrap_or(u64::MAX);
        if let Read::Live(slot) = read {
            visit(slot)?;
        }
        if let Some(releaser) = releaser.as_mut() {
            releaser.advance_to(segments.table.offset.saturating_add(cursor));
        }
    }
    Ok(())
}

#[derive(Clone, Copy, Debug)]
enum Stored {
    Data {
        offset: u64,
        length: u64,
        minimum_alignment: u64,
    },
    Splat {
        pattern: [u8; MAX_SPLAT_PATTERN],
        width: u8,
        length: u64,
    },
}

impl Stored {
    fn kind(self) -> IrpaEntryKind {
        match self {
            Self::Data {
                offset,
                length,
                minimum_alignment,
            } => IrpaEntryKind::Data {
                offset,
                length,
                minimum_alignment,
            },
            Self::Splat {
                pattern,
                width,
                length,
            } => IrpaEntryKind::Splat {
                pattern: pattern[..width as usize].to_vec(),
                length,
            },
        }
    }
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

/// What the first pass over the table reads of one entry.
enum Read {
    Skip,
    Live(Slot),
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

impl<'data> IrpaIndex<'data> {
    /// Parses and validates an archive held in `bytes` (usually a map of the
    /// whole file). Errors name the field and, where known, the entry key.
    pub fn parse(bytes: &'data [u8]) -> Result<Self, FormatError> {
        Self::parse_releasing(bytes, None)
    }

    /// Parses a mapped archive, giving the table's pages back to the kernel
    /// as it reads on (see [`PageReleaser`]).
    pub fn parse_mapped(mapped: &'data MappedFile) -> Result<Self, FormatError> {
        let index = Self::parse_releasing(mapped.bytes(), Some(PageReleaser::new(mapped)));
        mapped.release(0, mapped.bytes().len() as u64);
        index
    }

    fn parse_releasing(
        bytes: &'data [u8],
        releaser: Option<PageReleaser<'_>>,
    ) -> Result<Self, FormatError> {
        let mut slots = Vec::new();
        visit_slots(bytes, releaser, |slot| {
            slots.push(slot);
            Ok(())
        })?;
        slots.shrink_to_fit();
        let mut index = Self {
            bytes,
            slots,
            by_name: Vec::new(),
        };
        index.check_unique_and_disjoint()?;
        Ok(index)
    }

    /// Checks the header and every entry of `mapped` as [`Self::parse`]
    /// does, and hands each live entry to `visit` in table order instead of
    /// keeping it: names are not checked for uniqueness nor data ranges for
    /// overlaps (for an archive whose layout guarantees both, as the writer's
    /// own check of what it wrote).
    pub fn visit(
        mapped: &MappedFile,
        mut visit: impl FnMut(IrpaEntry) -> Result<(), FormatError>,
    ) -> Result<(), FormatError> {
        let bytes = mapped.bytes();
        let visited = visit_slots(bytes, Some(PageReleaser::new(mapped)), |slot| {
            visit(slot.entry(bytes))
        });
        mapped.release(0, bytes.len() as u64);
        visited
    }

    /// Returns the number of live entries.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Returns whether the archive has no live entries.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Returns the live entries in table order.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = IrpaEntry> + '_ {
        (0..self.slots.len()).map(|slot| self.entry(slot))
    }

    /// Returns the entry named `name`.
    pub fn get(&self, name: &str) -> Option<IrpaEntry> {
        let at = self
            .by_name
            .binary_search_by(|&slot| self.name(slot as usize).cmp(name))
            .ok()?;
        Some(self.entry(self.by_name[at] as usize))
    }

    /// Returns the heap bytes the index holds, for the tests that bound it.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<Slot>() + 4 * self.by_name.capacity()
    }

    fn name(&self, slot: usize) -> &'data str {
        self.slots[slot].name(self.bytes)
    }

    fn entry(&self, slot: usize) -> IrpaEntry {
        self.slots[slot].entry(self.bytes)
    }

    fn check_unique_and_disjoint(&mut self) -> Result<(), FormatError> {
        let mut by_name: Vec<u32> = (0..self.slots.len() as u32).collect();
        by_name.sort_unstable_by(|&a, &b| self.name(a as usize).cmp(self.name(b as usize)));
        if let Some(pair) = by_name
            .windows(2)
            .find(|pair| self.name(pair[0] as usize) == self.name(pair[1] as usize))
        {
            let second = pair[0].max(pair[1]) as usize;
            return Err(error("name", FormatErrorKind::DuplicateKey).with_key(self.name(second)));
        }
        self.by_name = by_name;
        let range = |slot: u32| match self.slots[slot as usize].stored {
            Stored::Data { offset, length, .. } => (offset, offset + length),
            Stored::Splat { .. } => (0, 0),
        };
        let mut stored: Vec<u32> = (0..self.slots.len() as u32)
            .filter(|&slot| range(slot).1 > range(slot).0)
            .collect();
        stored.sort_unstable_by_key(|&slot| (range(slot), slot));
        for pair in stored.windows(2) {
            if range(pair[1]).0 < range(pair[0]).1 {
                let kind = FormatErrorKind::Overlap {
                    other: self.name(pair[0] as usize).to_string(),
                };
                return Err(error("storage", kind).with_key(self.name(pair[1] as usize)));
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
    ) -> Result<(Read, u64), FormatError> {
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
            return Ok((Read::Skip, size));
        }
        let (name_at, name) = self.name(segments.metadata, &field("name"), base)?;
        let with_name = |error: FormatError| error.with_key(name).at(base);
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
        let slot = Slot {
            name_at,
            name_length: name.len() as u64,
            stored: contents,
        };
        Ok((Read::Live(slot), size))
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

    /// Returns an entry's name and its file offset.
    fn name(
        &self,
        metadata: Segment,
        field: &str,
        base: u64,
    ) -> Result<(u64, &'_ str), FormatError> {
        let (start, length) = self.reference(metadata, field, base + schema::entry::NAME as u64)?;
        if length == 0 {
            return Err(invalid(field, "an empty name", "a non-empty key").at(base));
        }
        let bytes = &self.bytes[start as usize..(start + length) as usize];
        let name = std::str::from_utf8(bytes)
            .map_err(|_| invalid(field, "bytes that are not UTF-8", "a UTF-8 key").at(base))?;
        Ok((start, name))
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
    ) -> Result<Stored, FormatError> {
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
        let mut pattern = [0u8; MAX_SPLAT_PATTERN];
        pattern[..width].copy_from_slice(&self.bytes[at..at + width]);
        Ok(Stored::Splat {
            pattern,
            width: width as u8,
            length,
        })
    }

    fn data(
        &self,
        field: &dyn Fn(&str) -> String,
        base: u64,
        size: u64,
        segments: &Segments,
    ) -> Result<Stored, FormatError> {
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
        Ok(Stored::Data {
            offset,
            length,
            minimum_alignment,
        })
    }
}
