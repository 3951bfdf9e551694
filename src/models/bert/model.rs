//! A sentence-transformers folder, read: the encoder's configuration, the
//! pipeline after it, and the memory-mapped weights.

use std::path::{Path, PathBuf};

use super::config::{BertConfig, SentencePipeline};
use crate::formats::safetensors::Safetensors;

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
    pub fn open(folder: &Path) -> crate::models::Result<Self> {
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
