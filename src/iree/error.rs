//! Errors of the compiler API and the runtime tools, with the compiler's
//! diagnostics captured rather than printed.

use std::fmt;

use crate::diagnostic::Diagnostic;

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
    /// IREE's runtime returned an error status.
    #[error("{action}: {message} ({code})")]
    Runtime {
        /// What irex was doing.
        action: String,
        /// IREE's status code (`NOT_FOUND`, `INVALID_ARGUMENT`, ...).
        code: &'static str,
        /// IREE's message, on one line.
        message: String,
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
