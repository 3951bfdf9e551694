//! Running an exported causal language model: logits at every position of
//! a token sequence (`prefill`), and greedy generation (one `prefill` over
//! the prompt, then one `decode` per token over the key and value caches,
//! which stay with the runner between calls: the prefix is never
//! recomputed).

use std::path::Path;
use std::time::Instant;

use super::folder::{ExportFolder, tensor_dims};
use super::runner::{Arg, Runner};
use super::tokenizer::Tokenizer;
use crate::formats::npy::NpyArray;
use crate::models::ModelKind;
use crate::models::llama::{DECODE_FUNCTION, GENERATE_FUNCTION, PREFILL_FUNCTION};

/// What greedy generation produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The new tokens, in order (ending with the end token if one came).
    pub tokens: Vec<u32>,
    /// Seconds the prefill call took (with the runner's start-up: for
    /// `iree-run-module`, process start and module and parameter loading),
    /// when generation ran one call per step.
    pub prefill_seconds: Option<f64>,
    /// Seconds the whole generation took.
    pub seconds: f64,
}

/// An exported causal LM, opened: the folder and its checked lengths.
pub struct CausalLm {
    folder: ExportFolder,
    length: usize,
    /// Loaded on first use (logits of token ids need none), then kept.
    tokenizer: std::cell::OnceCell<Tokenizer>,
}

impl CausalLm {
    /// Opens the causal LM exported to `folder`.
    pub fn open(folder: &Path) -> crate::Result<Self> {
        let folder = ExportFolder::open_as(folder, ModelKind::CausalLm)?;
        let sequence = folder.manifest.sequence_length;
        folder.expect_input(PREFILL_FUNCTION, 0, &[1, sequence])?;
        let length = usize::try_from(sequence).unwrap_or(usize::MAX);
        Ok(Self {
            folder,
            length,
            tokenizer: std::cell::OnceCell::new(),
        })
    }

    /// The folder.
    pub fn folder(&self) -> &ExportFolder {
        &self.folder
    }

    /// The end token the export recorded from the model's metadata.
    pub fn end_token(&self) -> Option<u32> {
        self.folder.manifest.end_token
    }

    /// Tokenizes `text` with the export's tokenizer.
    pub fn tokenize(&self, text: &str) -> crate::Result<Vec<u32>> {
        Ok(self.tokenizer()?.encode(text)?)
    }

    /// The text of `tokens`.
    pub fn detokenize(&self, tokens: &[u32]) -> crate::Result<String> {
        Ok(self.tokenizer()?.decode(tokens)?)
    }

    fn tokenizer(&self) -> crate::Result<&Tokenizer> {
        if let Some(tokenizer) = self.tokenizer.get() {
            return Ok(tokenizer);
        }
        let loaded = self.folder.tokenizer()?;
        Ok(self.tokenizer.get_or_init(|| loaded))
    }

    /// Refuses `count` tokens (plus `extra` to come) past the export's
    /// fixed length, and token ids outside the vocabulary.
    fn check_tokens(&self, tokens: &[u32], extra: usize) -> crate::Result<()> {
        let total = tokens.len().checked_add(extra);
        if tokens.is_empty() || total.is_none_or(|total| total > self.length) {
            let message = match extra {
                0 => format!(
                    "{} tokens; the export takes 1 to {}",
                    tokens.len(),
                    self.length
                ),
                _ => format!(
                    "{} prompt tokens + {extra} new ones exceed the export's {}",
                    tokens.len(),
                    self.length
                ),
            };
            return Err(self.folder.bad_tokens(message).into());
        }
        let vocabulary = self.vocabulary();
        if let Some(bad) = tokens.iter().find(|&&token| u64::from(token) >= vocabulary) {
            let message = format!("token {bad} is outside the vocabulary of {vocabulary}");
            return Err(self.folder.bad_tokens(message).into());
        }
        Ok(())
    }

    /// The vocabulary size, from `prefill`'s logits type in the manifest.
    fn vocabulary(&self) -> u64 {
        self.folder
            .manifest
            .function(PREFILL_FUNCTION)
            .and_then(|function| function.outputs.first())
            .and_then(|logits| tensor_dims(&logits.r#type))
            .and_then(|dims| dims.last().copied())
            .unwrap_or(u64::MAX)
    }

    /// `tokens` padded with 0 to the fixed length, as `prefill` takes them
    /// (the causal mask keeps padding from changing earlier positions).
    fn padded(&self, tokens: &[u32]) -> NpyArray {
        let mut padded: Vec<i32> = tokens.iter().map(|&token| token as i32).collect();
        padded.resize(self.length, 0);
        NpyArray::from_i32(&[1, self.length as u64], &padded)
    }

    /// The logits at each of `tokens`' positions.
    pub fn logits(&self, tokens: &[u32]) -> crate::Result<Vec<Vec<f32>>> {
        self.check_tokens(tokens, 0)?;
        let mut runner = self.folder.runner()?;
        let outputs = runner.call(PREFILL_FUNCTION, &[Arg::Host(self.padded(tokens))], 3)?;
        let values = runner.read_f32(&outputs[0], PREFILL_FUNCTION)?;
        let vocabulary = values.len() / self.length;
        Ok(values
            .chunks(vocabulary)
            .take(tokens.len())
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Greedily continues `prompt` by up to `max_tokens` tokens; stops early
    /// at `end_token`. Uses the module's own `generate` loop when the export
    /// has one (one call for the whole continuation), else the host loop.
    pub fn generate(
        &self,
        prompt: &[u32],
        max_tokens: usize,
        end_token: Option<u32>,
    ) -> crate::Result<Generation> {
        self.check_tokens(prompt, max_tokens)?;
        if max_tokens == 0 {
            return Ok(Generation {
                tokens: Vec::new(),
                prefill_seconds: None,
                seconds: 0.0,
            });
        }
        if self.folder.manifest.function(GENERATE_FUNCTION).is_some() {
            return self.generate_in_module(prompt, max_tokens, end_token);
        }
        self.generate_stepwise(prompt, max_tokens, end_token)
    }

    /// The host loop: one `prefill` call, then one `decode` call per token,
    /// the KV caches kept by the runner between calls.
    pub fn generate_stepwise(
        &self,
        prompt: &[u32],
        max_tokens: usize,
        end_token: Option<u32>,
    ) -> crate::Result<Generation> {
        self.check_tokens(prompt, max_tokens.max(1))?;
        let mut runner = self.folder.runner()?;
        let started = Instant::now();
        let outputs = runner.call(PREFILL_FUNCTION, &[Arg::Host(self.padded(prompt))], 3)?;
        let [logits, mut keys, mut values] = three(outputs);
        let all = runner.read_f32(&logits, PREFILL_FUNCTION)?;
        let vocabulary = all.len() / self.length;
        let last = &all[(prompt.len() - 1) * vocabulary..prompt.len() * vocabulary];
        let prefill_seconds = started.elapsed().as_secs_f64();
        let mut token = argmax(last);
        let mut tokens = vec![token];
        let started = Instant::now();
        for position in prompt.len()..prompt.len() + max_tokens - 1 {
            if Some(token) == end_token {
                break;
            }
            let args = [
                Arg::Host(NpyArray::from_i32(&[1, 1], &[token as i32])),
                Arg::Host(NpyArray::from_i32(&[1], &[position as i32])),
                Arg::Value(&keys),
                Arg::Value(&values),
            ];
            let [logits, next_keys, next_values] = three(runner.call(DECODE_FUNCTION, &args, 3)?);
            token = argmax(&runner.read_f32(&logits, DECODE_FUNCTION)?);
            tokens.push(token);
            (keys, values) = (next_keys, next_values);
        }
        Ok(Generation {
            tokens,
            prefill_seconds: Some(prefill_seconds),
            seconds: prefill_seconds + started.elapsed().as_secs_f64(),
        })
    }

    /// The module's `generate`: one call for the whole continuation.
    fn generate_in_module(
        &self,
        prompt: &[u32],
        max_tokens: usize,
        end_token: Option<u32>,
    ) -> crate::Result<Generation> {
        let mut runner = self.folder.runner()?;
        let started = Instant::now();
        let scalar = |value: i64| Arg::Host(NpyArray::from_i32(&[1], &[value as i32]));
        let args = [
            Arg::Host(self.padded(prompt)),
            scalar(prompt.len() as i64),
            scalar(max_tokens as i64),
            scalar(end_token.map_or(-1, i64::from)),
        ];
        let outputs = runner.call(GENERATE_FUNCTION, &args, 2)?;
        let all = runner.read(&outputs[0])?.to_i32();
        let count = runner.read(&outputs[1])?.to_i32();
        let (Some(all), Some(&[count])) = (all, count.as_deref()) else {
            return Err(crate::run::RunError::UnexpectedResult {
                function: GENERATE_FUNCTION.into(),
                message: "results of another element type or shape than i32 tokens and count"
                    .into(),
            }
            .into());
        };
        let end = (prompt.len() + count.max(0) as usize).min(all.len());
        Ok(Generation {
            tokens: all[prompt.len().min(end)..end]
                .iter()
                .map(|&t| t as u32)
                .collect(),
            prefill_seconds: None,
            seconds: started.elapsed().as_secs_f64(),
        })
    }
}

/// The three results `prefill` and `decode` return.
fn three<V>(outputs: Vec<V>) -> [V; 3] {
    outputs
        .try_into()
        .unwrap_or_else(|_| unreachable!("the runner returns the results asked for"))
}

fn argmax(row: &[f32]) -> u32 {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(index, _)| index as u32)
}

/// The logits at each of `tokens`' positions, from the model exported to `folder`.
pub fn logits(folder: &Path, tokens: &[u32]) -> crate::Result<Vec<Vec<f32>>> {
    CausalLm::open(folder)?.logits(tokens)
}

/// Greedily continues `prompt` with the model exported to `folder`.
pub fn generate(
    folder: &Path,
    prompt: &[u32],
    max_tokens: usize,
    end_token: Option<u32>,
) -> crate::Result<Generation> {
    CausalLm::open(folder)?.generate(prompt, max_tokens, end_token)
}

/// Tokenizes `text` with the tokenizer exported to `folder`.
pub fn tokenize(folder: &Path, text: &str) -> crate::Result<Vec<u32>> {
    CausalLm::open(folder)?.tokenize(text)
}
