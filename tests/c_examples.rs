//! The C programs in `c-examples/` build with `-Wall -Wextra -Werror`
//! against our headers, link against `libaccelmem.so` and, separately,
//! statically against `libaccelmem.a`, run to exit status 0 on a private
//! device, print what they claim, and leave no block behind when `main`
//! returns (checked while the process is still alive, through
//! `c-examples/support/exit_probe.c`: a dead process's blocks are reclaimed
//! by the next reader of the device, which would hide a missing free).

mod common;

use common::cprog::{assert_no_blocks, compile, out_dir, root, Dev, Link, Running};
use std::path::{Path, PathBuf};

/// Number after `key` in `line` (`0x…` hex or decimal).
fn num_after(text: &str, line_prefix: &str, key: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(line_prefix))
        .unwrap_or_else(|| panic!("no line starting {line_prefix:?} in:\n{text}"));
    let v = line.split(key).nth(1).unwrap_or_else(|| panic!("no {key:?} in {line:?}"));
    let v: String = v.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => v.parse().unwrap(),
    }
}

fn has_line(text: &str, want: &str) {
    assert!(text.lines().any(|l| l == want), "missing line {want:?} in:\n{text}");
}

/// What each example must print besides its final "<name>: all steps passed".
fn check_output(name: &str, out: &str) {
    match name {
        "hisilicon_mmz" => {
            let cached = num_after(out, "MmzAlloc_Cached:", "phys=");
            let plain = num_after(out, "MmzAlloc:", "phys=");
            assert_ne!(cached, plain);
            has_line(out, &format!("GetVirMemInfo(vir_cached + 100): phys={:#x} cached=1", cached + 100));
            has_line(out, &format!("GetVirMemInfo(vir): phys={plain:#x} cached=0"));
            has_line(
                out,
                "Mmap(phys_cached): a second mapping reads \"hello from the CPU, written through a cached mapping\"",
            );
            has_line(out, "MmzFree(phys_cached): ok");
            has_line(out, "MmzFree(phys): ok");
        }
        "hisilicon_vb" => {
            let phys = num_after(out, "common GetBlock(", "phys=");
            assert_ne!(phys, 0);
            assert_eq!(num_after(out, "private GetBlock:", "users="), 1);
            has_line(out, "common block mapped, wrote and read back \"frame 1\"");
            has_line(out, "Mmap(phys) of the private block reads \"private pool block\"");
            has_line(out, "MunmapPool, ReleaseBlock, DestroyPool: ok");
            has_line(out, "VB_Exit: ok");
        }
        "horizon_hbsys" => {
            // The registered range is the MMZ block allocated through the other API.
            assert_eq!(
                num_after(out, "HI_MPI_SYS_MmzAlloc:", "phys="),
                num_after(out, "hbSysRegisterMem:", "phys=")
            );
            has_line(
                out,
                "hbSysFlushMem(INVALIDATE) + hbSysReadMem: read back \"tensor data for the BPU\"",
            );
            has_line(
                out,
                "registered memory reads \"tensor data for the BPU\" (same bytes as the MMZ block)",
            );
            has_line(
                out,
                "hbSysRegisterMem(range not ours): HB_SYS_REGISTER_MEM_FAILED (-6000131), as expected",
            );
            has_line(out, "hbSysFreeMem: ok");
        }
        _ => {}
    }
}

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("c-examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    v.sort();
    v
}

fn build_and_run(src: &Path, link: Link) {
    let name = src.file_stem().unwrap().to_str().unwrap();
    let exe = out_dir("c-examples").join(format!("{name}-{link:?}").to_lowercase());
    compile(src, &exe, link, &["-Wall", "-Wextra", "-Werror"]);

    let dev = Dev::new(&format!("cex-{name}"));
    let done = Running::spawn(&exe, &dev).finish();
    let what = format!("{name} ({link:?})");
    // Taken after main() returned, while the process still held whatever it did not free.
    let left = done.assert_success(&what);
    let (out, ctx) = (&done.out, done.context(&what));
    assert!(!done.err.contains("FAILED"), "{ctx}");
    assert_eq!(out.lines().last(), Some(format!("{name}: all steps passed").as_str()), "{ctx}");
    check_output(name, out);
    assert_no_blocks(left, &format!("{name} left blocks behind"));
}

#[test]
fn every_api_family_has_examples() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in [
        "hisilicon_mmz",
        "hisilicon_vb",
        "horizon_hbsys",
        "rknn_zero_copy",
        "rknn_internal_mem_reuse",
        "rknn_cross_api",
        "hbmem_common",
        "hbmem_share_fork",
        "hbmem_graphic",
        "hbmem_queue",
        "hbmem_pool",
        "hbmem_share_pool",
    ] {
        assert!(names.iter().any(|n| n == want), "c-examples/{want}.c missing; have {names:?}");
    }
}

#[test]
fn examples_run_linked_against_the_shared_library() {
    for src in examples() {
        build_and_run(&src, Link::Shared);
    }
}

#[test]
fn examples_run_linked_statically() {
    for src in examples() {
        build_and_run(&src, Link::Static);
    }
}
