//! The tokenizer of a GGUF, rebuilt for the Hugging Face `tokenizers`
//! library from the metadata: `tokenizer.ggml.tokens`, `.merges`,
//! `.token_type` and `.pre` (the pre-tokenizer llama.cpp applies) become a
//! `tokenizer.json` (byte-level BPE), written beside the exported module.

use std::path::Path;

use serde_json::{Value, json};

use crate::formats::gguf::{Gguf, MetadataValue, Strings};
use crate::models::ModelError;

/// ggml's token types that are special tokens (control and user-defined).
const CONTROL: u64 = 3;
const USER_DEFINED: u64 = 4;

fn tokenizer_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::config(path, message)
}

fn strings(gguf: &Gguf, key: &str, path: &Path) -> Result<Strings, ModelError> {
    let values = gguf
        .get(key)
        .and_then(MetadataValue::into_array)
        .ok_or_else(|| tokenizer_error(path, format!("`{key}` is missing or not an array")))?;
    let element_type = values.element_type_name();
    values.into_strings().ok_or_else(|| {
        tokenizer_error(
            path,
            format!("`{key}` holds a {element_type}, expected strings"),
        )
    })
}

/// The pre-tokenizer llama.cpp uses for `tokenizer.ggml.pre`.
fn pre_tokenizer(pre: &str, path: &Path) -> Result<Value, ModelError> {
    let byte_level = json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true});
    match pre {
        "gpt2" | "default" => Ok(byte_level),
        // llama.cpp splits every digit, then applies GPT-2's regex.
        "smollm" => Ok(json!({"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": true},
            byte_level
        ]})),
        other => Err(tokenizer_error(
            path,
            format!("unsupported `tokenizer.ggml.pre` `{other}`"),
        )),
    }
}

/// Builds a `tokenizer.json` document from the metadata of a gpt2-style GGUF.
pub fn tokenizer_json(gguf: &Gguf, path: &Path) -> Result<Value, ModelError> {
    let model = gguf
        .get("tokenizer.ggml.model")
        .and_then(MetadataValue::into_string);
    if model.as_deref() != Some("gpt2") {
        let found = match gguf.get("tokenizer.ggml.model") {
            None => "missing".to_string(),
            Some(MetadataValue::String(text)) => format!("{text:?}"),
            Some(other) => format!("a {}, not a string", other.type_name()),
        };
        return Err(tokenizer_error(
            path,
            format!("tokenizer.ggml.model is {found}; only \"gpt2\" (byte-level BPE) is supported"),
        ));
    }
    let token_strings = strings(gguf, "tokenizer.ggml.tokens", path)?;
    let merge_strings = strings(gguf, "tokenizer.ggml.merges", path)?;
    let tokens: Vec<&str> = token_strings.iter().collect();
    let merges: Vec<&str> = merge_strings.iter().collect();
    let types: Vec<u64> = match gguf
        .get("tokenizer.ggml.token_type")
        .and_then(MetadataValue::into_array)
    {
        Some(values) => values
            .unsigned()
            .ok_or_else(|| {
                tokenizer_error(
                    path,
                    format!(
                        "`tokenizer.ggml.token_type` holds a {}, expected integers",
                        values.element_type_name()
                    ),
                )
            })?
            .into_iter()
            .map(|kind| kind.unwrap_or(1))
            .collect(),
        None => vec![1; tokens.len()],
    };
    if types.len() != tokens.len() {
        return Err(tokenizer_error(
            path,
            "tokenizer.ggml.token_type and tokenizer.ggml.tokens differ in length",
        ));
    }
    let pre = gguf
        .get("tokenizer.ggml.pre")
        .and_then(MetadataValue::into_string);
    let pre = pre.as_deref().unwrap_or("default");
    let vocab: serde_json::Map<String, Value> = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.to_string(), json!(id)))
        .collect();
    let added: Vec<Value> = tokens
        .iter()
        .zip(&types)
        .enumerate()
        .filter(|(_, (_, kind))| matches!(**kind, CONTROL | USER_DEFINED))
        .map(|(id, (token, _))| {
            json!({"id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
                   "normalized": false, "special": true})
        })
        .collect();
    Ok(json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre_tokenizer(pre, path)?,
        "post_processor": null,
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                  "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                  "vocab": vocab, "merges": merges}
    }))
}
