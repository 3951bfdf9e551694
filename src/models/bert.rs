//! BERT sentence encoders from a sentence-transformers folder: `config.json`
//! (the encoder), `model.safetensors` (weights, memory-mapped), `modules.json`
//! (the pipeline: transformer, pooling, optional normalisation) and
//! `1_Pooling/config.json`.

mod config;
mod graph;

use std::path::{Path, PathBuf};

pub use config::{BertConfig, Pooling, SentencePipeline};
pub use graph::{EMBED_FUNCTION, build_embedder};

use super::{GraphOption, GraphOptions, Model, ModelError, ModelKind};
use crate::formats::safetensors::Safetensors;
use crate::hlo::ModuleBuilder;

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

impl Model for BertModel {
    fn kind(&self) -> ModelKind {
        ModelKind::SentenceEncoder
    }

    fn source_description(&self) -> &'static str {
        "a sentence-transformers BERT folder"
    }

    fn source(&self) -> String {
        self.folder.display().to_string()
    }

    fn module_name(&self) -> &str {
        "bert"
    }

    fn defaults(&self) -> GraphOptions {
        GraphOptions {
            batch: 1,
            sequence_length: 128,
            quant: Default::default(),
        }
    }

    fn takes(&self, option: GraphOption) -> bool {
        matches!(option, GraphOption::Batch | GraphOption::SequenceLength)
    }

    fn tokenizer_json(&self) -> crate::Result<Option<Vec<u8>>> {
        let path = self.tokenizer_path();
        let bytes = std::fs::read(&path).map_err(|error| {
            ModelError::config(&path, format!("cannot read the tokenizer: {error}"))
        })?;
        Ok(Some(bytes))
    }

    fn build(&self, module: &mut ModuleBuilder<'_>, options: &GraphOptions) -> crate::Result<()> {
        build_embedder(module, self, options.batch, options.sequence_length)
    }
}
