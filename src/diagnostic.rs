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

/// The error and its causes, each said once: a cause whose text the
/// message already holds (errors that show their source) is not repeated.
/// Values from files cannot forge lines: every line after the first is
/// indented, control characters are escaped and each line is capped.
/// The CLI prints it after `irex: `; the C ABI returns it as the last error.
pub fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        source = cause.source();
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    let lines: Vec<String> = message.lines().map(printable_line).collect();
    lines.join("\n  ")
}

/// The longest line an error prints, in characters.
const LINE_LIMIT: usize = 1000;

/// `line` with control characters escaped, cut at [`LINE_LIMIT`].
fn printable_line(line: &str) -> String {
    let line = line.trim_start();
    let mut out = String::new();
    for (shown, c) in line.chars().enumerate() {
        if shown == LINE_LIMIT {
            let rest = line.chars().count() - shown;
            out.push_str(&format!("… ({rest} more characters)"));
            break;
        }
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}
