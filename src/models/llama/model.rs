//! A llama GGUF, read: the parsed file, its checked configuration, and
//! every tensor the graph uses checked against it.

use std::path::{Path, PathBuf};

use super::config::LlamaConfig;
use crate::formats::gguf::{Gguf, GgufTensor, MetadataValue};
use crate::models::ModelError;
use crate::models::weights::gguf_tensor;

/// A llama GGUF: its configuration and mapped tensors.
#[derive(Debug)]
pub struct LlamaModel {
    /// The file.
    pub path: PathBuf,
    /// The parsed file.
    pub gguf: Gguf,
    /// The checked hyper-parameters.
    pub config: LlamaConfig,
}

impl LlamaModel {
    /// Reads a llama GGUF and checks its configuration and tensor shapes.
    pub fn open(path: &Path) -> crate::models::Result<Self> {
        let gguf = Gguf::open(path)?;
        let config = LlamaConfig::from_gguf(&gguf, path)?;
        let model = Self {
            path: path.to_path_buf(),
            gguf,
            config,
        };
        model.check_shapes()?;
        Ok(model)
    }

    /// Returns the tensor `name`, checking its shape (outermost first).
    pub fn tensor(&self, name: &str, shape: &[u64]) -> Result<GgufTensor, ModelError> {
        gguf_tensor(&self.gguf, name, shape)
    }

    /// Checks every tensor the graph uses before any MLIR is built.
    fn check_shapes(&self) -> Result<(), ModelError> {
        let c = &self.config;
        let kv = c.kv_heads * c.head_size();
        self.tensor("token_embd.weight", &[c.vocabulary, c.embedding])?;
        self.tensor("output_norm.weight", &[c.embedding])?;
        if self.gguf.tensor("output.weight").is_some() {
            self.tensor("output.weight", &[c.vocabulary, c.embedding])?;
        }
        for block in 0..c.blocks {
            let name = |part: &str| format!("blk.{block}.{part}.weight");
            self.tensor(&name("attn_norm"), &[c.embedding])?;
            self.tensor(&name("attn_q"), &[c.embedding, c.embedding])?;
            self.tensor(&name("attn_k"), &[kv, c.embedding])?;
            self.tensor(&name("attn_v"), &[kv, c.embedding])?;
            self.tensor(&name("attn_output"), &[c.embedding, c.embedding])?;
            self.tensor(&name("ffn_norm"), &[c.embedding])?;
            self.tensor(&name("ffn_gate"), &[c.feed_forward, c.embedding])?;
            self.tensor(&name("ffn_up"), &[c.feed_forward, c.embedding])?;
            self.tensor(&name("ffn_down"), &[c.embedding, c.feed_forward])?;
        }
        Ok(())
    }

    /// The end-of-sequence token, from `tokenizer.ggml.eos_token_id`.
    pub fn end_token(&self) -> Option<u32> {
        self.token_id("tokenizer.ggml.eos_token_id")
    }

    /// The start-of-sequence token, from `tokenizer.ggml.bos_token_id`.
    pub fn start_token(&self) -> Option<u32> {
        self.token_id("tokenizer.ggml.bos_token_id")
    }

    /// A token id the metadata names under `key`, if in the vocabulary.
    fn token_id(&self, key: &str) -> Option<u32> {
        self.gguf
            .get(key)
            .as_ref()
            .and_then(MetadataValue::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .filter(|&id| u64::from(id) < self.config.vocabulary)
    }

    /// The chat template, from `tokenizer.chat_template`.
    pub fn chat_template(&self) -> Option<String> {
        self.gguf
            .get("tokenizer.chat_template")
            .and_then(MetadataValue::into_string)
    }
}
