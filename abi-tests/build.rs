//! Generates ctest's checks of accelmem's Rust ABI definitions against the
//! generated C headers in ../include.

const HEADERS: [&str; 14] = [
    "hi_type.h",
    "hi_errno.h",
    "hi_common.h",
    "hi_defines.h",
    "hi_comm_sys.h",
    "hi_comm_vb.h",
    "mpi_sys.h",
    "mpi_vb.h",
    "dnn/hb_sys.h",
    "hb_mem_err.h",
    "hb_mem_mgr.h",
    "rknn_api.h",
    "driver_types.h",
    "cuda_runtime_api.h",
];

/// CUDA's opaque handle structs: C only ever sees pointers to them.
const OPAQUE: [&str; 3] = ["CUstream_st", "CUevent_st", "CUmemPoolHandle_st"];
/// CUDA structs C names by tag only (`struct X`, no typedef `X`).
const TAG_ONLY: [&str; 4] = ["CUstream_st", "CUevent_st", "CUmemPoolHandle_st", "CUuuid_st"];

/// Rust integer aliases that the headers spell as enums.
const ENUM_ALIASES: &[(&str, &str)] = &[
    ("cudaMemoryType_t", "enum cudaMemoryType"),
    ("cudaMemLocationType_t", "enum cudaMemLocationType"),
    ("cudaMemAllocationType_t", "enum cudaMemAllocationType"),
    ("cudaMemAllocationHandleType_t", "enum cudaMemAllocationHandleType"),
    ("rknn_tensor_format_t", "rknn_tensor_format"),
    ("rknn_tensor_type_t", "rknn_tensor_type"),
    ("rknn_tensor_qnt_type_t", "rknn_tensor_qnt_type"),
    ("rknn_query_cmd_t", "rknn_query_cmd"),
    ("rknn_mem_sync_mode_t", "rknn_mem_sync_mode"),
    ("rknn_core_mask_t", "rknn_core_mask"),
];

fn main() {
    let mut cfg = ctest::TestGenerator::new();
    for h in HEADERS {
        cfg.header(h);
    }
    cfg.include("../include")
        .skip_private(true)
        // The vendor headers typedef anonymous structs (`X`, never `struct X`);
        // CUDA's are tagged, some with no typedef of the tag's name.
        .rename_struct_ty(|ty| {
            Some(if TAG_ONLY.contains(&ty) {
                format!("struct {ty}")
            } else {
                ty.to_string()
            })
        })
        .skip_struct(|s| OPAQUE.contains(&s.ident()))
        // Rust keeps enum-typed struct fields as integers (C may store any
        // value); the header spells the enum.
        .rename_type(|ty| ENUM_ALIASES.iter().find(|(rust, _)| *rust == ty).map(|(_, c)| c.to_string()))
        // `cudaGetDeviceProperties` is `#define`d to `cudaGetDeviceProperties_v2`
        // (as in CUDA 12.x), so C's address of it is the `_v2` symbol's. The
        // #define is checked by tests/cuda_abi.rs, the export by
        // tests/abi_facts.rs, the signature by tests/abi.rs.
        .skip_fn(|f| f.ident() == "cudaGetDeviceProperties")
        // Rust-side only: C code gets `cuuint64_t` from NVIDIA's cuda.h.
        // `hb_mem_buffer_type_raw` is the integer Rust writes for the C enum
        // `hb_mem_buffer_type_t`.
        .skip_alias(|a| {
            a.ident() == "cuuint64_t" || a.ident() == "hb_mem_buffer_type_raw" || ENUM_ALIASES.iter().any(|(r, _)| *r == a.ident())
        })
        // A string macro; ctest cannot compare `&str` with a C string literal.
        // tests/c/abi_facts.c checks it.
        .skip_const(|c| c.ident() == "RESERVE_MMZ_NAME");
    ctest::generate_test(&mut cfg, "ctest_root.rs", "all.rs").expect("ctest generation");

    for p in ["build.rs", "ctest_root.rs", "ffi_decls.rs", "../src/api", "../include"] {
        println!("cargo:rerun-if-changed={p}");
    }
}
