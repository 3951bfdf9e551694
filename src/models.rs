//! Graphs built with the converter. For now the tutorial examples; real
//! models (BERT from safetensors, llama from GGUF) join them here.

pub mod bert;
pub mod llama;
pub mod tutorial;
