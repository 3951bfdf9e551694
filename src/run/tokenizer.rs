//! The Hugging Face `tokenizers` library behind typed errors: encoding a
//! prompt, a padded batch of sentences, and decoding generated tokens.

use std::path::{Path, PathBuf};

use tokenizers::{Encoding, PaddingParams, PaddingStrategy, TruncationParams};

use super::RunError;

/// A `tokenizer.json`, loaded.
pub struct Tokenizer {
    path: PathBuf,
    inner: tokenizers::Tokenizer,
}

impl Tokenizer {
    /// Loads the `tokenizer.json` at `path`.
    pub fn load(path: &Path) -> Result<Self, RunError> {
        crate::tensor::check_regular_file(path).map_err(|error| RunError::Tokenizer {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        let inner =
            tokenizers::Tokenizer::from_file(path).map_err(|error| RunError::Tokenizer {
                path: path.to_path_buf(),
                message: error.to_string(),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            inner,
        })
    }

    fn error(&self, error: tokenizers::Error) -> RunError {
        RunError::Tokenizer {
            path: self.path.clone(),
            message: error.to_string(),
        }
    }

    /// The token ids of `text`, no special tokens added (as llama.cpp
    /// tokenizes a prompt for a GGUF without `add_bos_token`).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, RunError> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|error| self.error(error))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// Encodes `texts` as a sentence encoder expects: special tokens added,
    /// truncated and padded to `sequence` tokens each.
    pub fn encode_padded(
        &self,
        texts: &[String],
        sequence: u64,
    ) -> Result<Vec<Encoding>, RunError> {
        let mut tokenizer = self.inner.clone();
        let truncation = TruncationParams {
            max_length: sequence as usize,
            ..TruncationParams::default()
        };
        tokenizer
            .with_truncation(Some(truncation))
            .map_err(|error| self.error(error))?;
        let padding = tokenizer.get_padding().cloned().unwrap_or_default();
        tokenizer.with_padding(Some(PaddingParams {
            strategy: PaddingStrategy::Fixed(sequence as usize),
            ..padding
        }));
        tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|error| self.error(error))
    }

    /// The vocabulary entry of `token` (`<|im_end|>`, say).
    pub fn token_text(&self, token: u32) -> Option<String> {
        self.inner.id_to_token(token)
    }

    /// The text of `tokens` (special tokens included, as their text).
    pub fn decode(&self, tokens: &[u32]) -> Result<String, RunError> {
        self.inner
            .decode(tokens, false)
            .map_err(|error| self.error(error))
    }
}
