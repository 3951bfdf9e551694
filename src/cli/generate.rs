//! `irex generate`: continues a prompt with an exported causal LM (one
//! prefill, then one decode step per token over the KV cache, in process),
//! printing each piece of text as its token comes.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;
use irex::run::{CausalLm, GenerateRequest, Generation, RunOptions, Sampling};

/// Arguments of `irex generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// A folder written by `irex export MODEL.gguf -o FOLDER`.
    model: PathBuf,
    /// The text to continue.
    #[arg(long)]
    prompt: String,
    /// Wrap the prompt as one user turn in the model's chat template
    /// (the GGUF's `tokenizer.chat_template`), for instruct models.
    #[arg(long)]
    chat: bool,
    /// How many tokens to generate at most.
    #[arg(long, default_value_t = 32)]
    max_tokens: usize,
    /// Stop at this token (default: the model's end token, from its
    /// `tokenizer.ggml.eos_token_id`); -1 for none.
    #[arg(long, allow_negative_numbers = true)]
    end_token: Option<i64>,
    /// Sampling temperature; 0 (the default) is greedy.
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    /// Sample from the K most likely tokens only (0: all).
    #[arg(long, default_value_t = 0)]
    top_k: usize,
    /// Sample from the fewest most likely tokens holding probability P.
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// Seed of the sampler (a seeded run repeats exactly).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// CPU threads (default: every CPU this process may use).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
    /// Run the module's own generation loop (an export made with
    /// `--generation-loop`): greedy, one call, printed when it returns.
    #[arg(long, conflicts_with_all = ["temperature", "top_k", "top_p", "seed"])]
    module_loop: bool,
}

impl GenerateArgs {
    fn sampling(&self) -> anyhow::Result<Sampling> {
        let temperature_ok = self.temperature.is_finite() && self.temperature >= 0.0;
        anyhow::ensure!(
            temperature_ok,
            "--temperature {} must be 0 or more",
            self.temperature
        );
        let top_p_ok = self.top_p > 0.0 && self.top_p <= 1.0;
        anyhow::ensure!(top_p_ok, "--top-p {} must be in (0, 1]", self.top_p);
        Ok(Sampling {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            seed: self.seed,
        })
    }
}

/// Runs `irex generate`: streams the continuation to stdout, then prints
/// the token ids and speeds on stderr.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let sampling = args.sampling()?;
    let options = RunOptions {
        threads: args.threads.map(usize::from),
    };
    let model = CausalLm::open_with(&args.model, options)?;
    let text = match args.chat {
        true => model.chat_prompt(&args.prompt)?,
        false => args.prompt.clone(),
    };
    let prompt = model.tokenize(&text)?;
    let end_token = match args.end_token {
        None => model.end_token(),
        Some(-1) => None,
        Some(token) => Some(u32::try_from(token).map_err(|_| {
            anyhow::anyhow!("--end-token {token} is not a token id (0 to 2^32 − 1, or −1 for none)")
        })?),
    };
    let request = GenerateRequest {
        prompt: &prompt,
        max_tokens: args.max_tokens,
        end_token,
        sampling,
        module_loop: args.module_loop,
    };
    let echo = if args.chat {
        String::new()
    } else {
        args.prompt.clone()
    };
    let mut stream = TextStream::new(&model, echo, end_token);
    let generation = model.generate_streaming(&request, &mut |token| stream.push(token))?;
    stream.finish()?;
    eprintln!("irex: prompt tokens {prompt:?}");
    eprintln!("irex: new tokens {:?}", generation.tokens);
    eprintln!("irex: {}", speeds(&generation, prompt.len()));
    Ok(())
}

/// Prints the prompt with the first token (so that a refused request
/// prints nothing), then the text of the tokens so far as it grows: the whole
/// continuation is decoded again each token (a token can be half of a
/// UTF-8 character or carry the space before it) and the new tail printed,
/// held back while it ends in an incomplete character.
struct TextStream<'m> {
    model: &'m CausalLm,
    prompt: Option<String>,
    /// Not printed: the end token stops the text rather than being part of it.
    end_token: Option<u32>,
    tokens: Vec<u32>,
    printed: usize,
}

impl<'m> TextStream<'m> {
    fn new(model: &'m CausalLm, prompt: String, end_token: Option<u32>) -> Self {
        Self {
            model,
            prompt: Some(prompt),
            end_token,
            tokens: Vec::new(),
            printed: 0,
        }
    }

    fn push(&mut self, token: u32) -> irex::Result<()> {
        if Some(token) != self.end_token {
            self.tokens.push(token);
        }
        let text = self.model.detokenize(&self.tokens)?;
        let mut piece = self.prompt.take().unwrap_or_default();
        if !text.ends_with('\u{FFFD}') && text.len() > self.printed {
            piece.push_str(text.get(self.printed..).unwrap_or_default());
            self.printed = text.len();
        }
        write_stdout(&piece).map_err(|source| irex::Error::Io {
            what: "writing to",
            path: "stdout".into(),
            source,
        })
    }

    /// Ends the text with a newline (after the prompt, if no token came).
    fn finish(&mut self) -> anyhow::Result<()> {
        let piece = self.prompt.take().unwrap_or_default() + "\n";
        write_stdout(&piece).context("writing to stdout")
    }
}

/// Writes and flushes, so that each piece shows as it comes.
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()
}

/// The line of timings: load, prefill, decode rate.
fn speeds(generation: &Generation, prompt: usize) -> String {
    let load = generation
        .load_seconds
        .map(|seconds| format!("loaded in {seconds:.2} s; "))
        .unwrap_or_default();
    let count = generation.tokens.len();
    match generation.prefill_seconds {
        Some(prefill) => format!(
            "{load}prefill of {prompt} tokens {prefill:.3} s; {} decode steps at {:.2} tokens/s",
            count.saturating_sub(1),
            generation.decode_tokens_per_second().unwrap_or(0.0)
        ),
        None => format!(
            "{load}{count} tokens in {:.2} s = {:.2} tokens/s (one call of the module's generate loop)",
            generation.seconds,
            count as f64 / generation.seconds.max(1e-9)
        ),
    }
}
