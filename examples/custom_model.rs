//! A model irex does not ship, built through the public API only: a small
//! MLP `y = W2 · relu(sin(W1 · x + b1)) + b2` whose four weights are
//! external (`#flow.parameter.named`, written to an `.irpa`), compiled in
//! process and run with IREE's runtime, then checked against the same sum
//! computed here in plain Rust.
//!
//! `sin` has no typed builder: it goes through the escape hatch,
//! `FunctionBuilder::op`, as would any op by name (`stablehlo.custom_call`,
//! an op of another dialect); so does the comparison, whose direction
//! attribute is parsed from MLIR's text by `FunctionBuilder::attribute`.
//!
//! `cargo run --example custom_model -- [--out DIR]`
use std::path::PathBuf;
use std::process::ExitCode;

use irex::export::{ArtifactSelection, Silent, write_artifacts};
use irex::formats::npy::NpyArray;
use irex::hlo::{ConstantMaterializationPolicy, DotDimensions, ModuleBuilder, TensorType};
use irex::iree::CompileOptions;
use irex::run::{Arg, ModuleFiles, ModuleRunner, RunOptions, Runner};
use irex::tensor::{BufferHandle, ElementType, TensorSpec};

const INPUTS: usize = 4;
const HIDDEN: usize = 8;
const OUTPUTS: usize = 2;

/// The weights, row-major, made from a formula so the example needs no file.
fn weights() -> [(&'static str, Vec<u64>, Vec<f32>); 4] {
    let values = |count: usize, scale: f32| -> Vec<f32> {
        (0..count)
            .map(|i| ((i * 7 % 11) as f32 - 5.0) * scale)
            .collect()
    };
    [
        (
            "mlp.w1",
            vec![HIDDEN as u64, INPUTS as u64],
            values(HIDDEN * INPUTS, 0.1),
        ),
        ("mlp.b1", vec![HIDDEN as u64], values(HIDDEN, 0.05)),
        (
            "mlp.w2",
            vec![OUTPUTS as u64, HIDDEN as u64],
            values(OUTPUTS * HIDDEN, 0.2),
        ),
        ("mlp.b2", vec![OUTPUTS as u64], values(OUTPUTS, 0.3)),
    ]
}

/// Builds `main(x: tensor<4xf32>) -> tensor<2xf32>`.
fn build(module: &mut ModuleBuilder<'_>) -> irex::Result<()> {
    let f32_tensor = |shape: &[u64]| TensorType::new(shape, ElementType::F32);
    let mut main = module.function("main", &[f32_tensor(&[INPUTS as u64])])?;
    let x = main.argument(0);
    let [w1, b1, w2, b2] = weights().map(|(name, shape, values)| {
        let spec = TensorSpec::dense(name, &shape, ElementType::F32);
        main.weight(&spec, &BufferHandle::from_f32(&values))
    });
    let (w1, b1, w2, b2) = (w1?, b1?, w2?, b2?);
    let matvec = DotDimensions::contract(1, 0);
    let h = main.dot_general("mlp.layer1", w1, x, &matvec)?;
    let h = main.add("mlp.layer1.bias", h, b1)?;
    let hidden = main.type_of(h).clone();
    let sine = main.op(
        "stablehlo.sine",
        "mlp.sine",
        &[h],
        &[],
        std::slice::from_ref(&hidden),
    )?[0];
    let zero = main.splat_constant("mlp.zero", ElementType::F32, &[HIDDEN as u64], 0.0)?;
    let greater = main.attribute("mlp.relu", "#stablehlo<comparison_direction GT>")?;
    let positive = main.op(
        "stablehlo.compare",
        "mlp.relu.positive",
        &[sine, zero],
        &[("comparison_direction", greater)],
        &[TensorType::new(&[HIDDEN as u64], ElementType::Bool)],
    )?[0];
    let relu = main.op(
        "stablehlo.select",
        "mlp.relu",
        &[positive, sine, zero],
        &[],
        &[hidden],
    )?[0];
    let y = main.dot_general("mlp.layer2", w2, relu, &matvec)?;
    let y = main.add("mlp.layer2.bias", y, b2)?;
    main.finish_named(&[("y", y)])?;
    Ok(())
}

/// The same MLP in plain Rust: the reference the module must match.
fn reference(x: &[f32]) -> Vec<f32> {
    let [(_, _, w1), (_, _, b1), (_, _, w2), (_, _, b2)] = weights();
    let hidden: Vec<f32> = (0..HIDDEN)
        .map(|row| {
            let sum: f32 = (0..INPUTS).map(|col| w1[row * INPUTS + col] * x[col]).sum();
            (sum + b1[row]).sin().max(0.0)
        })
        .collect();
    (0..OUTPUTS)
        .map(|row| {
            (0..HIDDEN)
                .map(|col| w2[row * HIDDEN + col] * hidden[col])
                .sum::<f32>()
                + b2[row]
        })
        .collect()
}

fn run(folder: &std::path::Path) -> irex::Result<(Vec<f32>, Vec<f32>)> {
    let compile = CompileOptions::default();
    let session = compile.session()?;
    let mut module = ModuleBuilder::new(
        session.context()?,
        "mlp",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    build(&mut module)?;
    let converted = module.finish()?;
    let selection = ArtifactSelection::default();
    let artifacts = write_artifacts(&session, &converted, folder, "mlp", selection, &mut Silent)?;
    println!("wrote {}", folder.display());
    let files = ModuleFiles {
        module: artifacts.vmfb.expect("the default selection compiles"),
        parameters: vec![(
            "model".into(),
            artifacts.irpa.expect("four external weights"),
        )],
        device: compile.runtime_device().into(),
    };
    let x = [0.5f32, -1.0, 2.0, 0.25];
    let mut runner = ModuleRunner::load(files, &RunOptions::default())?;
    let outputs = runner.call(
        "main",
        &[Arg::Host(NpyArray::from_f32(&[INPUTS as u64], &x))],
        1,
    )?;
    Ok((runner.read_f32(&outputs[0], "main")?, reference(&x)))
}

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    let folder = match arguments.as_slice() {
        [] => PathBuf::from("out/custom_model"),
        [flag, folder] if flag == "--out" => PathBuf::from(folder),
        _ => {
            eprintln!("usage: custom_model [--out DIR]");
            return ExitCode::from(2);
        }
    };
    match run(&folder) {
        Ok((module, reference)) => {
            let largest = module
                .iter()
                .zip(&reference)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            println!("IREE: {module:?}\nRust: {reference:?}\nlargest difference {largest:e}");
            if largest <= 1e-5 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("custom_model: {}", irex::diagnostic::error_message(&error));
            ExitCode::FAILURE
        }
    }
}

/// `cargo test` runs this example's check (Cargo.toml: `test = true`).
#[test]
fn the_module_computes_the_plain_rust_mlp() {
    let folder = tempfile::tempdir().unwrap();
    let (module, reference) = run(folder.path()).unwrap();
    for (a, b) in module.iter().zip(&reference) {
        assert!((a - b).abs() <= 1e-5, "{module:?} against {reference:?}");
    }
}
