//! `rknn_matmul_api.h` functions: memory-only matmul contexts. A matmul
//! context lives in the same table as `rknn_init`'s contexts, so every
//! memory call (`rknn_create_mem*`, `rknn_destroy_mem`, `rknn_mem_sync`)
//! accepts it. No NPU computes here: `rknn_matmul_run` answers
//! `RKNN_ERR_DEVICE_UNAVAILABLE`. Quantisation, dynamic shapes and the B
//! layout converter are not exported.
#![allow(non_snake_case, clippy::missing_safety_doc)]

use super::rknn_api::*;
use super::rknn_api_fns::{rknn_destroy, rknn_set_core_mask};
use super::rknn_matmul_api::*;
use super::{log, state, Ctx};
use crate::ffi::guard;
use std::collections::HashMap;
use std::ffi::{c_char, c_int};
use std::sync::Mutex;

/// The A, B, C sizes of each live matmul context (handles are never
/// reused, so an entry left by `rknn_destroy` on a matmul context is inert:
/// every lookup also checks the context table).
static MATMULS: Mutex<Option<HashMap<rknn_matmul_ctx, [u32; 3]>>> = Mutex::new(None);

fn matmuls<R>(f: impl FnOnce(&mut HashMap<rknn_matmul_ctx, [u32; 3]>) -> R) -> R {
    let mut g = MATMULS.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// The sizes of a live matmul context.
fn sizes(ctx: rknn_matmul_ctx) -> Option<[u32; 3]> {
    let s = matmuls(|m| m.get(&ctx).copied())?;
    state().ctxs.contains_key(&ctx).then_some(s)
}

const F32: u32 = 0; // RKNN_TENSOR_FLOAT32
const F16: u32 = 1;
const I8: u32 = 2;
const I16: u32 = 4;
const I32: u32 = 6;
const I4: u32 = 10;
const BF16: u32 = 11;

/// (tensor type, bits per element) of A, B and C for a matmul type, as
/// its name says: `<A>_MM_<B>_TO_<C>`.
fn elements(t: rknn_matmul_type_t) -> Option<[(u32, u64); 3]> {
    let (f32_, f16, i8_, i16_, i32_, i4, bf16) = ((F32, 32), (F16, 16), (I8, 8), (I16, 16), (I32, 32), (I4, 4), (BF16, 16));
    Some(match t {
        1 => [f16, f16, f32_],
        2 => [i8_, i8_, i32_],
        3 => [i8_, i8_, i8_],
        4 => [f16, f16, f16],
        5 => [f16, i8_, f32_],
        6 => [f16, i8_, f16],
        7 => [f16, i4, f32_],
        8 => [f16, i4, f16],
        9 => [i8_, i8_, f32_],
        10 => [i4, i4, i16_],
        11 => [i8_, i4, i32_],
        12 => [f16, i4, bf16],
        _ => return None,
    })
}

fn tensor(name: u8, dims: [u32; 2], (ty, bits): (u32, u64)) -> Option<rknn_matmul_tensor_attr> {
    let bits_total = (dims[0] as u64).checked_mul(dims[1] as u64)?.checked_mul(bits)?;
    let size = u32::try_from(bits_total.div_ceil(8)).ok()?;
    let mut a = rknn_matmul_tensor_attr {
        name: [0; RKNN_MAX_NAME_LEN],
        n_dims: 2,
        dims: [0; RKNN_MAX_DIMS],
        size,
        r#type: ty,
    };
    a.name[0] = name as c_char;
    a.dims[..2].copy_from_slice(&dims);
    Some(a)
}

/// The attributes of A, B and C, or why `info` is refused.
fn io_attr(info: &rknn_matmul_info) -> Result<rknn_matmul_io_attr, String> {
    let (m, k, n) = (info.M, info.K, info.N);
    if m <= 0 || k <= 0 || n <= 0 {
        return Err(format!("M, K, N must be > 0 (got {m}, {k}, {n})"));
    }
    let el = elements(info.r#type).ok_or_else(|| format!("unknown matmul type {}", info.r#type))?;
    if !(0..=2).contains(&info.B_layout) {
        return Err(format!("unknown B_layout {}", info.B_layout));
    }
    if !(0..=1).contains(&info.AC_layout) {
        return Err(format!("unknown AC_layout {}", info.AC_layout));
    }
    if !(0..=5).contains(&info.B_quant_type) || info.AC_quant_type != 0 {
        return Err(format!("unsupported quant types B {} AC {}", info.B_quant_type, info.AC_quant_type));
    }
    let (m, k, n) = (m as u32, k as u32, n as u32);
    let b_dims = if info.B_layout == 2 { [n, k] } else { [k, n] };
    let too_big = || "tensor larger than 4 GiB".to_string();
    Ok(rknn_matmul_io_attr {
        A: tensor(b'A', [m, k], el[0]).ok_or_else(too_big)?,
        B: tensor(b'B', b_dims, el[1]).ok_or_else(too_big)?,
        C: tensor(b'C', [m, n], el[2]).ok_or_else(too_big)?,
    })
}

/// Create a memory-only matmul context and report the sizes of A (M x K),
/// B (K x N; N x K for `RKNN_MM_LAYOUT_TP_NORM`) and C (M x N), in bytes
/// as the element types of `info->type` need (int4: two per byte, rounded
/// up). Native layouts tile the same elements, so they report the same
/// byte count and the logical 2-D dims (the SDK reports tiled dims that
/// depend on the chip). `iommu_domain_id`, `group_size` and the B quant
/// type are accepted and not used.
#[no_mangle]
pub unsafe extern "C" fn rknn_matmul_create(
    ctx: *mut rknn_matmul_ctx,
    info: *mut rknn_matmul_info,
    io_attr: *mut rknn_matmul_io_attr,
) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if ctx.is_null() || io_attr.is_null() {
            return RKNN_ERR_PARAM_INVALID;
        }
        // SAFETY: caller passes NULL or a valid info.
        let Some(i) = (unsafe { info.as_ref() }) else {
            return RKNN_ERR_PARAM_INVALID;
        };
        let attrs = match self::io_attr(i) {
            Ok(a) => a,
            Err(e) => {
                log(&format!("rknn_matmul_create: {e}"));
                return RKNN_ERR_PARAM_INVALID;
            }
        };
        let c = super::next_ctx();
        let new = Ctx {
            flags: 0,
            model: Vec::new(),
            weight_size: 0,
            internal_size: 0,
            own: Vec::new(),
            bound: Default::default(),
        };
        matmuls(|m| m.insert(c, [attrs.A.size, attrs.B.size, attrs.C.size]));
        state().ctxs.insert(c, new);
        // SAFETY: both checked non-NULL; the caller owns them.
        unsafe {
            *io_attr = attrs;
            *ctx = c;
        }
        RKNN_SUCC
    })
}

/// Destroy a matmul context (as `rknn_destroy`; memory the caller created
/// stays until `rknn_destroy_mem`).
#[no_mangle]
pub unsafe extern "C" fn rknn_matmul_destroy(ctx: rknn_matmul_ctx) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if sizes(ctx).is_none() {
            return RKNN_ERR_CTX_INVALID;
        }
        matmuls(|m| m.remove(&ctx));
        // SAFETY: plain handle call.
        unsafe { rknn_destroy(ctx) }
    })
}

/// Bind memory as A, B or C (by `attr->name`, as `rknn_matmul_create`
/// filled it). It must hold the tensor's size.
#[no_mangle]
pub unsafe extern "C" fn rknn_matmul_set_io_mem(
    ctx: rknn_matmul_ctx,
    mem: *mut rknn_tensor_mem,
    attr: *mut rknn_matmul_tensor_attr,
) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let Some(sz) = sizes(ctx) else { return RKNN_ERR_CTX_INVALID };
        // SAFETY: caller passes NULL or a valid attr.
        let Some(a) = (unsafe { attr.as_ref() }) else {
            return RKNN_ERR_PARAM_INVALID;
        };
        let which = match (a.name[0] as u8, a.name[1]) {
            (b'A', 0) => 0,
            (b'B', 0) => 1,
            (b'C', 0) => 2,
            _ => {
                log("rknn_matmul_set_io_mem: attr is not A, B or C of rknn_matmul_create");
                return RKNN_ERR_PARAM_INVALID;
            }
        };
        let mut st = state();
        if mem.is_null() || !st.mems.contains_key(&(mem as usize)) {
            return RKNN_ERR_PARAM_INVALID;
        }
        // SAFETY: the struct is live (it is in the table).
        let len = unsafe { (*mem).size };
        let need = sz[which].max(a.size);
        if need > len {
            drop(st);
            log(&format!(
                "rknn_matmul_set_io_mem: {} needs {need} bytes, memory has {len}",
                a.name[0] as u8 as char
            ));
            return RKNN_ERR_PARAM_INVALID;
        }
        match st.ctxs.get_mut(&ctx) {
            Some(c) => {
                c.bound.insert((3, which as u32), mem as usize);
                RKNN_SUCC
            }
            None => RKNN_ERR_CTX_INVALID,
        }
    })
}

/// Validated as `rknn_set_core_mask` (no cores run here).
#[no_mangle]
pub unsafe extern "C" fn rknn_matmul_set_core_mask(context: rknn_matmul_ctx, core_mask: rknn_core_mask_t) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if sizes(context).is_none() {
            return RKNN_ERR_CTX_INVALID;
        }
        // SAFETY: plain value call.
        unsafe { rknn_set_core_mask(context, core_mask) }
    })
}

/// No NPU computes here: `RKNN_ERR_DEVICE_UNAVAILABLE` for a live matmul
/// context (there is no model, so `RKNN_ERR_MODEL_INVALID` would mislead).
#[no_mangle]
pub unsafe extern "C" fn rknn_matmul_run(ctx: rknn_matmul_ctx) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if sizes(ctx).is_none() {
            return RKNN_ERR_CTX_INVALID;
        }
        log("rknn_matmul_run: accelmem has no NPU to compute on");
        RKNN_ERR_DEVICE_UNAVAILABLE
    })
}
