//! `rknn_api.h` types (RKNPU2 SDK 2.3.x, 64-bit targets): contexts, tensor
//! memory, queries, flags and error codes. The functions are in
//! `rknn_api_fns.rs`; the header is generated from both.
#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]

use std::ffi::{c_char, c_float, c_void};

/// A context handle (`uint64_t` on 64-bit targets).
pub type rknn_context = u64;

pub const RKNN_SUCC: i32 = 0;
pub const RKNN_ERR_FAIL: i32 = -1;
pub const RKNN_ERR_TIMEOUT: i32 = -2;
pub const RKNN_ERR_DEVICE_UNAVAILABLE: i32 = -3;
pub const RKNN_ERR_MALLOC_FAIL: i32 = -4;
pub const RKNN_ERR_PARAM_INVALID: i32 = -5;
pub const RKNN_ERR_MODEL_INVALID: i32 = -6;
pub const RKNN_ERR_CTX_INVALID: i32 = -7;
pub const RKNN_ERR_INPUT_INVALID: i32 = -8;
pub const RKNN_ERR_OUTPUT_INVALID: i32 = -9;
pub const RKNN_ERR_DEVICE_UNMATCH: i32 = -10;
pub const RKNN_ERR_INCOMPATILE_PRE_COMPILE_MODEL: i32 = -11;
pub const RKNN_ERR_INCOMPATILE_OPTIMIZATION_LEVEL_VERSION: i32 = -12;
pub const RKNN_ERR_TARGET_PLATFORM_UNMATCH: i32 = -13;

pub const RKNN_MAX_DIMS: usize = 16;
pub const RKNN_MAX_NUM_CHANNEL: usize = 15;
pub const RKNN_MAX_NAME_LEN: usize = 256;
pub const RKNN_MAX_DYNAMIC_SHAPE_NUM: usize = 512;

pub const RKNN_FLAG_PRIOR_HIGH: u32 = 0x0000_0000;
pub const RKNN_FLAG_PRIOR_MEDIUM: u32 = 0x0000_0001;
pub const RKNN_FLAG_PRIOR_LOW: u32 = 0x0000_0002;
pub const RKNN_FLAG_ASYNC_MASK: u32 = 0x0000_0004;
pub const RKNN_FLAG_COLLECT_PERF_MASK: u32 = 0x0000_0008;
pub const RKNN_FLAG_MEM_ALLOC_OUTSIDE: u32 = 0x0000_0010;
pub const RKNN_FLAG_SHARE_WEIGHT_MEM: u32 = 0x0000_0020;
pub const RKNN_FLAG_FENCE_IN_OUTSIDE: u32 = 0x0000_0040;
pub const RKNN_FLAG_FENCE_OUT_OUTSIDE: u32 = 0x0000_0080;
pub const RKNN_FLAG_COLLECT_MODEL_INFO_ONLY: u32 = 0x0000_0100;
pub const RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE: u32 = 0x0000_0200;
pub const RKNN_FLAG_EXECUTE_FALLBACK_PRIOR_DEVICE_GPU: u32 = 0x0000_0400;
pub const RKNN_FLAG_ENABLE_SRAM: u32 = 0x0000_0800;
pub const RKNN_FLAG_SHARE_SRAM: u32 = 0x0000_1000;
pub const RKNN_FLAG_DISABLE_PROC_HIGH_PRIORITY: u32 = 0x0000_2000;
pub const RKNN_FLAG_DISABLE_FLUSH_INPUT_MEM_CACHE: u32 = 0x0000_4000;
pub const RKNN_FLAG_DISABLE_FLUSH_OUTPUT_MEM_CACHE: u32 = 0x0000_8000;
pub const RKNN_FLAG_MODEL_BUFFER_ZERO_COPY: u32 = 0x0001_0000;
pub const RKNN_MEM_FLAG_ALLOC_NO_CONTEXT: u32 = 0x0002_0000;

/// Who owns a tensor memory's buffer (values, not bits).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_tensor_mem_flags {
    RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE = 1,
    RKNN_TENSOR_MEMORY_FLAGS_FROM_FD = 2,
    RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS = 3,
    RKNN_TENSOR_MEMORY_FLAGS_UNKNOWN = 4,
}

/// `rknn_create_mem2` allocation flags (bits).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_mem_alloc_flags {
    RKNN_FLAG_MEMORY_FLAGS_DEFAULT = 0,
    RKNN_FLAG_MEMORY_CACHEABLE = 1,
    RKNN_FLAG_MEMORY_NON_CACHEABLE = 2,
    RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM = 4,
}

/// `rknn_mem_sync` directions.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_mem_sync_mode {
    RKNN_MEMORY_SYNC_TO_DEVICE = 1,
    RKNN_MEMORY_SYNC_FROM_DEVICE = 2,
    RKNN_MEMORY_SYNC_BIDIRECTIONAL = 3,
}

/// `rknn_query` commands.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_query_cmd {
    RKNN_QUERY_IN_OUT_NUM = 0,
    RKNN_QUERY_INPUT_ATTR = 1,
    RKNN_QUERY_OUTPUT_ATTR = 2,
    RKNN_QUERY_PERF_DETAIL = 3,
    RKNN_QUERY_PERF_RUN = 4,
    RKNN_QUERY_SDK_VERSION = 5,
    RKNN_QUERY_MEM_SIZE = 6,
    RKNN_QUERY_CUSTOM_STRING = 7,
    RKNN_QUERY_NATIVE_INPUT_ATTR = 8,
    RKNN_QUERY_NATIVE_OUTPUT_ATTR = 9,
    RKNN_QUERY_NATIVE_NHWC_INPUT_ATTR = 10,
    RKNN_QUERY_NATIVE_NHWC_OUTPUT_ATTR = 11,
    RKNN_QUERY_DEVICE_MEM_INFO = 12,
    RKNN_QUERY_INPUT_DYNAMIC_RANGE = 13,
    RKNN_QUERY_CURRENT_INPUT_ATTR = 14,
    RKNN_QUERY_CURRENT_OUTPUT_ATTR = 15,
    RKNN_QUERY_CURRENT_NATIVE_INPUT_ATTR = 16,
    RKNN_QUERY_CURRENT_NATIVE_OUTPUT_ATTR = 17,
    RKNN_QUERY_CMD_MAX = 18,
}
pub const RKNN_QUERY_NATIVE_NC1HWC2_INPUT_ATTR: u32 = 8;
pub const RKNN_QUERY_NATIVE_NC1HWC2_OUTPUT_ATTR: u32 = 9;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_tensor_format {
    RKNN_TENSOR_NCHW = 0,
    RKNN_TENSOR_NHWC = 1,
    RKNN_TENSOR_NC1HWC2 = 2,
    RKNN_TENSOR_UNDEFINED = 3,
    RKNN_TENSOR_FORMAT_MAX = 4,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_tensor_type {
    RKNN_TENSOR_FLOAT32 = 0,
    RKNN_TENSOR_FLOAT16 = 1,
    RKNN_TENSOR_INT8 = 2,
    RKNN_TENSOR_UINT8 = 3,
    RKNN_TENSOR_INT16 = 4,
    RKNN_TENSOR_UINT16 = 5,
    RKNN_TENSOR_INT32 = 6,
    RKNN_TENSOR_UINT32 = 7,
    RKNN_TENSOR_INT64 = 8,
    RKNN_TENSOR_BOOL = 9,
    RKNN_TENSOR_INT4 = 10,
    RKNN_TENSOR_BFLOAT16 = 11,
    RKNN_TENSOR_TYPE_MAX = 12,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_tensor_qnt_type {
    RKNN_TENSOR_QNT_NONE = 0,
    RKNN_TENSOR_QNT_DFP = 1,
    RKNN_TENSOR_QNT_AFFINE_ASYMMETRIC = 2,
    RKNN_TENSOR_QNT_MAX = 3,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_core_mask {
    RKNN_NPU_CORE_AUTO = 0,
    RKNN_NPU_CORE_0 = 1,
    RKNN_NPU_CORE_1 = 2,
    RKNN_NPU_CORE_2 = 4,
    RKNN_NPU_CORE_0_1 = 3,
    RKNN_NPU_CORE_0_1_2 = 7,
    RKNN_NPU_CORE_ALL = 0xffff,
    RKNN_NPU_CORE_UNDEFINED = 0x10000,
}

/// A tensor buffer: CPU address, NPU address, dma-buf fd.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_tensor_mem {
    pub virt_addr: *mut c_void,
    pub phys_addr: u64,
    pub fd: i32,
    pub offset: i32,
    pub size: u32,
    pub flags: u32,
    pub priv_data: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rknn_input_output_num {
    pub n_input: u32,
    pub n_output: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_sdk_version {
    pub api_version: [c_char; 256],
    pub drv_version: [c_char; 256],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rknn_mem_size {
    pub total_weight_size: u32,
    pub total_internal_size: u32,
    pub total_dma_allocated_size: u64,
    pub total_sram_size: u32,
    pub free_sram_size: u32,
    pub reserved: [u32; 10],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_custom_string {
    pub string: [c_char; 1024],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_perf_detail {
    pub perf_data: *mut c_char,
    pub data_len: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rknn_perf_run {
    pub run_duration: i64,
}

/// `rknn_tensor_format` as stored by C (any value may arrive); the header
/// spells it as the enum.
pub type rknn_tensor_format_t = u32;
/// `rknn_tensor_type` as stored by C.
pub type rknn_tensor_type_t = u32;
/// `rknn_tensor_qnt_type` as stored by C.
pub type rknn_tensor_qnt_type_t = u32;
/// `rknn_query_cmd` as passed by C.
pub type rknn_query_cmd_t = u32;
/// `rknn_mem_sync_mode` as passed by C.
pub type rknn_mem_sync_mode_t = u32;
/// `rknn_core_mask` as passed by C.
pub type rknn_core_mask_t = u32;

/// A tensor's attributes (376 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_tensor_attr {
    pub index: u32,
    pub n_dims: u32,
    pub dims: [u32; RKNN_MAX_DIMS],
    pub name: [c_char; RKNN_MAX_NAME_LEN],
    pub n_elems: u32,
    pub size: u32,
    pub fmt: rknn_tensor_format_t,
    pub r#type: rknn_tensor_type_t,
    pub qnt_type: rknn_tensor_qnt_type_t,
    pub fl: i8,
    pub zp: i32,
    pub scale: c_float,
    pub w_stride: u32,
    pub size_with_stride: u32,
    pub pass_through: u8,
    pub h_stride: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_input {
    pub index: u32,
    pub buf: *mut c_void,
    pub size: u32,
    pub pass_through: u8,
    pub r#type: rknn_tensor_type_t,
    pub fmt: rknn_tensor_format_t,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_output {
    pub want_float: u8,
    pub is_prealloc: u8,
    pub index: u32,
    pub buf: *mut c_void,
    pub size: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_init_extend {
    pub ctx: rknn_context,
    pub real_model_offset: i32,
    pub real_model_size: u32,
    pub model_buffer_fd: i32,
    pub model_buffer_flags: u32,
    pub reserved: [u8; 112],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rknn_run_extend {
    pub frame_id: u64,
    pub non_block: i32,
    pub timeout_ms: i32,
    pub fence_fd: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct rknn_output_extend {
    pub frame_id: u64,
}

/// Dynamic input shapes (`RKNN_QUERY_INPUT_DYNAMIC_RANGE`).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_input_range {
    pub index: u32,
    pub shape_number: u32,
    pub fmt: rknn_tensor_format_t,
    pub name: [c_char; RKNN_MAX_NAME_LEN],
    pub dyn_range: [[u32; RKNN_MAX_DIMS]; RKNN_MAX_DYNAMIC_SHAPE_NUM],
    pub n_dims: u32,
}
