//! llama-architecture models from GGUF: hyper-parameters from the metadata
//! (checked against the tensor shapes before any MLIR is built), weights as
//! mapped windows, and the graph (`graph`) llama.cpp computes for them.

mod graph;
mod tokenizer;

use std::path::{Path, PathBuf};

pub use graph::{DECODE_FUNCTION, PREFILL_FUNCTION, build_functions};
pub use tokenizer::tokenizer_json;

use super::weights::gguf_tensor;
use super::{GraphOption, GraphOptions, Model, ModelError, ModelKind};
use crate::formats::gguf::{Gguf, GgufTensor, MetadataValue};
use crate::hlo::ModuleBuilder;

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
            .and_then(MetadataValue::as_str);
        if architecture != Some("llama") {
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
    pub fn open(path: &Path) -> crate::Result<Self> {
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
    pub fn tensor(&self, name: &str, shape: &[u64]) -> Result<&GgufTensor, ModelError> {
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
        self.gguf
            .get("tokenizer.ggml.eos_token_id")
            .and_then(MetadataValue::as_u64)
            .and_then(|id| u32::try_from(id).ok())
            .filter(|&id| u64::from(id) < self.config.vocabulary)
    }
}

impl Model for LlamaModel {
    fn kind(&self) -> ModelKind {
        ModelKind::CausalLm
    }

    fn source_description(&self) -> &'static str {
        "a llama GGUF file"
    }

    fn source(&self) -> String {
        self.path.display().to_string()
    }

    fn module_name(&self) -> &str {
        "llama"
    }

    fn defaults(&self) -> GraphOptions {
        GraphOptions {
            batch: 1,
            sequence_length: 64.min(self.config.context),
            quant: Default::default(),
        }
    }

    fn takes(&self, option: GraphOption) -> bool {
        matches!(option, GraphOption::SequenceLength | GraphOption::Quant)
    }

    fn tokenizer_json(&self) -> crate::Result<Option<Vec<u8>>> {
        let document = tokenizer_json(&self.gguf, &self.path)?;
        Ok(Some(document.to_string().into_bytes()))
    }

    fn end_token(&self) -> Option<u32> {
        LlamaModel::end_token(self)
    }

    fn build(&self, module: &mut ModuleBuilder<'_>, options: &GraphOptions) -> crate::Result<()> {
        build_functions(module, self, options.sequence_length, options.quant)
    }
}
