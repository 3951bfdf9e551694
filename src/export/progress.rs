//! The steps of an export, reported as they begin and end, so that a
//! 90-second export does not sit silent: the CLI shows them on stderr, a
//! library caller may ignore them ([`Silent`]).

use std::fmt;

/// One step of an export.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Mapping and checking the model file(s).
    Reading,
    /// Building the graph in memory.
    Building,
    /// Running MLIR's, StableHLO's and IREE's verifiers.
    Verifying,
    /// Writing MLIR text or bytecode.
    WritingMlir,
    /// Streaming the external weights into the `.irpa`.
    WritingParameters,
    /// IREE's compiler, in-process.
    Compiling,
}

impl fmt::Display for Step {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Reading => "reading the model",
            Self::Building => "building the module",
            Self::Verifying => "verifying",
            Self::WritingMlir => "writing MLIR",
            Self::WritingParameters => "writing parameters",
            Self::Compiling => "compiling",
        })
    }
}

/// Where an export reports its steps.
pub trait Progress {
    /// `step` has begun.
    fn begin(&mut self, step: Step);
    /// `step` has ended (successfully).
    fn end(&mut self, step: Step);
}

/// Reports nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn begin(&mut self, _step: Step) {}
    fn end(&mut self, _step: Step) {}
}
