//! The layers transformer graphs share, written once for BERT and llama:
//! linear projections, LayerNorm and RMSNorm, softmax, scaled dot-product
//! attention over split heads (with an additive mask), grouped-query head
//! repetition, rotary embeddings, SwiGLU feed-forward and GELU.
//!
//! Every op is located under the prefix the caller passes, so a verifier
//! error names the model node (`encoder.layer.3.attention.self.scores`,
//! `blk.7.ffn_up`).

use super::weights::Weights;
use crate::hlo::{DotDimensions, FunctionBuilder, HloError, Reduction, ValueId};
use crate::tensor::ElementType;

/// A function under construction and the weights its layers read.
pub struct Layers<'b, 'm, 'c> {
    /// The function the layers append to.
    pub f: &'b mut FunctionBuilder<'m, 'c>,
    /// Where weights come from.
    pub weights: &'b dyn Weights,
}

/// Whether a linear layer adds `PREFIX.bias`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bias {
    /// `x · Wᵀ + b`.
    Yes,
    /// `x · Wᵀ`.
    No,
}

/// The approximation of GELU a checkpoint was trained with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gelu {
    /// `0.5 · x · (1 + erf(x / √2))`, PyTorch's default.
    Erf,
    /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))`.
    Tanh,
}

impl<'b, 'm, 'c> Layers<'b, 'm, 'c> {
    /// Layers appending to `f`, reading `weights`.
    pub fn new(f: &'b mut FunctionBuilder<'m, 'c>, weights: &'b dyn Weights) -> Self {
        Self { f, weights }
    }

    /// Returns weight `name` of `shape` as f32.
    pub fn weight(&mut self, name: &str, shape: &[u64]) -> crate::models::Result<ValueId> {
        self.weights.weight(self.f, name, shape)
    }

    /// Rows `indices` of the `[rows, columns]` table `name` (an embedding),
    /// as f32 `[...indices, columns]`.
    pub fn rows(
        &mut self,
        name: &str,
        shape: [u64; 2],
        indices: ValueId,
    ) -> crate::models::Result<ValueId> {
        self.weights.rows(self.f, name, shape, indices)
    }

    /// `x · Wᵀ` without bias for a weight `PREFIX.weight` of `[outputs,
    /// inputs]` (also an embedding read back as the output projection).
    pub fn project(
        &mut self,
        prefix: &str,
        x: ValueId,
        shape: [u64; 2],
    ) -> crate::models::Result<ValueId> {
        self.weights.linear(self.f, prefix, x, shape)
    }

    /// An f32 splat of `shape`.
    pub fn scalar(
        &mut self,
        location: &str,
        value: f64,
        shape: &[u64],
    ) -> Result<ValueId, HloError> {
        self.f
            .splat_constant(location, ElementType::F32, shape, value)
    }

    /// The shape of a value.
    pub fn shape(&self, value: ValueId) -> Vec<u64> {
        self.f.type_of(value).shape.clone()
    }

    /// `x · Wᵀ (+ b)` over the last dimension of `x`, for a weight stored
    /// `[outputs, inputs]` as `PREFIX.weight` (PyTorch's `Linear`, GGUF's
    /// row-major matrices) and a bias `PREFIX.bias` of `[outputs]`.
    pub fn linear(
        &mut self,
        prefix: &str,
        x: ValueId,
        outputs: u64,
        inputs: u64,
        bias: Bias,
    ) -> crate::models::Result<ValueId> {
        let product = self.weights.linear(self.f, prefix, x, [outputs, inputs])?;
        let last = self.f.type_of(x).rank() as u64 - 1;
        if bias == Bias::No {
            return Ok(product);
        }
        let bias = self.weight(&format!("{prefix}.bias"), &[outputs])?;
        let shape = self.shape(product);
        let bias = self
            .f
            .broadcast_in_dim(&format!("{prefix}.bias"), bias, &shape, &[last])?;
        Ok(self.f.add(&format!("{prefix}.add"), product, bias)?)
    }

    /// The mean over the last dimension, kept as a dimension of size one
    /// and broadcast back: `sum(x) / width`.
    fn mean_last(&mut self, prefix: &str, label: &str, x: ValueId) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let width = *shape.last().unwrap_or(&1);
        let sum = self
            .f
            .reduce_last_keep(&format!("{prefix}.{label}_sum"), x, Reduction::Sum)?;
        let count = self.scalar(&format!("{prefix}.width"), width as f64, &shape)?;
        self.f.divide(&format!("{prefix}.{label}"), sum, count)
    }

    /// Multiplies `x` by `rsqrt(moment + ε)` over the last dimension.
    fn normalize_by(
        &mut self,
        prefix: &str,
        x: ValueId,
        moment: ValueId,
        epsilon: f64,
    ) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let epsilon = self.scalar(&format!("{prefix}.epsilon"), epsilon, &shape)?;
        let shifted = self
            .f
            .add(&format!("{prefix}.moment_eps"), moment, epsilon)?;
        let inverse = self.f.rsqrt(&format!("{prefix}.rsqrt"), shifted)?;
        self.f.multiply(&format!("{prefix}.normalize"), x, inverse)
    }

    /// Multiplies `x` by `PREFIX.NAME` of the last dimension's width, broadcast.
    fn scale_by_weight(
        &mut self,
        prefix: &str,
        name: &str,
        x: ValueId,
    ) -> crate::models::Result<ValueId> {
        let shape = self.shape(x);
        let last = shape.len() as u64 - 1;
        let weight = self.weight(&format!("{prefix}.{name}"), &[shape[last as usize]])?;
        let weight =
            self.f
                .broadcast_in_dim(&format!("{prefix}.{name}"), weight, &shape, &[last])?;
        Ok(self.f.multiply(&format!("{prefix}.scale"), x, weight)?)
    }

    /// LayerNorm over the last dimension with `PREFIX.weight` and `PREFIX.bias`.
    pub fn layer_norm(
        &mut self,
        prefix: &str,
        x: ValueId,
        epsilon: f64,
    ) -> crate::models::Result<ValueId> {
        let mean = self.mean_last(prefix, "mean", x)?;
        let centered = self.f.subtract(&format!("{prefix}.center"), x, mean)?;
        let squares = self
            .f
            .multiply(&format!("{prefix}.square"), centered, centered)?;
        let variance = self.mean_last(prefix, "variance", squares)?;
        let normalized = self.normalize_by(prefix, centered, variance, epsilon)?;
        let scaled = self.scale_by_weight(prefix, "weight", normalized)?;
        let shape = self.shape(x);
        let last = shape.len() as u64 - 1;
        let beta = self.weight(&format!("{prefix}.bias"), &[shape[last as usize]])?;
        let beta = self
            .f
            .broadcast_in_dim(&format!("{prefix}.bias"), beta, &shape, &[last])?;
        Ok(self.f.add(&format!("{prefix}.shift"), scaled, beta)?)
    }

    /// RMSNorm over the last dimension: `x · rsqrt(mean(x²) + ε) · PREFIX.weight`.
    pub fn rms_norm(
        &mut self,
        prefix: &str,
        x: ValueId,
        epsilon: f64,
    ) -> crate::models::Result<ValueId> {
        let squares = self.f.multiply(&format!("{prefix}.square"), x, x)?;
        let mean = self.mean_last(prefix, "mean", squares)?;
        let normalized = self.normalize_by(prefix, x, mean, epsilon)?;
        self.scale_by_weight(prefix, "weight", normalized)
    }

    /// Softmax over the last dimension, shifted by the maximum for stability.
    pub fn softmax(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        let maximum = self
            .f
            .reduce_last_keep(&format!("{location}.max"), x, Reduction::Max)?;
        let shifted = self.f.subtract(&format!("{location}.shift"), x, maximum)?;
        let exponentials = self.f.exponential(&format!("{location}.exp"), shifted)?;
        let sum =
            self.f
                .reduce_last_keep(&format!("{location}.sum"), exponentials, Reduction::Sum)?;
        self.f.divide(location, exponentials, sum)
    }

    /// `[B, S, heads·d]` to `[B, heads, S, d]`.
    pub fn split_heads(
        &mut self,
        location: &str,
        x: ValueId,
        heads: u64,
    ) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let (batch, sequence, width) = (shape[0], shape[1], shape[2]);
        let split = self.f.reshape(
            &format!("{location}.split"),
            x,
            &[batch, sequence, heads, width / heads],
        )?;
        self.f
            .transpose(&format!("{location}.heads"), split, &[0, 2, 1, 3])
    }

    /// `[B, heads, S, d]` to `[B, S, heads·d]`.
    pub fn merge_heads(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let (batch, heads, sequence, head) = (shape[0], shape[1], shape[2], shape[3]);
        let merged = self
            .f
            .transpose(&format!("{location}.merge"), x, &[0, 2, 1, 3])?;
        self.f.reshape(
            &format!("{location}.flat"),
            merged,
            &[batch, sequence, heads * head],
        )
    }

    /// `[B, kv_heads, S, d]` to `[B, kv_heads·groups, S, d]`: each key/value
    /// head serves `groups` query heads (query head h reads kv head h / groups).
    pub fn repeat_heads(
        &mut self,
        location: &str,
        x: ValueId,
        groups: u64,
    ) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let (batch, kv, length, head) = (shape[0], shape[1], shape[2], shape[3]);
        let wide = [batch, kv, groups, length, head];
        let repeated =
            self.f
                .broadcast_in_dim(&format!("{location}.repeat"), x, &wide, &[0, 1, 3, 4])?;
        self.f.reshape(
            &format!("{location}.groups"),
            repeated,
            &[batch, kv * groups, length, head],
        )
    }

    /// Scaled dot-product attention of queries `[B, heads, T, d]` over keys
    /// and values `[B, heads, S, d]`, with an additive `mask` of
    /// `[B, heads, T, S]` (0 where visible, a large negative where not):
    /// `softmax(q·kᵀ / √d + mask) · v`, heads merged: `[B, T, heads·d]`.
    pub fn attention(
        &mut self,
        prefix: &str,
        q: ValueId,
        k: ValueId,
        v: ValueId,
        mask: ValueId,
    ) -> Result<ValueId, HloError> {
        let head = self.shape(q)[3];
        let batched = |lhs, rhs| DotDimensions {
            lhs_batch: vec![0, 1],
            rhs_batch: vec![0, 1],
            lhs_contract: vec![lhs],
            rhs_contract: vec![rhs],
        };
        let scores = self
            .f
            .dot_general(&format!("{prefix}.scores"), q, k, &batched(3, 3))?;
        let score_shape = self.shape(scores);
        let scale = self.scalar(
            &format!("{prefix}.scale"),
            1.0 / (head as f64).sqrt(),
            &score_shape,
        )?;
        let scores = self
            .f
            .multiply(&format!("{prefix}.scaled"), scores, scale)?;
        let scores = self.f.add(&format!("{prefix}.masked"), scores, mask)?;
        let probabilities = self.softmax(&format!("{prefix}.softmax"), scores)?;
        let context = self.f.dot_general(
            &format!("{prefix}.context"),
            probabilities,
            v,
            &batched(3, 2),
        )?;
        self.merge_heads(&format!("{prefix}.context"), context)
    }

    /// cos and sin of `position · base^(-2i/d)`, `[length, d/2]`, computed
    /// in f64 and rounded once.
    pub fn rotary_tables(
        &mut self,
        length: u64,
        dimensions: u64,
        base: f64,
    ) -> Result<(ValueId, ValueId), HloError> {
        let half = dimensions / 2;
        let angle = |position: u64, i: u64| {
            position as f64 * base.powf(-2.0 * i as f64 / dimensions as f64)
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

    /// Rotates adjacent pairs `(x[2i], x[2i+1])` of every head of
    /// `[1, T, heads, d]` by the angles whose `cos` and `sin` are `[T, d/2]`
    /// (llama.cpp's "normal" rope).
    pub fn rope_pairs(
        &mut self,
        name: &str,
        x: ValueId,
        cos: ValueId,
        sin: ValueId,
    ) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let (sequence, heads, head) = (shape[1], shape[2], shape[3]);
        let half = head / 2;
        let pairs = self
            .f
            .reshape(&format!("{name}.pairs"), x, &[1, sequence, heads, half, 2])?;
        let halves = [1, sequence, heads, half];
        let mut part = |index: u64, label: &str| -> Result<ValueId, HloError> {
            let sliced = self.f.slice(
                &format!("{name}.{label}"),
                pairs,
                &[0, 0, 0, 0, index],
                &[1, sequence, heads, half, index + 1],
            )?;
            self.f
                .reshape(&format!("{name}.{label}.flat"), sliced, &halves)
        };
        let (even, odd) = (part(0, "even")?, part(1, "odd")?);
        let cos = self
            .f
            .broadcast_in_dim(&format!("{name}.cos"), cos, &halves, &[1, 3])?;
        let sin = self
            .f
            .broadcast_in_dim(&format!("{name}.sin"), sin, &halves, &[1, 3])?;
        let even_cos = self.f.multiply(&format!("{name}.even_cos"), even, cos)?;
        let odd_sin = self.f.multiply(&format!("{name}.odd_sin"), odd, sin)?;
        let even_sin = self.f.multiply(&format!("{name}.even_sin"), even, sin)?;
        let odd_cos = self.f.multiply(&format!("{name}.odd_cos"), odd, cos)?;
        let first = self
            .f
            .subtract(&format!("{name}.first"), even_cos, odd_sin)?;
        let second = self.f.add(&format!("{name}.second"), even_sin, odd_cos)?;
        let paired = [1, sequence, heads, half, 1];
        let first = self
            .f
            .reshape(&format!("{name}.first.pair"), first, &paired)?;
        let second = self
            .f
            .reshape(&format!("{name}.second.pair"), second, &paired)?;
        let joined = self
            .f
            .concatenate(&format!("{name}.join"), &[first, second], 4)?;
        self.f.reshape(name, joined, &shape)
    }

    /// SwiGLU: `down(silu(gate(x)) · up(x))`, with the three projections
    /// named by `[gate, up, down]`, `hidden` wide inside.
    pub fn swiglu(
        &mut self,
        [gate, up, down]: [&str; 3],
        x: ValueId,
        hidden: u64,
    ) -> crate::models::Result<ValueId> {
        let width = *self.shape(x).last().unwrap_or(&1);
        let gated = self.linear(gate, x, hidden, width, Bias::No)?;
        let lifted = self.linear(up, x, hidden, width, Bias::No)?;
        let sigmoid = self.f.logistic(&format!("{gate}.sigmoid"), gated)?;
        let silu = self.f.multiply(&format!("{gate}.silu"), gated, sigmoid)?;
        let product = self.f.multiply(&format!("{up}.gated"), silu, lifted)?;
        self.linear(down, product, width, hidden, Bias::No)
    }

    /// GELU in the form `kind` names.
    pub fn gelu(&mut self, location: &str, x: ValueId, kind: Gelu) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let half = self.scalar(&format!("{location}.half"), 0.5, &shape)?;
        let one = self.scalar(&format!("{location}.one"), 1.0, &shape)?;
        let inner = match kind {
            Gelu::Erf => {
                let inverse_root_two = self.scalar(
                    &format!("{location}.inverse_sqrt2"),
                    std::f64::consts::FRAC_1_SQRT_2,
                    &shape,
                )?;
                let scaled = self
                    .f
                    .multiply(&format!("{location}.scale"), x, inverse_root_two)?;
                self.f.erf(&format!("{location}.erf"), scaled)?
            }
            Gelu::Tanh => self.tanh_inner(location, x, &shape)?,
        };
        let shifted = self.f.add(&format!("{location}.one_plus"), one, inner)?;
        let halved = self.f.multiply(&format!("{location}.halve"), x, half)?;
        self.f.multiply(location, halved, shifted)
    }

    /// `tanh(√(2/π) · (x + 0.044715 x³))`.
    fn tanh_inner(
        &mut self,
        location: &str,
        x: ValueId,
        shape: &[u64],
    ) -> Result<ValueId, HloError> {
        let coefficient = self.scalar(&format!("{location}.cubic"), 0.044715, shape)?;
        let root = self.scalar(
            &format!("{location}.sqrt_2_over_pi"),
            (2.0 / std::f64::consts::PI).sqrt(),
            shape,
        )?;
        let square = self.f.multiply(&format!("{location}.square"), x, x)?;
        let cube = self.f.multiply(&format!("{location}.cube"), square, x)?;
        let cubic = self
            .f
            .multiply(&format!("{location}.cubic_term"), cube, coefficient)?;
        let sum = self.f.add(&format!("{location}.inner"), x, cubic)?;
        let scaled = self.f.multiply(&format!("{location}.scale"), sum, root)?;
        self.f.tanh(&format!("{location}.tanh"), scaled)
    }

    /// `max(x, 0)`.
    pub fn relu(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        let shape = self.shape(x);
        let zero = self.scalar(&format!("{location}.zero"), 0.0, &shape)?;
        self.f.maximum(location, x, zero)
    }
}
