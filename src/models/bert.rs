//! BERT sentence encoders from a sentence-transformers folder: `config.json`
//! (the encoder), `model.safetensors` (weights, memory-mapped), `modules.json`
//! (the pipeline: transformer, pooling, optional normalisation) and
//! `1_Pooling/config.json`.

mod config;
mod graph;
mod model;

pub use config::{BertConfig, Pooling, SentencePipeline};
pub use graph::{EMBED_FUNCTION, build_embedder};
pub use model::BertModel;

use crate::hlo::ModuleBuilder;
use crate::models::{GraphOption, GraphOptions, Model, ModelError, ModelKind};

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
            generation_loop: false,
            kernel: crate::hlo::IntegerKernel::Bytes,
        }
    }

    fn takes(&self, option: GraphOption) -> bool {
        matches!(option, GraphOption::Batch | GraphOption::SequenceLength)
    }

    fn tokenizer_json(&self) -> crate::models::Result<Option<Vec<u8>>> {
        let path = self.tokenizer_path();
        let bytes = crate::tensor::read_regular_file(&path).map_err(|error| {
            ModelError::config(&path, format!("cannot read the tokenizer: {error}"))
        })?;
        Ok(Some(bytes))
    }

    fn build(
        &self,
        module: &mut ModuleBuilder<'_>,
        options: &GraphOptions,
    ) -> crate::models::Result<()> {
        build_embedder(module, self, options.batch, options.sequence_length)
    }
}
