//! Seed 003 (a blog post quoting "Professional CUDA C Programming"): its two
//! C++ programs, memTransfer.cu (cudaMalloc + cudaMemcpy both ways) and
//! pinMemTransfer.cu (the same through cudaMallocHost), written out
//! verbatim, compile with `c++ -x c++` against our headers and our
//! `c-examples/cuda/common/common.h` (reached as "../common/common.h"),
//! link against libaccelmem.so and run as the post shows: exit status 0,
//! the "device 0: <name> memory size 4194304 nbyte 16.00MB" line (with
//! "canMap 1" for the pinned one), no leak reported, and no block left on
//! the emulated GPU when `main` returns (their cudaDeviceReset and frees
//! really free; listed through the exit probe while the process lives).
//!
//! Skipped when ../shared is missing, unless ACCELMEM_REQUIRE_SEEDS=1.

mod common;

use common::cprog::{assert_no_blocks, compile_with, cxx, out_dir, root, CudaDev, Link, Running};
use std::path::{Path, PathBuf};

/// What `cudaGetDeviceProperties` names emulated GPU 0.
const GPU0_NAME: &str = "accelmem emulated GPU 0 (no kernels)";

/// The seeds directory, or None (after saying so) when the test is skipped.
fn seeds_dir() -> Option<PathBuf> {
    let shared = root().join("../shared");
    if shared.is_dir() {
        return Some(shared.join("seeds"));
    }
    if std::env::var("ACCELMEM_REQUIRE_SEEDS").is_ok_and(|v| v == "1") {
        panic!("ACCELMEM_REQUIRE_SEEDS=1 but {} is missing", shared.display());
    }
    println!(
        "skipped: {} is missing (set ACCELMEM_REQUIRE_SEEDS=1 to make this a failure)",
        shared.display()
    );
    None
}

/// The one `003_*.txt` file in `dir`.
fn seed_003(dir: &Path) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("003_") && n.ends_with(".txt")
        })
        .collect();
    assert_eq!(v.len(), 1, "expected one 003_*.txt in {}: {v:?}", dir.display());
    v.pop().unwrap()
}

/// The ```cpp fenced blocks that hold a `main`, verbatim, in order.
fn programs(doc: &str) -> Vec<String> {
    let mut out = vec![];
    let mut block: Option<String> = None;
    for l in doc.lines() {
        match block.as_mut() {
            None if l.trim() == "```cpp" => block = Some(String::new()),
            None => {}
            Some(_) if l.trim_start().starts_with("```") => {
                let b = block.take().unwrap();
                if b.contains("int main") {
                    out.push(b);
                }
            }
            Some(b) => {
                b.push_str(l);
                b.push('\n');
            }
        }
    }
    out
}

/// Write `source` as `<tmp>/src/<file>` (so that its "../common/common.h"
/// only resolves through `-I c-examples/cuda/examples`), build it as the
/// post's nvcc would (C++, no -Werror: book code compares signed with
/// unsigned), run it on its own device and check what every run must show;
/// returns its stdout and the path it ran as (its argv[0]).
fn build_and_run(file: &str, source: &str) -> (String, String) {
    let dir = out_dir("cuda-seeds");
    assert!(!dir.join("common").exists(), "{} must not exist", dir.join("common").display());
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let src = dir.join("src").join(file);
    std::fs::write(&src, source).unwrap();
    let exe = dir.join(file.trim_end_matches(".cu"));
    let examples = root().join("c-examples/cuda/examples");
    compile_with(&cxx(), &src, &exe, Link::Shared, &["-x", "c++", "-I", examples.to_str().unwrap()]);

    let dev = CudaDev::new(&format!("seed003-{}", file.trim_end_matches(".cu")), 1);
    let done = Running::spawn(&exe, &dev.dev).finish_with(|_| dev.gpu_listing(0));
    let left = done.assert_success(file);
    let ctx = done.context(file);
    assert!(!done.err.contains("LEAK") && !done.err.contains("Error:"), "{ctx}");
    assert_no_blocks(left, &format!("{file} left blocks on the GPU"));
    (done.out.clone(), exe.display().to_string())
}

#[test]
fn seed_003_programs_run_as_documented() {
    let Some(seeds) = seeds_dir() else { return };
    let doc_path = seed_003(&seeds);
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let progs = programs(&doc);
    assert_eq!(progs.len(), 2, "expected two ```cpp blocks with a main in {}", doc_path.display());
    for p in &progs {
        assert!(p.contains("#include \"../common/common.h\""), "{p}");
    }
    // The second uses pinned memory; the post presents them in this order.
    assert!(!progs[0].contains("cudaMallocHost") && progs[1].contains("cudaMallocHost"));

    let (out, argv0) = build_and_run("memTransfer.cu", &progs[0]);
    assert_eq!(
        out,
        format!("{argv0} starting at device 0: {GPU0_NAME} memory size 4194304 nbyte 16.00MB\n"),
        "memTransfer"
    );

    let (out, argv0) = build_and_run("pinMemTransfer.cu", &progs[1]);
    assert_eq!(
        out,
        format!("{argv0} starting at device 0: {GPU0_NAME} memory size 4194304 nbyte 16.00MB canMap 1\n"),
        "pinMemTransfer"
    );
}
