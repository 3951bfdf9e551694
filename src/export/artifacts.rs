//! Writing a converted module's artifacts: MLIR text, MLIR bytecode, the
//! `.irpa` of its external weights, and the compiled `.vmfb`.

use std::path::{Path, PathBuf};

use melior::ir::Module;

use super::progress::{Progress, Step};
use crate::Result;
use crate::formats::irpa::write_archive;
use crate::hlo::{self, ConvertedModule, PrintOptions, archive_entries};
use crate::iree::{CompileOptions, Session, compile_module};

/// Which artifacts to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ArtifactSelection {
    /// Write `STEM.mlir`.
    pub text: bool,
    /// Write `STEM.mlirbc`.
    pub bytecode: bool,
    /// Compile to `STEM.vmfb`.
    pub vmfb: bool,
    /// Print locations in the text.
    pub locations: bool,
}

impl Default for ArtifactSelection {
    fn default() -> Self {
        Self {
            text: true,
            bytecode: true,
            vmfb: true,
            locations: false,
        }
    }
}

/// The files an export wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Artifacts {
    /// MLIR text.
    pub text: Option<PathBuf>,
    /// MLIR bytecode.
    pub bytecode: Option<PathBuf>,
    /// The parameter archive (only when the module has external weights).
    pub irpa: Option<PathBuf>,
    /// The compiled module.
    pub vmfb: Option<PathBuf>,
}

/// Writes `converted`'s artifacts as `folder/STEM.{mlir,mlirbc,irpa,vmfb}`.
///
/// MLIR outputs are written before compiling, because the compiler rewrites
/// the module in place.
pub fn write_artifacts(
    session: &Session,
    converted: &ConvertedModule<'_>,
    folder: &Path,
    stem: &str,
    selection: ArtifactSelection,
    progress: &mut dyn Progress,
) -> Result<Artifacts> {
    std::fs::create_dir_all(folder).map_err(|source| crate::Error::Io {
        what: "creating",
        path: folder.display().to_string(),
        source,
    })?;
    let path = |extension: &str| folder.join(format!("{stem}.{extension}"));
    let mut artifacts = Artifacts::default();
    if selection.text || selection.bytecode {
        progress.begin(Step::WritingMlir);
        write_mlir(converted, selection, &path, &mut artifacts)?;
        progress.end(Step::WritingMlir);
    }
    if !converted.parameters.is_empty() {
        progress.begin(Step::WritingParameters);
        write_archive(&path("irpa"), &archive_entries(&converted.parameters))?;
        artifacts.irpa = Some(path("irpa"));
        progress.end(Step::WritingParameters);
    }
    if selection.vmfb {
        progress.begin(Step::Compiling);
        compile_to_vmfb(session, &converted.module, &path("vmfb"))?;
        artifacts.vmfb = Some(path("vmfb"));
        progress.end(Step::Compiling);
    }
    Ok(artifacts)
}

fn write_mlir(
    converted: &ConvertedModule<'_>,
    selection: ArtifactSelection,
    path: &dyn Fn(&str) -> PathBuf,
    artifacts: &mut Artifacts,
) -> Result<()> {
    if selection.text {
        let options = PrintOptions {
            locations: selection.locations,
        };
        hlo::write_text(&converted.module, options, &path("mlir"))?;
        artifacts.text = Some(path("mlir"));
    }
    if selection.bytecode {
        hlo::write_bytecode(&converted.module, &path("mlirbc"))?;
        artifacts.bytecode = Some(path("mlirbc"));
    }
    Ok(())
}

/// Compiles `module` to a `.vmfb` at `path`, first lowering its
/// `!quant.uniform` weights to integer arithmetic (IREE 3.13 cannot legalize
/// per-axis `stablehlo.uniform_dequantize`; see
/// [`hlo::lower_uniform_quantization`]).
///
/// Like [`compile_module`], this rewrites the module: write MLIR outputs first.
pub fn compile_to_vmfb(session: &Session, module: &Module<'_>, path: &Path) -> Result<()> {
    hlo::lower_uniform_quantization(session.context()?, module)?;
    compile_module(session, module, path)?;
    Ok(())
}

/// Compiles an MLIR text or bytecode file to a `.vmfb` at `path`, through
/// [`compile_to_vmfb`].
pub fn compile_file(options: &CompileOptions, input: &Path, path: &Path) -> Result<()> {
    let session = options.session()?;
    let io = |source| crate::Error::Io {
        what: "reading",
        path: input.display().to_string(),
        source,
    };
    let mapped = crate::tensor::MappedFile::open(input).map_err(io)?;
    let module = hlo::parse_module(
        session.context()?,
        mapped.bytes(),
        &input.display().to_string(),
    )?;
    compile_to_vmfb(&session, &module, path)
}

impl Artifacts {
    /// The artifacts' file names relative to their folder, for the manifest:
    /// (text, bytecode, parameters, module).
    pub fn file_names(&self) -> [Option<String>; 4] {
        [&self.text, &self.bytecode, &self.irpa, &self.vmfb].map(file_name)
    }
}

/// Returns the file name of an artifact path, for manifests (which name
/// files relative to their folder).
fn file_name(path: &Option<PathBuf>) -> Option<String> {
    path.as_ref()
        .and_then(|path| path.file_name())
        .map(|name| name.to_string_lossy().into_owned())
}
