//! `irex embed`: sentence embeddings from an exported model folder.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use irex::formats::npy::NpyArray;
use irex::models::bert;

/// Arguments of `irex embed`.
#[derive(Args)]
pub struct EmbedArgs {
    /// A folder written by `irex export MODEL_DIR -o FOLDER`.
    model: PathBuf,
    /// Sentences to embed.
    #[arg(required = true)]
    texts: Vec<String>,
    /// Also write the embeddings as one [sentences, width] f32 .npy.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Runs `irex embed`: one JSON array of floats per sentence on stdout.
pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    let embeddings = bert::embed(&args.model, &args.texts)
        .with_context(|| format!("embedding with `{}`", args.model.display()))?;
    let mut text = String::new();
    for row in &embeddings {
        text.push_str(&serde_json::to_string(row)?);
        text.push('\n');
    }
    print!("{text}");
    if let Some(path) = &args.output {
        let width = embeddings.first().map_or(0, Vec::len) as u64;
        let flat: Vec<f32> = embeddings.concat();
        NpyArray::from_f32(&[embeddings.len() as u64, width], &flat).write(path)?;
    }
    Ok(())
}
