//! The RKNPU2 ABI facts of the reference (tests/c/rknn_abi_facts.c: struct
//! sizes and every field offset and type, enum, flag, error and limit
//! values, §1.9's prototypes redeclared over ours) hold for include/rknn_api.h
//! compiled as C11 and as C++11; the Rust types the exports take have the same
//! layout; and libaccelmem.so exports the SDK's calls as plain symbols.

use accelmem::api::rockchip::rknn_api::*;
use std::collections::BTreeMap;
use std::mem::{offset_of, size_of};
use std::process::Command;

mod common;

/// tests/c/rknn_abi_facts.c as C11 (`cxx` false) or C++11 with `defines`.
fn facts_hold(cxx: bool, defines: &[&str], exe_name: &str) {
    common::facts::facts_hold("rknn_abi_facts.c", cxx, defines, &[], exe_name);
}

#[test]
fn rknn_facts_hold_in_c11() {
    facts_hold(false, &[], "facts_c");
}

#[test]
fn rknn_facts_hold_in_cxx11() {
    facts_hold(true, &[], "facts_cxx");
}

/// What the SDK's own rknn_api.h (V2.3.2) has beyond the reference's
/// tables and real clients use: the struct/enum tags (`struct
/// _rknn_tensor_memory`), the inline helpers `get_type_string`,
/// `get_qnt_type_string`, `get_format_string` (the model zoo's
/// `dump_tensor_attr`), `rknn_input_range`, and the NC1HWC2 query aliases as
/// `rknn_query_cmd` enumerators (C++ cannot pass an `int` macro to
/// `rknn_query`).
#[test]

fn sdk_header_extras_in_c11_and_cxx11() {
    facts_hold(false, &["RKNN_ABI_SDK_EXTRAS"], "facts_extras_c");
    facts_hold(true, &["RKNN_ABI_SDK_EXTRAS"], "facts_extras_cxx");
}

/// The Rust definitions the exports take match the same facts (the C
/// header is generated from them, but a `#[repr(C)]` slip shows here first).
#[test]
fn rust_types_have_the_reference_layout() {
    assert_eq!(size_of::<rknn_context>(), 8);
    assert_eq!(size_of::<rknn_tensor_mem>(), 40);
    let mem = [
        offset_of!(rknn_tensor_mem, virt_addr),
        offset_of!(rknn_tensor_mem, phys_addr),
        offset_of!(rknn_tensor_mem, fd),
        offset_of!(rknn_tensor_mem, offset),
        offset_of!(rknn_tensor_mem, size),
        offset_of!(rknn_tensor_mem, flags),
        offset_of!(rknn_tensor_mem, priv_data),
    ];
    assert_eq!(mem, [0, 8, 16, 20, 24, 28, 32]);
    assert_eq!(size_of::<rknn_mem_size>(), 64);
    let ms = [
        offset_of!(rknn_mem_size, total_weight_size),
        offset_of!(rknn_mem_size, total_internal_size),
        offset_of!(rknn_mem_size, total_dma_allocated_size),
        offset_of!(rknn_mem_size, total_sram_size),
        offset_of!(rknn_mem_size, free_sram_size),
        offset_of!(rknn_mem_size, reserved),
    ];
    assert_eq!(ms, [0, 4, 8, 16, 20, 24]);
    assert_eq!(size_of::<rknn_tensor_attr>(), 376);
    let attr = [
        offset_of!(rknn_tensor_attr, index),
        offset_of!(rknn_tensor_attr, n_dims),
        offset_of!(rknn_tensor_attr, dims),
        offset_of!(rknn_tensor_attr, name),
        offset_of!(rknn_tensor_attr, n_elems),
        offset_of!(rknn_tensor_attr, size),
        offset_of!(rknn_tensor_attr, fmt),
        offset_of!(rknn_tensor_attr, r#type),
        offset_of!(rknn_tensor_attr, qnt_type),
        offset_of!(rknn_tensor_attr, fl),
        offset_of!(rknn_tensor_attr, zp),
        offset_of!(rknn_tensor_attr, scale),
        offset_of!(rknn_tensor_attr, w_stride),
        offset_of!(rknn_tensor_attr, size_with_stride),
        offset_of!(rknn_tensor_attr, pass_through),
        offset_of!(rknn_tensor_attr, h_stride),
    ];
    assert_eq!(attr, [0, 4, 8, 72, 328, 332, 336, 340, 344, 348, 352, 356, 360, 364, 368, 372]);
    // rknn_input / rknn_output offsets: the SDK header (see the C file).
    assert_eq!(size_of::<rknn_input>(), 32);
    let input = [
        offset_of!(rknn_input, index),
        offset_of!(rknn_input, buf),
        offset_of!(rknn_input, size),
        offset_of!(rknn_input, pass_through),
        offset_of!(rknn_input, r#type),
        offset_of!(rknn_input, fmt),
    ];
    assert_eq!(input, [0, 8, 16, 20, 24, 28]);
    assert_eq!(size_of::<rknn_output>(), 24);
    let output = [
        offset_of!(rknn_output, want_float),
        offset_of!(rknn_output, is_prealloc),
        offset_of!(rknn_output, index),
        offset_of!(rknn_output, buf),
        offset_of!(rknn_output, size),
    ];
    assert_eq!(output, [0, 1, 4, 8, 16]);
    assert_eq!(size_of::<rknn_init_extend>(), 136);
    assert_eq!(offset_of!(rknn_init_extend, reserved), 24);
    assert_eq!(size_of::<rknn_run_extend>(), 24);
    assert_eq!(offset_of!(rknn_run_extend, fence_fd), 16);
    assert_eq!(size_of::<rknn_output_extend>(), 8);
    assert_eq!(size_of::<rknn_input_output_num>(), 8);
    assert_eq!(size_of::<rknn_sdk_version>(), 512);
    assert_eq!(size_of::<rknn_custom_string>(), 1024);
    assert_eq!(size_of::<rknn_perf_detail>(), 16);
    assert_eq!(size_of::<rknn_perf_run>(), 8);
}

/// `rknn_*` functions the library defines, with their symbol version
/// (empty when unversioned).
fn exported_rknn() -> BTreeMap<String, String> {
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(common::lib_dir().join("libaccelmem.so"))
        .output()
        .expect("run nm");
    assert!(out.status.success(), "nm failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 3 || f[1] != "T" || !f[2].starts_with("rknn_") {
                return None;
            }
            let (name, ver) = f[2].split_once('@').unwrap_or((f[2], ""));
            Some((name.to_string(), ver.trim_start_matches('@').to_string()))
        })
        .collect()
}

/// §1.10: what librknnmrt 2.3.2 exports, plus `rknn_set_core_mask` and
/// `rknn_set_batch_core_num` of librknnrt (RK3588); matmul is a separate
/// header. `rknn_dup_context` is checked on its own below.
const SDK_CALLS: &[&str] = &[
    "rknn_create_mem",
    "rknn_create_mem2",
    "rknn_create_mem_from_fd",
    "rknn_create_mem_from_phys",
    "rknn_destroy",
    "rknn_destroy_mem",
    "rknn_init",
    "rknn_inputs_set",
    "rknn_mem_sync",
    "rknn_outputs_get",
    "rknn_outputs_release",
    "rknn_query",
    "rknn_run",
    "rknn_set_batch_core_num",
    "rknn_set_core_mask",
    "rknn_set_input_shape",
    "rknn_set_input_shapes",
    "rknn_set_internal_mem",
    "rknn_set_io_mem",
    "rknn_set_weight_mem",
    "rknn_wait",
];

#[test]
fn library_exports_the_sdk_calls_unversioned() {
    let got = exported_rknn();
    let missing: Vec<&&str> = SDK_CALLS.iter().filter(|n| !got.contains_key(**n)).collect();
    assert!(missing.is_empty(), "libaccelmem.so lacks {missing:?}; it exports {got:?}");
    let versioned: Vec<_> = got.iter().filter(|(_, v)| !v.is_empty()).collect();
    assert!(versioned.is_empty(), "the SDK's symbols carry no version: {versioned:?}");
}

/// Every librknnrt/librknnmrt inspected (1.4.0, 1.5.2, 2.3.2) exports
/// `rknn_dup_context` and the SDK header declares it (§1.9, §1.10); a
/// program that calls it does not link against libaccelmem.
#[test]

fn library_exports_rknn_dup_context() {
    assert!(exported_rknn().contains_key("rknn_dup_context"));
}
