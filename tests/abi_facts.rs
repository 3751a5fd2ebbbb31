//! The vendor ABI facts (tests/c/abi_facts.c) hold for the headers in
//! include/ when compiled as C11 and as C++11, and libaccelmem.so exports
//! every function those headers declare.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The libaccelmem.so cargo built with this test: `cargo test` leaves it in
/// deps/ next to the test exe; `cargo build` also copies it one level up.
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test exe has a directory");
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("libaccelmem.so"))
        .find(|p| p.exists());
    found.unwrap_or_else(|| panic!("libaccelmem.so not built next to {}", exe.display()))
}

fn scratch() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("abi_facts");
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

/// Compile tests/c/abi_facts.c with `cmd` + `args` into `exe`, run it, and
/// return its stdout; panics with the compiler's or program's output.
fn build_and_run(mut cmd: Command, exe: &Path) -> String {
    let src = root().join("tests/c/abi_facts.c");
    let out = cmd
        .args(["-Wall", "-Wextra", "-Werror", "-Wpedantic", "-I"])
        .arg(root().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(exe)
        .output()
        .expect("run the compiler");
    assert!(
        out.status.success(),
        "compiling {} failed:\n{}",
        src.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(exe).output().expect("run abi_facts");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "abi_facts failed ({}):\n{stdout}{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    stdout
}

#[test]
fn vendor_facts_hold_in_c11() {
    let mut cmd = Command::new(compiler("CC", "cc"));
    cmd.arg("-std=c11");
    let out = build_and_run(cmd, &scratch().join("abi_facts_c"));
    assert!(out.contains("all facts hold (C)"), "unexpected output: {out}");
}

#[test]
fn vendor_facts_hold_in_cxx11() {
    let mut cmd = Command::new(compiler("CXX", "c++"));
    cmd.args(["-x", "c++", "-std=c++11"]);
    let out = build_and_run(cmd, &scratch().join("abi_facts_cxx"));
    assert!(out.contains("all facts hold (C++)"), "unexpected output: {out}");
}

/// Names of the functions declared in a header: cbindgen writes each
/// prototype starting in column 0, its name right before the first `(`.
fn declared_functions(header: &str) -> Vec<String> {
    let mut text = String::new();
    let mut rest = header;
    // Drop /* */ comments (they hold prose with parentheses).
    while let Some(a) = rest.find("/*") {
        text.push_str(&rest[..a]);
        rest = rest[a..].find("*/").map_or("", |b| &rest[a + b + 2..]);
    }
    text.push_str(rest);
    let mut names = Vec::new();
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or("");
        let starts_ident = line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        // Inline helpers defined in a header are not exports.
        let inline = line.starts_with("static ") || line.starts_with("template");
        let Some(paren) = line.find('(').filter(|_| starts_ident && !line.starts_with("typedef") && !inline) else {
            continue;
        };
        let before = line[..paren].trim_end();
        let name: String = before
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let name: String = name.chars().rev().collect();
        assert!(!name.is_empty(), "cannot read a function name in: {line}");
        names.push(name);
    }
    names
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

    let lib = built_library();
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
