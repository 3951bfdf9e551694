//! File formats irex reads and writes. Parsers take bytes (usually a memory
//! map) and return views; writers stream from [`crate::tensor::BufferHandle`]s.
//!
//! Architecture Invariant: nothing in this module touches MLIR or IREE.

mod error;
pub mod gguf;
pub mod irpa;
pub mod npy;
pub mod safetensors;

pub use error::{FormatError, FormatErrorKind, FormatName};
