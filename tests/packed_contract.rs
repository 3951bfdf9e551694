//! The integer contractions over packed ggml blocks, in both kernels' forms (`--quant packed`'s
//! fast form of `x · Wᵀ`), compiled and run by IREE, against two
//! references built from the `gguf` package's dequantized values (the
//! fixture `ggml_blocks.json`, `gguf.quants.dequantize`):
//!
//! - the same arithmetic in f64: the activation rounded to i16 per block of
//!   32 (16 for Q2_K, Q3_K, Q6_K) as `hlo::quant::contract` states, times the exact weights. IREE
//!   differs from it only by f32 rounding and summation order: within
//!   2·10⁻⁵ of `Σ|x|·|w|`;
//! - the exact product `x · Wᵀ` in f64: the i16 rounding costs at most
//!   `Σ_k |w_k| · amax / 65534` per output, about 2⁻¹⁶ of the row's norm.

use std::path::PathBuf;

use common::hex;
use irex::formats::irpa::write_archive;
use irex::formats::npy::NpyArray;
use irex::hlo::{
    ActivationBlocks, CONTRACTED_FORMATS, ConstantMaterializationPolicy, IntegerKernel,
    ModuleBuilder, TensorType, archive_entries, nibble_order,
};
use irex::iree::tools::{RunRequest, run_module};
use irex::iree::{CompileOptions, compile_module};
use irex::tensor::{BufferHandle, ElementType, GgmlType, TensorSpec};

mod common;

/// Columns of the test weight: four blocks of 32 per row, or one
/// super-block of 256 for the K-quants.
fn columns(kind: GgmlType) -> usize {
    (kind.block_elements() as usize).max(128)
}
/// Rows of the activation: two, so the matrix × matrix form is run too.
const ROWS: usize = 2;

/// A deterministic activation with blocks of very different magnitudes
/// (one all zero), so the per-block scales matter.
fn activation(columns: usize) -> Vec<f32> {
    (0..ROWS * columns)
        .map(|i| {
            let block = (i % columns) / 32;
            let magnitude = [1.0, 0.0, 1e-3, 40.0][block % 4];
            magnitude * ((i as f32) * 0.37 + ROWS as f32).sin()
        })
        .collect()
}

/// The blocks the module quantizes an activation in, as documented: 16
/// for the formats with scales per 16 elements, 32 for the others.
fn activation_block(kind: GgmlType) -> usize {
    match kind {
        GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q6_K => 16,
        _ => 32,
    }
}

/// The activation as the module rounds it: per block, scaled to ±32767 and
/// rounded to the nearest integer (ties to even), then scaled back.
fn rounded_activation(x: &[f32], block: usize) -> Vec<f64> {
    x.chunks(block)
        .flat_map(|block| {
            let amax = block.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-30);
            let inverse = 32767f32 / amax;
            let scale = f64::from(amax / 32767f32);
            block
                .iter()
                .map(move |&v| f64::from((v * inverse).round_ties_even()) * scale)
        })
        .collect()
}

fn product(x: &[f64], weights: &[f32], outputs: usize, columns: usize) -> Vec<f64> {
    (0..ROWS)
        .flat_map(|m| {
            (0..outputs).map(move |n| {
                (0..columns)
                    .map(|k| x[m * columns + k] * f64::from(weights[n * columns + k]))
                    .sum()
            })
        })
        .collect()
}

#[test]
fn every_contracted_format_matches_the_gguf_dequantized_product_in_iree() {
    let fixture = common::ggml_blocks();
    let options = CompileOptions::default();
    let session = options.session().unwrap();
    let mut module = ModuleBuilder::new(
        session.context().unwrap(),
        "contract",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    let mut cases: Vec<(String, GgmlType, usize, Vec<f32>)> = Vec::new();
    for (kind, kernel) in CONTRACTED_FORMATS.into_iter().flat_map(|kind| {
        [IntegerKernel::Nibbles, IntegerKernel::Bytes].map(|kernel| (kind, kernel))
    }) {
        let format = &fixture.formats[kind.name()];
        let blocks = hex(&format.blocks);
        let weights: Vec<f32> = hex(&format.values)
            .chunks(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let columns = columns(kind);
        let outputs = weights.len() / columns;
        let per_row = (columns as u64) / kind.block_elements();
        let spec = TensorSpec::dense(
            format!("{}.blocks", kind.name()),
            &[outputs as u64, per_row, kind.block_bytes()],
            ElementType::I8,
        );
        let input = TensorType::new(&[ROWS as u64, columns as u64], ElementType::F32);
        let name = format!("{}_{kernel:?}", kind.name());
        let mut function = module.function(&name, &[input]).unwrap();
        let x = function.argument(0);
        let packed = function
            .weight(&spec, &BufferHandle::owned(blocks))
            .unwrap();
        let quantized = function
            .quantize_activation("x", x, ActivationBlocks::for_format(kind, kernel))
            .unwrap();
        let y = function
            .packed_linear(kind.name(), &quantized, packed, kind, kernel)
            .unwrap();
        function.finish(&[y]).unwrap();
        cases.push((name, kind, outputs, weights));
    }
    let converted = module.finish().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("contract.irpa");
    write_archive(&archive, &archive_entries(&converted.parameters)).unwrap();
    let vmfb = folder.path().join("contract.vmfb");
    compile_module(&session, &converted.module, &vmfb).unwrap();
    let parameters: Vec<(String, PathBuf)> = vec![("model".into(), archive)];
    for (name, kind, outputs, weights) in cases {
        let columns = columns(kind);
        let x = activation(columns);
        let got = run_module(&RunRequest {
            module: &vmfb,
            function: &name,
            inputs: &[NpyArray::from_f32(&[ROWS as u64, columns as u64], &x)],
            result_count: 1,
            parameters: &parameters,
            device: options.runtime_device(),
        })
        .unwrap()[0]
            .to_f32()
            .unwrap();
        assert_eq!(got.len(), ROWS * outputs, "{name}");
        let block = activation_block(kind);
        let same_math = product(&rounded_activation(&x, block), &weights, outputs, columns);
        let exact = product(
            &x.iter().map(|&v| f64::from(v)).collect::<Vec<_>>(),
            &weights,
            outputs,
            columns,
        );
        for (index, &value) in got.iter().enumerate() {
            let (m, n) = (index / outputs, index % outputs);
            let row = &weights[n * columns..(n + 1) * columns];
            let row_x = &x[m * columns..(m + 1) * columns];
            // Bound of the i16 rounding: half a unit per element.
            let rounding: f64 = row_x
                .chunks(block)
                .zip(row.chunks(block))
                .map(|(xb, wb)| {
                    let amax = xb.iter().fold(0f32, |a, v| a.max(v.abs()));
                    let unit = f64::from(amax) / 32767.0;
                    wb.iter().map(|w| f64::from(w.abs())).sum::<f64>() * unit / 2.0
                })
                .sum();
            let magnitude: f64 = row_x
                .iter()
                .zip(row)
                .map(|(a, b)| f64::from(a.abs()) * f64::from(b.abs()))
                .sum();
            // f32 epilogue: `d·s·I` and `c·Σx` cancel (Q4_0's `c = -8d`), so
            // their f32 rounding is several ulps of the weighted magnitude.
            let float_error = magnitude * 2e-5 + 1e-6;
            let against_same = (f64::from(value) - same_math[index]).abs();
            assert!(
                against_same <= float_error,
                "{name} [{m}, {n}]: {value} vs same arithmetic {} (|diff| {against_same:e} > {float_error:e})",
                same_math[index]
            );
            let against_exact = (f64::from(value) - exact[index]).abs();
            assert!(
                against_exact <= rounding + float_error,
                "{name} [{m}, {n}]: {value} vs exact {} (|diff| {against_exact:e} > {:e})",
                exact[index],
                rounding + float_error
            );
        }
    }
}

#[test]
fn nibble_order_is_how_ggml_stores_a_4_bit_block() {
    // ggml's Q4 blocks: byte j holds element j (low nibble) and j + 16.
    for (position, element) in nibble_order().into_iter().enumerate() {
        let byte = position / 2;
        let high = position % 2 == 1;
        assert_eq!(element, byte + if high { 16 } else { 0 });
    }
}
