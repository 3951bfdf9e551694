//! The BERT encoder and the sentence-transformers pipeline as StableHLO:
//! embeddings, `num_hidden_layers` encoder layers (masked multi-head
//! self-attention, feed-forward with GELU, residuals and LayerNorms), then
//! pooling and optional L2 normalisation.
//!
//! Every op is located as `embeddings.*`, `encoder.layer.N.*` or
//! `pooling.*`, after the weights it uses.

use super::config::Pooling;
use super::model::BertModel;
use crate::hlo::{Comparison, HloError, ModuleBuilder, Reduction, TensorType, ValueId};
use crate::models::ModelError;
use crate::models::layers::{Bias, Gelu, Layers};
use crate::models::weights::SafetensorsWeights;
use crate::tensor::ElementType;

/// The exported function: `(input_ids, attention_mask, token_type_ids)`,
/// each `tensor<BATCHxSEQxi32>`, to `embeddings: tensor<BATCHxHIDDENxf32>`.
pub const EMBED_FUNCTION: &str = "embed";

/// Builds the `embed` function of `model` for a fixed batch and sequence length.
pub fn build_embedder(
    module: &mut ModuleBuilder<'_>,
    model: &BertModel,
    batch: u64,
    sequence: u64,
) -> crate::models::Result<()> {
    // The runtime indexes with i32: a batch that overflows it makes invalid IR.
    let fits = batch
        .checked_mul(sequence)
        .is_some_and(|tokens| tokens <= 1 << 24);
    if sequence == 0 || sequence > model.config.max_position_embeddings || batch == 0 || !fits {
        return Err(ModelError::config(
            model.folder.join("config.json"),
            format!(
                "sequence length {sequence} and batch {batch}: need 1 ≤ sequence ≤ max_position_embeddings ({}), batch ≥ 1 and batch × sequence ≤ 2^24",
                model.config.max_position_embeddings
            ),
        ));
    }
    let ids = TensorType::new(&[batch, sequence], ElementType::I32);
    let mut function = module.function(EMBED_FUNCTION, &[ids.clone(), ids.clone(), ids])?;
    function.name_arguments(&["input_ids", "attention_mask", "token_type_ids"])?;
    let weights = SafetensorsWeights(&model.weights);
    let mut encoder = Encoder {
        l: Layers::new(&mut function, &weights),
        model,
        batch,
        sequence,
    };
    let pooled = encoder.run()?;
    function.finish_named(&[("embeddings", pooled)])?;
    Ok(())
}

struct Encoder<'b, 'm, 'c> {
    l: Layers<'b, 'm, 'c>,
    model: &'b BertModel,
    batch: u64,
    sequence: u64,
}

impl Encoder<'_, '_, '_> {
    fn hidden(&self) -> u64 {
        self.model.config.hidden_size
    }

    fn run(&mut self) -> crate::models::Result<ValueId> {
        let f = &mut *self.l.f;
        let (ids, mask, types) = (f.argument(0), f.argument(1), f.argument(2));
        let mut x = self.embeddings(ids, types)?;
        let mask = self.l.f.convert("attention_mask", mask, ElementType::F32)?;
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

    fn layer_norm(&mut self, prefix: &str, x: ValueId) -> crate::models::Result<ValueId> {
        let epsilon = self.model.config.layer_norm_eps;
        self.l.layer_norm(prefix, x, epsilon)
    }

    fn embeddings(&mut self, ids: ValueId, types: ValueId) -> crate::models::Result<ValueId> {
        let config = self.model.config.clone();
        let (sequence, hidden) = (self.sequence, config.hidden_size);
        let shape = [self.batch, sequence, hidden];
        let words = self.l.weight(
            "embeddings.word_embeddings.weight",
            &[config.vocab_size, hidden],
        )?;
        let words = self
            .l
            .f
            .gather_rows("embeddings.word_embeddings", words, ids)?;
        let positions = self.l.weight(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, hidden],
        )?;
        let f = &mut *self.l.f;
        let positions = f.slice(
            "embeddings.position_embeddings",
            positions,
            &[0, 0],
            &[sequence, hidden],
        )?;
        let positions = f.broadcast_in_dim(
            "embeddings.position_embeddings.broadcast",
            positions,
            &shape,
            &[1, 2],
        )?;
        let token_types = self.l.weight(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, hidden],
        )?;
        let f = &mut *self.l.f;
        let token_types = f.gather_rows("embeddings.token_type_embeddings", token_types, types)?;
        let sum = f.add("embeddings.add_positions", words, positions)?;
        let sum = f.add("embeddings.add_token_types", sum, token_types)?;
        self.layer_norm("embeddings.LayerNorm", sum)
    }

    /// `(1 - mask) · f32::MIN`, broadcast over heads and query positions, as
    /// Hugging Face's BERT extends the attention mask.
    fn attention_bias(&mut self, mask: ValueId) -> crate::models::Result<ValueId> {
        let (batch, sequence) = (self.batch, self.sequence);
        let heads = self.model.config.num_attention_heads;
        let one = self
            .l
            .scalar("attention_mask.one", 1.0, &[batch, sequence])?;
        let lowest = self
            .l
            .scalar("attention_mask.lowest", f32::MIN as f64, &[batch, sequence])?;
        let f = &mut *self.l.f;
        let inverted = f.subtract("attention_mask.invert", one, mask)?;
        let bias = f.multiply("attention_mask.bias", inverted, lowest)?;
        Ok(f.broadcast_in_dim(
            "attention_mask.broadcast",
            bias,
            &[batch, heads, sequence, sequence],
            &[0, 3],
        )?)
    }

    fn attention(
        &mut self,
        prefix: &str,
        x: ValueId,
        bias: ValueId,
    ) -> crate::models::Result<ValueId> {
        let (hidden, heads) = (self.hidden(), self.model.config.num_attention_heads);
        let mut heads_of = |name: &str| -> crate::models::Result<ValueId> {
            let location = format!("{prefix}.self.{name}");
            let projected = self.l.linear(&location, x, hidden, hidden, Bias::Yes)?;
            Ok(self.l.split_heads(&location, projected, heads)?)
        };
        let (query, key, value) = (heads_of("query")?, heads_of("key")?, heads_of("value")?);
        let context = self
            .l
            .attention(&format!("{prefix}.self"), query, key, value, bias)?;
        let output = self.l.linear(
            &format!("{prefix}.output.dense"),
            context,
            hidden,
            hidden,
            Bias::Yes,
        )?;
        let residual = self
            .l
            .f
            .add(&format!("{prefix}.output.residual"), output, x)?;
        self.layer_norm(&format!("{prefix}.output.LayerNorm"), residual)
    }

    fn activation(&mut self, location: &str, x: ValueId) -> Result<ValueId, HloError> {
        match self.model.config.hidden_act.as_str() {
            "relu" => self.l.relu(location, x),
            "gelu" => self.l.gelu(location, x, Gelu::Erf),
            _ => self.l.gelu(location, x, Gelu::Tanh),
        }
    }

    fn layer(&mut self, layer: u64, x: ValueId, bias: ValueId) -> crate::models::Result<ValueId> {
        let prefix = format!("encoder.layer.{layer}");
        let (hidden, intermediate) = (self.hidden(), self.model.config.intermediate_size);
        let attended = self.attention(&format!("{prefix}.attention"), x, bias)?;
        let expanded = self.l.linear(
            &format!("{prefix}.intermediate.dense"),
            attended,
            intermediate,
            hidden,
            Bias::Yes,
        )?;
        let activated = self.activation(&format!("{prefix}.intermediate.activation"), expanded)?;
        let output = self.l.linear(
            &format!("{prefix}.output.dense"),
            activated,
            hidden,
            intermediate,
            Bias::Yes,
        )?;
        let residual = self
            .l
            .f
            .add(&format!("{prefix}.output.residual"), output, attended)?;
        self.layer_norm(&format!("{prefix}.output.LayerNorm"), residual)
    }

    /// sentence-transformers pooling over the tokens the mask keeps.
    fn pool(&mut self, x: ValueId, mask: ValueId) -> Result<ValueId, HloError> {
        match self.model.pipeline.pooling {
            Pooling::Cls => self.pool_cls(x),
            Pooling::Mean => self.pool_mean(x, mask),
            Pooling::Max => self.pool_max(x, mask),
        }
    }

    fn pool_cls(&mut self, x: ValueId) -> Result<ValueId, HloError> {
        let (batch, hidden) = (self.batch, self.hidden());
        let first = self
            .l
            .f
            .slice("pooling.cls", x, &[0, 0, 0], &[batch, 1, hidden])?;
        self.l
            .f
            .reshape("pooling.cls.squeeze", first, &[batch, hidden])
    }

    fn pool_mean(&mut self, x: ValueId, mask: ValueId) -> Result<ValueId, HloError> {
        let (batch, hidden) = (self.batch, self.hidden());
        let shape = [batch, self.sequence, hidden];
        let floor = self.l.scalar("pooling.count_floor", 1e-9, &[batch])?;
        let f = &mut *self.l.f;
        let mask3 = f.broadcast_in_dim("pooling.mask", mask, &shape, &[0, 1])?;
        let kept = f.multiply("pooling.masked", x, mask3)?;
        let sum = f.reduce("pooling.sum", kept, &[1], Reduction::Sum)?;
        let count = f.reduce("pooling.count", mask, &[1], Reduction::Sum)?;
        let count = f.maximum("pooling.count_clamp", count, floor)?;
        let count = f.broadcast_in_dim("pooling.count_broadcast", count, &[batch, hidden], &[0])?;
        f.divide("pooling.mean", sum, count)
    }

    /// Masked-out tokens are pushed to f32::MIN before the maximum.
    fn pool_max(&mut self, x: ValueId, mask: ValueId) -> Result<ValueId, HloError> {
        let shape = [self.batch, self.sequence, self.hidden()];
        let zero = self.l.scalar("pooling.zero", 0.0, &shape)?;
        let lowest = self.l.scalar("pooling.lowest", f32::MIN as f64, &shape)?;
        let f = &mut *self.l.f;
        let mask3 = f.broadcast_in_dim("pooling.mask", mask, &shape, &[0, 1])?;
        let keep = f.compare("pooling.keep", mask3, zero, Comparison::Gt)?;
        let masked = f.select("pooling.masked", keep, x, lowest)?;
        f.reduce("pooling.max", masked, &[1], Reduction::Max)
    }

    /// `x / max(‖x‖₂, 1e-12)` per sentence, as `torch.nn.functional.normalize`.
    fn normalize(&mut self, x: ValueId) -> Result<ValueId, HloError> {
        let (batch, hidden) = (self.batch, self.hidden());
        let floor = self.l.scalar("normalize.floor", 1e-12, &[batch])?;
        let f = &mut *self.l.f;
        let squares = f.multiply("normalize.square", x, x)?;
        let sum = f.reduce("normalize.sum", squares, &[1], Reduction::Sum)?;
        let norm = f.sqrt("normalize.norm", sum)?;
        let norm = f.maximum("normalize.clamp", norm, floor)?;
        let norm = f.broadcast_in_dim("normalize.broadcast", norm, &[batch, hidden], &[0])?;
        f.divide("normalize.divide", x, norm)
    }
}
