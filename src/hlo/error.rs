//! Errors of the converter.

use crate::diagnostic::Diagnostic;

/// An error building, verifying, parsing or emitting a module.
#[derive(Debug, thiserror::Error)]
pub enum HloError {
    /// The module failed the MLIR/StableHLO/IREE verifiers.
    #[error("module failed verification{}", list(.diagnostics))]
    Verification {
        /// What the verifiers reported, each naming the op and its location.
        diagnostics: Vec<Diagnostic>,
    },
    /// An op's operands do not fit together (found before building it).
    #[error("{op} at loc(\"{location}\"): {message}")]
    Shape {
        /// The op being built.
        op: &'static str,
        /// The location name the op would have carried.
        location: String,
        /// What does not fit.
        message: String,
    },
    /// A function or global symbol is defined twice.
    #[error("symbol `{symbol}` is already defined in the module")]
    DuplicateSymbol {
        /// The symbol.
        symbol: String,
    },
    /// MLIR refused to create an op or attribute.
    #[error("cannot build {what} at loc(\"{location}\"){}", list(.diagnostics))]
    Build {
        /// The op or attribute.
        what: String,
        /// The location name.
        location: String,
        /// What MLIR reported.
        diagnostics: Vec<Diagnostic>,
    },
    /// A weight's bytes do not match its spec.
    #[error("weight `{key}`: {message}")]
    Weight {
        /// The parameter key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A module holds quantized values the lowering cannot turn into arithmetic.
    #[error("{op} at {location}: {message}")]
    Lowering {
        /// The op or type.
        op: String,
        /// Where it is (an MLIR location, or the type).
        location: String,
        /// What cannot be lowered.
        message: String,
    },
    /// MLIR could not parse a module.
    #[error("cannot parse `{source_name}`{}", list(.diagnostics))]
    Parse {
        /// File name or description of the input.
        source_name: String,
        /// What the parser reported.
        diagnostics: Vec<Diagnostic>,
    },
    /// Writing an output failed.
    #[error("writing `{path}`: {source}")]
    Io {
        /// The output path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

fn list(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|diagnostic| format!("\n  {diagnostic}"))
        .collect()
}

impl HloError {
    /// Says MLIR refused to create `what` at `location`, with no diagnostic.
    pub(crate) fn build(what: &str, location: &str) -> Self {
        Self::Build {
            what: what.to_string(),
            location: location.to_string(),
            diagnostics: Vec::new(),
        }
    }

    /// Returns the verifier diagnostics, when this is a verification error.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Self::Verification { diagnostics }
            | Self::Build { diagnostics, .. }
            | Self::Parse { diagnostics, .. } => diagnostics,
            _ => &[],
        }
    }
}
