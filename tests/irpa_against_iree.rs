//! The `.irpa` writer held against IREE's own tools: `iree-dump-parameters`
//! must list every key at the offset and length irex planned, extracted bytes
//! must equal the sources, and for the same entries irex must write the same
//! file as `iree-create-parameters`.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use irex::formats::irpa::{
    ArchiveEntry, EntryContents, IrpaEntryKind, IrpaIndex, PlannedKind, write_archive,
};
use irex::iree::tools;
use irex::tensor::{BufferHandle, MappedFile};

/// A deterministic byte pattern (xorshift), so sources differ entry to entry.
fn pattern_bytes(seed: u64, length: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// One dumped row: (start, end, length, key); splats have no start/end.
type DumpRow = (Option<u64>, Option<u64>, u64, String);

fn dump(archive: &Path) -> Vec<DumpRow> {
    let mut argument = OsString::from("--parameters=scope=");
    argument.push(archive);
    let text = tools::run("iree-dump-parameters", &[argument]).expect("iree-dump-parameters runs");
    text.lines()
        .filter(|line| !line.starts_with("//") && line.contains('|'))
        .map(|line| {
            let fields: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
            let number = |text: &str| text.parse::<u64>().ok();
            let key = fields[3].trim_matches('`').to_string();
            (
                number(fields[0]),
                number(fields[1]),
                fields[2].parse().unwrap(),
                key,
            )
        })
        .collect()
}

#[test]
fn iree_reads_a_thousand_mixed_entries_as_planned() {
    let folder = tempfile::tempdir().unwrap();
    // A mapped source file, so some entries stream from mmap windows.
    let source_path = folder.path().join("source.bin");
    let source_bytes = pattern_bytes(7, 6 << 20);
    std::fs::File::create(&source_path)
        .unwrap()
        .write_all(&source_bytes)
        .unwrap();
    let source = MappedFile::open(&source_path).unwrap();

    let sizes = [0usize, 1, 3, 16, 17, 63, 64, 65, 1000, 4096, 4097, 65_536];
    let alignments = [16u64, 64, 128, 4096, 1, 8];
    let mut entries = Vec::new();
    for index in 0..1000u64 {
        let name = format!("layer{}.{}.weight", index / 10, index % 10);
        let contents = match index % 7 {
            0 => {
                let width = [1usize, 2, 4, 8, 16][(index / 7 % 5) as usize];
                EntryContents::Splat {
                    pattern: pattern_bytes(index, width),
                    length: (width * (1 + index as usize % 50)) as u64,
                }
            }
            1 | 2 => {
                let length = sizes[index as usize % sizes.len()] as u64;
                let offset = index * 977 % (source_bytes.len() as u64 - length);
                EntryContents::Data {
                    buffer: BufferHandle::Mapped(source.window(offset, length).unwrap()),
                    alignment: alignments[index as usize % alignments.len()],
                }
            }
            _ => EntryContents::Data {
                buffer: BufferHandle::owned(pattern_bytes(
                    index,
                    sizes[index as usize % sizes.len()],
                )),
                alignment: alignments[index as usize % alignments.len()],
            },
        };
        entries.push(ArchiveEntry { name, contents });
    }
    // A few entries of several MiB, from the map and from the heap.
    for (index, length) in [(0u64, 5 << 20), (1, (3 << 20) + 5)] {
        entries.push(ArchiveEntry {
            name: format!("big.{index}"),
            contents: EntryContents::Data {
                buffer: BufferHandle::Mapped(source.window(index * 1001, length).unwrap()),
                alignment: 4096,
            },
        });
    }
    entries.push(ArchiveEntry {
        name: "big.owned".into(),
        contents: EntryContents::Data {
            buffer: BufferHandle::owned(pattern_bytes(99, (4 << 20) + 1)),
            alignment: 64,
        },
    });

    let archive = folder.path().join("mixed.irpa");
    let plan = write_archive(&archive, &entries).unwrap();
    assert_eq!(std::fs::metadata(&archive).unwrap().len(), plan.file_size);
    assert_eq!(plan.file_size % 4096, 0);

    let rows = dump(&archive);
    assert_eq!(rows.len(), entries.len(), "every key is listed");
    let written = std::fs::read(&archive).unwrap();
    for ((row, planned), entry) in rows.iter().zip(&plan.entries).zip(&entries) {
        assert_eq!(row.3, planned.name);
        match (&planned.kind, &entry.contents) {
            (
                PlannedKind::Data {
                    offset,
                    length,
                    alignment,
                },
                EntryContents::Data { buffer, .. },
            ) => {
                assert_eq!(row.2, *length, "{}", planned.name);
                if *length > 0 {
                    assert_eq!(
                        (row.0, row.1),
                        (Some(*offset), Some(offset + length)),
                        "{}",
                        planned.name
                    );
                    assert_eq!(
                        offset % alignment,
                        0,
                        "{} is aligned in the file",
                        planned.name
                    );
                }
                let stored = &written[*offset as usize..(*offset + *length) as usize];
                assert!(
                    stored == buffer.bytes(),
                    "{} holds its source bytes",
                    planned.name
                );
            }
            (PlannedKind::Splat { length, .. }, EntryContents::Splat { .. }) => {
                assert_eq!(
                    (row.0, row.1, row.2),
                    (None, None, *length),
                    "{}",
                    planned.name
                );
            }
            _ => panic!("{} changed kind", planned.name),
        }
    }
    // irex's own reader agrees with the plan too.
    let index = IrpaIndex::parse(&written).unwrap();
    assert_eq!(index.len(), entries.len());
    let splat = index.get("layer0.0.weight").unwrap();
    assert!(matches!(splat.kind, IrpaEntryKind::Splat { .. }));
}

#[test]
fn iree_extracts_the_bytes_irex_stored() {
    let folder = tempfile::tempdir().unwrap();
    let bytes = pattern_bytes(3, 100_003);
    let entries = vec![ArchiveEntry {
        name: "w".into(),
        contents: EntryContents::Data {
            buffer: BufferHandle::owned(bytes.clone()),
            alignment: 64,
        },
    }];
    let archive = folder.path().join("one.irpa");
    write_archive(&archive, &entries).unwrap();
    let extracted = folder.path().join("w.bin");
    let mut parameters = OsString::from("--parameters=m=");
    parameters.push(&archive);
    let mut extract = OsString::from("--extract=m::w=");
    extract.push(&extracted);
    // Extraction needs the archive in host memory, not read through a file.
    let preload = OsString::from("--parameter_mode=preload");
    tools::run("iree-dump-parameters", &[preload, parameters, extract]).unwrap();
    assert!(std::fs::read(&extracted).unwrap() == bytes);
}

#[test]
fn same_entries_give_the_same_file_as_iree_create_parameters() {
    let folder = tempfile::tempdir().unwrap();
    let iree_archive = folder.path().join("iree.irpa");
    let mut output = OsString::from("--output=");
    output.push(&iree_archive);
    // iree-create-parameters writes splats first, then data, in flag order.
    // Data entries are zero-filled: IREE's tool (3.10 and 3.13) fails ("write failed")
    // when asked to fill data with a value.
    let flags = [
        "--splat=s16=8xi16=3",
        "--splat=s32=3xf32=1.5",
        "--data=a=4xf32",
        "--data=b=3xi8",
        "--data=c=0xf32",
        "--data=d=100xi32",
    ];
    let mut arguments = vec![output];
    arguments.extend(flags.iter().map(OsString::from));
    tools::run("iree-create-parameters", &arguments).unwrap();
    let expected = std::fs::read(&iree_archive).unwrap();

    let data = |name: &str, bytes: Vec<u8>| ArchiveEntry {
        name: name.into(),
        contents: EntryContents::Data {
            buffer: BufferHandle::owned(bytes),
            alignment: 64,
        },
    };
    let splat = |name: &str, pattern: Vec<u8>, length: u64| ArchiveEntry {
        name: name.into(),
        contents: EntryContents::Splat { pattern, length },
    };
    let entries = vec![
        splat("s16", 3i16.to_le_bytes().to_vec(), 16),
        splat("s32", 1.5f32.to_le_bytes().to_vec(), 12),
        data("a", vec![0; 16]),
        data("b", vec![0; 3]),
        data("c", Vec::new()),
        data("d", vec![0; 400]),
    ];
    let irex_archive = folder.path().join("irex.irpa");
    write_archive(&irex_archive, &entries).unwrap();
    let written = std::fs::read(&irex_archive).unwrap();
    assert_eq!(written.len(), expected.len());
    let first_difference = written.iter().zip(&expected).position(|(a, b)| a != b);
    assert_eq!(
        first_difference, None,
        "irex and IREE differ at byte {first_difference:?}"
    );
}

#[test]
fn offsets_past_four_gib_are_read_back_by_iree() {
    use irex::formats::irpa::{ArchivePlan, EntryRequest};
    let requests: Vec<EntryRequest> = (0..3)
        .map(|index| EntryRequest::Data {
            name: format!("huge.{index}"),
            length: (2u64 << 30) + index,
            alignment: 64,
        })
        .collect();
    let plan = ArchivePlan::new(&requests).unwrap();
    assert!(plan.file_size > 6 << 30);
    // A sparse file: the index region written, the 6 GiB of data left as holes.
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("sparse.irpa");
    let file = std::fs::File::create(&archive).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&file, &plan.index_bytes(), 0).unwrap();
    file.set_len(plan.file_size).unwrap();
    drop(file);
    let rows = dump(&archive);
    for (row, planned) in rows.iter().zip(&plan.entries) {
        let PlannedKind::Data { offset, length, .. } = planned.kind else {
            panic!("data entries only");
        };
        assert_eq!(
            row,
            &(
                Some(offset),
                Some(offset + length),
                length,
                planned.name.clone()
            )
        );
    }
    let PlannedKind::Data { offset, .. } = plan.entries[2].kind else {
        unreachable!()
    };
    assert!(offset > 4 << 30, "the last entry starts past 4 GiB");
}
