//! ctest's generated checks (build.rs): every size, alignment, field offset,
//! field type size, constant value and type signedness of accelmem's Rust
//! ABI definitions must equal the C headers', and every exported function
//! must be declared there with the address Rust links to.
#![allow(bad_style, unused_imports, clippy::all)]

use accelmem::api::hisilicon::hi_comm_sys::*;
use accelmem::api::hisilicon::hi_comm_vb::*;
use accelmem::api::hisilicon::hi_common::*;
use accelmem::api::hisilicon::hi_defines::*;
use accelmem::api::hisilicon::hi_errno::*;
use accelmem::api::hisilicon::hi_type::*;
use accelmem::api::horizon::hb_sys::*;
use std::ffi::{c_char, c_void};

include!("../ffi_decls.rs");
include!(concat!(env!("OUT_DIR"), "/all.rs"));
