//! ggml's tensor types: block layouts (elements per block, bytes per block)
//! as `ggml.h` and the `gguf` package define them, and reference
//! dequantizers bit-exact to the `gguf` package.
//!
//! Architecture Invariant: nothing in this module touches MLIR or IREE.

mod dequant;
mod ggml_type;

pub use dequant::{DequantError, dequantize, f16_to_f32, f32_to_f16};
pub use ggml_type::GgmlType;
