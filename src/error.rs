//! The crate-level error: one variant per layer, so callers that drive a
//! whole export can use `?` across layers and still match on the cause.

/// An error from any layer of irex.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Building, verifying, parsing or emitting a module.
    #[error(transparent)]
    Hlo(#[from] crate::hlo::HloError),
    /// IREE's compiler API or runtime tools.
    #[error(transparent)]
    Iree(#[from] crate::iree::IreeError),
    /// Reading or writing a file format.
    #[error(transparent)]
    Format(#[from] crate::formats::FormatError),
    /// A model's configuration or weights do not fit its architecture, or
    /// an export asked for what the model does not take.
    #[error(transparent)]
    Model(#[from] crate::models::ModelError),
    /// Running an exported model.
    #[error(transparent)]
    Run(#[from] crate::run::RunError),
    /// Anything else that went wrong with a file.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A result with the crate-level error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
