//! Llama GGUFs whose metadata contradicts itself or the tensors
//! (bad-inputs catalog 16): a huge or zero count, heads that do not divide
//! the width, tensors missing for the declared blocks or shaped against the
//! metadata, tokenizer arrays of the wrong type. Each is refused with an
//! error naming the file and the key or tensor, before any MLIR is built or
//! any output written.

use irex::export::{ExportOptions, Silent, export_folder};
use irex::models::llama;

/// GGUF metadata values this test writes.
enum Value {
    U32(u32),
    U64(u64),
    F32(f32),
    Str(&'static str),
    Strings(Vec<String>),
    U32s(Vec<u32>),
}

impl Value {
    fn write(&self, out: &mut Vec<u8>) {
        let string = |out: &mut Vec<u8>, text: &str| {
            out.extend((text.len() as u64).to_le_bytes());
            out.extend(text.as_bytes());
        };
        match self {
            Self::U32(value) => {
                out.extend(4u32.to_le_bytes().into_iter().chain(value.to_le_bytes()))
            }
            Self::U64(value) => {
                out.extend(10u32.to_le_bytes().into_iter().chain(value.to_le_bytes()))
            }
            Self::F32(value) => {
                out.extend(6u32.to_le_bytes().into_iter().chain(value.to_le_bytes()))
            }
            Self::Str(text) => {
                out.extend(8u32.to_le_bytes());
                string(out, text);
            }
            Self::Strings(items) => {
                out.extend(9u32.to_le_bytes().into_iter().chain(8u32.to_le_bytes()));
                out.extend((items.len() as u64).to_le_bytes());
                items.iter().for_each(|item| string(out, item));
            }
            Self::U32s(items) => {
                out.extend(9u32.to_le_bytes().into_iter().chain(4u32.to_le_bytes()));
                out.extend((items.len() as u64).to_le_bytes());
                items.iter().for_each(|item| out.extend(item.to_le_bytes()));
            }
        }
    }
}

/// A one-block llama (width 8, 2 heads, 1 KV head, feed-forward 16,
/// vocabulary 4) with f32 weights: metadata keys and tensors (name, shape
/// outermost first), each replaceable by a test.
struct TinyLlama {
    metadata: Vec<(&'static str, Value)>,
    tensors: Vec<(String, Vec<u64>)>,
}

impl TinyLlama {
    fn new() -> Self {
        let tokens = ["a", "b", "ab", "<|end|>"].map(String::from).to_vec();
        let metadata = vec![
            ("general.architecture", Value::Str("llama")),
            ("llama.block_count", Value::U32(1)),
            ("llama.context_length", Value::U32(16)),
            ("llama.embedding_length", Value::U32(8)),
            ("llama.feed_forward_length", Value::U32(16)),
            ("llama.attention.head_count", Value::U32(2)),
            ("llama.attention.head_count_kv", Value::U32(1)),
            ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-5)),
            ("tokenizer.ggml.model", Value::Str("gpt2")),
            ("tokenizer.ggml.tokens", Value::Strings(tokens)),
            ("tokenizer.ggml.merges", Value::Strings(vec!["a b".into()])),
        ];
        let mut tensors = vec![
            ("token_embd.weight".to_string(), vec![4, 8]),
            ("output_norm.weight".to_string(), vec![8]),
        ];
        for (part, shape) in [
            ("attn_norm", vec![8]),
            ("attn_q", vec![8, 8]),
            ("attn_k", vec![4, 8]),
            ("attn_v", vec![4, 8]),
            ("attn_output", vec![8, 8]),
            ("ffn_norm", vec![8]),
            ("ffn_gate", vec![16, 8]),
            ("ffn_up", vec![16, 8]),
            ("ffn_down", vec![8, 16]),
        ] {
            tensors.push((format!("blk.0.{part}.weight"), shape));
        }
        Self { metadata, tensors }
    }

    fn set(mut self, key: &'static str, value: Value) -> Self {
        self.metadata.retain(|(existing, _)| *existing != key);
        self.metadata.push((key, value));
        self
    }

    fn reshape(mut self, name: &str, shape: &[u64]) -> Self {
        let tensor = self.tensors.iter_mut().find(|(n, _)| n == name).unwrap();
        tensor.1 = shape.to_vec();
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = b"GGUF".to_vec();
        out.extend(3u32.to_le_bytes());
        out.extend((self.tensors.len() as u64).to_le_bytes());
        out.extend((self.metadata.len() as u64).to_le_bytes());
        for (key, value) in &self.metadata {
            out.extend((key.len() as u64).to_le_bytes());
            out.extend(key.as_bytes());
            value.write(&mut out);
        }
        let mut offset = 0u64;
        for (name, shape) in &self.tensors {
            out.extend((name.len() as u64).to_le_bytes());
            out.extend(name.as_bytes());
            out.extend((shape.len() as u32).to_le_bytes());
            shape
                .iter()
                .rev()
                .for_each(|dim| out.extend(dim.to_le_bytes()));
            out.extend(0u32.to_le_bytes()); // F32
            out.extend(offset.to_le_bytes());
            offset += (shape.iter().product::<u64>() * 4).next_multiple_of(32);
        }
        out.resize(out.len().next_multiple_of(32), 0);
        out.resize(out.len() + offset as usize, 0x3c);
        out
    }
}

/// Exports `model` and returns the error text; asserts that the output
/// folder stayed empty (nothing built or written before the check).
fn refused(model: &TinyLlama) -> String {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tiny.gguf");
    std::fs::write(&path, model.bytes()).unwrap();
    let out = folder.path().join("out");
    let options = ExportOptions::default();
    let error = irex::models::open(&path)
        .and_then(|model| export_folder(model.as_ref(), &out, &options, &mut Silent))
        .expect_err("must be refused");
    let written: Vec<_> = std::fs::read_dir(&out)
        .map(|entries| entries.map(|entry| entry.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(written.is_empty(), "nothing written, found {written:?}");
    let text = error.to_string();
    assert!(
        text.contains(&path.display().to_string())
            || text.contains("blk.")
            || text.contains("weight"),
        "the error names the file or the tensor: {text}"
    );
    text
}

fn assert_names(text: &str, needle: &str) {
    assert!(text.contains(needle), "`{needle}` in: {text}");
}

#[test]
fn the_tiny_llama_itself_is_accepted() {
    // The control: the file the other tests spoil passes the same checks.
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tiny.gguf");
    std::fs::write(&path, TinyLlama::new().bytes()).unwrap();
    let model = llama::LlamaModel::open(&path).unwrap();
    assert_eq!(model.config.blocks, 1);
    assert_eq!(model.config.head_size(), 4);
    llama::tokenizer_json(&model.gguf, &path).unwrap();
}

#[test]
fn huge_and_zero_counts() {
    let text = refused(&TinyLlama::new().set("llama.block_count", Value::U64(1 << 32)));
    assert_names(&text, "llama.block_count");
    let text = refused(&TinyLlama::new().set("llama.attention.head_count", Value::U32(0)));
    assert_names(&text, "llama.attention.head_count");
    let text = refused(&TinyLlama::new().set("llama.embedding_length", Value::U32(0)));
    assert_names(&text, "llama.embedding_length");
    let text = refused(&TinyLlama::new().set(
        "llama.attention.layer_norm_rms_epsilon",
        Value::F32(f32::NAN),
    ));
    assert_names(&text, "layer_norm_rms_epsilon");
}

#[test]
fn heads_that_do_not_divide() {
    let text = refused(&TinyLlama::new().set("llama.attention.head_count", Value::U32(3)));
    assert_names(&text, "head_count");
    let text = refused(&TinyLlama::new().set("llama.attention.head_count_kv", Value::U32(3)));
    assert_names(&text, "head_count_kv");
    let text = refused(&TinyLlama::new().set("llama.rope.dimension_count", Value::U32(2)));
    assert_names(&text, "rope.dimension_count");
}

#[test]
fn tensors_against_the_metadata() {
    // More blocks declared than the file holds.
    let text = refused(&TinyLlama::new().set("llama.block_count", Value::U32(1 << 20)));
    assert_names(&text, "blk.1.attn_norm.weight");
    // A weight shaped against the declared widths.
    let text = refused(&TinyLlama::new().set("llama.feed_forward_length", Value::U32(32)));
    assert_names(&text, "blk.0.ffn_gate.weight");
    let text = refused(&TinyLlama::new().reshape("blk.0.attn_k.weight", &[8, 8]));
    assert_names(&text, "blk.0.attn_k.weight");
    let text = refused(&TinyLlama::new().reshape("output_norm.weight", &[7]));
    assert_names(&text, "output_norm.weight");
}

#[test]
fn tokenizer_arrays_of_the_wrong_type() {
    let text =
        refused(&TinyLlama::new().set("tokenizer.ggml.tokens", Value::U32s(vec![1, 2, 3, 4])));
    assert_names(&text, "tokenizer.ggml.tokens");
    let text = refused(&TinyLlama::new().set("tokenizer.ggml.merges", Value::U32(7)));
    assert_names(&text, "tokenizer.ggml.merges");
    let text = refused(&TinyLlama::new().set("tokenizer.ggml.token_type", Value::U32s(vec![1, 1])));
    assert_names(&text, "tokenizer.ggml.token_type");
    let text = refused(&TinyLlama::new().set("tokenizer.ggml.model", Value::Str("llama")));
    assert_names(&text, "tokenizer.ggml.model");
}

#[test]
fn a_wrong_architecture_is_named() {
    let text = refused(&TinyLlama::new().set("general.architecture", Value::Str("gpt2")));
    assert_names(&text, "general.architecture");
}
