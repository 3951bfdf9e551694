//! How a graph asks for a weight: by name and expected shape, as an f32
//! value of the function being built. Where the weight comes from, and in
//! which form it reaches the module, is the [`Weights`] implementation's
//! business:
//!
//! - plain float tensors load as they are stored and convert to f32 in the
//!   module when stored narrower (f16, bf16) or wider (f64);
//! - ggml blocks stay packed (their bytes verbatim in the `.irpa`; in a
//!   [`Weights::linear`], contracted as integers where the format has that
//!   form, else unpacked by StableHLO in the module) or are dequantized at
//!   export, as the [`QuantMode`] says;
//! - int8 tensors with affine scales (compressed-tensors naming) become
//!   `!quant.uniform` weights.

use std::cell::RefCell;
use std::collections::HashMap;

use super::error::ModelError;
use super::model::QuantMode;
use crate::formats::gguf::{Gguf, GgufTensor};
use crate::formats::safetensors::Safetensors;
use crate::formats::safetensors::compressed_tensors::affine_quantization;
use crate::hlo::{
    ActivationBlocks, BlockActivation, CONTRACTED_FORMATS, DotDimensions, FunctionBuilder,
    HloError, IntegerKernel, PACKED_FORMATS, ValueId,
};
use crate::tensor::{BufferHandle, ElementType, GgmlType, TensorEncoding, TensorSpec};

/// Where a graph's weights come from.
pub trait Weights {
    /// Returns weight `name`, which must have `shape`, as an f32 value of `f`.
    fn weight(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        name: &str,
        shape: &[u64],
    ) -> crate::models::Result<ValueId>;

    /// `x · Wᵀ` over the last dimension of `x`, for the weight
    /// `PREFIX.weight` stored `[outputs, inputs]`. By default the weight as
    /// f32 and a `dot_general`; a source whose weights have a faster form
    /// (packed blocks contracted as integers) overrides it.
    fn linear(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        prefix: &str,
        x: ValueId,
        [outputs, inputs]: [u64; 2],
    ) -> crate::models::Result<ValueId> {
        float_linear(self, f, prefix, x, [outputs, inputs])
    }

    /// Rows `indices` (i32, any shape) of the table `name` stored
    /// `[rows, columns]` (an embedding), as f32 `[...indices, columns]`.
    /// By default the table as f32 and a gather; packed tables gather
    /// their blocks first and unpack only the rows read.
    fn rows(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        name: &str,
        shape: [u64; 2],
        indices: ValueId,
    ) -> crate::models::Result<ValueId> {
        float_rows(self, f, name, shape, indices)
    }
}

/// `x · Wᵀ` over `W` as f32 (the default [`Weights::linear`]).
fn float_linear<W: Weights + ?Sized>(
    weights: &W,
    f: &mut FunctionBuilder<'_, '_>,
    prefix: &str,
    x: ValueId,
    shape: [u64; 2],
) -> crate::models::Result<ValueId> {
    let weight = weights.weight(f, &format!("{prefix}.weight"), &shape)?;
    let last = f.type_of(x).rank() as u64 - 1;
    Ok(f.dot_general(prefix, x, weight, &DotDimensions::contract(last, 1))?)
}

/// Rows of the table `name` as f32, gathered (the default [`Weights::rows`]).
fn float_rows<W: Weights + ?Sized>(
    weights: &W,
    f: &mut FunctionBuilder<'_, '_>,
    name: &str,
    shape: [u64; 2],
    indices: ValueId,
) -> crate::models::Result<ValueId> {
    let table = weights.weight(f, name, &shape)?;
    Ok(f.gather_rows(name.trim_end_matches(".weight"), table, indices)?)
}

/// Refuses a tensor whose shape is not the one the architecture needs.
pub fn check_shape(name: &str, found: &[u64], expected: &[u64]) -> Result<(), ModelError> {
    if found == expected {
        return Ok(());
    }
    Err(ModelError::weight(
        name,
        format!("shape {found:?}, expected {expected:?}"),
    ))
}

/// Loads a dense tensor and converts it to f32 in the module unless it is
/// stored as f32.
fn dense_as_f32(
    f: &mut FunctionBuilder<'_, '_>,
    spec: &TensorSpec,
    buffer: &BufferHandle,
) -> Result<ValueId, HloError> {
    let value = f.weight(spec, buffer)?;
    if spec.element == ElementType::F32 {
        return Ok(value);
    }
    f.convert(&spec.name, value, ElementType::F32)
}

/// The weights of a safetensors checkpoint: floats, or int8 with scales.
pub struct SafetensorsWeights<'a>(pub &'a Safetensors);

impl Weights for SafetensorsWeights<'_> {
    fn weight(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        name: &str,
        shape: &[u64],
    ) -> crate::models::Result<ValueId> {
        let tensor = self
            .0
            .get(name)
            .ok_or_else(|| ModelError::weight(name, "missing from the checkpoint"))?;
        check_shape(name, &tensor.spec.shape, shape)?;
        match tensor.spec.element {
            ElementType::F32 | ElementType::F16 | ElementType::BF16 | ElementType::F64 => {
                Ok(dense_as_f32(f, &tensor.spec, &tensor.buffer)?)
            }
            storage @ (ElementType::I8 | ElementType::U8) => {
                let quantization = affine_quantization(self.0, name, storage, shape)
                    .map_err(|error| ModelError::weight(&error.tensor, error.message))?;
                Ok(f.quantized_weight(&tensor.spec, &tensor.buffer, &quantization)?)
            }
            other => Err(ModelError::weight(
                name,
                format!("element type {other}, expected a float or int8 with scales"),
            )),
        }
    }
}

/// Returns GGUF tensor `name`, checking that it has `shape`.
pub fn gguf_tensor(gguf: &Gguf, name: &str, shape: &[u64]) -> Result<GgufTensor, ModelError> {
    let tensor = gguf
        .tensor(name)
        .ok_or_else(|| ModelError::weight(name, "missing from the file"))?;
    check_shape(name, &tensor.spec.shape, shape)?;
    Ok(tensor)
}

/// The weights of a GGUF file, in the form a [`QuantMode`] asks for.
/// Weights dequantized at export are computed once and shared by every
/// function that reads them.
pub struct GgufWeights<'a> {
    gguf: &'a Gguf,
    mode: QuantMode,
    dequantized: RefCell<HashMap<String, BufferHandle>>,
    /// Activations quantized for integer contractions, by function and
    /// value: the projections reading one input (q/k/v, gate/up) share one.
    activations: RefCell<HashMap<(String, ValueId, ActivationBlocks), BlockActivation>>,
    /// The integer kernel the contractions are shaped for.
    kernel: IntegerKernel,
}

impl<'a> GgufWeights<'a> {
    /// The weights of `gguf`, in `mode`.
    pub fn new(gguf: &'a Gguf, mode: QuantMode) -> Self {
        Self {
            gguf,
            mode,
            dequantized: RefCell::default(),
            activations: RefCell::default(),
            kernel: IntegerKernel::Bytes,
        }
    }

    /// The same weights with contractions shaped for `kernel` (the default
    /// is [`IntegerKernel::Bytes`], which every CPU runs fast).
    pub fn with_kernel(mut self, kernel: IntegerKernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// The element type weights dequantized at export are stored in.
    fn dequantized_element(&self) -> ElementType {
        match self.mode {
            QuantMode::DequantF16 => ElementType::F16,
            _ => ElementType::F32,
        }
    }

    /// Returns `tensor`'s values dequantized at export, computing them on
    /// first use only.
    fn dequantized(&self, name: &str, tensor: &GgufTensor) -> Result<BufferHandle, ModelError> {
        if let Some(buffer) = self.dequantized.borrow().get(name) {
            return Ok(buffer.clone());
        }
        let mut values = Vec::new();
        crate::quant::dequantize(tensor.kind, tensor.buffer.bytes(), &mut values)
            .map_err(|error| ModelError::weight(name, error.to_string()))?;
        let buffer = match self.dequantized_element() {
            ElementType::F16 => BufferHandle::owned(
                values
                    .iter()
                    .flat_map(|&v| half::f16::from_f32(v).to_le_bytes())
                    .collect::<Vec<u8>>(),
            ),
            _ => BufferHandle::from_f32(&values),
        };
        self.dequantized
            .borrow_mut()
            .insert(name.to_string(), buffer.clone());
        Ok(buffer)
    }

    fn dequantized_weight(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        name: &str,
        tensor: &GgufTensor,
    ) -> crate::models::Result<ValueId> {
        let buffer = self.dequantized(name, tensor)?;
        let spec = TensorSpec::dense(name, &tensor.spec.shape, self.dequantized_element());
        Ok(dense_as_f32(f, &spec, &buffer)?)
    }

    /// Whether `kind`'s blocks stay packed in this mode.
    fn packs(&self, kind: GgmlType) -> bool {
        matches!(self.mode, QuantMode::Packed | QuantMode::PackedExact)
            && PACKED_FORMATS.contains(&kind)
    }

    /// Whether `kind`'s blocks are contracted as integers in this mode.
    fn contracts(&self, kind: GgmlType) -> bool {
        self.mode == QuantMode::Packed && CONTRACTED_FORMATS.contains(&kind)
    }

    /// `x` (`[..., K]`) quantized for integer contractions in `blocks`,
    /// made once per function, input and blocks.
    fn activation(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        prefix: &str,
        x: ValueId,
        blocks: ActivationBlocks,
    ) -> Result<BlockActivation, HloError> {
        let key = (f.name().to_string(), x, blocks);
        if let Some(activation) = self.activations.borrow().get(&key) {
            return Ok(*activation);
        }
        let shape = f.type_of(x).shape.clone();
        let columns = *shape.last().unwrap_or(&1);
        let rows = shape.iter().product::<u64>() / columns.max(1);
        let flat = f.reshape(&format!("{prefix}.input.rows"), x, &[rows, columns])?;
        let activation = f.quantize_activation(&format!("{prefix}.input.i16"), flat, blocks)?;
        self.activations.borrow_mut().insert(key, activation);
        Ok(activation)
    }

    /// `x · Wᵀ` with `W`'s blocks contracted as integers, `[..., outputs]`.
    fn contracted_linear(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        prefix: &str,
        x: ValueId,
        tensor: &GgufTensor,
        kind: GgmlType,
    ) -> Result<ValueId, HloError> {
        let [outputs, columns] = tensor.spec.shape[..] else {
            unreachable!("checked against [outputs, inputs] by gguf_tensor");
        };
        let bytes = TensorSpec::dense(
            &tensor.spec.name,
            &[outputs, columns / kind.block_elements(), kind.block_bytes()],
            ElementType::I8,
        );
        let blocks = f.weight(&bytes, &tensor.buffer)?;
        let blocks_of_x = ActivationBlocks::for_format(kind, self.kernel);
        let activation = self.activation(f, prefix, x, blocks_of_x)?;
        let product = f.packed_linear(prefix, &activation, blocks, kind, self.kernel)?;
        let mut shape = f.type_of(x).shape.clone();
        *shape.last_mut().expect("x has a last dimension") = outputs;
        f.reshape(&format!("{prefix}.output"), product, &shape)
    }
}

/// The blocks of a `[.., columns]` ggml tensor as `[rows, blocks per row,
/// block bytes]` i8, unpacked in the module and reshaped back.
fn packed_weight(
    f: &mut FunctionBuilder<'_, '_>,
    name: &str,
    tensor: &GgufTensor,
    kind: GgmlType,
) -> Result<ValueId, HloError> {
    let shape = &tensor.spec.shape;
    let columns = *shape.last().unwrap_or(&1);
    let rows = shape.iter().product::<u64>() / columns.max(1);
    let per_row = columns / kind.block_elements();
    let bytes = TensorSpec::dense(name, &[rows, per_row, kind.block_bytes()], ElementType::I8);
    let blocks = f.weight(&bytes, &tensor.buffer)?;
    let values = f.dequantize_blocks(name, blocks, kind)?;
    f.reshape(&format!("{name}.shape"), values, shape)
}

impl Weights for GgufWeights<'_> {
    fn weight(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        name: &str,
        shape: &[u64],
    ) -> crate::models::Result<ValueId> {
        let tensor = gguf_tensor(self.gguf, name, shape)?;
        match tensor.spec.encoding {
            TensorEncoding::Dense(_) => Ok(dense_as_f32(f, &tensor.spec, &tensor.buffer)?),
            TensorEncoding::Ggml(kind) if self.packs(kind) => {
                Ok(packed_weight(f, name, &tensor, kind)?)
            }
            TensorEncoding::Ggml(_) => self.dequantized_weight(f, name, &tensor),
        }
    }

    fn linear(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        prefix: &str,
        x: ValueId,
        [outputs, inputs]: [u64; 2],
    ) -> crate::models::Result<ValueId> {
        let name = format!("{prefix}.weight");
        let tensor = gguf_tensor(self.gguf, &name, &[outputs, inputs])?;
        match tensor.spec.encoding {
            TensorEncoding::Ggml(kind) if self.contracts(kind) => {
                Ok(self.contracted_linear(f, prefix, x, &tensor, kind)?)
            }
            _ => float_linear(self, f, prefix, x, [outputs, inputs]),
        }
    }

    fn rows(
        &self,
        f: &mut FunctionBuilder<'_, '_>,
        name: &str,
        shape: [u64; 2],
        indices: ValueId,
    ) -> crate::models::Result<ValueId> {
        let tensor = gguf_tensor(self.gguf, name, &shape)?;
        let location = name.trim_end_matches(".weight");
        match tensor.spec.encoding {
            TensorEncoding::Ggml(kind) if self.packs(kind) => {
                Ok(packed_rows(f, location, &tensor, kind, indices)?)
            }
            _ => float_rows(self, f, name, shape, indices),
        }
    }
}

/// Rows `indices` of a packed `[rows, columns]` table: its blocks gathered
/// as `[rows, blocks · block bytes]` bytes, then only those rows unpacked.
fn packed_rows(
    f: &mut FunctionBuilder<'_, '_>,
    location: &str,
    tensor: &GgufTensor,
    kind: GgmlType,
    indices: ValueId,
) -> Result<ValueId, HloError> {
    let [rows, columns] = tensor.spec.shape[..] else {
        unreachable!("checked against [rows, columns] by gguf_tensor");
    };
    let (per_row, block_bytes) = (columns / kind.block_elements(), kind.block_bytes());
    let spec = TensorSpec::dense(
        &tensor.spec.name,
        &[rows, per_row, block_bytes],
        ElementType::I8,
    );
    let blocks = f.weight(&spec, &tensor.buffer)?;
    let table = f.reshape(
        &format!("{location}.bytes"),
        blocks,
        &[rows, per_row * block_bytes],
    )?;
    let gathered = f.gather_rows(&format!("{location}.gather"), table, indices)?;
    let count = f.type_of(indices).shape.iter().product::<u64>();
    let picked = f.reshape(
        &format!("{location}.picked"),
        gathered,
        &[count, per_row, block_bytes],
    )?;
    let values = f.dequantize_blocks(location, picked, kind)?;
    let mut shape = f.type_of(indices).shape.clone();
    shape.push(columns);
    f.reshape(&format!("{location}.rows"), values, &shape)
}
