//! ctest's generated checks (build.rs): every size, alignment, field offset,
//! field type size, constant value and type signedness of accelmem's Rust
//! ABI definitions must equal the C headers', and every exported function
//! must be declared there with the address Rust links to.
// improper_ctypes: CUDA's handle structs are opaque (not repr(C)); only
// pointers to them cross the boundary.
#![allow(bad_style, unused_imports, improper_ctypes, clippy::all)]

use accelmem::api::cuda::driver_types::*;
use accelmem::api::hisilicon::hi_comm_sys::*;
use accelmem::api::hisilicon::hi_comm_vb::*;
use accelmem::api::hisilicon::hi_common::*;
use accelmem::api::hisilicon::hi_defines::*;
use accelmem::api::hisilicon::hi_errno::*;
use accelmem::api::hisilicon::hi_type::*;
use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hb_sys::*;
use accelmem::api::rockchip::rknn_api::*;
use std::ffi::{c_char, c_float, c_int, c_uint, c_void};

include!("../ffi_decls.rs");

/// ctest compares only a function's address. This pins each CUDA declaration
/// above to accelmem's definition: an array of the two function items
/// compiles only if both coerce to one fn-pointer type, so any difference
/// in parameters or return type is a build error.
macro_rules! same_signature {
    ($($f:ident),* $(,)?) => {
        const _: () = { $( let _ = [$f, accelmem::api::cuda::cuda_runtime_api::$f]; )* };
    };
}
same_signature!(
    cudaMalloc,
    cudaFree,
    cudaMallocPitch,
    cudaMallocManaged,
    cudaMemGetInfo,
    cudaMallocHost,
    cudaHostAlloc,
    cudaFreeHost,
    cudaHostGetDevicePointer,
    cudaHostGetFlags,
    cudaHostRegister,
    cudaHostUnregister,
    cudaPointerGetAttributes,
    cudaMemcpy,
    cudaMemcpy2D,
    cudaMemset,
    cudaMemset2D,
    cudaMemcpyAsync,
    cudaMemcpy2DAsync,
    cudaMemsetAsync,
    cudaMemset2DAsync,
    cudaMallocAsync,
    cudaMallocFromPoolAsync,
    cudaFreeAsync,
    cudaDeviceGetDefaultMemPool,
    cudaDeviceGetMemPool,
    cudaMemPoolSetAttribute,
    cudaMemPoolGetAttribute,
    cudaMemPoolTrimTo,
    cudaGetDeviceCount,
    cudaSetDevice,
    cudaGetDevice,
    cudaGetDeviceProperties_v2,
    cudaGetDeviceProperties,
    cudaDeviceGetAttribute,
    cudaDeviceSynchronize,
    cudaDeviceReset,
    cudaRuntimeGetVersion,
    cudaDriverGetVersion,
    cudaStreamCreate,
    cudaStreamCreateWithFlags,
    cudaStreamDestroy,
    cudaStreamSynchronize,
    cudaStreamQuery,
    cudaEventCreate,
    cudaEventCreateWithFlags,
    cudaEventRecord,
    cudaEventSynchronize,
    cudaEventQuery,
    cudaEventElapsedTime,
    cudaEventElapsedTime_v2,
    cudaEventDestroy,
    cudaGetLastError,
    cudaPeekAtLastError,
    cudaGetErrorString,
    cudaGetErrorName,
    cudaMemcpy_ptds,
    cudaMemcpy2D_ptds,
    cudaMemset_ptds,
    cudaMemset2D_ptds,
    cudaMemcpyAsync_ptsz,
    cudaMemcpy2DAsync_ptsz,
    cudaMemsetAsync_ptsz,
    cudaMemset2DAsync_ptsz,
    cudaStreamQuery_ptsz,
    cudaStreamSynchronize_ptsz,
    cudaEventRecord_ptsz,
    cudaMallocAsync_ptsz,
    cudaFreeAsync_ptsz,
);
include!(concat!(env!("OUT_DIR"), "/all.rs"));
