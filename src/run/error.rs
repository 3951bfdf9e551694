//! What can go wrong running an export folder.

use std::path::PathBuf;

use crate::iree::IreeError;

/// An error running an exported model.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The tokenizer could not be read, or could not encode or decode.
    #[error("tokenizer `{path}`: {message}")]
    Tokenizer {
        /// The `tokenizer.json`.
        path: PathBuf,
        /// What the `tokenizers` library said.
        message: String,
    },
    /// The folder holds another kind of model than the command runs.
    #[error("`{folder}` holds {holds}; use {command}")]
    WrongModel {
        /// The export folder.
        folder: PathBuf,
        /// What it holds ("a sentence encoder").
        holds: String,
        /// The command that runs it.
        command: &'static str,
    },
    /// The manifest lacks a file the command needs.
    #[error("`{folder}`: its irex.json names no {what}")]
    Incomplete {
        /// The export folder.
        folder: PathBuf,
        /// What is missing ("compiled module").
        what: &'static str,
    },
    /// The manifest contradicts itself or the functions it lists.
    #[error("`{folder}`: irex.json {message}")]
    BadManifest {
        /// The export folder.
        folder: PathBuf,
        /// What does not agree.
        message: String,
    },
    /// Token input the exported functions cannot take.
    #[error("`{folder}`: {message}")]
    BadTokens {
        /// The export folder.
        folder: PathBuf,
        /// What is wrong with the tokens.
        message: String,
    },
    /// An artifact differs from what the manifest recorded at export.
    #[error("`{file}`: {message}")]
    Integrity {
        /// The artifact.
        file: PathBuf,
        /// How it differs.
        message: String,
    },
    /// `--chat` on a model without a chat template, or one that does not
    /// render.
    #[error("`{folder}`: chat template: {message}")]
    ChatTemplate {
        /// The export folder.
        folder: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// IREE's runtime could not load a module or its parameters.
    #[error("{source}")]
    Load {
        /// What the runtime reported (it names the file).
        source: IreeError,
    },
    /// IREE's runtime failed to run a function, or returned what the
    /// manifest does not describe.
    #[error("running `{function}`: {source}")]
    Runtime {
        /// The function called.
        function: String,
        /// What the runtime reported.
        source: IreeError,
    },
    /// A function returned what its manifest signature does not describe.
    #[error("`{function}` returned {message}")]
    UnexpectedResult {
        /// The function called.
        function: String,
        /// What is wrong with the result.
        message: String,
    },
}
