//! all-MiniLM-L6-v2 with int8 weights of `!quant.uniform` type: per-row
//! scales on every encoder matrix, one scale and zero point on the word
//! embeddings. `scripts/fixtures/quantize_int8.py` makes the checkpoint at
//! test time; the fixture holds sentence-transformers' embeddings with the
//! same weights dequantized by numpy (`scripts/make-fixtures`), and the
//! checkpoint's SHA-256, so both sides are known to start from the same bytes.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use irex::export::{ExportOptions, Silent, export_folder};
use irex::formats::safetensors::Safetensors;
use irex::iree::tools;
use irex::tensor::ElementType;
use serde::Deserialize;

mod common;

#[derive(Deserialize)]
struct Fixture {
    int8_checkpoint_sha256: String,
    max_seq_length: u64,
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

fn fixture() -> Fixture {
    common::fixture("minilm_int8_embeddings.json")
}

struct Exported {
    _work: tempfile::TempDir,
    checkpoint: PathBuf,
    output: PathBuf,
}

/// Quantizes the installed model and exports it once for this file's tests.
fn exported() -> &'static Exported {
    static EXPORTED: OnceLock<Exported> = OnceLock::new();
    EXPORTED.get_or_init(|| {
        let work = tempfile::tempdir().unwrap();
        let checkpoint = work.path().join("int8");
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let run = common::run_ok(
            Command::new(repo.join(".venv/bin/python"))
                .arg(repo.join("scripts/fixtures/quantize_int8.py"))
                .arg(common::minilm_folder())
                .arg(&checkpoint),
        );
        let digest = String::from_utf8(run.stdout).unwrap();
        assert_eq!(
            digest.trim(),
            fixture().int8_checkpoint_sha256,
            "the fixture's checkpoint"
        );
        let output = work.path().join("out");
        let options = ExportOptions {
            batch: Some(4),
            sequence_length: Some(fixture().max_seq_length),
            ..ExportOptions::default()
        };
        let model = irex::models::open(&checkpoint).unwrap();
        export_folder(model.as_ref(), &output, &options, &mut Silent).unwrap();
        Exported {
            _work: work,
            checkpoint,
            output,
        }
    })
}

#[test]
fn embeddings_match_sentence_transformers_on_the_dequantized_weights() {
    let fixture = fixture();
    let embeddings = irex::run::embed(&exported().output, &fixture.sentences).unwrap();
    common::assert_embeddings_match(&fixture.sentences, &embeddings, &fixture.embeddings);
}

#[test]
fn the_module_declares_quant_uniform_types() {
    let text = Command::new(env!("CARGO_BIN_EXE_irex"))
        .arg("print")
        .arg(exported().output.join("model.mlirbc"))
        .output()
        .unwrap();
    assert!(text.status.success());
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains(
        "#flow.parameter.named<\"model\"::\"encoder.layer.0.attention.self.query.weight\"> : tensor<384x384x!quant.uniform<i8:f32:0, {"
    ));
    assert!(text.contains(
        "\"embeddings.word_embeddings.weight\"> : tensor<30522x384x!quant.uniform<i8:f32, "
    ));
    // 6 layers × (query, key, value, attention output, intermediate, output) + the word embeddings.
    assert_eq!(text.matches("stablehlo.uniform_dequantize").count(), 37);
    assert!(!text.contains("dense<\"0x"), "no weight bytes in the text");
}

#[test]
fn the_archive_holds_the_stored_integers_verbatim() {
    let checkpoint = Safetensors::open(&exported().checkpoint).unwrap();
    let archive_path = exported().output.join("model.irpa");
    let archive = std::fs::read(&archive_path).unwrap();
    let mut argument = OsString::from("--parameters=model=");
    argument.push(&archive_path);
    let listing = tools::run("iree-dump-parameters", &[argument]).unwrap();
    let mut integer_entries = 0;
    for line in listing
        .lines()
        .filter(|l| !l.starts_with("//") && l.contains('|'))
    {
        let fields: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
        let (start, end): (usize, usize) = (fields[0].parse().unwrap(), fields[1].parse().unwrap());
        let tensor = checkpoint.get(fields[3].trim_matches('`')).unwrap();
        assert!(
            &archive[start..end] == tensor.buffer.bytes(),
            "{}",
            fields[3]
        );
        integer_entries += usize::from(tensor.spec.element == ElementType::I8);
        assert!(!fields[3].ends_with("_scale"), "scales live in the types");
    }
    assert_eq!(integer_entries, 37);
    let f32_size = std::fs::metadata(common::minilm_folder().join("model.safetensors"))
        .unwrap()
        .len();
    assert!(
        archive.len() as u64 * 3 < f32_size,
        "{} bytes against {f32_size}",
        archive.len()
    );
}
