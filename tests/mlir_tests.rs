//! Runs every `mlir-tests/**/*.mlir` file as its own test.
//!
//! Files are lit-style: `// RUN:` lines (a shell pipeline, `\` continues a
//! line) whose last stage may be `FileCheck [--check-prefix=P] %s`, followed
//! by LLVM FileCheck directives (`CHECK`, `CHECK-NEXT`, `CHECK-SAME`,
//! `CHECK-NOT`, `CHECK-DAG`, `CHECK-LABEL`). The directives are mapped onto
//! the `filecheck` crate; the same files also run unchanged under LLVM's `lit`
//! and `FileCheck` (see `mlir-tests/lit.cfg.py`). A file with `// XFAIL: *`
//! passes only if it fails: that is how the suite proves a wrong CHECK fails.
//!
//! Substitutions: `%s` the test file, `%S` its folder, `%t` a scratch path
//! unique to the file, `%python` the Python of `.venv` (with `gguf`, for
//! the scripts that make test models). `PATH` starts with the folder of the `irex` binary
//! under test and the toolchain folder (`FileCheck`, `not`, IREE's tools).

use std::path::{Path, PathBuf};
use std::process::Command;

use filecheck::{CheckerBuilder, NO_VARIABLES};
use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let arguments = Arguments::from_args();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("mlir-tests");
    let mut files = Vec::new();
    collect(&root, &mut files);
    files.sort();
    let mut trials: Vec<Trial> = files
        .into_iter()
        .map(|file| {
            let name = file.strip_prefix(&root).unwrap().display().to_string();
            Trial::test(name, move || run_file(&file))
        })
        .collect();
    trials.push(Trial::test("runner::wrong_check_fails", wrong_check_fails));
    trials.push(Trial::test(
        "runner::patterns_translate",
        patterns_translate,
    ));
    libtest_mimic::run(&arguments, trials).exit();
}

fn collect(folder: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("mlir-tests exists") {
        let path = entry.unwrap().path();
        if path.is_dir() {
            // `Output/` folders are lit's scratch space, not tests.
            if !path.ends_with("Output") {
                collect(&path, files);
            }
        } else if path
            .extension()
            .is_some_and(|extension| extension == "mlir")
        {
            files.push(path);
        }
    }
}

/// One RUN pipeline: the shell part and, if it ends in FileCheck, the prefixes.
struct RunLine {
    shell: String,
    check_prefixes: Option<Vec<String>>,
}

fn run_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in text.lines() {
        let Some(command) = line.trim_start().strip_prefix("// RUN:") else {
            continue;
        };
        let command = command.trim();
        match command.strip_suffix('\\') {
            Some(head) => pending.push_str(head),
            None => {
                pending.push_str(command);
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

fn parse_run_line(line: &str) -> Result<RunLine, String> {
    let Some((shell, check)) = line
        .rsplit_once('|')
        .filter(|(_, tail)| tail.trim().starts_with("FileCheck"))
    else {
        return Ok(RunLine {
            shell: line.to_string(),
            check_prefixes: None,
        });
    };
    let mut prefixes = vec!["CHECK".to_string()];
    for word in check.split_whitespace().skip(1) {
        if let Some(list) = word
            .strip_prefix("--check-prefixes=")
            .or(word.strip_prefix("--check-prefix="))
        {
            prefixes = list.split(',').map(str::to_string).collect();
        } else if word != "%s" {
            return Err(format!("unsupported FileCheck option `{word}`"));
        }
    }
    Ok(RunLine {
        shell: shell.to_string(),
        check_prefixes: Some(prefixes),
    })
}

/// Translates an LLVM FileCheck pattern into the `filecheck` crate's syntax.
fn translate_pattern(pattern: &str) -> String {
    let mut out = String::from("$()");
    let mut rest = pattern.trim();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("{{")
            && let Some(end) = after.find("}}")
        {
            out.push_str(&format!("$(={})", &after[..end]));
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix("[[")
            && let Some(end) = after.find("]]")
        {
            match after[..end].split_once(':') {
                Some((name, regex)) => out.push_str(&format!("$({name}={regex})")),
                None => out.push_str(&format!("$({})", &after[..end])),
            }
            rest = &after[end + 2..];
        } else {
            let c = rest.chars().next().unwrap();
            if c == '$' {
                out.push_str("$$");
            } else if c == ' ' || c == '\t' {
                // LLVM FileCheck canonicalises runs of horizontal whitespace.
                out.push_str("$(=[ \\t]+)");
                rest = rest.trim_start_matches([' ', '\t']);
                continue;
            } else {
                out.push(c);
            }
            rest = &rest[c.len_utf8()..];
        }
    }
    out.push_str("$()");
    out
}

/// Returns the `filecheck` directives for the lines of `text` under `prefixes`.
fn directives(text: &str, prefixes: &[String]) -> Result<Vec<(usize, String)>, String> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let Some(comment) = line.trim_start().strip_prefix("//") else {
            continue;
        };
        let comment = comment.trim_start();
        for prefix in prefixes {
            let Some(rest) = comment.strip_prefix(prefix.as_str()) else {
                continue;
            };
            let Some((kind, pattern)) = rest.split_once(':') else {
                continue;
            };
            let directive = match kind {
                "" | "-LABEL" => "check",
                "-NEXT" => "nextln",
                "-SAME" => "sameln",
                "-NOT" => "not",
                "-DAG" => "unordered",
                _ if kind.starts_with('-') && !kind.contains(' ') => {
                    return Err(format!(
                        "line {}: unsupported directive `{prefix}{kind}`",
                        number + 1
                    ));
                }
                _ => continue,
            };
            found.push((
                number + 1,
                format!("{directive}: {}", translate_pattern(pattern)),
            ));
        }
    }
    Ok(found)
}

fn check_output(file: &Path, text: &str, prefixes: &[String], output: &str) -> Result<(), String> {
    let found = directives(text, prefixes)?;
    if found.is_empty() {
        return Err(format!(
            "no {} directives in {}",
            prefixes.join("/"),
            file.display()
        ));
    }
    let mut builder = CheckerBuilder::new();
    for (number, directive) in &found {
        builder
            .directive(directive)
            .map_err(|error| format!("line {number}: bad directive `{directive}`: {error}"))?;
    }
    let checker = builder.finish();
    let (passed, explanation) = checker
        .explain(output, NO_VARIABLES)
        .map_err(|error| error.to_string())?;
    if passed {
        Ok(())
    } else {
        Err(format!(
            "{} failed its checks:\n{explanation}\n--- output ---\n{output}",
            file.display()
        ))
    }
}

fn search_path() -> String {
    let irex = Path::new(env!("CARGO_BIN_EXE_irex"))
        .parent()
        .unwrap()
        .to_path_buf();
    let toolchain = std::env::var_os("IREX_TOOLCHAIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".irex-toolchain"));
    let mut folders = vec![irex, toolchain.join("bin")];
    if let Some(path) = std::env::var_os("PATH") {
        folders.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(folders)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn run_pipeline(file: &Path, scratch: &Path, line: &RunLine) -> Result<String, String> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    let shell = line
        .shell
        .replace("%python", &python.display().to_string())
        .replace("%s", &file.display().to_string())
        .replace("%S", &file.parent().unwrap().display().to_string())
        .replace("%t", &scratch.join("t").display().to_string());
    let output = Command::new("bash")
        .args(["-o", "pipefail", "-c", &shell])
        .env("PATH", search_path())
        .current_dir(scratch)
        .output()
        .map_err(|error| format!("cannot run bash: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "RUN `{shell}` failed ({}):\n{stderr}{stdout}",
            output.status
        ));
    }
    Ok(stdout)
}

fn run_file_checks(file: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|error| error.to_string())?;
    let lines = run_lines(&text);
    if lines.is_empty() {
        return Err(format!("{} has no RUN line", file.display()));
    }
    let scratch = tempfile::tempdir().map_err(|error| error.to_string())?;
    for line in lines {
        let line = parse_run_line(&line)?;
        let output = run_pipeline(file, scratch.path(), &line)?;
        if let Some(prefixes) = &line.check_prefixes {
            check_output(file, &text, prefixes, &output)?;
        }
    }
    Ok(())
}

fn run_file(file: &Path) -> Result<(), Failed> {
    let expect_failure = std::fs::read_to_string(file)
        .map(|text| text.lines().any(|line| line.trim() == "// XFAIL: *"))
        .unwrap_or(false);
    match (run_file_checks(file), expect_failure) {
        (Ok(()), false) => Ok(()),
        (Err(message), false) => Err(message.into()),
        (Err(_), true) => Ok(()),
        (Ok(()), true) => Err(format!("{} is XFAIL but passed", file.display()).into()),
    }
}

/// A CHECK for text that is not in the output must fail, and the matching
/// one must pass: the checker is not vacuous.
fn wrong_check_fails() -> Result<(), Failed> {
    let output = "module {\n  %0 = stablehlo.add %a, %b : tensor<2xf32>\n}\n";
    let prefixes = ["CHECK".to_string()];
    let right = "// CHECK: stablehlo.add\n// CHECK-SAME: tensor<2xf32>\n";
    check_output(Path::new("right"), right, &prefixes, output)?;
    for wrong in [
        "// CHECK: stablehlo.subtract\n",
        "// CHECK: tensor<2xf32>\n// CHECK-NEXT: stablehlo.add\n",
        "// CHECK-NOT: stablehlo.add\n",
        "// CHECK: stablehlo.add %a, [[X:%[a-z]+]]\n// CHECK: [[X]] = \n",
    ] {
        if check_output(Path::new("wrong"), wrong, &prefixes, output).is_ok() {
            return Err(format!("a wrong check passed:\n{wrong}").into());
        }
    }
    Ok(())
}

fn patterns_translate() -> Result<(), Failed> {
    let cases = [
        ("tensor<2xf32>", "$()tensor<2xf32>$()"),
        (
            "%{{[0-9]+}} = add",
            "$()%$(=[0-9]+)$(=[ \\t]+)=$(=[ \\t]+)add$()",
        ),
        (
            "[[W:%.*]] load  [[W]]",
            "$()$(W=%.*)$(=[ \\t]+)load$(=[ \\t]+)$(W)$()",
        ),
        ("cost $5", "$()cost$(=[ \\t]+)$$5$()"),
    ];
    for (llvm, expected) in cases {
        let translated = translate_pattern(llvm);
        if translated != expected {
            return Err(format!("`{llvm}` became `{translated}`, expected `{expected}`").into());
        }
    }
    Ok(())
}
