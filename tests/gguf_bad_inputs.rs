//! The GGUF reader against hostile files (bad-inputs catalog 1–15): each a
//! typed error naming the field (and key or tensor), no panic, no
//! allocation driven by a count the file cannot back, linear time.

use irex::formats::gguf::{Gguf, MetadataArray, MetadataValue};
use irex::formats::{FormatError, FormatErrorKind};

mod common;

/// Builds GGUF files byte by byte.
struct Builder {
    bytes: Vec<u8>,
}

impl Builder {
    fn new(version: u32, tensors: u64, kvs: u64) -> Self {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend_from_slice(&version.to_le_bytes());
        bytes.extend_from_slice(&tensors.to_le_bytes());
        bytes.extend_from_slice(&kvs.to_le_bytes());
        Self { bytes }
    }
    fn u32(mut self, value: u32) -> Self {
        self.bytes.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn u64(mut self, value: u64) -> Self {
        self.bytes.extend_from_slice(&value.to_le_bytes());
        self
    }
    fn raw(mut self, bytes: &[u8]) -> Self {
        self.bytes.extend_from_slice(bytes);
        self
    }
    fn string(self, text: &str) -> Self {
        self.u64(text.len() as u64).raw(text.as_bytes())
    }
    /// A key with a u32 value.
    fn kv_u32(self, key: &str, value: u32) -> Self {
        self.string(key).u32(4).u32(value)
    }
    /// A tensor info: name, dims (innermost first), ggml type id, offset.
    fn tensor(self, name: &str, dims: &[u64], type_id: u32, offset: u64) -> Self {
        let mut builder = self.string(name).u32(dims.len() as u32);
        for &dim in dims {
            builder = builder.u64(dim);
        }
        builder.u32(type_id).u64(offset)
    }
    /// Pads to `alignment` and appends `data` bytes.
    fn data(mut self, alignment: usize, data: usize) -> Vec<u8> {
        self.bytes
            .resize(self.bytes.len().next_multiple_of(alignment), 0);
        self.bytes.extend((0..data).map(|i| i as u8));
        self.bytes
    }
}

fn parse(bytes: &[u8]) -> Result<Gguf, FormatError> {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("model.gguf");
    std::fs::write(&path, bytes).unwrap();
    let result = Gguf::open(&path);
    if let Err(error) = &result {
        assert_eq!(
            error.path.as_deref(),
            Some(path.as_path()),
            "the error names the file"
        );
    }
    result
}

fn refuse(bytes: &[u8]) -> FormatError {
    parse(bytes).expect_err("hostile GGUF must be refused")
}

/// One F32 tensor `w` of 8 elements and one Q8_0 tensor `q` of 2×32.
fn valid() -> Vec<u8> {
    Builder::new(3, 2, 1)
        .kv_u32("general.alignment", 32)
        .tensor("w", &[8], 0, 0)
        .tensor("q", &[32, 2], 8, 32)
        .data(32, 32 + 68)
}

#[test]
fn a_valid_file_gives_windows_and_reversed_shapes() {
    let gguf = parse(&valid()).unwrap();
    assert_eq!(gguf.version, 3);
    assert_eq!(gguf.get("general.alignment"), Some(MetadataValue::U32(32)));
    let q = gguf.tensor("q").unwrap();
    assert_eq!(q.spec.shape, [2, 32], "outermost first");
    assert_eq!(q.buffer.len(), 68);
    let v2 = Builder::new(2, 0, 0).data(32, 0);
    assert_eq!(parse(&v2).unwrap().version, 2);
}

#[test]
fn short_files_bad_magic_and_versions() {
    for length in [0, 3, 8, 23] {
        let error = refuse(&valid()[..length]);
        assert!(
            matches!(error.kind, FormatErrorKind::Truncated { .. }),
            "{length}: {error}"
        );
    }
    let mut wrong = valid();
    wrong[..4].copy_from_slice(b"GGML");
    assert!(matches!(
        refuse(&wrong).kind,
        FormatErrorKind::BadMagic { .. }
    ));
    for version in [0u32, 1, 4, 3u32.swap_bytes()] {
        let error = refuse(&Builder::new(version, 0, 0).data(32, 0));
        assert!(
            matches!(error.kind, FormatErrorKind::UnsupportedVersion { .. }),
            "{version}: {error}"
        );
    }
}

#[test]
fn counts_the_file_cannot_hold() {
    assert_eq!(
        refuse(&Builder::new(3, u64::MAX, 0).data(32, 0)).field,
        "tensor_count"
    );
    assert_eq!(
        refuse(&Builder::new(3, 0, u64::MAX).data(32, 0)).field,
        "kv_count"
    );
    assert_eq!(
        refuse(&Builder::new(3, 1 << 40, 1).kv_u32("a", 1).data(32, 0)).field,
        "tensor_count"
    );
}

#[test]
fn strings_and_arrays_longer_than_the_file() {
    let long_key = Builder::new(3, 0, 1).u64(u64::MAX).data(32, 64);
    assert_eq!(refuse(&long_key).field, "kv[0].key");
    let long_value = Builder::new(3, 0, 1)
        .string("k")
        .u32(8)
        .u64(1 << 40)
        .data(32, 0);
    let error = refuse(&long_value);
    assert_eq!(error.key.as_deref(), Some("k"), "{error}");
    let huge_array = Builder::new(3, 0, 1)
        .string("k")
        .u32(9)
        .u32(10)
        .u64(1 << 62)
        .data(32, 0);
    assert_eq!(refuse(&huge_array).field, "array length");
    let mut nested = Builder::new(3, 0, 1).string("k").u32(9);
    for _ in 0..100_000 {
        nested = nested.u32(9).u64(1);
    }
    let error = refuse(&nested.data(32, 0));
    assert!(error.to_string().contains("nested"), "{error}");
}

#[test]
fn bad_value_types_and_bools() {
    for value_type in [13u32, 0xFFFF_FFFF] {
        let error = refuse(
            &Builder::new(3, 0, 1)
                .string("k")
                .u32(value_type)
                .u32(0)
                .data(32, 0),
        );
        assert_eq!(error.key.as_deref(), Some("k"), "{error}");
    }
    let bad_bool = Builder::new(3, 0, 1)
        .string("k")
        .u32(7)
        .raw(&[2])
        .data(32, 0);
    assert!(refuse(&bad_bool).to_string().contains("bool"));
}

#[test]
fn empty_duplicate_or_strange_keys_and_names() {
    assert_eq!(
        refuse(&Builder::new(3, 0, 1).kv_u32("", 1).data(32, 0)).field,
        "kv[0].key"
    );
    let duplicate = Builder::new(3, 0, 2)
        .kv_u32("a", 1)
        .kv_u32("a", 2)
        .data(32, 0);
    assert_eq!(refuse(&duplicate).kind, FormatErrorKind::DuplicateKey);
    let non_utf8 = Builder::new(3, 0, 1)
        .u64(2)
        .raw(&[0xFF, 0xFE])
        .u32(4)
        .u32(0)
        .data(32, 0);
    assert_eq!(refuse(&non_utf8).field, "kv[0].key");
    let nul = Builder::new(3, 0, 1).kv_u32("a\0b", 1).data(32, 0);
    assert_eq!(refuse(&nul).field, "kv[0].key");
    let long_name = Builder::new(3, 1, 0)
        .tensor(&"n".repeat(65), &[8], 0, 0)
        .data(32, 32);
    assert_eq!(refuse(&long_name).field, "tensor[0].name");
    let twice = Builder::new(3, 2, 0)
        .tensor("w", &[8], 0, 0)
        .tensor("w", &[8], 0, 32)
        .data(32, 64);
    assert_eq!(refuse(&twice).kind, FormatErrorKind::DuplicateKey);
}

#[test]
fn many_tiny_keys_parse_in_linear_time() {
    let count = 300_000u64;
    let mut builder = Builder::new(3, 0, count);
    for index in 0..count {
        builder = builder.kv_u32(&format!("k{index}"), 1);
    }
    let bytes = builder.data(32, 0);
    let start = std::time::Instant::now();
    assert_eq!(parse(&bytes).unwrap().metadata.len(), count as usize);
    // Generous: the quadratic duplicate check of llama.cpp needs minutes here.
    assert!(start.elapsed().as_secs() < 10, "{:?}", start.elapsed());
}

#[test]
fn dimensions_types_and_sizes() {
    let five = Builder::new(3, 1, 0)
        .tensor("w", &[1, 1, 1, 1, 1], 0, 0)
        .data(32, 32);
    assert_eq!(refuse(&five).field, "tensor[0].n_dims");
    let many = Builder::new(3, 1, 0).string("w").u32(u32::MAX).data(32, 32);
    assert_eq!(refuse(&many).field, "tensor[0].n_dims");
    let overflow = Builder::new(3, 1, 0)
        .tensor("w", &[1 << 40, 1 << 40], 0, 0)
        .data(32, 32);
    assert_eq!(refuse(&overflow).field, "tensor[0].dims");
    let zero = Builder::new(3, 1, 0).tensor("w", &[0, 5], 0, 0).data(32, 0);
    assert_eq!(
        parse(&zero).unwrap().tensors().next().unwrap().buffer.len(),
        0,
        "a zero dim is an empty tensor"
    );
    let scalar = Builder::new(3, 1, 0).tensor("s", &[], 0, 0).data(32, 4);
    assert_eq!(
        parse(&scalar).unwrap().tensors().next().unwrap().spec.shape,
        Vec::<u64>::new()
    );
    for type_id in [4u32, 5, 31, 99] {
        let error = refuse(
            &Builder::new(3, 1, 0)
                .tensor("w", &[32], type_id, 0)
                .data(32, 64),
        );
        assert_eq!(error.field, "tensor[0].type", "{type_id}");
    }
    let partial_block = Builder::new(3, 1, 0).tensor("q", &[33], 8, 0).data(32, 64);
    assert_eq!(refuse(&partial_block).field, "tensor[0].dims");
}

#[test]
fn bad_alignments() {
    for alignment in [0u32, 3, 1 << 31] {
        let bytes = Builder::new(3, 0, 1)
            .kv_u32("general.alignment", alignment)
            .data(32, 0);
        assert_eq!(refuse(&bytes).field, "general.alignment", "{alignment}");
    }
    let wrong_type = Builder::new(3, 0, 1)
        .string("general.alignment")
        .u32(10)
        .u64(32)
        .data(32, 0);
    assert_eq!(refuse(&wrong_type).field, "general.alignment");
}

#[test]
fn offsets_out_of_place() {
    let cases = [
        Builder::new(3, 1, 0).tensor("w", &[8], 0, 4).data(32, 64),
        Builder::new(3, 2, 0)
            .tensor("w", &[8], 0, 0)
            .tensor("v", &[8], 0, 0)
            .data(32, 64),
        Builder::new(3, 2, 0)
            .tensor("w", &[8], 0, 0)
            .tensor("v", &[8], 0, 64)
            .data(32, 128),
        Builder::new(3, 2, 0)
            .tensor("w", &[8], 0, 32)
            .tensor("v", &[8], 0, 0)
            .data(32, 64),
        Builder::new(3, 1, 0)
            .tensor("w", &[8], 0, u64::MAX - 8)
            .data(32, 64),
    ];
    for bytes in cases {
        let error = refuse(&bytes);
        assert!(error.field.ends_with(".offset"), "{error}");
    }
}

#[test]
fn truncated_data() {
    let bytes = valid();
    let error = refuse(&bytes[..bytes.len() - 1]);
    assert!(
        matches!(error.kind, FormatErrorKind::Truncated { .. }),
        "{error}"
    );
    assert_eq!(error.key.as_deref(), Some("q"));
}

#[test]
fn every_truncation_and_bit_flip_ends_in_a_result() {
    let bytes = valid();
    for length in 0..bytes.len() {
        let _ = parse(&bytes[..length]);
    }
    let mut flipped = bytes.clone();
    for at in 0..bytes.len().min(160) {
        for bit in [0, 3, 7] {
            flipped[at] ^= 1 << bit;
            let _ = parse(&flipped);
            flipped[at] ^= 1 << bit;
        }
    }
}

#[test]
fn the_real_model_parses() {
    let path = common::smollm2_gguf();
    let gguf = Gguf::open(&path).unwrap();
    let count = |name: &str| {
        gguf.tensors()
            .filter(|tensor| tensor.kind.name() == name)
            .count()
    };
    assert_eq!((count("Q4_1"), count("F32"), count("Q8_0")), (210, 61, 1));
    assert_eq!(
        gguf.get("llama.block_count")
            .as_ref()
            .and_then(MetadataValue::as_u64),
        Some(30)
    );
    assert_eq!(
        gguf.tensor("token_embd.weight").unwrap().spec.shape,
        [49152, 576]
    );
}

#[test]
fn arrays_cost_their_bytes_in_the_file_not_an_enum_per_element() {
    // A u8 array, a string array and an array of i16 arrays, each read into
    // its typed form: a 1 MiB u8 array is one 1 MiB vector.
    let count = 1 << 20;
    let mut builder = Builder::new(3, 0, 3)
        .string("bytes")
        .u32(9)
        .u32(0)
        .u64(count);
    builder = builder.raw(&vec![7u8; count as usize]);
    builder = builder.string("words").u32(9).u32(8).u64(3);
    builder = builder.string("a").string("").string("ccc");
    builder = builder.string("nested").u32(9).u32(9).u64(2);
    builder = builder.u32(3).u64(1).raw(&(-2i16).to_le_bytes());
    builder = builder.u32(3).u64(0);
    let gguf = parse(&builder.data(32, 0)).unwrap();
    let array = |key: &str| gguf.get(key).and_then(MetadataValue::into_array).unwrap();
    match array("bytes") {
        MetadataArray::Numbers(numbers) => {
            assert_eq!(numbers.element_type_name(), "u8");
            assert_eq!(numbers.len(), count as usize);
            assert!(numbers.bytes().iter().all(|&b| b == 7));
        }
        other => panic!("numbers in the file, got {}", other.element_type_name()),
    }
    let words: Vec<String> = array("words")
        .as_strings()
        .unwrap()
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(words, ["a", "", "ccc"]);
    let MetadataArray::Array(nested) = array("nested") else {
        panic!("an array of arrays");
    };
    let shapes: Vec<(&str, usize)> = nested
        .iter()
        .map(|array| (array.element_type_name(), array.len()))
        .collect();
    assert_eq!(shapes, [("i16", 1), ("i16", 0)]);
    assert_eq!(
        nested[0].unsigned(),
        Some(vec![None]),
        "negative is not unsigned"
    );
}

/// Item 1 of the hardening issue: the tables made from a header never
/// cost more heap than the header's bytes, however many tiny entries it
/// holds (each entry as small as the format allows).
#[test]
fn floods_of_tiny_entries_cost_less_heap_than_their_bytes() {
    let count = 100_000u64;
    let mut tensors = Builder::new(3, count, 0);
    for index in 0..count {
        tensors = tensors.tensor(&format!("t{index:x}"), &[0], 0, 0);
    }
    let bytes = tensors.data(32, 0);
    let gguf = parse(&bytes).unwrap();
    assert_eq!(gguf.tensor_count(), count as usize);
    assert_eq!(gguf.tensor("t1f").unwrap().spec.shape, [0]);
    assert!(
        gguf.table_bytes() < bytes.len(),
        "{} heap bytes for a {}-byte header",
        gguf.table_bytes(),
        bytes.len()
    );

    let mut kvs = Builder::new(3, 0, count);
    for index in 0..count {
        kvs = kvs.string(&format!("k{index:x}")).u32(0).raw(&[1]);
    }
    let bytes = kvs.data(32, 0);
    let gguf = parse(&bytes).unwrap();
    assert_eq!(gguf.get("k1f"), Some(MetadataValue::U8(1)));
    let heap = gguf.metadata.heap_bytes();
    assert!(
        heap < bytes.len(),
        "{heap} heap bytes for a {}-byte header",
        bytes.len()
    );
}
