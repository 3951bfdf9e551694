//! MLIR bytecode (and text) as `irex print` reads it: parsed in a context
//! of IREE's compiler library with irex's dialects, printed back with
//! locations. Only irex's side is instrumented; MLIR's reader runs
//! uninstrumented, so this target finds crashes and aborts there rather
//! than steering by MLIR's coverage.
//!
//! MLIR's reader aborts on some inputs and spins on others, which `irex
//! print` survives by parsing in a child process first, under a deadline. The target does the same: each input
//! is parsed in a forked child, and only an input the child survived is
//! parsed and printed here, where its coverage counts. A child that dies
//! is what the command turns into a typed error; a crash of this process
//! (irex's printing, or a parse that fails only here) is a finding.
#![no_main]

use irex::hlo::{PrintOptions, parse_module, print_module_bytes};
use irex::iree::{CompileOptions, Session};
use libfuzzer_sys::fuzz_target;

/// Inputs parsed in one session before a fresh one: an MLIR context keeps
/// every attribute and type it ever uniqued, so one context for a whole
/// run would grow until the fuzzer's memory limit.
const INPUTS_PER_SESSION: usize = 256;

thread_local! {
    static SESSION: std::cell::RefCell<(usize, Option<Session>)> =
        const { std::cell::RefCell::new((0, None)) };
}

/// Parses and prints `bytes` in `session`.
fn parse_and_print(session: &Session, bytes: &[u8]) {
    let context = session.context().expect("the session's context");
    match parse_module(context, bytes, "input.mlirbc") {
        Ok(module) => {
            let text = print_module_bytes(&module, PrintOptions { locations: true });
            assert!(!text.is_empty(), "a parsed module prints as something");
        }
        Err(error) => irex_fuzz::check_message(&error),
    }
}

unsafe extern "C" {
    /// The sanitizer runtime's hook, which libFuzzer points at the code
    /// that saves the current input as a crash.
    fn __sanitizer_set_death_callback(callback: Option<extern "C" fn()>);
}

/// How long a child may parse one input (at most 256 KiB) before it counts
/// as spinning, as `irex print`'s child does past its deadline.
const CHILD_DEADLINE: std::time::Duration = std::time::Duration::from_secs(3);

/// The exit code of a child in which irex panicked.
const PANICKED: i32 = 101;

/// Whether a forked child parsed and printed `bytes` without dying.
fn survives_in_a_child(session: &Session, bytes: &[u8]) -> bool {
    // SAFETY: the context runs single-threaded (no thread pool to lose in
    // the child); the child only parses, prints and leaves with `_exit`.
    match unsafe { libc::fork() } {
        0 => {
            // MLIR's aborts and oversized allocations end the child quietly
            // (libFuzzer's handlers and its death callback would save them
            // as crashes of their own); a panic of irex's exits PANICKED
            // for the parent to report.
            for signal in [libc::SIGABRT, libc::SIGSEGV, libc::SIGBUS, libc::SIGILL, libc::SIGFPE] {
                // SAFETY: restores a default disposition in this child only.
                unsafe { libc::signal(signal, libc::SIG_DFL) };
            }
            // SAFETY: clears the sanitizer's death callback in this child only.
            unsafe { __sanitizer_set_death_callback(None) };
            // SAFETY (both): ends the child without the parent's exit handlers.
            std::panic::set_hook(Box::new(|_| unsafe { libc::_exit(PANICKED) }));
            parse_and_print(session, bytes);
            unsafe { libc::_exit(0) }
        }
        -1 => panic!("fork failed: {}", std::io::Error::last_os_error()),
        child => {
            let mut status = 0;
            let started = std::time::Instant::now();
            loop {
                // SAFETY: polls our own child with a valid out-pointer.
                let waited = unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) };
                if waited == child {
                    break;
                }
                let error = std::io::Error::last_os_error();
                // libFuzzer's timer interrupts the wait every second.
                let interrupted = waited == -1 && error.kind() == std::io::ErrorKind::Interrupted;
                assert!(waited == 0 || interrupted, "waitpid: {error}");
                if started.elapsed() > CHILD_DEADLINE {
                    // MLIR's reader spins on some inputs: what `irex print`
                    // ends with its own deadline.
                    // SAFETY: kills and reaps our own child.
                    unsafe {
                        libc::kill(child, libc::SIGKILL);
                        libc::waitpid(child, &mut status, 0);
                    }
                    return false;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let exited = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            assert_ne!(exited, Some(PANICKED), "irex panicked in the child");
            exited == Some(0)
        }
    }
}

fuzz_target!(|bytes: &[u8]| {
    SESSION.with_borrow_mut(|(inputs, session)| {
        if *inputs % INPUTS_PER_SESSION == 0 {
            *session = None;
            let fresh = CompileOptions::default().session().expect("an IREE session");
            fresh
                .context()
                .expect("the session's context")
                .enable_multi_threading(false);
            *session = Some(fresh);
        }
        *inputs += 1;
        let session = session.as_ref().expect("made above");
        if survives_in_a_child(session, bytes) {
            parse_and_print(session, bytes);
        }
    });
});
