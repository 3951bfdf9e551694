//! File formats irex reads and writes: GGUF, safetensors (files, shard
//! indexes, folders, compressed-tensors' int8 naming), `.irpa`, `.npy` and
//! `irex.json`; [`detect`] tells sources apart and [`pack`] copies
//! checkpoints into `.irpa` archives. Parsers take bytes (usually a memory
//! map) and return views; writers stream from [`crate::tensor::BufferHandle`]s.
//!
//! Architecture Invariant: nothing in this module touches MLIR or IREE.

pub mod detect;
mod error;
pub mod gguf;
pub mod irpa;
pub mod manifest;
pub mod npy;
pub mod pack;
pub mod safetensors;
pub mod table;

pub use error::{FormatError, FormatErrorKind, FormatName};
