//! Raw bindings to the IREE 3.13.0 runtime: instance, session and calls,
//! the local-task CPU device, the parameters module and the parameter file
//! parsers (`.irpa`, GGUF, safetensors). Built by `build.rs` from the
//! sources the `eerie-sys` crate vendors. irex's safe API over these is
//! `irex::iree::runtime`; nothing else should call them.
#![allow(non_upper_case_globals, non_camel_case_types, non_snake_case)]
#![allow(missing_docs, clippy::all, unsafe_op_in_unsafe_fn)]

// Keeps `eerie-sys` (the source carrier) a real dependency.
use eerie_sys as _;

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
