//! The builder room: a module under construction ([`ModuleBuilder`]), the
//! function being built in it ([`FunctionBuilder`]) with the values it
//! tracks, tensor types, the weight policy and its parameter references,
//! the one operation constructor, and text/bytecode emission.
//!
//! Imports within the room run one way: `function` → `module` →
//! `policy`, `types`, `operation`.

pub(super) mod emit;
pub(super) mod function;
pub(super) mod module;
pub(super) mod operation;
pub(super) mod policy;
pub(super) mod signatures;
pub(super) mod types;
