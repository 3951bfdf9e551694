//! The converter: builds StableHLO + util + flow modules in memory through
//! the MLIR C API, in the context of an IREE compiler session, decides per
//! weight whether it is inlined as a binary attribute or externalised as a
//! `#flow.parameter.named` global, verifies the result with the real
//! verifiers, and emits text or bytecode.
//!
//! Architecture Invariant: no weight value is ever formatted as text by irex.
//! Inline weights become `DenseElementsAttr`s from raw buffers (or splats);
//! external weights stay in their [`crate::tensor::BufferHandle`]s and go to
//! the `.irpa` writer. Only short attribute and type strings that hold no
//! weight (`#flow.parameter.named<...>`, `#stablehlo.dot<...>`) are parsed.

mod dequant;
mod emit;
mod error;
mod function;
mod indexing;
mod lower;
mod module;
mod ops;
mod policy;
mod quantized;
mod reduce;
mod types;

pub use dequant::PACKED_FORMATS;
pub use emit::{PrintOptions, parse_module, print_module, write_bytecode, write_text};
pub use error::HloError;
pub use function::{FunctionBuilder, ValueId};
pub use indexing::Comparison;
pub use lower::lower_uniform_quantization;
pub use module::{ConvertedModule, ModuleBuilder};
pub use ops::DotDimensions;
pub use policy::{ConstantMaterializationPolicy, ExternalParameterRef, archive_entries};
pub use reduce::Reduction;
pub use types::TensorType;
