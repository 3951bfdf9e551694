//! The IREE runtime, in process: a [`Session`] loads a `.vmfb` and its
//! parameter files once, keeps results such as a KV cache on the device as
//! [`BufferView`]s, and calls functions by name.
//!
//! The runtime is IREE 3.13.0's C library, built by `irex-runtime-sys` from
//! the sources the `eerie-sys` crate vendors, with the parameters module
//! (which `eerie-sys`'s own build leaves out) so that a module reads its
//! weights from `.irpa`, GGUF or safetensors files as `iree-run-module`
//! does. The device is IREE's `local-task` CPU device on a thread pool of
//! the size asked for, its allocator wrapped in IREE's caching allocator:
//! a decode step allocates the same transients every call, and a fresh
//! allocation for each was measured 2–5× slower (`runtime-findings.md`).
//!
//! Architecture Invariant: every `unsafe` call into the runtime is in this
//! room, each handle has one owner whose `Drop` releases it, and every
//! `iree_status_t` becomes an [`IreeError::Runtime`](super::IreeError) at
//! once, carrying IREE's own message.

mod buffer;
mod device;
mod handle;
mod session;
mod status;

pub use buffer::BufferView;
pub use session::{Session, SessionOptions};
