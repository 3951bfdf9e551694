//! BERT sentence encoders from a sentence-transformers folder: `config.json`
//! (the encoder), `model.safetensors` (weights, memory-mapped), `modules.json`
//! (the pipeline: transformer, pooling, optional normalisation) and
//! `1_Pooling/config.json`.

mod config;
mod export;
mod graph;

use std::path::{Path, PathBuf};

pub use config::{BertConfig, Pooling, SentencePipeline};
pub use export::{ExportOptions, MODEL_KIND, SCOPE, embed, export, tokenize};
pub use graph::{EMBED_FUNCTION, build_embedder};

use crate::formats::safetensors::Safetensors;

/// Errors specific to reading a model folder.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration file is missing, unreadable or not what it should be.
    #[error("`{path}`: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A weight the architecture needs is not in the checkpoint, or has the wrong shape.
    #[error("weight `{name}`: {message}")]
    Weight {
        /// The tensor name.
        name: String,
        /// What is wrong.
        message: String,
    },
}

/// A sentence-transformers BERT model: configuration plus mapped weights.
#[derive(Debug)]
pub struct BertModel {
    /// The model folder.
    pub folder: PathBuf,
    /// The encoder's hyper-parameters.
    pub config: BertConfig,
    /// What follows the encoder.
    pub pipeline: SentencePipeline,
    /// The weights, memory-mapped.
    pub weights: Safetensors,
}

impl BertModel {
    /// Reads a model folder.
    pub fn open(folder: &Path) -> crate::Result<Self> {
        let config = BertConfig::read(&folder.join("config.json"))?;
        let pipeline = SentencePipeline::read(folder)?;
        let weights = Safetensors::open(folder)?;
        Ok(Self {
            folder: folder.to_path_buf(),
            config,
            pipeline,
            weights,
        })
    }

    /// Returns the tokenizer file of the folder.
    pub fn tokenizer_path(&self) -> PathBuf {
        self.folder.join("tokenizer.json")
    }
}
