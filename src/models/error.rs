//! What can be wrong with a model: its configuration, or a weight its
//! architecture needs.

use std::path::PathBuf;

use crate::formats::FormatError;
use crate::formats::detect::SourceKind;
use crate::hlo::HloError;

/// A result of the model layer.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;

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
    #[error("{flag} does not apply to {model}")]
    OptionNotTaken {
        /// The option, as the `irex export` flag that sets it.
        flag: &'static str,
        /// What kind of model it was given for.
        model: &'static str,
    },
    /// An export set an option that only applies with another one.
    #[error("{flag} applies only to {needs}; this export is {found}")]
    OptionNeeds {
        /// The option, as the `irex export` flag that sets it.
        flag: &'static str,
        /// The setting it needs, as flags.
        needs: &'static str,
        /// The setting the export has instead.
        found: String,
    },
    /// The model's files could not be read or parsed.
    #[error(transparent)]
    Format(#[from] FormatError),
    /// Building the graph failed (an op that does not fit, a weight the
    /// converter refuses).
    #[error(transparent)]
    Hlo(#[from] HloError),
    /// The path could not be read.
    #[error("reading `{path}`: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
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
