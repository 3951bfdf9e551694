//! irex's reference dequantizers against the `gguf` package's, bit for bit,
//! on the committed fixture `scripts/make-fixtures` regenerates
//! (`gguf.quants.quantize` output where the package can quantize, seeded
//! random blocks for every format).

use common::hex;
use irex::quant::dequantize;
use irex::tensor::GgmlType;

mod common;

fn kind(name: &str) -> GgmlType {
    (0..64)
        .filter_map(GgmlType::from_id)
        .find(|kind| kind.name() == name)
        .unwrap()
}

#[test]
fn every_format_matches_the_gguf_package_bit_for_bit() {
    let fixture = common::ggml_blocks();
    assert_eq!(
        fixture.formats.len(),
        13,
        "F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K"
    );
    for (name, format) in &fixture.formats {
        let blocks = hex(&format.blocks);
        let expected: Vec<u32> = hex(&format.values)
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let mut values = Vec::new();
        dequantize(kind(name), &blocks, &mut values).unwrap();
        assert_eq!(values.len(), expected.len(), "{name}");
        for (index, (got, want)) in values.iter().zip(&expected).enumerate() {
            assert_eq!(
                got.to_bits(),
                *want,
                "{name} element {index}: {got} vs {}",
                f32::from_bits(*want)
            );
        }
    }
}
