//! Reference dequantizers: ggml blocks to f32, bit for bit what
//! `gguf.quants.dequantize` (and ggml's `dequantize_row_*`) computes — the
//! same f32 operations in the same order, so results match to the bit
//! (`tests/ggml_dequant.rs` holds them to the `gguf` package's output).
//!
//! Layouts (`ggml-common.h`; `d`, `m`, `dmin` are f16):
//! - `Q8_0`: `d`, 32 × i8.                         y = q·d
//! - `Q4_0`: `d`, 16 bytes of nibbles (low: 0–15, high: 16–31). y = d·(q−8)
//! - `Q4_1`: `d`, `m`, 16 bytes of nibbles.          y = d·q + m
//! - `Q5_0`: `d`, u32 of 5th bits, 16 bytes of nibbles. y = d·(q−16)
//! - `Q5_1`: `d`, `m`, u32 of 5th bits, nibbles.      y = d·q + m
//! - `Q2_K`: 16 scale bytes (low nibble scale, high nibble min), 64 bytes of
//!   2-bit values, `d`, `dmin`.                       y = (d·sc)·q − dmin·mn
//! - `Q3_K`: 32 bytes of high bits, 64 bytes of 2-bit values, 12 bytes of
//!   6-bit scales, `d`.                               y = (d·(sc−32))·(q − 4·!hbit)
//! - `Q4_K`: `d`, `dmin`, 12 bytes of 6-bit scales and mins, 128 bytes of
//!   nibbles.                                         y = (d·sc)·q − dmin·mn
//! - `Q5_K`: as `Q4_K` plus 32 bytes of 5th bits.
//! - `Q6_K`: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 i8
//!   scales, `d`.                                     y = (d·sc)·(q−32)

use super::layout::{q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0};
use crate::tensor::GgmlType;

/// Why blocks could not be dequantized.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DequantError {
    /// irex has no reference dequantizer for this type.
    #[error("no dequantizer for {0}")]
    Unsupported(GgmlType),
    /// The bytes are not a whole number of blocks.
    #[error("{length} bytes are not whole {kind} blocks of {block} bytes")]
    PartialBlock {
        /// The type.
        kind: GgmlType,
        /// Bytes given.
        length: usize,
        /// Bytes per block.
        block: u64,
    },
}

/// Reads the little-endian f16 at `at` (exactly representable in f32).
fn f16_at(bytes: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// Dequantizes whole blocks of `kind` into f32 values appended to `out`.
pub fn dequantize(kind: GgmlType, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), DequantError> {
    let block = kind.block_bytes();
    if bytes.len() as u64 % block != 0 {
        return Err(DequantError::PartialBlock {
            kind,
            length: bytes.len(),
            block,
        });
    }
    let per_block: fn(&[u8], &mut Vec<f32>) = match kind {
        GgmlType::F32 => |b, out| out.push(f32::from_le_bytes(b.try_into().unwrap())),
        GgmlType::F16 => |b, out| out.push(f16_at(b, 0)),
        GgmlType::BF16 => |b, out| out.push(half::bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        GgmlType::Q8_0 => q8_0,
        GgmlType::Q4_0 => q4_0,
        GgmlType::Q4_1 => q4_1,
        GgmlType::Q5_0 => q5_0,
        GgmlType::Q5_1 => q5_1,
        GgmlType::Q2_K => q2_k,
        GgmlType::Q3_K => q3_k,
        GgmlType::Q4_K => q4_k,
        GgmlType::Q5_K => q5_k,
        GgmlType::Q6_K => q6_k,
        other => return Err(DequantError::Unsupported(other)),
    };
    out.reserve(bytes.len() / block as usize * kind.block_elements() as usize);
    for chunk in bytes.chunks_exact(block as usize) {
        per_block(chunk, out);
    }
    Ok(())
}

fn q8_0(block: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(block, q8_0::D);
    out.extend(block[q8_0::QS].iter().map(|&q| (q as i8) as f32 * d));
}

/// The 32 nibbles of a 16-byte `qs`: low nibbles first, then high nibbles.
fn nibble(qs: &[u8], index: usize) -> u8 {
    if index < 16 {
        qs[index] & 0x0f
    } else {
        qs[index - 16] >> 4
    }
}

fn q4_0(block: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(block, q4_0::D);
    out.extend((0..32).map(|i| d * (nibble(&block[q4_0::QS], i) as i8 - 8) as f32));
}

fn q4_1(block: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (f16_at(block, q4_1::D), f16_at(block, q4_1::M));
    out.extend((0..32).map(|i| d * nibble(&block[q4_1::QS], i) as f32 + m));
}

fn fifth_bits(bytes: &[u8]) -> u32 {
    u32::from_le_bytes(bytes[..4].try_into().unwrap())
}

fn q5_0(block: &[u8], out: &mut Vec<f32>) {
    let d = f16_at(block, q5_0::D);
    let high = fifth_bits(&block[q5_0::QH]);
    out.extend((0..32).map(|i| {
        let q = nibble(&block[q5_0::QS], i) | ((((high >> i) & 1) as u8) << 4);
        d * (q as i8 - 16) as f32
    }));
}

fn q5_1(block: &[u8], out: &mut Vec<f32>) {
    let (d, m) = (f16_at(block, q5_1::D), f16_at(block, q5_1::M));
    let high = fifth_bits(&block[q5_1::QH]);
    out.extend((0..32).map(|i| {
        let q = nibble(&block[q5_1::QS], i) | ((((high >> i) & 1) as u8) << 4);
        d * q as f32 + m
    }));
}

fn q2_k(block: &[u8], out: &mut Vec<f32>) {
    let (scales, qs) = (&block[q2_k::SCALES], &block[q2_k::QS]);
    let (d, dmin) = (f16_at(block, q2_k::D), f16_at(block, q2_k::DMIN));
    out.extend((0..256).map(|e| {
        let (chunk, shift, lane) = (e / 128, (e % 128) / 32, e % 32);
        let q = (qs[chunk * 32 + lane] >> (2 * shift)) & 3;
        let scale = scales[e / 16];
        let dl = d * (scale & 0x0f) as f32;
        let ml = dmin * (scale >> 4) as f32;
        dl * q as f32 - ml
    }));
}

fn q3_k(block: &[u8], out: &mut Vec<f32>) {
    let (hmask, qs, packed) = (&block[q3_k::HMASK], &block[q3_k::QS], &block[q3_k::SCALES]);
    let d = f16_at(block, q3_k::D);
    let scale = |s: usize| {
        let low = if s < 8 {
            packed[s] & 0x0f
        } else {
            packed[s - 8] >> 4
        };
        let high = (packed[8 + s % 4] >> (2 * (s / 4))) & 3;
        ((low | (high << 4)) as i8 - 32) as f32
    };
    out.extend((0..256).map(|e| {
        let (chunk, shift, lane) = (e / 128, (e % 128) / 32, e % 32);
        let low = (qs[chunk * 32 + lane] >> (2 * shift)) & 3;
        let high_set = (hmask[lane] >> (e / 32)) & 1;
        let q = low as i8 - (((high_set ^ 1) << 2) as i8);
        (d * scale(e / 16)) * q as f32
    }));
}

/// The eight 6-bit (scale, min) pairs of a K-quant's 12 scale bytes.
fn k_scale_min(packed: &[u8], s: usize) -> (u8, u8) {
    if s < 4 {
        (packed[s] & 0x3f, packed[s + 4] & 0x3f)
    } else {
        let scale = (packed[s + 4] & 0x0f) | ((packed[s - 4] >> 2) & 0x30);
        let min = (packed[s + 4] >> 4) | ((packed[s] >> 2) & 0x30);
        (scale, min)
    }
}

fn q4_k(block: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (f16_at(block, q4_k::D), f16_at(block, q4_k::DMIN));
    let (packed, qs) = (&block[q4_k::SCALES], &block[q4_k::QS]);
    out.extend((0..256).map(|e| {
        let s = e / 32;
        let (scale, min) = k_scale_min(packed, s);
        let byte = qs[(s / 2) * 32 + e % 32];
        let q = if s % 2 == 0 { byte & 0x0f } else { byte >> 4 };
        (d * scale as f32) * q as f32 - dmin * min as f32
    }));
}

fn q5_k(block: &[u8], out: &mut Vec<f32>) {
    let (d, dmin) = (f16_at(block, q5_k::D), f16_at(block, q5_k::DMIN));
    let (packed, qh, qs) = (&block[q5_k::SCALES], &block[q5_k::QH], &block[q5_k::QS]);
    out.extend((0..256).map(|e| {
        let s = e / 32;
        let (scale, min) = k_scale_min(packed, s);
        let byte = qs[(s / 2) * 32 + e % 32];
        let low = if s % 2 == 0 { byte & 0x0f } else { byte >> 4 };
        let q = low | (((qh[e % 32] >> s) & 1) << 4);
        (d * scale as f32) * q as f32 - dmin * min as f32
    }));
}

fn q6_k(block: &[u8], out: &mut Vec<f32>) {
    let (ql, qh, scales) = (&block[q6_k::QL], &block[q6_k::QH], &block[q6_k::SCALES]);
    let d = f16_at(block, q6_k::D);
    out.extend((0..256).map(|e| {
        let chunk = e / 128;
        let (half_index, lane) = ((e % 128) / 64, e % 64);
        let byte = ql[chunk * 64 + lane];
        let low = if half_index == 0 {
            byte & 0x0f
        } else {
            byte >> 4
        };
        let high = (qh[chunk * 32 + e % 32] >> (2 * ((e % 128) / 32))) & 3;
        let q = (low | (high << 4)) as i8 - 32;
        (d * (scales[e / 16] as i8) as f32) * q as f32
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_blocks_and_unknown_types_are_refused() {
        let mut out = Vec::new();
        assert!(matches!(
            dequantize(GgmlType::Q8_0, &[0; 35], &mut out),
            Err(DequantError::PartialBlock { .. })
        ));
        assert_eq!(
            dequantize(GgmlType::IQ2_XXS, &[], &mut out),
            Err(DequantError::Unsupported(GgmlType::IQ2_XXS))
        );
    }
}
