//! Greedy generation inside the module: `generate` calls `prefill` on the
//! prompt, then `decode` in a `stablehlo.while` over the KV cache until it
//! has `max_new_tokens` tokens or meets the end token. One runtime call (and
//! one load of the parameters) makes a whole continuation; the host loop in
//! `run` does the same one step per call.

use super::graph::{DECODE_FUNCTION, PREFILL_FUNCTION};
use super::model::LlamaModel;
use crate::hlo::{
    Comparison, FunctionBuilder, HloError, ModuleBuilder, Reduction, TensorType, ValueId,
};
use crate::tensor::ElementType;

/// `generate(prompt: tensor<1xSEQxi32>, prompt_length, max_new_tokens,
/// end_token: tensor<1xi32>) -> (tokens: tensor<1xSEQxi32>, count:
/// tensor<1xi32>)`: the prompt (padded to SEQ) with `count` generated
/// tokens written after its `prompt_length` tokens. The caller keeps
/// `prompt_length + max_new_tokens ≤ SEQ`; an `end_token` of -1 never stops.
pub const GENERATE_FUNCTION: &str = "generate";

fn i32_type(shape: &[u64]) -> TensorType {
    TensorType::new(shape, ElementType::I32)
}

/// Builds `generate` over the `prefill` and `decode` already in `module`.
pub fn build_generate(
    module: &mut ModuleBuilder<'_>,
    model: &LlamaModel,
    sequence: u64,
) -> crate::models::Result<()> {
    let c = &model.config;
    let cache = TensorType::new(
        &[c.blocks, c.kv_heads, sequence, c.head_size()],
        ElementType::F32,
    );
    let inputs = [
        i32_type(&[1, sequence]),
        i32_type(&[1]),
        i32_type(&[1]),
        i32_type(&[1]),
    ];
    let mut f = module.function(GENERATE_FUNCTION, &inputs)?;
    f.name_arguments(&["prompt", "prompt_length", "max_new_tokens", "end_token"])?;
    let (prompt, length, max_new, end) =
        (f.argument(0), f.argument(1), f.argument(2), f.argument(3));
    let logits_type = TensorType::new(&[1, sequence, c.vocabulary], ElementType::F32);
    let prefilled = f.call(
        "generate.prefill",
        PREFILL_FUNCTION,
        &[prompt],
        &[logits_type, cache.clone(), cache.clone()],
    )?;
    let one = f.splat_constant("generate.one", ElementType::I32, &[1], 1.0)?;
    let last = f.subtract("generate.last_position", length, one)?;
    let rows = f.reshape("generate.rows", prefilled[0], &[sequence, c.vocabulary])?;
    let row = f.gather_rows("generate.last_row", rows, last)?;
    let first = argmax(&mut f, "generate.first", row)?;
    let tokens = write_token(&mut f, "generate.write_first", prompt, first, length)?;
    let limit = f.add("generate.end_position", length, max_new)?;
    let limit = f.subtract("generate.limit", limit, one)?;
    let initial = [length, first, prefilled[1], prefilled[2], tokens];
    let state = f.while_loop(
        "generate.loop",
        &initial,
        |f, state| continues(f, state, limit, end),
        |f, state| step(f, state, &cache, c.vocabulary, one),
    )?;
    let generated = f.subtract("generate.count.offset", state[0], length)?;
    let count = f.add("generate.count", generated, one)?;
    f.finish_named(&[("tokens", state[4]), ("count", count)])?;
    Ok(())
}

/// The loop goes on while the last token's position is below `limit` and
/// it is not the end token: `tensor<i1>`.
fn continues(
    f: &mut FunctionBuilder<'_, '_>,
    state: &[ValueId],
    limit: ValueId,
    end: ValueId,
) -> Result<ValueId, HloError> {
    let room = f.compare("generate.room", state[0], limit, Comparison::Lt)?;
    let not_end = f.compare("generate.not_end", state[1], end, Comparison::Ne)?;
    let go = f.and("generate.go", room, not_end)?;
    f.reshape("generate.go.scalar", go, &[])
}

/// One decode step: feeds the last token at its position, writes the next
/// one after it. State: (position, token, keys, values, tokens).
fn step(
    f: &mut FunctionBuilder<'_, '_>,
    state: &[ValueId],
    cache: &TensorType,
    vocabulary: u64,
    one: ValueId,
) -> Result<Vec<ValueId>, HloError> {
    let (position, token) = (state[0], state[1]);
    let token_2d = f.reshape("generate.token", token, &[1, 1])?;
    let logits_type = TensorType::new(&[1, vocabulary], ElementType::F32);
    let decoded = f.call(
        "generate.decode",
        DECODE_FUNCTION,
        &[token_2d, position, state[2], state[3]],
        &[logits_type, cache.clone(), cache.clone()],
    )?;
    let next = argmax(f, "generate.next", decoded[0])?;
    let position = f.add("generate.position", position, one)?;
    let tokens = write_token(f, "generate.write", state[4], next, position)?;
    Ok(vec![position, next, decoded[1], decoded[2], tokens])
}

/// The index of the largest of `row` (`[1, V]` f32) as `[1]` i32; the last
/// such index on a tie, as the host's `Iterator::max_by` picks.
fn argmax(
    f: &mut FunctionBuilder<'_, '_>,
    location: &str,
    row: ValueId,
) -> Result<ValueId, HloError> {
    let shape = f.type_of(row).shape.clone();
    let maximum = f.reduce(&format!("{location}.max"), row, &[1], Reduction::Max)?;
    let maximum =
        f.broadcast_in_dim(&format!("{location}.max.broadcast"), maximum, &shape, &[0])?;
    let is_max = f.compare(&format!("{location}.is_max"), row, maximum, Comparison::Eq)?;
    let index = f.iota(&format!("{location}.index"), ElementType::I32, &shape, 1)?;
    let none = f.splat_constant(&format!("{location}.none"), ElementType::I32, &shape, -1.0)?;
    let candidates = f.select(&format!("{location}.candidates"), is_max, index, none)?;
    f.reduce(location, candidates, &[1], Reduction::Max)
}

/// `tokens` (`[1, SEQ]`) with `token` (`[1]`) written at `position` (`[1]`).
fn write_token(
    f: &mut FunctionBuilder<'_, '_>,
    location: &str,
    tokens: ValueId,
    token: ValueId,
    position: ValueId,
) -> Result<ValueId, HloError> {
    let update = f.reshape(&format!("{location}.update"), token, &[1, 1])?;
    let at = f.reshape(&format!("{location}.at"), position, &[])?;
    let zero = f.splat_constant(&format!("{location}.row"), ElementType::I32, &[], 0.0)?;
    f.dynamic_update_slice(location, tokens, update, &[zero, at])
}
