//! ggml's tensor types: block layouts (elements per block, bytes per block)
//! as `ggml.h` and the `gguf` package define them.
//!
//! Architecture Invariant: nothing in this module touches MLIR or IREE.

mod ggml_type;

pub use ggml_type::GgmlType;
