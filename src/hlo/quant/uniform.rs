//! Weights stored as integers with per-tensor or per-axis affine scales
//! ([`UniformQuantization`]), declared with MLIR's `!quant.uniform` element
//! type and turned into floats by `stablehlo.uniform_dequantize`.
//!
//! The integers stay in their source buffer (the `.irpa` holds them byte for
//! byte); only the scales and zero points live in the type. The quant
//! dialect's C constructors are not exported by IREE's compiler library, so
//! the type is parsed from the text [`UniformQuantization::tensor_source`]
//! writes.

use melior::ir::attribute::{DenseElementsAttribute, FlatSymbolRefAttribute};
use melior::ir::operation::OperationBuilder;
use melior::ir::r#type::{IntegerType, RankedTensorType};
use melior::ir::{Attribute, Identifier, Type, Value};
use mlir_sys::MlirValue;

use crate::hlo::HloError;
use crate::hlo::builder::function::{FunctionBuilder, ValueId, check_weight_bytes};
use crate::hlo::builder::operation::capture_diagnostics;
use crate::hlo::builder::policy::ExternalParameterRef;
use crate::hlo::builder::types::TensorType;
use crate::quant::UniformQuantization;
use crate::tensor::{BufferHandle, ElementType, TensorSpec};

impl<'c> FunctionBuilder<'_, 'c> {
    /// Brings an integer weight with `quantization` into the function and
    /// returns it dequantized to f32.
    ///
    /// The integers keep `spec`'s storage element type and bytes: external
    /// weights become a `util.global` of `!quant.uniform` element type backed
    /// by `#flow.parameter.named`, inline ones a `stablehlo.constant` of that
    /// type; `stablehlo.uniform_dequantize` follows.
    pub fn quantized_weight(
        &mut self,
        spec: &TensorSpec,
        buffer: &BufferHandle,
        quantization: &UniformQuantization,
    ) -> Result<ValueId, HloError> {
        let refuse = |message| HloError::Weight {
            key: spec.name.clone(),
            message,
        };
        if spec.element != quantization.storage {
            return Err(refuse(format!(
                "stored as {}, but its quantization stores {}",
                spec.element, quantization.storage
            )));
        }
        quantization.check(&spec.shape).map_err(refuse)?;
        check_weight_bytes(spec, buffer)?;
        let source = quantization.tensor_source(&spec.shape);
        let (parsed, diagnostics) =
            capture_diagnostics(self.context(), || Type::parse(self.context(), &source));
        let quantized_type = parsed.ok_or_else(|| HloError::Build {
            what: source.clone(),
            location: spec.name.clone(),
            diagnostics,
        })?;
        let stored = if self.module.policy().is_external(buffer.len()) {
            self.load_quantized_global(spec, buffer, quantized_type, &source)?
        } else {
            self.quantized_constant(spec, buffer, quantized_type)?
        };
        let result = TensorType::new(&spec.shape, ElementType::F32);
        let location = format!("{}.dequantize", spec.name);
        // SAFETY: `stored` is the result of an op just appended to this
        // function's block, which the module keeps alive.
        let stored = unsafe { Value::from_raw(stored) };
        let operation =
            OperationBuilder::new("stablehlo.uniform_dequantize", self.location(&location))
                .add_operands(&[stored])
                .add_results(&[result.to_mlir(self.context())])
                .build()
                .map_err(|_| HloError::build("stablehlo.uniform_dequantize", &location))?;
        Ok(self.push(operation, result))
    }

    /// `util.global.load` of the weight's `!quant.uniform` global.
    fn load_quantized_global(
        &mut self,
        spec: &TensorSpec,
        buffer: &BufferHandle,
        quantized_type: Type<'c>,
        type_source: &str,
    ) -> Result<MlirValue, HloError> {
        let reference = ExternalParameterRef {
            scope: self.module_scope(),
            key: spec.name.clone(),
            spec: spec.clone(),
            source: buffer.clone(),
            splat: None,
        };
        let symbol = self
            .module
            .declare_typed_parameter(reference, quantized_type, type_source)?;
        let context = self.context();
        let global = FlatSymbolRefAttribute::new(context, &symbol).into();
        let operation = OperationBuilder::new("util.global.load", self.location(&spec.name))
            .add_attributes(&[(Identifier::new(context, "global"), global)])
            .add_results(&[quantized_type])
            .build()
            .map_err(|_| HloError::build("util.global.load", &spec.name))?;
        Ok(self.append_untracked(operation))
    }

    /// `stablehlo.constant` of `!quant.uniform` type holding the stored integers.
    fn quantized_constant(
        &mut self,
        spec: &TensorSpec,
        buffer: &BufferHandle,
        quantized_type: Type<'c>,
    ) -> Result<MlirValue, HloError> {
        // The quant dialect's storage types are signless: `u8` storage is
        // `i8` bits read as unsigned.
        let bits = 8 * spec.element.byte_size().unwrap_or(1) as u32;
        let signless = IntegerType::new(self.context(), bits).into();
        let storage = RankedTensorType::new(&spec.shape, signless, None).into();
        let value: Attribute<'c> =
            DenseElementsAttribute::raw_buffer(storage, buffer.bytes()).into();
        let operation = OperationBuilder::new("stablehlo.constant", self.location(&spec.name))
            .add_attributes(&[(Identifier::new(self.context(), "value"), value)])
            .add_results(&[quantized_type])
            .build()
            .map_err(|_| HloError::build("stablehlo.constant", &spec.name))?;
        Ok(self.append_untracked(operation))
    }
}
