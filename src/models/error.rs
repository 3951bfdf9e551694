//! What can be wrong with a model: its configuration, or a weight its
//! architecture needs.

use std::path::PathBuf;

use super::GraphOption;
use crate::formats::detect::SourceKind;

/// Errors specific to reading a model and building its graph.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A configuration file or metadata key is missing, unreadable or not
    /// what it should be.
    #[error("`{path}`: {message}")]
    Config {
        /// The file (or, for GGUF metadata, the file and key).
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A weight the architecture needs is not in the checkpoint, or has the
    /// wrong shape or type.
    #[error("weight `{name}`: {message}")]
    Weight {
        /// The tensor name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// An export set an option this model does not take.
    #[error("{} does not apply to {model}", .option.flag())]
    OptionNotTaken {
        /// The option.
        option: GraphOption,
        /// What kind of model it was given for.
        model: &'static str,
    },
    /// The path is not a model irex exports.
    #[error("`{path}` is {kind}; irex exports llama GGUF files and sentence-transformers folders")]
    NotAModel {
        /// The path given.
        path: PathBuf,
        /// What it is.
        kind: SourceKind,
    },
}

impl ModelError {
    /// A [`ModelError::Weight`] about `name`.
    pub fn weight(name: &str, message: impl Into<String>) -> Self {
        Self::Weight {
            name: name.into(),
            message: message.into(),
        }
    }

    /// A [`ModelError::Config`] about `path`.
    pub fn config(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Self::Config {
            path: path.into(),
            message: message.into(),
        }
    }
}
