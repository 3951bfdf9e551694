//! The BERT encoder and the sentence-transformers pipeline as StableHLO:
//! embeddings, `num_hidden_layers` encoder layers (masked multi-head
//! self-attention, feed-forward with exact-erf GELU, residuals and
//! LayerNorms), then pooling and optional L2 normalisation.
//!
//! Every op is located as `embeddings.*`, `encoder.layer.N.*` or
//! `pooling.*`, after the weights it uses.

use super::{BertModel, ModelError, Pooling};
use crate::formats::safetensors::compressed_tensors::affine_quantization;
use crate::hlo::{
    DotDimensions, FunctionBuilder, HloError, ModuleBuilder, Reduction, TensorType, ValueId,
};
use crate::tensor::ElementType;

/// The exported function: `(input_ids, attention_mask, token_type_ids)`,
/// each `tensor<BATCHxSEQxi32>`, to `tensor<BATCHxHIDDENxf32>`.
pub const EMBED_FUNCTION: &str = "embed";

/// Builds the `embed` function of `model` for a fixed batch and sequence length.
pub fn build_embedder(
    module: &mut ModuleBuilder<'_>,
    model: &BertModel,
    batch: u64,
    sequence: u64,
) -> crate::Result<()> {
    if sequence == 0 || sequence > model.config.max_position_embeddings || batch == 0 {
        return Err(ModelError::Config {
            path: model.folder.join("config.json"),
            message: format!(
                "sequence length {sequence} and batch {batch}: need 1 ≤ sequence ≤ max_position_embeddings ({}) and batch ≥ 1",
                model.config.max_position_embeddings
            ),
        }
        .into());
    }
    let ids = TensorType::new(&[batch, sequence], ElementType::I32);
    let mut function = module.function(EMBED_FUNCTION, &[ids.clone(), ids.clone(), ids])?;
    let mut encoder = Encoder {
        f: &mut function,
        model,
        batch,
        sequence,
    };
    let pooled = encoder.run()?;
    function.finish(&[pooled])?;
    Ok(())
}

struct Encoder<'b, 'm, 'c> {
    f: &'b mut FunctionBuilder<'m, 'c>,
    model: &'b BertModel,
    batch: u64,
    sequence: u64,
}

impl Encoder<'_, '_, '_> {
    fn hidden(&self) -> u64 {
        self.model.config.hidden_size
    }

    fn run(&mut self) -> crate::Result<ValueId> {
        let (ids, mask, types) = (self.f.argument(0), self.f.argument(1), self.f.argument(2));
        let mut x = self.embeddings(ids, types)?;
        let mask = self.f.convert("attention_mask", mask, ElementType::F32)?;
        let bias = self.attention_bias(mask)?;
        for layer in 0..self.model.config.num_hidden_layers {
            x = self.layer(layer, x, bias)?;
        }
        let pooled = self.pool(x, mask)?;
        if self.model.pipeline.normalize {
            return Ok(self.normalize(pooled)?);
        }
        Ok(pooled)
    }

    /// Returns weight `name` as f32, checking its shape.
    fn weight(&mut self, name: &str, shape: &[u64]) -> crate::Result<ValueId> {
        let tensor = self
            .model
            .weights
            .get(name)
            .ok_or_else(|| ModelError::Weight {
                name: name.into(),
                message: "missing from the checkpoint".into(),
            })?;
        if tensor.spec.shape != shape {
            return Err(ModelError::Weight {
                name: name.into(),
                message: format!("shape {:?}, expected {shape:?}", tensor.spec.shape),
            }
            .into());
        }
        match tensor.spec.element {
            ElementType::F32 => Ok(self.f.weight(&tensor.spec, &tensor.buffer)?),
            ElementType::F16 | ElementType::BF16 | ElementType::F64 => {
                let value = self.f.weight(&tensor.spec, &tensor.buffer)?;
                Ok(self.f.convert(name, value, ElementType::F32)?)
            }
            storage @ (ElementType::I8 | ElementType::U8) => {
                let quantization = affine_quantization(&self.model.weights, name, storage, shape)
                    .map_err(|error| ModelError::Weight {
                    name: error.tensor,
                    message: error.message,
                })?;
                Ok(self
                    .f
                    .quantized_weight(&tensor.spec, &tensor.buffer, &quantization)?)
            }
            other => Err(ModelError::Weight {
                name: name.into(),
                message: format!("element type {other}, expected a float or int8 with scales"),
            }
            .into()),
        }
    }

    fn scalar(&mut self, location: &str, value: f64, shape: &[u64]) -> Result<ValueId, HloError> {
        self.f
            .splat_constant(location, ElementType::F32, shape, value)
    }

    /// `x · Wᵀ + b` for a PyTorch `Linear` stored as `[out, in]` + `[out]`.
    fn linear(
        &mut self,
        prefix: &str,
        x: ValueId,
        inputs: u64,
        outputs: u64,
    ) -> crate::Result<ValueId> {
        let weight = self.weight(&format!("{prefix}.weight"), &[outputs, inputs])?;
        let bias = self.weight(&format!("{prefix}.bias"), &[outputs])?;
        let shape = self.f.type_of(x).shape.clone();
        let last = shape.len() as u64 - 1;
        let product = self
            .f
            .dot_general(prefix, x, weight, &DotDimensions::contract(last, 1))?;
        let mut out_shape = shape;
        *out_shape.last_mut().unwrap() = outputs;
        let bias = self
            .f
            .broadcast_in_dim(&format!("{prefix}.bias"), bias, &out_shape, &[last])?;
        Ok(self.f.add(&format!("{prefix}.add"), product, bias)?)
    }

    /// LayerNorm over the last dimension with `prefix.weight` and `prefix.bias`.
    fn layer_norm(&mut self, prefix: &str, x: ValueId) -> crate::Result<ValueId> {
        let hidden = self.hidden();
        let shape = self.f.type_of(x).shape.clone();
        let last = shape.len() as u64 - 1;
        let gamma = self.weight(&format!("{prefix}.weight"), &[hidden])?;
        let beta = self.weight(&format!("{prefix}.bias"), &[hidden])?;
        let width = self.scalar(&format!("{prefix}.width"), hidden as f64, &shape)?;
        let sum = self
            .f
            .reduce_last_keep(&format!("{prefix}.sum"), x, Reduction::Sum)?;
        let mean = self.f.divide(&format!("{prefix}.mean"), sum, width)?;
        let centered = self.f.subtract(&format!("{prefix}.center"), x, mean)?;
        let squares = self
            .f
            .multiply(&format!("{prefix}.square"), centered, centered)?;
        let square_sum =
            self.f
                .reduce_last_keep(&format!("{prefix}.square_sum"), squares, Reduction::Sum)?;
        let variance = self
            .f
            .divide(&format!("{prefix}.variance"), square_sum, width)?;
        let epsilon = self.scalar(
            &format!("{prefix}.epsilon"),
            self.model.config.layer_norm_eps,
            &shape,
        )?;
        let shifted = self
            .f
            .add(&format!("{prefix}.variance_eps"), variance, epsilon)?;
        let inverse = self.f.rsqrt(&format!("{prefix}.rsqrt"), shifted)?;
        let normalized = self
            .f
            .multiply(&format!("{prefix}.normalize"), centered, inverse)?;
        let gamma = self
            .f
            .broadcast_in_dim(&format!("{prefix}.weight"), gamma, &shape, &[last])?;
        let beta = self
            .f
            .broadcast_in_dim(&format!("{prefix}.bias"), beta, &shape, &[last])?;
        let scaled = self
            .f
            .multiply(&format!("{prefix}.scale"), normalized, gamma)?;
        Ok(self.f.add(&format!("{prefix}.shift"), scaled, beta)?)
    }

    fn embeddings(&mut self, ids: ValueId, types: ValueId) -> crate::Result<ValueId> {
        let config = self.model.config.clone();
        let (batch, sequence, hidden) = (self.batch, self.sequence, config.hidden_size);
        let shape = [batch, sequence, hidden];
        let words = self.weight(
            "embeddings.word_embeddings.weight",
            &[config.vocab_size, hidden],
        )?;
        let words = self
            .f
            .gather_rows("embeddings.word_embeddings", words, ids)?;
        let positions = self.weight(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, hidden],
        )?;
        let positions = self.f.slice(
            "embeddings.position_embeddings",
            positions,
            &[0, 0],
            &[sequence, hidden],
        )?;
        let positions = self.f.broadcast_in_dim(
            "embeddings.position_embeddings.broadcast",
            positions,
            &shape,
            &[1, 2],
        )?;
        let token_types = self.weight(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, hidden],
        )?;
        let token_types =
            self.f
                .gather_rows("embeddings.token_type_embeddings", token_types, types)?;
        let sum = self.f.add("embeddings.add_positions", words, positions)?;
        let sum = self.f.add("embeddings.add_token_types", sum, token_types)?;
        self.layer_norm("embeddings.LayerNorm", sum)
    }

    /// `(1 - mask) · f32::MIN`, broadcast over heads and query positions, as
    /// Hugging Face's BERT extends the attention mask.
    fn attention_bias(&mut self, mask: ValueId) -> crate::Result<ValueId> {
        let (batch, sequence) = (self.batch, self.sequence);
        let heads = self.model.config.num_attention_heads;
        let one = self.scalar("attention_mask.one", 1.0, &[batch, sequence])?;
        let lowest = self.scalar("attention_mask.lowest", f32::MIN as f64, &[batch, sequence])?;
        let inverted = self.f.subtract("attention_mask.invert", one, mask)?;
        let bias = self.f.multiply("attention_mask.bias", inverted, lowest)?;
        Ok(self.f.broadcast_in_dim(
            "attention_mask.broadcast",
            bias,
            &[batch, heads, sequence, sequence],
            &[0, 3],
        )?)
    }

    /// `[B, S, H]` to `[B, heads, S, head]`.
    fn split_heads(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        let config = &self.model.config;
        let (heads, head) = (config.num_attention_heads, config.head_size());
        let split = self.f.reshape(
            &format!("{location}.split"),
            x,
            &[self.batch, self.sequence, heads, head],
        )?;
        self.f
            .transpose(&format!("{location}.heads"), split, &[0, 2, 1, 3])
    }

    fn attention(&mut self, prefix: &str, x: ValueId, bias: ValueId) -> crate::Result<ValueId> {
        let hidden = self.hidden();
        let head = self.model.config.head_size();
        let heads = self.model.config.num_attention_heads;
        let (batch, sequence) = (self.batch, self.sequence);
        let query = self.linear(&format!("{prefix}.self.query"), x, hidden, hidden)?;
        let key = self.linear(&format!("{prefix}.self.key"), x, hidden, hidden)?;
        let value = self.linear(&format!("{prefix}.self.value"), x, hidden, hidden)?;
        let query = self.split_heads(&format!("{prefix}.self.query"), query)?;
        let key = self.split_heads(&format!("{prefix}.self.key"), key)?;
        let value = self.split_heads(&format!("{prefix}.self.value"), value)?;
        let batched = |lhs_contract, rhs_contract| DotDimensions {
            lhs_batch: vec![0, 1],
            rhs_batch: vec![0, 1],
            lhs_contract: vec![lhs_contract],
            rhs_contract: vec![rhs_contract],
        };
        let scores =
            self.f
                .dot_general(&format!("{prefix}.self.scores"), query, key, &batched(3, 3))?;
        let score_shape = [batch, heads, sequence, sequence];
        let scale = self.scalar(
            &format!("{prefix}.self.scale"),
            1.0 / (head as f64).sqrt(),
            &score_shape,
        )?;
        let scores = self
            .f
            .multiply(&format!("{prefix}.self.scaled"), scores, scale)?;
        let scores = self.f.add(&format!("{prefix}.self.masked"), scores, bias)?;
        let probabilities = self.softmax(&format!("{prefix}.self.softmax"), scores)?;
        let context = self.f.dot_general(
            &format!("{prefix}.self.context"),
            probabilities,
            value,
            &batched(3, 2),
        )?;
        let context = self
            .f
            .transpose(&format!("{prefix}.self.merge"), context, &[0, 2, 1, 3])?;
        let context = self.f.reshape(
            &format!("{prefix}.self.merge_heads"),
            context,
            &[batch, sequence, hidden],
        )?;
        let output = self.linear(&format!("{prefix}.output.dense"), context, hidden, hidden)?;
        let residual = self
            .f
            .add(&format!("{prefix}.output.residual"), output, x)?;
        self.layer_norm(&format!("{prefix}.output.LayerNorm"), residual)
    }

    /// Softmax over the last dimension, shifted by the maximum for stability.
    fn softmax(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        let maximum = self
            .f
            .reduce_last_keep(&format!("{location}.max"), x, Reduction::Max)?;
        let shifted = self.f.subtract(&format!("{location}.shift"), x, maximum)?;
        let exponentials = self.f.exponential(&format!("{location}.exp"), shifted)?;
        let sum =
            self.f
                .reduce_last_keep(&format!("{location}.sum"), exponentials, Reduction::Sum)?;
        self.f
            .divide(&format!("{location}.divide"), exponentials, sum)
    }

    fn activation(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        let shape = self.f.type_of(x).shape.clone();
        let half = self.scalar(&format!("{location}.half"), 0.5, &shape)?;
        let one = self.scalar(&format!("{location}.one"), 1.0, &shape)?;
        let inner = match self.model.config.hidden_act.as_str() {
            "relu" => {
                let zero = self.scalar(&format!("{location}.zero"), 0.0, &shape)?;
                return self.f.maximum(location, x, zero);
            }
            "gelu" => {
                // 0.5 · x · (1 + erf(x / √2))
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
            _ => {
                // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 x³)))
                let coefficient = self.scalar(&format!("{location}.cubic"), 0.044715, &shape)?;
                let root = self.scalar(
                    &format!("{location}.sqrt_2_over_pi"),
                    (2.0 / std::f64::consts::PI).sqrt(),
                    &shape,
                )?;
                let square = self.f.multiply(&format!("{location}.square"), x, x)?;
                let cube = self.f.multiply(&format!("{location}.cube"), square, x)?;
                let cubic =
                    self.f
                        .multiply(&format!("{location}.cubic_term"), cube, coefficient)?;
                let sum = self.f.add(&format!("{location}.inner"), x, cubic)?;
                let scaled = self.f.multiply(&format!("{location}.scale"), sum, root)?;
                self.f.tanh(&format!("{location}.tanh"), scaled)?
            }
        };
        let shifted = self.f.add(&format!("{location}.one_plus"), one, inner)?;
        let halved = self.f.multiply(&format!("{location}.halve"), x, half)?;
        self.f.multiply(location, halved, shifted)
    }

    fn layer(&mut self, layer: u64, x: ValueId, bias: ValueId) -> crate::Result<ValueId> {
        let prefix = format!("encoder.layer.{layer}");
        let (hidden, intermediate) = (self.hidden(), self.model.config.intermediate_size);
        let attended = self.attention(&format!("{prefix}.attention"), x, bias)?;
        let expanded = self.linear(
            &format!("{prefix}.intermediate.dense"),
            attended,
            hidden,
            intermediate,
        )?;
        let activated = self.activation(&format!("{prefix}.intermediate.activation"), expanded)?;
        let output = self.linear(
            &format!("{prefix}.output.dense"),
            activated,
            intermediate,
            hidden,
        )?;
        let residual = self
            .f
            .add(&format!("{prefix}.output.residual"), output, attended)?;
        self.layer_norm(&format!("{prefix}.output.LayerNorm"), residual)
    }

    /// sentence-transformers pooling over the tokens the mask keeps.
    fn pool(&mut self, x: ValueId, mask: ValueId) -> crate::Result<ValueId> {
        let (batch, sequence, hidden) = (self.batch, self.sequence, self.hidden());
        let shape = [batch, sequence, hidden];
        match self.model.pipeline.pooling {
            Pooling::Cls => {
                let first = self
                    .f
                    .slice("pooling.cls", x, &[0, 0, 0], &[batch, 1, hidden])?;
                Ok(self
                    .f
                    .reshape("pooling.cls.squeeze", first, &[batch, hidden])?)
            }
            Pooling::Mean => {
                let mask3 = self
                    .f
                    .broadcast_in_dim("pooling.mask", mask, &shape, &[0, 1])?;
                let kept = self.f.multiply("pooling.masked", x, mask3)?;
                let sum = self.f.reduce("pooling.sum", kept, &[1], Reduction::Sum)?;
                let count = self.f.reduce("pooling.count", mask, &[1], Reduction::Sum)?;
                let floor = self.scalar("pooling.count_floor", 1e-9, &[batch])?;
                let count = self.f.maximum("pooling.count_clamp", count, floor)?;
                let count = self.f.broadcast_in_dim(
                    "pooling.count_broadcast",
                    count,
                    &[batch, hidden],
                    &[0],
                )?;
                Ok(self.f.divide("pooling.mean", sum, count)?)
            }
            Pooling::Max => {
                // Masked-out tokens are pushed to f32::MIN before the maximum.
                let mask3 = self
                    .f
                    .broadcast_in_dim("pooling.mask", mask, &shape, &[0, 1])?;
                let zero = self.scalar("pooling.zero", 0.0, &shape)?;
                let lowest = self.scalar("pooling.lowest", f32::MIN as f64, &shape)?;
                let keep =
                    self.f
                        .compare("pooling.keep", mask3, zero, crate::hlo::Comparison::Gt)?;
                let masked = self.f.select("pooling.masked", keep, x, lowest)?;
                Ok(self.f.reduce("pooling.max", masked, &[1], Reduction::Max)?)
            }
        }
    }

    /// `x / max(‖x‖₂, 1e-12)` per sentence, as `torch.nn.functional.normalize`.
    fn normalize(&mut self, x: ValueId) -> Result<ValueId, HloError> {
        let (batch, hidden) = (self.batch, self.hidden());
        let squares = self.f.multiply("normalize.square", x, x)?;
        let sum = self
            .f
            .reduce("normalize.sum", squares, &[1], Reduction::Sum)?;
        let norm = self.f.sqrt("normalize.norm", sum)?;
        let floor = self.scalar("normalize.floor", 1e-12, &[batch])?;
        let norm = self.f.maximum("normalize.clamp", norm, floor)?;
        let norm = self
            .f
            .broadcast_in_dim("normalize.broadcast", norm, &[batch, hidden], &[0])?;
        self.f.divide("normalize.divide", x, norm)
    }
}
