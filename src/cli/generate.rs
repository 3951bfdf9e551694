//! `irex generate`: greedy continuation of a prompt with an exported causal
//! LM (one prefill, then one decode step per token over the KV cache).

use std::path::PathBuf;

use clap::Args;
use irex::run::CausalLm;

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
    /// Stop at this token (default: the model's end token, from its
    /// `tokenizer.ggml.eos_token_id`); -1 for none.
    #[arg(long, allow_negative_numbers = true)]
    end_token: Option<i64>,
}

/// Runs `irex generate`: prints the continuation, the token ids and speeds.
pub fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let model = CausalLm::open(&args.model)?;
    let prompt = model.tokenize(&args.prompt)?;
    let end = match args.end_token {
        None => model.end_token(),
        Some(token) => u32::try_from(token).ok(),
    };
    let generation = model.generate(&prompt, args.max_tokens, end)?;
    let text = model.detokenize(&generation.tokens)?;
    super::print_bytes(format!("{}{text}\n", args.prompt).as_bytes())?;
    eprintln!("irex: prompt tokens {prompt:?}");
    eprintln!("irex: new tokens {:?}", generation.tokens);
    let count = generation.tokens.len();
    match generation.prefill_seconds {
        Some(prefill) => {
            let steps = count.saturating_sub(1);
            let decode = generation.seconds - prefill;
            eprintln!(
                "irex: prefill {} tokens in {prefill:.2} s; {steps} decode steps in {decode:.2} s = {:.2} tokens/s (each step is one iree-run-module process)",
                prompt.len(),
                steps.max(1) as f64 / decode.max(1e-9)
            );
        }
        None => eprintln!(
            "irex: {count} tokens in {:.2} s = {:.2} tokens/s (one call of the module's generate loop, loading included)",
            generation.seconds,
            count as f64 / generation.seconds.max(1e-9)
        ),
    }
    Ok(())
}
