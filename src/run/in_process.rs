//! Runs a module inside irex, through IREE's runtime linked in
//! ([`crate::iree::runtime`]): the module and its parameters load once,
//! results (the KV caches) stay on the device between calls. CPU modules
//! run this way; a module for another device (`cuda`, ...) runs through
//! `iree-run-module`, whose wheel carries those drivers
//! ([`ModuleRunner`] chooses).

use super::RunError;
use super::runner::{Arg, ModuleFiles, Runner, ToolRunner, ToolValue};
use crate::formats::npy::NpyArray;
use crate::iree::runtime::{BufferView, Session, SessionOptions};

/// How to run a module.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// CPU threads; `None` takes every CPU this process may use.
    pub threads: Option<usize>,
}

/// The devices the linked runtime drives.
const IN_PROCESS_DEVICES: &[&str] = &["local-task", "local-sync"];

/// Runs calls through the runtime linked into irex.
pub struct RuntimeRunner {
    session: Session,
}

impl RuntimeRunner {
    /// Loads `files`' module and parameters.
    pub fn load(files: &ModuleFiles, options: &RunOptions) -> Result<Self, RunError> {
        let session_options = SessionOptions {
            threads: options.threads,
        };
        let session = Session::load(&files.module, &files.parameters, &session_options)
            .map_err(|source| RunError::Load { source })?;
        Ok(Self { session })
    }
}

impl Runner for RuntimeRunner {
    type Value = BufferView;

    fn call(
        &mut self,
        function: &str,
        args: &[Arg<'_, BufferView>],
        results: usize,
    ) -> Result<Vec<BufferView>, RunError> {
        let failed = |source| RunError::Runtime {
            function: function.to_string(),
            source,
        };
        let uploaded: Vec<BufferView> = args
            .iter()
            .filter_map(|arg| match arg {
                Arg::Host(array) => Some(self.session.upload(array)),
                Arg::Value(_) => None,
            })
            .collect::<Result<_, _>>()
            .map_err(failed)?;
        let mut host = uploaded.iter();
        let inputs: Vec<&BufferView> = args
            .iter()
            .map(|arg| match arg {
                Arg::Host(_) => host.next().expect("one upload per host argument"),
                Arg::Value(value) => *value,
            })
            .collect();
        let outputs = self.session.call(function, &inputs).map_err(failed)?;
        if outputs.len() != results {
            return Err(RunError::UnexpectedResult {
                function: function.to_string(),
                message: format!("{} results, expected {results}", outputs.len()),
            });
        }
        Ok(outputs)
    }

    fn read(&mut self, value: &BufferView) -> Result<NpyArray, RunError> {
        self.session
            .download(value)
            .map_err(|source| RunError::Runtime {
                function: "(reading a result)".into(),
                source,
            })
    }
}

/// The runner for a module: in process for the CPU, else the tool.
pub enum ModuleRunner {
    /// The linked runtime.
    InProcess(RuntimeRunner),
    /// `iree-run-module`, for devices the linked runtime lacks.
    Tool(ToolRunner),
}

/// A result kept by a [`ModuleRunner`].
pub enum ModuleValue {
    /// On the device, in process.
    InProcess(BufferView),
    /// In a scratch `.npy` file.
    Tool(ToolValue),
}

impl ModuleRunner {
    /// Loads `files` in process when their device is a CPU one.
    pub fn load(files: ModuleFiles, options: &RunOptions) -> Result<Self, RunError> {
        if IN_PROCESS_DEVICES.contains(&files.device.as_str()) {
            RuntimeRunner::load(&files, options).map(Self::InProcess)
        } else {
            ToolRunner::new(files).map(Self::Tool)
        }
    }
}

impl Runner for ModuleRunner {
    type Value = ModuleValue;

    fn call(
        &mut self,
        function: &str,
        args: &[Arg<'_, ModuleValue>],
        results: usize,
    ) -> Result<Vec<ModuleValue>, RunError> {
        match self {
            Self::InProcess(runner) => forward(
                runner,
                function,
                args,
                results,
                |value| match value {
                    ModuleValue::InProcess(value) => Some(value),
                    ModuleValue::Tool(_) => None,
                },
                ModuleValue::InProcess,
            ),
            Self::Tool(runner) => forward(
                runner,
                function,
                args,
                results,
                |value| match value {
                    ModuleValue::Tool(value) => Some(value),
                    ModuleValue::InProcess(_) => None,
                },
                ModuleValue::Tool,
            ),
        }
    }

    fn read(&mut self, value: &ModuleValue) -> Result<NpyArray, RunError> {
        match (self, value) {
            (Self::InProcess(runner), ModuleValue::InProcess(value)) => runner.read(value),
            (Self::Tool(runner), ModuleValue::Tool(value)) => runner.read(value),
            _ => Err(foreign("(reading a result)")),
        }
    }
}

/// Calls `runner` with `args`, whose values must be its own (`own` picks
/// them out), and wraps its results.
fn forward<'a, R: Runner>(
    runner: &mut R,
    function: &str,
    args: &'a [Arg<'a, ModuleValue>],
    results: usize,
    own: fn(&'a ModuleValue) -> Option<&'a R::Value>,
    wrap: fn(R::Value) -> ModuleValue,
) -> Result<Vec<ModuleValue>, RunError> {
    let args = args
        .iter()
        .map(|arg| match arg {
            Arg::Host(array) => Ok(Arg::Host(array.clone())),
            Arg::Value(value) => own(value).map(Arg::Value).ok_or_else(|| foreign(function)),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(runner
        .call(function, &args, results)?
        .into_iter()
        .map(wrap)
        .collect())
}

/// A value passed to a runner that did not make it.
fn foreign(function: &str) -> RunError {
    RunError::UnexpectedResult {
        function: function.to_string(),
        message: "a value another runner made was passed to it".into(),
    }
}
