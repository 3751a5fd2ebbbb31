//! `rknn_matmul_api.h` types (RKNPU2 SDK 2.3.x, 64-bit targets): matmul
//! contexts and the attributes of their A, B and C tensors. The functions
//! are in `rknn_matmul_fns.rs`; the header is generated from both.
//!
//! Facts relied on, read from `airockchip/rknn_model_zoo :
//! 3rdparty/rknpu2/include/rknn_matmul_api.h` @ c918ec6 (the newest stored
//! copy of the SDK header; @ 333f951 is the same but lacks type 12). The
//! rknn-toolkit2 copy (`rknpu2/runtime/Linux/librknn_api/include/`) is not
//! in the stored index. The 2.1.0 changes (TP_NORM for B, quant types,
//! `_create_dyn_shape` replaced) are from the revision table of the RKNN C
//! API reference (text of the V2.3.x PDF, as stored by the search index).
//! - The header includes `rknn_api.h`; guard `_RKNN_MATMUL_API_H`;
//!   `rknn_matmul_ctx` is a typedef of `rknn_context`.
//! - `rknn_matmul_type` (tag `_rknn_matmul_type`): FLOAT16_MM_FLOAT16_TO_FLOAT32
//!   1, INT8_MM_INT8_TO_INT32 2, INT8_MM_INT8_TO_INT8 3,
//!   FLOAT16_MM_FLOAT16_TO_FLOAT16 4, FLOAT16_MM_INT8_TO_FLOAT32 5,
//!   FLOAT16_MM_INT8_TO_FLOAT16 6, FLOAT16_MM_INT4_TO_FLOAT32 7,
//!   FLOAT16_MM_INT4_TO_FLOAT16 8, INT8_MM_INT8_TO_FLOAT32 9,
//!   INT4_MM_INT4_TO_INT16 10, INT8_MM_INT4_TO_INT32 11,
//!   FLOAT16_MM_INT4_TO_BFLOAT16 12 (all `RKNN_`-prefixed). Third-party
//!   copies also list 15 (INT8_MM_INT4_TO_FLOAT16); the SDK header does not.
//! - `rknn_matmul_quant_type` (tag `_rknn_matmul_quant_type`):
//!   RKNN_QUANT_TYPE_PER_{LAYER,CHANNEL,GROUP}_{SYM,ASYM} = 0..5.
//! - `rknn_matmul_layout` (anonymous enum): RKNN_MM_LAYOUT_NORM 0, _NATIVE 1,
//!   _TP_NORM 2 (B only, per the reference: B stored transposed, N x K).
//! - `struct _rknn_quant_params`: char name[RKNN_MAX_NAME_LEN]; float*
//!   scale; int32_t scale_len; int32_t* zp; int32_t zp_len.
//! - `struct _rknn_matmul_tensor_attr`: char name[RKNN_MAX_NAME_LEN];
//!   uint32_t n_dims; uint32_t dims[RKNN_MAX_DIMS]; uint32_t size;
//!   rknn_tensor_type type (332 bytes).
//! - `struct _rknn_matmul_io_attr`: A, B, C (996 bytes).
//! - `struct _rknn_matmul_shape`: int32_t M, K, N.
//! - `struct rknn_matmul_info_t`: int32_t M, K, N; rknn_matmul_type type;
//!   int16_t B_layout, B_quant_type, AC_layout, AC_quant_type; int32_t
//!   iommu_domain_id; int16_t group_size; int8_t reserved[34] (64 bytes).
//!   "AC_quant_type: only support 0"; K and N alignment rules per chip;
//!   "K max: k <= 10240".
//! - Prototypes (all return int): rknn_matmul_create(rknn_matmul_ctx*,
//!   rknn_matmul_info*, rknn_matmul_io_attr*);
//!   rknn_matmul_create_dynamic_shape(rknn_matmul_ctx*, rknn_matmul_info*,
//!   int, rknn_matmul_shape[], rknn_matmul_io_attr[]);
//!   rknn_matmul_set_io_mem(rknn_matmul_ctx, rknn_tensor_mem*,
//!   rknn_matmul_tensor_attr*); rknn_matmul_set_core_mask(rknn_matmul_ctx,
//!   rknn_core_mask); rknn_matmul_set_quant_params(rknn_matmul_ctx,
//!   rknn_quant_params*); rknn_matmul_get_quant_params(rknn_matmul_ctx,
//!   rknn_quant_params*, float*); rknn_matmul_set_dynamic_shape(
//!   rknn_matmul_ctx, rknn_matmul_shape*); rknn_matmul_run(rknn_matmul_ctx);
//!   rknn_matmul_destroy(rknn_matmul_ctx);
//!   rknn_B_normal_layout_to_native_layout(void*, void*, int, int,
//!   rknn_matmul_info*). `rknn_matmul_create_dyn_shape` was dropped in 2.1.0
//!   (replaced by `_create_dynamic_shape`) and is not in the 2.3 header.
#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]

use super::rknn_api::{rknn_context, rknn_tensor_type_t, RKNN_MAX_DIMS, RKNN_MAX_NAME_LEN};
use std::ffi::{c_char, c_float};

/// A matmul context: a context handle of the same table as `rknn_init`'s.
pub type rknn_matmul_ctx = rknn_context;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_matmul_quant_type {
    RKNN_QUANT_TYPE_PER_LAYER_SYM = 0,
    RKNN_QUANT_TYPE_PER_LAYER_ASYM = 1,
    RKNN_QUANT_TYPE_PER_CHANNEL_SYM = 2,
    RKNN_QUANT_TYPE_PER_CHANNEL_ASYM = 3,
    RKNN_QUANT_TYPE_PER_GROUP_SYM = 4,
    RKNN_QUANT_TYPE_PER_GROUP_ASYM = 5,
}

/// Quantisation parameters of a matmul tensor (288 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_quant_params {
    pub name: [c_char; RKNN_MAX_NAME_LEN],
    pub scale: *mut c_float,
    pub scale_len: i32,
    pub zp: *mut i32,
    pub zp_len: i32,
}

/// Element types of A, B and C: `<A>_MM_<B>_TO_<C>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_matmul_type {
    RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 = 1,
    RKNN_INT8_MM_INT8_TO_INT32 = 2,
    RKNN_INT8_MM_INT8_TO_INT8 = 3,
    RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16 = 4,
    RKNN_FLOAT16_MM_INT8_TO_FLOAT32 = 5,
    RKNN_FLOAT16_MM_INT8_TO_FLOAT16 = 6,
    RKNN_FLOAT16_MM_INT4_TO_FLOAT32 = 7,
    RKNN_FLOAT16_MM_INT4_TO_FLOAT16 = 8,
    RKNN_INT8_MM_INT8_TO_FLOAT32 = 9,
    RKNN_INT4_MM_INT4_TO_INT16 = 10,
    RKNN_INT8_MM_INT4_TO_INT32 = 11,
    RKNN_FLOAT16_MM_INT4_TO_BFLOAT16 = 12,
}

/// `rknn_matmul_type` as stored by C (any value may arrive); the header
/// spells it as the enum.
pub type rknn_matmul_type_t = u32;

/// One of A (M x K), B (K x N) or C (M x N) (332 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_matmul_tensor_attr {
    pub name: [c_char; RKNN_MAX_NAME_LEN],
    pub n_dims: u32,
    pub dims: [u32; RKNN_MAX_DIMS],
    /// Bytes the tensor's memory must hold.
    pub size: u32,
    pub r#type: rknn_tensor_type_t,
}

/// What `rknn_matmul_create` reports (996 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_matmul_io_attr {
    pub A: rknn_matmul_tensor_attr,
    pub B: rknn_matmul_tensor_attr,
    pub C: rknn_matmul_tensor_attr,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rknn_matmul_shape {
    pub M: i32,
    pub K: i32,
    pub N: i32,
}

/// Memory layouts: row-major, the NPU's native tiling, or (B only)
/// transposed row-major.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rknn_matmul_layout {
    RKNN_MM_LAYOUT_NORM = 0,
    RKNN_MM_LAYOUT_NATIVE = 1,
    RKNN_MM_LAYOUT_TP_NORM = 2,
}

/// A matmul's shape, types and layouts (64 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct rknn_matmul_info {
    pub M: i32,
    pub K: i32,
    pub N: i32,
    pub r#type: rknn_matmul_type_t,
    pub B_layout: i16,
    pub B_quant_type: i16,
    pub AC_layout: i16,
    pub AC_quant_type: i16,
    pub iommu_domain_id: i32,
    pub group_size: i16,
    pub reserved: [i8; 34],
}
