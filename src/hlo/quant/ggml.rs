//! ggml blocks unpacked by StableHLO ops inside the module: the `.irpa`
//! holds a weight's GGUF blocks byte for byte (as `tensor<ROWS x BLOCKS x
//! BLOCK_BYTES x i8>`), and these ops turn them into f32 right before use —
//! slices, `bitcast_convert` of the f16 scales, shifts and masks for the
//! nibbles, high bits and packed 6-bit scales, `convert`, `multiply`,
//! `add`. Each format computes the same f32 operations, in the same order,
//! as [`crate::quant::dequantize`] (checked bit for bit through IREE's
//! runtime by `tests/packed_dequant.rs`).

use std::ops::Range;

use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::quant::layout::{q2_k, q3_k, q4_0, q4_1, q4_k, q5_0, q5_1, q5_k, q6_k, q8_0};
use crate::tensor::ElementType;
use crate::tensor::GgmlType;

/// Block formats the module can unpack.
pub const PACKED_FORMATS: [GgmlType; 10] = [
    GgmlType::Q8_0,
    GgmlType::Q4_0,
    GgmlType::Q4_1,
    GgmlType::Q5_0,
    GgmlType::Q5_1,
    GgmlType::Q2_K,
    GgmlType::Q3_K,
    GgmlType::Q4_K,
    GgmlType::Q5_K,
    GgmlType::Q6_K,
];

/// A K-quant weight's parts: `[rows, blocks, 256]` i8 nibbles (and fifth
/// bits, Q5_K) in element order, `[rows, blocks, 8]` f32 scales and
/// minimums of its blocks of 32.
pub(super) struct KQuantFields {
    pub(super) nibbles: ValueId,
    pub(super) fifth_bits: Option<ValueId>,
    pub(super) scales: ValueId,
    pub(super) minimums: ValueId,
}

/// A Q4_0/Q4_1/Q5_0/Q5_1 weight's parts: `[rows, blocks, 32]` i8 nibbles
/// (and fifth bits) in element order, `[rows, blocks]` f32 `d` (and `m`).
pub(super) struct Q4Q5Fields {
    pub(super) quants: ValueId,
    pub(super) fifth_bits: Option<ValueId>,
    pub(super) d: ValueId,
    pub(super) minimum: Option<ValueId>,
}

/// A `Q2_K`/`Q3_K`/`Q6_K` weight's parts: `[rows, blocks, 256]` i8 quants
/// in element order (`low`, and Q6_K's two high bits), `[rows, blocks, 16]`
/// f32 scales (and Q2_K's minimums) of its blocks of 16:
/// `w = scale·(low + 16·high - centre) - minimum`.
pub(super) struct SixteenFields {
    pub(super) low: ValueId,
    pub(super) high: Option<ValueId>,
    pub(super) centre: i64,
    pub(super) scales: ValueId,
    pub(super) minimums: Option<ValueId>,
}

impl FunctionBuilder<'_, '_> {
    /// The bytes `range` of every block (a field of [`crate::quant::layout`]).
    pub(super) fn bytes(
        &mut self,
        location: &str,
        blocks: ValueId,
        range: Range<usize>,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(blocks).shape.clone();
        let (mut from, mut to) = (vec![0; shape.len()], shape.clone());
        *from.last_mut().unwrap() = range.start as u64;
        *to.last_mut().unwrap() = range.end as u64;
        self.slice(
            &format!("{location}.bytes{}", range.start),
            blocks,
            &from,
            &to,
        )
    }

    /// The f16 field at byte `at` of every block, as f32 `[rows, blocks]`.
    pub(super) fn half_field(
        &mut self,
        location: &str,
        blocks: ValueId,
        at: usize,
    ) -> Result<ValueId, HloError> {
        let field = self.bytes(location, blocks, at..at + 2)?;
        let half =
            self.bitcast_convert(&format!("{location}.f16_{at}"), field, ElementType::F16)?;
        self.convert(&format!("{location}.f32_{at}"), half, ElementType::F32)
    }

    pub(super) fn bytes_like(
        &mut self,
        location: &str,
        like: ValueId,
        value: i64,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(like).shape.clone();
        self.splat_constant(location, ElementType::I8, &shape, value as f64)
    }

    /// `(x >> shift) & mask` on bytes, zero-filling.
    pub(super) fn bits(
        &mut self,
        location: &str,
        x: ValueId,
        shift: i64,
        mask: i64,
    ) -> Result<ValueId, HloError> {
        let shifted = if shift == 0 {
            x
        } else {
            let amount = self.bytes_like(&format!("{location}.shift"), x, shift)?;
            self.shift_right_logical(&format!("{location}.shr"), x, amount)?
        };
        let mask = self.bytes_like(&format!("{location}.mask"), x, mask)?;
        self.and(location, shifted, mask)
    }

    /// Joins `parts` (each `[..., n]`) along a new axis before the last:
    /// `[..., parts, n]`.
    pub(super) fn interleave(
        &mut self,
        location: &str,
        parts: &[ValueId],
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(parts[0]).shape.clone();
        let (last, rank) = (*shape.last().unwrap(), shape.len());
        let mut with_axis = shape[..rank - 1].to_vec();
        with_axis.extend([1, last]);
        let mut lifted = Vec::with_capacity(parts.len());
        for (index, &part) in parts.iter().enumerate() {
            lifted.push(self.reshape(&format!("{location}.lift{index}"), part, &with_axis)?);
        }
        self.concatenate(location, &lifted, rank as u64 - 1)
    }

    fn flatten_blocks(
        &mut self,
        location: &str,
        x: ValueId,
        rows: u64,
        blocks: u64,
        per_block: u64,
    ) -> Result<ValueId, HloError> {
        self.reshape(location, x, &[rows, blocks, per_block])
    }

    /// `scale` `[rows, blocks, groups]` repeated over `per_group` elements.
    fn spread(
        &mut self,
        location: &str,
        scale: ValueId,
        per_group: u64,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(scale).shape.clone();
        let mut wide = shape.clone();
        wide.push(per_group);
        let broadcast =
            self.broadcast_in_dim(&format!("{location}.spread"), scale, &wide, &[0, 1, 2])?;
        self.reshape(
            &format!("{location}.spread_flat"),
            broadcast,
            &[shape[0], shape[1], shape[2] * per_group],
        )
    }

    /// The block scale `[rows, blocks]` repeated over each block's elements.
    fn per_block(
        &mut self,
        location: &str,
        value: ValueId,
        elements: u64,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(value).shape.clone();
        self.broadcast_in_dim(location, value, &[shape[0], shape[1], elements], &[0, 1])
    }

    /// The 32 nibbles of 16 bytes: low nibbles, then high nibbles.
    fn nibbles_32(&mut self, location: &str, qs: ValueId) -> Result<ValueId, HloError> {
        let low = self.bits(&format!("{location}.low"), qs, 0, 0x0f)?;
        let high = self.bits(&format!("{location}.high"), qs, 4, 0x0f)?;
        self.concatenate(location, &[low, high], 2)
    }

    /// Bit `i` of the little-endian u32 in `bytes` `[rows, blocks, 4]`, for i in 0..32.
    pub(super) fn bit_per_element(
        &mut self,
        location: &str,
        bytes: ValueId,
        count: u64,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(bytes).shape.clone();
        let (rows, blocks, width) = (shape[0], shape[1], shape[2]);
        let wide = [rows, blocks, width, 8];
        let spread =
            self.broadcast_in_dim(&format!("{location}.spread"), bytes, &wide, &[0, 1, 2])?;
        let shifts = self.iota(&format!("{location}.bit"), ElementType::I8, &wide, 3)?;
        let shifted = self.shift_right_logical(&format!("{location}.shr"), spread, shifts)?;
        let one = self.bytes_like(&format!("{location}.one"), shifted, 1)?;
        let bit = self.and(&format!("{location}.and"), shifted, one)?;
        self.reshape(location, bit, &[rows, blocks, count])
    }

    fn float(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        self.convert(location, x, ElementType::F32)
    }

    /// Dequantizes `[rows, blocks, block_bytes]` i8 ggml blocks of `kind` to
    /// f32 `[rows, blocks · block_elements]`.
    pub fn dequantize_blocks(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "ggml dequantization";
        let shape = self.type_of(blocks).shape.clone();
        let expected = [kind.block_bytes()];
        if shape.len() != 3
            || shape[2..] != expected
            || self.type_of(blocks).element != ElementType::I8
        {
            let message = format!(
                "{} is not [rows, blocks, {}] i8 blocks",
                self.type_of(blocks),
                kind.block_bytes()
            );
            return Err(HloError::Shape {
                op: OP,
                location: location.into(),
                message,
            });
        }
        let (rows, count) = (shape[0], shape[1]);
        let per_block = kind.block_elements();
        let values = match kind {
            GgmlType::Q8_0 => self.q8_0(location, blocks)?,
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 => {
                self.q4_q5(location, blocks, kind)?
            }
            GgmlType::Q4_K | GgmlType::Q5_K => self.q4_k_q5_k(location, blocks, kind)?,
            GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q6_K => {
                self.sixteen(location, blocks, kind)?
            }
            other => {
                let message = format!(
                    "{other} blocks cannot be unpacked in the module yet (packed formats: {PACKED_FORMATS:?})"
                );
                return Err(HloError::Shape {
                    op: OP,
                    location: location.into(),
                    message,
                });
            }
        };
        self.reshape(location, values, &[rows, count * per_block])
    }

    fn q8_0(&mut self, location: &str, blocks: ValueId) -> Result<ValueId, HloError> {
        let d = self.half_field(location, blocks, q8_0::D)?;
        let qs = self.bytes(location, blocks, q8_0::QS)?;
        let q = self.float(&format!("{location}.q"), qs)?;
        let d = self.per_block(&format!("{location}.d"), d, 32)?;
        self.multiply(&format!("{location}.scaled"), q, d)
    }

    fn q4_q5(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<ValueId, HloError> {
        let fields = self.q4_q5_fields(location, blocks, kind)?;
        let mut q = fields.quants;
        if let Some(high) = fields.fifth_bits {
            let four = self.bytes_like(&format!("{location}.four"), high, 4)?;
            let shifted = self.shift_left(&format!("{location}.qh.shl"), high, four)?;
            q = self.or(&format!("{location}.q5"), q, shifted)?;
        }
        if fields.minimum.is_none() {
            let centre = if fields.fifth_bits.is_some() { 16 } else { 8 };
            let offset = self.bytes_like(&format!("{location}.offset"), q, centre)?;
            q = self.subtract(&format!("{location}.centered"), q, offset)?;
        }
        let q = self.float(&format!("{location}.q"), q)?;
        let d = self.per_block(&format!("{location}.d"), fields.d, 32)?;
        let scaled = self.multiply(&format!("{location}.scaled"), d, q)?;
        match fields.minimum {
            Some(m) => {
                let m = self.per_block(&format!("{location}.m"), m, 32)?;
                self.add(&format!("{location}.shifted"), scaled, m)
            }
            None => Ok(scaled),
        }
    }

    /// The parts of a Q4_0/Q4_1/Q5_0/Q5_1 weight: `w = d·(q - centre) [+ m]`
    /// with `q = nibble + 16·fifth bit` and the centre 8 (Q4_0) or 16 (Q5_0)
    /// where there is no minimum.
    pub(super) fn q4_q5_fields(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<Q4Q5Fields, HloError> {
        let (d, m, qh, qs) = match kind {
            GgmlType::Q4_0 => (q4_0::D, None, None, q4_0::QS),
            GgmlType::Q4_1 => (q4_1::D, Some(q4_1::M), None, q4_1::QS),
            GgmlType::Q5_0 => (q5_0::D, None, Some(q5_0::QH), q5_0::QS),
            _ => (q5_1::D, Some(q5_1::M), Some(q5_1::QH), q5_1::QS),
        };
        let d = self.half_field(location, blocks, d)?;
        let minimum = match m {
            Some(at) => Some(self.half_field(location, blocks, at)?),
            None => None,
        };
        let fifth_bits = match qh {
            Some(range) => {
                let bytes = self.bytes(location, blocks, range)?;
                Some(self.bit_per_element(&format!("{location}.qh"), bytes, 32)?)
            }
            None => None,
        };
        let qs = self.bytes(location, blocks, qs)?;
        Ok(Q4Q5Fields {
            quants: self.nibbles_32(&format!("{location}.qs"), qs)?,
            fifth_bits,
            d,
            minimum,
        })
    }

    /// The eight 6-bit scales and mins of a `Q4_K`/`Q5_K` block's 12 scale
    /// bytes (the same place in both): 4 bytes of scales' low bits, 4 of
    /// mins' low bits, 4 of both their high parts.
    fn k_scales_mins(
        &mut self,
        location: &str,
        blocks: ValueId,
    ) -> Result<(ValueId, ValueId), HloError> {
        let at = q4_k::SCALES.start;
        let d = self.bytes(location, blocks, at..at + 4)?;
        let m = self.bytes(location, blocks, at + 4..at + 8)?;
        let md = self.bytes(location, blocks, at + 8..q4_k::SCALES.end)?;
        let scale_low = self.bits(&format!("{location}.sc_lo"), d, 0, 0x3f)?;
        let scale_md = self.bits(&format!("{location}.sc_md"), md, 0, 0x0f)?;
        let scale_d = self.bits(&format!("{location}.sc_d"), d, 2, 0x30)?;
        let scale_high = self.or(&format!("{location}.sc_hi"), scale_md, scale_d)?;
        let scales =
            self.concatenate(&format!("{location}.scales"), &[scale_low, scale_high], 2)?;
        let min_low = self.bits(&format!("{location}.mn_lo"), m, 0, 0x3f)?;
        let min_md = self.bits(&format!("{location}.mn_md"), md, 4, 0x0f)?;
        let min_m = self.bits(&format!("{location}.mn_m"), m, 2, 0x30)?;
        let min_high = self.or(&format!("{location}.mn_hi"), min_md, min_m)?;
        let mins = self.concatenate(&format!("{location}.mins"), &[min_low, min_high], 2)?;
        Ok((scales, mins))
    }

    fn q4_k_q5_k(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<ValueId, HloError> {
        let fields = self.k_quant_fields(location, blocks, kind)?;
        let mut q = fields.nibbles;
        if let Some(bit) = fields.fifth_bits {
            let four = self.bytes_like(&format!("{location}.four"), bit, 4)?;
            let bit = self.shift_left(&format!("{location}.qh.shl"), bit, four)?;
            q = self.or(&format!("{location}.q5"), q, bit)?;
        }
        let q = self.float(&format!("{location}.q"), q)?;
        let ds = self.spread(&format!("{location}.ds"), fields.scales, 32)?;
        let dm = self.spread(&format!("{location}.dm"), fields.minimums, 32)?;
        let scaled = self.multiply(&format!("{location}.scaled"), ds, q)?;
        self.subtract(&format!("{location}.shifted"), scaled, dm)
    }

    /// A `Q4_K`/`Q5_K` weight's parts, per block of 32 (eight to a
    /// super-block): `w = scale·(nibble + 16·fifth bit) - minimum`.
    pub(super) fn k_quant_fields(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<KQuantFields, HloError> {
        let shape = self.type_of(blocks).shape.clone();
        let (rows, count) = (shape[0], shape[1]);
        let five_bit = kind == GgmlType::Q5_K;
        let d = self.half_field(location, blocks, q4_k::D)?;
        let dmin = self.half_field(location, blocks, q4_k::DMIN)?;
        let (scales, mins) = self.k_scales_mins(location, blocks)?;
        let qs = if five_bit { q5_k::QS } else { q4_k::QS };
        let qs = self.bytes(location, blocks, qs)?;
        let qs = self.reshape(&format!("{location}.qs.chunks"), qs, &[rows, count * 4, 32])?;
        let low = self.bits(&format!("{location}.low"), qs, 0, 0x0f)?;
        let high = self.bits(&format!("{location}.high"), qs, 4, 0x0f)?;
        let nibbles = self.interleave(&format!("{location}.nibbles"), &[low, high])?;
        let nibbles = self.flatten_blocks(&format!("{location}.q4"), nibbles, rows, count, 256)?;
        let fifth_bits = if five_bit {
            let qh = self.bytes(location, blocks, q5_k::QH)?;
            Some(self.bit_fields(&format!("{location}.qh"), qh, 1)?)
        } else {
            None
        };
        let scales = self.float(&format!("{location}.scales.f32"), scales)?;
        let mins = self.float(&format!("{location}.mins.f32"), mins)?;
        let d = self.per_block(&format!("{location}.d"), d, 8)?;
        let dmin = self.per_block(&format!("{location}.dmin"), dmin, 8)?;
        Ok(KQuantFields {
            nibbles,
            fifth_bits,
            scales: self.multiply(&format!("{location}.ds"), d, scales)?,
            minimums: self.multiply(&format!("{location}.dm"), dmin, mins)?,
        })
    }

    /// The 256 fields of `width` bits (1 or 2) packed in the bytes of
    /// every block's `bytes` (`[rows, blocks, 8·32/width... ]`: 32 bytes of
    /// single bits, or 64 bytes of pairs), lowest bits first within each run
    /// of 32 bytes: element `e` is bits `width·((e % c) / 32)` of byte
    /// `(e / c)·32 + e % 32`, where `c = 32·8/width` elements come from one run.
    fn bit_fields(
        &mut self,
        location: &str,
        bytes: ValueId,
        width: i64,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(bytes).shape.clone();
        let (rows, count, length) = (shape[0], shape[1], shape[2]);
        let (fields, runs) = (8 / width as u64, rows * count * length / 32);
        let lanes = self.reshape(&format!("{location}.chunks"), bytes, &[runs, 1, 32])?;
        let wide = [runs, fields, 32];
        let spread =
            self.broadcast_in_dim(&format!("{location}.spread"), lanes, &wide, &[0, 1, 2])?;
        let index = self.iota(&format!("{location}.index"), ElementType::I8, &wide, 1)?;
        let shifts = if width == 1 {
            index
        } else {
            let one = self.bytes_like(&format!("{location}.one"), index, 1)?;
            self.shift_left(&format!("{location}.shifts"), index, one)?
        };
        let shifted = self.shift_right_logical(&format!("{location}.shr"), spread, shifts)?;
        let mask = self.bytes_like(&format!("{location}.mask"), shifted, (1 << width) - 1)?;
        let values = self.and(&format!("{location}.and"), shifted, mask)?;
        self.flatten_blocks(&format!("{location}.flat"), values, rows, count, 256)
    }

    /// The 256 two-bit values of the 64 bytes `range`.
    fn two_bit_values(
        &mut self,
        location: &str,
        blocks: ValueId,
        range: Range<usize>,
    ) -> Result<ValueId, HloError> {
        let qs = self.bytes(location, blocks, range)?;
        self.bit_fields(&format!("{location}.q2"), qs, 2)
    }

    /// The parts of a `Q2_K`, `Q3_K` or `Q6_K` weight (sixteen blocks of
    /// 16 to a super-block, each with its own scale):
    /// `w = scale·(low + 16·high - centre) - minimum`.
    pub(super) fn sixteen_fields(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<SixteenFields, HloError> {
        match kind {
            GgmlType::Q2_K => self.q2_k_fields(location, blocks),
            GgmlType::Q3_K => self.q3_k_fields(location, blocks),
            _ => self.q6_k_fields(location, blocks),
        }
    }

    /// The exact f32 values of a `Q2_K`/`Q3_K`/`Q6_K` weight, the same
    /// operations in the same order as [`crate::quant::dequantize`].
    fn sixteen(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<ValueId, HloError> {
        let fields = self.sixteen_fields(location, blocks, kind)?;
        let mut q = fields.low;
        if let Some(high) = fields.high {
            let four = self.bytes_like(&format!("{location}.four"), high, 4)?;
            let high = self.shift_left(&format!("{location}.qh.shl"), high, four)?;
            q = self.or(&format!("{location}.q6"), q, high)?;
        }
        if fields.centre != 0 {
            let centre = self.bytes_like(&format!("{location}.offset"), q, fields.centre)?;
            q = self.subtract(&format!("{location}.centered"), q, centre)?;
        }
        let q = self.float(&format!("{location}.q"), q)?;
        let scales = self.spread(&format!("{location}.ds"), fields.scales, 16)?;
        let scaled = self.multiply(&format!("{location}.scaled"), scales, q)?;
        match fields.minimums {
            Some(minimums) => {
                let minimums = self.spread(&format!("{location}.ml"), minimums, 16)?;
                self.subtract(&format!("{location}.shifted"), scaled, minimums)
            }
            None => Ok(scaled),
        }
    }

    fn q2_k_fields(&mut self, location: &str, blocks: ValueId) -> Result<SixteenFields, HloError> {
        let scales = self.bytes(location, blocks, q2_k::SCALES)?;
        let q = self.two_bit_values(location, blocks, q2_k::QS)?;
        let d = self.half_field(location, blocks, q2_k::D)?;
        let dmin = self.half_field(location, blocks, q2_k::DMIN)?;
        let scale = self.bits(&format!("{location}.scale"), scales, 0, 0x0f)?;
        let min = self.bits(&format!("{location}.min"), scales, 4, 0x0f)?;
        let scale = self.float(&format!("{location}.scale.f32"), scale)?;
        let min = self.float(&format!("{location}.min.f32"), min)?;
        let d = self.per_block(&format!("{location}.d"), d, 16)?;
        let dmin = self.per_block(&format!("{location}.dmin"), dmin, 16)?;
        Ok(SixteenFields {
            low: q,
            high: None,
            centre: 0,
            scales: self.multiply(&format!("{location}.dl"), d, scale)?,
            minimums: Some(self.multiply(&format!("{location}.ml"), dmin, min)?),
        })
    }

    fn q3_k_fields(&mut self, location: &str, blocks: ValueId) -> Result<SixteenFields, HloError> {
        let shape = self.type_of(blocks).shape.clone();
        let (rows, count) = (shape[0], shape[1]);
        // Scales: low nibbles of the first 8 scale bytes then their high
        // nibbles, plus two high bits from the last 4; centered by 32.
        let packed_at = q3_k::SCALES.start;
        let packed = self.bytes(location, blocks, packed_at..packed_at + 8)?;
        let low = self.nibbles_of_8(&format!("{location}.sc.low"), packed)?;
        let extra = self.bytes(location, blocks, packed_at + 8..q3_k::SCALES.end)?;
        let wide = [rows, count, 4, 4];
        let spread =
            self.broadcast_in_dim(&format!("{location}.sc.spread"), extra, &wide, &[0, 1, 3])?;
        let group = self.iota(&format!("{location}.sc.group"), ElementType::I8, &wide, 2)?;
        let one = self.bytes_like(&format!("{location}.sc.one"), group, 1)?;
        let shifts = self.shift_left(&format!("{location}.sc.shifts"), group, one)?;
        let shifted = self.shift_right_logical(&format!("{location}.sc.shr"), spread, shifts)?;
        let three = self.bytes_like(&format!("{location}.sc.three"), shifted, 3)?;
        let high = self.and(&format!("{location}.sc.high"), shifted, three)?;
        let high = self.reshape(
            &format!("{location}.sc.high.flat"),
            high,
            &[rows, count, 16],
        )?;
        let four = self.bytes_like(&format!("{location}.sc.four"), high, 4)?;
        let high = self.shift_left(&format!("{location}.sc.high.shl"), high, four)?;
        let scales = self.or(&format!("{location}.sc"), low, high)?;
        let offset = self.bytes_like(&format!("{location}.sc.offset"), scales, 32)?;
        let scales = self.subtract(&format!("{location}.sc.centered"), scales, offset)?;
        let scales = self.float(&format!("{location}.sc.f32"), scales)?;
        // Values: two low bits from 32..96 and a third bit from the hmask;
        // the value is `q - 4` (4 subtracted where the hmask bit is clear).
        let low_bits = self.two_bit_values(location, blocks, q3_k::QS)?;
        let hmask = self.bytes(location, blocks, q3_k::HMASK)?;
        let bit = self.bit_fields(&format!("{location}.hm"), hmask, 1)?;
        let two = self.bytes_like(&format!("{location}.hm.two"), bit, 2)?;
        let third = self.shift_left(&format!("{location}.hm.third"), bit, two)?;
        let q = self.or(&format!("{location}.q3"), low_bits, third)?;
        let d = self.half_field(location, blocks, q3_k::D)?;
        let d = self.per_block(&format!("{location}.d"), d, 16)?;
        Ok(SixteenFields {
            low: q,
            high: None,
            centre: 4,
            scales: self.multiply(&format!("{location}.ds"), d, scales)?,
            minimums: None,
        })
    }

    /// The 16 nibbles of 8 bytes: low nibbles, then high nibbles.
    fn nibbles_of_8(&mut self, location: &str, bytes: ValueId) -> Result<ValueId, HloError> {
        let low = self.bits(&format!("{location}.lo"), bytes, 0, 0x0f)?;
        let high = self.bits(&format!("{location}.hi"), bytes, 4, 0x0f)?;
        self.concatenate(location, &[low, high], 2)
    }

    fn q6_k_fields(&mut self, location: &str, blocks: ValueId) -> Result<SixteenFields, HloError> {
        let shape = self.type_of(blocks).shape.clone();
        let (rows, count) = (shape[0], shape[1]);
        let ql = self.bytes(location, blocks, q6_k::QL)?;
        let ql = self.reshape(&format!("{location}.ql.chunks"), ql, &[rows, count * 2, 64])?;
        let low = self.bits(&format!("{location}.ql.low"), ql, 0, 0x0f)?;
        let high = self.bits(&format!("{location}.ql.high"), ql, 4, 0x0f)?;
        let nibbles = self.interleave(&format!("{location}.ql"), &[low, high])?;
        let nibbles =
            self.flatten_blocks(&format!("{location}.ql.flat"), nibbles, rows, count, 256)?;
        let qh = self.bytes(location, blocks, q6_k::QH)?;
        let high_bits = self.bit_fields(&format!("{location}.qh"), qh, 2)?;
        let scales = self.bytes(location, blocks, q6_k::SCALES)?;
        let scales = self.float(&format!("{location}.scales"), scales)?;
        let d = self.half_field(location, blocks, q6_k::D)?;
        let d = self.per_block(&format!("{location}.d"), d, 16)?;
        Ok(SixteenFields {
            low: nibbles,
            high: Some(high_bits),
            centre: 32,
            scales: self.multiply(&format!("{location}.ds"), d, scales)?,
            minimums: None,
        })
    }
}
