//! `dnn/hb_sys.h` types: BPU memory (X3/X5 libdnn ABI: `hbSysMem` is 24
//! bytes, sizes are `uint32_t`). The functions are in `hb_sys_api.rs`; the
//! header is generated from both.
#![allow(non_camel_case_types, non_snake_case)]

use std::ffi::{c_uint, c_void};

pub type hbBPUCore = c_uint;
pub const HB_BPU_CORE_ANY: hbBPUCore = 0;
pub const HB_BPU_CORE_0: hbBPUCore = 1;
pub const HB_BPU_CORE_1: hbBPUCore = 2;

pub type hbDSPCore = c_uint;
pub const HB_DSP_CORE_ANY: hbDSPCore = 0;
pub const HB_DSP_CORE_0: hbDSPCore = 1;
pub const HB_DSP_CORE_1: hbDSPCore = 2;

/// A BPU memory block.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hbSysMem {
    pub phyAddr: u64,
    pub virAddr: *mut c_void,
    pub memSize: u32,
}

pub type hbSysMemFlushFlag = c_uint;
/// Device writes become visible to the CPU: use before a CPU read.
pub const HB_SYS_MEM_CACHE_INVALIDATE: hbSysMemFlushFlag = 1;
/// CPU writes reach memory: use after a CPU write.
pub const HB_SYS_MEM_CACHE_CLEAN: hbSysMemFlushFlag = 2;

pub type hbSysStatus = i32;
pub const HB_SYS_SUCCESS: hbSysStatus = 0;
pub const HB_SYS_INVALID_ARGUMENT: hbSysStatus = -6000129;
pub const HB_SYS_OUT_OF_MEMORY: hbSysStatus = -6000130;
pub const HB_SYS_REGISTER_MEM_FAILED: hbSysStatus = -6000131;
