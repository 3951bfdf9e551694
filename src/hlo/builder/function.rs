//! Building one `func.func`: arguments, weights, and the values ops produce,
//! tracked by typed ids with their tensor types.

use std::fmt;

use melior::ir::attribute::{
    ArrayAttribute, DenseElementsAttribute, DictionaryAttribute, FlatSymbolRefAttribute,
    StringAttribute, TypeAttribute,
};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationBuilder, OperationLike, OperationMutLike, OperationRefMut};
use melior::ir::r#type::FunctionType;
use melior::ir::{
    Attribute, Block, BlockRef, Identifier, Location, Operation, Region, RegionLike, Type, Value,
    ValueLike,
};
use mlir_sys::{MlirBlock, MlirOperation, MlirValue};

use super::module::ModuleBuilder;
use super::operation::create_operation;
use super::policy::ExternalParameterRef;
use super::types::TensorType;
use crate::hlo::HloError;
use crate::tensor::{BufferHandle, ElementType, TensorEncoding, TensorSpec, uniform_pattern};

/// Refuses a weight whose buffer is not the size its spec needs.
pub(in crate::hlo) fn check_weight_bytes(
    spec: &TensorSpec,
    buffer: &BufferHandle,
) -> Result<(), HloError> {
    let expected = spec.storage_bytes();
    if expected == Some(buffer.len()) {
        return Ok(());
    }
    Err(HloError::Weight {
        key: spec.name.clone(),
        message: format!("{} bytes, but its spec needs {expected:?}", buffer.len()),
    })
}

/// A value of the function under construction. Its `Display` is `%vN`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ValueId(u32);

impl fmt::Display for ValueId {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "%v{}", self.0)
    }
}

/// Builds the body of one function. Ops are appended in call order; each
/// method returns the id of its result.
pub struct FunctionBuilder<'m, 'c> {
    pub(in crate::hlo) module: &'m mut ModuleBuilder<'c>,
    name: String,
    /// The function's entry block, owned by the function op in the module.
    block: MlirBlock,
    /// The `func.func` op, owned by the module.
    function: MlirOperation,
    inputs: Vec<TensorType>,
    values: Vec<(MlirValue, TensorType)>,
}

impl<'c> ModuleBuilder<'c> {
    /// Starts a public function `name` taking `inputs`.
    pub fn function(
        &mut self,
        name: &str,
        inputs: &[TensorType],
    ) -> Result<FunctionBuilder<'_, 'c>, HloError> {
        self.claim_symbol(name)?;
        FunctionBuilder::new(self, name, inputs)
    }
}

impl<'m, 'c> FunctionBuilder<'m, 'c> {
    fn new(
        module: &'m mut ModuleBuilder<'c>,
        name: &str,
        inputs: &[TensorType],
    ) -> Result<Self, HloError> {
        let context = module.context();
        let location = module.location(name);
        let input_types: Vec<Type<'c>> =
            inputs.iter().map(|input| input.to_mlir(context)).collect();
        let arguments: Vec<(Type<'c>, Location<'c>)> =
            input_types.iter().map(|&t| (t, location)).collect();
        let region = Region::new();
        region.append_block(Block::new(&arguments));
        let function_type = FunctionType::new(context, &input_types, &[]);
        let function = OperationBuilder::new("func.func", location)
            .add_attributes(&[
                (
                    Identifier::new(context, "sym_name"),
                    StringAttribute::new(context, name).into(),
                ),
                (
                    Identifier::new(context, "function_type"),
                    TypeAttribute::new(function_type.into()).into(),
                ),
            ])
            .add_regions([region])
            .build()
            .map_err(|_| HloError::build("func.func", name))?;
        let function_raw = function.to_raw();
        module.append(function);
        // SAFETY: the op was just appended to the module, which owns it for
        // at least 'm; it has the one region with the one block built above.
        let function_ref = unsafe { OperationRefMut::from_raw(function_raw) };
        let block = function_ref
            .region(0)
            .ok()
            .and_then(|region| region.first_block())
            .expect("func.func has the entry block built above");
        let values = (0..inputs.len())
            .map(|index| {
                let argument = block.argument(index).expect("one argument per input");
                (argument.to_raw(), inputs[index].clone())
            })
            .collect();
        Ok(Self {
            block: block.to_raw(),
            module,
            name: name.to_string(),
            function: function_raw,
            inputs: inputs.to_vec(),
            values,
        })
    }

    /// Returns the id of argument `index`.
    pub fn argument(&self, index: usize) -> ValueId {
        assert!(
            index < self.inputs.len(),
            "argument {index} of {}",
            self.name
        );
        ValueId(index as u32)
    }

    /// The function's name (its symbol in the module).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Returns the type of a value.
    pub fn type_of(&self, value: ValueId) -> &TensorType {
        &self.values[value.0 as usize].1
    }

    pub(in crate::hlo) fn context(&self) -> &'c melior::Context {
        self.module.context()
    }

    pub(in crate::hlo) fn location(&self, name: &str) -> Location<'c> {
        self.module.location(name)
    }

    pub(in crate::hlo) fn mlir_value(&self, value: ValueId) -> Value<'c, '_> {
        // SAFETY: the raw value was produced in this function's block, which
        // the module keeps alive as long as the builder.
        unsafe { Value::from_raw(self.values[value.0 as usize].0) }
    }

    fn block(&self) -> BlockRef<'c, '_> {
        // SAFETY: the block belongs to the function op owned by the module.
        unsafe { BlockRef::from_raw(self.block) }
    }

    /// Builds `op_name` with `operands`, `attributes` and one result of
    /// `result_type`, and appends it: the path every op builder takes.
    pub(in crate::hlo) fn build(
        &mut self,
        op_name: &'static str,
        location: &str,
        operands: &[ValueId],
        attributes: &[(&str, Attribute<'c>)],
        result_type: TensorType,
    ) -> Result<ValueId, HloError> {
        let context = self.context();
        let operation = {
            let values: Vec<Value<'c, '_>> = operands.iter().map(|&v| self.mlir_value(v)).collect();
            create_operation(
                context,
                op_name,
                self.location(location),
                location,
                &values,
                attributes,
                &[result_type.to_mlir(context)],
            )?
        };
        Ok(self.push(operation, result_type))
    }

    /// Appends a single-result op and records its result with `result_type`.
    pub(in crate::hlo) fn push(
        &mut self,
        operation: Operation<'c>,
        result_type: TensorType,
    ) -> ValueId {
        let appended = self.block().append_operation(operation);
        let result = appended.result(0).expect("op built with one result");
        let raw = Value::from(result).to_raw();
        self.values.push((raw, result_type));
        ValueId(self.values.len() as u32 - 1)
    }

    /// Appends an op and records each of its results with its type.
    pub(in crate::hlo) fn push_results(
        &mut self,
        operation: Operation<'c>,
        result_types: &[TensorType],
    ) -> Vec<ValueId> {
        let appended = self.block().append_operation(operation);
        let raws: Vec<MlirValue> = (0..result_types.len())
            .map(|index| {
                let result = appended.result(index).expect("op built with these results");
                Value::from(result).to_raw()
            })
            .collect();
        raws.into_iter()
            .zip(result_types)
            .map(|(raw, result_type)| self.track(raw, result_type.clone()))
            .collect()
    }

    /// Records a value (a result, or a block argument) and returns its id.
    pub(in crate::hlo) fn track(&mut self, raw: MlirValue, result_type: TensorType) -> ValueId {
        self.values.push((raw, result_type));
        ValueId(self.values.len() as u32 - 1)
    }

    /// Runs `build` with ops appended to `block` (the entry block of a
    /// region being built) instead of the function's block.
    pub(in crate::hlo) fn in_block<T>(
        &mut self,
        block: MlirBlock,
        build: impl FnOnce(&mut Self) -> T,
    ) -> T {
        let outer = std::mem::replace(&mut self.block, block);
        let result = build(self);
        self.block = outer;
        result
    }

    /// Appends a single-result op whose result the builder does not track
    /// (a value of a type [`TensorType`] cannot describe, used right away).
    pub(in crate::hlo) fn append_untracked(&mut self, operation: Operation<'c>) -> MlirValue {
        let appended = self.block().append_operation(operation);
        let result = appended.result(0).expect("op built with one result");
        Value::from(result).to_raw()
    }

    /// Appends a zero-result op (a terminator).
    fn push_terminator(&mut self, operation: Operation<'c>) {
        self.block().append_operation(operation);
    }

    /// Brings a weight into the function, inline or external as the policy
    /// decides, and returns its value.
    ///
    /// Inline weights become a `stablehlo.constant` holding a
    /// `DenseElementsAttr` made from the raw bytes (a splat when every
    /// element is the same). External weights become a private `util.global`
    /// initialised with `#flow.parameter.named<"scope"::"key">` and read with
    /// `util.global.load`; their bytes stay in `buffer` for the `.irpa`.
    pub fn weight(
        &mut self,
        spec: &TensorSpec,
        buffer: &BufferHandle,
    ) -> Result<ValueId, HloError> {
        check_weight_bytes(spec, buffer)?;
        if let TensorEncoding::Ggml(kind) = spec.encoding
            && kind.element_type().is_none()
        {
            return Err(HloError::Weight {
                key: spec.name.clone(),
                message: format!("{kind} blocks need a quantized emission mode"),
            });
        }
        if spec.element == ElementType::Bool {
            // MLIR bit-packs i1 raw buffers; a byte-per-element buffer would
            // be misread, and no model irex targets has boolean weights.
            return Err(HloError::Weight {
                key: spec.name.clone(),
                message: "boolean weights are not supported".into(),
            });
        }
        let tensor_type = TensorType::new(&spec.shape, spec.element);
        let splat = spec
            .encoding
            .splat_unit()
            .and_then(|unit| uniform_pattern(buffer.bytes(), unit))
            .map(<[u8]>::to_vec);
        if self.module.policy().is_external(buffer.len()) {
            self.external_weight(spec, buffer, splat, tensor_type)
        } else {
            self.inline_weight(spec, buffer, splat.as_deref(), tensor_type)
        }
    }

    fn inline_weight(
        &mut self,
        spec: &TensorSpec,
        buffer: &BufferHandle,
        splat: Option<&[u8]>,
        tensor_type: TensorType,
    ) -> Result<ValueId, HloError> {
        let mlir_type = tensor_type.to_mlir(self.context());
        // A one-element raw buffer is a splat: MLIR stores a single value.
        let bytes = splat.unwrap_or(buffer.bytes());
        let value: Attribute<'c> = DenseElementsAttribute::raw_buffer(mlir_type, bytes).into();
        let operation = OperationBuilder::new("stablehlo.constant", self.location(&spec.name))
            .add_attributes(&[(Identifier::new(self.context(), "value"), value)])
            .add_results(&[mlir_type])
            .build()
            .map_err(|_| HloError::build("stablehlo.constant", &spec.name))?;
        Ok(self.push(operation, tensor_type))
    }

    fn external_weight(
        &mut self,
        spec: &TensorSpec,
        buffer: &BufferHandle,
        splat: Option<Vec<u8>>,
        tensor_type: TensorType,
    ) -> Result<ValueId, HloError> {
        let reference = ExternalParameterRef {
            scope: self.module_scope(),
            key: spec.name.clone(),
            spec: spec.clone(),
            source: buffer.clone(),
            splat,
        };
        let symbol = self.module.declare_parameter(reference, &tensor_type)?;
        let context = self.context();
        let global = FlatSymbolRefAttribute::new(context, &symbol).into();
        let operation = OperationBuilder::new("util.global.load", self.location(&spec.name))
            .add_attributes(&[(Identifier::new(context, "global"), global)])
            .add_results(&[tensor_type.to_mlir(context)])
            .build()
            .map_err(|_| HloError::build("util.global.load", &spec.name))?;
        Ok(self.push(operation, tensor_type))
    }

    pub(in crate::hlo) fn module_scope(&self) -> String {
        self.module.scope().to_string()
    }

    /// Names the arguments, in order, with `iree.abi.name` attributes: the
    /// names IREE's runtime reflection, `iree-dump-module` and the manifest
    /// show.
    pub fn name_arguments(&mut self, names: &[&str]) -> Result<(), HloError> {
        if names.len() != self.inputs.len() {
            return Err(HloError::Shape {
                op: "func.func",
                location: self.name.clone(),
                message: format!("{} names for {} arguments", names.len(), self.inputs.len()),
            });
        }
        let attribute = self.name_list(names)?;
        // SAFETY: the function op is owned by the module and outlives `self`.
        let mut function = unsafe { OperationRefMut::from_raw(self.function) };
        function.set_attribute("arg_attrs", attribute);
        Ok(())
    }

    /// `[{iree.abi.name = "a"}, ...]`, one dictionary per name.
    fn name_list(&self, names: &[&str]) -> Result<Attribute<'c>, HloError> {
        let context = self.context();
        let key = Identifier::new(context, super::signatures::NAME_ATTRIBUTE);
        let dictionaries: Vec<Attribute<'c>> = names
            .iter()
            .map(|name| {
                let value = StringAttribute::new(context, name).into();
                DictionaryAttribute::new(context, &[(key, value)]).into()
            })
            .collect();
        Ok(ArrayAttribute::new(context, &dictionaries).into())
    }

    /// [`Self::finish`] with each result named (see [`Self::name_arguments`]).
    pub fn finish_named(self, results: &[(&str, ValueId)]) -> Result<(), HloError> {
        let names: Vec<&str> = results.iter().map(|(name, _)| *name).collect();
        let attribute = self.name_list(&names)?;
        let function = self.function;
        let values: Vec<ValueId> = results.iter().map(|(_, value)| *value).collect();
        self.finish(&values)?;
        // SAFETY: the function op is owned by the module, which outlives
        // this call; `finish` only appended the terminator.
        let mut function = unsafe { OperationRefMut::from_raw(function) };
        function.set_attribute("res_attrs", attribute);
        Ok(())
    }

    /// Ends the function with `func.return` of `results` and fixes its type.
    pub fn finish(mut self, results: &[ValueId]) -> Result<(), HloError> {
        let location = self.location(&format!("{}.return", self.name));
        let context = self.context();
        let operands: Vec<Value<'c, '_>> = results.iter().map(|&v| self.mlir_value(v)).collect();
        let result_types: Vec<Type<'c>> = operands.iter().map(|value| value.r#type()).collect();
        let terminator = OperationBuilder::new("func.return", location)
            .add_operands(&operands)
            .build()
            .map_err(|_| HloError::build("func.return", &self.name))?;
        drop(operands);
        self.push_terminator(terminator);
        let input_types: Vec<Type<'c>> = self
            .inputs
            .iter()
            .map(|input| input.to_mlir(context))
            .collect();
        let function_type = FunctionType::new(context, &input_types, &result_types);
        // SAFETY: the function op is owned by the module and outlives `self`.
        let mut function = unsafe { OperationRefMut::from_raw(self.function) };
        function.set_attribute(
            "function_type",
            TypeAttribute::new(function_type.into()).into(),
        );
        Ok(())
    }
}
