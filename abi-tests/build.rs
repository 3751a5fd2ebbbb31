//! Generates ctest's checks of accelmem's Rust ABI definitions against the
//! generated C headers in ../include.

const HEADERS: [&str; 9] = [
    "hi_type.h",
    "hi_errno.h",
    "hi_common.h",
    "hi_defines.h",
    "hi_comm_sys.h",
    "hi_comm_vb.h",
    "mpi_sys.h",
    "mpi_vb.h",
    "dnn/hb_sys.h",
];

fn main() {
    let mut cfg = ctest::TestGenerator::new();
    for h in HEADERS {
        cfg.header(h);
    }
    cfg.include("../include")
        .skip_private(true)
        // The headers typedef anonymous structs: `X`, never `struct X`.
        .rename_struct_ty(|ty| Some(ty.to_string()))
        // A string macro; ctest cannot compare `&str` with a C string literal.
        // tests/c/abi_facts.c checks it.
        .skip_const(|c| c.ident() == "RESERVE_MMZ_NAME");
    ctest::generate_test(&mut cfg, "ctest_root.rs", "all.rs").expect("ctest generation");

    for p in ["build.rs", "ctest_root.rs", "ffi_decls.rs", "../src/api", "../include"] {
        println!("cargo:rerun-if-changed={p}");
    }
}
