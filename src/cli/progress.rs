//! Export progress on stderr: while a step runs, a spinner with the step
//! and its elapsed time when stderr is a terminal (`indicatif`); when it
//! ends, one summary line (`irex: compiling: 45.36 s`), terminal or not.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use irex::export::{Progress, Step};

/// Shows each step of an export on stderr.
pub struct StderrProgress {
    spinner: Option<ProgressBar>,
    started: Instant,
    terminal: bool,
}

impl StderrProgress {
    /// Chooses the spinner or the summary lines by what stderr is.
    pub fn new() -> Self {
        Self {
            spinner: None,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Runs `action` as `step`.
    pub fn run<T, E>(&mut self, step: Step, action: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        self.begin(step);
        let result = action();
        if result.is_ok() {
            self.end(step);
        } else if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
        result
    }
}

impl Progress for StderrProgress {
    fn begin(&mut self, step: Step) {
        self.started = Instant::now();
        if !self.terminal {
            return;
        }
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("irex: {spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.set_message(step.to_string());
        spinner.enable_steady_tick(Duration::from_millis(120));
        self.spinner = Some(spinner);
    }

    fn end(&mut self, step: Step) {
        let seconds = self.started.elapsed().as_secs_f64();
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
        eprintln!("irex: {step}: {seconds:.2} s");
    }
}

impl Drop for StderrProgress {
    fn drop(&mut self) {
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}
