//! Deterministic sweeps over small real files of every format irex parses:
//! the file cut at every byte of its header (and at points through its
//! data), and seeded single-bit flips anywhere in it. Each case is either a
//! typed error naming the file, or a listing: the same listing when what
//! changed lies outside the header (data bytes are not interpreted by the
//! parsers). Never a panic: these run in the test profile, overflow checks on.

mod common;

use std::path::{Path, PathBuf};

use common::tiny_llama::TinyLlama;
use irex::formats::FormatError;
use irex::formats::gguf::Gguf;
use irex::formats::irpa::{IrpaEntryKind, IrpaIndex};
use irex::formats::safetensors::{INDEX_FILE_NAME, Safetensors};

/// What a parser made of a file, as text to compare.
type Listing = Result<String, String>;

/// A format under test: its real file, where its header ends, and how to
/// list a file of it.
struct Format {
    name: &'static str,
    bytes: Vec<u8>,
    header_end: usize,
    list: fn(&Path) -> Listing,
}

/// The error's text, which names the file (for a shard index: the index
/// or the shard it names, both in the index's folder).
fn message(error: FormatError, path: &Path) -> String {
    let text = error.to_string();
    let folder = path.parent().unwrap().display().to_string();
    assert!(text.contains(&folder), "the error names the file: {text}");
    text
}

fn list_gguf(path: &Path) -> Listing {
    let gguf = Gguf::open(path).map_err(|e| message(e, path))?;
    let tensors: Vec<String> = gguf
        .tensors()
        .map(|t| format!("{:?} {:?} {}", t.spec, t.kind, t.buffer.len()))
        .collect();
    Ok(format!("{:?}\n{}", gguf.metadata, tensors.join("\n")))
}

fn list_safetensors(path: &Path) -> Listing {
    let checkpoint = Safetensors::open(path).map_err(|e| message(e, path))?;
    let tensors: Vec<String> = checkpoint
        .tensors()
        .map(|t| format!("{:?} {:?} {}", t.spec, t.dtype, t.buffer.len()))
        .collect();
    Ok(format!(
        "{:?}\n{}",
        checkpoint.metadata(),
        tensors.join("\n")
    ))
}

fn list_irpa(path: &Path) -> Listing {
    let bytes = std::fs::read(path).unwrap();
    let index = IrpaIndex::parse(&bytes).map_err(|e| e.to_string())?;
    Ok(format!("{:?}", index.entries().collect::<Vec<_>>()))
}

/// The tiny llama GGUF.
fn gguf(folder: &Path) -> Format {
    let bytes = TinyLlama::new().bytes();
    let path = folder.join("tiny.gguf");
    std::fs::write(&path, &bytes).unwrap();
    let header_end = Gguf::open(&path).unwrap().data_start as usize;
    Format {
        name: "gguf",
        bytes,
        header_end,
        list: list_gguf,
    }
}

/// A safetensors file of three dtypes, with metadata.
fn safetensors() -> Format {
    let header = concat!(
        r#"{"__metadata__":{"format":"pt"},"#,
        r#""a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"#,
        r#""b":{"dtype":"F16","shape":[3],"data_offsets":[16,22]},"#,
        r#""c":{"dtype":"I8","shape":[2],"data_offsets":[22,24]}}"#
    );
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    let header_end = bytes.len();
    bytes.extend((0..24).map(|i| i as u8));
    Format {
        name: "safetensors",
        bytes,
        header_end,
        list: list_safetensors,
    }
}

/// The tiny llama packed into an `.irpa` by irex.
fn irpa(folder: &Path) -> Format {
    let source = folder.join("tiny.gguf");
    let path = folder.join("tiny.irpa");
    irex::formats::pack::pack(&[source.as_path()], &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let index = IrpaIndex::parse(&bytes).unwrap();
    let header_end = index
        .entries()
        .filter_map(|entry| match entry.kind {
            IrpaEntryKind::Data { offset, .. } => Some(offset as usize),
            _ => None,
        })
        .min()
        .unwrap();
    Format {
        name: "irpa",
        bytes,
        header_end,
        list: list_irpa,
    }
}

/// A shard index over two shards that the sweep leaves whole.
fn shard_index(folder: &Path) -> Format {
    for (shard, tensor) in [("a.safetensors", "a"), ("b.safetensors", "b")] {
        let header =
            format!(r#"{{"{tensor}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}}}"#);
        let mut file = (header.len() as u64).to_le_bytes().to_vec();
        file.extend_from_slice(header.as_bytes());
        file.extend_from_slice(&[0; 4]);
        std::fs::write(folder.join(shard), file).unwrap();
    }
    let bytes =
        br#"{"metadata":{"total_size":8},"weight_map":{"a":"a.safetensors","b":"b.safetensors"}}"#;
    Format {
        name: "shard index",
        bytes: bytes.to_vec(),
        header_end: bytes.len(),
        list: list_safetensors,
    }
}

/// A seeded xorshift: the same flips on every run.
struct Flips(u64);

impl Flips {
    fn next(&mut self, below: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as usize
    }
}

/// Writes `bytes` where the format's parser reads it and lists it.
fn listing(format: &Format, file: &Path, bytes: &[u8]) -> Listing {
    std::fs::write(file, bytes).unwrap();
    (format.list)(file)
}

fn sweep(format: &Format, file: &Path) {
    let whole = listing(format, file, &format.bytes).expect("the real file parses");
    let length = format.bytes.len();
    let through_data = (format.header_end..length).step_by(97);
    for cut in (0..format.header_end).chain(through_data) {
        let got = listing(format, file, &format.bytes[..cut]);
        assert!(
            got.as_ref().is_err() || got.as_ref() == Ok(&whole),
            "{} cut at {cut} of {length}: a different listing without an error",
            format.name
        );
    }
    let mut flips = Flips(0x9E37_79B9_7F4A_7C15);
    for _ in 0..2000 {
        let mut bytes = format.bytes.clone();
        let at = flips.next(length);
        bytes[at] ^= 1 << flips.next(8);
        let got = listing(format, file, &bytes);
        if at >= format.header_end {
            assert_eq!(
                got,
                Ok(whole.clone()),
                "{}: a data byte at {at}",
                format.name
            );
        }
    }
}

#[test]
fn every_format_survives_truncation_and_bit_flips() {
    let folder = tempfile::tempdir().unwrap();
    let formats = [
        gguf(folder.path()),
        safetensors(),
        irpa(folder.path()),
        shard_index(folder.path()),
    ];
    for format in &formats {
        let file: PathBuf = match format.name {
            "gguf" => folder.path().join("swept.gguf"),
            "safetensors" => folder.path().join("swept.safetensors"),
            "irpa" => folder.path().join("swept.irpa"),
            _ => folder.path().join(INDEX_FILE_NAME),
        };
        sweep(format, &file);
    }
}
