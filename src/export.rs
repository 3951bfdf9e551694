//! The export pipeline, above the models: one path from a [`Model`] to an
//! export folder (or one MLIR file), used by the CLI, the examples and the
//! library alike. `artifacts` writes a verified module's files, `pipeline`
//! drives a model through build → verify → artifacts → manifest,
//! `progress` reports the steps, and `commands` gives the IREE command
//! lines that redo an export with IREE's own tools.
//!
//! [`Model`]: crate::models::Model

mod artifacts;
pub mod commands;
mod pipeline;
mod progress;
mod staging;

pub use artifacts::{ArtifactSelection, Artifacts, compile_file, compile_to_vmfb, write_artifacts};
pub use pipeline::{
    DEFAULT_SCOPE, ExportOptions, TOKENIZER_FILE_NAME, build_module, export_folder, import_module,
};
pub use progress::{Progress, Silent, Step};
