//! `irex embed`: sentence embeddings from an exported sentence encoder.

use std::path::PathBuf;

use clap::Args;
use irex::formats::npy::NpyArray;

/// Arguments of `irex embed`.
#[derive(Args)]
pub struct EmbedArgs {
    /// A folder written by `irex export MODEL_DIR -o FOLDER`.
    model: PathBuf,
    /// Sentences to embed.
    #[arg(required = true)]
    texts: Vec<String>,
    /// Also write the embeddings as one [sentences, width] f32 .npy.
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// CPU threads (default: every CPU this process may use).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// Runs `irex embed`: one JSON array of floats per sentence on stdout.
pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    let options = irex::run::RunOptions {
        threads: args.threads.map(usize::from),
    };
    let embeddings = irex::run::embed_with(&args.model, &args.texts, &options)?;
    let mut text = String::new();
    for row in &embeddings {
        text.push_str(&serde_json::to_string(row)?);
        text.push('\n');
    }
    super::print_bytes(text.as_bytes())?;
    if let Some(path) = &args.output {
        let width = embeddings.first().map_or(0, Vec::len) as u64;
        let flat: Vec<f32> = embeddings.concat();
        NpyArray::from_f32(&[embeddings.len() as u64, width], &flat).write(path)?;
    }
    Ok(())
}
