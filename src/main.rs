//! The `irex` command: export models (for now the built-in examples) to
//! MLIR, `.irpa` and `.vmfb`; print, compile and inspect what it wrote.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
