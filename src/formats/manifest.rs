//! `irex.json`: what an export folder holds and how to call it, so that
//! `irex embed` (and any other tool) needs nothing but the folder.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{FormatError, FormatErrorKind, FormatName};
use crate::output::write_atomically;

/// The manifest's file name inside an export folder.
pub const MANIFEST_FILE_NAME: &str = "irex.json";

/// One argument or result of an exported function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TensorSignature {
    /// What it is (`input_ids`, `embeddings`, ...).
    pub name: String,
    /// Its MLIR type (`tensor<1x128xi32>`).
    #[serde(rename = "type")]
    pub r#type: String,
}

/// An exported function and its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionSignature {
    /// The function's name in the module.
    pub name: String,
    /// Arguments, in order.
    pub inputs: Vec<TensorSignature>,
    /// Results, in order.
    pub outputs: Vec<TensorSignature>,
}

/// Everything an export folder holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The irex version that wrote it.
    pub irex_version: String,
    /// The kind of model (`bert-sentence-embedding`).
    pub model_kind: String,
    /// Where the model came from.
    pub source: String,
    /// The functions of the module.
    pub functions: Vec<FunctionSignature>,
    /// The parameter scope the module's globals name.
    pub parameter_scope: String,
    /// The parameter archive, relative to the folder (absent: all inline).
    pub parameters: Option<String>,
    /// The compiled module, relative to the folder (absent: not compiled).
    pub module: Option<String>,
    /// MLIR text, relative to the folder, if written.
    pub mlir_text: Option<String>,
    /// MLIR bytecode, relative to the folder, if written.
    pub mlir_bytecode: Option<String>,
    /// The compile target backend.
    pub target: String,
    /// The target CPU or GPU architecture asked for (absent: the backend's
    /// default, `host` for llvm-cpu).
    #[serde(default)]
    pub target_cpu: Option<String>,
    /// The flags the compiler session ran with (machine paths left out).
    #[serde(default)]
    pub compile_flags: Vec<String>,
    /// The IREE compiler's revision.
    #[serde(default)]
    pub iree_version: String,
    /// The runtime device for `iree-run-module`.
    pub device: String,
    /// Fixed batch size of the functions.
    pub batch: u64,
    /// Fixed sequence length of the functions.
    pub sequence_length: u64,
    /// The integer kernel packed contractions were shaped for (`nibbles`:
    /// 4-bit planes resident; `bytes`: one i8 per weight), where the module
    /// has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integer_kernel: Option<String>,
    /// The tokenizer, copied into the folder, relative to it.
    pub tokenizer: Option<String>,
    /// The token that ends a generation, from the model's metadata.
    #[serde(default)]
    pub end_token: Option<u32>,
    /// The token a sequence starts with, from the model's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_token: Option<u32>,
    /// The model's chat template (Jinja), from its metadata, for
    /// `irex generate --chat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_template: Option<String>,
    /// Size and SHA-256 of every artifact, recorded at export: runs check
    /// the sizes, `irex verify` the hashes.
    #[serde(default)]
    pub artifacts: Vec<ArtifactRecord>,
}

/// What an export wrote of one artifact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ArtifactRecord {
    /// The file, relative to the folder.
    pub file: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, in lowercase hex.
    pub sha256: String,
}

impl ArtifactRecord {
    /// Reads `folder/file` once, hashing it as it streams by.
    pub fn of(folder: &Path, file: &str) -> std::io::Result<Self> {
        use sha2::Digest as _;
        use std::io::Read as _;
        crate::tensor::check_regular_file(&folder.join(file))?;
        let mut reader = std::fs::File::open(folder.join(file))?;
        let mut hasher = sha2::Sha256::new();
        let mut buffer = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            let read = reader.read(&mut buffer)?;
            if read == 0 {
                break;
            }
            hasher.update(&buffer[..read]);
            bytes += read as u64;
        }
        let sha256 = hasher
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        Ok(Self {
            file: file.to_string(),
            bytes,
            sha256,
        })
    }
}

impl Manifest {
    /// Writes the manifest into `folder`.
    pub fn write(&self, folder: &Path) -> Result<(), FormatError> {
        let path = folder.join(MANIFEST_FILE_NAME);
        let text = serde_json::to_string_pretty(self).expect("manifests serialise");
        write_atomically(&path, text.as_bytes()).map_err(|source| {
            FormatError::io(FormatName::Manifest, "file", &source).with_path(path)
        })
    }

    /// Reads the manifest of an export folder.
    pub fn read(folder: &Path) -> Result<Self, FormatError> {
        let path = folder.join(MANIFEST_FILE_NAME);
        let bytes = crate::tensor::read_regular_file(&path).map_err(|source| {
            FormatError::io(FormatName::Manifest, "file", &source).with_path(&path)
        })?;
        serde_json::from_slice(&bytes).map_err(|error| {
            let kind = FormatErrorKind::InvalidValue {
                found: error.to_string(),
                expected: "an irex.json written by irex export".into(),
            };
            FormatError::new(FormatName::Manifest, "json", kind).with_path(&path)
        })
    }

    /// Returns the (scope, path) of the parameter archive inside `folder`,
    /// as `iree-run-module --parameters=SCOPE=PATH` wants it.
    pub fn parameter_archives(&self, folder: &Path) -> Vec<(String, std::path::PathBuf)> {
        self.parameters
            .iter()
            .map(|file| (self.parameter_scope.clone(), folder.join(file)))
            .collect()
    }

    /// The artifacts the manifest names, relative to the folder.
    pub fn artifact_files(&self) -> Vec<&str> {
        [
            &self.module,
            &self.parameters,
            &self.mlir_text,
            &self.mlir_bytecode,
            &self.tokenizer,
        ]
        .into_iter()
        .filter_map(|file| file.as_deref())
        .collect()
    }

    /// Returns the function named `name`.
    pub fn function(&self, name: &str) -> Option<&FunctionSignature> {
        self.functions.iter().find(|function| function.name == name)
    }
}
