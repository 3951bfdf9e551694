//! Control flow: `func.call` of another function of the module, and
//! `stablehlo.while` with its condition and body built by closures (for a
//! loop inside the module, such as greedy generation over a KV cache).

use melior::ir::attribute::FlatSymbolRefAttribute;
use melior::ir::block::BlockLike;
use melior::ir::operation::OperationBuilder;
use melior::ir::{Block, Identifier, Region, RegionLike, Type, Value, ValueLike};

use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId};
use crate::hlo::builder::types::TensorType;

impl<'c> FunctionBuilder<'_, 'c> {
    /// `func.call @callee(args)`, whose results have `result_types`.
    pub fn call(
        &mut self,
        location: &str,
        callee: &str,
        args: &[ValueId],
        result_types: &[TensorType],
    ) -> Result<Vec<ValueId>, HloError> {
        let context = self.context();
        let types: Vec<Type<'c>> = result_types.iter().map(|t| t.to_mlir(context)).collect();
        let operation = {
            let operands: Vec<Value<'c, '_>> = args.iter().map(|&v| self.mlir_value(v)).collect();
            OperationBuilder::new("func.call", self.location(location))
                .add_operands(&operands)
                .add_attributes(&[(
                    Identifier::new(context, "callee"),
                    FlatSymbolRefAttribute::new(context, callee).into(),
                )])
                .add_results(&types)
                .build()
                .map_err(|_| HloError::build("func.call", location))?
        };
        Ok(self.push_results(operation, result_types))
    }

    /// `stablehlo.while` over the loop state `initial`: `condition` gets the
    /// state and returns a `tensor<i1>`; `body` gets the state and returns
    /// the next one (same types). Returns the final state.
    pub fn while_loop(
        &mut self,
        location: &str,
        initial: &[ValueId],
        condition: impl FnOnce(&mut Self, &[ValueId]) -> Result<ValueId, HloError>,
        body: impl FnOnce(&mut Self, &[ValueId]) -> Result<Vec<ValueId>, HloError>,
    ) -> Result<Vec<ValueId>, HloError> {
        let types: Vec<TensorType> = initial.iter().map(|&v| self.type_of(v).clone()).collect();
        let condition_region =
            self.loop_region(&format!("{location}.cond"), &types, |f, state| {
                Ok(vec![condition(f, state)?])
            })?;
        let body_region = self.loop_region(&format!("{location}.body"), &types, body)?;
        let context = self.context();
        let mlir_types: Vec<Type<'c>> = types.iter().map(|t| t.to_mlir(context)).collect();
        let operation = {
            let operands: Vec<Value<'c, '_>> =
                initial.iter().map(|&v| self.mlir_value(v)).collect();
            OperationBuilder::new("stablehlo.while", self.location(location))
                .add_operands(&operands)
                .add_regions([condition_region, body_region])
                .add_results(&mlir_types)
                .build()
                .map_err(|_| HloError::build("stablehlo.while", location))?
        };
        Ok(self.push_results(operation, &types))
    }

    /// A region of one block taking the loop state, built by `build` and
    /// ended by `stablehlo.return` of what it returns.
    fn loop_region(
        &mut self,
        location: &str,
        types: &[TensorType],
        build: impl FnOnce(&mut Self, &[ValueId]) -> Result<Vec<ValueId>, HloError>,
    ) -> Result<Region<'c>, HloError> {
        let context = self.context();
        let loc = self.location(location);
        let arguments: Vec<(Type<'c>, _)> =
            types.iter().map(|t| (t.to_mlir(context), loc)).collect();
        let region = Region::new();
        let block = region.append_block(Block::new(&arguments));
        let raw_block = block.to_raw();
        let state: Vec<ValueId> = (0..types.len())
            .map(|index| {
                let argument = block.argument(index).expect("one argument per state value");
                self.track(argument.to_raw(), types[index].clone())
            })
            .collect();
        self.in_block(raw_block, |f| -> Result<(), HloError> {
            let results = build(f, &state)?;
            let operation = {
                let operands: Vec<Value<'c, '_>> =
                    results.iter().map(|&v| f.mlir_value(v)).collect();
                OperationBuilder::new("stablehlo.return", loc)
                    .add_operands(&operands)
                    .build()
                    .map_err(|_| HloError::build("stablehlo.return", location))?
            };
            // SAFETY: `raw_block` is the region's block, alive with `region`.
            let block = unsafe { melior::ir::BlockRef::from_raw(raw_block) };
            block.append_operation(operation);
            Ok(())
        })?;
        Ok(region)
    }
}
