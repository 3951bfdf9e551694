//! Builds the IREE 3.13.0 runtime, with its parameters module and the
//! `.irpa` / GGUF / safetensors index parsers, from the sources the
//! `eerie-sys` crate vendors, and writes bindgen bindings for the headers
//! `src/wrapper.h` names.
//!
//! Why not `eerie-sys`'s own build: it leaves the parameters module out,
//! and irex's modules read their weights through it. So `eerie-sys` is
//! a dependency with its features off (it only carries the sources), and
//! this script runs IREE's own CMake over them, with `CMakeLists.txt`
//! gathering the pieces into one archive.
//!
//! CMake ≥ 3.26 is needed (`scripts/setup` installs PyPI's `cmake` and sets
//! `CMAKE` through `.cargo/config.toml`).
use std::env;
use std::path::{Path, PathBuf};

/// The `eerie-sys` release `Cargo.toml` pins; its `iree/` folder is IREE
/// 3.13.0.
const EERIE_SYS: &str = "eerie-sys-0.5.0";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=CMakeLists.txt");
    println!("cargo:rerun-if-changed=src/wrapper.h");
    println!("cargo:rerun-if-env-changed=IREX_IREE_SOURCE_DIR");
    let iree = iree_source_dir();
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let build = build_runtime(&iree, &out);
    write_bindings(&iree, &build, &out);
    println!("cargo:rustc-link-search=native={}", build.display());
    println!(
        "cargo:rustc-link-search=native={}",
        build.join("iree/build_tools/third_party/flatcc").display()
    );
    println!("cargo:rustc-link-lib=static=irex_runtime");
    println!("cargo:rustc-link-lib=static=flatcc_parsing");
    println!("cargo:rustc-link-lib=dylib=stdc++");
}

/// IREE's source tree: `IREX_IREE_SOURCE_DIR` if set, otherwise the
/// `iree/` folder of the `eerie-sys` package Cargo unpacked. Cargo gives a
/// build script no path to its dependencies' sources, so the unpacked
/// registry folders are searched (`CARGO_HOME/registry/src/*/`), the
/// version fixed by the `=` pin in `Cargo.toml`.
fn iree_source_dir() -> PathBuf {
    if let Some(dir) = env::var_os("IREX_IREE_SOURCE_DIR") {
        return PathBuf::from(dir);
    }
    let cargo_home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .expect("neither CARGO_HOME nor HOME is set");
    let registry = cargo_home.join("registry/src");
    let found = std::fs::read_dir(&registry)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|index| index.path().join(EERIE_SYS).join("iree"))
        .find(|iree| iree.join("runtime/src/iree/runtime/api.h").is_file());
    found.unwrap_or_else(|| {
        panic!(
            "no {EERIE_SYS}/iree under {}: set IREX_IREE_SOURCE_DIR to IREE 3.13.0's sources",
            registry.display()
        )
    })
}

/// Runs CMake over `CMakeLists.txt`; returns the build folder.
fn build_runtime(iree: &Path, out: &Path) -> PathBuf {
    let mut config = cmake::Config::new(env!("CARGO_MANIFEST_DIR"));
    for (key, value) in [
        (
            "IREX_IREE_SOURCE_DIR",
            iree.to_str().expect("UTF-8 source path"),
        ),
        ("IREE_BUILD_COMPILER", "OFF"),
        ("IREE_BUILD_TESTS", "OFF"),
        ("IREE_BUILD_SAMPLES", "OFF"),
        ("IREE_BUILD_BENCHMARKS", "OFF"),
        ("IREE_BUILD_PYTHON_BINDINGS", "OFF"),
        ("IREE_BUILD_BINDINGS_TFLITE", "OFF"),
        ("IREE_BUILD_BINDINGS_TFLITE_JAVA", "OFF"),
        ("IREE_ENABLE_LIBBACKTRACE", "OFF"),
        ("IREE_HAL_DRIVER_DEFAULTS", "OFF"),
        ("IREE_HAL_DRIVER_LOCAL_SYNC", "ON"),
        ("IREE_HAL_DRIVER_LOCAL_TASK", "ON"),
        ("IREE_HAL_EXECUTABLE_LOADER_DEFAULTS", "OFF"),
        ("IREE_HAL_EXECUTABLE_LOADER_EMBEDDED_ELF", "ON"),
        ("IREE_HAL_EXECUTABLE_PLUGIN_DEFAULTS", "OFF"),
        ("IREE_HAL_EXECUTABLE_PLUGIN_EMBEDDED_ELF", "ON"),
        ("CMAKE_POSITION_INDEPENDENT_CODE", "ON"),
    ] {
        config.define(key, value);
    }
    // The runtime is the hot path of every call: optimise it even in
    // debug builds of irex.
    config.profile("Release");
    config
        .build_target("irex_runtime")
        .out_dir(out.join("runtime"));
    config.build().join("build")
}

/// Bindings for what `src/wrapper.h` includes, `iree_*` names only.
fn write_bindings(iree: &Path, build: &Path, out: &Path) {
    bindgen::Builder::default()
        .header(concat!(env!("CARGO_MANIFEST_DIR"), "/src/wrapper.h"))
        .clang_arg(format!("-I{}", iree.join("runtime/src").display()))
        .clang_arg(format!("-I{}", build.join("iree/runtime/src").display()))
        .clang_arg(format!(
            "-I{}",
            iree.join("third_party/flatcc/include").display()
        ))
        .allowlist_type("iree_.*")
        .allowlist_function("iree_.*")
        .allowlist_var("(iree_|IREE_).*")
        .size_t_is_usize(true)
        .derive_default(true)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .expect("bindgen could not read src/wrapper.h")
        .write_to_file(out.join("bindings.rs"))
        .expect("could not write bindings.rs");
}
