//! Everything that executes an exported folder: sentence embeddings,
//! causal-LM logits and greedy generation, and the tutorial stages. All of
//! it reaches IREE's runtime through one seam, [`Runner`]: CPU modules run
//! in process ([`RuntimeRunner`], over the runtime linked into irex), and
//! modules for other devices through `iree-run-module` ([`ToolRunner`]);
//! [`ModuleRunner`] picks by the manifest's device.

mod causal_lm;
mod embed;
mod error;
mod folder;
mod in_process;
mod runner;
mod sampling;
mod tokenizer;
pub mod tutorial;

pub use causal_lm::{CausalLm, GenerateRequest, Generation, generate, logits, tokenize};
pub use embed::{embed, embed_with};
pub use error::RunError;
pub use folder::ExportFolder;
pub use in_process::{ModuleRunner, ModuleValue, RunOptions, RuntimeRunner};
pub use runner::{Arg, ModuleFiles, Runner, ToolRunner, ToolValue};
pub use sampling::{Sampler, Sampling, argmax};
pub use tokenizer::Tokenizer;
