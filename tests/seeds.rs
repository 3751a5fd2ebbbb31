//! Seed 001 (a HiSilicon MMZ tutorial): its C code, copied verbatim and
//! wrapped only in the includes and `main` it needs, compiles against our
//! headers, links against libaccelmem.so and behaves as the document shows:
//! while it waits on getchar() the `/proc/media-mem`-style listing shows
//! its two 1024KB blocks "test" and "test_cache" in zone "anonymous"; it
//! prints their physical addresses and that the cached one is cached; and
//! its MmzFree calls really free them (checked after `main` returns but
//! before the process is gone, via `c-examples/support/exit_probe.c`: once
//! it is gone, the next reader of the device reclaims its blocks anyway).
//!
//! Skipped when ../shared is missing, unless ACCELMEM_REQUIRE_SEEDS=1.

mod common;

use common::cprog::{assert_no_blocks, compile, out_dir, parse_listing, root, Dev, Link, Running, TIMEOUT};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The text placed around the seed's code: includes only, then `main`.
const PROLOGUE: &str = "#include <stdio.h>\n#include <stdlib.h>\n#include \"hi_type.h\"\n#include \"hi_comm_sys.h\"\n#include \"mpi_sys.h\"\n\nint main(void) {\n";
const EPILOGUE: &str = "return 0; }\n";

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

/// The one `<prefix>_*.txt` file in `dir`.
fn seed_file(dir: &Path, prefix: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{prefix}_")) && n.ends_with(".txt")
        })
        .collect();
    v.sort();
    assert_eq!(v.len(), 1, "expected one {prefix}_*.txt in {}: {v:?}", dir.display());
    v.pop().unwrap()
}

/// The lines of the first ```c fenced block, verbatim.
fn first_c_block(doc: &str) -> Option<String> {
    let mut lines = doc.lines();
    lines.by_ref().find(|l| l.trim() == "```c")?;
    let mut out = String::new();
    for l in lines {
        if l.trim_start().starts_with("```") {
            return Some(out);
        }
        out.push_str(l);
        out.push('\n');
    }
    None
}

/// The value of a `<key>0x…` line of the program's output.
fn hex_line(out: &str, key: &str) -> u64 {
    let l = out
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no line starting {key:?} in:\n{out}"));
    u64::from_str_radix(l.trim().trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{key}{l}: {e}"))
}

#[test]
fn seed_001_mmz_example_runs_as_documented() {
    let Some(seeds) = seeds_dir() else { return };
    let doc = std::fs::read_to_string(seed_file(&seeds, "001")).unwrap();
    let code = first_c_block(&doc).expect("seed 001 has a ```c block");
    assert!(code.contains("HI_MPI_SYS_MmzAlloc_Cached"), "unexpected first C block:\n{code}");

    let dir = out_dir("seeds");
    let src = dir.join("seed001.c");
    let exe = dir.join("seed001");
    std::fs::write(&src, format!("{PROLOGUE}{code}{EPILOGUE}")).unwrap();
    // No -Werror: the document prints pointers with %#x.
    compile(&src, &exe, Link::Shared, &[]);

    let dev = Dev::new("seed-001");
    let mut run = Running::spawn(&exe, &dev);

    // Its stdout is a pipe (fully buffered), so watch the device instead:
    // both blocks exist once it waits on getchar().
    let end = Instant::now() + TIMEOUT;
    loop {
        // The program may not have created the device yet.
        let j = dev.try_listing(true).unwrap_or_default();
        if j.contains("\"name\":\"test\",") && j.contains("\"name\":\"test_cache\",") {
            break;
        }
        if !run.running() {
            panic!("{}", run.finish().context("seed 001 exited before allocating both blocks"));
        }
        assert!(Instant::now() < end, "blocks never appeared:\n{j}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = dev.listing(false);
    let blocks = parse_listing(&during);
    let find = |name: &str| {
        blocks
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("no MMB named {name:?} in:\n{during}"))
    };
    let (test, test_cache) = (find("test"), find("test_cache"));
    for b in [test, test_cache] {
        assert_eq!((b.zone.as_str(), b.kb), ("anonymous", 1024), "{b:?} in:\n{during}");
    }
    assert_eq!(blocks.len(), 2, "{during}");

    // Answer getchar(); the program frees both blocks and returns from main.
    run.send_line();
    let done = run.finish();
    let after = done.assert_success("seed 001");
    let (out, ctx) = (&done.out, done.context("seed 001"));

    // It printed the addresses the listing showed.
    let phy = hex_line(out, "phy: ");
    let phy_cache = hex_line(out, "phy_cache: ");
    assert_eq!((phy, phy_cache), (test.phys, test_cache.phys), "{ctx}\n--- listing\n{during}");
    assert!(
        out.lines().any(|l| l.starts_with("vir: ")) && out.lines().any(|l| l.starts_with("vir_cache: ")),
        "{ctx}"
    );
    let want = format!("phy_addr: {phy_cache:#x} cache: 1");
    assert!(out.lines().any(|l| l == want), "missing {want:?}\n{ctx}");

    // MmzFree worked: nothing left while the process still lives.
    assert_no_blocks(after, "blocks left after MmzFree");
}

#[test]
fn first_c_block_is_taken_verbatim() {
    let doc = "text\n```\nnot c\n```\n```c\n    int a = 1;\n\tfoo(a);\n```\n```c\nsecond\n```\n";
    assert_eq!(first_c_block(doc).as_deref(), Some("    int a = 1;\n\tfoo(a);\n"));
    assert_eq!(first_c_block("```c\nunterminated\n"), None);
    assert_eq!(first_c_block("no code"), None);
}
