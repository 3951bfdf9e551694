//! The llama decoder as llama.cpp computes it for llama-architecture GGUFs:
//! token embedding, per block RMSNorm → grouped-query attention with
//! rotary embeddings on adjacent pairs (llama.cpp's "normal" rope; the GGUF
//! converter permuted the Q/K rows for it) and a causal mask → residual →
//! RMSNorm → SwiGLU feed-forward → residual; then RMSNorm and the output
//! projection (tied to the token embedding when `output.weight` is absent).
//!
//! Block-quantized weights follow the [`QuantMode`](crate::models::QuantMode): kept packed (the GGUF
//! blocks verbatim in the `.irpa`, unpacked by StableHLO ops in the module),
//! or dequantized at export to f32 or f16, exact to the reference
//! dequantizers.

use super::model::LlamaModel;
use crate::hlo::{Comparison, HloError, ModuleBuilder, TensorType, ValueId};
use crate::models::ModelError;
use crate::models::layers::{Bias, Layers};
use crate::models::weights::GgufWeights;
use crate::models::{GraphOptions, QuantMode};
use crate::tensor::ElementType;

/// `prefill(tokens: tensor<1xSEQxi32>) -> (logits tensor<1xSEQxVOCABxf32>,
/// keys, values tensor<BLOCKSxKV_HEADSxSEQxHEADxf32>)`: logits at every
/// position and the caches `decode` continues from.
pub const PREFILL_FUNCTION: &str = "prefill";

/// `decode(token: tensor<1x1xi32>, position: tensor<1xi32>, keys, values)
/// -> (logits tensor<1xVOCABxf32>, keys, values)`: one step from the caches
/// `prefill` (or the previous step) returned; writes the token's key and
/// value at `position` and attends to positions `0..=position`.
pub const DECODE_FUNCTION: &str = "decode";

/// Builds `prefill` and `decode` for a fixed sequence (and cache) length,
/// reading the weights in `mode`. In [`QuantMode::Packed`], prefill
/// (matrix × matrix) takes the exact form, decode (matrix × vector) the
/// integer contractions: each the faster for its shape (ARCHITECTURE.md).
pub fn build_functions(
    module: &mut ModuleBuilder<'_>,
    model: &LlamaModel,
    options: &GraphOptions,
) -> crate::models::Result<()> {
    let (sequence, mode) = (options.sequence_length, options.quant);
    if sequence == 0 || sequence > model.config.context {
        return Err(ModelError::config(
            "llama.context_length",
            format!(
                "sequence length {sequence} must be in 1..={}",
                model.config.context
            ),
        ));
    }
    let weights = GgufWeights::new(&model.gguf, mode).with_kernel(options.kernel);
    let exact =
        (mode == QuantMode::Packed).then(|| GgufWeights::new(&model.gguf, QuantMode::PackedExact));
    build_prefill(module, model, exact.as_ref().unwrap_or(&weights), sequence)?;
    build_decode(module, model, &weights, sequence)
}

fn build_prefill(
    module: &mut ModuleBuilder<'_>,
    model: &LlamaModel,
    weights: &GgufWeights<'_>,
    sequence: u64,
) -> crate::models::Result<()> {
    let tokens = TensorType::new(&[1, sequence], ElementType::I32);
    let mut function = module.function(PREFILL_FUNCTION, &[tokens])?;
    function.name_arguments(&["tokens"])?;
    let mut decoder = Decoder {
        l: Layers::new(&mut function, weights),
        model,
    };
    let [logits, keys, values] = decoder.prefill(sequence)?;
    function.finish_named(&[("logits", logits), ("keys", keys), ("values", values)])?;
    Ok(())
}

fn build_decode(
    module: &mut ModuleBuilder<'_>,
    model: &LlamaModel,
    weights: &GgufWeights<'_>,
    cache_length: u64,
) -> crate::models::Result<()> {
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
    function.name_arguments(&["token", "position", "keys", "values"])?;
    let mut decoder = Decoder {
        l: Layers::new(&mut function, weights),
        model,
    };
    let [logits, keys, values] = decoder.step(cache_length)?;
    function.finish_named(&[("logits", logits), ("keys", keys), ("values", values)])?;
    Ok(())
}

struct Decoder<'b, 'm, 'c> {
    l: Layers<'b, 'm, 'c>,
    model: &'b LlamaModel,
}

impl Decoder<'_, '_, '_> {
    /// The prefill body: logits at every position, and the key and value
    /// caches `[blocks, kv_heads, SEQ, head]` for `decode` to continue from.
    fn prefill(&mut self, sequence: u64) -> crate::models::Result<[ValueId; 3]> {
        let c = self.model.config.clone();
        let tokens = self.l.f.argument(0);
        let table = [c.vocabulary, c.embedding];
        let mut x = self.l.rows("token_embd.weight", table, tokens)?;
        let (cos, sin) = self.rotary_tables(sequence)?;
        let mask = self.causal_mask(sequence)?;
        let (mut keys, mut values) = (Vec::new(), Vec::new());
        for block in 0..c.blocks {
            let prefix = format!("blk.{block}");
            let normed = self.rms_norm(&format!("{prefix}.attn_norm"), x)?;
            let [q, k, v] = self.project_qkv(&prefix, normed, cos, sin)?;
            let attended = self.attend(&prefix, q, k, v, mask)?;
            x = self.residual_and_feed_forward(&prefix, x, attended)?;
            keys.push(k);
            values.push(v);
        }
        let logits = self.logits(x)?;
        let keys = self.l.f.concatenate("cache.keys", &keys, 0)?;
        let values = self.l.f.concatenate("cache.values", &values, 0)?;
        Ok([logits, keys, values])
    }

    /// The decode body: one token at a runtime position, over the caches.
    fn step(&mut self, cache_length: u64) -> crate::models::Result<[ValueId; 3]> {
        let c = self.model.config.clone();
        let f = &mut *self.l.f;
        let (token, position) = (f.argument(0), f.argument(1));
        let (mut keys, mut values) = (f.argument(2), f.argument(3));
        let table = [c.vocabulary, c.embedding];
        let mut x = self.l.rows("token_embd.weight", table, token)?;
        let (cos_table, sin_table) = self.rotary_tables(cache_length)?;
        let f = &mut *self.l.f;
        let cos = f.gather_rows("rope.cos.row", cos_table, position)?;
        let sin = f.gather_rows("rope.sin.row", sin_table, position)?;
        let mask = self.visible_mask(position, cache_length)?;
        let at = self.l.f.reshape("position.scalar", position, &[])?;
        for block in 0..c.blocks {
            let prefix = format!("blk.{block}");
            let normed = self.rms_norm(&format!("{prefix}.attn_norm"), x)?;
            let [q, k, v] = self.project_qkv(&prefix, normed, cos, sin)?;
            let [layer_keys, layer_values] =
                self.update_caches(&prefix, block, at, [&mut keys, &mut values], [k, v])?;
            let attended = self.attend(&prefix, q, layer_keys, layer_values, mask)?;
            x = self.residual_and_feed_forward(&prefix, x, attended)?;
        }
        let logits = self.logits(x)?;
        let logits = self
            .l
            .f
            .reshape("logits.flat", logits, &[1, c.vocabulary])?;
        Ok([logits, keys, values])
    }

    /// Writes block `block`'s new key and value at position `at` of the
    /// caches and returns that block's slice of each, `[1, kv_heads, S, d]`.
    fn update_caches(
        &mut self,
        prefix: &str,
        block: u64,
        at: ValueId,
        caches: [&mut ValueId; 2],
        new: [ValueId; 2],
    ) -> Result<[ValueId; 2], HloError> {
        let f = &mut *self.l.f;
        let layer = f.splat_constant(
            &format!("{prefix}.cache.layer"),
            ElementType::I32,
            &[],
            block as f64,
        )?;
        let zero = f.splat_constant(&format!("{prefix}.cache.zero"), ElementType::I32, &[], 0.0)?;
        let start = [layer, zero, at, zero];
        let mut read = [layer; 2];
        for (index, (cache, value)) in caches.into_iter().zip(new).enumerate() {
            let name = ["k", "v"][index];
            let shape = f.type_of(*cache).shape.clone();
            *cache = f.dynamic_update_slice(
                &format!("{prefix}.cache.{name}.write"),
                *cache,
                value,
                &start,
            )?;
            let (from, to) = ([block, 0, 0, 0], [block + 1, shape[1], shape[2], shape[3]]);
            read[index] = f.slice(&format!("{prefix}.cache.{name}.read"), *cache, &from, &to)?;
        }
        Ok(read)
    }

    fn rms_norm(&mut self, name: &str, x: ValueId) -> crate::models::Result<ValueId> {
        self.l.rms_norm(name, x, self.model.config.rms_epsilon)
    }

    fn rotary_tables(&mut self, length: u64) -> Result<(ValueId, ValueId), HloError> {
        let c = &self.model.config;
        self.l.rotary_tables(length, c.rope_dimensions, c.rope_base)
    }

    /// 0 where key ≤ query, -∞ above the diagonal, `[SEQ, SEQ]`.
    fn causal_mask(&mut self, sequence: u64) -> Result<ValueId, HloError> {
        let shape = [sequence, sequence];
        let zero = self.l.scalar("mask.zero", 0.0, &shape)?;
        let blocked = self.l.scalar("mask.blocked", f64::NEG_INFINITY, &shape)?;
        let f = &mut *self.l.f;
        let rows = f.iota("mask.query", ElementType::I32, &shape, 0)?;
        let columns = f.iota("mask.key", ElementType::I32, &shape, 1)?;
        let allowed = f.compare("mask.causal", columns, rows, Comparison::Le)?;
        f.select("mask", allowed, zero, blocked)
    }

    /// 0 for cache positions `≤ position`, -∞ after, `[1, cache_length]`.
    fn visible_mask(&mut self, position: ValueId, cache_length: u64) -> Result<ValueId, HloError> {
        let shape = [1, cache_length];
        let zero = self.l.scalar("mask.zero", 0.0, &shape)?;
        let blocked = self.l.scalar("mask.blocked", f64::NEG_INFINITY, &shape)?;
        let f = &mut *self.l.f;
        let keys = f.iota("mask.key", ElementType::I32, &shape, 1)?;
        let position = f.broadcast_in_dim("mask.position", position, &shape, &[0])?;
        let visible = f.compare("mask.visible", keys, position, Comparison::Le)?;
        f.select("mask", visible, zero, blocked)
    }

    /// Final RMSNorm and the output projection (tied to the embedding when
    /// the file has no `output.weight`).
    fn logits(&mut self, x: ValueId) -> crate::models::Result<ValueId> {
        let c = self.model.config.clone();
        let x = self.rms_norm("output_norm", x)?;
        if self.model.gguf.tensor("output.weight").is_some() {
            return self
                .l
                .linear("output", x, c.vocabulary, c.embedding, Bias::No);
        }
        self.l.project("token_embd", x, [c.vocabulary, c.embedding])
    }

    /// Projects the `T` tokens of `x` to rotated queries `[1, heads, T, d]`
    /// and rotated keys and values `[1, kv_heads, T, d]`.
    fn project_qkv(
        &mut self,
        prefix: &str,
        x: ValueId,
        cos: ValueId,
        sin: ValueId,
    ) -> crate::models::Result<[ValueId; 3]> {
        let c = self.model.config.clone();
        let tokens = self.l.shape(x)[1];
        let (head, kv_width) = (c.head_size(), c.kv_heads * c.head_size());
        let mut project = |name: &str, width: u64, heads: u64| -> crate::models::Result<ValueId> {
            let projected =
                self.l
                    .linear(&format!("{prefix}.{name}"), x, width, c.embedding, Bias::No)?;
            let split = [1, tokens, heads, head];
            Ok(self
                .l
                .f
                .reshape(&format!("{prefix}.{name}.heads"), projected, &split)?)
        };
        let q = project("attn_q", c.embedding, c.heads)?;
        let k = project("attn_k", kv_width, c.kv_heads)?;
        let v = project("attn_v", kv_width, c.kv_heads)?;
        let q = self
            .l
            .rope_pairs(&format!("{prefix}.q.rope"), q, cos, sin)?;
        let k = self
            .l
            .rope_pairs(&format!("{prefix}.k.rope"), k, cos, sin)?;
        let order = [0, 2, 1, 3];
        let f = &mut *self.l.f;
        let q = f.transpose(&format!("{prefix}.q.transpose"), q, &order)?;
        let k = f.transpose(&format!("{prefix}.k.transpose"), k, &order)?;
        let v = f.transpose(&format!("{prefix}.v.transpose"), v, &order)?;
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
    ) -> crate::models::Result<ValueId> {
        let c = self.model.config.clone();
        let groups = c.heads / c.kv_heads;
        let k = self.l.repeat_heads(&format!("{prefix}.k"), k, groups)?;
        let v = self.l.repeat_heads(&format!("{prefix}.v"), v, groups)?;
        let (tokens, keys) = (self.l.shape(q)[2], self.l.shape(k)[2]);
        let score_shape = [1, c.heads, tokens, keys];
        let mask =
            self.l
                .f
                .broadcast_in_dim(&format!("{prefix}.mask"), mask, &score_shape, &[2, 3])?;
        let context = self.l.attention(prefix, q, k, v, mask)?;
        self.l.linear(
            &format!("{prefix}.attn_output"),
            context,
            c.embedding,
            c.embedding,
            Bias::No,
        )
    }

    /// `x + attended`, then the feed-forward half of the block with its residual.
    fn residual_and_feed_forward(
        &mut self,
        prefix: &str,
        x: ValueId,
        attended: ValueId,
    ) -> crate::models::Result<ValueId> {
        let x = self
            .l
            .f
            .add(&format!("{prefix}.attn_residual"), x, attended)?;
        let normed = self.rms_norm(&format!("{prefix}.ffn_norm"), x)?;
        let names = ["ffn_gate", "ffn_up", "ffn_down"].map(|name| format!("{prefix}.{name}"));
        let transformed = self.l.swiglu(
            [&names[0], &names[1], &names[2]],
            normed,
            self.model.config.feed_forward,
        )?;
        Ok(self
            .l
            .f
            .add(&format!("{prefix}.ffn_residual"), x, transformed)?)
    }
}
