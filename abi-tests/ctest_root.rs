// ctest's input, never compiled by cargo: ctest expands it with
// `rustc -Zunpretty=expanded` and checks every public item it finds
// against the C headers. The module tree mirrors accelmem's so that the
// files' `super::` imports resolve; `#[path]` on the inline `api` module
// points its file modules at accelmem's src/api.

#[path = "../src/api"]
mod api {
    pub mod hisilicon {
        pub mod hi_comm_sys;
        pub mod hi_comm_vb;
        pub mod hi_common;
        pub mod hi_defines;
        pub mod hi_errno;
        pub mod hi_type;
    }
    pub mod horizon {
        pub mod hb_mem_err;
        pub mod hb_mem_mgr;
        pub mod hb_sys;
    }
    pub mod cuda {
        pub mod driver_types;
    }
    pub mod rockchip {
        pub mod rknn_api;
    }
}

pub use api::cuda::driver_types::*;
pub use api::rockchip::rknn_api::*;
pub use api::hisilicon::hi_comm_sys::*;
pub use api::hisilicon::hi_comm_vb::*;
pub use api::hisilicon::hi_common::*;
pub use api::hisilicon::hi_defines::*;
pub use api::hisilicon::hi_errno::*;
pub use api::hisilicon::hi_type::*;
pub use api::horizon::hb_mem_err::*;
pub use api::horizon::hb_mem_mgr::*;
pub use api::horizon::hb_sys::*;
use std::ffi::{c_char, c_float, c_int, c_uint, c_void};

include!("ffi_decls.rs");
