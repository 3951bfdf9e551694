//! The JSON files that describe a sentence-transformers BERT folder.

use std::path::Path;

use serde::Deserialize;

use crate::models::ModelError;

/// The encoder's hyper-parameters (`config.json`), checked for consistency.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct BertConfig {
    /// Width of every token vector.
    pub hidden_size: u64,
    /// Number of encoder layers.
    pub num_hidden_layers: u64,
    /// Attention heads per layer.
    pub num_attention_heads: u64,
    /// Width of the feed-forward layer.
    pub intermediate_size: u64,
    /// Rows of the position embedding table.
    pub max_position_embeddings: u64,
    /// Rows of the token-type embedding table.
    pub type_vocab_size: u64,
    /// Rows of the word embedding table.
    pub vocab_size: u64,
    /// LayerNorm epsilon.
    #[serde(default = "default_layer_norm_eps")]
    pub layer_norm_eps: f64,
    /// Feed-forward activation: `gelu` (exact, erf) or `gelu_new`/`gelu_pytorch_tanh` (tanh), `relu`.
    #[serde(default = "default_hidden_act")]
    pub hidden_act: String,
    /// Only `absolute` position embeddings are supported.
    #[serde(default = "default_position_embedding_type")]
    pub position_embedding_type: String,
}

fn default_layer_norm_eps() -> f64 {
    1e-12
}

fn default_hidden_act() -> String {
    "gelu".into()
}

fn default_position_embedding_type() -> String {
    "absolute".into()
}

fn config_error(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ModelError> {
    let bytes = crate::tensor::read_regular_file(path)
        .map_err(|error| config_error(path, error.to_string()))?;
    let text = String::from_utf8(bytes).map_err(|error| config_error(path, error.to_string()))?;
    serde_json::from_str(&text).map_err(|error| config_error(path, error.to_string()))
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn read(path: &Path) -> Result<Self, ModelError> {
        let config: Self = read_json(path)?;
        config
            .check()
            .map_err(|message| config_error(path, message))?;
        Ok(config)
    }

    fn check(&self) -> Result<(), String> {
        let positive = [
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_hidden_layers),
            ("num_attention_heads", self.num_attention_heads),
            ("intermediate_size", self.intermediate_size),
            ("max_position_embeddings", self.max_position_embeddings),
            ("type_vocab_size", self.type_vocab_size),
            ("vocab_size", self.vocab_size),
        ];
        if let Some((name, _)) = positive
            .iter()
            .find(|(_, value)| !(1..=1 << 20).contains(value))
        {
            return Err(format!("`{name}` must be between 1 and 2^20"));
        }
        if self.hidden_size % self.num_attention_heads != 0 {
            return Err("`hidden_size` must be a multiple of `num_attention_heads`".into());
        }
        if !(self.layer_norm_eps > 0.0 && self.layer_norm_eps < 1.0) {
            return Err("`layer_norm_eps` must be in (0, 1)".into());
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu"
        ) {
            return Err(format!("unsupported `hidden_act` `{}`", self.hidden_act));
        }
        if self.position_embedding_type != "absolute" {
            return Err(format!(
                "unsupported `position_embedding_type` `{}`",
                self.position_embedding_type
            ));
        }
        Ok(())
    }

    /// Returns the width of one attention head.
    pub fn head_size(&self) -> u64 {
        self.hidden_size / self.num_attention_heads
    }
}

/// How token vectors become one sentence vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over the tokens the attention mask keeps.
    Mean,
    /// The first (`[CLS]`) token's vector.
    Cls,
    /// Elementwise maximum over the kept tokens.
    Max,
}

/// The sentence-transformers pipeline after the encoder (`modules.json`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentencePipeline {
    /// The pooling module's mode.
    pub pooling: Pooling,
    /// Whether a `Normalize` module follows (L2 normalisation).
    pub normalize: bool,
}

#[derive(Deserialize)]
struct ModuleEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
}

#[derive(Deserialize)]
struct PoolingConfig {
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

impl SentencePipeline {
    /// Reads `modules.json` and the pooling module's config.
    pub fn read(folder: &Path) -> Result<Self, ModelError> {
        let modules_path = folder.join("modules.json");
        let modules: Vec<ModuleEntry> = read_json(&modules_path)?;
        let kinds: Vec<&str> = modules.iter().map(|m| m.kind.as_str()).collect();
        let pooling_module = modules
            .iter()
            .find(|m| m.kind.ends_with(".Pooling"))
            .ok_or_else(|| config_error(&modules_path, "no Pooling module"))?;
        if let Some(other) = kinds.iter().find(|kind| {
            !kind.ends_with(".Transformer")
                && !kind.ends_with(".Pooling")
                && !kind.ends_with(".Normalize")
        }) {
            return Err(config_error(
                &modules_path,
                format!("unsupported module `{other}`"),
            ));
        }
        let pooling_path = folder.join(&pooling_module.path).join("config.json");
        let config: PoolingConfig = read_json(&pooling_path)?;
        let modes = [
            (config.pooling_mode_mean_tokens, Pooling::Mean),
            (config.pooling_mode_cls_token, Pooling::Cls),
            (config.pooling_mode_max_tokens, Pooling::Max),
        ];
        let chosen: Vec<Pooling> = modes
            .iter()
            .filter(|(on, _)| *on)
            .map(|&(_, mode)| mode)
            .collect();
        if chosen.len() != 1 || config.pooling_mode_mean_sqrt_len_tokens {
            return Err(config_error(
                &pooling_path,
                "exactly one of mean, cls or max pooling is supported",
            ));
        }
        Ok(Self {
            pooling: chosen[0],
            normalize: kinds.iter().any(|kind| kind.ends_with(".Normalize")),
        })
    }
}
