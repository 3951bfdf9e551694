//! Integer weights with affine scales in safetensors checkpoints, named the
//! way compressed-tensors' int-quantized checkpoints name them: the stored
//! integers under the weight's own name, the scales under `NAME_scale` and
//! optional zero points under `NAME_zero_point`. A scale of one element
//! quantizes the whole tensor; one per output row (`[rows, 1]` or `[rows]`)
//! quantizes along axis 0. Those two map exactly onto `!quant.uniform`;
//! group-wise scales do not and are refused.

use super::checkpoint::{Safetensors, SafetensorsTensor};
use crate::quant::UniformQuantization;
use crate::tensor::ElementType;

/// A quantized weight whose companion tensors do not describe a
/// quantization that maps onto `!quant.uniform`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("weight `{tensor}`: {message}")]
pub struct QuantizationError {
    /// The tensor at fault: the weight, its `_scale` or its `_zero_point`.
    pub tensor: String,
    /// What is wrong.
    pub message: String,
}

/// Returns the quantization of integer weight `name` of `shape`, from its
/// companion tensors.
pub fn affine_quantization(
    weights: &Safetensors,
    name: &str,
    storage: ElementType,
    shape: &[u64],
) -> Result<UniformQuantization, QuantizationError> {
    let scale_name = format!("{name}_scale");
    let scale = weights.get(&scale_name).ok_or_else(|| QuantizationError {
        tensor: name.into(),
        message: format!("stored as {storage}, but the checkpoint has no `{scale_name}`"),
    })?;
    let refuse = |tensor: &str, message: String| QuantizationError {
        tensor: tensor.into(),
        message,
    };
    let count: u64 = scale.spec.shape.iter().product();
    let axis = match (count, shape.first()) {
        (1, _) => None,
        (rows, Some(&expected)) if rows == expected && per_row_shape(&scale.spec.shape) => Some(0),
        _ => {
            return Err(refuse(
                &scale_name,
                format!(
                    "shape {:?} for a weight of shape {shape:?}: only one scale, or one per row, maps onto !quant.uniform",
                    scale.spec.shape
                ),
            ));
        }
    };
    let scales = float_values(&scale).map_err(|message| refuse(&scale_name, message))?;
    let zero_name = format!("{name}_zero_point");
    let zero_points = match weights.get(&zero_name) {
        None => vec![0; scales.len()],
        Some(zero) if zero.spec.shape == scale.spec.shape => {
            integer_values(&zero).map_err(|message| refuse(&zero_name, message))?
        }
        Some(zero) => {
            return Err(refuse(
                &zero_name,
                format!(
                    "shape {:?}, but its scales have {:?}",
                    zero.spec.shape, scale.spec.shape
                ),
            ));
        }
    };
    let quantization = match axis {
        None => UniformQuantization::per_tensor(storage, scales[0], zero_points[0]),
        Some(axis) => UniformQuantization::per_axis(storage, axis, scales, zero_points),
    };
    quantization
        .check(shape)
        .map_err(|message| refuse(&scale_name, message))?;
    Ok(quantization)
}

/// `[rows]` or `[rows, 1]`.
fn per_row_shape(shape: &[u64]) -> bool {
    shape.len() == 1 || (shape.len() == 2 && shape[1] == 1)
}

fn float_values(tensor: &SafetensorsTensor) -> Result<Vec<f64>, String> {
    let bytes = tensor.buffer.bytes();
    let values = match tensor.spec.element {
        ElementType::F32 => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f64)
            .collect(),
        ElementType::F16 => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect(),
        ElementType::BF16 => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f64())
            .collect(),
        other => {
            return Err(format!(
                "element type {other}, expected f32, f16 or bf16 scales"
            ));
        }
    };
    Ok(values)
}

fn integer_values(tensor: &SafetensorsTensor) -> Result<Vec<i64>, String> {
    let bytes = tensor.buffer.bytes();
    let values = match tensor.spec.element {
        ElementType::I8 => bytes.iter().map(|&b| b as i8 as i64).collect(),
        ElementType::U8 => bytes.iter().map(|&b| b as i64).collect(),
        ElementType::I32 => bytes
            .chunks_exact(4)
            .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
            .collect(),
        other => {
            return Err(format!(
                "element type {other}, expected i8, u8 or i32 zero points"
            ));
        }
    };
    Ok(values)
}
