//! The llama decoder as llama.cpp computes it for llama-architecture GGUFs:
//! token embedding, per block RMSNorm → grouped-query attention with
//! rotary embeddings on adjacent pairs (llama.cpp's "normal" rope; the GGUF
//! converter permuted the Q/K rows for it) and a causal mask → residual →
//! RMSNorm → SwiGLU feed-forward → residual; then RMSNorm and the output
//! projection (tied to the token embedding when `output.weight` is absent).
//!
//! Block-quantized weights follow the [`QuantMode`]: kept packed (the GGUF
//! blocks verbatim in the `.irpa`, unpacked by StableHLO ops in the module),
//! or dequantized at export to f32 or f16, exact to the reference
//! dequantizers.

use super::LlamaModel;
use crate::hlo::PACKED_FORMATS;
use crate::hlo::{
    Comparison, DotDimensions, FunctionBuilder, HloError, ModuleBuilder, Reduction, TensorType,
    ValueId,
};
use crate::models::bert::ModelError;
use crate::tensor::{ElementType, TensorEncoding, TensorSpec};

/// `prefill(tokens: tensor<1xSEQxi32>) -> (logits tensor<1xSEQxVOCABxf32>,
/// keys, values tensor<BLOCKSxKV_HEADSxSEQxHEADxf32>)`: logits at every
/// position and the caches `decode` continues from.
pub const PREFILL_FUNCTION: &str = "prefill";

/// How block-quantized weights reach the module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuantMode {
    /// The GGUF blocks byte for byte, unpacked by StableHLO in the module.
    #[default]
    Packed,
    /// Dequantized at export to f32.
    Dequant,
    /// Dequantized at export to f16 (half the size, one rounding).
    DequantF16,
}

impl std::str::FromStr for QuantMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "packed" => Ok(Self::Packed),
            "dequant" => Ok(Self::Dequant),
            "dequant-f16" => Ok(Self::DequantF16),
            other => Err(format!(
                "unknown quant mode `{other}`: use packed, dequant or dequant-f16"
            )),
        }
    }
}

/// Builds `prefill` for a fixed sequence length.
pub fn build_prefill(
    module: &mut ModuleBuilder<'_>,
    model: &LlamaModel,
    sequence: u64,
    mode: QuantMode,
) -> crate::Result<()> {
    if sequence == 0 || sequence > model.config.context {
        return Err(ModelError::Config {
            path: "llama.context_length".into(),
            message: format!(
                "sequence length {sequence} must be in 1..={}",
                model.config.context
            ),
        }
        .into());
    }
    let tokens = TensorType::new(&[1, sequence], ElementType::I32);
    let mut function = module.function(PREFILL_FUNCTION, &[tokens])?;
    let mut decoder = Decoder {
        f: &mut function,
        model,
        sequence,
        mode,
    };
    let results = decoder.run()?;
    function.finish(&results)?;
    Ok(())
}

/// `decode(token: tensor<1x1xi32>, position: tensor<1xi32>, keys, values)
/// -> (logits tensor<1xVOCABxf32>, keys, values)`: one step from the caches
/// `prefill` (or the previous step) returned; writes the token's key and
/// value at `position` and attends to positions `0..=position`.
pub const DECODE_FUNCTION: &str = "decode";

/// Builds `decode` for caches of `cache_length` positions (the prefill length).
pub fn build_decode(
    module: &mut ModuleBuilder<'_>,
    model: &LlamaModel,
    cache_length: u64,
    mode: QuantMode,
) -> crate::Result<()> {
    let c = &model.config;
    let cache = TensorType::new(
        &[c.blocks, c.kv_heads, cache_length, c.head_size()],
        ElementType::F32,
    );
    let inputs = [
        TensorType::new(&[1, 1], ElementType::I32),
        TensorType::new(&[1], ElementType::I32),
        cache.clone(),
        cache,
    ];
    let mut function = module.function(DECODE_FUNCTION, &inputs)?;
    let mut decoder = Decoder {
        f: &mut function,
        model,
        sequence: 1,
        mode,
    };
    let results = decoder.step(cache_length)?;
    function.finish(&results)?;
    Ok(())
}

struct Decoder<'b, 'm, 'c> {
    f: &'b mut FunctionBuilder<'m, 'c>,
    model: &'b LlamaModel,
    sequence: u64,
    mode: QuantMode,
}

impl Decoder<'_, '_, '_> {
    /// The prefill body: logits at every position, and the key and value
    /// caches `[blocks, kv_heads, SEQ, head]` for `decode` to continue from.
    fn run(&mut self) -> crate::Result<[ValueId; 3]> {
        let c = self.model.config.clone();
        let tokens = self.f.argument(0);
        let embedding = self.weight("token_embd.weight", &[c.vocabulary, c.embedding])?;
        let mut x = self.f.gather_rows("token_embd", embedding, tokens)?;
        let (cos, sin) = self.rotary_tables(self.sequence)?;
        let mask = self.causal_mask()?;
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        for block in 0..c.blocks {
            let [next, k, v] = self.block(block, x, cos, sin, mask)?;
            x = next;
            keys.push(k);
            values.push(v);
        }
        let logits = self.logits(x, embedding)?;
        let keys = self.f.concatenate("cache.keys", &keys, 0)?;
        let values = self.f.concatenate("cache.values", &values, 0)?;
        Ok([logits, keys, values])
    }

    /// The decode body: one token at a runtime position, over the caches.
    fn step(&mut self, cache_length: u64) -> crate::Result<[ValueId; 3]> {
        let c = self.model.config.clone();
        let (token, position) = (self.f.argument(0), self.f.argument(1));
        let (mut keys, mut values) = (self.f.argument(2), self.f.argument(3));
        let embedding = self.weight("token_embd.weight", &[c.vocabulary, c.embedding])?;
        let mut x = self.f.gather_rows("token_embd", embedding, token)?;
        let (cos_table, sin_table) = self.rotary_tables(cache_length)?;
        let cos = self.f.gather_rows("rope.cos.row", cos_table, position)?;
        let sin = self.f.gather_rows("rope.sin.row", sin_table, position)?;
        let mask = self.visible_mask(position, cache_length)?;
        let at = self.f.reshape("position.scalar", position, &[])?;
        let zero = self
            .f
            .splat_constant("cache.zero", ElementType::I32, &[], 0.0)?;
        let cache_shape = self.f.type_of(keys).shape.clone();
        for block in 0..c.blocks {
            let prefix = format!("blk.{block}");
            let normed = self.rms_norm(&format!("{prefix}.attn_norm"), x)?;
            let [q, k, v] = self.project_qkv(&prefix, normed, cos, sin)?;
            let layer = self.f.splat_constant(
                &format!("{prefix}.cache.layer"),
                ElementType::I32,
                &[],
                block as f64,
            )?;
            let start = [layer, zero, at, zero];
            keys =
                self.f
                    .dynamic_update_slice(&format!("{prefix}.cache.k.write"), keys, k, &start)?;
            values = self.f.dynamic_update_slice(
                &format!("{prefix}.cache.v.write"),
                values,
                v,
                &start,
            )?;
            let (from, to) = (
                [block, 0, 0, 0],
                [block + 1, cache_shape[1], cache_shape[2], cache_shape[3]],
            );
            let layer_keys = self
                .f
                .slice(&format!("{prefix}.cache.k.read"), keys, &from, &to)?;
            let layer_values =
                self.f
                    .slice(&format!("{prefix}.cache.v.read"), values, &from, &to)?;
            let attended = self.attend(&prefix, q, layer_keys, layer_values, mask)?;
            x = self.residual_and_feed_forward(&prefix, x, attended)?;
        }
        let logits = self.logits(x, embedding)?;
        let logits = self.f.reshape("logits.flat", logits, &[1, c.vocabulary])?;
        Ok([logits, keys, values])
    }

    /// 0 for cache positions `≤ position`, -∞ after, `[1, cache_length]`.
    fn visible_mask(&mut self, position: ValueId, cache_length: u64) -> Result<ValueId, HloError> {
        let shape = [1, cache_length];
        let keys = self.f.iota("mask.key", ElementType::I32, &shape, 1)?;
        let position = self
            .f
            .broadcast_in_dim("mask.position", position, &shape, &[0])?;
        let visible = self
            .f
            .compare("mask.visible", keys, position, Comparison::Le)?;
        let zero = self.scalar("mask.zero", 0.0, &shape)?;
        let blocked = self.scalar("mask.blocked", f64::NEG_INFINITY, &shape)?;
        self.f.select("mask", visible, zero, blocked)
    }

    /// Final RMSNorm and the output projection (tied to the embedding when
    /// the file has no `output.weight`).
    fn logits(&mut self, x: ValueId, embedding: ValueId) -> crate::Result<ValueId> {
        let c = self.model.config.clone();
        let x = self.rms_norm("output_norm", x)?;
        let output = match self.model.gguf.tensor("output.weight") {
            Some(_) => self.weight("output.weight", &[c.vocabulary, c.embedding])?,
            None => embedding,
        };
        Ok(self
            .f
            .dot_general("output", x, output, &DotDimensions::contract(2, 1))?)
    }

    /// Returns a weight as an f32 value, as the quant mode says.
    fn weight(&mut self, name: &str, shape: &[u64]) -> crate::Result<ValueId> {
        let tensor = self.model.tensor(name, shape)?;
        match tensor.spec.encoding {
            TensorEncoding::Dense(ElementType::F32) => {
                Ok(self.f.weight(&tensor.spec, &tensor.buffer)?)
            }
            TensorEncoding::Dense(_) => {
                let value = self.f.weight(&tensor.spec, &tensor.buffer)?;
                Ok(self.f.convert(name, value, ElementType::F32)?)
            }
            TensorEncoding::Ggml(kind)
                if self.mode == QuantMode::Packed && PACKED_FORMATS.contains(&kind) =>
            {
                let columns = *shape.last().unwrap_or(&1);
                let rows = shape.iter().product::<u64>() / columns.max(1);
                let per_row = columns / kind.block_elements();
                let bytes =
                    TensorSpec::dense(name, &[rows, per_row, kind.block_bytes()], ElementType::I8);
                let blocks = self.f.weight(&bytes, &tensor.buffer)?;
                let values = self.f.dequantize_blocks(name, blocks, kind)?;
                Ok(self.f.reshape(&format!("{name}.shape"), values, shape)?)
            }
            TensorEncoding::Ggml(_) => self.dequantized_weight(name, shape),
        }
    }

    /// Dequantizes at export (also the fallback for formats the module cannot unpack).
    fn dequantized_weight(&mut self, name: &str, shape: &[u64]) -> crate::Result<ValueId> {
        let tensor = self.model.tensor(name, shape)?;
        let element = if self.mode == QuantMode::DequantF16 {
            ElementType::F16
        } else {
            ElementType::F32
        };
        let buffer = self.model.dequantized(name, tensor, element)?;
        let value = self
            .f
            .weight(&TensorSpec::dense(name, shape, element), &buffer)?;
        if element == ElementType::F32 {
            return Ok(value);
        }
        Ok(self.f.convert(name, value, ElementType::F32)?)
    }

    fn scalar(&mut self, location: &str, value: f64, shape: &[u64]) -> Result<ValueId, HloError> {
        self.f
            .splat_constant(location, ElementType::F32, shape, value)
    }

    /// `x · Wᵀ` for a weight stored `[out, in]`.
    fn linear(
        &mut self,
        name: &str,
        x: ValueId,
        outputs: u64,
        inputs: u64,
    ) -> crate::Result<ValueId> {
        let weight = self.weight(&format!("{name}.weight"), &[outputs, inputs])?;
        Ok(self
            .f
            .dot_general(name, x, weight, &DotDimensions::contract(2, 1))?)
    }

    /// `x · rsqrt(mean(x²) + ε) · w` over the last dimension.
    fn rms_norm(&mut self, name: &str, x: ValueId) -> crate::Result<ValueId> {
        let width = self.model.config.embedding;
        let shape = self.f.type_of(x).shape.clone();
        let weight = self.weight(&format!("{name}.weight"), &[width])?;
        let squares = self.f.multiply(&format!("{name}.square"), x, x)?;
        let sum = self
            .f
            .reduce_last_keep(&format!("{name}.sum"), squares, Reduction::Sum)?;
        let count = self.scalar(&format!("{name}.width"), width as f64, &shape)?;
        let mean = self.f.divide(&format!("{name}.mean"), sum, count)?;
        let epsilon = self.scalar(
            &format!("{name}.epsilon"),
            self.model.config.rms_epsilon,
            &shape,
        )?;
        let shifted = self.f.add(&format!("{name}.mean_eps"), mean, epsilon)?;
        let inverse = self.f.rsqrt(&format!("{name}.rsqrt"), shifted)?;
        let normalized = self.f.multiply(&format!("{name}.normalize"), x, inverse)?;
        let weight = self
            .f
            .broadcast_in_dim(&format!("{name}.weight"), weight, &shape, &[2])?;
        Ok(self.f.multiply(name, normalized, weight)?)
    }

    /// cos and sin of `position · base^(-2i/d)`, `[SEQ, d/2]`, computed in f64.
    fn rotary_tables(&mut self, length: u64) -> Result<(ValueId, ValueId), HloError> {
        let c = &self.model.config;
        let half = c.head_size() / 2;
        let angle = |position: u64, i: u64| {
            position as f64 * c.rope_base.powf(-2.0 * i as f64 / c.rope_dimensions as f64)
        };
        let mut cos = Vec::with_capacity((length * half) as usize);
        let mut sin = Vec::with_capacity(cos.capacity());
        for position in 0..length {
            for i in 0..half {
                cos.push(angle(position, i).cos() as f32);
                sin.push(angle(position, i).sin() as f32);
            }
        }
        let shape = [length, half];
        Ok((
            self.f.constant_f32("rope.cos", &shape, &cos)?,
            self.f.constant_f32("rope.sin", &shape, &sin)?,
        ))
    }

    /// 0 where key ≤ query, -∞ above the diagonal, `[SEQ, SEQ]`.
    fn causal_mask(&mut self) -> Result<ValueId, HloError> {
        let shape = [self.sequence, self.sequence];
        let rows = self.f.iota("mask.query", ElementType::I32, &shape, 0)?;
        let columns = self.f.iota("mask.key", ElementType::I32, &shape, 1)?;
        let allowed = self
            .f
            .compare("mask.causal", columns, rows, Comparison::Le)?;
        let zero = self.scalar("mask.zero", 0.0, &shape)?;
        let blocked = self.scalar("mask.blocked", f64::NEG_INFINITY, &shape)?;
        self.f.select("mask", allowed, zero, blocked)
    }

    /// Rotates adjacent pairs `(x[2i], x[2i+1])` of every head of `[1, SEQ, heads, d]`.
    fn rope(
        &mut self,
        name: &str,
        x: ValueId,
        heads: u64,
        cos: ValueId,
        sin: ValueId,
    ) -> Result<ValueId, HloError> {
        let (sequence, head) = (self.sequence, self.model.config.head_size());
        let half = head / 2;
        let pairs = self
            .f
            .reshape(&format!("{name}.pairs"), x, &[1, sequence, heads, half, 2])?;
        let part = |f: &mut FunctionBuilder<'_, '_>,
                    index: u64,
                    label: &str|
         -> Result<ValueId, HloError> {
            let sliced = f.slice(
                &format!("{name}.{label}"),
                pairs,
                &[0, 0, 0, 0, index],
                &[1, sequence, heads, half, index + 1],
            )?;
            f.reshape(
                &format!("{name}.{label}.flat"),
                sliced,
                &[1, sequence, heads, half],
            )
        };
        let (even, odd) = (part(self.f, 0, "even")?, part(self.f, 1, "odd")?);
        let shape = [1, sequence, heads, half];
        let cos = self
            .f
            .broadcast_in_dim(&format!("{name}.cos"), cos, &shape, &[1, 3])?;
        let sin = self
            .f
            .broadcast_in_dim(&format!("{name}.sin"), sin, &shape, &[1, 3])?;
        let even_cos = self.f.multiply(&format!("{name}.even_cos"), even, cos)?;
        let odd_sin = self.f.multiply(&format!("{name}.odd_sin"), odd, sin)?;
        let even_sin = self.f.multiply(&format!("{name}.even_sin"), even, sin)?;
        let odd_cos = self.f.multiply(&format!("{name}.odd_cos"), odd, cos)?;
        let first = self
            .f
            .subtract(&format!("{name}.first"), even_cos, odd_sin)?;
        let second = self.f.add(&format!("{name}.second"), even_sin, odd_cos)?;
        let first = self.f.reshape(
            &format!("{name}.first.pair"),
            first,
            &[1, sequence, heads, half, 1],
        )?;
        let second = self.f.reshape(
            &format!("{name}.second.pair"),
            second,
            &[1, sequence, heads, half, 1],
        )?;
        let joined = self
            .f
            .concatenate(&format!("{name}.join"), &[first, second], 4)?;
        self.f.reshape(name, joined, &[1, sequence, heads, head])
    }

    /// `[1, kv_heads, T, d]` to `[1, heads, T, d]`, each kv head serving
    /// `heads / kv_heads` query heads (query head h reads kv head h / group).
    fn repeat_kv(&mut self, name: &str, x: ValueId) -> Result<ValueId, HloError> {
        let c = &self.model.config;
        let (head, kv, heads) = (c.head_size(), c.kv_heads, c.heads);
        let length = self.f.type_of(x).shape[2];
        let group = heads / kv;
        let wide = [1, kv, group, length, head];
        let repeated =
            self.f
                .broadcast_in_dim(&format!("{name}.repeat"), x, &wide, &[0, 1, 3, 4])?;
        self.f.reshape(
            &format!("{name}.groups"),
            repeated,
            &[1, heads, length, head],
        )
    }

    /// Projects the `T` tokens of `x` to rotated queries `[1, heads, T, d]`
    /// and rotated keys and values `[1, kv_heads, T, d]`.
    fn project_qkv(
        &mut self,
        prefix: &str,
        x: ValueId,
        cos: ValueId,
        sin: ValueId,
    ) -> crate::Result<[ValueId; 3]> {
        let c = self.model.config.clone();
        let (tokens, head) = (self.sequence, c.head_size());
        let kv_width = c.kv_heads * head;
        let q = self.linear(&format!("{prefix}.attn_q"), x, c.embedding, c.embedding)?;
        let k = self.linear(&format!("{prefix}.attn_k"), x, kv_width, c.embedding)?;
        let v = self.linear(&format!("{prefix}.attn_v"), x, kv_width, c.embedding)?;
        let q = self
            .f
            .reshape(&format!("{prefix}.q.heads"), q, &[1, tokens, c.heads, head])?;
        let k = self.f.reshape(
            &format!("{prefix}.k.heads"),
            k,
            &[1, tokens, c.kv_heads, head],
        )?;
        let v = self.f.reshape(
            &format!("{prefix}.v.heads"),
            v,
            &[1, tokens, c.kv_heads, head],
        )?;
        let q = self.rope(&format!("{prefix}.q.rope"), q, c.heads, cos, sin)?;
        let k = self.rope(&format!("{prefix}.k.rope"), k, c.kv_heads, cos, sin)?;
        let order = [0, 2, 1, 3];
        let q = self
            .f
            .transpose(&format!("{prefix}.q.transpose"), q, &order)?;
        let k = self
            .f
            .transpose(&format!("{prefix}.k.transpose"), k, &order)?;
        let v = self
            .f
            .transpose(&format!("{prefix}.v.transpose"), v, &order)?;
        Ok([q, k, v])
    }

    /// Attention of queries `[1, heads, T, d]` over keys and values
    /// `[1, kv_heads, S, d]` with an additive `mask` `[T, S]`, then the
    /// output projection: `[1, T, embedding]`.
    fn attend(
        &mut self,
        prefix: &str,
        q: ValueId,
        k: ValueId,
        v: ValueId,
        mask: ValueId,
    ) -> crate::Result<ValueId> {
        let c = self.model.config.clone();
        let head = c.head_size();
        let (tokens, keys) = (self.f.type_of(q).shape[2], self.f.type_of(k).shape[2]);
        let k = self.repeat_kv(&format!("{prefix}.k"), k)?;
        let v = self.repeat_kv(&format!("{prefix}.v"), v)?;
        let batched = |lhs, rhs| DotDimensions {
            lhs_batch: vec![0, 1],
            rhs_batch: vec![0, 1],
            lhs_contract: vec![lhs],
            rhs_contract: vec![rhs],
        };
        let scores = self
            .f
            .dot_general(&format!("{prefix}.scores"), q, k, &batched(3, 3))?;
        let score_shape = [1, c.heads, tokens, keys];
        let scale = self.scalar(
            &format!("{prefix}.scale"),
            1.0 / (head as f64).sqrt(),
            &score_shape,
        )?;
        let scores = self
            .f
            .multiply(&format!("{prefix}.scaled"), scores, scale)?;
        let mask =
            self.f
                .broadcast_in_dim(&format!("{prefix}.mask"), mask, &score_shape, &[2, 3])?;
        let scores = self.f.add(&format!("{prefix}.masked"), scores, mask)?;
        let maximum =
            self.f
                .reduce_last_keep(&format!("{prefix}.softmax.max"), scores, Reduction::Max)?;
        let shifted = self
            .f
            .subtract(&format!("{prefix}.softmax.shift"), scores, maximum)?;
        let exponentials = self
            .f
            .exponential(&format!("{prefix}.softmax.exp"), shifted)?;
        let sum = self.f.reduce_last_keep(
            &format!("{prefix}.softmax.sum"),
            exponentials,
            Reduction::Sum,
        )?;
        let probabilities = self
            .f
            .divide(&format!("{prefix}.softmax"), exponentials, sum)?;
        let context = self.f.dot_general(
            &format!("{prefix}.context"),
            probabilities,
            v,
            &batched(3, 2),
        )?;
        let context =
            self.f
                .transpose(&format!("{prefix}.context.merge"), context, &[0, 2, 1, 3])?;
        let context = self.f.reshape(
            &format!("{prefix}.context.flat"),
            context,
            &[1, tokens, c.embedding],
        )?;
        self.linear(
            &format!("{prefix}.attn_output"),
            context,
            c.embedding,
            c.embedding,
        )
    }

    fn feed_forward(&mut self, prefix: &str, x: ValueId) -> crate::Result<ValueId> {
        let c = self.model.config.clone();
        let gate = self.linear(
            &format!("{prefix}.ffn_gate"),
            x,
            c.feed_forward,
            c.embedding,
        )?;
        let up = self.linear(&format!("{prefix}.ffn_up"), x, c.feed_forward, c.embedding)?;
        let sigmoid = self
            .f
            .logistic(&format!("{prefix}.ffn_gate.sigmoid"), gate)?;
        let silu = self
            .f
            .multiply(&format!("{prefix}.ffn_gate.silu"), gate, sigmoid)?;
        let hidden = self.f.multiply(&format!("{prefix}.ffn_hidden"), silu, up)?;
        self.linear(
            &format!("{prefix}.ffn_down"),
            hidden,
            c.embedding,
            c.feed_forward,
        )
    }

    /// One decoder block over the prefill tokens; also returns its rotated
    /// keys and values `[1, kv_heads, SEQ, d]` for the cache.
    fn block(
        &mut self,
        block: u64,
        x: ValueId,
        cos: ValueId,
        sin: ValueId,
        mask: ValueId,
    ) -> crate::Result<[ValueId; 3]> {
        let prefix = format!("blk.{block}");
        let normed = self.rms_norm(&format!("{prefix}.attn_norm"), x)?;
        let [q, k, v] = self.project_qkv(&prefix, normed, cos, sin)?;
        let attended = self.attend(&prefix, q, k, v, mask)?;
        let x = self.residual_and_feed_forward(&prefix, x, attended)?;
        Ok([x, k, v])
    }

    /// `x + attended`, then the feed-forward half of the block with its residual.
    fn residual_and_feed_forward(
        &mut self,
        prefix: &str,
        x: ValueId,
        attended: ValueId,
    ) -> crate::Result<ValueId> {
        let x = self
            .f
            .add(&format!("{prefix}.attn_residual"), x, attended)?;
        let normed = self.rms_norm(&format!("{prefix}.ffn_norm"), x)?;
        let transformed = self.feed_forward(prefix, normed)?;
        Ok(self
            .f
            .add(&format!("{prefix}.ffn_residual"), x, transformed)?)
    }
}
