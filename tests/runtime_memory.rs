//! The linked runtime reads weights in place: a parameter file's bytes
//! reach the device as the mapped file's pages, never as a heap copy. Its
//! own test binary, because it measures the whole process's memory.

mod common;

use std::io::Write as _;
use std::path::Path;
use std::process::Command;

use irex::formats::npy::NpyArray;
use irex::iree::runtime::{Session, SessionOptions};

const ELEMENTS: usize = 16 * 1024 * 1024;

const MODULE: &str = r#"
util.global private @weights = #flow.parameter.named<"model"::"weights"> : tensor<16777216xf32>
func.func @total(%scale: tensor<f32>) -> tensor<f32> {
  %w = util.global.load @weights : tensor<16777216xf32>
  %zero = stablehlo.constant dense<0.0> : tensor<f32>
  %sum = stablehlo.reduce(%w init: %zero) applies stablehlo.add across dimensions = [0]
      : (tensor<16777216xf32>, tensor<f32>) -> tensor<f32>
  %r = stablehlo.multiply %sum, %scale : tensor<f32>
  return %r : tensor<f32>
}
"#;

/// A safetensors file of one f32 tensor `weights`, every element 0.5, its
/// data 64-byte aligned in the file (as in an `.irpa`), which IREE needs
/// to alias it.
fn write_weights(path: &Path) {
    let mut header = format!(
        r#"{{"weights":{{"dtype":"F32","shape":[{ELEMENTS}],"data_offsets":[0,{}]}}}}"#,
        ELEMENTS * 4
    );
    while (8 + header.len()) % 64 != 0 {
        header.push(' ');
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    file.write_all(&(header.len() as u64).to_le_bytes())
        .unwrap();
    file.write_all(header.as_bytes()).unwrap();
    let chunk: Vec<u8> = std::iter::repeat_n(0.5f32.to_le_bytes(), 4096)
        .flatten()
        .collect();
    for _ in 0..ELEMENTS / 4096 {
        file.write_all(&chunk).unwrap();
    }
}

/// `RssAnon` and `RssFile` of this process, in bytes.
fn resident() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    (field("RssAnon:"), field("RssFile:"))
}

#[test]
fn a_parameter_file_is_read_in_place_not_copied_to_the_heap() {
    let scratch = tempfile::tempdir().unwrap();
    let (source, module) = (scratch.path().join("m.mlir"), scratch.path().join("m.vmfb"));
    let weights = scratch.path().join("weights.safetensors");
    std::fs::write(&source, MODULE).unwrap();
    common::run_ok(
        Command::new(irex::iree::tools::find("iree-compile").unwrap())
            .arg(&source)
            .args([
                "--iree-hal-target-device=local",
                "--iree-hal-local-target-device-backends=llvm-cpu",
                "--iree-llvmcpu-target-cpu=generic",
                "-o",
            ])
            .arg(&module),
    );
    write_weights(&weights);

    let (anon_before, file_before) = resident();
    let parameters = [("model".to_string(), weights)];
    let options = SessionOptions { threads: Some(1) };
    let mut session = Session::load(&module, &parameters, &options).unwrap();
    let scale = session.upload(&NpyArray::from_f32(&[], &[2.0])).unwrap();
    let total = session.call("total", &[&scale]).unwrap();
    let value = session.download(&total[0]).unwrap().to_f32().unwrap();
    let (anon_after, file_after) = resident();

    assert_eq!(value, vec![ELEMENTS as f32], "2 × Σ 0.5 over every element");
    let weight_bytes = (ELEMENTS * 4) as u64;
    let heap = anon_after.saturating_sub(anon_before);
    let mapped = file_after.saturating_sub(file_before);
    assert!(
        heap < weight_bytes / 4,
        "heap grew {heap} bytes for {weight_bytes} of weights"
    );
    assert!(
        mapped > weight_bytes / 2,
        "only {mapped} bytes of the file were read in place"
    );
}
