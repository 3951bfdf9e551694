//! Int8 weights with affine scales read from safetensors checkpoints
//! (compressed-tensors' `NAME`, `NAME_scale`, `NAME_zero_point` naming):
//! what maps onto `!quant.uniform` is read exactly, what does not is refused
//! with the tensor named.

use irex::formats::safetensors::Safetensors;
use irex::formats::safetensors::compressed_tensors::affine_quantization;
use irex::quant::UniformQuantization;
use irex::tensor::ElementType;

/// A tensor to write: name, safetensors dtype, shape, little-endian bytes.
type Entry<'a> = (&'a str, &'a str, &'a [u64], Vec<u8>);

/// Writes a one-file checkpoint of `entries` and opens it.
fn checkpoint(entries: &[Entry<'_>]) -> (tempfile::TempDir, Safetensors) {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, dtype, shape, bytes) in entries {
        let start = data.len();
        data.extend_from_slice(bytes);
        header.push(format!(
            r#""{name}":{{"dtype":"{dtype}","shape":{shape:?},"data_offsets":[{start},{}]}}"#,
            data.len()
        ));
    }
    let header = format!("{{{}}}", header.join(","));
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&data);
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("model.safetensors");
    std::fs::write(&path, file).unwrap();
    let weights = Safetensors::open(&path).unwrap();
    (folder, weights)
}

fn f32s(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

const WEIGHT: &[u64] = &[2, 3];

fn weight() -> Entry<'static> {
    ("w", "I8", WEIGHT, vec![1, 2, 3, 4, 5, 6])
}

fn read(entries: &[Entry<'_>]) -> Result<UniformQuantization, String> {
    let (_folder, weights) = checkpoint(entries);
    affine_quantization(&weights, "w", ElementType::I8, WEIGHT).map_err(|error| error.to_string())
}

#[test]
fn per_row_scales_and_zero_points_map_onto_axis_0() {
    for shape in [&[2u64, 1][..], &[2]] {
        let quantization = read(&[
            weight(),
            ("w_scale", "F32", shape, f32s(&[0.5, 0.1])),
            ("w_zero_point", "I8", shape, vec![0, 0xfd]),
        ])
        .unwrap();
        let expected = UniformQuantization::per_axis(
            ElementType::I8,
            0,
            vec![0.5, 0.1f32 as f64],
            vec![0, -3],
        );
        assert_eq!(quantization, expected, "scale shape {shape:?}");
    }
}

#[test]
fn one_scale_maps_onto_the_whole_tensor_in_every_float_type() {
    // 0.5 as f32, f16 (0x3800) and bf16 (0x3f00); zero point absent, i8 or i32.
    let cases: [(&str, Vec<u8>); 3] = [
        ("F32", f32s(&[0.5])),
        ("F16", vec![0x00, 0x38]),
        ("BF16", vec![0x00, 0x3f]),
    ];
    for (dtype, bytes) in cases {
        let quantization = read(&[weight(), ("w_scale", dtype, &[1], bytes)]).unwrap();
        assert_eq!(
            quantization,
            UniformQuantization::per_tensor(ElementType::I8, 0.5, 0),
            "{dtype}"
        );
    }
    let zero = read(&[
        weight(),
        ("w_scale", "F32", &[], f32s(&[0.25])),
        ("w_zero_point", "I32", &[], (-7i32).to_le_bytes().to_vec()),
    ]);
    assert_eq!(
        zero.unwrap(),
        UniformQuantization::per_tensor(ElementType::I8, 0.25, -7)
    );
}

#[test]
fn what_does_not_map_is_refused_by_name() {
    let cases: Vec<(Vec<Entry<'_>>, &str)> = vec![
        (
            vec![weight()],
            "weight `w`: stored as i8, but the checkpoint has no `w_scale`",
        ),
        (
            vec![weight(), ("w_scale", "F32", &[2, 3], f32s(&[1.0; 6]))],
            "weight `w_scale`: shape [2, 3] for a weight of shape [2, 3]: only one scale, or one per row",
        ),
        (
            vec![weight(), ("w_scale", "F32", &[3], f32s(&[1.0; 3]))],
            "weight `w_scale`: shape [3]",
        ),
        (
            vec![weight(), ("w_scale", "F32", &[2], f32s(&[1.0, 0.0]))],
            "weight `w_scale`: scale 0: scales must be finite and positive",
        ),
        (
            vec![weight(), ("w_scale", "F32", &[1], f32s(&[f32::INFINITY]))],
            "scales must be finite and positive",
        ),
        (
            vec![weight(), ("w_scale", "I32", &[1], vec![1, 0, 0, 0])],
            "weight `w_scale`: element type i32, expected f32, f16 or bf16 scales",
        ),
        (
            vec![
                weight(),
                ("w_scale", "F32", &[2], f32s(&[1.0, 1.0])),
                ("w_zero_point", "I8", &[1], vec![0]),
            ],
            "weight `w_zero_point`: shape [1], but its scales have [2]",
        ),
        (
            vec![
                weight(),
                ("w_scale", "F32", &[1], f32s(&[1.0])),
                ("w_zero_point", "I32", &[1], 300i32.to_le_bytes().to_vec()),
            ],
            "zero point 300 outside the i8 range -128..=127",
        ),
        (
            vec![
                weight(),
                ("w_scale", "F32", &[1], f32s(&[1.0])),
                ("w_zero_point", "F32", &[1], f32s(&[1.0])),
            ],
            "weight `w_zero_point`: element type f32, expected i8, u8 or i32 zero points",
        ),
    ];
    for (entries, expected) in cases {
        let message = read(&entries).expect_err(expected);
        assert!(
            message.contains(expected),
            "{message}\n  expected: {expected}"
        );
    }
}
