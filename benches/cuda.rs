//! CUDA front speed against what a program would do without accelmem:
//! `cudaMemcpy` against plain memcpy, `cudaMalloc`/`cudaMallocAsync` pairs
//! against malloc+free. Ratios are measured side by side in one run
//! (alternating rounds, medians), so they travel better than the absolute
//! numbers.
//!
//! `cargo bench --bench cuda` prints a markdown table. Nothing here asserts
//! a time: the numbers are for reading. The "experiment" rows measure ideas
//! for the copy path on plain tmpfs/anonymous mappings, without accelmem.

use accelmem::api::cuda::cuda_runtime_api::*;
use accelmem::api::cuda::driver_types::cudaMemPoolAttr::cudaMemPoolAttrReleaseThreshold;
use accelmem::api::cuda::driver_types::{cudaMemPool_t, cudaStream_t, cuuint64_t};
use accelmem::engine::{Config, Device};
use std::ffi::c_void;
use std::hint::black_box;
use std::ptr::null_mut;
use std::time::Instant;

const ROUNDS: usize = 10;
/// Rounds for the fresh-buffer rows (~0.1 s per call).
const FRESH_ROUNDS: usize = 6;
const BIG: usize = 64 << 20;
const H2H: u32 = 0;
const H2D: u32 = 1;
const D2H: u32 = 2;
const D2D: u32 = 3;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per call of `f`, `iters` calls.
fn secs_per_op(iters: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_secs_f64() / iters as f64
}

/// Median seconds per call of `a` and of `b`, alternating rounds so drift
/// (frequency, other processes on the 2 cores) hits both, and swapping
/// which side goes first each round (going first measured ~5% faster).
fn compare(iters: usize, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> (f64, f64) {
    compare_n(ROUNDS, iters, a, b)
}

fn compare_n(rounds: usize, iters: usize, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> (f64, f64) {
    secs_per_op(iters.div_ceil(4), a);
    secs_per_op(iters.div_ceil(4), b);
    let (mut ra, mut rb) = (vec![], vec![]);
    for round in 0..rounds {
        if round % 2 == 0 {
            ra.push(secs_per_op(iters, a));
            rb.push(secs_per_op(iters, b));
        } else {
            rb.push(secs_per_op(iters, b));
            ra.push(secs_per_op(iters, a));
        }
    }
    (median(ra), median(rb))
}

fn ok(e: u32, what: &str) {
    assert_eq!(e, 0, "{what} failed with cudaError {e}");
}

/// `len` bytes of plain (pageable) host memory, every page written once.
fn host_buffer(len: usize) -> *mut u8 {
    // SAFETY: plain allocation, checked; filled within its length.
    unsafe {
        let p = libc::malloc(len) as *mut u8;
        assert!(!p.is_null());
        std::ptr::write_bytes(p, 0x5a, len);
        p
    }
}

fn memcpy(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: callers pass distinct live buffers of at least len bytes.
    unsafe { std::ptr::copy_nonoverlapping(src, dst, len) };
    black_box(dst);
}

fn cuda_memcpy(dst: *mut u8, src: *const u8, len: usize, kind: u32) {
    // SAFETY: dst/src are live allocations of at least len bytes of the
    // kind named.
    ok(unsafe { cudaMemcpy(dst.cast(), src.cast(), len, kind) }, "cudaMemcpy");
}

fn gbps(secs: f64, bytes: usize) -> f64 {
    bytes as f64 / secs / 1e9
}

/// A markdown row comparing bandwidths (ratio above 1: accelmem faster).
fn bw_row(what: &str, base: &str, (a, b): (f64, f64), bytes: usize) -> String {
    let (ga, gb) = (gbps(a, bytes), gbps(b, bytes));
    format!("| {what} | {ga:.2} GB/s | {base}: {gb:.2} GB/s | {:.2} |", ga / gb)
}

/// A markdown row comparing times per operation (ratio above 1: accelmem
/// slower).
fn time_row(what: &str, base: &str, (a, b): (f64, f64)) -> String {
    let f = |s: f64| {
        if s >= 1e-3 {
            format!("{:.2} ms", s * 1e3)
        } else if s >= 1e-6 {
            format!("{:.2} µs", s * 1e6)
        } else {
            format!("{:.0} ns", s * 1e9)
        }
    };
    format!("| {what} | {} | {base}: {} | {:.2} |", f(a), f(b), a / b)
}

/// How a fresh shared tmpfs mapping gets its pages before the first copy.
#[derive(Clone, Copy, PartialEq)]
enum Fill {
    /// Page faults during the copy (what a fresh `cudaMalloc` buffer gets).
    Fault,
    /// `MAP_POPULATE` at mmap.
    Populate,
    /// `madvise(MADV_POPULATE_WRITE)` after mmap.
    MadvPopulate,
    /// `fallocate` the file before mmap: pages exist, only mapping faults.
    Fallocate,
}

/// Experiment: make a 64 MiB tmpfs object as the emulated GPU does
/// (memfd is tmpfs too), map it shared, fill it by `fill`, copy `src`
/// into it once, tear it down. One call is one fresh device buffer's life.
fn shm_first_copy(src: *const u8, fill: Fill) {
    // SAFETY: NUL-terminated name; every result is checked; the mapping
    // is BIG bytes of a BIG-byte object and is unmapped before close.
    unsafe {
        let fd = libc::memfd_create(c"bench".as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, BIG as libc::off_t), 0);
        if fill == Fill::Fallocate {
            assert_eq!(libc::fallocate(fd, 0, 0, BIG as libc::off_t), 0);
        }
        let flags = libc::MAP_SHARED | if fill == Fill::Populate { libc::MAP_POPULATE } else { 0 };
        let p = libc::mmap(null_mut(), BIG, libc::PROT_READ | libc::PROT_WRITE, flags, fd, 0);
        assert_ne!(p, libc::MAP_FAILED);
        if fill == Fill::MadvPopulate {
            assert_eq!(libc::madvise(p, BIG, libc::MADV_POPULATE_WRITE), 0);
        }
        memcpy(p.cast(), src, BIG);
        libc::munmap(p, BIG);
        libc::close(fd);
    }
}

/// Baseline for fresh buffers: an anonymous private mapping (what malloc
/// gives for 64 MiB), optionally with transparent huge pages.
fn anon_first_copy(src: *const u8, huge: bool) {
    // SAFETY: fresh anonymous mapping of BIG bytes, checked, unmapped.
    unsafe {
        let p = libc::mmap(
            null_mut(),
            BIG,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        if huge {
            libc::madvise(p, BIG, libc::MADV_HUGEPAGE);
        }
        memcpy(p.cast(), src, BIG);
        libc::munmap(p, BIG);
    }
}

/// A pre-faulted shared tmpfs mapping of BIG bytes (the steady state of
/// a device buffer's CPU view), kept for the process's life.
fn shm_buffer() -> *mut u8 {
    // SAFETY: as in shm_first_copy; the mapping outlives the fd on purpose.
    unsafe {
        let fd = libc::memfd_create(c"bench".as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, BIG as libc::off_t), 0);
        let p = libc::mmap(null_mut(), BIG, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, fd, 0);
        assert_ne!(p, libc::MAP_FAILED);
        libc::close(fd);
        std::ptr::write_bytes(p as *mut u8, 0x5a, BIG);
        p.cast()
    }
}

/// An anonymous BIG-byte buffer with transparent huge pages, pre-faulted.
fn huge_buffer() -> *mut u8 {
    // SAFETY: fresh anonymous mapping, checked, filled within its length.
    unsafe {
        let p = libc::mmap(
            null_mut(),
            BIG,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        libc::madvise(p, BIG, libc::MADV_HUGEPAGE);
        std::ptr::write_bytes(p as *mut u8, 0x5a, BIG);
        p.cast()
    }
}

/// Experiment: the system calls the engine makes for one 64 KiB
/// `cudaMalloc`+`cudaFree` (from strace): create+ftruncate the tmpfs
/// object, open+mmap it read-write and again with no access, unlink, unmap
/// both. `reuse_fd` maps both views from the creating descriptor instead.
fn buffer_syscalls(path: &std::ffi::CStr, reuse_fd: bool) {
    const LEN: usize = 64 << 10;
    // SAFETY: NUL-terminated path; results checked; mappings of LEN bytes
    // of a LEN-byte object, unmapped before returning.
    unsafe {
        let fl = libc::O_RDWR | libc::O_CLOEXEC | libc::O_NOFOLLOW;
        let fd = libc::open(path.as_ptr(), fl | libc::O_CREAT | libc::O_EXCL, 0o600);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, LEN as libc::off_t), 0);
        let mut views = [null_mut(); 2];
        for (v, prot) in views.iter_mut().zip([libc::PROT_READ | libc::PROT_WRITE, libc::PROT_NONE]) {
            let f = if reuse_fd { fd } else { libc::open(path.as_ptr(), fl) };
            assert!(f >= 0);
            *v = libc::mmap(null_mut(), LEN, prot, libc::MAP_SHARED, f, 0);
            assert_ne!(*v, libc::MAP_FAILED);
            if !reuse_fd {
                libc::close(f);
            }
        }
        libc::close(fd);
        libc::unlink(path.as_ptr());
        for v in views {
            libc::munmap(v, LEN);
        }
    }
}

fn malloc_pair(size: usize) {
    // SAFETY: plain malloc/free of an untouched block.
    unsafe { libc::free(black_box(libc::malloc(size))) };
}

fn cuda_malloc_pair(size: usize) {
    let mut p: *mut c_void = null_mut();
    // SAFETY: valid out-pointer; the pointer is freed once.
    unsafe {
        ok(cudaMalloc(&mut p, size), "cudaMalloc");
        ok(cudaFree(black_box(p)), "cudaFree");
    }
}

fn cuda_malloc_async_pair(size: usize, s: cudaStream_t) {
    let mut p: *mut c_void = null_mut();
    // SAFETY: valid out-pointer and stream; the pointer is freed once.
    unsafe {
        ok(cudaMallocAsync(&mut p, size, s), "cudaMallocAsync");
        ok(cudaFreeAsync(black_box(p), s), "cudaFreeAsync");
    }
}

/// Resets the GPU and removes the benchmark's devices however main ends.
struct Cleanup(Config);

impl Drop for Cleanup {
    fn drop(&mut self) {
        // SAFETY: no argument; frees what this process still holds.
        unsafe { cudaDeviceReset() };
        let gpu = Config {
            device: format!("{}-gpu0", self.0.device),
            ..self.0.clone()
        };
        let _ = Device::destroy(&gpu);
        let _ = Device::destroy(&self.0);
    }
}

fn main() {
    // Before any call opens a device: names of our own, 1 GiB of "VRAM".
    let name = format!("bench-cuda-{}", std::process::id());
    std::env::set_var("ACCELMEM_DEVICE", &name);
    std::env::set_var("ACCELMEM_CUDA_MEM", "1G");
    std::env::remove_var("ACCELMEM_CUDA_DEVICES");
    let _cleanup = Cleanup(Config::from_env().unwrap());
    let started = Instant::now();
    // SAFETY: plain call.
    ok(unsafe { cudaSetDevice(0) }, "cudaSetDevice");

    let src = host_buffer(BIG);
    let dst = host_buffer(BIG);
    let (mut pin_src, mut pin_dst, mut d1, mut d2) = (
        null_mut::<c_void>(),
        null_mut::<c_void>(),
        null_mut::<c_void>(),
        null_mut::<c_void>(),
    );
    // SAFETY: valid out-pointers; sizes within the 1 GiB of VRAM; the
    // device buffers are written through cudaMemset, the pinned ones
    // (host memory) directly.
    unsafe {
        ok(cudaMallocHost(&mut pin_src, BIG), "cudaMallocHost");
        ok(cudaMallocHost(&mut pin_dst, BIG), "cudaMallocHost");
        ok(cudaMalloc(&mut d1, BIG), "cudaMalloc");
        ok(cudaMalloc(&mut d2, BIG), "cudaMalloc");
        std::ptr::write_bytes(pin_src as *mut u8, 0x5a, BIG);
        std::ptr::write_bytes(pin_dst as *mut u8, 0x5a, BIG);
        ok(cudaMemset(d1, 1, BIG), "cudaMemset");
        ok(cudaMemset(d2, 1, BIG), "cudaMemset");
    }
    let (pin_src, pin_dst, d1, d2) = (pin_src as *mut u8, pin_dst as *mut u8, d1 as *mut u8, d2 as *mut u8);

    let mut rows = vec![];
    let mut base = || memcpy(dst, src, BIG);
    let it = 4;
    // Calibration: the same copy on both sides shows the harness's own
    // bias (order in a round, drift); ratios within it mean "no difference".
    let dst2 = host_buffer(BIG);
    let r = compare(it, &mut || memcpy(dst2, src, BIG), &mut base);
    rows.push(bw_row("calibration: memcpy 64 MiB into another malloc buffer", "memcpy", r, BIG));
    let copies: [(&str, *mut u8, *const u8, u32); 5] = [
        ("`cudaMemcpy` H2D 64 MiB, pageable source", d1, src, H2D),
        ("`cudaMemcpy` H2D 64 MiB, pinned source", d1, pin_src, H2D),
        ("`cudaMemcpy` D2H 64 MiB, pageable destination", dst, d1, D2H),
        ("`cudaMemcpy` D2H 64 MiB, pinned destination", pin_dst, d1, D2H),
        ("`cudaMemcpy` D2D 64 MiB", d2, d1, D2D),
    ];
    // The same buffers on both sides: what the front itself costs.
    let r = compare(it, &mut || cuda_memcpy(dst, src, BIG, H2H), &mut base);
    rows.push(bw_row("`cudaMemcpy` H2H 64 MiB, the same buffers as memcpy", "memcpy", r, BIG));
    for (what, to, from, kind) in copies {
        let r = compare(it, &mut || cuda_memcpy(to, from, BIG, kind), &mut base);
        rows.push(bw_row(what, "memcpy", r, BIG));
    }
    let small = 4096;
    let r = compare(20_000, &mut || cuda_memcpy(d1, src, small, H2D), &mut || memcpy(dst, src, small));
    rows.push(time_row("`cudaMemcpy` H2D 4 KiB (per-call overhead)", "memcpy", r));

    let mut alloc_rows = vec![];
    for (size, label, iters) in [(256usize, "256 B", 600), (64 << 10, "64 KiB", 600), (4 << 20, "4 MiB", 600)] {
        let r = compare(iters, &mut || cuda_malloc_pair(size), &mut || malloc_pair(size));
        alloc_rows.push(time_row(&format!("`cudaMalloc`+`cudaFree`, {label}"), "malloc+free", r));
    }
    let path = std::ffi::CString::new(format!("/dev/shm/accelmem.{name}-syscalls")).unwrap();
    let r = compare(600, &mut || buffer_syscalls(&path, false), &mut || malloc_pair(64 << 10));
    alloc_rows.push(time_row(
        "experiment: `cudaMalloc`'s system calls alone, 64 KiB (create, 2× open+mmap, unlink, 2× munmap)",
        "malloc+free",
        r,
    ));
    let r = compare(600, &mut || buffer_syscalls(&path, true), &mut || buffer_syscalls(&path, false));
    alloc_rows.push(time_row(
        "experiment: same, both views mapped from the creating fd (no re-open)",
        "with re-opens",
        r,
    ));
    let mut stream: cudaStream_t = null_mut();
    let mut pool: cudaMemPool_t = null_mut();
    let mut threshold: cuuint64_t = u64::MAX;
    // SAFETY: valid out-pointers; the threshold attribute takes a
    // cuuint64_t.
    unsafe {
        ok(cudaStreamCreate(&mut stream), "cudaStreamCreate");
        ok(cudaDeviceGetDefaultMemPool(&mut pool, 0), "cudaDeviceGetDefaultMemPool");
        ok(
            cudaMemPoolSetAttribute(
                pool,
                cudaMemPoolAttrReleaseThreshold as u32,
                (&mut threshold as *mut cuuint64_t).cast(),
            ),
            "cudaMemPoolSetAttribute",
        );
    }
    for (size, label) in [(256usize, "256 B"), (64 << 10, "64 KiB"), (4 << 20, "4 MiB")] {
        let r = compare(20_000, &mut || cuda_malloc_async_pair(size, stream), &mut || malloc_pair(size));
        alloc_rows.push(time_row(
            &format!("`cudaMallocAsync`+`cudaFreeAsync`, {label}, threshold UINT64_MAX"),
            "malloc+free",
            r,
        ));
    }

    // Experiments on the copy path, outside accelmem.
    let mut exp_rows = vec![];
    let r = compare_n(FRESH_ROUNDS, 1, &mut || cuda_fresh_h2d(src), &mut || anon_first_copy(src, false));
    exp_rows.push(time_row(
        "fresh buffer: `cudaMalloc` + first H2D 64 MiB + `cudaFree`",
        "mmap anon + first memcpy + munmap",
        r,
    ));
    for (fill, what) in [
        (Fill::Fault, "tmpfs `MAP_SHARED`, page faults during the copy"),
        (Fill::Populate, "tmpfs `MAP_SHARED` + `MAP_POPULATE`"),
        (Fill::MadvPopulate, "tmpfs `MAP_SHARED` + `MADV_POPULATE_WRITE`"),
        (Fill::Fallocate, "tmpfs `fallocate` + `MAP_SHARED`"),
    ] {
        let r = compare_n(FRESH_ROUNDS, 1, &mut || shm_first_copy(src, fill), &mut || {
            anon_first_copy(src, false)
        });
        exp_rows.push(time_row(
            &format!("experiment, fresh 64 MiB: {what} + first memcpy"),
            "mmap anon + first memcpy + munmap",
            r,
        ));
    }
    let r = compare_n(FRESH_ROUNDS, 1, &mut || anon_first_copy(src, true), &mut || {
        anon_first_copy(src, false)
    });
    exp_rows.push(time_row(
        "experiment, fresh 64 MiB: anon + `MADV_HUGEPAGE` + first memcpy",
        "mmap anon + first memcpy + munmap",
        r,
    ));
    let shm = shm_buffer();
    let r = compare(it, &mut || memcpy(shm, src, BIG), &mut base);
    exp_rows.push(bw_row(
        "experiment: memcpy 64 MiB into a pre-faulted tmpfs `MAP_SHARED` view",
        "memcpy",
        r,
        BIG,
    ));
    let huge = huge_buffer();
    let r = compare(it, &mut || memcpy(huge, src, BIG), &mut base);
    exp_rows.push(bw_row(
        "experiment: memcpy 64 MiB into pre-faulted anon + `MADV_HUGEPAGE`",
        "memcpy",
        r,
        BIG,
    ));
    // SAFETY: distinct live buffers of BIG bytes.
    let r = compare(it, &mut || unsafe { std::ptr::copy(src, dst, BIG) }, &mut base);
    exp_rows.push(bw_row(
        "experiment: `ptr::copy` (memmove) 64 MiB",
        "`copy_nonoverlapping` (memcpy)",
        r,
        BIG,
    ));

    println!();
    println!("| benchmark | accelmem | baseline | ratio |");
    println!("|---|---|---|---|");
    for r in rows.iter().chain(&alloc_rows).chain(&exp_rows) {
        println!("{r}");
    }
    println!();
    println!(
        "Medians of {ROUNDS} rounds ({FRESH_ROUNDS} for fresh buffers), alternating sides and which goes first. Bandwidth rows: ratio = accelmem / baseline (above 1 is faster). \
         Time rows: ratio = accelmem / baseline (above 1 is slower). Total {:.1} s.",
        started.elapsed().as_secs_f64()
    );
    // The pinned and device buffers go with cudaDeviceReset in Cleanup.
    // SAFETY: from host_buffer / the mmaps above, freed once.
    unsafe {
        libc::free(src.cast());
        libc::free(dst.cast());
        libc::free(dst2.cast());
        libc::munmap(shm.cast(), BIG);
        libc::munmap(huge.cast(), BIG);
    }
}

/// A fresh device buffer's life: allocate, first copy in, free.
fn cuda_fresh_h2d(src: *const u8) {
    let mut p: *mut c_void = null_mut();
    // SAFETY: valid out-pointer; 64 MiB fits the 1 GiB VRAM; freed once.
    unsafe {
        ok(cudaMalloc(&mut p, BIG), "cudaMalloc");
        cuda_memcpy(p.cast(), src, BIG, H2D);
        ok(cudaFree(p), "cudaFree");
    }
}
