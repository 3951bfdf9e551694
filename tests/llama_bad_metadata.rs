//! Llama GGUFs whose metadata contradicts itself or the tensors
//! (bad-inputs catalog 16): a huge or zero count, heads that do not divide
//! the width, tensors missing for the declared blocks or shaped against the
//! metadata, tokenizer arrays of the wrong type. Each is refused with an
//! error naming the file and the key or tensor, before any MLIR is built or
//! any output written.

mod common;

use common::tiny_llama::{TinyLlama, Value};
use irex::export::{ExportOptions, Silent, export_folder};
use irex::models::llama;

/// Exports `model` and returns the error text; asserts that the output
/// folder stayed empty (nothing built or written before the check).
fn refused(model: &TinyLlama) -> String {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("tiny.gguf");
    std::fs::write(&path, model.bytes()).unwrap();
    let out = folder.path().join("out");
    let options = ExportOptions::default();
    let error = irex::models::open(&path)
        .map_err(irex::Error::from)
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
