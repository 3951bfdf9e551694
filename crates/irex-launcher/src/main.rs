//! The `irex` command of an install tree (`scripts/install` puts it at
//! `PREFIX/bin/irex` and the real binary at `PREFIX/libexec/irex/irex`).
//!
//! irex links IREE's `libIREECompiler.so`, which no install tree carries:
//! it comes with IREE (the `iree-base-compiler` wheel, or a build of IREE)
//! and is found on the machine irex runs on, so nothing of the build
//! machine is recorded. In order:
//! 1. `IREE_COMPILER_LIB`, the library's path;
//! 2. the `iree-base-compiler` package of `IREX_PYTHON`, or of the first
//!    `python3` on `PATH` (its `iree/compiler/_mlir_libs/`).
//!
//! The launcher puts that folder first on `LD_LIBRARY_PATH` and replaces
//! itself with the real binary, arguments unchanged. With neither, it says
//! so in one line naming both, instead of the dynamic loader's "cannot
//! open shared object file".

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const LIBRARY: &str = "libIREECompiler.so";
/// Asks a Python where its `iree.compiler` package is, without importing it
/// (which would load the compiler).
const FIND_PACKAGE: &str = "import importlib.util, os, sys\n\
spec = importlib.util.find_spec('iree.compiler')\n\
sys.exit(1) if spec is None else print(os.path.join(list(spec.submodule_search_locations)[0], '_mlir_libs'))";

fn main() -> ExitCode {
    match launch() {
        Ok(never) => match never {},
        Err(message) => {
            eprintln!("irex: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Finds the library and the real binary, then runs it in this process.
fn launch() -> Result<std::convert::Infallible, String> {
    let folder = compiler_folder()?;
    let binary = real_binary()?;
    let mut search = OsString::from(folder.as_os_str());
    if let Some(previous) = std::env::var_os("LD_LIBRARY_PATH").filter(|path| !path.is_empty()) {
        search.push(":");
        search.push(previous);
    }
    let error = Command::new(&binary)
        .arg0("irex")
        .args(std::env::args_os().skip(1))
        .env("LD_LIBRARY_PATH", search)
        .exec();
    Err(format!("cannot run `{}`: {error}", binary.display()))
}

/// The folder holding `libIREECompiler.so`, found as the module doc says.
fn compiler_folder() -> Result<PathBuf, String> {
    if let Some(library) = std::env::var_os("IREE_COMPILER_LIB").filter(|path| !path.is_empty()) {
        let library = PathBuf::from(library);
        if !library.is_file() {
            return Err(format!(
                "IREE_COMPILER_LIB is `{}`, which is not a file (it names IREE's {LIBRARY})",
                library.display()
            ));
        }
        return Ok(library.parent().unwrap_or(Path::new(".")).to_path_buf());
    }
    let python = std::env::var_os("IREX_PYTHON")
        .filter(|python| !python.is_empty())
        .unwrap_or_else(|| "python3".into());
    if let Some(folder) = package_folder(&python) {
        return Ok(folder);
    }
    Err(format!(
        "IREE's {LIBRARY} was not found: set IREE_COMPILER_LIB to its path, or install the iree-base-compiler Python package (pip install iree-base-compiler==3.13.0) for `{}` (IREX_PYTHON, or python3 on PATH)",
        Path::new(&python).display()
    ))
}

/// The `_mlir_libs` folder of `python`'s `iree-base-compiler`, where it has
/// one holding the library.
fn package_folder(python: &std::ffi::OsStr) -> Option<PathBuf> {
    let output = Command::new(python)
        .args(["-c", FIND_PACKAGE])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let folder = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim_end());
    folder.join(LIBRARY).is_file().then_some(folder)
}

/// `../libexec/irex/irex` from this executable, through any symlink to it.
fn real_binary() -> Result<PathBuf, String> {
    let launcher = std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|error| format!("cannot find this executable's path: {error}"))?;
    let binary = launcher
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("libexec/irex/irex"))
        .ok_or_else(|| format!("`{}` is not in an install tree", launcher.display()))?;
    if !binary.is_file() {
        return Err(format!(
            "`{}` is missing: this launcher runs the irex of its install tree (scripts/install)",
            binary.display()
        ));
    }
    Ok(binary)
}
