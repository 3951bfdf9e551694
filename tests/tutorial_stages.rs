//! The tutorial staircase end to end: built in memory, verified, written,
//! compiled in-process, and run by IREE's runtime (`iree-run-module`), whose
//! numbers are the reference.

use irex::formats::irpa::{IrpaEntryKind, IrpaIndex};
use irex::run::tutorial::{Stage, run_stage};

fn run(number: u8) -> (tempfile::TempDir, irex::run::tutorial::StageReport) {
    let folder = tempfile::tempdir().unwrap();
    let report = run_stage(Stage::new(number).unwrap(), folder.path()).unwrap();
    (folder, report)
}

#[test]
fn stage1_computes_two_x_plus_one() {
    let (_folder, report) = run(1);
    assert_eq!(report.output, [3.0, 5.0, 7.0, 9.0]);
    assert!(report.artifacts.irpa.is_none(), "no weights, no archive");
}

#[test]
fn stage2_computes_the_linear_layer_with_inline_weights() {
    let (_folder, report) = run(2);
    assert_eq!(report.output, [5.5, 10.0]);
    assert!(report.artifacts.irpa.is_none());
    let text = std::fs::read_to_string(report.artifacts.text.unwrap()).unwrap();
    assert!(text.contains("stablehlo.constant dense<"), "{text}");
}

#[test]
fn stage3_reads_its_weights_from_the_irpa_irex_wrote() {
    let (folder, report) = run(3);
    assert_eq!(report.output, [5.5, 10.0]);
    for file in ["model.mlir", "model.mlirbc", "model.irpa", "model.vmfb"] {
        assert!(folder.path().join(file).is_file(), "{file}");
    }
    let archive = std::fs::read(folder.path().join("model.irpa")).unwrap();
    let index = IrpaIndex::parse(&archive).unwrap();
    let stored = |key: &str| {
        let IrpaEntryKind::Data { offset, length, .. } = index.get(key).unwrap().kind else {
            panic!("{key} is not stored data");
        };
        archive[offset as usize..(offset + length) as usize].to_vec()
    };
    let f32_bytes = |values: &[f32]| {
        values
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect::<Vec<u8>>()
    };
    assert_eq!(stored("linear.weight"), f32_bytes(&[1.0, 2.0, 3.0, 4.0]));
    assert_eq!(stored("linear.bias"), f32_bytes(&[0.5, -1.0]));
}

#[test]
fn stage3_text_holds_no_weight_value() {
    let (folder, _report) = run(3);
    let text = std::fs::read_to_string(folder.path().join("model.mlir")).unwrap();
    assert!(
        text.contains("#flow.parameter.named<\"model\"::\"linear.weight\">"),
        "{text}"
    );
    assert!(!text.contains("dense"), "{text}");
    // Neither the printed forms MLIR would use nor the raw hex of the bytes.
    for value in ["1.0", "2.0", "3.0", "4.0", "5.0", "e+00", "e-01", "0x"] {
        assert!(!text.contains(value), "found `{value}` in:\n{text}");
    }
    let bytecode = std::fs::read(folder.path().join("model.mlirbc")).unwrap();
    for value in [1.0f32, 2.0, 3.0, 4.0, 0.5, -1.0] {
        let needle = value.to_le_bytes();
        assert!(
            !bytecode.windows(4).any(|w| w == needle),
            "{value} in the bytecode"
        );
    }
}
