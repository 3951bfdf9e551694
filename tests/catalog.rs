//! The hostile-input catalog against the built `irex` command: every
//! command that reads a file (inspect, pack, export, print, compile, verify,
//! logits) over every bad file and folder below ends within a deadline, by
//! itself (no signal, no abort), and never with a Rust panic message:
//! either it succeeds (an empty file is a valid empty MLIR module to
//! `print`), or it exits with a code from 1 to 125 and one `irex:` line;
//! and within 64 MB of the memory the same command takes on a small valid
//! file (sparse files declaring gigabytes of entries included), or for the
//! header floods within 64 MB of the file's size. `scripts/test` runs it on
//! the debug build (overflow-checked) and on the release build (what users
//! run).

mod common;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::tiny_llama::TinyLlama;

const IREX: &str = env!("CARGO_BIN_EXE_irex");

/// Writes the catalog into `folder`; returns (name, path) of each case.
fn catalog(folder: &Path) -> Vec<(String, PathBuf)> {
    let mut cases = Vec::new();
    let mut file = |name: &str, bytes: &[u8]| {
        let path = folder.join(name);
        std::fs::write(&path, bytes).unwrap();
        cases.push((name.to_string(), path));
    };
    let tiny = TinyLlama::new().bytes();
    file("empty.gguf", b"");
    file("magic-only.gguf", b"GGUF");
    file("half.gguf", &tiny[..tiny.len() / 2]);
    file("header-cut.gguf", &tiny[..300]);
    file(
        "no-dims-embedding.gguf",
        &TinyLlama::new().reshape("token_embd.weight", &[]).bytes(),
    );
    let mut flips = 0x2545_F491_4F6C_DD1Du64;
    for index in 0..12 {
        let mut bytes = tiny.clone();
        flips ^= flips << 13;
        flips ^= flips >> 7;
        flips ^= flips << 17;
        let at = (flips % 600) as usize;
        bytes[at] ^= 1 << (flips % 8);
        file(&format!("flipped-{index}.gguf"), &bytes);
    }
    file("empty.safetensors", b"");
    file("short-header.safetensors", &100u64.to_le_bytes());
    file(
        "not-json.safetensors",
        &[&4u64.to_le_bytes()[..], b"{{{{"].concat(),
    );
    file(
        "garbage.mlirbc",
        b"ML\xefR\x00\x01\x02garbage that is not bytecode",
    );
    file("garbage.mlir", b"func.func @f( {");
    // Found by the bytecode fuzz target: MLIR's reader aborts on the first
    // and spins on the second (print and compile end it after 20 s).
    file(
        "mlir-reader-abort.mlirbc",
        include_bytes!("fixtures/mlir-reader-abort.mlirbc"),
    );
    file(
        "mlir-reader-spin.mlirbc",
        include_bytes!("fixtures/mlir-reader-spin.mlirbc"),
    );
    file("truncated.irpa", b"IRPA\x00\x00\x00\x00");
    // Sparse files whose declared counts the bytes left seem to allow.
    let sparse = folder.join("sparse-array.gguf");
    let mut header = b"GGUF".to_vec();
    header.extend(3u32.to_le_bytes());
    header.extend(0u64.to_le_bytes()); // tensors
    header.extend(1u64.to_le_bytes()); // one key
    header.extend(1u64.to_le_bytes());
    header.extend(b"k");
    header.extend(9u32.to_le_bytes()); // array
    header.extend(0u32.to_le_bytes()); // of u8
    header.extend((1u64 << 30).to_le_bytes());
    std::fs::write(&sparse, &header).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&sparse)
        .unwrap()
        .set_len(1 << 31)
        .unwrap();
    cases.push(("sparse-array.gguf".into(), sparse));
    for (name, tensors, keys) in [
        ("sparse-kv-count.gguf", 0u64, 1u64 << 40),
        ("sparse-tensor-count.gguf", 1 << 40, 0),
    ] {
        let path = folder.join(name);
        let mut header = b"GGUF".to_vec();
        header.extend(3u32.to_le_bytes());
        header.extend(tensors.to_le_bytes());
        header.extend(keys.to_le_bytes());
        std::fs::write(&path, &header).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_len(16 << 30).unwrap();
        cases.push((name.into(), path));
    }
    let fifo = folder.join("fifo.gguf");
    let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path that outlives the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    cases.push(("fifo.gguf".into(), fifo));
    let loop_link = folder.join("loop.gguf");
    std::os::unix::fs::symlink(&loop_link, &loop_link).unwrap();
    cases.push(("symlink-loop.gguf".into(), loop_link));
    let empty_folder = folder.join("empty-folder");
    std::fs::create_dir(&empty_folder).unwrap();
    cases.push(("empty-folder".into(), empty_folder));
    cases.push(("missing".into(), folder.join("missing.gguf")));
    cases.extend(hostile_exports(folder));
    cases.extend(floods(folder));
    cases
}

/// Headers of ~24 MB flooded with the smallest entries each format allows:
/// held to the issue's bound of the input's size + 64 MB (a table of
/// `TensorSpec`s cost 4 to 10 times the bytes). They are written entry by
/// entry: a child's peak memory counts the test's own at the fork.
fn floods(folder: &Path) -> Vec<(String, PathBuf)> {
    const BYTES: u64 = 24 << 20;
    let json_entry = |index: u64| {
        let comma = if index > 0 { "," } else { "" };
        format!(r#"{comma}"t{index:x}":{{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#)
    };
    let json_count = (0..)
        .scan(1u64, |length, index| {
            *length += json_entry(index).len() as u64;
            Some(*length)
        })
        .take_while(|&length| length < BYTES)
        .count() as u64;
    let json_length: u64 = 2
        + (0..json_count)
            .map(|i| json_entry(i).len() as u64)
            .sum::<u64>();
    let name = |prefix: &str, index: u64| {
        let name = format!("{prefix}{index:x}");
        [&(name.len() as u64).to_le_bytes()[..], name.as_bytes()].concat()
    };
    let gguf_header = |tensors: u64, keys: u64| {
        let mut bytes = b"GGUF".to_vec();
        bytes.extend(3u32.to_le_bytes());
        bytes.extend(tensors.to_le_bytes());
        bytes.extend(keys.to_le_bytes());
        bytes
    };
    let (tensors, keys) = (BYTES / 36, BYTES / 19);
    let floods = [
        Flood {
            name: "flood-tensors.safetensors",
            head: [&json_length.to_le_bytes()[..], b"{"].concat(),
            count: json_count,
            entry: Box::new(|index| json_entry(index).into_bytes()),
            tail: b"}",
        },
        Flood {
            name: "flood-tensors.gguf",
            head: gguf_header(tensors, 0),
            count: tensors,
            // name, one dimension of 0, type F32, offset 0: no data.
            entry: Box::new(move |index| {
                [name("t", index), 1u32.to_le_bytes().to_vec(), vec![0; 20]].concat()
            }),
            tail: &[0; 32],
        },
        Flood {
            name: "flood-keys.gguf",
            head: gguf_header(0, keys),
            count: keys,
            entry: Box::new(move |index| [name("k", index), vec![0; 4], vec![1]].concat()),
            tail: &[0; 32],
        },
    ];
    floods
        .into_iter()
        .map(|flood| flood.write(folder))
        .collect()
}

/// A flood file: a head, `count` entries made one at a time, a tail.
struct Flood<'e> {
    name: &'static str,
    head: Vec<u8>,
    count: u64,
    entry: Box<dyn Fn(u64) -> Vec<u8> + 'e>,
    tail: &'static [u8],
}

impl Flood<'_> {
    fn write(self, folder: &Path) -> (String, PathBuf) {
        let path = folder.join(self.name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        out.write_all(&self.head).unwrap();
        for index in 0..self.count {
            out.write_all(&(self.entry)(index)).unwrap();
        }
        out.write_all(self.tail).unwrap();
        out.flush().unwrap();
        (self.name.to_string(), path)
    }
}

/// Export folders with a hostile `irex.json` (or none).
fn hostile_exports(folder: &Path) -> Vec<(String, PathBuf)> {
    let manifests = [
        ("no-manifest", None),
        ("manifest-not-json", Some("{".to_string())),
        (
            "manifest-huge-batch",
            Some(r#"{"model_kind":"llama-causal-lm","batch":18446744073709551615}"#.into()),
        ),
        (
            "manifest-zero-length",
            Some(r#"{"model_kind":"llama-causal-lm","sequence_length":0}"#.into()),
        ),
    ];
    manifests
        .into_iter()
        .map(|(name, manifest)| {
            let path = folder.join(name);
            std::fs::create_dir(&path).unwrap();
            std::fs::write(path.join("model.vmfb"), b"not a module").unwrap();
            if let Some(text) = manifest {
                std::fs::write(path.join("irex.json"), text).unwrap();
            }
            (name.to_string(), path)
        })
        .collect()
}

/// How one run ended.
struct Ended {
    status: std::process::ExitStatus,
    stderr: String,
    /// Peak resident memory, in bytes.
    peak: u64,
}

/// Runs irex; fails the test past 60 s instead of hanging.
fn run(args: &[&str], folder: &Path) -> Ended {
    let stderr_path = folder.join("stderr.txt");
    let child = Command::new(IREX)
        .args(args)
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id() as i32;
    let started = Instant::now();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: wait4 on our own child, with valid out-pointers.
        let reaped = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if reaped == pid {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            // SAFETY: kill on our own child's pid, not yet reaped.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("{args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::mem::forget(child);
    Ended {
        status: std::process::ExitStatus::from_raw(status),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
        peak: usage.ru_maxrss as u64 * 1024,
    }
}

/// An `irex:` line that is not export progress ("irex: exporting ...",
/// "irex: reading the model: 0.00 s").
fn is_error_line(line: &str) -> bool {
    let progress = line.starts_with("irex: exporting ")
        || line.rsplit_once(": ").is_some_and(|(_, time)| {
            time.strip_suffix(" s")
                .is_some_and(|n| n.parse::<f64>().is_ok())
        });
    line.starts_with("irex: ") && !progress
}

/// The peak memory of `command` on a small valid file, the peer every
/// hostile case is held to (plus 64 MB): what the binary costs to start.
fn baseline(command: &str, folder: &Path) -> u64 {
    use std::collections::HashMap;
    use std::sync::Mutex;
    static PEAKS: Mutex<Option<HashMap<String, u64>>> = Mutex::new(None);
    let mut peaks = PEAKS.lock().unwrap();
    let peaks = peaks.get_or_insert_with(HashMap::new);
    *peaks.entry(command.to_string()).or_insert_with(|| {
        let tiny = folder.join("baseline.gguf");
        std::fs::write(&tiny, TinyLlama::new().bytes()).unwrap();
        let tiny = tiny.to_str().unwrap();
        run(
            &[command, tiny, "--no-compile", "-o", "baseline-out"],
            folder,
        )
        .peak
        .max(run(&[command, tiny], folder).peak)
    })
}

#[test]
fn every_command_refuses_every_hostile_input_with_one_typed_line() {
    let scratch = tempfile::tempdir().unwrap();
    let folder = scratch.path();
    let out = folder.join("out");
    let (mut checked, mut refused) = (0, 0);
    for (name, case) in catalog(folder) {
        let case = case.to_str().unwrap();
        let commands: [&[&str]; 7] = [
            &["inspect", case],
            &["pack", case, "-o", "out.irpa"],
            &["export", case, "--no-compile", "-o", out.to_str().unwrap()],
            &["print", case],
            &["compile", case, "-o", "out.vmfb"],
            &["verify", case],
            &["logits", case, "--tokens", "1,2"],
        ];
        for args in commands {
            let Ended {
                status,
                stderr,
                peak,
            } = run(args, folder);
            let budget = if name.starts_with("flood-") {
                std::fs::metadata(case).unwrap().len() + (64 << 20)
            } else {
                baseline(args[0], folder) + (64 << 20)
            };
            let what = format!("{name}: irex {}", args[0]);
            assert!(peak <= budget, "{what} peaked at {} MB", peak >> 20);
            assert_eq!(status.signal(), None, "{what} died of a signal: {stderr}");
            let code = status.code().unwrap();
            assert!((0..=125).contains(&code), "{what} exited {code}: {stderr}");
            assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
            if name.starts_with("flood-") && args[0] == "inspect" {
                assert_eq!(code, 0, "{what} lists the flood: {stderr}");
            }
            if code != 0 {
                let errors = stderr.lines().filter(|l| is_error_line(l)).count();
                assert_eq!(errors, 1, "{what}: one error line, got: {stderr}");
                // Its causes may follow on indented continuation lines.
                let last = stderr.lines().rfind(|l| !l.starts_with(' '));
                let last = last.unwrap_or_default();
                assert!(
                    is_error_line(last),
                    "{what}: the error comes last: {stderr}"
                );
                refused += 1;
            }
            checked += 1;
        }
    }
    assert!(checked >= 7 * 30, "{checked} runs");
    assert!(
        refused * 10 >= checked * 9,
        "only {refused} of {checked} refused"
    );
}
