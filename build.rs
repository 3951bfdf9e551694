//! Links irex against IREE's compiler library and gives every binary of the
//! build tree an rpath to it, so nothing needs `LD_LIBRARY_PATH`.
//! `scripts/install` removes that rpath (its launcher finds the library
//! where irex runs), so an install tree names no folder of this machine.
//!
//! `MLIR_SYS_220_PREFIX` points at the `llvm-config` stand-in folder that
//! `scripts/setup` writes; its `lib/` holds `libIREECompiler.so` (a symlink
//! into the `iree-base-compiler` wheel), which also provides the MLIR C API.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=MLIR_SYS_220_PREFIX");
    println!("cargo:rerun-if-changed=build.rs");
    let Some(prefix) = std::env::var_os("MLIR_SYS_220_PREFIX") else {
        panic!("MLIR_SYS_220_PREFIX is not set: run scripts/setup first");
    };
    let lib = PathBuf::from(prefix).join("lib");
    let compiler = lib.join("libIREECompiler.so");
    if !compiler.exists() {
        panic!("{} is missing: run scripts/setup first", compiler.display());
    }
    println!("cargo:rustc-link-search=native={}", lib.display());
    println!("cargo:rustc-link-lib=dylib=IREECompiler");
    println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
}
