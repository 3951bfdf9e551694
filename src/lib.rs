//! irex turns models into IREE deployables, MLIR-natively: it builds
//! StableHLO in memory through the MLIR C API inside IREE's own compiler
//! library, externalises weights as `#flow.parameter.named` references backed
//! by an `.irpa` it writes itself, and compiles in-process.
//!
//! The layers, bottom up (see `ARCHITECTURE.md`):
//!
//! - [`tensor`]: the vocabulary (element types, specs, buffer handles);
//! - [`formats`]: `.irpa` and `.npy` readers and writers;
//! - [`hlo`]: the converter that builds and verifies modules;
//! - [`iree`]: IREE's compiler embedding API and runtime tools;
//! - [`models`]: graphs built with the converter (the tutorial examples).

pub mod diagnostic;
mod error;
pub mod export;
pub mod formats;
pub mod hlo;
pub mod iree;
pub mod models;
pub mod output;
pub mod quant;
pub mod run;
pub mod tensor;

pub use error::{Error, Result};

pub use melior;
