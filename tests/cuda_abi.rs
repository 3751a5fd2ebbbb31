//! The CUDA ABI facts of the reference (tests/c/cuda_abi_facts.c: struct
//! sizes and every field offset and type, enum and flag values, the names
//! the linker sees, §1.1's prototypes redeclared over ours) hold for the
//! headers in include/ when compiled as C11 and as C++11.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cuda_abi");
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// `$var` if set, else `default`: the C or C++ compiler.
fn compiler(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// Compile tests/c/cuda_abi_facts.c as C11 (`cxx` false) or C++11 with
/// `defines`, run it, and assert it reports every fact holding.
fn facts_hold(cxx: bool, defines: &[&str], exe_name: &str) {
    let src = root().join("tests/c/cuda_abi_facts.c");
    let mut cmd = if cxx {
        let mut c = Command::new(compiler("CXX", "c++"));
        c.args(["-x", "c++", "-std=c++11"]);
        c
    } else {
        let mut c = Command::new(compiler("CC", "cc"));
        c.arg("-std=c11");
        c
    };
    let exe = scratch().join(exe_name);
    let out = cmd
        .args(["-Wall", "-Wextra", "-Werror", "-Wpedantic"])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the compiler");
    assert!(
        out.status.success(),
        "compiling {} ({}, {defines:?}) failed:\n{}",
        src.display(),
        if cxx { "C++11" } else { "C11" },
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run cuda_abi_facts");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "cuda_abi_facts failed ({}):\n{stdout}", run.status);
    let want = if cxx { "all facts hold (C++)" } else { "all facts hold (C)" };
    assert!(stdout.contains(want), "unexpected output: {stdout}");
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
