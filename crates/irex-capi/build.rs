//! Names the shared library `libirex.so` (its SONAME), the name the CMake
//! package installs it under, and gives it no rpath: the host finds
//! `libIREECompiler.so` (see `cmake/irexConfig.cmake.in`).
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libirex.so");
}
