//! Everything that executes an exported folder: sentence embeddings,
//! causal-LM logits and greedy generation, and the tutorial stages. All of
//! it reaches IREE's runtime through one seam, [`Runner`]; today's
//! [`ToolRunner`] runs `iree-run-module`, and an in-process runtime
//! replaces that one room and nothing else.

mod causal_lm;
mod embed;
mod error;
mod folder;
mod runner;
mod tokenizer;
pub mod tutorial;

pub use causal_lm::{CausalLm, Generation, generate, logits, tokenize};
pub use embed::embed;
pub use error::RunError;
pub use folder::ExportFolder;
pub use runner::{Arg, ModuleFiles, Runner, ToolRunner, ToolValue};
pub use tokenizer::Tokenizer;
