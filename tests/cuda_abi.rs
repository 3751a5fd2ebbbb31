//! The CUDA ABI facts of the reference (tests/c/cuda_abi_facts.c: struct
//! sizes and every field offset and type, enum and flag values, the names
//! the linker sees, §1.1's prototypes redeclared over ours) hold for the
//! headers in include/ when compiled as C11 and as C++11.

mod common;

/// tests/c/cuda_abi_facts.c as C11 (`cxx` false) or C++11 with `defines`.
fn facts_hold(cxx: bool, defines: &[&str], exe_name: &str) {
    common::facts::facts_hold("cuda_abi_facts.c", cxx, defines, &[], exe_name);
}

#[test]
fn cuda_facts_hold_in_c11() {
    facts_hold(false, &[], "facts_c");
}

#[test]
fn cuda_facts_hold_in_cxx11() {
    facts_hold(true, &[], "facts_cxx");
}

/// `--default-stream per-thread` builds: the headers rename the calls to
/// `_ptds`/`_ptsz` (§1.3) and §1.1's prototypes still redeclare cleanly.
#[test]
fn per_thread_default_stream_names_in_c11_and_cxx11() {
    facts_hold(false, &["CUDA_API_PER_THREAD_DEFAULT_STREAM"], "facts_ptds_c");
    facts_hold(true, &["CUDA_API_PER_THREAD_DEFAULT_STREAM"], "facts_ptds_cxx");
}

/// The reference types `cudaPointerAttributes::type`,
/// `cudaMemPoolProps::allocType`/`handleTypes` and `cudaMemLocation::type`
/// as enums. Only C++ can tell: there `cudaMemoryType t = a.type;` and
/// passing `a.type` to a parameter of the enum type compile only if it is.
#[test]
fn enum_typed_fields_in_cxx11() {
    facts_hold(true, &["CUDA_ABI_ENUM_FIELDS"], "facts_enum_fields_cxx");
}
