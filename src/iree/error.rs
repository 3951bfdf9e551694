//! Errors of the compiler API and the runtime tools, with the compiler's
//! diagnostics captured rather than printed.

use std::fmt;

/// How serious a compiler diagnostic is (`iree_compiler_diagnostic_severity_t`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// A note attached to another diagnostic.
    Note,
    /// A warning.
    Warning,
    /// An error.
    Error,
    /// An optimisation remark.
    Remark,
}

impl Severity {
    pub(super) fn from_raw(raw: i32) -> Self {
        match raw {
            0 => Self::Note,
            1 => Self::Warning,
            3 => Self::Remark,
            _ => Self::Error,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Note => "note",
            Self::Warning => "warning",
            Self::Error => "error",
            Self::Remark => "remark",
        })
    }
}

/// One diagnostic the compiler reported: severity, location and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// How serious it is.
    pub severity: Severity,
    /// The location the compiler attached (`loc("linear.matvec")`), when any.
    pub location: Option<String>,
    /// The message.
    pub message: String,
}

/// Messages longer than this are cut when displayed: notes such as "see
/// current operation" carry whole dumps of lowered IR.
const DISPLAY_LIMIT: usize = 600;

impl fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(formatter, "{location}: ")?;
        }
        let message = self.message.trim_end();
        match message.char_indices().nth(DISPLAY_LIMIT) {
            Some((cut, _)) => write!(
                formatter,
                "{}: {}… ({} more bytes)",
                self.severity,
                &message[..cut],
                message.len() - cut
            ),
            None => write!(formatter, "{}: {message}", self.severity),
        }
    }
}

fn write_diagnostics(
    formatter: &mut fmt::Formatter<'_>,
    diagnostics: &[Diagnostic],
) -> fmt::Result {
    for diagnostic in diagnostics {
        write!(formatter, "\n  {diagnostic}")?;
    }
    Ok(())
}

/// An error from IREE's compiler API or runtime tools.
#[derive(Debug, thiserror::Error)]
pub enum IreeError {
    /// `libIREECompiler.so` speaks an API major version irex was not written for.
    #[error("IREE compiler API version {major}.{minor}, expected major version {expected}")]
    ApiVersion {
        /// Major version the library reports.
        major: u32,
        /// Minor version the library reports.
        minor: u32,
        /// Major version irex binds.
        expected: u32,
    },
    /// A call returned an `iree_compiler_error_t`.
    #[error("{operation} failed: {message}")]
    Api {
        /// The API call.
        operation: &'static str,
        /// The compiler's message.
        message: String,
    },
    /// A compiler step failed and reported diagnostics.
    #[error("{stage} failed{}", DiagnosticList(.diagnostics))]
    Compile {
        /// The step (`import`, `parse`, `pipeline`).
        stage: &'static str,
        /// What the compiler reported.
        diagnostics: Vec<Diagnostic>,
    },
    /// An IREE runtime tool could not be found.
    #[error("IREE tool `{tool}` not found (looked in {searched}); run scripts/setup")]
    ToolNotFound {
        /// The tool's name.
        tool: String,
        /// Where it was looked for.
        searched: String,
    },
    /// An IREE runtime tool exited with an error.
    #[error("`{command}` failed ({status}):\n{stderr}")]
    ToolFailed {
        /// The command line.
        command: String,
        /// Exit status.
        status: String,
        /// What the tool printed on stderr.
        stderr: String,
    },
    /// Reading or writing a file failed.
    #[error("{what} `{path}`: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A runtime output could not be read back.
    #[error(transparent)]
    Format(#[from] crate::formats::FormatError),
}

/// Displays diagnostics one per line, indented.
struct DiagnosticList<'d>(&'d [Diagnostic]);

impl fmt::Display for DiagnosticList<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return formatter.write_str(" with no diagnostic");
        }
        formatter.write_str(":")?;
        write_diagnostics(formatter, self.0)
    }
}
