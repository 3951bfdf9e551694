//! An export folder opened to run: its manifest, checked against the kind
//! of model a command runs, and the files it names.

use std::path::{Path, PathBuf};

use super::RunError;
use super::runner::{ModuleFiles, ToolRunner};
use super::tokenizer::Tokenizer;
use crate::formats::manifest::Manifest;
use crate::models::ModelKind;

/// A folder written by `irex export`.
#[derive(Clone, Debug)]
pub struct ExportFolder {
    /// Where it is.
    pub path: PathBuf,
    /// Its `irex.json`.
    pub manifest: Manifest,
}

impl ExportFolder {
    /// Reads the folder's manifest.
    pub fn open(path: &Path) -> crate::Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            manifest: Manifest::read(path)?,
        })
    }

    /// Opens the folder and checks that it holds a model of `kind`.
    pub fn open_as(path: &Path, kind: ModelKind) -> crate::Result<Self> {
        let folder = Self::open(path)?;
        folder.expect(kind)?;
        Ok(folder)
    }

    /// Refuses a folder holding another kind of model, naming the command
    /// that runs what it holds.
    pub fn expect(&self, kind: ModelKind) -> Result<(), RunError> {
        let found = ModelKind::from_name(&self.manifest.model_kind);
        if found == Some(kind) {
            return Ok(());
        }
        let (holds, command) = match found {
            Some(other) => (other.describe().to_string(), other.command()),
            None => (
                format!("a model of kind `{}`", self.manifest.model_kind),
                "a newer irex",
            ),
        };
        Err(RunError::WrongModel {
            folder: self.path.clone(),
            holds,
            command,
        })
    }

    fn named(&self, file: Option<&str>, what: &'static str) -> Result<PathBuf, RunError> {
        file.map(|name| self.path.join(name))
            .ok_or_else(|| RunError::Incomplete {
                folder: self.path.clone(),
                what,
            })
    }

    /// The compiled module, its parameters and device.
    pub fn module_files(&self) -> Result<ModuleFiles, RunError> {
        Ok(ModuleFiles {
            module: self.named(self.manifest.module.as_deref(), "compiled module")?,
            parameters: self.manifest.parameter_archives(&self.path),
            device: self.manifest.device.clone(),
        })
    }

    /// A runner for the module (one `iree-run-module` per call).
    pub fn runner(&self) -> Result<ToolRunner, RunError> {
        ToolRunner::new(self.module_files()?)
    }

    /// The tokenizer the export shipped.
    pub fn tokenizer(&self) -> Result<Tokenizer, RunError> {
        Tokenizer::load(&self.named(self.manifest.tokenizer.as_deref(), "tokenizer")?)
    }

    /// A [`RunError::BadTokens`] about this folder.
    pub fn bad_tokens(&self, message: String) -> RunError {
        RunError::BadTokens {
            folder: self.path.clone(),
            message,
        }
    }
}
