//! Integer contractions over packed ggml blocks: the fast form of `x · Wᵀ`
//! for a weight whose GGUF blocks sit verbatim in the `.irpa`.
//!
//! The activation is quantized in the module, per block of 32, to i16
//! ([`BlockActivation`]); the weight's nibble plane is read as `i4` through
//! `flow.tensor.bitcast` (no unpacking: IREE keeps it at 4 bits per weight,
//! data-tiled once at load), Q5_0/Q5_1 (nibbles and fifth bits) and Q8_0's
//! signed bytes as two such planes made once at load (IREE has no fast i16×i8 kernel: 18 ms against 4 for the
//! SmolLM2 output projection); one `linalg.generic` contracts
//! `extsi i16 × extui i4 → i32` per block, which IREE maps onto its integer
//! matvec/matmul kernels; and an epilogue in `[rows, blocks]` layout applies
//! the block scales and sums over the blocks (`quant-findings.md`, round 2:
//! the other layouts are 3–7× slower).
//!
//! What is computed, for an activation row `x` and a weight row of blocks
//! `g` with scale `d`, offset `c` and quants `q`:
//!
//! ```text
//! amax[g] = max(max |x[g, :]|, 1e-30)     s[g] = amax[g] / 32767
//! xq[g, k] = rint(x[g, k] · (32767 / amax[g]))     (i16, |xq| ≤ 32767)
//! y = Σ_g d[g] · (s[g] · Σ_k xq[g, k] · q[g, k]) + c[g] · Σ_k x[g, k]
//! ```
//!
//! with `c = m` for Q4_1 (`w = d·q + m`), `c = -8·d` for Q4_0
//! (`w = d·(q - 8)`); the wider formats are `w = d·(low + 16·high) + c`
//! over two planes of unsigned nibbles (scales `d` and `16·d`, the offset
//! on the low one): Q5_0 `c = -16·d`, Q5_1 `c = m`, Q8_0 (`q` signed,
//! `u = q + 128` split) `c = -128·d`: the dequantized product, except for the i16 rounding
//! of the activation (relative error below 2⁻¹⁵ per element).

use crate::hlo::HloError;
use crate::hlo::Reduction;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::types::TensorType;
use crate::quant::layout::{q4_0, q4_1, q5_0, q5_1, q8_0};
use crate::tensor::{ElementType, GgmlType};
use melior::ir::attribute::DenseI32ArrayAttribute;
use melior::ir::block::BlockLike;
use melior::ir::operation::OperationBuilder;
use melior::ir::{Attribute, Block, Identifier, Region, RegionLike, Type, Value};

/// Block formats with an integer contraction; the others are unpacked to
/// f32 (`ggml.rs`) before a float `dot_general`.
pub const CONTRACTED_FORMATS: [GgmlType; 10] = [
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

/// Elements per block of the formats with blocks of 32.
const BLOCK: u64 = 32;

/// The integer kernel a contraction is shaped for: IREE 3.13 has a fast
/// i16 × u4 kernel only on CPUs with AVX-512 VNNI; its i8 × i8 kernels
/// run everywhere (measured on one 1536×576 matvec, AVX2 only: i16×i4
/// 0.61 ms, i8×i8 0.083 ms, f32 0.17 ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntegerKernel {
    /// The weight's quants read as `i4` planes (4 bits a weight resident),
    /// `extsi i16 × extui i4`.
    Nibbles,
    /// The weight's quants widened once at load to one `i8` per weight,
    /// the i16 activation split into two i8 rows (`x = 256·hi + lo + 128`
    /// with `lo` re-centred), `extsi i8 × extsi i8`: the same arithmetic.
    Bytes,
}

impl IntegerKernel {
    /// The name `--int-kernel` takes and the manifest records.
    pub fn name(self) -> &'static str {
        match self {
            Self::Nibbles => "nibbles",
            Self::Bytes => "bytes",
        }
    }
}

impl std::str::FromStr for IntegerKernel {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "nibbles" => Ok(Self::Nibbles),
            "bytes" => Ok(Self::Bytes),
            other => Err(format!(
                "unknown integer kernel `{other}`: use nibbles or bytes"
            )),
        }
    }
}

/// How an activation is cut into blocks, each quantized with its own
/// scale: the blocks of the weight it meets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActivationBlocks {
    /// Blocks of 32 in nibble order ([`nibble_order`]): Q4_0, Q4_1, Q5_0,
    /// Q5_1, Q8_0, Q4_K, Q5_K under [`IntegerKernel::Nibbles`].
    Nibbles32,
    /// Blocks of 32 in element order: the same formats under
    /// [`IntegerKernel::Bytes`].
    Linear32,
    /// Blocks of 16 in element order: Q2_K, Q3_K and Q6_K, whose scales
    /// are per 16 elements (their quants are re-packed to match at load).
    Linear16,
}

impl ActivationBlocks {
    /// The blocks an activation meeting a `kind` weight is quantized in.
    pub fn for_format(kind: GgmlType, kernel: IntegerKernel) -> Self {
        match (kind, kernel) {
            (GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q6_K, _) => Self::Linear16,
            (_, IntegerKernel::Nibbles) => Self::Nibbles32,
            (_, IntegerKernel::Bytes) => Self::Linear32,
        }
    }

    /// Elements per block.
    pub fn elements(self) -> u64 {
        match self {
            Self::Nibbles32 | Self::Linear32 => BLOCK,
            Self::Linear16 => 16,
        }
    }
}

/// A weight's quants as one i8 per element (`[N, G, B]`, blocks of `B` in
/// element order) with their block scale and offset: `w = d·q + c`.
struct BytePlane {
    quants: ValueId,
    d: ValueId,
    offset: ValueId,
}

/// The largest i16 magnitude an activation is scaled to.
const I16_LIMIT: f64 = 32767.0;

/// An activation `[rows, K]` quantized per block of 32 for integer
/// contractions. Made once per input and shared by every projection that
/// reads it (q/k/v, gate/up).
#[derive(Clone, Copy, Debug)]
pub struct BlockActivation {
    /// How the blocks are cut and ordered.
    pub blocks: ActivationBlocks,
    /// `[rows, K/B, B]` i16 for blocks of `B`, each block's elements in the
    /// order its weights' `i4` read (see [`ActivationBlocks`]).
    pub values: ValueId,
    /// `[rows, K/B]` f32: what one unit of `values` is worth.
    pub scales: ValueId,
    /// `[rows, K/B]` f32: the exact sum of each block's elements.
    pub sums: ValueId,
}

/// The order in which a 16-byte nibble plane read as 32 `i4` presents a
/// block's elements: byte `j` holds element `j` (low nibble) and `j + 16`
/// (high nibble), and `i4` element `2j` is the low nibble of byte `j`. So
/// position `2j` is element `j` and `2j + 1` is element `j + 16`.
pub fn nibble_order() -> [usize; 32] {
    std::array::from_fn(|position| position / 2 + (position % 2) * 16)
}

/// A weight of more than 4 bits as two planes of 4-bit quants, each
/// `[N, G, 16]` bytes in ggml's Q4 layout: `w = d·(low + 16·high) + c`.
struct TwoPlanes {
    low: ValueId,
    high: ValueId,
    /// `d`, `[N, G]` f32.
    d: ValueId,
    /// `c`, `[N, G]` f32.
    offset: ValueId,
}

impl<'c> FunctionBuilder<'_, 'c> {
    /// Quantizes `x` (`[rows, K]` f32, `K` a multiple of the block) per
    /// block to i16, in the order `blocks` states.
    pub fn quantize_activation(
        &mut self,
        location: &str,
        x: ValueId,
        blocks: ActivationBlocks,
    ) -> Result<BlockActivation, HloError> {
        let shape = self.type_of(x).shape.clone();
        let [rows, columns] = shape[..] else {
            return Err(self.contract_error(location, format!("activation {shape:?} is not 2-D")));
        };
        let block = blocks.elements();
        if columns % block != 0 {
            return Err(self.contract_error(
                location,
                format!("{columns} columns are not whole blocks of {block}"),
            ));
        }
        let layout = blocks;
        let blocks = columns / block;
        let ordered = match layout {
            ActivationBlocks::Linear16 | ActivationBlocks::Linear32 => {
                self.reshape(&format!("{location}.blocks"), x, &[rows, blocks, block])?
            }
            ActivationBlocks::Nibbles32 => {
                // [rows, G, 2, 16] → [rows, G, 16, 2]: element j + 16·h lands at 2j + h.
                let halves =
                    self.reshape(&format!("{location}.halves"), x, &[rows, blocks, 2, 16])?;
                let paired = self.transpose(&format!("{location}.pairs"), halves, &[0, 1, 3, 2])?;
                self.reshape(
                    &format!("{location}.nibble_order"),
                    paired,
                    &[rows, blocks, block],
                )?
            }
        };
        let magnitude = self.abs(&format!("{location}.abs"), ordered)?;
        let amax = self.reduce(&format!("{location}.amax"), magnitude, &[2], Reduction::Max)?;
        let floor = self.splat_constant(
            &format!("{location}.floor"),
            ElementType::F32,
            &[rows, blocks],
            1e-30,
        )?;
        let amax = self.maximum(&format!("{location}.amax_floor"), amax, floor)?;
        let limit = self.splat_constant(
            &format!("{location}.limit"),
            ElementType::F32,
            &[rows, blocks],
            I16_LIMIT,
        )?;
        let inverse = self.divide(&format!("{location}.inverse"), limit, amax)?;
        let scales = self.divide(&format!("{location}.scale"), amax, limit)?;
        let spread = self.broadcast_in_dim(
            &format!("{location}.inverse_spread"),
            inverse,
            &[rows, blocks, block],
            &[0, 1],
        )?;
        let scaled = self.multiply(&format!("{location}.scaled"), ordered, spread)?;
        let rounded = self.round_nearest_even(&format!("{location}.rint"), scaled)?;
        let values = self.convert(&format!("{location}.i16"), rounded, ElementType::I16)?;
        let sums = self.reduce(&format!("{location}.sum"), ordered, &[2], Reduction::Sum)?;
        Ok(BlockActivation {
            blocks: layout,
            values,
            scales,
            sums,
        })
    }

    /// `x · Wᵀ` for `x` quantized by [`Self::quantize_activation`] (in the
    /// blocks [`ActivationBlocks::for_format`] gives) and `W` a weight's
    /// blocks `[N, K/32, block bytes]` i8 in one of [`CONTRACTED_FORMATS`],
    /// contracted for `kernel`: `[rows, N]` f32.
    pub fn packed_linear(
        &mut self,
        location: &str,
        x: &BlockActivation,
        blocks: ValueId,
        kind: GgmlType,
        kernel: IntegerKernel,
    ) -> Result<ValueId, HloError> {
        let shape = self.type_of(blocks).shape.clone();
        let [outputs, groups, _] = shape[..] else {
            return Err(self.contract_error(location, format!("blocks {shape:?} are not 3-D")));
        };
        let wanted = ActivationBlocks::for_format(kind, kernel);
        if x.blocks != wanted {
            return Err(self.contract_error(
                location,
                format!(
                    "{kind} needs an activation in {wanted:?} blocks, not {:?}",
                    x.blocks
                ),
            ));
        }
        if kernel == IntegerKernel::Bytes {
            return self.byte_linear(location, x, blocks, kind);
        }
        match kind {
            GgmlType::Q4_K | GgmlType::Q5_K => {
                return self.k_quant_linear(location, x, blocks, kind, [outputs, groups * 8]);
            }
            GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q6_K => {
                return self.sixteen_linear(location, x, blocks, kind, [outputs, groups * 16]);
            }
            _ => {}
        }
        if let Some(planes) = self.two_planes(location, blocks, kind, [outputs, groups])? {
            return self.two_plane_linear(location, x, planes, [outputs, groups]);
        }
        let (scale, offset, nibbles) = match kind {
            GgmlType::Q4_0 => {
                let d = self.half_field(location, blocks, q4_0::D)?;
                let offset = self.scaled_by(location, d, -8.0, [outputs, groups])?;
                (d, offset, q4_0::QS)
            }
            GgmlType::Q4_1 => {
                let d = self.half_field(location, blocks, q4_1::D)?;
                let m = self.half_field(location, blocks, q4_1::M)?;
                (d, m, q4_1::QS)
            }
            other => {
                return Err(self.contract_error(
                    location,
                    format!("{other} has no integer contraction (formats: {CONTRACTED_FORMATS:?})"),
                ));
            }
        };
        let plane = self.bytes(location, blocks, nibbles)?;
        self.one_plane_linear(location, x, plane, [scale, offset], [outputs, groups])
    }

    /// `x · Wᵀ` for `W` one plane of 4-bit quants `[N, G, B/2]` bytes
    /// ordered as `x`'s blocks of `B`, `w = d·q + c`.
    fn one_plane_linear(
        &mut self,
        location: &str,
        x: &BlockActivation,
        plane: ValueId,
        [scale, offset]: [ValueId; 2],
        [outputs, groups]: [u64; 2],
    ) -> Result<ValueId, HloError> {
        let block = 2 * self.type_of(plane).shape[2];
        let quants = self.tensor_bitcast(
            &format!("{location}.i4"),
            plane,
            TensorType::new(&[outputs, groups, block], ElementType::I4),
        )?;
        let rows = self.type_of(x.values).shape[0];
        let products = self.block_dot(location, x.values, quants)?;
        let shape = [rows, outputs, groups];
        self.block_epilogue(location, products, x, [scale, offset], shape)
    }

    /// Q4_K and Q5_K, whose super-blocks of 256 hold eight blocks of 32
    /// with their own 6-bit scale and minimum: `w = d·sc·q - dmin·m`. The
    /// nibbles of a super-block pair elements `j` and `j + 32`, not `j + 16`,
    /// so they are re-packed per block of 32 at load (same size); Q5_K's
    /// fifth bits become a second plane.
    fn k_quant_linear(
        &mut self,
        location: &str,
        x: &BlockActivation,
        blocks: ValueId,
        kind: GgmlType,
        [outputs, groups]: [u64; 2],
    ) -> Result<ValueId, HloError> {
        let fields = self.k_quant_fields(location, blocks, kind)?;
        let per_block = [outputs, groups, BLOCK];
        let nibbles = self.reshape(&format!("{location}.blocks"), fields.nibbles, &per_block)?;
        let low = self.pack_nibbles(&format!("{location}.low"), nibbles)?;
        let scale = self.reshape(
            &format!("{location}.d_sc"),
            fields.scales,
            &[outputs, groups],
        )?;
        let minimum = self.reshape(
            &format!("{location}.dmin_m"),
            fields.minimums,
            &[outputs, groups],
        )?;
        let offset = self.scaled_by(location, minimum, -1.0, [outputs, groups])?;
        let Some(fifth_bits) = fields.fifth_bits else {
            return self.one_plane_linear(location, x, low, [scale, offset], [outputs, groups]);
        };
        let bits = self.reshape(&format!("{location}.fifth_blocks"), fifth_bits, &per_block)?;
        let high = self.pack_nibbles(&format!("{location}.fifth"), bits)?;
        let planes = TwoPlanes {
            low,
            high,
            d: scale,
            offset,
        };
        self.two_plane_linear(location, x, planes, [outputs, groups])
    }

    /// Q2_K, Q3_K and Q6_K, whose super-blocks of 256 hold sixteen blocks
    /// of 16 with their own scale: `w = scale·(q - centre) - minimum`. The
    /// quants are re-packed at load two to a byte in element order, to meet
    /// an activation in [`ActivationBlocks::Linear16`]: Q2_K's 2-bit and
    /// Q3_K's 3-bit quants as one 4-bit plane (4 bits per weight, against
    /// 2.6 and 3.4 in the GGUF), Q6_K's as its low nibbles and its two high
    /// bits as a second plane (8 bits against 6.6).
    fn sixteen_linear(
        &mut self,
        location: &str,
        x: &BlockActivation,
        blocks: ValueId,
        kind: GgmlType,
        [outputs, groups]: [u64; 2],
    ) -> Result<ValueId, HloError> {
        let fields = self.sixteen_fields(location, blocks, kind)?;
        let per_block = [outputs, groups, 16];
        let shape = [outputs, groups];
        let low = self.reshape(&format!("{location}.blocks"), fields.low, &per_block)?;
        let low = self.pack_pairs(&format!("{location}.low"), low)?;
        let scale = self.reshape(&format!("{location}.d_sc"), fields.scales, &shape)?;
        let offset = match fields.minimums {
            Some(minimum) => {
                let minimum = self.reshape(&format!("{location}.dmin_m"), minimum, &shape)?;
                self.scaled_by(location, minimum, -1.0, shape)?
            }
            None => self.scaled_by(location, scale, -(fields.centre as f64), shape)?,
        };
        let Some(high) = fields.high else {
            return self.one_plane_linear(location, x, low, [scale, offset], shape);
        };
        let high = self.reshape(&format!("{location}.high_blocks"), high, &per_block)?;
        let high = self.pack_pairs(&format!("{location}.high"), high)?;
        let planes = TwoPlanes {
            low,
            high,
            d: scale,
            offset,
        };
        self.two_plane_linear(location, x, planes, shape)
    }

    /// Quants `[.., 16]` (one per byte, each below 16) packed two to a
    /// byte in element order: byte `j` = element `2j` | element `2j + 1` << 4,
    /// so `i4` element `k` of the bytes is element `k`.
    fn pack_pairs(&mut self, location: &str, quants: ValueId) -> Result<ValueId, HloError> {
        let shape = self.type_of(quants).shape.clone();
        let [outputs, groups, 16] = shape[..] else {
            return Err(
                self.contract_error(location, format!("quants {shape:?} are not [N, G, 16]"))
            );
        };
        let pairs = self.reshape(
            &format!("{location}.pairs"),
            quants,
            &[outputs, groups, 8, 2],
        )?;
        let mut halves = Vec::with_capacity(2);
        for half in 0..2 {
            let part = self.slice(
                &format!("{location}.half{half}"),
                pairs,
                &[0, 0, 0, half],
                &[outputs, groups, 8, half + 1],
            )?;
            halves.push(self.reshape(
                &format!("{location}.half{half}.flat"),
                part,
                &[outputs, groups, 8],
            )?);
        }
        let four = self.bytes_like(&format!("{location}.four"), halves[1], 4)?;
        let shifted = self.shift_left(&format!("{location}.shl"), halves[1], four)?;
        self.or(&format!("{location}.packed"), halves[0], shifted)
    }

    /// A weight of more than 4 bits as two 4-bit planes in ggml's Q4 byte
    /// layout, `w = d·(low + 16·high) + c`: Q8_0 (see [`Self::q8_0_planes`],
    /// `c = -128·d`), Q5_0 (`low` its nibbles, `high` its fifth bits,
    /// `c = -16·d`) and Q5_1 (`c = m`); `None` for the 4-bit formats.
    fn two_planes(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
        shape: [u64; 2],
    ) -> Result<Option<TwoPlanes>, HloError> {
        let (d, fifth_bits, nibbles) = match kind {
            GgmlType::Q8_0 => {
                let [low, high] = self.q8_0_planes(location, blocks)?;
                let d = self.half_field(location, blocks, q8_0::D)?;
                let offset = self.scaled_by(location, d, -128.0, shape)?;
                return Ok(Some(TwoPlanes {
                    low,
                    high,
                    d,
                    offset,
                }));
            }
            GgmlType::Q5_0 => (q5_0::D, q5_0::QH, q5_0::QS),
            GgmlType::Q5_1 => (q5_1::D, q5_1::QH, q5_1::QS),
            _ => return Ok(None),
        };
        let d = self.half_field(location, blocks, d)?;
        let offset = match kind {
            GgmlType::Q5_1 => self.half_field(location, blocks, q5_1::M)?,
            _ => self.scaled_by(location, d, -16.0, shape)?,
        };
        let low = self.bytes(location, blocks, nibbles)?;
        let bytes = self.bytes(location, blocks, fifth_bits)?;
        let bits = self.bit_per_element(&format!("{location}.qh"), bytes, 32)?;
        let high = self.pack_nibbles(&format!("{location}.fifth"), bits)?;
        Ok(Some(TwoPlanes {
            low,
            high,
            d,
            offset,
        }))
    }

    /// `x · Wᵀ` for `W` as [`TwoPlanes`]: block `g` becomes blocks
    /// `(g, low)` with scale `d` and offset `c`, and `(g, high)` with scale
    /// `16·d`; the activation's block `g` serves both.
    fn two_plane_linear(
        &mut self,
        location: &str,
        x: &BlockActivation,
        planes: TwoPlanes,
        [outputs, groups]: [u64; 2],
    ) -> Result<ValueId, HloError> {
        let plane_bytes = self.type_of(planes.low).shape[2];
        let joined = self.interleave(&format!("{location}.planes"), &[planes.low, planes.high])?;
        let bytes = self.reshape(
            &format!("{location}.plane_blocks"),
            joined,
            &[outputs, 2 * groups, plane_bytes],
        )?;
        let quants = self.tensor_bitcast(
            &format!("{location}.i4"),
            bytes,
            TensorType::new(&[outputs, 2 * groups, 2 * plane_bytes], ElementType::I4),
        )?;
        let high_scale = self.scaled_by(location, planes.d, 16.0, [outputs, groups])?;
        let zero = self.f32_splat(&format!("{location}.zero_offset"), &[outputs, groups], 0.0)?;
        let scale = self.per_plane(&format!("{location}.scales"), [planes.d, high_scale])?;
        let offset = self.per_plane(&format!("{location}.offsets"), [planes.offset, zero])?;
        let doubled = BlockActivation {
            blocks: x.blocks,
            values: self.per_plane(&format!("{location}.x"), [x.values, x.values])?,
            scales: self.per_plane(&format!("{location}.x_scales"), [x.scales, x.scales])?,
            sums: self.per_plane(&format!("{location}.x_sums"), [x.sums, x.sums])?,
        };
        let rows = self.type_of(x.values).shape[0];
        let products = self.block_dot(location, doubled.values, quants)?;
        let shape = [rows, outputs, 2 * groups];
        self.block_epilogue(location, products, &doubled, [scale, offset], shape)
    }

    /// `x · Wᵀ` for [`IntegerKernel::Bytes`]: the weight's quants as one
    /// i8 per element (widened once at load), the i16 activation split into
    /// two i8 rows contracted in one `linalg.generic`, recombined exactly
    /// in i32: `xq = 256·hi + lo + 128` with `hi = xq >> 8`,
    /// `lo = (xq & 255) - 128`, so `Σ xq·q = 256·Σ hi·q + Σ lo·q + 128·Σ q`
    /// (`Σ q` per block computed at load).
    fn byte_linear(
        &mut self,
        location: &str,
        x: &BlockActivation,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<ValueId, HloError> {
        let plane = self.byte_plane(location, blocks, kind)?;
        let [outputs, groups, _] = self.type_of(plane.quants).shape[..] else {
            unreachable!("byte planes are [N, G, B]");
        };
        let rows = self.type_of(x.values).shape[0];
        let halves = self.split_activation(location, x.values)?;
        let both = self.block_dot(location, halves, plane.quants)?;
        let high = self.slice(
            &format!("{location}.high_rows"),
            both,
            &[0, 0, 0],
            &[rows, outputs, groups],
        )?;
        let low = self.slice(
            &format!("{location}.low_rows"),
            both,
            &[rows, 0, 0],
            &[2 * rows, outputs, groups],
        )?;
        let wide = self.convert(&format!("{location}.q.i32"), plane.quants, ElementType::I32)?;
        let quant_sums = self.reduce(&format!("{location}.q_sums"), wide, &[2], Reduction::Sum)?;
        let shape = [rows, outputs, groups];
        let quant_sums = self.broadcast_in_dim(
            &format!("{location}.q_sums.rows"),
            quant_sums,
            &shape,
            &[1, 2],
        )?;
        let times = |f: &mut Self, name: &str, value: ValueId, factor: f64| {
            let factor = f.splat_constant(
                &format!("{location}.{name}"),
                ElementType::I32,
                &shape,
                factor,
            )?;
            f.multiply(&format!("{location}.{name}.times"), value, factor)
        };
        let high = times(self, "times256", high, 256.0)?;
        let centre = times(self, "times128", quant_sums, 128.0)?;
        let partial = self.add(&format!("{location}.recombined_low"), high, low)?;
        let products = self.add(&format!("{location}.recombined"), partial, centre)?;
        self.block_epilogue(location, products, x, [plane.d, plane.offset], shape)
    }

    /// `[rows, G, B]` i16 as `[2·rows, G, B]` i8: the rows of `xq >> 8`,
    /// then those of `(xq & 255) - 128`.
    fn split_activation(&mut self, location: &str, values: ValueId) -> Result<ValueId, HloError> {
        let shape = self.type_of(values).shape.clone();
        let constant = |f: &mut Self, name: &str, value: f64| {
            f.splat_constant(
                &format!("{location}.{name}"),
                ElementType::I16,
                &shape,
                value,
            )
        };
        let eight = constant(self, "eight", 8.0)?;
        let high = self.shift_right_arithmetic(&format!("{location}.x_high"), values, eight)?;
        let mask = constant(self, "low_mask", 255.0)?;
        let low = self.and(&format!("{location}.x_low"), values, mask)?;
        let centre = constant(self, "low_centre", 128.0)?;
        let low = self.subtract(&format!("{location}.x_low_centred"), low, centre)?;
        let high = self.convert(&format!("{location}.x_high.i8"), high, ElementType::I8)?;
        let low = self.convert(&format!("{location}.x_low.i8"), low, ElementType::I8)?;
        self.concatenate(&format!("{location}.x_bytes"), &[high, low], 0)
    }

    /// A weight's quants as one i8 per element in element order, blocks of
    /// 32 (16 for Q2_K, Q3_K, Q6_K), with their scales and offsets. Built
    /// from the parameter alone, so IREE computes it once at load.
    fn byte_plane(
        &mut self,
        location: &str,
        blocks: ValueId,
        kind: GgmlType,
    ) -> Result<BytePlane, HloError> {
        let shape = self.type_of(blocks).shape.clone();
        let (outputs, count) = (shape[0], shape[1]);
        let widen = |f: &mut Self, low: ValueId, high: Option<ValueId>| match high {
            Some(high) => {
                let four = f.bytes_like(&format!("{location}.four"), high, 4)?;
                let high = f.shift_left(&format!("{location}.high.shl"), high, four)?;
                f.or(&format!("{location}.quants"), low, high)
            }
            None => Ok(low),
        };
        let (quants, d, offset, block) = match kind {
            GgmlType::Q8_0 => {
                let quants = self.q8_0_bytes(location, blocks)?;
                let d = self.half_field(location, blocks, q8_0::D)?;
                let zero =
                    self.f32_splat(&format!("{location}.no_offset"), &[outputs, count], 0.0)?;
                (quants, d, zero, BLOCK)
            }
            GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 => {
                let fields = self.q4_q5_fields(location, blocks, kind)?;
                let quants = widen(self, fields.quants, fields.fifth_bits)?;
                let centre = if fields.fifth_bits.is_some() {
                    16.0
                } else {
                    8.0
                };
                let offset = match fields.minimum {
                    Some(m) => m,
                    None => self.scaled_by(location, fields.d, -centre, [outputs, count])?,
                };
                (quants, fields.d, offset, BLOCK)
            }
            GgmlType::Q4_K | GgmlType::Q5_K => {
                let fields = self.k_quant_fields(location, blocks, kind)?;
                let quants = widen(self, fields.nibbles, fields.fifth_bits)?;
                let groups = [outputs, count * 8];
                let d = self.reshape(&format!("{location}.d_sc"), fields.scales, &groups)?;
                let minimum =
                    self.reshape(&format!("{location}.dmin_m"), fields.minimums, &groups)?;
                let offset = self.scaled_by(location, minimum, -1.0, groups)?;
                (quants, d, offset, BLOCK)
            }
            GgmlType::Q2_K | GgmlType::Q3_K | GgmlType::Q6_K => {
                let fields = self.sixteen_fields(location, blocks, kind)?;
                let quants = widen(self, fields.low, fields.high)?;
                let groups = [outputs, count * 16];
                let d = self.reshape(&format!("{location}.d_sc"), fields.scales, &groups)?;
                let mut offset = self.scaled_by(location, d, -(fields.centre as f64), groups)?;
                if let Some(minimum) = fields.minimums {
                    let minimum = self.reshape(&format!("{location}.dmin_m"), minimum, &groups)?;
                    offset = self.subtract(&format!("{location}.offset"), offset, minimum)?;
                }
                (quants, d, offset, 16)
            }
            other => {
                return Err(self.contract_error(
                    location,
                    format!("{other} has no integer contraction (formats: {CONTRACTED_FORMATS:?})"),
                ));
            }
        };
        let elements = self.type_of(quants).shape.iter().product::<u64>();
        let groups = elements / outputs / block;
        let quants = self.reshape(
            &format!("{location}.byte_blocks"),
            quants,
            &[outputs, groups, block],
        )?;
        Ok(BytePlane { quants, d, offset })
    }

    /// `value · factor`, `value` of `shape` f32.
    fn scaled_by(
        &mut self,
        location: &str,
        value: ValueId,
        factor: f64,
        shape: [u64; 2],
    ) -> Result<ValueId, HloError> {
        let factor_value = self.f32_splat(&format!("{location}.times{factor}"), &shape, factor)?;
        self.multiply(&format!("{location}.by{factor}"), value, factor_value)
    }

    /// Q8_0's quants `q` (signed bytes) as two planes of unsigned nibbles,
    /// `[N, G, 16]` bytes each: with `u = q + 128` (the top bit flipped),
    /// `q = low + 16·high - 128` for `low = u & 15`, `high = u >> 4`.
    /// Computed from the parameter alone, so IREE runs it once at load; the
    /// planes are as large as the quants.
    fn q8_0_planes(&mut self, location: &str, blocks: ValueId) -> Result<[ValueId; 2], HloError> {
        let quants = self.bytes(location, blocks, q8_0::QS)?;
        let flip = self.bytes_like(&format!("{location}.flip"), quants, -128)?;
        let unsigned = self.add(&format!("{location}.unsigned"), quants, flip)?;
        let low = self.bits(&format!("{location}.low"), unsigned, 0, 15)?;
        let high = self.bits(&format!("{location}.high"), unsigned, 4, 15)?;
        Ok([
            self.pack_nibbles(&format!("{location}.low"), low)?,
            self.pack_nibbles(&format!("{location}.high"), high)?,
        ])
    }

    /// Q8_0's quants, computed from the blocks rather than sliced: IREE
    /// fuses a bare slice of the parameter into the contraction's
    /// dispatch (which then cannot be data-tiled and fails to compile for
    /// SmolLM2's 49152-row table, "exceeded stack allocation limit"); an
    /// elementwise tree it hoists, tiled once at load. The nibbles of
    /// `u = q + 128` recombined, `q = (low | high << 4) - 128` (in i8).
    fn q8_0_bytes(&mut self, location: &str, blocks: ValueId) -> Result<ValueId, HloError> {
        let quants = self.bytes(location, blocks, q8_0::QS)?;
        let flip = self.bytes_like(&format!("{location}.flip"), quants, -128)?;
        let unsigned = self.add(&format!("{location}.unsigned"), quants, flip)?;
        let low = self.bits(&format!("{location}.low"), unsigned, 0, 15)?;
        let high = self.bits(&format!("{location}.high"), unsigned, 4, 15)?;
        let four = self.bytes_like(&format!("{location}.four"), high, 4)?;
        let high = self.shift_left(&format!("{location}.high.shl"), high, four)?;
        let joined = self.or(&format!("{location}.joined"), low, high)?;
        self.add(&format!("{location}.signed"), joined, flip)
    }

    /// Nibbles `[.., 32]` (one per byte) packed two to a byte as ggml's Q4
    /// blocks hold them: byte `j` = element `j` | element `j + 16` << 4.
    fn pack_nibbles(&mut self, location: &str, nibbles: ValueId) -> Result<ValueId, HloError> {
        let shape = self.type_of(nibbles).shape.clone();
        let (mut from, mut to) = (vec![0; shape.len()], shape.clone());
        *to.last_mut().expect("rank 3") = 16;
        let low = self.slice(&format!("{location}.first"), nibbles, &from, &to)?;
        *from.last_mut().expect("rank 3") = 16;
        *to.last_mut().expect("rank 3") = 32;
        let high = self.slice(&format!("{location}.second"), nibbles, &from, &to)?;
        let four = self.bytes_like(&format!("{location}.four"), high, 4)?;
        let shifted = self.shift_left(&format!("{location}.shl"), high, four)?;
        self.or(&format!("{location}.packed"), low, shifted)
    }

    /// `[..., G, (rest)]` values for the low and high planes joined as
    /// `[..., 2G, (rest)]`, block `2g` from `parts[0]`, `2g + 1` from
    /// `parts[1]` (the second axis of `[rows, G]` and `[rows, G, 32]`).
    fn per_plane(&mut self, location: &str, parts: [ValueId; 2]) -> Result<ValueId, HloError> {
        let shape = self.type_of(parts[0]).shape.clone();
        let mut lifted_shape = shape[..2].to_vec();
        lifted_shape.push(1);
        lifted_shape.extend(&shape[2..]);
        let mut lifted = Vec::with_capacity(2);
        for (index, &part) in parts.iter().enumerate() {
            lifted.push(self.reshape(&format!("{location}.lift{index}"), part, &lifted_shape)?);
        }
        let joined = self.concatenate(location, &lifted, 2)?;
        let mut doubled = vec![shape[0], 2 * shape[1]];
        doubled.extend(&shape[2..]);
        self.reshape(&format!("{location}.joined"), joined, &doubled)
    }

    fn f32_splat(
        &mut self,
        location: &str,
        shape: &[u64],
        value: f64,
    ) -> Result<ValueId, HloError> {
        self.splat_constant(location, ElementType::F32, shape, value)
    }

    /// `y[m, n] = Σ_g d[n,g]·(s[m,g]·I[m,n,g]) + c[n,g]·sum[m,g]`.
    fn block_epilogue(
        &mut self,
        location: &str,
        products: ValueId,
        x: &BlockActivation,
        [scale, offset]: [ValueId; 2],
        shape: [u64; 3],
    ) -> Result<ValueId, HloError> {
        let products = self.convert(&format!("{location}.products"), products, ElementType::F32)?;
        let per_weight = |f: &mut Self, name: &str, value: ValueId| {
            f.broadcast_in_dim(&format!("{location}.{name}"), value, &shape, &[1, 2])
        };
        let per_row = |f: &mut Self, name: &str, value: ValueId| {
            f.broadcast_in_dim(&format!("{location}.{name}"), value, &shape, &[0, 2])
        };
        let d = per_weight(self, "d", scale)?;
        let c = per_weight(self, "c", offset)?;
        let s = per_row(self, "s", x.scales)?;
        let sums = per_row(self, "sums", x.sums)?;
        let unscaled = self.multiply(&format!("{location}.unscaled"), products, s)?;
        let scaled = self.multiply(&format!("{location}.scaled"), unscaled, d)?;
        let offsets = self.multiply(&format!("{location}.offsets"), c, sums)?;
        let per_block = self.add(&format!("{location}.blocks"), scaled, offsets)?;
        self.reduce(location, per_block, &[2], Reduction::Sum)
    }

    /// `flow.tensor.bitcast`: the same bytes seen as another element type
    /// and shape (static shapes only).
    fn tensor_bitcast(
        &mut self,
        location: &str,
        source: ValueId,
        result_type: TensorType,
    ) -> Result<ValueId, HloError> {
        let context = self.context();
        let segments = DenseI32ArrayAttribute::new(context, &[1, 0, 0]);
        self.build(
            "flow.tensor.bitcast",
            location,
            &[source],
            &[("operandSegmentSizes", segments.into())],
            result_type,
        )
    }

    /// `I[m, n, g] = Σ_k xq[m, g, k] · q[n, g, k]` in i32: one
    /// `linalg.generic` with body `extsi i16 × extui i4`.
    fn block_dot(
        &mut self,
        location: &str,
        activation: ValueId,
        quants: ValueId,
    ) -> Result<ValueId, HloError> {
        const OP: &str = "linalg.generic";
        let rows = self.type_of(activation).shape[0];
        let [outputs, groups, _] = self.type_of(quants).shape[..] else {
            unreachable!("checked by packed_linear");
        };
        let result_type = TensorType::new(&[rows, outputs, groups], ElementType::I32);
        let init = self.splat_constant(
            &format!("{location}.zero"),
            ElementType::I32,
            &result_type.shape,
            0.0,
        )?;
        let context = self.context();
        let parse = |text: &str| {
            Attribute::parse(context, text).ok_or_else(|| HloError::build(OP, location))
        };
        let maps = parse(
            "[affine_map<(m, n, g, k) -> (m, g, k)>, affine_map<(m, n, g, k) -> (n, g, k)>, \
             affine_map<(m, n, g, k) -> (m, n, g)>]",
        )?;
        let iterators = parse(
            "[#linalg.iterator_type<parallel>, #linalg.iterator_type<parallel>, \
             #linalg.iterator_type<parallel>, #linalg.iterator_type<reduction>]",
        )?;
        let segments = DenseI32ArrayAttribute::new(context, &[2, 1]).into();
        let element = |f: &Self, value: ValueId| f.type_of(value).element;
        let kinds = [element(self, activation), element(self, quants)];
        let region = self.block_dot_body(location, kinds)?;
        let operation = {
            let operands: Vec<Value<'c, '_>> = [activation, quants, init]
                .iter()
                .map(|&v| self.mlir_value(v))
                .collect();
            OperationBuilder::new(OP, self.location(location))
                .add_operands(&operands)
                .add_attributes(&[
                    (Identifier::new(context, "indexing_maps"), maps),
                    (Identifier::new(context, "iterator_types"), iterators),
                    (Identifier::new(context, "operandSegmentSizes"), segments),
                ])
                .add_regions([region])
                .add_results(&[result_type.to_mlir(context)])
                .build()
        }
        .map_err(|_| HloError::build(OP, location))?;
        Ok(self.push(operation, result_type))
    }

    /// `^bb0(%a: i16, %b: i4, %acc: i32): yield %acc + extsi(%a) · extui(%b)`
    /// (i4 quants are unsigned nibbles), or with `%a: i8, %b: i8` and
    /// `extsi(%b)` (byte quants).
    fn block_dot_body(
        &self,
        location: &str,
        [activation, quants]: [ElementType; 2],
    ) -> Result<Region<'c>, HloError> {
        let context = self.context();
        let loc = self.location(location);
        let integer =
            |bits| -> Type<'c> { melior::ir::r#type::IntegerType::new(context, bits).into() };
        let bits = |element: ElementType| match element {
            ElementType::I4 => 4,
            ElementType::I8 => 8,
            _ => 16,
        };
        let (a_type, b_type, i32) = (
            integer(bits(activation)),
            integer(bits(quants)),
            integer(32),
        );
        let b_extension = if quants == ElementType::I4 {
            "arith.extui"
        } else {
            "arith.extsi"
        };
        let block = Block::new(&[(a_type, loc), (b_type, loc), (i32, loc)]);
        let argument = |index| -> Value<'c, '_> { block.argument(index).expect("three").into() };
        let (a, b, acc) = (argument(0), argument(1), argument(2));
        let op = |name: &str, operands: &[Value<'c, '_>], result: Option<Type<'c>>| {
            let mut builder = OperationBuilder::new(name, loc).add_operands(operands);
            if let Some(result) = result {
                builder = builder.add_results(&[result]);
            }
            builder
                .build()
                .map_err(|_| HloError::build("linalg.generic body", location))
        };
        let wide_a = block.append_operation(op("arith.extsi", &[a], Some(i32))?);
        let wide_b = block.append_operation(op(b_extension, &[b], Some(i32))?);
        let product = block.append_operation(op(
            "arith.muli",
            &[
                wide_a.result(0).expect("one").into(),
                wide_b.result(0).expect("one").into(),
            ],
            Some(i32),
        )?);
        let sum = block.append_operation(op(
            "arith.addi",
            &[acc, product.result(0).expect("one").into()],
            Some(i32),
        )?);
        block.append_operation(op(
            "linalg.yield",
            &[sum.result(0).expect("one").into()],
            None,
        )?);
        let region = Region::new();
        region.append_block(block);
        Ok(region)
    }

    fn contract_error(&self, location: &str, message: String) -> HloError {
        HloError::Shape {
            op: "packed_linear",
            location: location.to_string(),
            message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{IntegerKernel, nibble_order};

    #[test]
    fn kernel_names_parse_back() {
        for kernel in [IntegerKernel::Nibbles, IntegerKernel::Bytes] {
            assert_eq!(kernel.name().parse::<IntegerKernel>(), Ok(kernel));
        }
        let error = "i4".parse::<IntegerKernel>().unwrap_err();
        assert!(
            error.contains("`i4`") && error.contains("nibbles or bytes"),
            "{error}"
        );
    }

    #[test]
    fn nibble_order_interleaves_the_halves() {
        let order = nibble_order();
        assert_eq!(&order[..6], &[0, 16, 1, 17, 2, 18]);
        let mut sorted = order;
        sorted.sort_unstable();
        assert_eq!(sorted, std::array::from_fn::<usize, 32, _>(|i| i));
    }
}
