//! The tutorial staircase: `y = 2x + 1`, then a linear layer with inline
//! weights, then the same layer with its weights in an `.irpa`; plus the
//! small graphs the FileCheck tests print (uniform weights that collapse to
//! splats, a deliberately ill-typed add that the verifier rejects, and an
//! int8 linear layer of `!quant.uniform` weights). [`crate::run::tutorial`]
//! runs the stages.

use super::{GraphOption, GraphOptions, Model, ModelKind};
use crate::formats::npy::NpyArray;
use crate::hlo::{
    ConstantMaterializationPolicy, DotDimensions, HloError, ModuleBuilder, TensorType,
};
use crate::quant::UniformQuantization;
use crate::tensor::{BufferHandle, ElementType, TensorSpec};

/// A built-in example graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Example {
    /// `main(x: tensor<4xf32>) = 2x + 1`: no weights.
    Affine,
    /// `main(x: tensor<2xf32>) = W·x + b` with `W = [[1, 2], [3, 4]]`, `b = [0.5, -1]`.
    Linear,
    /// The linear layer with uniform weights (`W` all 0.5, `b` all 1): splats.
    UniformLinear,
    /// Adds a `tensor<4xf32>` to a `tensor<2xf32>`: fails verification, on purpose.
    MismatchedAdd,
    /// `main(x: tensor<3xf32>) = W·x + b` with int8 weights of `!quant.uniform`
    /// type: `W` per-axis (row scales 0.5 and 0.25, zero points 0 and −2),
    /// `b` per-tensor (scale 0.125, zero point 4).
    Int8Linear,
}

impl Example {
    /// Every example, in tutorial order.
    pub const ALL: [Self; 5] = [
        Self::Affine,
        Self::Linear,
        Self::UniformLinear,
        Self::MismatchedAdd,
        Self::Int8Linear,
    ];

    /// Returns the name the CLI uses.
    pub fn name(self) -> &'static str {
        match self {
            Self::Affine => "affine",
            Self::Linear => "linear",
            Self::UniformLinear => "uniform-linear",
            Self::MismatchedAdd => "mismatched-add",
            Self::Int8Linear => "int8-linear",
        }
    }

    /// Looks an example up by its CLI name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|example| example.name() == name)
    }

    /// Builds the example's `main` into `module`.
    pub fn build(self, module: &mut ModuleBuilder<'_>) -> Result<(), HloError> {
        match self {
            Self::Affine => build_affine(module),
            Self::Linear => build_linear(module, &[1.0, 2.0, 3.0, 4.0], &[0.5, -1.0]),
            Self::UniformLinear => build_linear(module, &[0.5; 4], &[1.0; 2]),
            Self::MismatchedAdd => build_mismatched_add(module),
            Self::Int8Linear => build_int8_linear(module),
        }
    }

    /// Returns the input the tutorial runs the example on.
    pub fn sample_input(self) -> NpyArray {
        match self {
            Self::Affine => NpyArray::from_f32(&[4], &[1.0, 2.0, 3.0, 4.0]),
            Self::Int8Linear => NpyArray::from_f32(&[3], &[1.0, 2.0, 3.0]),
            _ => NpyArray::from_f32(&[2], &[1.0, 2.0]),
        }
    }
}

fn f32_tensor(shape: &[u64]) -> TensorType {
    TensorType::new(shape, ElementType::F32)
}

fn build_affine(module: &mut ModuleBuilder<'_>) -> Result<(), HloError> {
    let mut main = module.function("main", &[f32_tensor(&[4])])?;
    let x = main.argument(0);
    let two = main.splat_constant("affine.two", ElementType::F32, &[4], 2.0)?;
    let one = main.splat_constant("affine.one", ElementType::F32, &[4], 1.0)?;
    let scaled = main.multiply("affine.scale", two, x)?;
    let shifted = main.add("affine.shift", scaled, one)?;
    main.finish(&[shifted])
}

/// `y_i = Σ_j W_ij x_j + b_i`, with `W` row-major 2×2 and `b` of 2.
fn build_linear(
    module: &mut ModuleBuilder<'_>,
    weight: &[f32],
    bias: &[f32],
) -> Result<(), HloError> {
    let weight_spec = TensorSpec::dense("linear.weight", &[2, 2], ElementType::F32);
    let bias_spec = TensorSpec::dense("linear.bias", &[2], ElementType::F32);
    let mut main = module.function("main", &[f32_tensor(&[2])])?;
    let x = main.argument(0);
    let w = main.weight(&weight_spec, &BufferHandle::from_f32(weight))?;
    let b = main.weight(&bias_spec, &BufferHandle::from_f32(bias))?;
    let product = main.dot_general("linear.matvec", w, x, &DotDimensions::contract(1, 0))?;
    let y = main.add("linear.bias_add", product, b)?;
    main.finish(&[y])
}

/// `W = [[2, −4, 6], [8, 10, −12]]` and `b = [12, −4]` as stored integers;
/// dequantized, `W = [[1, −2, 3], [2.5, 3, −2.5]]` and `b = [1, −1]`.
fn build_int8_linear(module: &mut ModuleBuilder<'_>) -> Result<(), HloError> {
    let stored =
        |values: &[i8]| BufferHandle::owned(values.iter().map(|&v| v as u8).collect::<Vec<_>>());
    let weight_spec = TensorSpec::dense("int8.weight", &[2, 3], ElementType::I8);
    let bias_spec = TensorSpec::dense("int8.bias", &[2], ElementType::I8);
    let rows = UniformQuantization::per_axis(ElementType::I8, 0, vec![0.5, 0.25], vec![0, -2]);
    let whole = UniformQuantization::per_tensor(ElementType::I8, 0.125, 4);
    let mut main = module.function("main", &[f32_tensor(&[3])])?;
    let x = main.argument(0);
    let w = main.quantized_weight(&weight_spec, &stored(&[2, -4, 6, 8, 10, -12]), &rows)?;
    let b = main.quantized_weight(&bias_spec, &stored(&[12, -4]), &whole)?;
    let product = main.dot_general("int8.matvec", w, x, &DotDimensions::contract(1, 0))?;
    let y = main.add("int8.bias_add", product, b)?;
    main.finish(&[y])
}

fn build_mismatched_add(module: &mut ModuleBuilder<'_>) -> Result<(), HloError> {
    let mut main = module.function("main", &[f32_tensor(&[4]), f32_tensor(&[2])])?;
    let (x, y) = (main.argument(0), main.argument(1));
    let sum = main.add("mismatched.add", x, y)?;
    main.finish(&[sum])
}

/// The examples export like models, into one MLIR file (or a folder):
/// no tokenizer, no graph options, weights inline unless told otherwise.
impl Model for Example {
    fn kind(&self) -> ModelKind {
        ModelKind::Example
    }

    fn source_description(&self) -> &'static str {
        "a built-in example"
    }

    fn source(&self) -> String {
        format!("example `{}`", self.name())
    }

    fn module_name(&self) -> &str {
        match self {
            Self::Affine => "affine",
            Self::Linear => "linear",
            Self::UniformLinear => "uniform_linear",
            Self::MismatchedAdd => "mismatched_add",
            Self::Int8Linear => "int8_linear",
        }
    }

    fn defaults(&self) -> GraphOptions {
        GraphOptions {
            batch: 1,
            sequence_length: 1,
            quant: Default::default(),
            generation_loop: false,
            kernel: crate::hlo::IntegerKernel::Bytes,
        }
    }

    fn takes(&self, _option: GraphOption) -> bool {
        false
    }

    fn default_policy(&self) -> ConstantMaterializationPolicy {
        ConstantMaterializationPolicy::InlineAlways
    }

    fn tokenizer_json(&self) -> crate::models::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn build(
        &self,
        module: &mut ModuleBuilder<'_>,
        _options: &GraphOptions,
    ) -> crate::models::Result<()> {
        Ok(Example::build(*self, module)?)
    }
}

/// One rung of the tutorial staircase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stage {
    /// 1, 2 or 3.
    pub number: u8,
    /// The graph.
    pub example: Example,
    /// Where its weights go.
    pub policy: ConstantMaterializationPolicy,
}

impl Stage {
    /// Returns stage `number` (1, 2 or 3).
    pub fn new(number: u8) -> Option<Self> {
        let (example, policy) = match number {
            1 => (Example::Affine, ConstantMaterializationPolicy::InlineAlways),
            2 => (Example::Linear, ConstantMaterializationPolicy::InlineAlways),
            3 => (
                Example::Linear,
                ConstantMaterializationPolicy::ExternalAlways,
            ),
            _ => return None,
        };
        Some(Self {
            number,
            example,
            policy,
        })
    }
}

/// A stage exports as its example does, under the name `stageN` and with
/// the stage's weight policy.
impl Model for Stage {
    fn kind(&self) -> ModelKind {
        ModelKind::Example
    }

    fn source_description(&self) -> &'static str {
        "a tutorial stage"
    }

    fn source(&self) -> String {
        format!("tutorial stage {}", self.number)
    }

    fn module_name(&self) -> &str {
        ["stage1", "stage2", "stage3"][usize::from(self.number.clamp(1, 3) - 1)]
    }

    fn defaults(&self) -> GraphOptions {
        self.example.defaults()
    }

    fn takes(&self, _option: GraphOption) -> bool {
        false
    }

    fn default_policy(&self) -> ConstantMaterializationPolicy {
        self.policy
    }

    fn tokenizer_json(&self) -> crate::models::Result<Option<Vec<u8>>> {
        Ok(None)
    }

    fn build(
        &self,
        module: &mut ModuleBuilder<'_>,
        options: &GraphOptions,
    ) -> crate::models::Result<()> {
        Model::build(&self.example, module, options)
    }
}
