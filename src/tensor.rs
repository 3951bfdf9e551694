//! The shared vocabulary: element types, ggml block types, tensor specs and
//! the handles that say where a tensor's bytes live.
//!
//! Architecture Invariant: the bottom layer. It imports no other irex module
//! and touches neither MLIR nor IREE; the formats, the converter and the
//! writers all speak in these types.

mod buffer;
mod element;
mod ggml_type;
mod spec;

pub use buffer::{
    BorrowedBytes, BufferHandle, MappedFile, MappedWindow, PageReleaser, check_regular_file,
    read_regular_file, uniform_pattern,
};
pub use element::ElementType;
pub use ggml_type::GgmlType;
pub use spec::{TensorEncoding, TensorSpec};
