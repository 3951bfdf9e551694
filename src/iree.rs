//! IREE's compiler embedding API behind safe owned wrappers, and IREE's
//! runtime tools (`iree-run-module`, ...) as subprocesses.
//!
//! Architecture Invariant: this and [`crate::hlo`] are the only layers that
//! touch the C APIs, and neither imports the other: the export pipeline
//! above them hands a built module to [`compile_module`]. Every handle has
//! one owner whose `Drop` calls the paired destroy; every
//! `iree_compiler_error_t` becomes an [`IreeError`] at once.

mod compile;
mod error;
mod ffi;
mod invocation;
#[cfg(feature = "full")]
pub mod runtime;
mod session;
pub mod tools;

pub use compile::{CompileOptions, DataTiling, compile_module, compiler_tools_folder};
pub use error::IreeError;
pub use invocation::{Invocation, Output};
pub use session::{API_MAJOR_VERSION, HostContext, Session, api_version, revision};
