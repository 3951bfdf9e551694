//! The hyper-parameters of a llama GGUF (`llama.*` keys), read and checked
//! against each other before any tensor is looked at.

use std::path::Path;

use crate::formats::gguf::{Gguf, MetadataValue};
use crate::models::ModelError;

/// The hyper-parameters of a llama model (`llama.*` GGUF keys).
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Decoder blocks (`block_count`).
    pub blocks: u64,
    /// Width of the residual stream (`embedding_length`).
    pub embedding: u64,
    /// Width of the feed-forward layer (`feed_forward_length`).
    pub feed_forward: u64,
    /// Query heads (`attention.head_count`).
    pub heads: u64,
    /// Key/value heads (`attention.head_count_kv`).
    pub kv_heads: u64,
    /// RMSNorm epsilon (`attention.layer_norm_rms_epsilon`).
    pub rms_epsilon: f64,
    /// Rotary base (`rope.freq_base`, default 10000).
    pub rope_base: f64,
    /// Rotated dimensions per head (`rope.dimension_count`, default the head size).
    pub rope_dimensions: u64,
    /// Rows of the token embedding.
    pub vocabulary: u64,
    /// Longest context the model was trained for (`context_length`).
    pub context: u64,
}

fn config_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::config(path, message)
}

impl LlamaConfig {
    /// Reads and checks the `llama.*` keys of `gguf` (from `path`, for errors).
    pub fn from_gguf(gguf: &Gguf, path: &Path) -> Result<Self, ModelError> {
        let architecture = gguf
            .get("general.architecture")
            .and_then(MetadataValue::into_string);
        if architecture.as_deref() != Some("llama") {
            return Err(config_error(
                path,
                format!("general.architecture is {architecture:?}, expected \"llama\""),
            ));
        }
        let integer = |key: &str, default: Option<u64>| {
            match gguf.get(&format!("llama.{key}")) {
                Some(value) => value.as_u64(),
                None => default,
            }
            .filter(|value| (1..=1 << 24).contains(value))
            .ok_or_else(|| {
                config_error(
                    path,
                    format!("`llama.{key}` is missing or not an integer in 1..=2^24"),
                )
            })
        };
        let float = |key: &str, default: Option<f64>| {
            match gguf.get(&format!("llama.{key}")) {
                Some(value) => value.as_f64(),
                None => default,
            }
            .filter(|value| value.is_finite() && *value > 0.0)
            .ok_or_else(|| {
                config_error(
                    path,
                    format!("`llama.{key}` is missing or not a positive number"),
                )
            })
        };
        let embedding = integer("embedding_length", None)?;
        let heads = integer("attention.head_count", None)?;
        let kv_heads = integer("attention.head_count_kv", Some(heads))?;
        let embed_rows = gguf
            .tensor("token_embd.weight")
            .map(|t| t.spec.shape.clone());
        let config = Self {
            blocks: integer("block_count", None)?,
            embedding,
            feed_forward: integer("feed_forward_length", None)?,
            heads,
            kv_heads,
            rms_epsilon: float("attention.layer_norm_rms_epsilon", None)?,
            rope_base: float("rope.freq_base", Some(10000.0))?,
            rope_dimensions: integer("rope.dimension_count", Some(embedding / heads))?,
            vocabulary: embed_rows
                .as_ref()
                .and_then(|shape| shape.first().copied())
                .unwrap_or(0),
            context: integer("context_length", Some(2048))?,
        };
        config
            .check()
            .map_err(|message| config_error(path, message))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        if self.embedding % self.heads != 0 {
            return Err("embedding_length is not a multiple of head_count".into());
        }
        if self.heads % self.kv_heads != 0 {
            return Err("head_count is not a multiple of head_count_kv".into());
        }
        if self.rope_dimensions != self.head_size() {
            return Err(
                "partial rotary embeddings (rope.dimension_count ≠ head size) are not supported"
                    .into(),
            );
        }
        if self.head_size() % 2 != 0 {
            return Err("the head size must be even for rotary embeddings".into());
        }
        if self.vocabulary == 0 {
            return Err("token_embd.weight is missing".into());
        }
        Ok(())
    }

    /// Returns the width of one attention head.
    pub fn head_size(&self) -> u64 {
        self.embedding / self.heads
    }
}
