//! Tutorial stage 2: the linear layer `y = W·x + b` with inline weights.
//!
//! `cargo run --release --example stage2 -- --out DIR`
fn main() -> std::process::ExitCode {
    irex::run::tutorial::example_main(2)
}
