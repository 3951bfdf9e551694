//! An export folder opened to run: its manifest, checked against the kind
//! of model a command runs, and the files it names.

use std::path::{Path, PathBuf};

use super::RunError;
use super::in_process::{ModuleRunner, RunOptions};
use super::runner::ModuleFiles;
use super::tokenizer::Tokenizer;
use crate::formats::manifest::{ArtifactRecord, Manifest};
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
    /// Reads the folder's manifest and checks that every artifact it
    /// records has the recorded size (a cheap check; [`Self::verify`]
    /// compares the hashes).
    pub fn open(path: &Path) -> crate::Result<Self> {
        let folder = Self {
            path: path.to_path_buf(),
            manifest: Manifest::read(path)?,
        };
        folder.check_sizes()?;
        Ok(folder)
    }

    fn check_sizes(&self) -> Result<(), RunError> {
        for record in &self.manifest.artifacts {
            let file = self.path.join(&record.file);
            let found = std::fs::metadata(&file).map(|metadata| metadata.len());
            let message = match found {
                Ok(bytes) if bytes == record.bytes => continue,
                Ok(bytes) => format!(
                    "{bytes} bytes where irex.json records {}: the folder changed after export (`irex verify` checks it)",
                    record.bytes
                ),
                Err(error) => format!("recorded in irex.json but unreadable: {error}"),
            };
            return Err(RunError::Integrity { file, message });
        }
        Ok(())
    }

    /// Hashes every artifact and compares it with what the export recorded;
    /// returns the records checked.
    pub fn verify(&self) -> Result<&[ArtifactRecord], RunError> {
        if self.manifest.artifacts.is_empty() {
            return Err(RunError::Incomplete {
                folder: self.path.clone(),
                what: "artifact hashes (exported by an older irex: export again)",
            });
        }
        for record in &self.manifest.artifacts {
            let file = self.path.join(&record.file);
            let found = ArtifactRecord::of(&self.path, &record.file).map_err(|error| {
                RunError::Integrity {
                    file: file.clone(),
                    message: format!("unreadable: {error}"),
                }
            })?;
            if found != *record {
                let message = format!(
                    "SHA-256 {} ({} bytes) where irex.json records {} ({} bytes)",
                    found.sha256, found.bytes, record.sha256, record.bytes
                );
                return Err(RunError::Integrity { file, message });
            }
        }
        Ok(&self.manifest.artifacts)
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

    /// A runner with the module and its parameters loaded.
    pub fn runner(&self, options: &RunOptions) -> Result<ModuleRunner, RunError> {
        ModuleRunner::load(self.module_files()?, options)
    }

    /// The tokenizer the export shipped.
    pub fn tokenizer(&self) -> Result<Tokenizer, RunError> {
        Tokenizer::load(&self.named(self.manifest.tokenizer.as_deref(), "tokenizer")?)
    }

    /// Checks that argument `index` of `function` has the static shape
    /// `expected` (the manifest's batch and sequence length, say), so that
    /// no number of the manifest sizes anything the module would not take.
    pub fn expect_input(
        &self,
        function: &str,
        index: usize,
        expected: &[u64],
    ) -> Result<(), RunError> {
        let declared = self
            .manifest
            .function(function)
            .and_then(|f| f.inputs.get(index))
            .map(|input| input.r#type.clone());
        let dims = declared.as_deref().and_then(tensor_dims);
        if dims.as_deref() == Some(expected) && !expected.contains(&0) {
            return Ok(());
        }
        Err(RunError::BadManifest {
            folder: self.path.clone(),
            message: format!(
                "describes `{function}` argument {index} as {}, but its batch and sequence length make {expected:?}",
                declared.as_deref().unwrap_or("nothing")
            ),
        })
    }

    /// A [`RunError::BadTokens`] about this folder.
    pub fn bad_tokens(&self, message: String) -> RunError {
        RunError::BadTokens {
            folder: self.path.clone(),
            message,
        }
    }
}

/// The static dimensions of `tensor<AxBx...xTYPE>`.
pub(super) fn tensor_dims(tensor_type: &str) -> Option<Vec<u64>> {
    let inner = tensor_type.strip_prefix("tensor<")?.strip_suffix('>')?;
    let mut parts: Vec<&str> = inner.split('x').collect();
    parts.pop()?;
    parts.iter().map(|dim| dim.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::tensor_dims;

    #[test]
    fn tensor_types_give_their_dimensions() {
        assert_eq!(tensor_dims("tensor<1x64xi32>"), Some(vec![1, 64]));
        assert_eq!(tensor_dims("tensor<f32>"), Some(vec![]));
        assert_eq!(tensor_dims("tensor<?x4xf32>"), None);
        assert_eq!(tensor_dims("memref<4xf32>"), None);
    }
}
