//! Packed ggml blocks unpacked by StableHLO inside a compiled module, run by
//! IREE's runtime, bit for bit equal to irex's reference dequantizers (which
//! `tests/ggml_dequant.rs` holds to the `gguf` package). The blocks reach
//! the module through an `.irpa` irex writes, byte for byte.

use std::path::PathBuf;

use common::hex;
use irex::formats::irpa::write_archive;
use irex::hlo::{ConstantMaterializationPolicy, ModuleBuilder, PACKED_FORMATS, archive_entries};
use irex::iree::tools::{RunRequest, run_module};
use irex::iree::{CompileOptions, compile_module};
use irex::quant::dequantize;
use irex::tensor::GgmlType;
use irex::tensor::{BufferHandle, ElementType, TensorSpec};

mod common;

#[test]
fn every_packed_format_unpacks_bit_exactly_in_iree() {
    let fixture = common::ggml_blocks();
    let options = CompileOptions::default();
    let session = options.session().unwrap();
    let mut module = ModuleBuilder::new(
        session.context().unwrap(),
        "packed",
        ConstantMaterializationPolicy::ExternalAlways,
        "model",
    );
    let mut cases: Vec<(GgmlType, Vec<f32>)> = Vec::new();
    for kind in PACKED_FORMATS {
        let blocks = hex(&fixture.formats[kind.name()].blocks);
        let count = blocks.len() as u64 / kind.block_bytes();
        let spec = TensorSpec::dense(
            format!("{}.blocks", kind.name()),
            &[1, count, kind.block_bytes()],
            ElementType::I8,
        );
        let mut function = module.function(kind.name(), &[]).unwrap();
        let packed = function
            .weight(&spec, &BufferHandle::owned(blocks.clone()))
            .unwrap();
        let values = function
            .dequantize_blocks(kind.name(), packed, kind)
            .unwrap();
        function.finish(&[values]).unwrap();
        let mut reference = Vec::new();
        dequantize(kind, &blocks, &mut reference).unwrap();
        cases.push((kind, reference));
    }
    let converted = module.finish().unwrap();
    let folder = tempfile::tempdir().unwrap();
    let archive = folder.path().join("packed.irpa");
    write_archive(&archive, &archive_entries(&converted.parameters)).unwrap();
    let vmfb = folder.path().join("packed.vmfb");
    compile_module(&session, &converted.module, &vmfb).unwrap();
    let parameters: Vec<(String, PathBuf)> = vec![("model".into(), archive)];
    for (kind, reference) in cases {
        let outputs = run_module(&RunRequest {
            module: &vmfb,
            function: kind.name(),
            inputs: &[],
            result_count: 1,
            parameters: &parameters,
            device: options.runtime_device(),
        })
        .unwrap();
        let values = outputs[0].to_f32().unwrap();
        assert_eq!(values.len(), reference.len(), "{kind}");
        let differing = values
            .iter()
            .zip(&reference)
            .filter(|(a, b)| a.to_bits() != b.to_bits())
            .count();
        let first = values
            .iter()
            .zip(&reference)
            .position(|(a, b)| a.to_bits() != b.to_bits());
        assert_eq!(
            differing,
            0,
            "{kind}: {differing} of {} values differ, first at {first:?}: {:?} vs {:?}",
            values.len(),
            first.map(|i| values[i]),
            first.map(|i| reference[i])
        );
    }
}
