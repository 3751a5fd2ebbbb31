//! accelmem: one allocator engine behind the C memory APIs of several
//! accelerator stacks.
//!
//! - [`engine`]: devices, zones, buffers, mappings, pools, shared state.
//! - [`backend`]: where buffer bytes come from (emulated shared memory, ...).
//! - [`api`]: one thin C front per vendor API, exported with C linkage.

pub mod api;
pub mod backend;
pub mod engine;
pub mod error;
pub(crate) mod ffi;

pub use error::{Error, Result};
