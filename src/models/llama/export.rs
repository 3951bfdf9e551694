//! Exporting a llama GGUF (module, `.irpa`, `.vmfb`, manifest) and computing
//! logits with the result through IREE's runtime.

use std::path::Path;

use super::{LlamaModel, PREFILL_FUNCTION, build_decode, build_prefill};
use crate::export::{ArtifactSelection, ExportedModel, write_artifacts};
use crate::formats::manifest::{FunctionSignature, Manifest, TensorSignature};
use crate::formats::npy::NpyArray;
use crate::hlo::{ConstantMaterializationPolicy, ModuleBuilder};
use crate::iree::CompileOptions;
use crate::iree::tools::{RunRequest, run_module};

/// The kind recorded in manifests of llama exports.
pub const MODEL_KIND: &str = "llama-causal-lm";
/// The parameter scope of exported models.
pub const SCOPE: &str = "model";

/// How to export a llama model.
#[derive(Clone, Debug)]
pub struct LlamaExportOptions {
    /// Fixed sequence length of `prefill`.
    pub max_sequence_length: u64,
    /// How block-quantized weights reach the module.
    pub quant: super::QuantMode,
    /// Target and compiler flags.
    pub compile: CompileOptions,
    /// Which files to write.
    pub selection: ArtifactSelection,
}

impl Default for LlamaExportOptions {
    fn default() -> Self {
        Self {
            max_sequence_length: 64,
            quant: super::QuantMode::default(),
            compile: CompileOptions::default(),
            selection: ArtifactSelection::default(),
        }
    }
}

/// Exports the llama GGUF at `path` into `out`.
pub fn export(path: &Path, out: &Path, options: &LlamaExportOptions) -> crate::Result<Manifest> {
    let model = LlamaModel::open(path)?;
    // Every metadata check happens before any MLIR is built or file written.
    let tokenizer = super::tokenizer_json(&model.gguf, path)?;
    let session = options.compile.session()?;
    let context = session.context()?;
    let mut module = ModuleBuilder::new(
        context,
        "llama",
        ConstantMaterializationPolicy::ExternalAlways,
        SCOPE,
    );
    let (length, quant) = (options.max_sequence_length, options.quant);
    build_prefill(&mut module, &model, length, quant)?;
    build_decode(&mut module, &model, length, quant)?;
    let converted = module.finish()?;
    let artifacts = write_artifacts(&session, &converted, out, "model", options.selection)?;
    let tokenizer_path = out.join("tokenizer.json");
    crate::output::write_atomically(&tokenizer_path, tokenizer.to_string().as_bytes()).map_err(
        |source| crate::Error::Io {
            what: "writing",
            path: tokenizer_path.display().to_string(),
            source,
        },
    )?;
    let sequence = options.max_sequence_length;
    let prefill = FunctionSignature {
        name: PREFILL_FUNCTION.into(),
        inputs: vec![TensorSignature {
            name: "tokens".into(),
            r#type: format!("tensor<1x{sequence}xi32>"),
        }],
        outputs: vec![TensorSignature {
            name: "logits".into(),
            r#type: format!("tensor<1x{sequence}x{}xf32>", model.config.vocabulary),
        }],
    };
    let exported = ExportedModel {
        kind: MODEL_KIND,
        source: path,
        functions: vec![prefill],
        scope: SCOPE,
        batch: 1,
        sequence_length: sequence,
    };
    let manifest = artifacts.manifest(exported, &options.compile);
    manifest.write(out)?;
    Ok(manifest)
}

/// Tokenizes `text` with the tokenizer the export wrote (no special tokens added).
pub fn tokenize(out: &Path, text: &str) -> crate::Result<Vec<u32>> {
    let path = out.join("tokenizer.json");
    let invalid = |message: String| crate::Error::Io {
        what: "tokenizing with",
        path: path.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, message),
    };
    let tokenizer =
        tokenizers::Tokenizer::from_file(&path).map_err(|error| invalid(error.to_string()))?;
    let encoding = tokenizer
        .encode(text, false)
        .map_err(|error| invalid(error.to_string()))?;
    Ok(encoding.get_ids().to_vec())
}

/// Returns the logits at each of `tokens`' positions, from the model
/// exported to `out` (the prompt is padded to the fixed length; the causal
/// mask keeps the padding from changing earlier positions).
pub fn logits(out: &Path, tokens: &[u32]) -> crate::Result<Vec<Vec<f32>>> {
    let manifest = Manifest::read(out)?;
    let length = manifest.sequence_length as usize;
    if tokens.is_empty() || tokens.len() > length {
        let message = format!("{} tokens; the export takes 1 to {length}", tokens.len());
        return Err(crate::Error::Io {
            what: "running",
            path: out.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
        });
    }
    let mut padded: Vec<i32> = tokens.iter().map(|&token| token as i32).collect();
    padded.resize(length, 0);
    let module = out.join(manifest.module.as_deref().unwrap_or("model.vmfb"));
    let parameters = manifest.parameter_archives(out);
    let inputs = [NpyArray::from_i32(&[1, length as u64], &padded)];
    let outputs = run_module(&RunRequest {
        module: &module,
        function: PREFILL_FUNCTION,
        inputs: &inputs,
        result_count: 3,
        parameters: &parameters,
        device: &manifest.device,
    })?;
    let values = outputs[0].to_f32().unwrap_or_default();
    let vocabulary = values.len() / length;
    Ok(values
        .chunks(vocabulary)
        .take(tokens.len())
        .map(<[f32]>::to_vec)
        .collect())
}

/// What greedy generation produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The new tokens, in order (ending with the end token if one came).
    pub tokens: Vec<u32>,
    /// Seconds the prefill call took (process start, module and parameter
    /// loading included).
    pub prefill_seconds: f64,
    /// Seconds all decode calls took together.
    pub decode_seconds: f64,
}

fn argmax(row: &[f32]) -> u32 {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index as u32)
}

/// Greedily continues `prompt` by up to `max_tokens` tokens with the model
/// exported to `out`: one `prefill` over the prompt, then one `decode` per
/// token that reuses the key and value caches (the prefix is never
/// recomputed). Stops early at `end_token`. The caches pass from call to
/// call as `.npy` files.
pub fn generate(
    out: &Path,
    prompt: &[u32],
    max_tokens: usize,
    end_token: Option<u32>,
) -> crate::Result<Generation> {
    use crate::iree::tools::run_module_with_files;
    let manifest = Manifest::read(out)?;
    let length = manifest.sequence_length as usize;
    if prompt.is_empty() || prompt.len() + max_tokens > length {
        let message = format!(
            "{} prompt tokens + {max_tokens} new ones exceed the export's {length}",
            prompt.len()
        );
        return Err(crate::Error::Io {
            what: "generating with",
            path: out.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, message),
        });
    }
    let module = out.join(manifest.module.as_deref().unwrap_or("model.vmfb"));
    let parameters = manifest.parameter_archives(out);
    let scratch = tempfile::tempdir().map_err(|source| crate::Error::Io {
        what: "creating a scratch folder in",
        path: std::env::temp_dir().display().to_string(),
        source,
    })?;
    let file = |name: &str| scratch.path().join(name);
    let mut padded: Vec<i32> = prompt.iter().map(|&token| token as i32).collect();
    padded.resize(length, 0);
    NpyArray::from_i32(&[1, length as u64], &padded).write(&file("prompt.npy"))?;
    let started = std::time::Instant::now();
    let mut prompt_input = std::ffi::OsString::from("@");
    prompt_input.push(file("prompt.npy"));
    let (logits, keys, values) = (file("logits.npy"), file("keys.npy"), file("values.npy"));
    let outputs = [logits.clone(), keys.clone(), values.clone()];
    run_module_with_files(
        &module,
        PREFILL_FUNCTION,
        &[prompt_input],
        &outputs,
        &parameters,
        &manifest.device,
    )?;
    let prefill_seconds = started.elapsed().as_secs_f64();
    let all = NpyArray::read(&logits)?.to_f32().unwrap_or_default();
    let vocabulary = all.len() / length;
    let mut token = argmax(&all[(prompt.len() - 1) * vocabulary..prompt.len() * vocabulary]);
    let mut tokens = vec![token];
    let (mut current_keys, mut current_values) = (keys, values);
    let at = |path: &Path| {
        let mut argument = std::ffi::OsString::from("@");
        argument.push(path);
        argument
    };
    let started = std::time::Instant::now();
    for position in prompt.len()..prompt.len() + max_tokens - 1 {
        if Some(token) == end_token {
            break;
        }
        let next_keys = file(&format!("keys{position}.npy"));
        let next_values = file(&format!("values{position}.npy"));
        let inputs = [
            format!("1x1xi32={token}").into(),
            format!("1xi32={position}").into(),
            at(&current_keys),
            at(&current_values),
        ];
        let outputs = [logits.clone(), next_keys.clone(), next_values.clone()];
        run_module_with_files(
            &module,
            super::DECODE_FUNCTION,
            &inputs,
            &outputs,
            &parameters,
            &manifest.device,
        )?;
        token = argmax(&NpyArray::read(&logits)?.to_f32().unwrap_or_default());
        tokens.push(token);
        // The previous step's caches are no longer needed.
        let _ = std::fs::remove_file(&current_keys);
        let _ = std::fs::remove_file(&current_values);
        (current_keys, current_values) = (next_keys, next_values);
    }
    Ok(Generation {
        tokens,
        prefill_seconds,
        decode_seconds: started.elapsed().as_secs_f64(),
    })
}
