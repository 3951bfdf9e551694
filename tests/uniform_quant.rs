//! `!quant.uniform` weights compiled by IREE (after irex's lowering) and run
//! by its runtime, bit for bit equal to StableHLO's definition of
//! `uniform_dequantize`, `(convert(q) - zero_point) * scale` in f32, computed
//! here element by element: every storage type irex lowers, per-tensor and
//! per-axis on each dimension, zero points of both signs, inline constants
//! and `.irpa` globals.

use std::path::PathBuf;

use irex::export::compile_to_vmfb;
use irex::formats::irpa::write_archive;
use irex::hlo::{ConstantMaterializationPolicy, ModuleBuilder, archive_entries};
use irex::iree::CompileOptions;
use irex::iree::tools::{RunRequest, run_module};
use irex::quant::UniformQuantization;
use irex::tensor::{BufferHandle, ElementType, TensorSpec};

/// A small deterministic generator (xorshift), so the cases need no fixture.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// An f32 scale in [2^-12, 2), as checkpoints store them.
    fn scale(&mut self) -> f64 {
        let mantissa = 1.0 + (self.next() % 1_000_000) as f32 / 1_000_000.0;
        (mantissa * 2f32.powi(-((self.next() % 13) as i32))) as f64
    }
}

struct Case {
    name: &'static str,
    shape: Vec<u64>,
    quantization: UniformQuantization,
    stored: Vec<i64>,
}

fn case(
    name: &'static str,
    storage: ElementType,
    shape: &[u64],
    axis: Option<usize>,
    numbers: &mut Numbers,
) -> Case {
    let (low, high) = match storage {
        ElementType::I8 => (-128i64, 127i64),
        ElementType::U8 => (0, 255),
        ElementType::I16 => (-32768, 32767),
        _ => (0, 65535),
    };
    let span = (high - low + 1) as u64;
    let value = |numbers: &mut Numbers| low + (numbers.next() % span) as i64;
    let count = axis.map_or(1, |axis| shape[axis] as usize);
    let scales = (0..count).map(|_| numbers.scale()).collect();
    let zero_points = (0..count).map(|_| value(numbers)).collect();
    let quantization = match axis {
        None => UniformQuantization::per_tensor(storage, numbers.scale(), value(numbers)),
        Some(axis) => UniformQuantization::per_axis(storage, axis, scales, zero_points),
    };
    let elements: u64 = shape.iter().product();
    let stored = (0..elements).map(|_| value(numbers)).collect();
    Case {
        name,
        shape: shape.to_vec(),
        quantization,
        stored,
    }
}

impl Case {
    fn bytes(&self) -> Vec<u8> {
        let width = self.quantization.storage.byte_size().unwrap();
        self.stored
            .iter()
            .flat_map(|&v| v.to_le_bytes()[..width].to_vec())
            .collect()
    }

    /// StableHLO's `uniform_dequantize`, element by element.
    fn expected(&self) -> Vec<f32> {
        let q = &self.quantization;
        let strides: Vec<u64> = (0..self.shape.len())
            .map(|d| self.shape[d + 1..].iter().product())
            .collect();
        self.stored
            .iter()
            .enumerate()
            .map(|(index, &stored)| {
                let channel = q.axis.map_or(0, |axis| {
                    (index as u64 / strides[axis] % self.shape[axis]) as usize
                });
                (stored as f32 - q.zero_points[channel] as f32) * q.scales[channel] as f32
            })
            .collect()
    }
}

#[test]
fn dequantization_is_bit_exact_in_iree() {
    let mut numbers = Numbers(0x9e3779b97f4a7c15);
    let cases = [
        case("i8_axis1", ElementType::I8, &[5, 7], Some(1), &mut numbers),
        case("i8_tensor", ElementType::I8, &[64, 3], None, &mut numbers),
        case("u8_tensor", ElementType::U8, &[33], None, &mut numbers),
        case("u8_axis0", ElementType::U8, &[6, 40], Some(0), &mut numbers),
        case(
            "i16_axis0",
            ElementType::I16,
            &[3, 4],
            Some(0),
            &mut numbers,
        ),
        case(
            "u16_axis2",
            ElementType::U16,
            &[2, 3, 40],
            Some(2),
            &mut numbers,
        ),
    ];
    let options = CompileOptions::default();
    let session = options.session().unwrap();
    // Weights of 64 bytes and up go to the .irpa; smaller ones are inline constants.
    let policy = ConstantMaterializationPolicy::SizeThreshold(64);
    let mut module = ModuleBuilder::new(session.context().unwrap(), "uniform", policy, "model");
    for case in &cases {
        let spec = TensorSpec::dense(case.name, &case.shape, case.quantization.storage);
        let mut function = module.function(case.name, &[]).unwrap();
        let value = function
            .quantized_weight(
                &spec,
                &BufferHandle::owned(case.bytes()),
                &case.quantization,
            )
            .unwrap();
        function.finish(&[value]).unwrap();
    }
    let converted = module.finish().unwrap();
    assert_eq!(
        converted.parameters.len(),
        3,
        "three cases inline, three external"
    );
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("uniform.irpa");
    write_archive(&archive, &archive_entries(&converted.parameters)).unwrap();
    let vmfb = folder.path().join("uniform.vmfb");
    compile_to_vmfb(&session, &converted.module, &vmfb).unwrap();
    let parameters: Vec<(String, PathBuf)> = vec![("model".into(), archive)];
    for case in &cases {
        let outputs = run_module(&RunRequest {
            module: &vmfb,
            function: case.name,
            inputs: &[],
            result_count: 1,
            parameters: &parameters,
            device: options.runtime_device(),
        })
        .unwrap();
        let got = outputs[0].to_f32().unwrap();
        let expected = case.expected();
        assert_eq!(got.len(), expected.len(), "{}", case.name);
        for (index, (g, e)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                g.to_bits(),
                e.to_bits(),
                "{} element {index}: {g} != {e}",
                case.name
            );
        }
    }
}
