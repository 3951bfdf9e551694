//! Diagnostics MLIR and IREE's compiler report (severity, location,
//! message), captured rather than printed. The converter ([`crate::hlo`])
//! and the compiler API ([`crate::iree`]) both carry them in their errors;
//! this module is their shared vocabulary and touches neither C API.

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
    /// Reads `iree_compiler_diagnostic_severity_t`.
    pub fn from_iree(raw: i32) -> Self {
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
