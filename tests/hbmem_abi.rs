//! The hbmem ABI facts (tests/c/hbmem_abi_facts.c: sizes, offsets, flag,
//! format and error values of reference/horizon.md §2.2-2.5) hold for
//! include/hb_mem_mgr.h and hb_mem_err.h as C11 and as C++11, and every
//! function our hb_mem_mgr.h declares is redeclared there with the vendor's
//! exact prototype (the program enables each `HAVE_<name>` block the header
//! has a function for).

mod common;

use common::cprog::{out_dir, root};
use common::facts::{compiler, declared_functions, facts_hold};
use std::collections::BTreeSet;
use std::process::Command;

/// Functions declared by include/hb_mem_mgr.h.
fn declared() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("include/hb_mem_mgr.h")).expect("read hb_mem_mgr.h");
    declared_functions(&text).into_iter().collect()
}

/// tests/c/hbmem_abi_facts.c as C11 or C++11, each of `names`' `HAVE_`
/// blocks enabled, linked with libaccelmem.
fn hbmem_facts_hold(cxx: bool, names: &BTreeSet<String>, exe_name: &str) {
    let lib = common::lib_dir();
    let defines: Vec<String> = names.iter().map(|n| format!("HAVE_{n}")).collect();
    let defines: Vec<&str> = defines.iter().map(String::as_str).collect();
    let link = [
        format!("-L{}", lib.display()),
        "-laccelmem".to_string(),
        format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()),
    ];
    facts_hold("hbmem_abi_facts.c", cxx, &defines, &link, exe_name);
}

/// Names with a `#ifdef HAVE_<name>` block in the facts program.
fn guarded_in_facts() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("tests/c/hbmem_abi_facts.c")).expect("read facts");
    text.lines()
        .filter_map(|l| l.strip_prefix("#ifdef HAVE_"))
        .map(|n| n.trim().to_string())
        .collect()
}

#[test]
fn every_declared_function_has_a_vendor_prototype() {
    let names = declared();
    // The reader must find what we know is there.
    for known in [
        "hb_mem_module_open",
        "hb_mem_alloc_com_buf",
        "hb_mem_import_com_buf",
        "hb_mem_wait_consume_status",
    ] {
        assert!(names.contains(known), "header reader missed {known}; read {names:?}");
    }
    let guarded = guarded_in_facts();
    assert!(guarded.len() >= 60, "facts program lost its §2.2 prototypes: {guarded:?}");
    let extra: Vec<&String> = names.difference(&guarded).collect();
    assert!(
        extra.is_empty(),
        "hb_mem_mgr.h declares functions that are not in the vendor's list (reference/horizon.md §2.2): {extra:?}"
    );
    println!("{} of {} vendor prototypes declared by hb_mem_mgr.h", names.len(), guarded.len());
}

#[test]
fn hbmem_facts_hold_in_c11() {
    hbmem_facts_hold(false, &declared(), "hbmem_abi_facts_c");
}

#[test]
fn hbmem_facts_hold_in_cxx11() {
    hbmem_facts_hold(true, &declared(), "hbmem_abi_facts_cxx");
}

/// A prototype that differs from the header must fail to compile: the
/// redeclarations really are checks (C and C++).
#[test]
fn a_wrong_prototype_is_rejected() {
    let src = out_dir("hbmem_abi").join("wrong_proto.c");
    std::fs::write(
        &src,
        "#include <hb_mem_mgr.h>\n#ifdef __cplusplus\nextern \"C\" {\n#endif\n\
         int32_t hb_mem_free_buf(int64_t fd);\n#ifdef __cplusplus\n}\n#endif\nint main(void) { return 0; }\n",
    )
    .unwrap();
    for (cc, args) in [
        (compiler("CC", "cc"), vec!["-std=c11"]),
        (compiler("CXX", "c++"), vec!["-x", "c++", "-std=c++11"]),
    ] {
        let out = Command::new(&cc)
            .args(&args)
            .arg("-I")
            .arg(root().join("include"))
            .arg("-fsyntax-only")
            .arg(&src)
            .output()
            .expect("run the compiler");
        assert!(!out.status.success(), "{cc} accepted a conflicting hb_mem_free_buf prototype");
    }
}
