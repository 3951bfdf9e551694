//! Tutorial stage 3: the linear layer with its weights in `model.irpa`.
//!
//! `cargo run --release --example stage3 -- --out DIR`
fn main() -> std::process::ExitCode {
    irex::run::tutorial::example_main(3)
}
