//! Exporting a sentence-transformers BERT folder: module, `.irpa`, `.vmfb`,
//! the tokenizer and the manifest; and embedding sentences with the result.

use std::path::Path;

use super::{BertModel, EMBED_FUNCTION, build_embedder};
use crate::export::{ArtifactSelection, ExportedModel, write_artifacts};
use crate::formats::manifest::{FunctionSignature, MANIFEST_FILE_NAME, Manifest, TensorSignature};
use crate::formats::npy::NpyArray;
use crate::hlo::{ConstantMaterializationPolicy, ModuleBuilder};
use crate::iree::CompileOptions;
use crate::iree::tools::{RunRequest, run_module};

/// The kind recorded in manifests of sentence-embedding exports.
pub const MODEL_KIND: &str = "bert-sentence-embedding";
/// The parameter scope of exported models.
pub const SCOPE: &str = "model";

/// How to export a model.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Where weights go (external by default).
    pub policy: ConstantMaterializationPolicy,
    /// Fixed sequence length.
    pub sequence_length: u64,
    /// Fixed batch size.
    pub batch: u64,
    /// Target and compiler flags.
    pub compile: CompileOptions,
    /// Which files to write.
    pub selection: ArtifactSelection,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            policy: ConstantMaterializationPolicy::ExternalAlways,
            sequence_length: 128,
            batch: 1,
            compile: CompileOptions::default(),
            selection: ArtifactSelection::default(),
        }
    }
}

fn io_error(what: &'static str, path: &Path, source: std::io::Error) -> crate::Error {
    crate::Error::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// Exports the model in `folder` into `out` and returns its manifest.
pub fn export(folder: &Path, out: &Path, options: &ExportOptions) -> crate::Result<Manifest> {
    let model = BertModel::open(folder)?;
    let session = options.compile.session()?;
    let context = session.context()?;
    let mut module = ModuleBuilder::new(context, "bert", options.policy, SCOPE);
    build_embedder(&mut module, &model, options.batch, options.sequence_length)?;
    let converted = module.finish()?;
    let artifacts = write_artifacts(&session, &converted, out, "model", options.selection)?;
    let tokenizer = out.join("tokenizer.json");
    std::fs::copy(model.tokenizer_path(), &tokenizer)
        .map_err(|source| io_error("copying", &model.tokenizer_path(), source))?;
    let ids = format!("tensor<{}x{}xi32>", options.batch, options.sequence_length);
    let input = |name: &str| TensorSignature {
        name: name.into(),
        r#type: ids.clone(),
    };
    let embed = FunctionSignature {
        name: EMBED_FUNCTION.into(),
        inputs: vec![
            input("input_ids"),
            input("attention_mask"),
            input("token_type_ids"),
        ],
        outputs: vec![TensorSignature {
            name: "embeddings".into(),
            r#type: format!("tensor<{}x{}xf32>", options.batch, model.config.hidden_size),
        }],
    };
    let exported = ExportedModel {
        kind: MODEL_KIND,
        source: folder,
        functions: vec![embed],
        scope: SCOPE,
        batch: options.batch,
        sequence_length: options.sequence_length,
    };
    let manifest = artifacts.manifest(exported, &options.compile);
    manifest.write(out)?;
    Ok(manifest)
}

/// Token ids, attention mask and token types of one batch, row-major.
struct Batch {
    ids: Vec<i32>,
    mask: Vec<i32>,
    types: Vec<i32>,
}

/// Tokenizes `texts` as the exported model expects, with the Hugging Face
/// `tokenizers` library and the model's `tokenizer.json`: special tokens
/// added, truncated and padded to `sequence` tokens.
pub fn tokenize(
    tokenizer_path: &Path,
    texts: &[String],
    sequence: u64,
) -> crate::Result<Vec<tokenizers::Encoding>> {
    use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};
    let tokenizer_error = |error: tokenizers::Error| {
        io_error(
            "tokenizing with",
            tokenizer_path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string()),
        )
    };
    let mut tokenizer = Tokenizer::from_file(tokenizer_path).map_err(tokenizer_error)?;
    let truncation = TruncationParams {
        max_length: sequence as usize,
        ..TruncationParams::default()
    };
    tokenizer
        .with_truncation(Some(truncation))
        .map_err(tokenizer_error)?;
    let padding = tokenizer.get_padding().cloned().unwrap_or_default();
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::Fixed(sequence as usize),
        ..padding
    }));
    tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(tokenizer_error)
}

fn batch_of(encodings: &[tokenizers::Encoding], batch: usize, sequence: usize) -> Batch {
    let mut rows = Batch {
        ids: Vec::with_capacity(batch * sequence),
        mask: Vec::with_capacity(batch * sequence),
        types: Vec::with_capacity(batch * sequence),
    };
    for index in 0..batch {
        // Rows past the last sentence are all padding (mask 0) and discarded.
        match encodings.get(index) {
            Some(encoding) => {
                rows.ids
                    .extend(encoding.get_ids().iter().map(|&id| id as i32));
                rows.mask
                    .extend(encoding.get_attention_mask().iter().map(|&m| m as i32));
                rows.types
                    .extend(encoding.get_type_ids().iter().map(|&t| t as i32));
            }
            None => {
                rows.ids.extend(std::iter::repeat_n(0, sequence));
                rows.mask.extend(std::iter::repeat_n(0, sequence));
                rows.types.extend(std::iter::repeat_n(0, sequence));
            }
        }
    }
    rows
}

/// Embeds `texts` with the model exported to `out`: tokenizes them with the
/// model's own tokenizer and runs the module through IREE's runtime.
pub fn embed(out: &Path, texts: &[String]) -> crate::Result<Vec<Vec<f32>>> {
    let manifest = Manifest::read(out)?;
    let missing = |what: &str| {
        let message = format!(
            "{} in `{}` names no {what}",
            MANIFEST_FILE_NAME,
            out.display()
        );
        io_error(
            "reading",
            out,
            std::io::Error::new(std::io::ErrorKind::NotFound, message),
        )
    };
    let module = out.join(
        manifest
            .module
            .as_deref()
            .ok_or_else(|| missing("compiled module"))?,
    );
    let tokenizer = out.join(
        manifest
            .tokenizer
            .as_deref()
            .ok_or_else(|| missing("tokenizer"))?,
    );
    let (batch, sequence) = (manifest.batch as usize, manifest.sequence_length as usize);
    let encodings = tokenize(&tokenizer, texts, manifest.sequence_length)?;
    let parameters = manifest.parameter_archives(out);
    let shape = [manifest.batch, manifest.sequence_length];
    let mut embeddings = Vec::with_capacity(texts.len());
    for chunk in encodings.chunks(batch) {
        let rows = batch_of(chunk, batch, sequence);
        let inputs = [
            NpyArray::from_i32(&shape, &rows.ids),
            NpyArray::from_i32(&shape, &rows.mask),
            NpyArray::from_i32(&shape, &rows.types),
        ];
        let outputs = run_module(&RunRequest {
            module: &module,
            function: EMBED_FUNCTION,
            inputs: &inputs,
            result_count: 1,
            parameters: &parameters,
            device: &manifest.device,
        })?;
        let values = outputs[0].to_f32().unwrap_or_default();
        let width = values.len() / batch;
        embeddings.extend(values.chunks(width).take(chunk.len()).map(<[f32]>::to_vec));
    }
    Ok(embeddings)
}
