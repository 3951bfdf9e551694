//! The tutorial staircase, run: each stage builds its example graph,
//! verifies it, writes `DIR/model.{mlir,mlirbc,irpa,vmfb}`, compiles
//! in-process and runs the module with IREE's runtime (the `stageN`
//! examples).

use std::path::{Path, PathBuf};

use super::in_process::{ModuleRunner, RunOptions};
use super::runner::{Arg, ModuleFiles, Runner};
use crate::Result;
use crate::export::{
    ArtifactSelection, Artifacts, DEFAULT_SCOPE, ExportOptions, Silent, build_module,
    write_artifacts,
};
use crate::iree::CompileOptions;
pub use crate::models::tutorial::Stage;

/// What running a stage produced.
#[derive(Clone, Debug, PartialEq)]
pub struct StageReport {
    /// The files written.
    pub artifacts: Artifacts,
    /// The input the module ran on.
    pub input: Vec<f32>,
    /// What `iree-run-module` returned.
    pub output: Vec<f32>,
}

/// Builds, verifies, writes, compiles and runs a stage into `folder`.
pub fn run_stage(stage: Stage, folder: &Path) -> Result<StageReport> {
    let options = CompileOptions::default();
    let session = options.session()?;
    let converted = build_module(
        &stage,
        session.context()?,
        &ExportOptions::default(),
        &mut Silent,
    )?;
    let selection = ArtifactSelection::default();
    let artifacts = write_artifacts(
        &session,
        &converted,
        folder,
        "model",
        selection,
        &mut Silent,
    )?;
    let input = stage.example.sample_input();
    let files = ModuleFiles {
        module: artifacts
            .vmfb
            .clone()
            .expect("the default selection compiles"),
        parameters: artifacts
            .irpa
            .iter()
            .map(|path| (DEFAULT_SCOPE.to_string(), path.clone()))
            .collect(),
        device: options.runtime_device().into(),
    };
    let mut runner = ModuleRunner::load(files, &RunOptions::default())?;
    let outputs = runner.call("main", &[Arg::Host(input.clone())], 1)?;
    let output = runner.read_f32(&outputs[0], "main")?;
    Ok(StageReport {
        artifacts,
        input: input.to_f32().unwrap_or_default(),
        output,
    })
}

/// The body of the `stageN` examples: `--out DIR` (default `out/stageN`),
/// run the stage, print what was written and what the module returned.
pub fn example_main(number: u8) -> std::process::ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let folder = match arguments.as_slice() {
        [] => PathBuf::from(format!("out/stage{number}")),
        [flag, folder] if flag == "--out" => PathBuf::from(folder),
        _ => {
            eprintln!("usage: stage{number} [--out DIR]");
            return std::process::ExitCode::from(2);
        }
    };
    let stage = Stage::new(number).expect("examples exist for stages 1 to 3");
    match run_stage(stage, &folder) {
        Ok(report) => {
            let artifacts = &report.artifacts;
            for path in [
                &artifacts.text,
                &artifacts.bytecode,
                &artifacts.irpa,
                &artifacts.vmfb,
            ]
            .into_iter()
            .flatten()
            {
                println!("wrote {}", path.display());
            }
            println!("input  {}", format_values(&report.input));
            println!("output {}", format_values(&report.output));
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("stage{number}: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Formats values the way people read them: `5.5 10`.
pub fn format_values(values: &[f32]) -> String {
    values
        .iter()
        .map(f32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}
