//! The converter: builds StableHLO + util + flow modules in memory through
//! the MLIR C API, in the context of an IREE compiler session, decides per
//! weight whether it is inlined as a binary attribute or externalised as a
//! `#flow.parameter.named` global, verifies the result with the real
//! verifiers, and emits text or bytecode.
//!
//! Three rooms, importing downward only: `ops` and `quant` build on
//! `builder`; none imports the `iree` layer (the compiler API is a peer,
//! used above both by the export pipeline).
//!
//! Architecture Invariant: no weight value is ever formatted as text by irex.
//! Inline weights become `DenseElementsAttr`s from raw buffers (or splats);
//! external weights stay in their [`crate::tensor::BufferHandle`]s and go to
//! the `.irpa` writer. Only short attribute and type strings that hold no
//! weight (`#flow.parameter.named<...>`, `#stablehlo.dot<...>`,
//! `!quant.uniform<...>`) are parsed.

mod builder;
mod error;
mod ops;
mod quant;

pub use builder::emit::{
    PrintOptions, parse_module, print_module, print_module_bytes, write_bytecode, write_text,
};
pub use builder::function::{FunctionBuilder, ValueId};
pub use builder::module::{ConvertedModule, ModuleBuilder};
pub use builder::policy::{ConstantMaterializationPolicy, ExternalParameterRef, archive_entries};
pub use builder::signatures::function_signatures;
pub use builder::types::TensorType;
pub use error::HloError;
pub use ops::dot::DotDimensions;
pub use ops::indexing::Comparison;
pub use ops::reduce::Reduction;
pub use quant::contract::{
    ActivationBlocks, BlockActivation, CONTRACTED_FORMATS, IntegerKernel, nibble_order,
};
pub use quant::ggml::PACKED_FORMATS;
pub use quant::lower::{lower_uniform_quantization, uniform_dequantizations};
