//! The runtime linked into irex, as a user meets it: it gives what IREE's
//! own `iree-run-module` gives for the same module, and a bad module,
//! parameter archive or manifest is one typed line naming the file and,
//! where it applies, the parameter; never a crash inside the runtime.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::tiny_llama::TinyLlama;
use irex::formats::npy::NpyArray;
use irex::run::{Arg, ModuleFiles, RunOptions, Runner, RuntimeRunner, ToolRunner};

const IREX: &str = env!("CARGO_BIN_EXE_irex");

fn scratch() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

fn irex(args: &[&str]) -> Output {
    Command::new(IREX)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The tiny llama, exported and compiled with an 8-token length.
fn tiny_export() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let gguf = scratch().join("tiny.gguf");
        std::fs::write(&gguf, TinyLlama::new().bytes()).unwrap();
        let out = scratch().join("tiny");
        let run = irex(&["export", path(&gguf), "--seq-len", "8", "-o", path(&out)]);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        out
    })
}

/// Drops `file`'s size and hash from the manifest, so that a spoiled file
/// reaches the runtime rather than the size check in front of it.
fn forget_record(folder: &Path, file: &str) {
    let path = folder.join("irex.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let records = manifest["artifacts"]
        .as_array_mut()
        .expect("artifacts are recorded");
    let before = records.len();
    records.retain(|record| record["file"] != file);
    assert_eq!(records.len() + 1, before, "{file} was recorded");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// A copy of the export, to spoil.
fn copy_of_export(name: &str) -> PathBuf {
    let copy = scratch().join(name);
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(tiny_export()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    copy
}

/// `irex generate` on `folder`, expected to fail with one `irex:` line
/// holding every one of `expected`; returns that line.
fn generate_refused(folder: &Path, expected: &[&str]) -> String {
    let run = irex(&[
        "generate",
        path(folder),
        "--prompt",
        "ab",
        "--max-tokens",
        "3",
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(1), "must fail: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    for text in expected {
        assert!(lines[0].contains(text), "`{text}` in: {stderr}");
    }
    lines[0].to_string()
}

fn module_files(folder: &Path) -> ModuleFiles {
    ModuleFiles {
        module: folder.join("model.vmfb"),
        parameters: vec![("model".into(), folder.join("model.irpa"))],
        device: "local-task".into(),
    }
}

/// Prefill logits of `tokens` through `runner`.
fn prefill_logits<R: Runner>(runner: &mut R) -> Vec<f32> {
    let tokens = NpyArray::from_i32(&[1, 8], &[1, 5, 9, 3, 0, 0, 0, 0]);
    let outputs = runner.call("prefill", &[Arg::Host(tokens)], 3).unwrap();
    runner.read_f32(&outputs[0], "prefill").unwrap()
}

#[test]
fn the_linked_runtime_computes_what_iree_run_module_computes() {
    let files = module_files(tiny_export());
    let options = RunOptions { threads: Some(1) };
    let in_process = prefill_logits(&mut RuntimeRunner::load(&files, &options).unwrap());
    let tool = prefill_logits(&mut ToolRunner::new(files).unwrap());
    assert_eq!(in_process.len(), tool.len());
    let worst = in_process
        .iter()
        .zip(&tool)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= 1e-5,
        "max |in-process - iree-run-module| = {worst}"
    );
    assert!(
        in_process.iter().any(|&x| x != 0.0),
        "logits are not all zero"
    );
}

#[test]
fn results_stay_on_the_device_between_calls() {
    // A decode step takes the prefill's caches as device values, and one
    // more step from the same caches gives the same logits again.
    let files = module_files(tiny_export());
    let mut runner = RuntimeRunner::load(&files, &RunOptions::default()).unwrap();
    let tokens = NpyArray::from_i32(&[1, 8], &[1, 5, 9, 0, 0, 0, 0, 0]);
    let prefill = runner.call("prefill", &[Arg::Host(tokens)], 3).unwrap();
    let step = |runner: &mut RuntimeRunner| {
        let args = [
            Arg::Host(NpyArray::from_i32(&[1, 1], &[3])),
            Arg::Host(NpyArray::from_i32(&[1], &[3])),
            Arg::Value(&prefill[1]),
            Arg::Value(&prefill[2]),
        ];
        let outputs = runner.call("decode", &args, 3).unwrap();
        runner.read_f32(&outputs[0], "decode").unwrap()
    };
    let first = step(&mut runner);
    assert_eq!(first, step(&mut runner));
    // And it is the prefill's logit row at position 3 of [1, 5, 9, 3].
    let full = prefill_logits(&mut runner);
    let vocabulary = first.len();
    let row = &full[3 * vocabulary..4 * vocabulary];
    let worst = row
        .iter()
        .zip(&first)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst <= 1e-4, "decode vs prefill row: {worst}");
}

#[test]
fn a_truncated_module_is_refused_naming_it() {
    let folder = copy_of_export("truncated");
    let module = folder.join("model.vmfb");
    let bytes = std::fs::read(&module).unwrap();
    std::fs::write(&module, &bytes[..bytes.len() / 2]).unwrap();
    forget_record(&folder, "model.vmfb");
    generate_refused(&folder, &["loading module", "model.vmfb"]);
}

#[test]
fn a_file_that_is_no_module_is_refused_naming_it() {
    let folder = copy_of_export("foreign");
    forget_record(&folder, "model.vmfb");
    std::fs::write(
        folder.join("model.vmfb"),
        b"PK\x03\x04 this is a zip, not a module",
    )
    .unwrap();
    generate_refused(&folder, &["loading module", "model.vmfb"]);
    std::fs::write(folder.join("model.vmfb"), b"").unwrap();
    generate_refused(&folder, &["model.vmfb"]);
}

#[test]
fn a_module_of_another_iree_version_is_refused() {
    // Compiled by IREE 3.10.0 (scripts/fixtures/old-iree-module).
    let old = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/iree-3.10.0-add.vmfb");
    let files = ModuleFiles {
        module: old.clone(),
        parameters: Vec::new(),
        device: "local-task".into(),
    };
    let error = RuntimeRunner::load(&files, &RunOptions::default())
        .err()
        .expect("a 3.10 module must not load into the 3.13 runtime")
        .to_string();
    assert!(error.contains("iree-3.10.0-add.vmfb"), "{error}");
    assert!(!error.contains('\n'), "one line: {error}");
}

/// The weights `archive` holds, as `iree-dump-parameters` lists them.
fn parameter_names(archive: &Path) -> Vec<String> {
    let dump = Command::new(irex::iree::tools::find("iree-dump-parameters").unwrap())
        .arg(format!("--parameters={}", archive.display()))
        .output()
        .unwrap();
    let text = String::from_utf8(dump.stdout).unwrap();
    let names: Vec<String> = text
        .lines()
        .filter_map(|line| line.split_whitespace().last())
        .filter_map(|word| word.strip_prefix('`')?.strip_suffix('`'))
        .filter(|name| name.ends_with(".weight"))
        .map(str::to_string)
        .collect();
    assert!(!names.is_empty(), "iree-dump-parameters listed: {text}");
    names
}

/// Rewrites `folder`'s archive through `iree-convert-parameters` with `flags`.
fn convert_archive(folder: &Path, flags: &[String]) {
    let archive = folder.join("model.irpa");
    let converted = folder.join("converted.irpa");
    common::run_ok(
        Command::new(irex::iree::tools::find("iree-convert-parameters").unwrap())
            .arg(format!("--parameters={}", archive.display()))
            .args(flags)
            .arg(format!("--output={}", converted.display())),
    );
    std::fs::rename(converted, archive).unwrap();
}

#[test]
fn a_parameter_missing_from_the_archive_is_named() {
    let folder = copy_of_export("missing-parameter");
    let missing = parameter_names(&folder.join("model.irpa")).remove(0);
    convert_archive(&folder, &[format!("--exclude={missing}")]);
    forget_record(&folder, "model.irpa");
    generate_refused(&folder, &["model.vmfb", &missing]);
}

#[test]
fn a_parameter_of_another_size_is_named() {
    let folder = copy_of_export("resized-parameter");
    let resized = parameter_names(&folder.join("model.irpa")).remove(0);
    let flags = [
        format!("--exclude={resized}"),
        format!("--splat={resized}=4xf32=1.0"),
    ];
    convert_archive(&folder, &flags);
    forget_record(&folder, "model.irpa");
    generate_refused(&folder, &["model.vmfb", &resized]);
}

#[test]
fn a_manifest_that_disagrees_with_its_module_is_refused() {
    // The manifest says 4 tokens where the module takes 8: the runtime
    // refuses the call, and irex says so in one line.
    let folder = copy_of_export("disagreeing-manifest");
    let manifest = folder.join("irex.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text
        .replace("\"sequence_length\": 8", "\"sequence_length\": 4")
        .replace("tensor<1x8xi32>", "tensor<1x4xi32>");
    std::fs::write(&manifest, text).unwrap();
    generate_refused(&folder, &["prefill"]);
}

#[test]
fn a_seeded_sampled_run_repeats_and_greedy_is_temperature_zero() {
    let folder = tiny_export();
    let run = |extra: &[&str]| {
        let args = [
            "generate",
            path(folder),
            "--prompt",
            "abc",
            "--max-tokens",
            "6",
        ];
        let run = irex(&[&args[..], extra].concat());
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        run.stdout
    };
    let sampled = ["--temperature", "1.5", "--top-k", "40", "--seed", "11"];
    assert_eq!(run(&sampled), run(&sampled));
    assert_eq!(run(&[]), run(&["--temperature", "0"]));
    assert_eq!(run(&["--threads", "1"]), run(&["--threads", "2"]));
}

#[test]
fn chat_without_a_template_is_refused() {
    let run = irex(&["generate", path(tiny_export()), "--prompt", "hi", "--chat"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("chat template"), "{stderr}");
    assert!(run.stdout.is_empty(), "nothing printed before the refusal");
}

#[test]
fn verify_checks_every_artifact_against_its_recorded_hash() {
    let run = irex(&["verify", path(tiny_export())]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let listing = String::from_utf8(run.stdout).unwrap();
    for file in ["model.vmfb", "model.irpa", "model.mlirbc", "tokenizer.json"] {
        assert!(
            listing.contains(&format!("{file} ")),
            "{file} in: {listing}"
        );
    }
    // One flipped byte, same size: only the hash tells.
    let folder = copy_of_export("flipped");
    let archive = folder.join("model.irpa");
    let mut bytes = std::fs::read(&archive).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&archive, &bytes).unwrap();
    let run = irex(&["verify", path(&folder)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("model.irpa") && stderr.contains("SHA-256"),
        "{stderr}"
    );
    // A byte more: every run refuses it before loading anything.
    bytes.push(0);
    std::fs::write(&archive, &bytes).unwrap();
    generate_refused(&folder, &["model.irpa", "bytes where irex.json records"]);
}

#[test]
fn sessions_load_and_run_in_parallel_threads() {
    // Each thread loads its own session; all share the process's runtime
    // instance (instances created in parallel raced on IREE's global type
    // registrations: "ref type mismatch" from a module's initializer).
    let files = module_files(tiny_export());
    let expected =
        prefill_logits(&mut RuntimeRunner::load(&files, &RunOptions::default()).unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let files = files.clone();
            std::thread::spawn(move || {
                let options = RunOptions { threads: Some(1) };
                (0..3)
                    .map(|_| prefill_logits(&mut RuntimeRunner::load(&files, &options).unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for thread in threads {
        for logits in thread.join().unwrap() {
            assert_eq!(logits, expected);
        }
    }
}
