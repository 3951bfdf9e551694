//! The IREE command lines that do what an export did with IREE's own tools
//! (`irex export --print-commands`): one `iree-compile` of the written MLIR
//! with the session's flags, and one `iree-run-module` call per function,
//! with zero-filled inputs of the function's shapes. A user can paste them,
//! change the inputs, or hand them to someone who never ran irex.

use std::path::Path;

use crate::formats::manifest::{FunctionSignature, Manifest};

/// One command: the program, then its arguments, unquoted.
pub type CommandLine = Vec<String>;

/// `iree-compile INPUT FLAGS... -o OUTPUT`, with `flags` as a session was
/// given them ([`crate::iree::CompileOptions::portable_flags`]).
pub fn iree_compile_line(input: &Path, flags: &[String], output: &Path) -> CommandLine {
    let mut line = vec!["iree-compile".to_string(), path(input)];
    line.extend(flags.iter().cloned());
    line.extend(["-o".to_string(), path(output)]);
    line
}

/// `iree-run-module` calling `function` of `module` on `device`, with the
/// parameter archives as (scope, path) and every input zero-filled.
pub fn iree_run_module_line(
    module: &Path,
    function: &FunctionSignature,
    parameters: &[(String, std::path::PathBuf)],
    device: &str,
) -> CommandLine {
    let mut line = vec![
        "iree-run-module".to_string(),
        format!("--device={device}"),
        format!("--module={}", path(module)),
    ];
    for (scope, archive) in parameters {
        line.push(format!("--parameters={scope}={}", path(archive)));
    }
    line.push(format!("--function={}", function.name));
    for input in &function.inputs {
        line.push(format!("--input={}", zero_value(&input.r#type)));
    }
    line
}

/// The commands that redo the export of the folder `folder` (described by
/// `manifest`) with IREE's tools: compile its MLIR to its `.vmfb` path
/// (whether or not the export compiled), then call each function.
/// Empty when the export wrote no MLIR.
pub fn folder_commands(manifest: &Manifest, folder: &Path) -> Vec<CommandLine> {
    let Some(mlir) = manifest
        .mlir_bytecode
        .as_ref()
        .or(manifest.mlir_text.as_ref())
    else {
        return Vec::new();
    };
    let module = folder.join(manifest.module.as_deref().unwrap_or("model.vmfb"));
    let mut lines = vec![iree_compile_line(
        &folder.join(mlir),
        &manifest.compile_flags,
        &module,
    )];
    let parameters = manifest.parameter_archives(folder);
    lines.extend(
        manifest
            .functions
            .iter()
            .map(|function| iree_run_module_line(&module, function, &parameters, &manifest.device)),
    );
    lines
}

/// `lines` as shell text, one command a line, each word quoted where the
/// shell needs it. With `lower_quant_first`, the `iree-compile` (the first
/// line) reads the module from `irex print --lower-quant`: IREE 3.13 cannot
/// legalize per-axis `stablehlo.uniform_dequantize`, so irex lowers a
/// module's `!quant.uniform` weights to integer arithmetic before IREE
/// compiles it, and so must the equivalent command.
pub fn shell_script(lines: &[CommandLine], lower_quant_first: bool) -> String {
    let mut script = String::new();
    for (index, line) in lines.iter().enumerate() {
        let mut words = line.clone();
        if index == 0 && lower_quant_first && words.len() > 1 {
            let input = std::mem::replace(&mut words[1], "-".into());
            script.push_str(&quote(&["irex", "print", "--lower-quant", &input]));
            script.push_str(" | ");
        }
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        script.push_str(&quote(&words));
        script.push('\n');
    }
    script
}

fn quote(words: &[&str]) -> String {
    // A word with a NUL cannot be quoted for a shell; none of ours has one
    // (paths come from the OS, which refuses them).
    shlex::try_join(words.iter().copied()).unwrap_or_else(|_| words.join(" "))
}

/// An `iree-run-module --input` value of `mlir_type` filled with zeros:
/// `tensor<1x16xi32>` is `1x16xi32=0`, `tensor<i32>` is `i32=0`.
fn zero_value(mlir_type: &str) -> String {
    let shape = mlir_type
        .strip_prefix("tensor<")
        .and_then(|rest| rest.strip_suffix('>'))
        .unwrap_or(mlir_type);
    format!("{shape}=0")
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_values_are_iree_run_module_shapes() {
        assert_eq!(zero_value("tensor<1x16xi32>"), "1x16xi32=0");
        assert_eq!(zero_value("tensor<i64>"), "i64=0");
        assert_eq!(zero_value("tensor<30x3x16x64xf32>"), "30x3x16x64xf32=0");
    }

    #[test]
    fn scripts_quote_and_lower_first() {
        let lines = vec![
            iree_compile_line(
                Path::new("my model.mlirbc"),
                &["--a=1".into()],
                Path::new("m.vmfb"),
            ),
            vec!["iree-run-module".into(), "--module=m.vmfb".into()],
        ];
        assert_eq!(
            shell_script(&lines, false),
            "iree-compile 'my model.mlirbc' '--a=1' -o m.vmfb\niree-run-module '--module=m.vmfb'\n"
        );
        assert_eq!(
            shell_script(&lines[..1], true),
            "irex print --lower-quant 'my model.mlirbc' | iree-compile - '--a=1' -o m.vmfb\n"
        );
    }
}
