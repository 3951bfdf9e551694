//! The shared vocabulary: element types, tensor specs and the handles that
//! say where a tensor's bytes live.
//!
//! Architecture Invariant: nothing in this module touches MLIR or IREE; the
//! formats, the converter and the writers all speak in these types.

mod buffer;
mod element;
mod spec;

pub use buffer::{BufferHandle, MappedFile, MappedWindow, uniform_pattern};
pub use element::ElementType;
pub use spec::{TensorEncoding, TensorSpec};
