//! The `irex` command as a user meets it: export flags that do not apply to
//! the source are refused with one typed line naming the flag and the kind
//! of source; the ones that apply are honoured (`--scope`, `--policy` on a
//! GGUF, `--max-seq-len` as `--seq-len`, `-o -` for models); run commands
//! check what the folder holds; a closed stdout ends `irex print` quietly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use common::tiny_llama::TinyLlama;
use irex::formats::manifest::Manifest;

const IREX: &str = env!("CARGO_BIN_EXE_irex");

/// A scratch folder holding the tiny llama GGUF, shared by the tests.
fn scratch() -> &'static Path {
    static FOLDER: OnceLock<tempfile::TempDir> = OnceLock::new();
    FOLDER
        .get_or_init(|| {
            let folder = tempfile::tempdir().unwrap();
            std::fs::write(folder.path().join("tiny.gguf"), TinyLlama::new().bytes()).unwrap();
            folder
        })
        .path()
}

fn tiny_gguf() -> PathBuf {
    scratch().join("tiny.gguf")
}

/// Runs irex with `args` in `folder`.
fn irex_in(folder: &Path, args: &[&str]) -> Output {
    Command::new(IREX)
        .args(args)
        .current_dir(folder)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs irex, expects failure, and returns its error line, checking that
/// the error is one line (`irex: ...`, the last on stderr) said once.
fn refused(args: &[&str], expected: &str) -> String {
    let run = irex_in(scratch(), args);
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert_eq!(run.status.code(), Some(1), "{args:?} must fail: {stderr}");
    let last = stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("irex: "), "one `irex:` line: {stderr}");
    assert!(last.contains(expected), "`{expected}` in: {stderr}");
    assert_eq!(stderr.matches(expected).count(), 1, "said once: {stderr}");
    last
}

/// Runs irex, expects success, returns stdout.
fn succeeds(args: &[&str]) -> Vec<u8> {
    let run = irex_in(scratch(), args);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{args:?} failed: {stderr}");
    run.stdout
}

fn path(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The tiny llama exported with `--max-seq-len 8 --scope weights
/// --no-compile` (no compile: these tests need the manifest and MLIR).
fn tiny_export() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = scratch().join("tiny-out");
        let gguf = tiny_gguf();
        let args = [
            "export",
            path(&gguf),
            "--max-seq-len",
            "8",
            "--scope",
            "weights",
        ];
        succeeds(&[&args[..], &["--no-compile", "-o", path(&out)]].concat());
        out
    })
}

#[test]
fn model_flags_that_do_not_apply_are_refused_by_name() {
    let minilm = common::minilm_folder();
    let minilm = path(&minilm);
    let gguf = tiny_gguf();
    let gguf = path(&gguf);
    let cases: [(&[&str], &str); 9] = [
        (
            &["export", minilm, "--quant", "packed", "-o", "bert-out"],
            "--quant does not apply to a sentence-transformers BERT folder",
        ),
        (
            &["export", minilm, "--int-kernel", "bytes", "-o", "bert-out"],
            "--int-kernel does not apply to a sentence-transformers BERT folder",
        ),
        (
            &[
                "export",
                gguf,
                "--quant",
                "dequant",
                "--int-kernel",
                "nibbles",
                "-o",
                "llama-out",
            ],
            "--int-kernel applies only to --quant packed; this export is --quant dequant",
        ),
        (
            &["export", gguf, "--batch", "4", "-o", "llama-out"],
            "--batch does not apply to a llama GGUF file",
        ),
        (
            &[
                "export",
                "--example",
                "linear",
                "--seq-len",
                "8",
                "-o",
                "x.mlir",
            ],
            "--seq-len does not apply to a built-in example",
        ),
        (
            &[
                "export",
                "--example",
                "linear",
                "--quant",
                "dequant",
                "-o",
                "x.mlir",
            ],
            "--quant does not apply to a built-in example",
        ),
        (
            &[
                "export",
                "--example",
                "linear",
                "--no-compile",
                "-o",
                "x.mlir",
            ],
            "--no-compile does not apply to a one-file export of a built-in example",
        ),
        (
            &["export", gguf, "--irpa", "w.irpa", "-o", "llama-out"],
            "--irpa does not apply to a folder export of a llama GGUF file",
        ),
        (
            &["export", gguf, "--emit", "both", "-o", "-"],
            "--emit both needs a folder export",
        ),
    ];
    for (args, expected) in cases {
        refused(args, expected);
    }
    for folder in ["bert-out", "llama-out", "x.mlir"] {
        assert!(
            !scratch().join(folder).exists(),
            "{folder} must not be written"
        );
    }
}

#[test]
fn a_model_streams_to_stdout_with_its_weights_named() {
    let gguf = tiny_gguf();
    refused(
        &["export", path(&gguf), "-o", "-"],
        "a llama GGUF file puts 11 weights in an .irpa: name it with --irpa PATH",
    );
    let irpa = scratch().join("streamed.irpa");
    let args = [
        "export",
        path(&gguf),
        "--scope",
        "weights",
        "--irpa",
        path(&irpa),
    ];
    let text = String::from_utf8(succeeds(&[&args[..], &["-o", "-"]].concat())).unwrap();
    assert!(text.starts_with("module @llama"), "{}", &text[..80]);
    assert!(text.contains("#flow.parameter.named<\"weights\"::\"blk.0.attn_q.weight\">"));
    assert_eq!(&std::fs::read(&irpa).unwrap()[..4], b"IRPA");
    assert!(!scratch().join("-").exists(), "no folder named -");
}

#[test]
fn a_gguf_export_honours_the_inline_policy() {
    let gguf = tiny_gguf();
    let stdout = succeeds(&["export", path(&gguf), "--policy", "inline", "-o", "-"]);
    let text = String::from_utf8(stdout).unwrap();
    assert!(
        !text.contains("flow.parameter.named"),
        "every weight inline"
    );
    assert!(
        text.contains("> : tensor<4x8xf32>"),
        "the embedding is a constant"
    );
}

#[test]
fn the_manifest_records_scope_length_and_end_token() {
    let manifest = Manifest::read(tiny_export()).unwrap();
    assert_eq!(manifest.parameter_scope, "weights");
    assert_eq!(manifest.sequence_length, 8, "--max-seq-len is --seq-len");
    assert_eq!(manifest.end_token, Some(3), "tokenizer.ggml.eos_token_id");
    let prefill = manifest.function("prefill").unwrap();
    assert_eq!(prefill.inputs[0].name, "tokens");
    assert_eq!(prefill.inputs[0].r#type, "tensor<1x8xi32>");
    let outputs: Vec<&str> = prefill.outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(outputs, ["logits", "keys", "values"]);
    let bytecode = tiny_export().join("model.mlirbc");
    let text = String::from_utf8(succeeds(&["print", path(&bytecode)])).unwrap();
    assert!(
        text.contains("#flow.parameter.named<\"weights\"::"),
        "--scope in the module"
    );
}

#[test]
fn run_commands_say_which_command_runs_the_folder() {
    let bert = scratch().join("bert-no-compile");
    let minilm = common::minilm_folder();
    let args = [
        "export",
        path(&minilm),
        "--max-seq-len",
        "16",
        "--no-compile",
    ];
    succeeds(&[&args[..], &["-o", path(&bert)]].concat());
    let manifest = Manifest::read(&bert).unwrap();
    assert_eq!(
        manifest.sequence_length, 16,
        "--max-seq-len applies to BERT too"
    );
    assert_eq!(
        manifest.function("embed").unwrap().outputs[0].name,
        "embeddings"
    );
    refused(
        &["generate", path(&bert), "--prompt", "a"],
        "holds a sentence encoder; use irex embed",
    );
    refused(
        &["logits", path(&bert), "--tokens", "1"],
        "holds a sentence encoder; use irex embed",
    );
    refused(
        &["embed", path(tiny_export()), "a sentence"],
        "holds a causal language model; use irex generate or irex logits",
    );
}

#[test]
fn a_missing_model_is_named_once() {
    let line = refused(
        &["export", "missing.gguf", "-o", "out"],
        "No such file or directory",
    );
    assert!(line.contains("`missing.gguf`"), "{line}");
}

#[test]
fn bad_token_input_is_refused_once() {
    let out = path(tiny_export());
    refused(
        &["generate", out, "--prompt", "ab", "--max-tokens", "100"],
        "1 prompt tokens + 100 new ones exceed the export's 8",
    );
    refused(
        &[
            "generate",
            out,
            "--prompt",
            "ab",
            "--max-tokens",
            "18446744073709551615",
        ],
        "exceed the export's 8",
    );
    refused(
        &["logits", out, "--tokens", "1,99"],
        "token 99 is outside the vocabulary of 4",
    );
    refused(
        &[
            "generate",
            out,
            "--prompt",
            "ab",
            "--max-tokens",
            "1",
            "--end-token",
            "4",
        ],
        "end token 4 is outside the vocabulary of 4",
    );
    refused(
        &[
            "generate",
            out,
            "--prompt",
            "ab",
            "--end-token",
            "4294967296",
        ],
        "--end-token 4294967296 is not a token id",
    );
    refused(
        &["logits", out, "--tokens", "1,2,3,1,2,3,1,2,3"],
        "9 tokens; the export takes 1 to 8",
    );
}

/// Runs irex with `args`; fails the test instead of hanging past 30 s.
fn irex_within_deadline(args: &[&str]) -> Output {
    let mut child = Command::new(IREX)
        .args(args)
        .current_dir(scratch())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(30) {
            child.kill().unwrap();
            panic!("irex {args:?} hung");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

#[test]
fn fifos_are_refused_before_anything_opens_them() {
    let fifo = scratch().join("model.gguf.fifo");
    mkfifo(&fifo);
    let folder = scratch().join("fifo-bert");
    std::fs::create_dir_all(&folder).unwrap();
    mkfifo(&folder.join("config.json"));
    std::fs::write(folder.join("model.safetensors"), b"").unwrap();
    let cases: [&[&str]; 4] = [
        &["inspect", path(&fifo)],
        &["pack", path(&fifo), "-o", "fifo.irpa"],
        &["print", path(&fifo)],
        &["export", path(&folder), "-o", "fifo-out"],
    ];
    for args in cases {
        let run = irex_within_deadline(args);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("not a regular file"), "{args:?}: {stderr}");
    }
}

#[test]
fn a_manifest_that_contradicts_its_module_is_refused() {
    let folder = scratch().join("hostile-manifest");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(tiny_export()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
    }
    let mut manifest = Manifest::read(&folder).unwrap();
    manifest.sequence_length = 1 << 40;
    manifest.write(&folder).unwrap();
    refused(
        &["logits", path(&folder), "--tokens", "1"],
        "irex.json describes `prefill` argument 0 as tensor<1x8xi32>, but its batch and sequence length make [1, 1099511627776]",
    );
}

#[test]
fn print_shows_a_parameter_key_that_is_not_utf8() {
    let bytecode = scratch().join("key.mlirbc");
    let args = ["export", "--example", "linear", "--policy", "external"];
    succeeds(&[&args[..], &["--emit", "bytecode", "-o", path(&bytecode)]].concat());
    let mut bytes = std::fs::read(&bytecode).unwrap();
    let key = b"linear.weight";
    let mut replaced = 0;
    while let Some(at) = bytes.windows(key.len()).position(|w| w == key) {
        bytes[at + 7..at + 9].copy_from_slice(b"\xff\xfe");
        replaced += 1;
    }
    assert!(replaced > 0, "the key is in the bytecode");
    std::fs::write(&bytecode, &bytes).unwrap();
    let stdout = succeeds(&["print", path(&bytecode)]);
    let bad_key = b"linear.\xff\xfeight";
    assert!(
        stdout.windows(bad_key.len()).any(|w| w == bad_key),
        "printed byte for byte"
    );
}

#[test]
fn an_export_leaves_no_artifact_of_an_earlier_one() {
    let gguf = tiny_gguf();
    let out = scratch().join("restaled");
    succeeds(&["export", path(&gguf), "--seq-len", "4", "-o", path(&out)]);
    assert!(out.join("model.vmfb").exists());
    let args = [
        "export",
        path(&gguf),
        "--seq-len",
        "4",
        "--emit",
        "text",
        "--no-compile",
    ];
    succeeds(&[&args[..], &["-o", path(&out)]].concat());
    assert!(!out.join("model.vmfb").exists(), "the old module is gone");
    assert!(
        !out.join("model.mlirbc").exists(),
        "the old bytecode is gone"
    );
    assert!(out.join("model.mlir").exists());
    refused(
        &["logits", path(&out), "--tokens", "1"],
        "its irex.json names no compiled module",
    );
}

/// `irex export MODEL --seq-len 4 --no-compile -o OUT`.
fn export_without_compiling<'a>(model: &'a Path, out: &'a Path) -> [&'a str; 7] {
    [
        "export",
        path(model),
        "--seq-len",
        "4",
        "--no-compile",
        "-o",
        path(out),
    ]
}

#[test]
fn an_export_folder_is_replaced_whole_and_locked_while_written() {
    use std::os::unix::io::AsRawFd;
    let gguf = tiny_gguf();
    let out = scratch().join("transaction");
    // What a killed export leaves: a staging folder, cleared by the next run.
    let leftover = scratch().join(".transaction.irex-staging-999999");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("model.irpa"), b"half").unwrap();
    let args = export_without_compiling(&gguf, &out);
    succeeds(&args);
    assert!(
        !leftover.exists(),
        "the killed run's staging folder is gone"
    );
    assert!(out.join("irex.json").exists());
    let lock = std::fs::File::open(scratch().join(".transaction.irex-lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns; no memory is involved.
    let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(locked, 0, "the test holds the export lock");
    refused(&args, "another irex export is writing it now");
    drop(lock);
    succeeds(&args);
    let foreign = scratch().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("notes.txt"), b"mine").unwrap();
    let args = export_without_compiling(&gguf, &foreign);
    refused(&args, "it holds files of no irex export");
    assert_eq!(std::fs::read(foreign.join("notes.txt")).unwrap(), b"mine");
}

#[test]
fn a_batch_past_what_the_runtime_indexes_is_refused() {
    let minilm = common::minilm_folder();
    let args = ["export", path(&minilm), "--batch", "18446744073709551615"];
    refused(
        &[&args[..], &["--no-compile", "-o", "huge"]].concat(),
        "batch × sequence ≤ 2^24",
    );
}

#[test]
fn values_from_files_cannot_forge_lines() {
    let header = r#"{"w":{"dtype":"F32\nirex: forged","shape":[1],"data_offsets":[0,4]}}"#;
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend(header.as_bytes());
    file.extend([0; 4]);
    let checkpoint = scratch().join("forged.safetensors");
    std::fs::write(&checkpoint, file).unwrap();
    let run = irex_in(scratch(), &["inspect", path(&checkpoint)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.starts_with("irex:")).count(),
        1,
        "{stderr}"
    );
}

#[test]
fn the_generation_loop_in_the_module_continues_as_the_host_loop_does() {
    let gguf = tiny_gguf();
    let (host, looped) = (scratch().join("host-loop"), scratch().join("module-loop"));
    let args = ["export", path(&gguf), "--seq-len", "8", "-o"];
    succeeds(&[&args[..], &[path(&host)]].concat());
    succeeds(&[&args[..], &[path(&looped), "--generation-loop"]].concat());
    let manifest = Manifest::read(&looped).unwrap();
    let generate = manifest.function("generate").expect("generate is listed");
    let inputs: Vec<&str> = generate.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        inputs,
        ["prompt", "prompt_length", "max_new_tokens", "end_token"]
    );
    let continuation = |folder: &Path, extra: &[&str]| {
        let args = [
            "generate",
            path(folder),
            "--prompt",
            "ab",
            "--max-tokens",
            "5",
        ];
        let run = irex_in(scratch(), &[&args[..], extra].concat());
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        (
            String::from_utf8(run.stdout).unwrap(),
            String::from_utf8(run.stderr).unwrap(),
        )
    };
    let ((host_text, host_log), (loop_text, loop_log)) = (
        continuation(&host, &[]),
        continuation(&looped, &["--module-loop"]),
    );
    assert_eq!(loop_text, host_text);
    let new_tokens = |log: &str| {
        log.lines()
            .find(|l| l.contains("new tokens"))
            .unwrap()
            .to_string()
    };
    assert_eq!(new_tokens(&loop_log), new_tokens(&host_log));
    assert!(
        loop_log.contains("one call of the module's generate loop"),
        "{loop_log}"
    );
    refused(
        &[
            "generate",
            path(&host),
            "--prompt",
            "ab",
            "--max-tokens",
            "2",
            "--module-loop",
        ],
        "names no generation loop (export with --generation-loop)",
    );
    refused(
        &[
            "export",
            path(&common::minilm_folder()),
            "--generation-loop",
            "-o",
            "x",
        ],
        "--generation-loop does not apply to a sentence-transformers BERT folder",
    );
}

#[test]
fn print_into_a_closed_pipe_exits_0() {
    // Large enough that `head` closes the pipe while irex is still writing.
    let mut text = String::from("func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {\n");
    for index in 0..20_000 {
        let from = if index == 0 {
            "%x".to_string()
        } else {
            format!("%v{}", index - 1)
        };
        text.push_str(&format!(
            "  %v{index} = stablehlo.add {from}, %x : tensor<4xf32>\n"
        ));
    }
    text.push_str("  return %v19999 : tensor<4xf32>\n}\n");
    let file = scratch().join("long.mlir");
    std::fs::write(&file, text).unwrap();
    let script = format!(
        "set -o pipefail; '{IREX}' print '{}' | head -1",
        path(&file)
    );
    let run = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&run.stdout).lines().count(), 1);
    assert!(
        run.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

/// Waits up to 60 s for `condition`, polling.
fn eventually(condition: impl Fn() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(60) {
        if condition() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    false
}

/// The names in `folder` that irex writes while an output is unfinished.
fn unfinished(folder: &Path) -> Vec<String> {
    std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".irex-") && !name.ends_with(".irex-lock"))
        .collect()
}

#[test]
fn a_signal_during_an_export_removes_what_it_was_writing() {
    use std::os::unix::process::ExitStatusExt;
    let folder = tempfile::tempdir().unwrap();
    let out = folder.path().join("out");
    let gguf = common::smollm2_gguf();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut export = Command::new(IREX)
            .args(export_without_compiling(&gguf, &out))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let writing = eventually(|| !unfinished(folder.path()).is_empty());
        assert!(writing, "the export never began writing");
        // SAFETY: kill on the pid of a child this test spawned and has not reaped.
        assert_eq!(unsafe { libc::kill(export.id() as i32, signal) }, 0);
        let status = export.wait().unwrap();
        assert_eq!(
            status.signal(),
            Some(signal),
            "ended by the signal: {status}"
        );
        assert_eq!(unfinished(folder.path()), Vec::<String>::new());
        assert!(
            !out.exists(),
            "no output from an export that did not finish"
        );
    }
}

#[test]
fn output_onto_a_symlink_writes_its_target_and_onto_a_folder_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    let target = folder.path().join("target.irpa");
    std::fs::write(&target, b"old").unwrap();
    let link = folder.path().join("link.irpa");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let gguf = tiny_gguf();
    succeeds(&["pack", path(&gguf), "-o", path(&link)]);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(&std::fs::read(&target).unwrap()[..4], b"IRPA");
    let line = refused(
        &["pack", path(&gguf), "-o", path(folder.path())],
        "is a folder",
    );
    assert!(line.contains("irex replaces only regular files"), "{line}");
}

#[test]
fn iree_flags_pass_through_checked_by_iree_and_recorded() {
    let gguf = tiny_gguf();
    let export = ["export", path(&gguf), "--seq-len", "8", "--no-compile"];
    refused(
        &[
            &export[..],
            &["-o", "flags-bad", "--iree-flag=--iree-no-such-flag=1"],
        ]
        .concat(),
        "option not found: iree-no-such-flag",
    );
    refused(
        &[
            &export[..],
            &["-o", "flags-bad", "--", "--iree-opt-level=O9"],
        ]
        .concat(),
        "option parse error for: iree-opt-level=O9",
    );
    assert!(!scratch().join("flags-bad").exists(), "nothing written");
    let out = scratch().join("flags-out");
    let flags = [
        "--target",
        "vulkan",
        "-o",
        path(&out),
        "--iree-flag=--iree-opt-level=O3",
        "--",
        "--iree-opt-const-eval=false",
    ];
    succeeds(&[&export[..], &flags[..]].concat());
    let manifest = Manifest::read(&out).unwrap();
    assert_eq!(
        manifest.compile_flags,
        [
            "--iree-hal-target-device=vulkan",
            "--iree-opt-level=O3",
            "--iree-opt-const-eval=false"
        ],
        "`--target vulkan` is IREE's vulkan device; both kinds of pass-through recorded in order"
    );
    assert_eq!(manifest.device, "vulkan");
}

/// The GPU targets compile by the names users type: `rocm` finds the ROCm
/// bitcode and `iree-lld` beside IREE's library, as `iree-compile` does.
#[test]
fn rocm_and_vulkan_compile_by_the_names_users_type() {
    for target in ["rocm", "hip", "vulkan"] {
        let vmfb = scratch().join(format!("linear-{target}.vmfb"));
        let mlir = scratch().join(format!("linear-{target}.mlir"));
        let args = [
            "export",
            "--example",
            "linear",
            "-o",
            path(&mlir),
            "--vmfb",
            path(&vmfb),
        ];
        succeeds(&[&args[..], &["--target", target]].concat());
        let bytes = std::fs::read(&vmfb).unwrap();
        assert!(bytes.len() > 1000, "{target}: a module");
        let format = if target == "vulkan" {
            "vulkan-spirv-fb"
        } else {
            "rocm-hsaco-fb"
        };
        assert!(
            bytes.windows(format.len()).any(|w| w == format.as_bytes()),
            "{target}: the module holds a {format} executable"
        );
    }
}

/// Runs `line` in a shell that finds IREE's tools (the venv's) and irex.
fn shell(line: &str) -> String {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin");
    let irex = Path::new(IREX).parent().unwrap();
    let search = format!(
        "{}:{}:{}",
        venv.display(),
        irex.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = Command::new("sh")
        .args(["-c", line])
        .env("PATH", search)
        .current_dir(scratch())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "`{line}` failed: {stderr}");
    String::from_utf8(run.stdout).unwrap()
}

/// Runs the printed `iree-run-module` lines (after the printed
/// `iree-compile` one) on the module `printed` names and on `ours`, which
/// must give the same results.
fn printed_runs_match(lines: &[&str], printed: &Path, ours: &Path) {
    for line in lines {
        let with_printed = shell(line);
        let with_ours = shell(&line.replace(path(printed), path(ours)));
        assert!(with_printed.contains("result[0]"), "{with_printed}");
        assert_eq!(with_printed, with_ours, "`{line}` on both modules");
    }
}

/// `--print-commands` prints what IREE's own tools need to redo an export:
/// IREE's `iree-compile` with the printed flags builds a module that
/// computes what irex's does, and the printed `iree-run-module` calls run
/// it. A module with `!quant.uniform` weights (which `iree-compile` alone
/// refuses) is piped through `irex print --lower-quant` first.
#[test]
fn printed_commands_redo_the_export_with_iree_tools() {
    let out = scratch().join("commands-out");
    let gguf = tiny_gguf();
    let args = ["export", path(&gguf), "--seq-len", "8", "-o", path(&out)];
    let script = String::from_utf8(succeeds(&[&args[..], &["--print-commands"]].concat())).unwrap();
    let lines: Vec<&str> = script.lines().collect();
    assert_eq!(lines.len(), 3, "compile, prefill, decode: {script}");
    assert!(lines[0].starts_with("iree-compile "), "{script}");
    assert!(lines[1].contains("--function=prefill") && lines[2].contains("--function=decode"));
    let vmfb = out.join("model.vmfb");
    let ours = scratch().join("commands-irex.vmfb");
    std::fs::rename(&vmfb, &ours).unwrap();
    shell(lines[0]);
    printed_runs_match(&lines[1..], &vmfb, &ours);

    let mlir = scratch().join("commands-int8.mlir");
    let vmfb = scratch().join("commands-int8.vmfb");
    let example = ["export", "--example", "int8-linear", "-o", path(&mlir)];
    let script = succeeds(&[&example[..], &["--vmfb", path(&vmfb), "--print-commands"]].concat());
    let script = String::from_utf8(script).unwrap();
    let lines: Vec<&str> = script.lines().collect();
    assert!(
        lines[0].starts_with("irex print --lower-quant "),
        "{script}"
    );
    let ours = scratch().join("commands-int8-irex.vmfb");
    std::fs::rename(&vmfb, &ours).unwrap();
    shell(lines[0]);
    printed_runs_match(&lines[1..], &vmfb, &ours);
    let compiled = scratch().join("commands-int8-compiled.vmfb");
    let compile = [
        "compile",
        path(&mlir),
        "-o",
        path(&compiled),
        "--print-commands",
    ];
    let line = String::from_utf8(succeeds(&compile)).unwrap();
    let expected = lines[0].replace(path(&vmfb), path(&compiled));
    assert_eq!(
        line.trim_end(),
        expected,
        "`irex compile` prints the same pipeline"
    );
}
