//! `irex generate`: greedy continuation of a prompt with an exported llama
//! model (one prefill, then one decode step per token over the KV cache).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use irex::models::llama;

/// Arguments of `irex generate`.
#[derive(Args)]
pub struct GenerateArgs {
    /// A folder written by `irex export MODEL.gguf -o FOLDER`.
    model: PathBuf,
    /// The text to continue.
    #[arg(long)]
    prompt: String,
    /// How many tokens to generate at most.
    #[arg(long, default_value_t = 32)]
    max_tokens: usize,
    /// Stop at this token (default: the end token 2 of SmolLM2-style vocabularies; -1 for none).
    #[arg(long, default_value_t = 2, allow_negative_numbers = true)]
    end_token: i64,
}

/// Runs `irex generate`: prints the continuation, the token ids and speeds.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let prompt = llama::tokenize(&args.model, &args.prompt)?;
    let end = u32::try_from(args.end_token).ok();
    let generation = llama::generate(&args.model, &prompt, args.max_tokens, end)
        .with_context(|| format!("generating with `{}`", args.model.display()))?;
    let tokenizer = tokenizers::Tokenizer::from_file(args.model.join("tokenizer.json"))
        .map_err(|error| anyhow::anyhow!("loading the tokenizer: {error}"))?;
    let text = tokenizer
        .decode(&generation.tokens, false)
        .map_err(|error| anyhow::anyhow!("decoding tokens: {error}"))?;
    println!("{}{text}", args.prompt);
    eprintln!("irex: prompt tokens {prompt:?}");
    eprintln!("irex: new tokens {:?}", generation.tokens);
    let steps = generation.tokens.len().saturating_sub(1).max(1);
    eprintln!(
        "irex: prefill {} tokens in {:.2} s; {} decode steps in {:.2} s = {:.2} tokens/s (each step is one iree-run-module process)",
        prompt.len(),
        generation.prefill_seconds,
        generation.tokens.len() - 1,
        generation.decode_seconds,
        steps as f64 / generation.decode_seconds.max(1e-9)
    );
    Ok(())
}
