//! Layout planning: where every entry, name and data range goes, computed
//! before a single byte is written, as IREE's `irpa_builder.c` lays it out.

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

/// The complete layout of an archive, every entry's place included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchivePlan {
    /// Entries in table order (the order they were requested in).
    pub entries: Vec<PlannedEntry>,
    /// The segments.
    pub layout: ArchiveLayout,
}

impl std::ops::Deref for ArchivePlan {
    type Target = ArchiveLayout;

    fn deref(&self) -> &ArchiveLayout {
        &self.layout
    }
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

/// The entries an archive is laid out from, asked for one at a time, so
/// that laying out a million entries needs no table of its own.
pub trait EntrySource {
    /// Returns the number of entries.
    fn len(&self) -> usize;
    /// Returns whether there are none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Returns the key of entry `index`.
    fn name(&self, index: usize) -> &str;
    /// Returns entry `index`'s request.
    fn request(&self, index: usize) -> EntryRequest;
}

impl EntrySource for [EntryRequest] {
    fn len(&self) -> usize {
        <[EntryRequest]>::len(self)
    }

    fn name(&self, index: usize) -> &str {
        self[index].name()
    }

    fn request(&self, index: usize) -> EntryRequest {
        self[index].clone()
    }
}

/// Where an archive's segments go: everything about its layout but the
/// entries' own places, which [`ArchiveLayout::placements`] recomputes in
/// order. It holds no per-entry state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArchiveLayout {
    /// Number of entries.
    pub entry_count: u64,
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

impl ArchiveLayout {
    /// Lays out the entries of `source` in order.
    ///
    /// Identical to IREE's builder for every archive whose data entries all
    /// ask for the same alignment (the usual case: 64). Where they differ,
    /// IREE aligns the storage segment to the *first* data entry's request,
    /// which leaves later, larger requests misaligned in the file; irex
    /// aligns it to the largest request, so every entry's file offset is a
    /// multiple of its alignment.
    pub fn new<S: EntrySource + ?Sized>(source: &S) -> Result<Self, FormatError> {
        check_unique(source)?;
        let mut table_end = ENTRY_TABLE_OFFSET;
        let mut metadata_length = 0u64;
        let mut storage_alignment = 1u64;
        let mut storage_length = 0u64;
        for index in 0..source.len() {
            let request = source.request(index);
            check_request(&request)?;
            let name = request.name();
            let offset = align_up(table_end, ENTRY_ALIGNMENT).ok_or(overflow("entry", name))?;
            table_end = offset + entry_size(&request);
            metadata_length = metadata_length
                .checked_add(name.len() as u64)
                .ok_or(overflow("name", name))?;
            if let EntryRequest::Data { alignment, .. } = request {
                storage_alignment = storage_alignment.max(alignment);
            }
            place_contents(&request, 0, &mut storage_length)
                .map_err(|_| overflow("storage", name))?;
        }
        let metadata_offset = table_end;
        let storage_offset = align_up(metadata_offset + metadata_length, storage_alignment)
            .ok_or(overflow("storage_segment", ""))?;
        let storage_end = storage_offset
            .checked_add(storage_length)
            .ok_or(overflow("storage_segment", ""))?;
        let file_size = align_up(storage_end, FILE_ALIGNMENT).ok_or(overflow("file_size", ""))?;
        Ok(Self {
            entry_count: source.len() as u64,
            entry_segment_length: table_end - ENTRY_TABLE_OFFSET,
            metadata_offset,
            metadata_length,
            storage_offset,
            storage_length,
            file_size,
        })
    }

    /// Returns every entry's place, in order, computed as [`Self::new`] did.
    pub fn placements<'s, S: EntrySource + ?Sized>(
        &self,
        source: &'s S,
    ) -> impl Iterator<Item = PlannedEntry> + 's {
        let storage_offset = self.storage_offset;
        let mut table_end = ENTRY_TABLE_OFFSET;
        let mut name_offset = 0u64;
        let mut storage_length = 0u64;
        (0..source.len()).map(move |index| {
            let request = source.request(index);
            let entry_offset = align_up(table_end, ENTRY_ALIGNMENT).expect("checked by new");
            table_end = entry_offset + entry_size(&request);
            let planned = PlannedEntry {
                name: request.name().to_string(),
                entry_offset,
                name_offset,
                kind: place_contents(&request, storage_offset, &mut storage_length)
                    .expect("checked by new"),
            };
            name_offset += request.name().len() as u64;
            planned
        })
    }

    /// Writes the bytes before the storage segment (header, entry table,
    /// names) through `sink(offset, bytes)`, piece by piece in file order;
    /// the padding between pieces is left to the sink (zeros).
    pub fn write_index<S: EntrySource + ?Sized>(
        &self,
        source: &S,
        sink: &mut dyn FnMut(u64, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        sink(0, &self.header_bytes())?;
        for planned in self.placements(source) {
            let (offset, bytes) = self.entry_bytes(&planned);
            sink(offset, &bytes)?;
        }
        for planned in self.placements(source) {
            sink(
                self.metadata_offset + planned.name_offset,
                planned.name.as_bytes(),
            )?;
        }
        Ok(())
    }

    fn header_bytes(&self) -> [u8; ENTRY_TABLE_OFFSET as usize] {
        let mut bytes = [0u8; ENTRY_TABLE_OFFSET as usize];
        put_u32(&mut bytes, schema::header::MAGIC, MAGIC);
        // version 0.0: both u16 fields stay zero; so do next_header and flags.
        put_u64(&mut bytes, schema::header::HEADER_SIZE, HEADER_SIZE);
        put_u64(&mut bytes, schema::header::ENTRY_COUNT, self.entry_count);
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
        bytes
    }

    /// Returns one entry's table bytes and their file offset.
    fn entry_bytes(&self, planned: &PlannedEntry) -> (u64, Vec<u8>) {
        use schema::entry;
        let mut bytes = vec![0u8; SPLAT_ENTRY_SIZE.max(DATA_ENTRY_SIZE) as usize];
        put_u64(&mut bytes, entry::NAME, planned.name_offset);
        put_u64(&mut bytes, entry::NAME + 8, planned.name.len() as u64);
        let size = match &planned.kind {
            PlannedKind::Data {
                offset,
                length,
                alignment,
            } => {
                put_u32(&mut bytes, entry::TYPE, entry_type::DATA);
                put_u64(&mut bytes, entry::MINIMUM_ALIGNMENT, *alignment);
                put_u64(
                    &mut bytes,
                    entry::DATA_STORAGE,
                    offset - self.storage_offset,
                );
                put_u64(&mut bytes, entry::DATA_STORAGE + 8, *length);
                DATA_ENTRY_SIZE
            }
            PlannedKind::Splat { pattern, length } => {
                put_u32(&mut bytes, entry::TYPE, entry_type::SPLAT);
                put_u64(&mut bytes, entry::SPLAT_LENGTH, *length);
                let at = entry::SPLAT_PATTERN;
                bytes[at..at + pattern.len()].copy_from_slice(pattern);
                bytes[entry::SPLAT_PATTERN_LENGTH] = pattern.len() as u8;
                SPLAT_ENTRY_SIZE
            }
        };
        put_u64(&mut bytes, entry::SIZE, size);
        bytes.truncate(size as usize);
        (planned.entry_offset, bytes)
    }
}

fn entry_size(request: &EntryRequest) -> u64 {
    match request {
        EntryRequest::Data { .. } => DATA_ENTRY_SIZE,
        EntryRequest::Splat { .. } => SPLAT_ENTRY_SIZE,
    }
}

impl ArchivePlan {
    /// Lays out `requests` in order ([`ArchiveLayout::new`]), keeping every
    /// entry's place.
    pub fn new(requests: &[EntryRequest]) -> Result<Self, FormatError> {
        let layout = ArchiveLayout::new(requests)?;
        let entries = layout.placements(requests).collect();
        Ok(Self { entries, layout })
    }

    /// Returns the bytes before the storage segment: header, entry table,
    /// names and the padding up to the storage segment.
    pub fn index_bytes(&self) -> Vec<u8> {
        let mut bytes = vec![0u8; self.layout.storage_offset as usize];
        let requests: Vec<EntryRequest> = self.entries.iter().map(PlannedEntry::request).collect();
        self.layout
            .write_index(requests.as_slice(), &mut |offset, piece| {
                bytes[offset as usize..offset as usize + piece.len()].copy_from_slice(piece);
                Ok(())
            })
            .expect("writing to memory cannot fail");
        bytes
    }
}

impl PlannedEntry {
    /// Returns the request this entry was placed from.
    fn request(&self) -> EntryRequest {
        let name = self.name.clone();
        match &self.kind {
            PlannedKind::Data {
                length, alignment, ..
            } => EntryRequest::Data {
                name,
                length: *length,
                alignment: *alignment,
            },
            PlannedKind::Splat { pattern, length } => EntryRequest::Splat {
                name,
                pattern: pattern.clone(),
                length: *length,
            },
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

/// Refuses a name given twice (a sorted index of the entries: 4 bytes an
/// entry, for the call's duration).
fn check_unique<S: EntrySource + ?Sized>(source: &S) -> Result<(), FormatError> {
    let mut order: Vec<u32> = (0..source.len() as u32).collect();
    order.sort_unstable_by(|&a, &b| source.name(a as usize).cmp(source.name(b as usize)));
    match order
        .windows(2)
        .find(|pair| source.name(pair[0] as usize) == source.name(pair[1] as usize))
    {
        Some(pair) => Err(plan_error(
            "name",
            source.name(pair[1] as usize),
            FormatErrorKind::DuplicateKey,
        )),
        None => Ok(()),
    }
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
