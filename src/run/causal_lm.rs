//! Running an exported causal language model: logits at every position of
//! a token sequence (`prefill`), and generation (one `prefill` over the
//! prompt, then one `decode` per token over the key and value caches,
//! which stay on the device between calls: the prefix is never
//! recomputed), each token handed to the caller as it comes.

use std::cell::{OnceCell, RefCell};
use std::path::Path;
use std::time::Instant;

use super::folder::{ExportFolder, tensor_dims};
use super::in_process::{ModuleRunner, RunOptions};
use super::runner::{Arg, Runner};
use super::sampling::{Sampler, Sampling};
use super::tokenizer::Tokenizer;
use crate::formats::npy::NpyArray;
use crate::models::ModelKind;
use crate::models::llama::{DECODE_FUNCTION, GENERATE_FUNCTION, PREFILL_FUNCTION};

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenerateRequest<'p> {
    /// The prompt's tokens.
    pub prompt: &'p [u32],
    /// At most this many new tokens.
    pub max_tokens: usize,
    /// Stop after this token.
    pub end_token: Option<u32>,
    /// How each token is chosen.
    pub sampling: Sampling,
    /// Run the module's own `generate` loop (greedy, one call, nothing
    /// streamed until it returns) when the export has one. Through
    /// `iree-run-module` it is always used, saving a process per token.
    pub module_loop: bool,
}

/// What generation produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The new tokens, in order (ending with the end token if one came).
    pub tokens: Vec<u32>,
    /// Seconds loading the module and its parameters took, when this
    /// generation loaded them (the first call of a [`CausalLm`]).
    pub load_seconds: Option<f64>,
    /// Seconds the prefill call took (with process start and loading for
    /// `iree-run-module`), when generation ran one call per step.
    pub prefill_seconds: Option<f64>,
    /// Seconds the whole generation took, loading excluded.
    pub seconds: f64,
}

impl Generation {
    /// New tokens per second after the first (the decode rate), when
    /// generation ran one call per step and made at least two.
    pub fn decode_tokens_per_second(&self) -> Option<f64> {
        let decode = self.seconds - self.prefill_seconds?;
        (self.tokens.len() > 1 && decode > 0.0).then(|| (self.tokens.len() - 1) as f64 / decode)
    }
}

/// An exported causal LM, opened: the folder and its checked lengths.
pub struct CausalLm {
    folder: ExportFolder,
    length: usize,
    options: RunOptions,
    /// Loaded on first use (logits of token ids need none), then kept.
    tokenizer: OnceCell<Tokenizer>,
    /// The module and parameters, loaded on the first call, then kept.
    runner: RefCell<Option<ModuleRunner>>,
}

impl CausalLm {
    /// Opens the causal LM exported to `folder`.
    pub fn open(folder: &Path) -> crate::Result<Self> {
        Self::open_with(folder, RunOptions::default())
    }

    /// Opens the causal LM exported to `folder`, to run with `options`.
    pub fn open_with(folder: &Path, options: RunOptions) -> crate::Result<Self> {
        let folder = ExportFolder::open_as(folder, ModelKind::CausalLm)?;
        let sequence = folder.manifest.sequence_length;
        folder.expect_input(PREFILL_FUNCTION, 0, &[1, sequence])?;
        let length = usize::try_from(sequence).unwrap_or(usize::MAX);
        Ok(Self {
            folder,
            length,
            options,
            tokenizer: OnceCell::new(),
            runner: RefCell::new(None),
        })
    }

    /// Runs `work` with the runner, loading the module first if this is
    /// the first call; returns the seconds loading took, if it loaded.
    fn with_runner<T>(
        &self,
        work: impl FnOnce(&mut ModuleRunner) -> crate::Result<T>,
    ) -> crate::Result<(T, Option<f64>)> {
        let mut slot = self.runner.borrow_mut();
        let mut load_seconds = None;
        if slot.is_none() {
            let started = Instant::now();
            *slot = Some(self.folder.runner(&self.options)?);
            load_seconds = Some(started.elapsed().as_secs_f64());
        }
        let runner = slot.as_mut().expect("loaded above");
        Ok((work(runner)?, load_seconds))
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

    /// `user` as one user turn of the model's chat template, ready for the
    /// assistant's answer (`add_generation_prompt`), as Hugging Face's
    /// `apply_chat_template` renders it.
    pub fn chat_prompt(&self, user: &str) -> crate::Result<String> {
        let failed = |message: String| crate::run::RunError::ChatTemplate {
            folder: self.folder.path.clone(),
            message,
        };
        let Some(template) = self.folder.manifest.chat_template.as_deref() else {
            return Err(
                failed("the model's metadata has none (tokenizer.chat_template)".into()).into(),
            );
        };
        let tokenizer = self.tokenizer()?;
        let text = |token: Option<u32>| {
            token
                .and_then(|t| tokenizer.token_text(t))
                .unwrap_or_default()
        };
        let mut environment = minijinja::Environment::new();
        environment
            .set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        let rendered = environment
            .render_str(
                template,
                minijinja::context! {
                    messages => vec![minijinja::context! { role => "user", content => user }],
                    add_generation_prompt => true,
                    bos_token => text(self.folder.manifest.start_token),
                    eos_token => text(self.end_token()),
                },
            )
            .map_err(|error| failed(error.to_string()))?;
        Ok(rendered)
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
        let (values, _) = self.with_runner(|runner| {
            let outputs = runner.call(PREFILL_FUNCTION, &[Arg::Host(self.padded(tokens))], 3)?;
            Ok(runner.read_f32(&outputs[0], PREFILL_FUNCTION)?)
        })?;
        let vocabulary = values.len() / self.length;
        Ok(values
            .chunks(vocabulary)
            .take(tokens.len())
            .map(<[f32]>::to_vec)
            .collect())
    }

    /// Greedily continues `prompt` by up to `max_tokens` tokens; stops
    /// early at `end_token`.
    pub fn generate(
        &self,
        prompt: &[u32],
        max_tokens: usize,
        end_token: Option<u32>,
    ) -> crate::Result<Generation> {
        let request = GenerateRequest {
            prompt,
            max_tokens,
            end_token,
            sampling: Sampling::greedy(),
            module_loop: false,
        };
        self.generate_streaming(&request, &mut |_| Ok(()))
    }

    /// Continues `request.prompt`, calling `on_token` with each new token
    /// as soon as it is chosen (so a caller can print it). Runs the host
    /// loop (prefill, then a decode call per token), or the module's own
    /// `generate` loop as [`GenerateRequest::module_loop`] says.
    pub fn generate_streaming(
        &self,
        request: &GenerateRequest<'_>,
        on_token: &mut dyn FnMut(u32) -> crate::Result<()>,
    ) -> crate::Result<Generation> {
        self.check_tokens(request.prompt, request.max_tokens)?;
        let vocabulary = self.vocabulary();
        if let Some(end) = request
            .end_token
            .filter(|&end| u64::from(end) >= vocabulary)
        {
            let message = format!("end token {end} is outside the vocabulary of {vocabulary}");
            return Err(self.folder.bad_tokens(message).into());
        }
        if request.max_tokens == 0 {
            return Ok(Generation {
                tokens: Vec::new(),
                load_seconds: None,
                prefill_seconds: None,
                seconds: 0.0,
            });
        }
        let has_loop = self.folder.manifest.function(GENERATE_FUNCTION).is_some();
        if request.module_loop && !has_loop {
            return Err(crate::run::RunError::Incomplete {
                folder: self.folder.path.clone(),
                what: "generation loop (export with --generation-loop)",
            }
            .into());
        }
        let (mut generation, load_seconds) = self.with_runner(|runner| {
            let in_module = (request.module_loop || matches!(runner, ModuleRunner::Tool(_)))
                && request.sampling.is_greedy()
                && has_loop;
            if in_module {
                let generation = self.generate_in_module(runner, request)?;
                generation
                    .tokens
                    .iter()
                    .try_for_each(|&token| on_token(token))?;
                Ok(generation)
            } else {
                self.generate_stepwise(runner, request, on_token)
            }
        })?;
        generation.load_seconds = load_seconds;
        Ok(generation)
    }

    /// The host loop: one `prefill` call, then one `decode` call per token,
    /// the KV caches kept by the runner between calls.
    fn generate_stepwise(
        &self,
        runner: &mut ModuleRunner,
        request: &GenerateRequest<'_>,
        on_token: &mut dyn FnMut(u32) -> crate::Result<()>,
    ) -> crate::Result<Generation> {
        let prompt = request.prompt;
        let mut sampler = Sampler::new(&request.sampling);
        let started = Instant::now();
        let outputs = runner.call(PREFILL_FUNCTION, &[Arg::Host(self.padded(prompt))], 3)?;
        let [logits, mut keys, mut values] = three(outputs);
        let all = runner.read_f32(&logits, PREFILL_FUNCTION)?;
        let vocabulary = all.len() / self.length;
        let last = &all[(prompt.len() - 1) * vocabulary..prompt.len() * vocabulary];
        let prefill_seconds = started.elapsed().as_secs_f64();
        let mut token = sampler.choose(last);
        let mut tokens = vec![token];
        on_token(token)?;
        for position in prompt.len()..prompt.len() + request.max_tokens - 1 {
            if Some(token) == request.end_token {
                break;
            }
            let args = [
                Arg::Host(NpyArray::from_i32(&[1, 1], &[token as i32])),
                Arg::Host(NpyArray::from_i32(&[1], &[position as i32])),
                Arg::Value(&keys),
                Arg::Value(&values),
            ];
            let [logits, next_keys, next_values] = three(runner.call(DECODE_FUNCTION, &args, 3)?);
            token = sampler.choose(&runner.read_f32(&logits, DECODE_FUNCTION)?);
            tokens.push(token);
            on_token(token)?;
            (keys, values) = (next_keys, next_values);
        }
        Ok(Generation {
            tokens,
            load_seconds: None,
            prefill_seconds: Some(prefill_seconds),
            seconds: started.elapsed().as_secs_f64(),
        })
    }

    /// The module's `generate`: one call for the whole (greedy)
    /// continuation.
    fn generate_in_module(
        &self,
        runner: &mut ModuleRunner,
        request: &GenerateRequest<'_>,
    ) -> crate::Result<Generation> {
        let prompt = request.prompt;
        let started = Instant::now();
        let scalar = |value: i64| Arg::Host(NpyArray::from_i32(&[1], &[value as i32]));
        let args = [
            Arg::Host(self.padded(prompt)),
            scalar(prompt.len() as i64),
            scalar(request.max_tokens as i64),
            scalar(request.end_token.map_or(-1, i64::from)),
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
            load_seconds: None,
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
