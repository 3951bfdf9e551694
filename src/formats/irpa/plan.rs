//! Layout planning: where every entry, name and data range goes, computed
//! before a single byte is written, as IREE's `irpa_builder.c` lays it out.

use std::collections::HashSet;

use super::schema::{
    self, DATA_ENTRY_SIZE, DEFAULT_DATA_ALIGNMENT, ENTRY_ALIGNMENT, ENTRY_TABLE_OFFSET,
    FILE_ALIGNMENT, HEADER_SIZE, MAGIC, MAX_SPLAT_PATTERN, SPLAT_ENTRY_SIZE, align_up, entry_type,
};
use crate::formats::{FormatError, FormatErrorKind, FormatName};

/// One entry to place: its key and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryRequest {
    /// Stored bytes.
    Data {
        /// The parameter key.
        name: String,
        /// Number of bytes.
        length: u64,
        /// Required alignment of the bytes' file offset (a power of two).
        alignment: u64,
    },
    /// A repeated pattern with no stored bytes.
    Splat {
        /// The parameter key.
        name: String,
        /// The pattern, 1, 2, 4, 8 or 16 bytes.
        pattern: Vec<u8>,
        /// Total length in bytes, a multiple of the pattern's length.
        length: u64,
    },
}

impl EntryRequest {
    /// Returns the parameter key.
    pub fn name(&self) -> &str {
        match self {
            Self::Data { name, .. } | Self::Splat { name, .. } => name,
        }
    }
}

/// Where a planned entry's contents go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlannedKind {
    /// Stored bytes at `offset` (from the start of the file).
    Data {
        /// File offset of the first byte.
        offset: u64,
        /// Number of bytes.
        length: u64,
        /// The alignment that was asked for.
        alignment: u64,
    },
    /// A splat: no stored bytes.
    Splat {
        /// The repeated pattern.
        pattern: Vec<u8>,
        /// Total length in bytes.
        length: u64,
    },
}

/// One entry with its place in the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedEntry {
    /// The parameter key.
    pub name: String,
    /// File offset of the entry in the table.
    pub entry_offset: u64,
    /// Offset of the name inside the metadata segment.
    pub name_offset: u64,
    /// Where the contents go.
    pub kind: PlannedKind,
}

/// The complete layout of an archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivePlan {
    /// Entries in table order (the order they were requested in).
    pub entries: Vec<PlannedEntry>,
    /// Length of the entry table, without the last entry's padding.
    pub entry_segment_length: u64,
    /// File offset of the metadata segment (right after the table).
    pub metadata_offset: u64,
    /// Length of the metadata segment.
    pub metadata_length: u64,
    /// File offset of the storage segment.
    pub storage_offset: u64,
    /// Length of the storage segment.
    pub storage_length: u64,
    /// Size of the whole file, a multiple of 4096.
    pub file_size: u64,
}

fn plan_error(field: &str, name: &str, kind: FormatErrorKind) -> FormatError {
    FormatError::new(FormatName::Irpa, field, kind).with_key(name)
}

fn invalid(field: &str, name: &str, found: impl ToString, expected: &str) -> FormatError {
    let kind = FormatErrorKind::InvalidValue {
        found: found.to_string(),
        expected: expected.to_string(),
    };
    plan_error(field, name, kind)
}

fn overflow(field: &str, name: &str) -> FormatError {
    invalid(
        field,
        name,
        "a size past u64::MAX",
        "a layout that fits in u64",
    )
}

fn check_request(request: &EntryRequest) -> Result<(), FormatError> {
    let name = request.name();
    if name.is_empty() {
        return Err(invalid("name", name, "an empty name", "a non-empty key"));
    }
    match request {
        EntryRequest::Data { alignment, .. } => {
            if !alignment.is_power_of_two() {
                return Err(invalid("alignment", name, alignment, "a power of two"));
            }
        }
        EntryRequest::Splat {
            pattern, length, ..
        } => {
            let width = pattern.len();
            if !matches!(width, 1 | 2 | 4 | 8 | 16) {
                return Err(invalid("pattern_length", name, width, "1, 2, 4, 8 or 16"));
            }
            if length % width as u64 != 0 {
                let expected = format!("a multiple of the {width}-byte pattern");
                return Err(invalid("length", name, length, &expected));
            }
        }
    }
    Ok(())
}

impl ArchivePlan {
    /// Lays out `requests` in order.
    ///
    /// Identical to IREE's builder for every archive whose data entries all
    /// ask for the same alignment (the usual case: 64). Where they differ,
    /// IREE aligns the storage segment to the *first* data entry's request,
    /// which leaves later, larger requests misaligned in the file; irex
    /// aligns it to the largest request, so every entry's file offset is a
    /// multiple of its alignment.
    pub fn new(requests: &[EntryRequest]) -> Result<Self, FormatError> {
        check_requests(requests)?;
        let (entry_offsets, table_end) = place_entry_table(requests)?;
        let metadata_offset = table_end;
        let (name_offsets, metadata_length) = place_names(requests)?;
        let storage_alignment = requests
            .iter()
            .filter_map(|request| match request {
                EntryRequest::Data { alignment, .. } => Some(*alignment),
                EntryRequest::Splat { .. } => None,
            })
            .max()
            .unwrap_or(1);
        let metadata_end = metadata_offset + metadata_length;
        let storage_offset =
            align_up(metadata_end, storage_alignment).ok_or(overflow("storage_segment", ""))?;
        let mut storage_length = 0u64;
        let mut entries = Vec::with_capacity(requests.len());
        for ((request, entry_offset), name_offset) in
            requests.iter().zip(entry_offsets).zip(name_offsets)
        {
            entries.push(PlannedEntry {
                name: request.name().to_string(),
                entry_offset,
                name_offset,
                kind: place_contents(request, storage_offset, &mut storage_length)?,
            });
        }
        let storage_end = storage_offset
            .checked_add(storage_length)
            .ok_or(overflow("storage_segment", ""))?;
        let file_size = align_up(storage_end, FILE_ALIGNMENT).ok_or(overflow("file_size", ""))?;
        Ok(Self {
            entries,
            entry_segment_length: table_end - ENTRY_TABLE_OFFSET,
            metadata_offset,
            metadata_length,
            storage_offset,
            storage_length,
            file_size,
        })
    }

    /// Returns the bytes before the storage segment: header, entry table,
    /// names and the padding up to the storage segment. They are small (no
    /// tensor data), so they are built in memory and written in one go.
    pub fn index_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; self.storage_offset as usize];
        put_u32(&mut bytes, schema::header::MAGIC, MAGIC);
        // version 0.0: both u16 fields stay zero; so do next_header and flags.
        put_u64(&mut bytes, schema::header::HEADER_SIZE, HEADER_SIZE);
        put_u64(
            &mut bytes,
            schema::header::ENTRY_COUNT,
            self.entries.len() as u64,
        );
        let segments = [
            (
                schema::header::ENTRY_SEGMENT,
                ENTRY_TABLE_OFFSET,
                self.entry_segment_length,
            ),
            (
                schema::header::METADATA_SEGMENT,
                self.metadata_offset,
                self.metadata_length,
            ),
            (
                schema::header::STORAGE_SEGMENT,
                self.storage_offset,
                self.storage_length,
            ),
        ];
        for (field, offset, length) in segments {
            put_u64(&mut bytes, field, offset);
            put_u64(&mut bytes, field + 8, length);
        }
        for entry in &self.entries {
            self.put_entry(&mut bytes, entry);
        }
        bytes
    }

    fn put_entry(&self, bytes: &mut [u8], planned: &PlannedEntry) {
        use schema::entry;
        let base = planned.entry_offset as usize;
        let name = planned.name.as_bytes();
        let name_at = (self.metadata_offset + planned.name_offset) as usize;
        bytes[name_at..name_at + name.len()].copy_from_slice(name);
        put_u64(bytes, base + entry::NAME, planned.name_offset);
        put_u64(bytes, base + entry::NAME + 8, name.len() as u64);
        match &planned.kind {
            PlannedKind::Data {
                offset,
                length,
                alignment,
            } => {
                put_u64(bytes, base + entry::SIZE, DATA_ENTRY_SIZE);
                put_u32(bytes, base + entry::TYPE, entry_type::DATA);
                put_u64(bytes, base + entry::MINIMUM_ALIGNMENT, *alignment);
                put_u64(
                    bytes,
                    base + entry::DATA_STORAGE,
                    offset - self.storage_offset,
                );
                put_u64(bytes, base + entry::DATA_STORAGE + 8, *length);
            }
            PlannedKind::Splat { pattern, length } => {
                put_u64(bytes, base + entry::SIZE, SPLAT_ENTRY_SIZE);
                put_u32(bytes, base + entry::TYPE, entry_type::SPLAT);
                put_u64(bytes, base + entry::SPLAT_LENGTH, *length);
                let at = base + entry::SPLAT_PATTERN;
                bytes[at..at + pattern.len()].copy_from_slice(pattern);
                bytes[base + entry::SPLAT_PATTERN_LENGTH] = pattern.len() as u8;
            }
        }
    }
}

fn put_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

const _: () = assert!(MAX_SPLAT_PATTERN == 16 && DEFAULT_DATA_ALIGNMENT == 64);

/// Checks each request and refuses a name given twice.
fn check_requests(requests: &[EntryRequest]) -> Result<(), FormatError> {
    let mut seen = HashSet::with_capacity(requests.len());
    for request in requests {
        check_request(request)?;
        if !seen.insert(request.name()) {
            return Err(plan_error(
                "name",
                request.name(),
                FormatErrorKind::DuplicateKey,
            ));
        }
    }
    Ok(())
}

/// Lays the entry table out from [`ENTRY_TABLE_OFFSET`]: each entry's
/// offset, and where the table ends.
fn place_entry_table(requests: &[EntryRequest]) -> Result<(Vec<u64>, u64), FormatError> {
    let mut cursor = ENTRY_TABLE_OFFSET;
    let mut table_end = ENTRY_TABLE_OFFSET;
    let mut entry_offsets = Vec::with_capacity(requests.len());
    for request in requests {
        let size = match request {
            EntryRequest::Data { .. } => DATA_ENTRY_SIZE,
            EntryRequest::Splat { .. } => SPLAT_ENTRY_SIZE,
        };
        let offset = align_up(cursor, ENTRY_ALIGNMENT).ok_or(overflow("entry", request.name()))?;
        entry_offsets.push(offset);
        table_end = offset + size;
        cursor = table_end;
    }
    Ok((entry_offsets, table_end))
}

/// Lays the names out one after another in the metadata segment: each
/// name's offset in it, and its length.
fn place_names(requests: &[EntryRequest]) -> Result<(Vec<u64>, u64), FormatError> {
    let mut metadata_length = 0u64;
    let mut name_offsets = Vec::with_capacity(requests.len());
    for request in requests {
        name_offsets.push(metadata_length);
        metadata_length = metadata_length
            .checked_add(request.name().len() as u64)
            .ok_or(overflow("name", request.name()))?;
    }
    Ok((name_offsets, metadata_length))
}

/// Places one entry's contents: data at its alignment after the storage
/// used so far (which grows), splats in the entry itself.
fn place_contents(
    request: &EntryRequest,
    storage_offset: u64,
    storage_length: &mut u64,
) -> Result<PlannedKind, FormatError> {
    Ok(match request {
        EntryRequest::Data {
            name,
            length,
            alignment,
        } => {
            let relative =
                align_up(*storage_length, *alignment).ok_or(overflow("storage", name))?;
            *storage_length = relative
                .checked_add(*length)
                .ok_or(overflow("storage", name))?;
            PlannedKind::Data {
                offset: storage_offset + relative,
                length: *length,
                alignment: *alignment,
            }
        }
        EntryRequest::Splat {
            pattern, length, ..
        } => PlannedKind::Splat {
            pattern: pattern.clone(),
            length: *length,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(name: &str, length: u64, alignment: u64) -> EntryRequest {
        EntryRequest::Data {
            name: name.into(),
            length,
            alignment,
        }
    }

    /// The layout of IREE's own testdata `single.irpa`
    /// (`iree-create-parameters --data=key0=4xf32=100.1`).
    #[test]
    fn single_entry_matches_iree_builder() {
        let plan = ArchivePlan::new(&[data("key0", 16, 64)]).unwrap();
        assert_eq!(plan.entry_segment_length, 76);
        assert_eq!((plan.metadata_offset, plan.metadata_length), (172, 4));
        assert_eq!((plan.storage_offset, plan.storage_length), (192, 16));
        assert_eq!(plan.file_size, 4096);
        let PlannedKind::Data { offset, .. } = plan.entries[0].kind else {
            panic!("not data")
        };
        assert_eq!(offset, 192);
    }

    #[test]
    fn empty_archive_is_one_page() {
        let plan = ArchivePlan::new(&[]).unwrap();
        assert_eq!(plan.metadata_offset, 96);
        assert_eq!(plan.storage_offset, 96);
        assert_eq!(plan.file_size, 4096);
        assert_eq!(plan.index_bytes().len(), 96);
    }

    #[test]
    fn entries_are_16_aligned_and_data_honours_alignment() {
        let splat = EntryRequest::Splat {
            name: "s".into(),
            pattern: vec![1, 2],
            length: 8,
        };
        let plan = ArchivePlan::new(&[splat, data("a", 3, 64), data("b", 5, 4096)]).unwrap();
        let offsets: Vec<u64> = plan
            .entries
            .iter()
            .map(|entry| entry.entry_offset)
            .collect();
        assert_eq!(offsets, [96, 96 + 96, 96 + 96 + 80]);
        for entry in &plan.entries {
            if let PlannedKind::Data {
                offset, alignment, ..
            } = entry.kind
            {
                assert_eq!(offset % alignment, 0, "{}", entry.name);
            }
        }
    }

    #[test]
    fn bad_requests_are_refused() {
        let duplicate = ArchivePlan::new(&[data("a", 1, 64), data("a", 1, 64)]).unwrap_err();
        assert_eq!(duplicate.kind, FormatErrorKind::DuplicateKey);
        let alignment = ArchivePlan::new(&[data("a", 1, 48)]).unwrap_err();
        assert_eq!(alignment.field, "alignment");
        let splat = EntryRequest::Splat {
            name: "s".into(),
            pattern: vec![0; 3],
            length: 9,
        };
        assert_eq!(
            ArchivePlan::new(&[splat]).unwrap_err().field,
            "pattern_length"
        );
        let uneven = EntryRequest::Splat {
            name: "s".into(),
            pattern: vec![0; 4],
            length: 6,
        };
        assert_eq!(ArchivePlan::new(&[uneven]).unwrap_err().field, "length");
        let huge = ArchivePlan::new(&[data("a", u64::MAX, 64)]).unwrap_err();
        assert_eq!(huge.field, "storage_segment");
        let wraps = ArchivePlan::new(&[data("a", u64::MAX - 64, 64), data("b", 1, 128)]);
        assert_eq!(wraps.unwrap_err().field, "storage");
    }
}
