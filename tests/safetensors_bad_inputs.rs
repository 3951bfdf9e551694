//! The safetensors reader against hostile checkpoints (bad-inputs catalog
//! 17–29): a typed error naming the file and the tensor or field, no panic,
//! no allocation sized by a declared length the file cannot back.

use std::path::{Path, PathBuf};

use irex::formats::safetensors::Safetensors;
use irex::formats::{FormatError, FormatErrorKind};

/// Builds a checkpoint from a header (JSON text) and `data_length` data bytes.
fn checkpoint(header: &str, data_length: usize) -> Vec<u8> {
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend((0..data_length).map(|index| index as u8));
    bytes
}

fn write(folder: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = folder.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn open(path: &Path) -> Result<Safetensors, FormatError> {
    Safetensors::open(path)
}

/// Writes `bytes` as a checkpoint and returns the reader's error.
fn refuse(bytes: &[u8]) -> FormatError {
    let folder = tempfile::tempdir().unwrap();
    let path = write(folder.path(), "model.safetensors", bytes);
    let error = open(&path).expect_err("hostile checkpoint must be refused");
    assert_eq!(
        error.path.as_deref(),
        Some(path.as_path()),
        "the error names the file: {error}"
    );
    error
}

const GOOD: &str = r#"{"__metadata__":{"format":"pt"},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"a":{"dtype":"I8","shape":[2,4],"data_offsets":[0,8]}}"#;

#[test]
fn a_valid_checkpoint_yields_windows_in_data_order() {
    let folder = tempfile::tempdir().unwrap();
    let bytes = checkpoint(GOOD, 16);
    let path = write(folder.path(), "model.safetensors", &bytes);
    let model = open(&path).unwrap();
    let names: Vec<String> = model.tensors().map(|t| t.spec.name).collect();
    assert_eq!(names, ["a", "b"]);
    let b = model.get("b").unwrap();
    assert_eq!(b.spec.shape, [2]);
    let data_start = 8 + GOOD.len();
    assert_eq!(b.buffer.bytes(), &bytes[data_start + 8..data_start + 16]);
    assert_eq!(model.metadata(), [("format".to_string(), "pt".to_string())]);
    // A folder resolves to its checkpoint.
    assert_eq!(open(folder.path()).unwrap().tensors().len(), 2);
}

#[test]
fn short_or_oversized_headers() {
    assert!(matches!(
        refuse(&[1, 2, 3]).kind,
        FormatErrorKind::Truncated { .. }
    ));
    assert!(matches!(
        refuse(&[]).kind,
        FormatErrorKind::Truncated { .. }
    ));
    let mut huge = u64::MAX.to_le_bytes().to_vec();
    huge.extend_from_slice(b"{}");
    assert_eq!(refuse(&huge).field, "header_size");
    let mut beyond = 1000u64.to_le_bytes().to_vec();
    beyond.extend_from_slice(b"{}");
    assert!(matches!(
        refuse(&beyond).kind,
        FormatErrorKind::Truncated { .. }
    ));
    let mut too_big = 100_000_001u64.to_le_bytes().to_vec();
    too_big.extend_from_slice(b"{}");
    assert_eq!(refuse(&too_big).field, "header_size");
}

#[test]
fn headers_that_are_not_a_json_object() {
    for header in [
        "",
        "\u{ff}",
        "[1,2]",
        "not json",
        &"[".repeat(100_000),
        "{\"a\":",
    ] {
        let error = refuse(&checkpoint(header, 0));
        assert_eq!(error.field, "header", "{header:.20}: {error}");
    }
    // Space padding is accepted; NUL padding is a clear error.
    let padded = format!("{GOOD}   ");
    let folder = tempfile::tempdir().unwrap();
    let path = write(folder.path(), "m.safetensors", &checkpoint(&padded, 16));
    assert!(open(&path).is_ok());
    assert_eq!(
        refuse(&checkpoint(&format!("{GOOD}\0\0"), 16)).field,
        "header"
    );
}

#[test]
fn bad_tensor_entries() {
    let cases = [
        (
            r#"{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}"#,
            "dtype",
        ),
        (
            r#"{"a":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#,
            "dtype",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
            "shape",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#,
            "shape",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#,
            "data_offsets",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#,
            "data_offsets",
        ),
        (
            r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1}}"#,
            "tensor",
        ),
        (r#"{"a":[1,2]}"#, "tensor"),
    ];
    for (header, field) in cases {
        let error = refuse(&checkpoint(header, 4));
        assert_eq!(error.field, field, "{header}: {error}");
        assert_eq!(error.key.as_deref(), Some("a"), "{header}: {error}");
    }
}

#[test]
fn metadata_must_be_strings_and_is_no_tensor() {
    let error = refuse(&checkpoint(r#"{"__metadata__":{"k":1}}"#, 0));
    assert_eq!(error.field, "__metadata__");
    let error = refuse(&checkpoint(r#"{"__metadata__":[1]}"#, 0));
    assert_eq!(error.field, "__metadata__");
}

#[test]
fn offsets_that_gap_overlap_or_run_backwards() {
    let cases = [
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        r#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#,
    ];
    for header in cases {
        let error = refuse(&checkpoint(header, 8));
        assert_eq!(error.field, "data_offsets", "{header}: {error}");
    }
}

#[test]
fn sizes_that_do_not_match_or_overflow() {
    let error = refuse(&checkpoint(
        r#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#,
        8,
    ));
    assert_eq!(error.field, "data_offsets");
    let error = refuse(&checkpoint(
        r#"{"a":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#,
        2,
    ));
    assert_eq!(
        error.field, "shape",
        "an odd count of 4-bit values fills no whole byte"
    );
    let overflow = r#"{"a":{"dtype":"F32","shape":[9223372036854775808,4],"data_offsets":[0,8]}}"#;
    assert_eq!(refuse(&checkpoint(overflow, 8)).field, "shape");
    let bits_overflow = r#"{"a":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,18446744073709551615]}}"#;
    assert_eq!(refuse(&checkpoint(bits_overflow, 8)).field, "shape");
    // A consistent 1 EiB tensor in an 8-byte file: refused before any window.
    let huge = r#"{"a":{"dtype":"U8","shape":[1152921504606846976],"data_offsets":[0,1152921504606846976]}}"#;
    let error = refuse(&checkpoint(huge, 8));
    assert!(
        matches!(error.kind, FormatErrorKind::Truncated { .. }),
        "{error}"
    );
}

#[test]
fn trailing_or_missing_bytes() {
    let error = refuse(&checkpoint(GOOD, 17));
    assert_eq!(error.field, "data");
    let error = refuse(&checkpoint(GOOD, 15));
    assert!(
        matches!(error.kind, FormatErrorKind::Truncated { .. }),
        "{error}"
    );
}

#[test]
fn duplicate_keys_are_refused() {
    let header = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}}"#;
    let error = refuse(&checkpoint(header, 4));
    assert_eq!(error.kind, FormatErrorKind::DuplicateKey);
    assert_eq!(error.key.as_deref(), Some("a"));
}

#[test]
fn names_with_control_characters_or_none() {
    for name in ["", "a\\u0000b", "line\\nbreak"] {
        let header = format!(r#"{{"{name}":{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#);
        assert_eq!(refuse(&checkpoint(&header, 1)).field, "name", "{name}");
    }
    let long = "x".repeat(5000);
    let header = format!(r#"{{"{long}":{{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}}}"#);
    assert_eq!(refuse(&checkpoint(&header, 1)).field, "name");
}

#[test]
fn directories_and_special_files_are_not_checkpoints() {
    let folder = tempfile::tempdir().unwrap();
    assert!(
        open(folder.path()).is_err(),
        "an empty folder has no checkpoint"
    );
    assert!(open(Path::new("/proc/self/status")).is_err());
}

#[test]
fn shard_indexes_with_escapes_missing_shards_or_duplicates() {
    let folder = tempfile::tempdir().unwrap();
    let shard = |name: &str, tensor: &str| {
        let header =
            format!(r#"{{"{tensor}":{{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}}}"#);
        write(folder.path(), name, &checkpoint(&header, 4));
    };
    shard("one.safetensors", "a");
    shard("two.safetensors", "b");
    let index = |map: &str| {
        write(
            folder.path(),
            "model.safetensors.index.json",
            format!(r#"{{"weight_map":{map}}}"#).as_bytes(),
        )
    };

    index(r#"{"a":"one.safetensors","b":"two.safetensors"}"#);
    let model = open(folder.path()).unwrap();
    assert_eq!(model.tensors().len(), 2);

    for escape in [
        "../one.safetensors",
        "/etc/passwd",
        "sub/one.safetensors",
        "..",
    ] {
        index(&format!(r#"{{"a":"{escape}"}}"#));
        let error = open(folder.path()).unwrap_err();
        assert_eq!(error.field, "weight_map", "{escape}: {error}");
    }
    index(r#"{"a":"missing.safetensors"}"#);
    assert_eq!(open(folder.path()).unwrap_err().field, "weight_map");
    index(r#"{"a":"two.safetensors","b":"two.safetensors"}"#);
    let error = open(folder.path()).unwrap_err();
    assert_eq!(error.key.as_deref(), Some("a"), "{error}");
    shard("three.safetensors", "a");
    index(r#"{"a":"one.safetensors","b":"three.safetensors"}"#);
    let error = open(folder.path()).unwrap_err();
    assert_eq!(
        (error.field.as_str(), error.key.as_deref()),
        ("tensor", Some("a")),
        "{error}"
    );
}

/// Item 1 of the hardening issue: the table made from a header never costs
/// more heap than the header's bytes, however many tiny entries it holds.
#[test]
fn a_flood_of_tiny_tensors_costs_less_heap_than_its_header() {
    let count = 100_000;
    let entries: Vec<String> = (0..count)
        .map(|index| format!(r#""t{index:x}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#))
        .collect();
    let header = format!("{{{}}}", entries.join(","));
    let folder = tempfile::tempdir().unwrap();
    let path = write(folder.path(), "model.safetensors", &checkpoint(&header, 0));
    let model = open(&path).unwrap();
    assert_eq!(model.len(), count);
    assert_eq!(model.get("t1f").unwrap().spec.shape, [0]);
    assert!(
        model.table_bytes() < header.len(),
        "{} heap bytes for a {}-byte header",
        model.table_bytes(),
        header.len()
    );
}
