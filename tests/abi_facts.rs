//! The vendor ABI facts (tests/c/abi_facts.c) hold for the headers in
//! include/ when compiled as C11 and as C++11, and libaccelmem.so exports
//! every function those headers declare.

mod common;

use common::cprog::root;
use common::facts::{declared_functions, facts_hold};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn vendor_facts_hold_in_c11() {
    facts_hold("abi_facts.c", false, &[], &[], "abi_facts_c");
}

#[test]
fn vendor_facts_hold_in_cxx11() {
    facts_hold("abi_facts.c", true, &[], &[], "abi_facts_cxx");
}

fn headers(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read include dir") {
        let p = e.expect("dir entry").path();
        if p.is_dir() {
            headers(&p, out);
        } else if p.extension().is_some_and(|x| x == "h") {
            out.push(p);
        }
    }
}

#[test]
fn library_exports_every_declared_function() {
    let mut files = Vec::new();
    headers(&root().join("include"), &mut files);
    let mut declared = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("read header");
        declared.extend(declared_functions(&text));
    }
    // The reader must find what we know is there.
    for known in [
        "HI_MPI_SYS_MmzAlloc",
        "HI_MPI_SYS_GetVirMemInfo",
        "HI_MPI_VB_CreatePool",
        "hbSysAllocMem",
        "hbSysUnregisterMem",
    ] {
        assert!(declared.contains(known), "header reader missed {known}; read {declared:?}");
    }

    let lib = common::lib_dir().join("libaccelmem.so");
    let out = Command::new("nm")
        .args(["-D", "--defined-only"])
        .arg(&lib)
        .output()
        .expect("run nm");
    assert!(out.status.success(), "nm failed: {}", String::from_utf8_lossy(&out.stderr));
    // "<addr> T <name>" for functions in the text section.
    let exported: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[1] == "T").then(|| f[2].split('@').next().unwrap_or("").to_string())
        })
        .collect();

    let missing: Vec<&String> = declared.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "declared in include/ but not exported by libaccelmem.so: {missing:?}"
    );
    // And the other way: a vendor call we export is one a C user can declare.
    let undeclared: Vec<&String> = exported
        .iter()
        .filter(|n| (n.starts_with("HI_MPI_") || n.starts_with("hbSys")) && !declared.contains(*n))
        .collect();
    assert!(undeclared.is_empty(), "exported but declared in no header: {undeclared:?}");
    println!("{} declared functions, all exported", declared.len());
}
