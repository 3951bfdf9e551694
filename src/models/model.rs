//! The seam between the model rooms and the export pipeline: what a model
//! is ([`Model`]), what its module computes ([`ModelKind`]), and the
//! options its graph is built for ([`GraphOptions`], [`QuantMode`]).

use crate::hlo::{ConstantMaterializationPolicy, ModuleBuilder};

/// What an exported module computes: the manifest's `model_kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// Sentences to embeddings (`embed`).
    SentenceEncoder,
    /// Tokens to next-token logits (`prefill`, `decode`).
    CausalLm,
    /// A built-in example graph (`main`).
    Example,
}

impl ModelKind {
    /// The name manifests record.
    pub fn name(self) -> &'static str {
        match self {
            Self::SentenceEncoder => "bert-sentence-embedding",
            Self::CausalLm => "llama-causal-lm",
            Self::Example => "example",
        }
    }

    /// Reads a manifest's `model_kind`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::SentenceEncoder, Self::CausalLm, Self::Example]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// What it is, for people ("a sentence encoder").
    pub fn describe(self) -> &'static str {
        match self {
            Self::SentenceEncoder => "a sentence encoder",
            Self::CausalLm => "a causal language model",
            Self::Example => "an example graph",
        }
    }

    /// The `irex` command that runs it.
    pub fn command(self) -> &'static str {
        match self {
            Self::SentenceEncoder => "irex embed",
            Self::CausalLm => "irex generate or irex logits",
            Self::Example => "iree-run-module",
        }
    }
}

/// An export option that only some models take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphOption {
    /// The batch size of the functions.
    Batch,
    /// The fixed sequence length of the functions.
    SequenceLength,
    /// How block-quantized weights reach the module.
    Quant,
    /// Whether a causal LM also gets an in-module generation loop.
    GenerationLoop,
    /// The integer kernel of packed contractions.
    IntegerKernel,
}

impl GraphOption {
    /// The `irex export` flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Self::Batch => "--batch",
            Self::SequenceLength => "--seq-len",
            Self::Quant => "--quant",
            Self::GenerationLoop => "--generation-loop",
            Self::IntegerKernel => "--int-kernel",
        }
    }
}

/// The shapes and weight forms a model's functions are built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GraphOptions {
    /// Batch size.
    pub batch: u64,
    /// Fixed sequence length (the KV cache length of causal models).
    pub sequence_length: u64,
    /// How block-quantized weights reach the module.
    pub quant: QuantMode,
    /// Also build `generate`: greedy generation in one call (causal LMs).
    pub generation_loop: bool,
    /// The integer kernel packed contractions are shaped for (the export
    /// picks it for its target).
    pub kernel: crate::hlo::IntegerKernel,
}

/// A model irex can export: read from its source and checked, it builds its
/// functions into a module. [`crate::export`] drives every model through
/// this one seam.
pub trait Model {
    /// What its module computes.
    fn kind(&self) -> ModelKind;

    /// What kind of source it was read from ("a llama GGUF file").
    fn source_description(&self) -> &'static str;

    /// Where it was read from, for the manifest.
    fn source(&self) -> String;

    /// The name of the module it builds.
    fn module_name(&self) -> &str;

    /// The graph options used where an export does not set them.
    fn defaults(&self) -> GraphOptions;

    /// Whether an export may set `option` (the others are refused).
    fn takes(&self, option: GraphOption) -> bool;

    /// Where weights go when an export does not say.
    fn default_policy(&self) -> ConstantMaterializationPolicy {
        ConstantMaterializationPolicy::ExternalAlways
    }

    /// The `tokenizer.json` to ship beside the module, if the model has
    /// one; called before anything is built, so that a bad tokenizer fails
    /// the export before any file is written.
    fn tokenizer_json(&self) -> crate::models::Result<Option<Vec<u8>>>;

    /// The token that ends a generation, from the model's metadata.
    fn end_token(&self) -> Option<u32> {
        None
    }

    /// The token a sequence starts with, from the model's metadata.
    fn start_token(&self) -> Option<u32> {
        None
    }

    /// The model's chat template (Jinja), from its metadata.
    fn chat_template(&self) -> Option<String> {
        None
    }

    /// Builds the model's functions into `module`.
    fn build(
        &self,
        module: &mut ModuleBuilder<'_>,
        options: &GraphOptions,
    ) -> crate::models::Result<()>;
}

/// How block-quantized GGUF weights reach the module.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum QuantMode {
    /// The GGUF blocks byte for byte in the `.irpa`. Formats with an
    /// integer contraction (`hlo::CONTRACTED_FORMATS`) are multiplied
    /// without unpacking, the activation rounded to i16 per block; the
    /// others are unpacked to f32 by StableHLO in the module.
    #[default]
    Packed,
    /// The GGUF blocks byte for byte, every format unpacked to f32 in the
    /// module: the dequantized model exactly, no activation rounding.
    PackedExact,
    /// Dequantized at export to f32.
    Dequant,
    /// Dequantized at export to f16 (half the size, one rounding).
    DequantF16,
}

impl QuantMode {
    /// The `--quant` value that selects it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Packed => "packed",
            Self::PackedExact => "packed-exact",
            Self::Dequant => "dequant",
            Self::DequantF16 => "dequant-f16",
        }
    }
}

impl std::str::FromStr for QuantMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "packed" => Ok(Self::Packed),
            "packed-exact" => Ok(Self::PackedExact),
            "dequant" => Ok(Self::Dequant),
            "dequant-f16" => Ok(Self::DequantF16),
            other => Err(format!(
                "unknown quant mode `{other}`: use packed, packed-exact, dequant or dequant-f16"
            )),
        }
    }
}
