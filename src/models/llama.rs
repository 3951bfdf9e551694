//! llama-architecture models from GGUF: hyper-parameters from the metadata
//! (checked against the tensor shapes before any MLIR is built), weights as
//! mapped windows, and the graph (`graph`) llama.cpp computes for them.

mod config;
mod generate;
mod graph;
mod model;
mod tokenizer;

pub use config::LlamaConfig;
pub use generate::GENERATE_FUNCTION;
pub use graph::{DECODE_FUNCTION, PREFILL_FUNCTION, build_functions};
pub use model::LlamaModel;
pub use tokenizer::tokenizer_json;

use crate::hlo::ModuleBuilder;
use crate::models::{GraphOption, GraphOptions, Model, ModelKind};

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
            generation_loop: false,
            kernel: crate::hlo::IntegerKernel::Bytes,
        }
    }

    fn takes(&self, option: GraphOption) -> bool {
        matches!(
            option,
            GraphOption::SequenceLength
                | GraphOption::Quant
                | GraphOption::GenerationLoop
                | GraphOption::IntegerKernel
        )
    }

    fn tokenizer_json(&self) -> crate::models::Result<Option<Vec<u8>>> {
        let document = tokenizer_json(&self.gguf, &self.path)?;
        Ok(Some(document.to_string().into_bytes()))
    }

    fn end_token(&self) -> Option<u32> {
        LlamaModel::end_token(self)
    }

    fn start_token(&self) -> Option<u32> {
        LlamaModel::start_token(self)
    }

    fn chat_template(&self) -> Option<String> {
        LlamaModel::chat_template(self)
    }

    fn build(
        &self,
        module: &mut ModuleBuilder<'_>,
        options: &GraphOptions,
    ) -> crate::models::Result<()> {
        build_functions(module, self, options)?;
        if options.generation_loop {
            generate::build_generate(module, self, options.sequence_length)?;
        }
        Ok(())
    }
}
