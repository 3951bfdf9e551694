//! Sentence embeddings from an exported sentence encoder: the model's own
//! tokenizer, then the `embed` function in batches of the export's size.

use std::path::Path;

use super::folder::ExportFolder;
use super::in_process::RunOptions;
use super::runner::{Arg, Runner};
use crate::formats::npy::NpyArray;
use crate::models::ModelKind;
use crate::models::bert::EMBED_FUNCTION;

/// Token ids, attention mask and token types of one batch, row-major.
struct Batch {
    ids: Vec<i32>,
    mask: Vec<i32>,
    types: Vec<i32>,
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
                let widen = |values: &[u32]| values.iter().map(|&v| v as i32).collect::<Vec<_>>();
                rows.ids.extend(widen(encoding.get_ids()));
                rows.mask.extend(widen(encoding.get_attention_mask()));
                rows.types.extend(widen(encoding.get_type_ids()));
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

/// Embeds `texts` with the sentence encoder exported to `folder`.
pub fn embed(folder: &Path, texts: &[String]) -> crate::Result<Vec<Vec<f32>>> {
    embed_with(folder, texts, &RunOptions::default())
}

/// Embeds `texts` with the sentence encoder exported to `folder`, run
/// with `options`.
pub fn embed_with(
    folder: &Path,
    texts: &[String],
    options: &RunOptions,
) -> crate::Result<Vec<Vec<f32>>> {
    let folder = ExportFolder::open_as(folder, ModelKind::SentenceEncoder)?;
    let manifest = &folder.manifest;
    folder.expect_input(
        EMBED_FUNCTION,
        0,
        &[manifest.batch, manifest.sequence_length],
    )?;
    let (batch, sequence) = (manifest.batch as usize, manifest.sequence_length as usize);
    let encodings = folder
        .tokenizer()?
        .encode_padded(texts, manifest.sequence_length)?;
    let mut runner = folder.runner(options)?;
    let shape = [manifest.batch, manifest.sequence_length];
    let mut embeddings = Vec::with_capacity(texts.len());
    for chunk in encodings.chunks(batch) {
        let rows = batch_of(chunk, batch, sequence);
        let inputs = [rows.ids, rows.mask, rows.types]
            .map(|values| Arg::Host(NpyArray::from_i32(&shape, &values)));
        let outputs = runner.call(EMBED_FUNCTION, &inputs, 1)?;
        let values = runner.read_f32(&outputs[0], EMBED_FUNCTION)?;
        let width = values.len() / batch;
        embeddings.extend(values.chunks(width).take(chunk.len()).map(<[f32]>::to_vec));
    }
    Ok(embeddings)
}
