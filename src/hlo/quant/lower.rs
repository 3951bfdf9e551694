//! Lowering `!quant.uniform` weights to integer arithmetic before IREE
//! compiles a module.
//!
//! IREE 3.10's input pipeline marks `stablehlo.uniform_dequantize` illegal;
//! 3.13's legalizes the per-tensor form but still fails on the per-axis one
//! (its quant-to-standard rewrite leaves a `chlo.broadcast_subtract` that
//! the pipeline then refuses, zero points or not). So irex lowers what it
//! emits itself, one path for both: every `stablehlo.uniform_dequantize` becomes
//! `convert` to f32, `subtract` of the zero points (when any is non-zero)
//! and `multiply` by the scales (per-axis ones broadcast along their axis),
//! the StableHLO specification's `(convert(x) − zero_point) · scale`; the
//! globals, loads and constants that held `!quant.uniform` tensors then hold
//! their storage integers, so the `.irpa` entries are read unchanged. Any
//! other use of a quantized value is refused rather than guessed at.

use melior::Context;
use melior::ir::attribute::AttributeLike;
use melior::ir::attribute::{DenseElementsAttribute, DenseI64ArrayAttribute, TypeAttribute};
use melior::ir::block::BlockLike;
use melior::ir::operation::{OperationLike, OperationMutLike, OperationRef, WalkOrder, WalkResult};
use melior::ir::r#type::{DimSize, RankedTensorType, ShapedTypeLike};
use melior::ir::{Attribute, Location, Module, Type, Value, ValueLike};
use mlir_sys::{MlirOperation, MlirValue, mlirOperationDestroy, mlirValueReplaceAllUsesOfWith};

use crate::hlo::HloError;
use crate::hlo::builder::operation::{capture_diagnostics, create_operation};
use crate::hlo::builder::types::TensorType;
use crate::quant::UniformQuantization;
use crate::tensor::ElementType;

/// Rewrites every `stablehlo.uniform_dequantize` in `module` into integer
/// and f32 arithmetic and retypes the quantized weights to their storage
/// integers; returns how many dequantizations it lowered. The module is
/// verified afterwards. A module without quantized values is left as it is.
pub fn lower_uniform_quantization<'c>(
    context: &'c Context,
    module: &Module<'c>,
) -> Result<usize, HloError> {
    let found = QuantizedOps::collect(module)?;
    for &operation in &found.dequantizations {
        // SAFETY: collected from the module's walk; lowered and destroyed once.
        unsafe { lower_dequantization(context, operation)? };
    }
    for &value in &found.stored_values {
        // SAFETY: results of ops in the module, collected above.
        let value = unsafe { Value::from_raw(value) };
        value.set_type(storage_type(context, value.r#type())?.0);
    }
    for &global in &found.globals {
        // SAFETY: a `util.global` op of the module, collected above.
        unsafe { retype_global(context, global)? };
    }
    let (verified, diagnostics) = capture_diagnostics(context, || module.as_operation().verify());
    if !verified {
        return Err(HloError::Verification { diagnostics });
    }
    Ok(found.dequantizations.len())
}

/// How many `stablehlo.uniform_dequantize` ops `module` has: the ones
/// [`lower_uniform_quantization`] must lower before IREE's own
/// `iree-compile` could take the module.
pub fn uniform_dequantizations(module: &Module<'_>) -> Result<usize, HloError> {
    Ok(QuantizedOps::collect(module)?.dequantizations.len())
}

/// What the lowering rewrites, found in one walk before anything changes.
#[derive(Default)]
struct QuantizedOps {
    dequantizations: Vec<MlirOperation>,
    /// Results of loads and constants that hold quantized tensors.
    stored_values: Vec<MlirValue>,
    globals: Vec<MlirOperation>,
}

impl QuantizedOps {
    fn collect(module: &Module<'_>) -> Result<Self, HloError> {
        let mut found = Self::default();
        let mut refused = None;
        module
            .as_operation()
            .walk(WalkOrder::PreOrder, |operation| {
                match found.classify(&operation) {
                    Ok(()) => WalkResult::Advance,
                    Err(error) => {
                        refused = Some(error);
                        WalkResult::Interrupt
                    }
                }
            });
        refused.map_or(Ok(found), Err)
    }

    fn classify(&mut self, operation: &OperationRef<'_, '_>) -> Result<(), HloError> {
        let name = operation.name();
        let name = name.as_string_ref().as_str().unwrap_or("");
        match name {
            "stablehlo.uniform_dequantize" => self.dequantizations.push(operation.to_raw()),
            "util.global" if global_is_quantized(operation) => {
                self.globals.push(operation.to_raw())
            }
            "util.global.load" | "stablehlo.constant" if quantized_result(operation) => {
                let result = operation.result(0).expect("checked by quantized_result");
                self.stored_values.push(Value::from(result).to_raw());
            }
            "func.func" if attribute_text(operation, "function_type").contains("!quant.") => {
                return Err(refuse(operation, "quantized function arguments or results"));
            }
            _ if touches_quantized(operation) => {
                return Err(refuse(
                    operation,
                    "an op other than stablehlo.uniform_dequantize reads or makes quantized values",
                ));
            }
            _ => {}
        }
        Ok(())
    }
}

fn refuse<'c: 'a, 'a>(operation: &impl OperationLike<'c, 'a>, message: &str) -> HloError {
    HloError::Lowering {
        op: operation
            .name()
            .as_string_ref()
            .as_str()
            .unwrap_or("?")
            .to_string(),
        location: operation.location().to_string(),
        message: format!("{message}: irex lowers !quant.uniform weights only"),
    }
}

fn is_quantized(r#type: Type<'_>) -> bool {
    r#type.to_string().contains("!quant.")
}

fn quantized_result(operation: &OperationRef<'_, '_>) -> bool {
    operation
        .result(0)
        .is_ok_and(|result| is_quantized(result.r#type()))
}

fn touches_quantized(operation: &OperationRef<'_, '_>) -> bool {
    let operands = (0..operation.operand_count())
        .filter_map(|index| operation.operand(index).ok())
        .any(|operand| is_quantized(operand.r#type()));
    let results = (0..operation.result_count())
        .filter_map(|index| operation.result(index).ok())
        .any(|result| is_quantized(result.r#type()));
    operands || results
}

fn attribute_text(operation: &OperationRef<'_, '_>, name: &str) -> String {
    operation
        .attribute(name)
        .map(|attribute| attribute.to_string())
        .unwrap_or_default()
}

fn global_is_quantized(operation: &OperationRef<'_, '_>) -> bool {
    attribute_text(operation, "type").contains("!quant.")
}

/// Returns the storage tensor type of a quantized tensor type (signless,
/// like the quant dialect's storage: IREE refuses unsigned globals), with
/// its quantization and shape.
fn storage_type<'c>(
    context: &'c Context,
    r#type: Type<'c>,
) -> Result<(Type<'c>, UniformQuantization, Vec<u64>), HloError> {
    let malformed = |message: String| HloError::Lowering {
        op: "!quant.uniform".into(),
        location: r#type.to_string(),
        message,
    };
    let tensor =
        RankedTensorType::try_from(r#type).map_err(|_| malformed("not a ranked tensor".into()))?;
    let shape: Vec<u64> = (0..tensor.rank())
        .map(|index| match tensor.dim_size(index) {
            Ok(DimSize::Static(size)) => Ok(size),
            _ => Err(malformed("not statically shaped".into())),
        })
        .collect::<Result<_, _>>()?;
    let quantization =
        UniformQuantization::parse(&tensor.element().to_string()).map_err(malformed)?;
    quantization.check(&shape).map_err(malformed)?;
    let storage = TensorType::new(&shape, signless(quantization.storage)).to_mlir(context);
    Ok((storage, quantization, shape))
}

/// The signless integer type of a storage type's width.
fn signless(storage: ElementType) -> ElementType {
    match storage {
        ElementType::U8 => ElementType::I8,
        ElementType::U16 => ElementType::I16,
        other => other,
    }
}

/// Replaces one `stablehlo.uniform_dequantize` with the arithmetic it means.
///
/// # Safety
///
/// `raw` is a live `stablehlo.uniform_dequantize` op inside a block; it is
/// destroyed here.
unsafe fn lower_dequantization(context: &Context, raw: MlirOperation) -> Result<(), HloError> {
    // SAFETY: forwarded from the caller.
    let operation = unsafe { OperationRef::from_raw(raw) };
    let input = operation
        .operand(0)
        .map_err(|_| refuse(&operation, "no operand"))?;
    let (_, quantization, shape) = storage_type(context, input.r#type())?;
    let output = operation
        .result(0)
        .map_err(|_| refuse(&operation, "no result"))?;
    let expected = TensorType::new(&shape, ElementType::F32).to_mlir(context);
    if output.r#type() != expected {
        return Err(refuse(
            &operation,
            "a result other than f32 of the operand's shape",
        ));
    }
    let mut rewriter = Rewriter {
        context,
        before: operation,
        location: operation.location(),
        f32_type: expected,
    };
    let stored = if signless(quantization.storage) == quantization.storage {
        input.to_raw()
    } else {
        // Unsigned storage: the same bits, read as unsigned by the convert.
        let unsigned = TensorType::new(&shape, quantization.storage).to_mlir(context);
        rewriter.op_of_type(
            "stablehlo.bitcast_convert",
            &[input.to_raw()],
            &[],
            unsigned,
        )?
    };
    let real = rewriter.op("stablehlo.convert", &[stored], &[])?;
    let real = if quantization.is_symmetric() {
        real
    } else {
        let zero_points: Vec<f32> = quantization.zero_points.iter().map(|&z| z as f32).collect();
        let zero_points = rewriter.per_axis(&zero_points, quantization.axis)?;
        rewriter.op("stablehlo.subtract", &[real, zero_points], &[])?
    };
    let scales: Vec<f32> = quantization.scales.iter().map(|&s| s as f32).collect();
    let scales = rewriter.per_axis(&scales, quantization.axis)?;
    let dequantized = rewriter.op("stablehlo.multiply", &[real, scales], &[])?;
    // SAFETY: both values are live; the op has no uses left afterwards and
    // is destroyed, which also unlinks it from its block.
    unsafe {
        mlirValueReplaceAllUsesOfWith(Value::from(output).to_raw(), dequantized);
        mlirOperationDestroy(raw);
    }
    Ok(())
}

/// Builds ops of the quantized shape right before the op being lowered.
struct Rewriter<'c, 'a> {
    context: &'c Context,
    before: OperationRef<'c, 'a>,
    location: Location<'c>,
    f32_type: Type<'c>,
}

impl<'c> Rewriter<'c, '_> {
    fn op(
        &mut self,
        name: &str,
        operands: &[MlirValue],
        attributes: &[(&str, Attribute<'c>)],
    ) -> Result<MlirValue, HloError> {
        self.op_of_type(name, operands, attributes, self.f32_type)
    }

    fn op_of_type(
        &mut self,
        name: &str,
        operands: &[MlirValue],
        attributes: &[(&str, Attribute<'c>)],
        result: Type<'c>,
    ) -> Result<MlirValue, HloError> {
        // SAFETY: values of ops in the block being rewritten.
        let operands: Vec<Value<'c, '_>> = operands
            .iter()
            .map(|&value| unsafe { Value::from_raw(value) })
            .collect();
        let location_name = self.location.to_string();
        let built = create_operation(
            self.context,
            name,
            self.location,
            &location_name,
            &operands,
            attributes,
            &[result],
        )?;
        let block = self.before.block().expect("the lowered op sits in a block");
        let inserted = block.insert_operation_before(self.before, built);
        let value = inserted.result(0).expect("built with one result");
        Ok(Value::from(value).to_raw())
    }

    /// An f32 constant of the quantized shape holding `values` (one for the
    /// whole tensor, or one per index of `axis`, broadcast along it).
    fn per_axis(&mut self, values: &[f32], axis: Option<usize>) -> Result<MlirValue, HloError> {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let context = self.context;
        let Some(axis) = axis else {
            // A one-element raw buffer of the full shape is a splat.
            let splat = DenseElementsAttribute::raw_buffer(self.f32_type, &bytes).into();
            return self.op("stablehlo.constant", &[], &[("value", splat)]);
        };
        let vector = TensorType::new(&[values.len() as u64], ElementType::F32).to_mlir(context);
        let constant = DenseElementsAttribute::raw_buffer(vector, &bytes).into();
        let constant =
            self.op_of_type("stablehlo.constant", &[], &[("value", constant)], vector)?;
        let dimensions = DenseI64ArrayAttribute::new(context, &[axis as i64]).into();
        self.op(
            "stablehlo.broadcast_in_dim",
            &[constant],
            &[("broadcast_dimensions", dimensions)],
        )
    }
}

/// Gives a quantized `util.global` its storage type, in its `type` and in
/// the type of a typed initial value (`#flow.parameter.named<...> : T`).
///
/// # Safety
///
/// `raw` is a live `util.global` op.
unsafe fn retype_global(context: &Context, raw: MlirOperation) -> Result<(), HloError> {
    // SAFETY: forwarded from the caller.
    let mut global = unsafe { melior::ir::operation::OperationRefMut::from_raw(raw) };
    let declared = global
        .attribute("type")
        .ok()
        .and_then(|attribute| TypeAttribute::try_from(attribute).ok())
        .ok_or_else(|| refuse(&global, "a global without a type"))?;
    let (storage, _, _) = storage_type(context, declared.value())?;
    global.set_attribute("type", TypeAttribute::new(storage).into());
    let Ok(initial) = global.attribute("initial_value") else {
        return Ok(());
    };
    let text = initial.to_string();
    let typed_suffix = format!(" : {}", initial.r#type());
    let Some(untyped) = text.strip_suffix(&typed_suffix) else {
        return Err(refuse(&global, "an initial value of another type"));
    };
    let source = format!("{untyped} : {storage}");
    let (parsed, diagnostics) = capture_diagnostics(context, || Attribute::parse(context, &source));
    let retyped = parsed.ok_or_else(|| HloError::Build {
        what: source.clone(),
        location: global.location().to_string(),
        diagnostics,
    })?;
    global.set_attribute("initial_value", retyped);
    Ok(())
}
