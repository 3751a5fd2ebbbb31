//! The hbmem ABI facts (tests/c/hbmem_abi_facts.c: sizes, offsets, flag,
//! format and error values of reference/horizon.md §2.2-2.5) hold for
//! include/hb_mem_mgr.h and hb_mem_err.h as C11 and as C++11, and every
//! function our hb_mem_mgr.h declares is redeclared there with the vendor's
//! exact prototype (the program enables each `HAVE_<name>` block the header
//! has a function for).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory with the libaccelmem.so built with this test (deps/, or
/// one level up where `cargo build` copies it).
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test exe has a directory");
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|d| d.join("libaccelmem.so").exists())
        .map(Path::to_path_buf);
    found.unwrap_or_else(|| panic!("libaccelmem.so not built next to {}", exe.display()))
}

fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hbmem_abi");
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

fn compiler(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(a) = rest.find("/*") {
        out.push_str(&rest[..a]);
        rest = rest[a..].find("*/").map_or("", |b| &rest[a + b + 2..]);
    }
    out.push_str(rest);
    out
}

/// Functions declared by include/hb_mem_mgr.h: cbindgen starts each
/// prototype in column 0 with its name right before the first `(`.
fn declared() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("include/hb_mem_mgr.h")).expect("read hb_mem_mgr.h");
    let mut names = BTreeSet::new();
    for line in strip_comments(&text).lines() {
        if !line.starts_with(|c: char| c.is_ascii_alphabetic()) || line.starts_with("typedef") || line.starts_with("static ") {
            continue;
        }
        let Some(paren) = line.find('(') else { continue };
        let name: String = line[..paren]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        names.insert(name);
    }
    names
}

/// Names with a `#ifdef HAVE_<name>` block in the facts program.
fn guarded_in_facts() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("tests/c/hbmem_abi_facts.c")).expect("read facts");
    text.lines()
        .filter_map(|l| l.strip_prefix("#ifdef HAVE_"))
        .map(|n| n.trim().to_string())
        .collect()
}

fn build_and_run(mut cmd: Command, exe: &Path, names: &BTreeSet<String>) -> String {
    let src = root().join("tests/c/hbmem_abi_facts.c");
    let lib = lib_dir();
    cmd.args(["-Wall", "-Wextra", "-Werror", "-Wpedantic", "-I"])
        .arg(root().join("include"))
        .args(names.iter().map(|n| format!("-DHAVE_{n}")))
        .arg(&src)
        .arg("-o")
        .arg(exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-laccelmem")
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()));
    let out = cmd.output().expect("run the compiler");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(exe).output().expect("run hbmem_abi_facts");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "hbmem_abi_facts failed ({}):\n{stdout}{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
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
    let mut cmd = Command::new(compiler("CC", "cc"));
    cmd.arg("-std=c11");
    let out = build_and_run(cmd, &scratch().join("hbmem_abi_facts_c"), &declared());
    assert!(out.contains("all facts hold (C)"), "unexpected output: {out}");
}

#[test]
fn hbmem_facts_hold_in_cxx11() {
    let mut cmd = Command::new(compiler("CXX", "c++"));
    cmd.args(["-x", "c++", "-std=c++11"]);
    let out = build_and_run(cmd, &scratch().join("hbmem_abi_facts_cxx"), &declared());
    assert!(out.contains("all facts hold (C++)"), "unexpected output: {out}");
}

/// A prototype that differs from the header must fail to compile: the
/// redeclarations really are checks (C and C++).
#[test]
fn a_wrong_prototype_is_rejected() {
    let src = scratch().join("wrong_proto.c");
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
