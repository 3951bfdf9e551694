//! Tutorial stage 1: `y = 2x + 1`, no weights.
//!
//! `cargo run --release --example stage1 -- --out DIR`
fn main() -> std::process::ExitCode {
    irex::run::tutorial::example_main(1)
}
