//! `irex logits`: next-token logits at every position of a token sequence,
//! from a causal LM exported by `irex export MODEL.gguf`.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::Args;
use irex::formats::npy::NpyArray;
use irex::run::{CausalLm, RunOptions};

/// Arguments of `irex logits`.
#[derive(Args)]
pub struct LogitsArgs {
    /// A folder written by `irex export MODEL.gguf -o FOLDER`.
    model: PathBuf,
    /// Token ids, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required_unless_present = "prompt",
        conflicts_with = "prompt"
    )]
    tokens: Vec<u32>,
    /// Text to tokenize with the model's own tokenizer instead.
    #[arg(long)]
    prompt: Option<String>,
    /// Write all logits as a [positions, vocabulary] f32 .npy.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// CPU threads (default: every CPU this process may use).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// Runs `irex logits`: prints, per position, the top 5 (token, logit).
pub fn run(args: LogitsArgs) -> anyhow::Result<()> {
    let options = RunOptions {
        threads: args.threads.map(usize::from),
    };
    let model = CausalLm::open_with(&args.model, options)?;
    let tokens = match &args.prompt {
        Some(prompt) => model.tokenize(prompt)?,
        None => args.tokens.clone(),
    };
    eprintln!("irex: tokens {tokens:?}");
    let logits = model.logits(&tokens)?;
    let mut text = String::new();
    for (position, row) in logits.iter().enumerate() {
        let mut ranked: Vec<(usize, f32)> = row.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        let top: Vec<String> = ranked
            .iter()
            .take(5)
            .map(|(token, logit)| format!("{token}:{logit:.4}"))
            .collect();
        writeln!(text, "{position}: {}", top.join(" "))?;
    }
    super::print_bytes(text.as_bytes())?;
    if let Some(path) = &args.output {
        let width = logits.first().map_or(0, Vec::len) as u64;
        NpyArray::from_f32(&[logits.len() as u64, width], &logits.concat()).write(path)?;
    }
    Ok(())
}
