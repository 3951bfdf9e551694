//! Quantized weights as data: ggml block layouts ([`layout`]), their
//! reference dequantizers (bit-exact to the `gguf` package), and the affine per-tensor / per-axis
//! quantization of `!quant.uniform` weights.
//!
//! Architecture Invariant: imports only [`crate::tensor`]; touches neither
//! MLIR nor IREE.

mod dequant;
pub mod layout;
mod uniform;

pub use dequant::{DequantError, dequantize};
pub use uniform::UniformQuantization;
