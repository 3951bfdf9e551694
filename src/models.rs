//! Graphs built with the converter, one folder per architecture, and only
//! graphs: reading a model's configuration and weights, checking them, and
//! building its functions into a module. Exporting (verifying, writing,
//! compiling, the manifest) is [`crate::export`]'s; running is
//! [`crate::run`]'s.
//!
//! Shared by every architecture: [`layers`] (linear, attention, norms,
//! rotary embeddings, feed-forward), [`weights`] (how a graph asks for a
//! weight), [`ModelError`].

pub mod bert;
mod error;
pub mod layers;
pub mod llama;
mod model;
pub mod tutorial;
pub mod weights;

use std::path::Path;

pub use error::{ModelError, Result};
pub use model::{GraphOption, GraphOptions, Model, ModelKind, QuantMode};

use crate::formats::detect::{SourceKind, detect};

/// Opens the model at `path`: a llama GGUF file, or a sentence-transformers
/// BERT folder (`model.safetensors` or its index beside `config.json`).
pub fn open(path: &Path) -> crate::models::Result<Box<dyn Model>> {
    let kind = detect(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match kind {
        SourceKind::Gguf => Ok(Box::new(llama::LlamaModel::open(path)?)),
        SourceKind::SafetensorsFolder => Ok(Box::new(bert::BertModel::open(path)?)),
        kind => Err(ModelError::NotAModel {
            path: path.to_path_buf(),
            kind,
        }),
    }
}
