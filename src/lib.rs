//! irex turns models into IREE deployables, MLIR-natively: it builds
//! StableHLO in memory through the MLIR C API inside IREE's own compiler
//! library, externalises weights as `#flow.parameter.named` references backed
//! by an `.irpa` it writes itself, and compiles in-process.
//!
//! The layers, bottom up; each imports only the ones listed before it
//! (`ARCHITECTURE.md` states the rule, `tests/layers.rs` checks it):
//!
//! - [`tensor`]: the vocabulary: element and ggml block types, tensor specs,
//!   buffer handles, the one memory-mapping seam ([`tensor::MappedFile`]);
//! - [`output`]: crash-safe output files;
//! - [`diagnostic`]: what MLIR and IREE report;
//! - [`quant`]: reference dequantizers and affine (`!quant.uniform`)
//!   quantization, as data;
//! - [`formats`]: GGUF, safetensors, `.irpa`, `.npy`, `irex.json`, and
//!   [`formats::detect`], which tells them apart;
//! - [`hlo`]: the converter that builds and verifies modules (peer of `iree`);
//! - [`iree`]: IREE's compiler embedding API and runtime tools (peer of `hlo`);
//! - [`models`]: graphs only: the [`models::Model`] trait, shared
//!   [`models::layers`] and [`models::weights`], BERT, llama, the tutorial;
//! - [`export`]: the one pipeline from a model to an export folder;
//! - [`run`]: running an export folder (embeddings, logits, generation)
//!   behind the [`run::Runner`] seam.
//!
//! [`Error`] aggregates every layer's error for the pipelines on top.

//!
//! The layers from [`hlo`] up need the default feature `full` (MLIR and
//! IREE); without it the crate builds the bottom five alone, and with
//! `mlir` alone those plus [`hlo`] and [`iree`] without its runtime.

pub mod diagnostic;
#[cfg(feature = "full")]
mod error;
#[cfg(feature = "full")]
pub mod export;
pub mod formats;
#[cfg(feature = "mlir")]
pub mod hlo;
#[cfg(feature = "mlir")]
pub mod iree;
#[cfg(feature = "full")]
pub mod models;
pub mod output;
pub mod quant;
#[cfg(feature = "full")]
pub mod run;
pub mod tensor;

#[cfg(feature = "full")]
pub use error::{Error, Result};

#[cfg(feature = "mlir")]
pub use melior;
