//! The `.irpa` reader against hostile archives (bad-inputs catalog 31–40):
//! each case is a typed error naming the field, never a panic, never an
//! allocation sized by a count the file cannot back. The writer's failures
//! leave nothing under the final name.

use irex::formats::irpa::{
    ArchiveEntry, ArchivePlan, EntryContents, EntryRequest, IrpaIndex, write_archive,
};
use irex::formats::{FormatError, FormatErrorKind};
use irex::tensor::BufferHandle;

// Offsets in the v0 layout (see formats/irpa/schema.rs).
const ENTRY_COUNT: usize = 32;
const ENTRY_SEGMENT: usize = 40;
const STORAGE_SEGMENT: usize = 72;

/// A valid archive: splat `s`, data `a` (8 bytes), data `b` (5 bytes).
fn valid() -> (Vec<u8>, ArchivePlan) {
    let requests = [
        EntryRequest::Splat {
            name: "s".into(),
            pattern: vec![1, 2, 3, 4],
            length: 16,
        },
        EntryRequest::Data {
            name: "a".into(),
            length: 8,
            alignment: 64,
        },
        EntryRequest::Data {
            name: "b".into(),
            length: 5,
            alignment: 64,
        },
    ];
    let plan = ArchivePlan::new(&requests).unwrap();
    let mut bytes = plan.index_bytes();
    bytes.resize(plan.file_size as usize, 0xAB);
    (bytes, plan)
}

fn entry_offset(plan: &ArchivePlan, index: usize) -> usize {
    plan.entries[index].entry_offset as usize
}

fn put_u64(bytes: &mut [u8], at: usize, value: u64) {
    bytes[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn parse_error(bytes: &[u8]) -> FormatError {
    IrpaIndex::parse(bytes).expect_err("hostile archive must be refused")
}

#[test]
fn the_valid_archive_parses() {
    let (bytes, _) = valid();
    let index = IrpaIndex::parse(&bytes).unwrap();
    let names: Vec<String> = index.entries().map(|entry| entry.name).collect();
    assert_eq!(names, ["s", "a", "b"]);
}

#[test]
fn short_files_and_bad_magic() {
    let (bytes, _) = valid();
    for length in [0, 4, 31, 87] {
        let error = parse_error(&bytes[..length]);
        assert!(
            matches!(error.kind, FormatErrorKind::Truncated { .. }),
            "{length}: {error}"
        );
    }
    let mut wrong = bytes.clone();
    wrong[..4].copy_from_slice(b"GGUF");
    assert!(matches!(
        parse_error(&wrong).kind,
        FormatErrorKind::BadMagic { .. }
    ));
}

#[test]
fn versions_other_than_zero_zero() {
    for (major, minor) in [(1u16, 0u16), (0, 1), (0xFFFF, 0xFFFF)] {
        let (mut bytes, _) = valid();
        bytes[4..6].copy_from_slice(&major.to_le_bytes());
        bytes[6..8].copy_from_slice(&minor.to_le_bytes());
        let error = parse_error(&bytes);
        assert!(
            matches!(error.kind, FormatErrorKind::UnsupportedVersion { .. }),
            "{error}"
        );
    }
    let (mut bytes, _) = valid();
    put_u64(&mut bytes, 8, 96);
    assert_eq!(parse_error(&bytes).field, "header_size");
}

#[test]
fn segments_that_wrap_or_leave_the_file() {
    let (mut bytes, _) = valid();
    put_u64(&mut bytes, STORAGE_SEGMENT, u64::MAX - 4);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "storage_segment");
    assert!(matches!(error.kind, FormatErrorKind::OutOfRange { .. }));
    let (mut bytes, _) = valid();
    put_u64(&mut bytes, STORAGE_SEGMENT + 8, 1 << 40);
    assert_eq!(parse_error(&bytes).field, "storage_segment");
}

#[test]
fn entry_tables_too_short_for_their_count() {
    let (mut bytes, _) = valid();
    put_u64(&mut bytes, ENTRY_SEGMENT + 8, 50);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[0].size");
    // 2^63 entries declared in a table of three: refused at the fourth, at once.
    let (mut bytes, _) = valid();
    put_u64(&mut bytes, ENTRY_COUNT, 1 << 63);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[3].size");
    assert!(matches!(error.kind, FormatErrorKind::Truncated { .. }));
}

#[test]
fn entry_sizes_out_of_bounds() {
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 1), 59);
    assert_eq!(parse_error(&bytes).field, "entry[1].size");
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 2), 1 << 20);
    assert_eq!(parse_error(&bytes).field, "entry[2].size");
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 1), 60); // too small for a DATA entry
    assert_eq!(parse_error(&bytes).field, "entry[1].size");
}

#[test]
fn names_outside_their_segment_empty_or_not_utf8() {
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 1) + 20, u64::MAX);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[1].name");
    assert!(matches!(error.kind, FormatErrorKind::OutOfRange { .. }));
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 1) + 28, 0);
    assert_eq!(parse_error(&bytes).field, "entry[1].name");
    let (mut bytes, plan) = valid();
    bytes[(plan.metadata_offset + plan.entries[1].name_offset) as usize] = 0xFF;
    assert_eq!(parse_error(&bytes).field, "entry[1].name");
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 0) + 36, 2);
    put_u64(&mut bytes, entry_offset(&plan, 0) + 44, 1 << 62);
    assert_eq!(parse_error(&bytes).field, "entry[0].metadata");
}

#[test]
fn data_outside_storage_or_misaligned() {
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 2) + 60, u64::MAX - 2);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[2].storage");
    assert_eq!(error.key.as_deref(), Some("b"));
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 2) + 60, 3);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[2].storage", "{error}");
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 2) + 52, 48);
    assert_eq!(parse_error(&bytes).field, "entry[2].minimum_alignment");
}

#[test]
fn overlapping_data_is_refused() {
    let (mut bytes, plan) = valid();
    // Point `b` at `a`'s bytes, keeping its declared alignment satisfied.
    put_u64(&mut bytes, entry_offset(&plan, 2) + 60, 0);
    let error = parse_error(&bytes);
    let FormatErrorKind::Overlap { other } = &error.kind else {
        panic!("not an overlap: {error}");
    };
    let mut pair = [other.as_str(), error.key.as_deref().unwrap()];
    pair.sort();
    assert_eq!(pair, ["a", "b"]);
}

#[test]
fn splat_patterns_of_bad_widths_or_lengths() {
    for width in [0u8, 3, 17, 255] {
        let (mut bytes, plan) = valid();
        bytes[entry_offset(&plan, 0) + 84] = width;
        assert_eq!(
            parse_error(&bytes).field,
            "entry[0].pattern_length",
            "width {width}"
        );
    }
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 0) + 60, 18);
    assert_eq!(parse_error(&bytes).field, "entry[0].length");
}

#[test]
fn linked_headers_external_and_unknown_entries() {
    let (mut bytes, _) = valid();
    put_u64(&mut bytes, 16, 4096);
    assert!(matches!(
        parse_error(&bytes).kind,
        FormatErrorKind::Unsupported { .. }
    ));
    let (mut bytes, plan) = valid();
    bytes[entry_offset(&plan, 1) + 8..entry_offset(&plan, 1) + 12]
        .copy_from_slice(&3u32.to_le_bytes());
    let error = parse_error(&bytes);
    assert!(
        matches!(error.kind, FormatErrorKind::Unsupported { .. }),
        "{error}"
    );
    assert_eq!(error.key.as_deref(), Some("a"));
    let (mut bytes, plan) = valid();
    bytes[entry_offset(&plan, 1) + 8..entry_offset(&plan, 1) + 12]
        .copy_from_slice(&9u32.to_le_bytes());
    assert_eq!(parse_error(&bytes).field, "entry[1].type");
}

#[test]
fn skipped_entries_are_dropped() {
    let (mut bytes, plan) = valid();
    bytes[entry_offset(&plan, 1) + 8..entry_offset(&plan, 1) + 12]
        .copy_from_slice(&0u32.to_le_bytes());
    let index = IrpaIndex::parse(&bytes).unwrap();
    assert!(index.get("a").is_none());
    assert_eq!(index.len(), 2);
}

#[test]
fn duplicate_names_are_refused() {
    let (mut bytes, plan) = valid();
    let name_b = (plan.metadata_offset + plan.entries[2].name_offset) as usize;
    bytes[name_b] = b'a';
    let error = parse_error(&bytes);
    assert_eq!(error.kind, FormatErrorKind::DuplicateKey);
    assert_eq!(error.key.as_deref(), Some("a"));
}

#[test]
fn every_truncation_and_bit_flip_ends_in_a_result() {
    let (bytes, _) = valid();
    for length in 0..bytes.len() {
        let _ = IrpaIndex::parse(&bytes[..length]);
    }
    let mut flipped = bytes.clone();
    for at in 0..256 {
        for bit in 0..8 {
            flipped[at] ^= 1 << bit;
            let _ = IrpaIndex::parse(&flipped);
            flipped[at] ^= 1 << bit;
        }
    }
}

#[test]
fn failed_writes_leave_no_file_and_keep_the_old_one() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("out.irpa");
    std::fs::write(&path, b"previous").unwrap();
    let entry = |name: &str| ArchiveEntry {
        name: name.into(),
        contents: EntryContents::Data {
            buffer: BufferHandle::owned(vec![1u8; 4]),
            alignment: 64,
        },
    };
    let error = write_archive(&path, &[entry("k"), entry("k")]).unwrap_err();
    assert_eq!(error.kind, FormatErrorKind::DuplicateKey);
    assert_eq!(std::fs::read(&path).unwrap(), b"previous");
    let listing: Vec<_> = std::fs::read_dir(folder.path()).unwrap().collect();
    assert_eq!(listing.len(), 1, "no temporary file left behind");
    let missing = folder.path().join("no/such/folder/out.irpa");
    assert!(write_archive(&missing, &[entry("k")]).is_err());
}

#[test]
fn empty_references_are_range_checked_too() {
    // An empty reference far past its segment once skipped the range check
    // and overflowed when made absolute (found by the irpa fuzz target).
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 0) + 36, u64::MAX);
    put_u64(&mut bytes, entry_offset(&plan, 0) + 44, 0);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[0].metadata");
    assert!(
        matches!(error.kind, FormatErrorKind::OutOfRange { .. }),
        "{error}"
    );
    let (mut bytes, plan) = valid();
    put_u64(&mut bytes, entry_offset(&plan, 2) + 60, u64::MAX);
    put_u64(&mut bytes, entry_offset(&plan, 2) + 68, 0);
    let error = parse_error(&bytes);
    assert_eq!(error.field, "entry[2].storage");
    assert!(
        matches!(error.kind, FormatErrorKind::OutOfRange { .. }),
        "{error}"
    );
}

/// Item 1 of the hardening issue: the index made from an archive never
/// costs more heap than its entry table, however many entries it holds.
#[test]
fn a_flood_of_entries_costs_less_heap_than_the_table() {
    let count = 100_000;
    let entries: Vec<ArchiveEntry> = (0..count)
        .map(|index| ArchiveEntry {
            name: format!("t{index:x}"),
            contents: EntryContents::Splat {
                pattern: vec![0],
                length: 0,
            },
        })
        .collect();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("flood.irpa");
    let plan = write_archive(&path, &entries).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let index = IrpaIndex::parse(&bytes).unwrap();
    assert_eq!(index.len(), count);
    assert_eq!(index.get("t1f").unwrap().length(), 0);
    assert!(
        index.heap_bytes() < plan.entry_segment_length as usize,
        "{} heap bytes for a {}-byte table",
        index.heap_bytes(),
        plan.entry_segment_length
    );
}
