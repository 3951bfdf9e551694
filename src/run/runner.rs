//! The seam between what runs a model (embedding, logits, generation) and
//! how a module is executed: a [`Runner`] calls a function on host arrays
//! or on values an earlier call returned (a KV cache, say), and reads
//! values back to the host. [`ToolRunner`] does it with IREE's
//! `iree-run-module`, one process per call, values as `.npy` files in a
//! scratch folder: the route for devices the linked runtime lacks, and for
//! tests of interop with IREE's tools. CPU modules run in process
//! (`in_process.rs`).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::RunError;
use crate::formats::npy::NpyArray;
use crate::iree::IreeError;
use crate::iree::tools::run_module_with_files;

/// An argument of a call: an array from the host, or a value a previous
/// call returned (which stays where the runner keeps it).
pub enum Arg<'a, V> {
    /// Host data.
    Host(NpyArray),
    /// A result of an earlier call.
    Value(&'a V),
}

/// Executes the functions of one compiled module.
pub trait Runner {
    /// A result of a call, kept by the runner until read or dropped.
    type Value;

    /// Calls `function` with `args`; it returns `results` values.
    fn call(
        &mut self,
        function: &str,
        args: &[Arg<'_, Self::Value>],
        results: usize,
    ) -> Result<Vec<Self::Value>, RunError>;

    /// Copies a value to the host.
    fn read(&mut self, value: &Self::Value) -> Result<NpyArray, RunError>;

    /// Copies a result of `function` to the host as f32 values, refusing
    /// one of another element type.
    fn read_f32(&mut self, value: &Self::Value, function: &str) -> Result<Vec<f32>, RunError> {
        let array = self.read(value)?;
        array.to_f32().ok_or_else(|| RunError::UnexpectedResult {
            function: function.to_string(),
            message: format!("element type {}, expected f32", array.element),
        })
    }
}

/// A module, its parameter archives and the device to run it on.
#[derive(Clone, Debug)]
pub struct ModuleFiles {
    /// The `.vmfb`.
    pub module: PathBuf,
    /// Parameter archives as (scope, path).
    pub parameters: Vec<(String, PathBuf)>,
    /// The runtime device (`local-task`, `cuda`, ...).
    pub device: String,
}

/// Runs calls through `iree-run-module`.
pub struct ToolRunner {
    files: ModuleFiles,
    scratch: tempfile::TempDir,
    next: usize,
}

/// A result file of a [`ToolRunner`] call, removed when dropped.
pub struct ToolValue(PathBuf);

impl Drop for ToolValue {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl ToolRunner {
    /// A runner for `files`, with a fresh scratch folder.
    pub fn new(files: ModuleFiles) -> Result<Self, RunError> {
        let scratch = tempfile::tempdir().map_err(|source| RunError::Runtime {
            function: "(scratch folder)".into(),
            source: IreeError::Io {
                what: "creating a scratch folder in",
                path: std::env::temp_dir().display().to_string(),
                source,
            },
        })?;
        Ok(Self {
            files,
            scratch,
            next: 0,
        })
    }

    fn fresh_path(&mut self) -> PathBuf {
        self.next += 1;
        self.scratch.path().join(format!("value{}.npy", self.next))
    }

    /// The `--input=` of `arg`: its file, written first for host data
    /// (and then a [`ToolValue`], so that it goes when the call is over).
    fn input(
        &mut self,
        arg: &Arg<'_, ToolValue>,
    ) -> Result<(OsString, Option<ToolValue>), IreeError> {
        match arg {
            Arg::Value(value) => Ok((at_file(&value.0), None)),
            Arg::Host(array) => {
                let written = ToolValue(self.fresh_path());
                array.write(&written.0)?;
                Ok((at_file(&written.0), Some(written)))
            }
        }
    }
}

fn at_file(path: &Path) -> OsString {
    let mut argument = OsString::from("@");
    argument.push(path);
    argument
}

impl Runner for ToolRunner {
    type Value = ToolValue;

    fn call(
        &mut self,
        function: &str,
        args: &[Arg<'_, ToolValue>],
        results: usize,
    ) -> Result<Vec<ToolValue>, RunError> {
        let failed = |source| RunError::Runtime {
            function: function.to_string(),
            source,
        };
        let (inputs, _written): (Vec<OsString>, Vec<Option<ToolValue>>) = args
            .iter()
            .map(|arg| self.input(arg))
            .collect::<Result<Vec<_>, _>>()
            .map_err(failed)?
            .into_iter()
            .unzip();
        let outputs: Vec<ToolValue> = (0..results).map(|_| ToolValue(self.fresh_path())).collect();
        let paths: Vec<PathBuf> = outputs.iter().map(|value| value.0.clone()).collect();
        let files = &self.files;
        run_module_with_files(
            &files.module,
            function,
            &inputs,
            &paths,
            &files.parameters,
            &files.device,
        )
        .map_err(failed)?;
        Ok(outputs)
    }

    fn read(&mut self, value: &ToolValue) -> Result<NpyArray, RunError> {
        NpyArray::read(&value.0).map_err(|error| RunError::Runtime {
            function: "(reading a result)".into(),
            source: error.into(),
        })
    }
}
