//! Where each field of a ggml block lies, in bytes from the start of the
//! block (`ggml-common.h`, the `gguf` package's `quants.py`). The one source
//! of truth for both the reference dequantizers ([`super::dequantize`]) and
//! the unpacking the converter emits into modules (`hlo::quant::ggml`).
//! `d`, `m` and `dmin` are f16; the others are byte ranges.

/// `Q8_0`, 34 bytes: `d`, 32 × i8.
pub mod q8_0 {
    use std::ops::Range;
    /// The block scale.
    pub const D: usize = 0;
    /// The quants.
    pub const QS: Range<usize> = 2..34;
}

/// `Q4_0`, 18 bytes: `d`, 16 bytes of nibbles.
pub mod q4_0 {
    use std::ops::Range;
    /// The block scale.
    pub const D: usize = 0;
    /// The nibbles (low: elements 0–15, high: 16–31).
    pub const QS: Range<usize> = 2..18;
}

/// `Q4_1`, 20 bytes: `d`, `m`, 16 bytes of nibbles.
pub mod q4_1 {
    use std::ops::Range;
    /// The block scale.
    pub const D: usize = 0;
    /// The block minimum.
    pub const M: usize = 2;
    /// The nibbles.
    pub const QS: Range<usize> = 4..20;
}

/// `Q5_0`, 22 bytes: `d`, 32 fifth bits, 16 bytes of nibbles.
pub mod q5_0 {
    use std::ops::Range;
    /// The block scale.
    pub const D: usize = 0;
    /// The fifth bits, a little-endian u32.
    pub const QH: Range<usize> = 2..6;
    /// The nibbles.
    pub const QS: Range<usize> = 6..22;
}

/// `Q5_1`, 24 bytes: `d`, `m`, 32 fifth bits, 16 bytes of nibbles.
pub mod q5_1 {
    use std::ops::Range;
    /// The block scale.
    pub const D: usize = 0;
    /// The block minimum.
    pub const M: usize = 2;
    /// The fifth bits, a little-endian u32.
    pub const QH: Range<usize> = 4..8;
    /// The nibbles.
    pub const QS: Range<usize> = 8..24;
}

/// `Q2_K`, 84 bytes: 16 scale bytes (low nibble scale, high nibble min),
/// 64 bytes of 2-bit values, `d`, `dmin`.
pub mod q2_k {
    use std::ops::Range;
    /// The 4-bit scales and mins of the 16 groups.
    pub const SCALES: Range<usize> = 0..16;
    /// The 2-bit values.
    pub const QS: Range<usize> = 16..80;
    /// The super-block scale.
    pub const D: usize = 80;
    /// The super-block minimum scale.
    pub const DMIN: usize = 82;
}

/// `Q3_K`, 110 bytes: 32 bytes of high bits, 64 bytes of 2-bit values, 12
/// bytes of packed 6-bit scales, `d`.
pub mod q3_k {
    use std::ops::Range;
    /// The third bits.
    pub const HMASK: Range<usize> = 0..32;
    /// The low two bits.
    pub const QS: Range<usize> = 32..96;
    /// The 16 6-bit scales: low nibbles in the first 8 bytes, two high bits
    /// each in the last 4.
    pub const SCALES: Range<usize> = 96..108;
    /// The super-block scale.
    pub const D: usize = 108;
}

/// `Q4_K`, 144 bytes: `d`, `dmin`, 12 bytes of 6-bit scales and mins, 128
/// bytes of nibbles.
pub mod q4_k {
    use std::ops::Range;
    /// The super-block scale.
    pub const D: usize = 0;
    /// The super-block minimum scale.
    pub const DMIN: usize = 2;
    /// The eight 6-bit scales and mins, packed.
    pub const SCALES: Range<usize> = 4..16;
    /// The nibbles.
    pub const QS: Range<usize> = 16..144;
}

/// `Q5_K`, 176 bytes: as `Q4_K` with 32 bytes of fifth bits before the nibbles.
pub mod q5_k {
    use std::ops::Range;
    /// The super-block scale.
    pub const D: usize = 0;
    /// The super-block minimum scale.
    pub const DMIN: usize = 2;
    /// The eight 6-bit scales and mins, packed.
    pub const SCALES: Range<usize> = 4..16;
    /// The fifth bits.
    pub const QH: Range<usize> = 16..48;
    /// The nibbles.
    pub const QS: Range<usize> = 48..176;
}

/// `Q6_K`, 210 bytes: 128 bytes of low nibbles, 64 bytes of 2-bit highs,
/// 16 i8 scales, `d`.
pub mod q6_k {
    use std::ops::Range;
    /// The low four bits.
    pub const QL: Range<usize> = 0..128;
    /// The high two bits.
    pub const QH: Range<usize> = 128..192;
    /// The 16 signed group scales.
    pub const SCALES: Range<usize> = 192..208;
    /// The super-block scale.
    pub const D: usize = 208;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::GgmlType;

    #[test]
    fn each_layout_ends_where_its_block_does() {
        let ends = [
            (GgmlType::Q8_0, q8_0::QS.end),
            (GgmlType::Q4_0, q4_0::QS.end),
            (GgmlType::Q4_1, q4_1::QS.end),
            (GgmlType::Q5_0, q5_0::QS.end),
            (GgmlType::Q5_1, q5_1::QS.end),
            (GgmlType::Q2_K, q2_k::DMIN + 2),
            (GgmlType::Q3_K, q3_k::D + 2),
            (GgmlType::Q4_K, q4_k::QS.end),
            (GgmlType::Q5_K, q5_k::QS.end),
            (GgmlType::Q6_K, q6_k::D + 2),
        ];
        for (kind, end) in ends {
            assert_eq!(end as u64, kind.block_bytes(), "{kind}");
        }
    }
}
