//! The one export pipeline every model goes through: check the options
//! against what the model takes → read its tokenizer (so metadata errors
//! come before any file) → build the graph → verify → write the artifacts →
//! write the manifest, read from the verified module; all into a staging
//! folder that replaces the destination only when complete.

use crate::hlo::IntegerKernel;
use std::path::Path;

use melior::Context;
use melior::ir::Module;

use super::artifacts::{ArtifactSelection, write_artifacts};
use super::progress::{Progress, Step};
use super::staging::Staging;
use crate::formats::irpa::write_archive;
use crate::formats::manifest::{ArtifactRecord, Manifest};
use crate::hlo::{
    self, ConstantMaterializationPolicy, ConvertedModule, ModuleBuilder, archive_entries,
};
use crate::iree::{CompileOptions, DataTiling, revision};
use crate::models::QuantMode;
use crate::models::{GraphOption, GraphOptions, Model, ModelError};

/// The parameter scope external weights go in unless an export says.
pub const DEFAULT_SCOPE: &str = "model";

/// The name of the tokenizer file in an export folder.
pub const TOKENIZER_FILE_NAME: &str = "tokenizer.json";

/// How to export a model. Unset graph options take the model's defaults;
/// set ones the model does not take are refused.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Where weights go (default: the model's, external for real models).
    pub policy: Option<ConstantMaterializationPolicy>,
    /// The parameter scope of external weights.
    pub scope: String,
    /// Batch size of the functions.
    pub batch: Option<u64>,
    /// Fixed sequence length of the functions.
    pub sequence_length: Option<u64>,
    /// How block-quantized weights reach the module.
    pub quant: Option<QuantMode>,
    /// Also build an in-module generation loop (`generate`).
    pub generation_loop: bool,
    /// The integer kernel of packed contractions (default: chosen for the
    /// target: AVX-512 VNNI hosts get nibbles, every other target bytes).
    pub kernel: Option<IntegerKernel>,
    /// Target and compiler flags.
    pub compile: CompileOptions,
    /// Which files to write.
    pub selection: ArtifactSelection,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            policy: None,
            scope: DEFAULT_SCOPE.into(),
            batch: None,
            sequence_length: None,
            quant: None,
            generation_loop: false,
            kernel: None,
            compile: CompileOptions::default(),
            selection: ArtifactSelection::default(),
        }
    }
}

impl ExportOptions {
    /// The graph options for `model`: the ones set here, the model's
    /// defaults for the rest; refuses one the model does not take.
    pub fn graph_options(&self, model: &dyn Model) -> Result<GraphOptions, ModelError> {
        let defaults = model.defaults();
        let take = |option: GraphOption, set: bool| {
            if set && !model.takes(option) {
                return Err(ModelError::OptionNotTaken {
                    flag: option.flag(),
                    model: model.source_description(),
                });
            }
            Ok(())
        };
        take(GraphOption::Batch, self.batch.is_some())?;
        take(GraphOption::SequenceLength, self.sequence_length.is_some())?;
        take(GraphOption::Quant, self.quant.is_some())?;
        take(GraphOption::GenerationLoop, self.generation_loop)?;
        take(GraphOption::IntegerKernel, self.kernel.is_some())?;
        let quant = self.quant.unwrap_or(defaults.quant);
        if self.kernel.is_some() && quant != QuantMode::Packed {
            return Err(ModelError::OptionNeeds {
                flag: GraphOption::IntegerKernel.flag(),
                needs: "--quant packed",
                found: format!("--quant {}", quant.name()),
            });
        }
        Ok(GraphOptions {
            batch: self.batch.unwrap_or(defaults.batch),
            sequence_length: self.sequence_length.unwrap_or(defaults.sequence_length),
            quant,
            generation_loop: self.generation_loop,
            kernel: self.kernel.unwrap_or_else(|| integer_kernel(&self.compile)),
        })
    }
}

impl ExportOptions {
    /// The compile options an export of `model` compiles with: these
    /// options' target and flags, on the data-tiling path its graph needs.
    pub fn compile_options(&self, model: &dyn Model) -> Result<CompileOptions, ModelError> {
        let graph = self.graph_options(model)?;
        Ok(compile_options(model, &graph, &self.compile))
    }
}

/// Builds and verifies `model`'s module in `context`.
pub fn build_module<'c>(
    model: &dyn Model,
    context: &'c Context,
    options: &ExportOptions,
    progress: &mut dyn Progress,
) -> crate::Result<ConvertedModule<'c>> {
    let graph = options.graph_options(model)?;
    build_graph(model, context, &graph, options, progress)
}

/// Builds and verifies `model`'s module in a context the caller owns (a
/// host toolchain's compiler session, see [`crate::iree::HostContext`]) and
/// writes the `.irpa` of its external weights to `parameters`, when given
/// and when it has any. The module is the host's to import and compile.
pub fn import_module<'c>(
    model: &dyn Model,
    context: &'c Context,
    options: &ExportOptions,
    parameters: Option<&Path>,
) -> crate::Result<Module<'c>> {
    let converted = build_module(model, context, options, &mut super::Silent)?;
    if let Some(path) = parameters
        && !converted.parameters.is_empty()
    {
        write_archive(path, &archive_entries(&converted.parameters))?;
    }
    Ok(converted.module)
}

/// [`build_module`] for graph options already checked.
fn build_graph<'c>(
    model: &dyn Model,
    context: &'c Context,
    graph: &GraphOptions,
    options: &ExportOptions,
    progress: &mut dyn Progress,
) -> crate::Result<ConvertedModule<'c>> {
    let policy = options.policy.unwrap_or_else(|| model.default_policy());
    let mut module = ModuleBuilder::new(context, model.module_name(), policy, &options.scope);
    progress.begin(Step::Building);
    model.build(&mut module, graph)?;
    progress.end(Step::Building);
    progress.begin(Step::Verifying);
    let converted = module.finish()?;
    progress.end(Step::Verifying);
    Ok(converted)
}

/// Exports `model` into the folder `out`: MLIR, `.irpa`, `.vmfb` (as
/// `options.selection` says), `tokenizer.json` and `irex.json`; returns the
/// manifest.
pub fn export_folder(
    model: &dyn Model,
    out: &Path,
    options: &ExportOptions,
    progress: &mut dyn Progress,
) -> crate::Result<Manifest> {
    let graph = options.graph_options(model)?;
    let tokenizer = model.tokenizer_json()?;
    let staging = Staging::begin(out)?;
    let folder = staging.path();
    let compile = compile_options(model, &graph, &options.compile);
    let session = compile.session()?;
    let converted = build_graph(model, session.context()?, &graph, options, progress)?;
    // Read before compiling: the compiler rewrites the module in place.
    let functions = hlo::function_signatures(&converted.module)?;
    let artifacts = write_artifacts(
        &session,
        &converted,
        folder,
        "model",
        options.selection,
        progress,
    )?;
    if let Some(bytes) = &tokenizer {
        let path = folder.join(TOKENIZER_FILE_NAME);
        crate::output::write_atomically(&path, bytes).map_err(|source| crate::Error::Io {
            what: "writing",
            path: path.display().to_string(),
            source,
        })?;
    }
    let [mlir_text, mlir_bytecode, parameters, module] = artifacts.file_names();
    let mut manifest = Manifest {
        irex_version: env!("CARGO_PKG_VERSION").into(),
        model_kind: model.kind().name().into(),
        source: model.source(),
        functions,
        parameter_scope: converted.scope.clone(),
        target: compile.target.clone(),
        target_cpu: compile.target_cpu.clone(),
        compile_flags: compile.portable_flags(),
        iree_version: revision(),
        device: compile.runtime_device().into(),
        batch: graph.batch,
        sequence_length: graph.sequence_length,
        integer_kernel: contracts_packed(model, &graph).then(|| graph.kernel.name().into()),
        tokenizer: tokenizer.map(|_| TOKENIZER_FILE_NAME.into()),
        end_token: model.end_token(),
        start_token: model.start_token(),
        chat_template: model.chat_template(),
        artifacts: Vec::new(),
        parameters,
        module,
        mlir_text,
        mlir_bytecode,
    };
    manifest.artifacts = record_artifacts(&manifest, folder)?;
    manifest.write(folder)?;
    staging.commit()?;
    Ok(manifest)
}

/// Size and SHA-256 of each artifact the manifest names, read back from
/// the staging folder (so what is recorded is what was written).
fn record_artifacts(manifest: &Manifest, folder: &Path) -> crate::Result<Vec<ArtifactRecord>> {
    manifest
        .artifact_files()
        .into_iter()
        .map(|file| {
            ArtifactRecord::of(folder, file).map_err(|source| crate::Error::Io {
                what: "hashing",
                path: folder.join(file).display().to_string(),
                source,
            })
        })
        .collect()
}

/// The integer kernel packed contractions are shaped for on `compile`'s
/// target: IREE 3.13's i16 × u4 kernel (4 bits a weight resident) exists
/// only for AVX-512 VNNI, so the host CPU gets it where it has that, and
/// every other target (an AVX2 CPU, a named CPU, a GPU) the i8 × i8 form.
fn integer_kernel(compile: &CompileOptions) -> IntegerKernel {
    let host = matches!(compile.target_cpu.as_deref(), None | Some("host"));
    if compile.target == "llvm-cpu" && host && host_has_avx512_vnni() {
        IntegerKernel::Nibbles
    } else {
        IntegerKernel::Bytes
    }
}

#[cfg(target_arch = "x86_64")]
fn host_has_avx512_vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512vnni")
}

#[cfg(not(target_arch = "x86_64"))]
fn host_has_avx512_vnni() -> bool {
    false
}

/// Whether `model`'s graph contracts packed blocks as integers.
fn contracts_packed(model: &dyn Model, graph: &GraphOptions) -> bool {
    model.takes(GraphOption::Quant) && graph.quant == QuantMode::Packed
}

/// The compile options for `model`'s graph: a GGUF graph with packed
/// weights takes the dispatch-creation data-tiling path, which keeps its
/// integer contractions at 4 bits; every other graph the global one.
fn compile_options(
    model: &dyn Model,
    graph: &GraphOptions,
    asked: &CompileOptions,
) -> CompileOptions {
    let mut compile = asked.clone();
    if contracts_packed(model, graph) {
        compile.data_tiling = DataTiling::DispatchCreation;
    }
    compile
}
