//! Bad input through every exported CUDA runtime function (`cudaMalloc` &
//! co., with their `_v2`/`_ptds`/`_ptsz` names): each call gets CUDA 12's
//! error code, `cudaGetLastError` reports it once and `cudaPeekAtLastError`
//! does not reset it, out-parameters stay untouched, and the emulated GPU
//! stays intact (a fresh cudaMalloc/cudaMemcpy round trip with a data check,
//! free memory back at its value before the bad call, and the GPU engine
//! device's `check()`). Also: pointer attributes, `cudaMemcpyDefault`,
//! `cudaMemGetInfo` accounting, `cudaDeviceReset`, and a thread-safety run.
//!
//! The exports open one process-global runtime from the environment, so
//! `init()` sets the environment once, before any export runs. Every test
//! holds `SERIAL`: free-memory baselines and `cudaDeviceReset` are
//! device-wide, so tests must not overlap.
//!
//! Tests marked `#[ignore]` assert what CUDA 12 does where the front differs;
//! the reason names the difference.

mod common;

use accelmem::api::cuda::cuda_runtime_api::*;
use accelmem::api::cuda::driver_types::cudaError::{self, *};
use accelmem::api::cuda::driver_types::*;
use accelmem::engine::{Config, Device, GRAIN};
use std::cell::{Cell, RefCell};
use std::ffi::{c_int, c_uint, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::{Mutex, MutexGuard, Once, OnceLock};

type P = *mut c_void;

const DIR_PREFIX: &str = "accelmem-test-cudabad-";
const VRAM: usize = 256 << 20;
const PAGE: usize = GRAIN as usize;
/// What out-parameters hold before a call that must not write them.
const SENT: usize = 0x5e47_1000;
/// An address no allocator handed out (and nothing is mapped at).
const RANDOM: usize = 0x7a5a_1234_5000;

const H2H: u32 = cudaMemcpyKind::cudaMemcpyHostToHost as u32;
const H2D: u32 = cudaMemcpyKind::cudaMemcpyHostToDevice as u32;
const D2H: u32 = cudaMemcpyKind::cudaMemcpyDeviceToHost as u32;
const D2D: u32 = cudaMemcpyKind::cudaMemcpyDeviceToDevice as u32;
const DEFAULT: u32 = cudaMemcpyKind::cudaMemcpyDefault as u32;

const LEGACY: cudaStream_t = 1 as cudaStream_t;
const PER_THREAD: cudaStream_t = 2 as cudaStream_t;
const BOGUS_STREAM: cudaStream_t = 0xdead_0000 as cudaStream_t;
const BOGUS_EVENT: cudaEvent_t = 0xdead_1000 as cudaEvent_t;
const BOGUS_POOL: cudaMemPool_t = 0xdead_2000 as cudaMemPool_t;

/// Call an export.
macro_rules! c {
    ($e:expr) => {{
        #[allow(unused_unsafe)]
        // SAFETY: every pointer this file passes is either valid for what the
        // export reads or writes (live buffers at least as long as the count
        // given), or invalid on purpose (NULL, never handed out, freed, out
        // of range) where the export must reject it without touching it.
        let r = unsafe { $e };
        r
    }};
}

// ---------------------------------------------------------------- setup

fn dev_name() -> String {
    format!("t-cudabad-{}", std::process::id())
}

static INIT: Once = Once::new();

/// Point the runtime at a private directory, device name and a 256 MiB GPU,
/// once, before any export is called.
fn init() {
    INIT.call_once(|| {
        let dir = common::own_shm_dir(DIR_PREFIX);
        std::env::set_var("ACCELMEM_DEVICE", dev_name());
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
        std::env::set_var("ACCELMEM_CUDA_MEM", "256M");
        std::env::set_var("ACCELMEM_CUDA_HOST_MEM", "128M");
        std::env::set_var("ACCELMEM_CUDA_DEVICES", "1");
        std::env::remove_var("ACCELMEM_ZONES");
    });
}

/// The GPU's engine device, opened beside the runtime's own handle.
fn gpu_dev() -> &'static Device {
    static D: OnceLock<Device> = OnceLock::new();
    D.get_or_init(|| {
        // Makes the runtime open (create) GPU 0.
        eq("cudaSetDevice(0)", c!(cudaSetDevice(0)), cudaSuccess);
        let cfg = Config {
            device: format!("{}-gpu0", dev_name()),
            shm_dir: common::own_shm_dir(DIR_PREFIX),
            ..Config::default()
        };
        Device::open_existing(cfg).expect("the GPU engine device exists after cudaSetDevice(0)")
    })
}

static SERIAL: Mutex<()> = Mutex::new(());

/// The GPU's live engine blocks: zone, address, size, name.
fn gpu_blocks() -> Vec<String> {
    gpu_dev()
        .zones()
        .expect("list the GPU's zones")
        .iter()
        .flat_map(|z| z.blocks.iter())
        .map(|b| format!("{} {:#x}+{:#x} '{}'", b.zone, b.phys, b.size, b.name))
        .collect()
}

// ---------------------------------------------------------------- codes and small calls

fn code_name(c: u32) -> String {
    let p = c!(cudaGetErrorName(c));
    let s = if p.is_null() {
        "<NULL>".to_string()
    } else {
        c!(CStr::from_ptr(p)).to_string_lossy().into_owned()
    };
    format!("{s} ({c})")
}

#[track_caller]
fn eq(what: &str, got: u32, want: cudaError) {
    assert!(
        got == want as u32,
        "{what}: got {}, want {}",
        code_name(got),
        code_name(want as u32)
    );
}

fn peek() -> u32 {
    c!(cudaPeekAtLastError())
}

fn get_last() -> u32 {
    c!(cudaGetLastError())
}

/// The last error is `want`: peeking twice shows it, getting it once
/// returns it and resets it.
#[track_caller]
fn last_error_is(what: &str, want: cudaError) {
    eq(&format!("{what}: cudaPeekAtLastError"), peek(), want);
    eq(&format!("{what}: cudaPeekAtLastError again"), peek(), want);
    eq(&format!("{what}: cudaGetLastError"), get_last(), want);
    eq(&format!("{what}: cudaGetLastError after reading it"), get_last(), cudaSuccess);
    eq(&format!("{what}: cudaPeekAtLastError after reset"), peek(), cudaSuccess);
}

fn sync() {
    eq("cudaDeviceSynchronize", c!(cudaDeviceSynchronize()), cudaSuccess);
}

fn mem_info() -> (usize, usize) {
    let (mut f, mut t) = (0usize, 0usize);
    eq("cudaMemGetInfo", c!(cudaMemGetInfo(&mut f, &mut t)), cudaSuccess);
    (f, t)
}

fn mem_free() -> usize {
    mem_info().0
}

fn pattern(seed: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(131).wrapping_add(seed.wrapping_mul(7919)).wrapping_add(1) as u8)
        .collect()
}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

fn at(p: P, off: usize) -> P {
    (p as usize + off) as P
}

fn sent<T>() -> *mut T {
    SENT as *mut T
}

/// A heap block from the C allocator; freed on drop.
struct Malloced(P);

impl Malloced {
    fn new(len: usize) -> Malloced {
        // SAFETY: plain allocation, checked below.
        let p = unsafe { libc::malloc(len) };
        assert!(!p.is_null());
        Malloced(p)
    }
}

impl Drop for Malloced {
    fn drop(&mut self) {
        // SAFETY: allocated by malloc in `new`, freed once.
        unsafe { libc::free(self.0) };
    }
}

/// Page-aligned anonymous memory for cudaHostRegister; unmapped on drop.
struct Pages(P, usize);

impl Pages {
    fn new(len: usize) -> Pages {
        // SAFETY: a fresh private anonymous mapping; the result is checked.
        let p = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED);
        Pages(p, len)
    }
}

impl Drop for Pages {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.0, self.1) };
    }
}

/// Host bytes at `p` (a live host-accessible block of at least `len` bytes).
fn host_read(p: P, len: usize) -> Vec<u8> {
    // SAFETY: callers pass host-accessible memory at least `len` long.
    unsafe { std::slice::from_raw_parts(p as *const u8, len) }.to_vec()
}

fn host_write(p: P, data: &[u8]) {
    // SAFETY: callers pass host-accessible memory at least `data.len()` long.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len()) };
}

fn attrs(p: *const c_void) -> (u32, cudaPointerAttributes) {
    let mut a = cudaPointerAttributes {
        r#type: 77,
        device: 77,
        devicePointer: sent(),
        hostPointer: sent(),
    };
    let r = c!(cudaPointerGetAttributes(&mut a, p));
    (r, a)
}

// ---------------------------------------------------------------- the per-test context

/// One test: holds `SERIAL`; knows the free device memory the GPU should
/// show (`expected`, re-measured after each intended change) and at the
/// start (`baseline`).
struct T {
    _g: MutexGuard<'static, ()>,
    baseline: Cell<usize>,
    expected: Cell<usize>,
    /// The GPU's engine blocks, as `expected` and as `baseline`.
    blocks: RefCell<Vec<String>>,
    start_blocks: RefCell<Vec<String>>,
    round: Cell<u32>,
}

impl T {
    fn new() -> T {
        init();
        let g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        gpu_dev();
        // A failed test on this thread must not fail the next one too.
        get_last();
        sync();
        let f = mem_free();
        T {
            _g: g,
            baseline: Cell::new(f),
            expected: Cell::new(f),
            blocks: RefCell::new(gpu_blocks()),
            start_blocks: RefCell::new(gpu_blocks()),
            round: Cell::new(0),
        }
    }

    /// After an intended change: sync (pools trim) and take free memory as
    /// the new expectation.
    fn settle(&self) {
        sync();
        self.expected.set(mem_free());
        *self.blocks.borrow_mut() = gpu_blocks();
    }

    /// A call that must succeed and leave no error behind.
    #[track_caller]
    fn ok(&self, what: &str, got: u32) {
        eq(what, got, cudaSuccess);
        eq(&format!("{what}: cudaPeekAtLastError after success"), peek(), cudaSuccess);
    }

    /// A call that must fail with `want`: the code, the error state, and an
    /// intact device.
    #[track_caller]
    fn bad(&self, what: &str, got: u32, want: cudaError) {
        eq(what, got, want);
        last_error_is(what, want);
        self.intact(what);
    }

    /// The GPU still works and nothing leaked: free memory and the engine's
    /// blocks as expected, a fresh round trip with a data check. (The
    /// engine's full `check()` scans the 64 GiB host zone's page map, about
    /// 0.4 s in a debug build, so it runs once per test, in `done()`.)
    #[track_caller]
    fn intact(&self, what: &str) {
        sync();
        assert_eq!(mem_free(), self.expected.get(), "{what}: free device memory changed");
        assert_eq!(gpu_blocks(), *self.blocks.borrow(), "{what}: the GPU's engine blocks changed");
        self.round.set(self.round.get() + 1);
        let n = 3 * 4096 + 17;
        let src = pattern(self.round.get(), n);
        let mut back = vec![0u8; n];
        let mut d: P = null_mut();
        eq(&format!("{what}: round-trip cudaMalloc"), c!(cudaMalloc(&mut d, n)), cudaSuccess);
        assert!(!d.is_null() && d as usize % 256 == 0, "{what}: round-trip pointer {d:p}");
        eq(
            &format!("{what}: round-trip H2D"),
            c!(cudaMemcpy(d, src.as_ptr().cast(), n, H2D)),
            cudaSuccess,
        );
        eq(
            &format!("{what}: round-trip D2H"),
            c!(cudaMemcpy(back.as_mut_ptr().cast(), d, n, D2H)),
            cudaSuccess,
        );
        assert!(back == src, "{what}: round-trip data differ");
        eq(&format!("{what}: round-trip cudaFree"), c!(cudaFree(d)), cudaSuccess);
        assert_eq!(mem_free(), self.expected.get(), "{what}: round trip did not give its memory back");
        assert_eq!(gpu_blocks(), *self.blocks.borrow(), "{what}: round trip left engine blocks");
        eq(&format!("{what}: error after round trip"), peek(), cudaSuccess);
    }

    /// End of test: intact, and free memory back to the start's.
    #[track_caller]
    fn done(self) {
        self.intact("end of test");
        if let Err(e) = gpu_dev().check() {
            panic!("end of test: GPU engine check failed: {e}");
        }
        assert_eq!(
            mem_free(),
            self.baseline.get(),
            "end of test: device memory not back to the start's"
        );
        assert_eq!(
            gpu_blocks(),
            *self.start_blocks.borrow(),
            "end of test: GPU blocks (device or pinned) left"
        );
    }

    #[track_caller]
    fn malloc(&self, n: usize) -> P {
        let mut p: P = null_mut();
        self.ok("cudaMalloc", c!(cudaMalloc(&mut p, n)));
        assert!(!p.is_null() && p as usize % 256 == 0, "cudaMalloc({n}) gave {p:p}");
        self.settle();
        p
    }

    #[track_caller]
    fn free(&self, p: P) {
        self.ok("cudaFree", c!(cudaFree(p)));
        self.settle();
    }

    #[track_caller]
    fn host_alloc(&self, n: usize, flags: c_uint) -> P {
        let mut p: P = null_mut();
        self.ok("cudaHostAlloc", c!(cudaHostAlloc(&mut p, n, flags)));
        assert!(!p.is_null());
        self.settle();
        p
    }

    #[track_caller]
    fn free_host(&self, p: P) {
        self.ok("cudaFreeHost", c!(cudaFreeHost(p)));
        self.settle();
    }

    #[track_caller]
    fn managed(&self, n: usize) -> P {
        let mut p: P = null_mut();
        self.ok("cudaMallocManaged", c!(cudaMallocManaged(&mut p, n, cudaMemAttachGlobal)));
        assert!(!p.is_null());
        self.settle();
        p
    }

    #[track_caller]
    fn h2d(&self, d: P, data: &[u8]) {
        self.ok("H2D", c!(cudaMemcpy(d, data.as_ptr().cast(), data.len(), H2D)));
    }

    #[track_caller]
    fn d2h(&self, s: *const c_void, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        self.ok("D2H", c!(cudaMemcpy(v.as_mut_ptr().cast(), s, n, D2H)));
        v
    }

    #[track_caller]
    fn stream(&self) -> cudaStream_t {
        let mut s: cudaStream_t = null_mut();
        self.ok("cudaStreamCreate", c!(cudaStreamCreate(&mut s)));
        assert!(!s.is_null());
        s
    }

    #[track_caller]
    fn event(&self, flags: c_uint) -> cudaEvent_t {
        let mut e: cudaEvent_t = null_mut();
        self.ok("cudaEventCreateWithFlags", c!(cudaEventCreateWithFlags(&mut e, flags)));
        assert!(!e.is_null());
        e
    }

    fn pool(&self) -> cudaMemPool_t {
        let mut p: cudaMemPool_t = null_mut();
        self.ok("cudaDeviceGetDefaultMemPool", c!(cudaDeviceGetDefaultMemPool(&mut p, 0)));
        assert!(!p.is_null());
        p
    }
}

// ================================================================ error state

#[test]
fn last_error_rules_and_strings() {
    let t = T::new();
    eq("no error at start", peek(), cudaSuccess);
    eq("cudaMalloc(NULL)", c!(cudaMalloc(null_mut(), 16)), cudaErrorInvalidValue);
    eq("peek", peek(), cudaErrorInvalidValue);
    // A successful call does not clear the last error.
    let mut p: P = null_mut();
    eq("cudaMalloc", c!(cudaMalloc(&mut p, 16)), cudaSuccess);
    eq("peek after a success", peek(), cudaErrorInvalidValue);
    // A newer error replaces it.
    eq("cudaSetDevice(-1)", c!(cudaSetDevice(-1)), cudaErrorInvalidDevice);
    last_error_is("newer error", cudaErrorInvalidDevice);
    // The last error belongs to the calling thread.
    eq("cudaFree(random)", c!(cudaFree(RANDOM as P)), cudaErrorInvalidValue);
    std::thread::spawn(|| {
        eq("other thread sees no error", peek(), cudaSuccess);
        eq("cudaSetDevice(7) there", c!(cudaSetDevice(7)), cudaErrorInvalidDevice);
        last_error_is("other thread", cudaErrorInvalidDevice);
    })
    .join()
    .unwrap();
    last_error_is("this thread after the other's error", cudaErrorInvalidValue);
    eq("cudaFree", c!(cudaFree(p)), cudaSuccess);

    let s = |f: unsafe extern "C" fn(cudaError_t) -> *const std::ffi::c_char, c: u32| {
        let p = c!(f(c));
        assert!(!p.is_null(), "NULL string for {c}");
        c!(CStr::from_ptr(p)).to_str().unwrap().to_string()
    };
    for (c, name, text) in [
        (0u32, "cudaSuccess", "no error"),
        (1, "cudaErrorInvalidValue", "invalid argument"),
        (2, "cudaErrorMemoryAllocation", "out of memory"),
        (12, "cudaErrorInvalidPitchValue", "invalid pitch argument"),
        (21, "cudaErrorInvalidMemcpyDirection", "invalid copy direction for memcpy"),
        (101, "cudaErrorInvalidDevice", "invalid device ordinal"),
        (400, "cudaErrorInvalidResourceHandle", "invalid resource handle"),
        (
            712,
            "cudaErrorHostMemoryAlreadyRegistered",
            "part or all of the requested memory range is already mapped",
        ),
        (
            713,
            "cudaErrorHostMemoryNotRegistered",
            "pointer does not correspond to a registered memory region",
        ),
    ] {
        assert_eq!(s(cudaGetErrorName, c), name);
        assert_eq!(s(cudaGetErrorString, c), text);
    }
    for c in [10, 12345, u32::MAX, 0x8000_0000] {
        assert_eq!(s(cudaGetErrorName, c), "unrecognized error code", "name of {c}");
        assert_eq!(s(cudaGetErrorString, c), "unrecognized error code", "string of {c}");
    }
    eq("the string functions record no error", peek(), cudaSuccess);
    t.done();
}

// ================================================================ device memory

#[test]
fn malloc_and_free() {
    let t = T::new();
    let mut p: P = sent();
    t.bad("cudaMalloc(NULL, 16)", c!(cudaMalloc(null_mut(), 16)), cudaErrorInvalidValue);
    for n in [usize::MAX, usize::MAX / 2 + 1, VRAM + 1, VRAM + PAGE] {
        t.bad(&format!("cudaMalloc({n:#x})"), c!(cudaMalloc(&mut p, n)), cudaErrorMemoryAllocation);
        assert_eq!(p, sent(), "cudaMalloc({n:#x}) wrote *devPtr on failure");
    }
    // Size 0 allocates nothing and returns NULL.
    t.ok("cudaMalloc(0)", c!(cudaMalloc(&mut p, 0)));
    assert!(p.is_null(), "cudaMalloc(0) gave {p:p}");
    t.intact("cudaMalloc(0)");
    t.ok("cudaFree(NULL)", c!(cudaFree(null_mut())));

    let n = 10_000;
    let d = t.malloc(n);
    let data = pattern(1, n);
    t.h2d(d, &data);
    let m = Malloced::new(4096);
    let mut stack = [0u8; 64];
    for (what, q) in [
        ("malloc'ed", m.0),
        ("stack", stack.as_mut_ptr().cast()),
        ("random", RANDOM as P),
        ("address 1", 1 as P),
        ("top of the address space", (usize::MAX & !255) as P),
        ("interior +1", at(d, 1)),
        ("interior +256", at(d, 256)),
        ("one past the end", at(d, n)),
    ] {
        t.bad(&format!("cudaFree({what})"), c!(cudaFree(q)), cudaErrorInvalidValue);
    }
    assert!(t.d2h(d, n) == data, "the block changed after bad frees");
    t.free(d);
    t.bad("double cudaFree", c!(cudaFree(d)), cudaErrorInvalidValue);

    // Host memory is not freed by cudaFree.
    let h = t.host_alloc(4096, cudaHostAllocDefault);
    host_write(h, &pattern(2, 4096));
    t.bad("cudaFree(cudaMallocHost memory)", c!(cudaFree(h)), cudaErrorInvalidValue);
    assert!(host_read(h, 4096) == pattern(2, 4096), "pinned memory changed after cudaFree");
    t.free_host(h);
    let r = Pages::new(2 * PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, r.1, 0)));
    t.bad("cudaFree(registered memory)", c!(cudaFree(r.0)), cudaErrorInvalidValue);
    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    // Every device kind is freed by cudaFree.
    let mut q: P = null_mut();
    let mut pitch = 0usize;
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut q, &mut pitch, 100, 4)));
    t.ok("cudaFree(pitched)", c!(cudaFree(q)));
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut q, 100, null_mut())));
    t.ok("cudaFree(async)", c!(cudaFree(q)));
    let mm = t.managed(100);
    t.free(mm);
    t.done();
}

#[test]
fn malloc_pitch() {
    let t = T::new();
    let (mut p, mut pitch): (P, usize) = (sent(), SENT);
    t.bad(
        "cudaMallocPitch(NULL ptr)",
        c!(cudaMallocPitch(null_mut(), &mut pitch, 100, 4)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaMallocPitch(NULL pitch)",
        c!(cudaMallocPitch(&mut p, null_mut(), 100, 4)),
        cudaErrorInvalidValue,
    );
    for (w, h) in [
        (usize::MAX, 1),
        (usize::MAX - 100, 2),
        (1 << 20, 1 << 50),
        (4096, VRAM / 4096 + 1),
        (VRAM + 1, 1),
    ] {
        t.bad(
            &format!("cudaMallocPitch({w:#x} x {h:#x})"),
            c!(cudaMallocPitch(&mut p, &mut pitch, w, h)),
            cudaErrorMemoryAllocation,
        );
        assert_eq!((p, pitch), (sent(), SENT), "out-parameters written on failure");
    }
    // Nothing to allocate: success and NULL.
    t.ok("cudaMallocPitch(0 x 4)", c!(cudaMallocPitch(&mut p, &mut pitch, 0, 4)));
    assert!(p.is_null());
    t.ok("cudaMallocPitch(100 x 0)", c!(cudaMallocPitch(&mut p, &mut pitch, 100, 0)));
    assert!(p.is_null());
    t.intact("zero-size pitch");
    // A real one: rows padded to a multiple of 512.
    t.ok("cudaMallocPitch(700 x 5)", c!(cudaMallocPitch(&mut p, &mut pitch, 700, 5)));
    assert!(!p.is_null() && pitch >= 700 && pitch % 512 == 0, "pitch {pitch}");
    t.settle();
    t.free(p);
    t.done();
}

#[test]
fn malloc_managed() {
    let t = T::new();
    let mut p: P = sent();
    t.bad(
        "cudaMallocManaged(NULL)",
        c!(cudaMallocManaged(null_mut(), 16, cudaMemAttachGlobal)),
        cudaErrorInvalidValue,
    );
    // CUDA: "If size is 0, cudaMallocManaged returns cudaErrorInvalidValue".
    t.bad(
        "cudaMallocManaged(0)",
        c!(cudaMallocManaged(&mut p, 0, cudaMemAttachGlobal)),
        cudaErrorInvalidValue,
    );
    for f in [0, cudaMemAttachSingle, cudaMemAttachGlobal | cudaMemAttachHost, 8, 0x100, u32::MAX] {
        t.bad(
            &format!("cudaMallocManaged(flags {f:#x})"),
            c!(cudaMallocManaged(&mut p, 16, f)),
            cudaErrorInvalidValue,
        );
    }
    for n in [usize::MAX, VRAM + 1] {
        t.bad(
            &format!("cudaMallocManaged({n:#x})"),
            c!(cudaMallocManaged(&mut p, n, cudaMemAttachGlobal)),
            cudaErrorMemoryAllocation,
        );
    }
    assert_eq!(p, sent(), "*devPtr written on failure");
    // Managed memory is host-accessible and device-copyable.
    let m = t.managed(5000);
    host_write(m, &pattern(3, 5000));
    assert!(t.d2h(m, 5000) == pattern(3, 5000));
    t.bad("cudaFreeHost(managed)", c!(cudaFreeHost(m)), cudaErrorInvalidValue);
    t.bad("cudaFree(managed interior)", c!(cudaFree(at(m, 8))), cudaErrorInvalidValue);
    t.free(m);
    t.bad("double cudaFree(managed)", c!(cudaFree(m)), cudaErrorInvalidValue);
    let mut q: P = null_mut();
    t.ok(
        "cudaMallocManaged(AttachHost)",
        c!(cudaMallocManaged(&mut q, 64, cudaMemAttachHost)),
    );
    t.ok("cudaFree", c!(cudaFree(q)));
    t.done();
}

// ================================================================ host memory

#[test]
fn host_alloc_and_free() {
    let t = T::new();
    let mut p: P = sent();
    t.bad("cudaMallocHost(NULL)", c!(cudaMallocHost(null_mut(), 16)), cudaErrorInvalidValue);
    t.bad("cudaHostAlloc(NULL)", c!(cudaHostAlloc(null_mut(), 16, 0)), cudaErrorInvalidValue);
    for f in [8, 0x10, 0x8000_0000, u32::MAX] {
        t.bad(
            &format!("cudaHostAlloc(flags {f:#x})"),
            c!(cudaHostAlloc(&mut p, 16, f)),
            cudaErrorInvalidValue,
        );
    }
    for n in [usize::MAX, usize::MAX / 2 + 1] {
        t.bad(
            &format!("cudaMallocHost({n:#x})"),
            c!(cudaMallocHost(&mut p, n)),
            cudaErrorMemoryAllocation,
        );
        t.bad(
            &format!("cudaHostAlloc({n:#x})"),
            c!(cudaHostAlloc(&mut p, n, 0)),
            cudaErrorMemoryAllocation,
        );
    }
    // ACCELMEM_CUDA_HOST_MEM (128 MiB here) bounds pinned host memory.
    t.bad(
        "cudaMallocHost(192 MiB)",
        c!(cudaMallocHost(&mut p, 192 << 20)),
        cudaErrorMemoryAllocation,
    );
    assert_eq!(p, sent(), "*ptr written on failure");
    t.ok("cudaMallocHost(0)", c!(cudaMallocHost(&mut p, 0)));
    assert!(p.is_null(), "cudaMallocHost(0) gave {p:p}");
    t.ok("cudaFreeHost(NULL)", c!(cudaFreeHost(null_mut())));

    let h = t.host_alloc(8192, cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined);
    host_write(h, &pattern(4, 8192));
    let mut f: c_uint = 0;
    t.ok("cudaHostGetFlags", c!(cudaHostGetFlags(&mut f, at(h, 100))));
    assert_eq!(f & 7, 7, "cudaHostGetFlags lost flags");
    let d = t.malloc(4096);
    t.h2d(d, &pattern(5, 4096));
    let m = Malloced::new(4096);
    let mut stack = [0u8; 64];
    for (what, q) in [
        ("device memory", d),
        ("malloc'ed", m.0),
        ("stack", stack.as_mut_ptr().cast()),
        ("random", RANDOM as P),
        ("interior", at(h, 16)),
        ("one past the end", at(h, 8192)),
    ] {
        t.bad(&format!("cudaFreeHost({what})"), c!(cudaFreeHost(q)), cudaErrorInvalidValue);
    }
    assert!(t.d2h(d, 4096) == pattern(5, 4096), "device memory changed after cudaFreeHost");
    assert!(host_read(h, 8192) == pattern(4, 8192), "pinned memory changed after bad frees");
    t.free(d);
    t.free_host(h);
    t.bad("double cudaFreeHost", c!(cudaFreeHost(h)), cudaErrorInvalidValue);
    let r = Pages::new(PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, r.1, 0)));
    t.bad("cudaFreeHost(registered)", c!(cudaFreeHost(r.0)), cudaErrorInvalidValue);
    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    let mut q: P = null_mut();
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut q, 64, null_mut())));
    t.settle();
    t.bad("cudaFreeHost(cudaMallocAsync memory)", c!(cudaFreeHost(q)), cudaErrorInvalidValue);
    t.ok("cudaFreeAsync", c!(cudaFreeAsync(q, null_mut())));
    t.settle();
    t.done();
}

#[test]
fn host_register_and_mapping() {
    let t = T::new();
    let r = Pages::new(4 * PAGE);
    t.bad(
        "cudaHostRegister(NULL)",
        c!(cudaHostRegister(null_mut(), PAGE, 0)),
        cudaErrorInvalidValue,
    );
    t.bad("cudaHostRegister(size 0)", c!(cudaHostRegister(r.0, 0, 0)), cudaErrorInvalidValue);
    for f in [0x10, 0x8000_0000, u32::MAX] {
        t.bad(
            &format!("cudaHostRegister(flags {f:#x})"),
            c!(cudaHostRegister(r.0, PAGE, f)),
            cudaErrorInvalidValue,
        );
    }
    t.bad(
        "cudaHostRegister(wrapping range)",
        c!(cudaHostRegister(r.0, usize::MAX, 0)),
        cudaErrorInvalidValue,
    );
    let d = t.malloc(4096);
    t.bad(
        "cudaHostRegister(device memory)",
        c!(cudaHostRegister(d, 4096, 0)),
        cudaErrorInvalidValue,
    );

    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, 2 * PAGE, cudaHostRegisterMapped)));
    t.bad(
        "register twice",
        c!(cudaHostRegister(r.0, 2 * PAGE, 0)),
        cudaErrorHostMemoryAlreadyRegistered,
    );
    t.bad(
        "register an overlapping range",
        c!(cudaHostRegister(at(r.0, PAGE), 2 * PAGE, 0)),
        cudaErrorHostMemoryAlreadyRegistered,
    );
    t.bad(
        "register a range ending inside",
        c!(cudaHostRegister(at(r.0, 8), PAGE, 0)),
        cudaErrorHostMemoryAlreadyRegistered,
    );
    // The range just after is free to register.
    t.ok("register the next page", c!(cudaHostRegister(at(r.0, 2 * PAGE), PAGE, 0)));
    t.ok("unregister it", c!(cudaHostUnregister(at(r.0, 2 * PAGE))));

    let m = Malloced::new(256);
    t.bad(
        "cudaHostUnregister(NULL)",
        c!(cudaHostUnregister(null_mut())),
        cudaErrorInvalidValue,
    );
    for (what, q) in [("malloc'ed", m.0), ("random", RANDOM as P), ("interior", at(r.0, 8)), ("device", d)] {
        t.bad(
            &format!("cudaHostUnregister({what})"),
            c!(cudaHostUnregister(q)),
            cudaErrorHostMemoryNotRegistered,
        );
    }

    // Device pointers of mapped host memory; flags of registrations.
    let mut dp: P = sent();
    t.bad(
        "cudaHostGetDevicePointer(NULL out)",
        c!(cudaHostGetDevicePointer(null_mut(), r.0, 0)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaHostGetDevicePointer(NULL host)",
        c!(cudaHostGetDevicePointer(&mut dp, null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaHostGetDevicePointer(flags 1)",
        c!(cudaHostGetDevicePointer(&mut dp, r.0, 1)),
        cudaErrorInvalidValue,
    );
    for (what, q) in [
        ("malloc'ed", m.0),
        ("device", d),
        ("random", RANDOM as P),
        ("past the registration", at(r.0, 2 * PAGE)),
    ] {
        t.bad(
            &format!("cudaHostGetDevicePointer({what})"),
            c!(cudaHostGetDevicePointer(&mut dp, q, 0)),
            cudaErrorInvalidValue,
        );
    }
    assert_eq!(dp, sent(), "*pDevice written on failure");
    t.ok(
        "cudaHostGetDevicePointer(registered)",
        c!(cudaHostGetDevicePointer(&mut dp, at(r.0, 100), 0)),
    );
    assert_eq!(dp, at(r.0, 100), "unified addressing: the device pointer is the host pointer");

    let mut f: c_uint = 0xdead;
    t.bad(
        "cudaHostGetFlags(NULL out)",
        c!(cudaHostGetFlags(null_mut(), r.0)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaHostGetFlags(NULL host)",
        c!(cudaHostGetFlags(&mut f, null_mut())),
        cudaErrorInvalidValue,
    );
    for (what, q) in [("malloc'ed", m.0), ("device", d), ("random", RANDOM as P)] {
        t.bad(
            &format!("cudaHostGetFlags({what})"),
            c!(cudaHostGetFlags(&mut f, q)),
            cudaErrorInvalidValue,
        );
    }
    assert_eq!(f, 0xdead, "*pFlags written on failure");

    // Registered memory copies to and from the device.
    host_write(r.0, &pattern(6, 2 * PAGE));
    let d2 = t.malloc(2 * PAGE);
    t.ok("D2D from registered", c!(cudaMemcpy(d2, r.0, 2 * PAGE, D2D)));
    assert!(t.d2h(d2, 2 * PAGE) == pattern(6, 2 * PAGE));

    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    t.bad("unregister twice", c!(cudaHostUnregister(r.0)), cudaErrorHostMemoryNotRegistered);
    t.bad(
        "cudaHostGetDevicePointer(unregistered)",
        c!(cudaHostGetDevicePointer(&mut dp, r.0, 0)),
        cudaErrorInvalidValue,
    );
    // Pinned allocations map too, at any offset.
    let h = t.host_alloc(4096, 0);
    t.ok(
        "cudaHostGetDevicePointer(pinned)",
        c!(cudaHostGetDevicePointer(&mut dp, at(h, 40), 0)),
    );
    assert_eq!(dp, at(h, 40));
    t.free_host(h);
    t.free(d);
    t.free(d2);
    t.done();
}

#[test]

fn host_get_flags_of_registered_memory_fails() {
    let t = T::new();
    let r = Pages::new(PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, PAGE, cudaHostRegisterMapped)));
    let mut f: c_uint = 0xdead;
    let res = c!(cudaHostGetFlags(&mut f, r.0));
    get_last();
    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    eq("cudaHostGetFlags(registered)", res, cudaErrorInvalidValue);
    assert_eq!(f, 0xdead, "*pFlags written on failure");
    t.done();
}

#[test]

fn host_register_of_pinned_memory_is_already_registered() {
    let t = T::new();
    let h = t.host_alloc(2 * PAGE, 0);
    t.bad(
        "cudaHostRegister(cudaMallocHost memory)",
        c!(cudaHostRegister(h, PAGE, 0)),
        cudaErrorHostMemoryAlreadyRegistered,
    );
    t.free_host(h);
    t.done();
}

// ================================================================ pointer attributes

#[test]
fn pointer_attributes() {
    let t = T::new();
    let dev = cudaMemoryType::cudaMemoryTypeDevice as u32;
    let host = cudaMemoryType::cudaMemoryTypeHost as u32;
    let managed = cudaMemoryType::cudaMemoryTypeManaged as u32;
    let unreg = cudaMemoryType::cudaMemoryTypeUnregistered as u32;
    let check = |what: &str, p: P, ty: u32, device: c_int, dptr: P, hptr: P| {
        let (r, a) = attrs(p);
        eq(&format!("cudaPointerGetAttributes({what})"), r, cudaSuccess);
        assert_eq!(a.r#type, ty, "{what}: type");
        assert_eq!(a.device, device, "{what}: device");
        assert_eq!(a.devicePointer, dptr, "{what}: devicePointer");
        assert_eq!(a.hostPointer, hptr, "{what}: hostPointer");
    };

    let d = t.malloc(1000);
    t.bad(
        "cudaPointerGetAttributes(NULL attributes)",
        c!(cudaPointerGetAttributes(null_mut(), d)),
        cudaErrorInvalidValue,
    );
    check("cudaMalloc", d, dev, 0, d, null_mut());
    check("cudaMalloc interior", at(d, 999), dev, 0, at(d, 999), null_mut());
    let (mut pp, mut pitch) = (null_mut(), 0usize);
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut pp, &mut pitch, 100, 3)));
    check("cudaMallocPitch", at(pp, pitch), dev, 0, at(pp, pitch), null_mut());
    let mut ap: P = null_mut();
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut ap, 300, null_mut())));
    check("cudaMallocAsync", at(ap, 10), dev, 0, at(ap, 10), null_mut());
    let m = t.managed(100);
    check("cudaMallocManaged", at(m, 50), managed, 0, at(m, 50), at(m, 50));
    let h = t.host_alloc(100, 0);
    check("cudaMallocHost", h, host, 0, h, h);
    let r = Pages::new(PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, PAGE, 0)));
    check("registered", at(r.0, 12), host, 0, at(r.0, 12), at(r.0, 12));
    // Plain host memory: success, unregistered, no device alias.
    let mm = Malloced::new(64);
    let stack = [0u8; 16];
    for (what, p) in [("malloc'ed", mm.0), ("stack", stack.as_ptr() as P), ("random", RANDOM as P)] {
        let (r, a) = attrs(p);
        eq(&format!("cudaPointerGetAttributes({what})"), r, cudaSuccess);
        assert_eq!(a.r#type, unreg, "{what}: type");
        assert_eq!(a.device, cudaInvalidDeviceId, "{what}: device");
        assert_eq!(a.devicePointer, null_mut(), "{what}: devicePointer");
    }
    check("NULL", null_mut(), unreg, cudaInvalidDeviceId, null_mut(), null_mut());
    eq("no error recorded", peek(), cudaSuccess);

    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    t.ok("cudaFree(pitched)", c!(cudaFree(pp)));
    t.ok("cudaFreeAsync", c!(cudaFreeAsync(ap, null_mut())));
    t.free(m);
    t.free_host(h);
    t.free(d);
    // Freed memory is nobody's.
    for (what, p) in [("freed device", d), ("freed pinned", h), ("unregistered", r.0)] {
        let (r, a) = attrs(p);
        eq(&format!("cudaPointerGetAttributes({what})"), r, cudaSuccess);
        assert_eq!((a.r#type, a.devicePointer), (unreg, null_mut()), "{what}");
    }
    t.done();
}

#[test]

fn pointer_attributes_unregistered_host_pointer_is_null() {
    let t = T::new();
    let mm = Malloced::new(64);
    let (r, a) = attrs(mm.0);
    eq("cudaPointerGetAttributes(malloc'ed)", r, cudaSuccess);
    assert_eq!(a.hostPointer, null_mut(), "hostPointer of unregistered memory");
    t.done();
}

// ================================================================ copies

type Copy1 = Box<dyn Fn(P, *const c_void, usize, u32) -> u32>;

/// cudaMemcpy and its stream / per-thread names, on the default stream.
fn copies() -> Vec<(&'static str, Copy1)> {
    vec![
        ("cudaMemcpy", Box::new(|d, s, n, k| c!(cudaMemcpy(d, s, n, k)))),
        ("cudaMemcpy_ptds", Box::new(|d, s, n, k| c!(cudaMemcpy_ptds(d, s, n, k)))),
        (
            "cudaMemcpyAsync",
            Box::new(|d, s, n, k| c!(cudaMemcpyAsync(d, s, n, k, null_mut()))),
        ),
        (
            "cudaMemcpyAsync_ptsz",
            Box::new(|d, s, n, k| c!(cudaMemcpyAsync_ptsz(d, s, n, k, PER_THREAD))),
        ),
    ]
}

#[test]
fn memcpy_bad_input() {
    let t = T::new();
    let n = 8192;
    let d = t.malloc(n);
    let d2 = t.malloc(n);
    let gone = t.malloc(n);
    t.free(gone);
    t.h2d(d, &pattern(7, n));
    t.h2d(d2, &pattern(8, n));
    let mut hb = vec![0u8; n + 64];
    let hs = pattern(9, n + 64);
    let h: P = hb.as_mut_ptr().cast();
    let hc: *const c_void = hs.as_ptr().cast();
    for (name, cp) in copies() {
        for k in [5, 6, 99, 0x8000_0000, u32::MAX] {
            t.bad(&format!("{name} kind {k}"), cp(d, hc, 16, k), cudaErrorInvalidMemcpyDirection);
            t.bad(
                &format!("{name} kind {k}, count 0"),
                cp(d, hc, 0, k),
                cudaErrorInvalidMemcpyDirection,
            );
        }
        t.bad(&format!("{name} H2D to NULL"), cp(null_mut(), hc, 16, H2D), cudaErrorInvalidValue);
        t.bad(&format!("{name} H2D from NULL"), cp(d, null(), 16, H2D), cudaErrorInvalidValue);
        t.bad(&format!("{name} D2H from NULL"), cp(h, null(), 16, D2H), cudaErrorInvalidValue);
        t.bad(
            &format!("{name} Default to NULL"),
            cp(null_mut(), d, 16, DEFAULT),
            cudaErrorInvalidValue,
        );
        // Wrong kinds.
        t.bad(&format!("{name} H2D with a device src"), cp(d2, d, 16, H2D), cudaErrorInvalidValue);
        t.bad(&format!("{name} H2D into host memory"), cp(h, hc, 16, H2D), cudaErrorInvalidValue);
        t.bad(&format!("{name} D2H into a device dst"), cp(d2, d, 16, D2H), cudaErrorInvalidValue);
        t.bad(&format!("{name} D2H from host memory"), cp(h, hc, 16, D2H), cudaErrorInvalidValue);
        t.bad(&format!("{name} H2H from device"), cp(h, d, 16, H2H), cudaErrorInvalidValue);
        t.bad(&format!("{name} H2H to device"), cp(d, hc, 16, H2H), cudaErrorInvalidValue);
        t.bad(&format!("{name} D2D from host"), cp(d, hc, 16, D2D), cudaErrorInvalidValue);
        t.bad(&format!("{name} D2D to host"), cp(h, d, 16, D2D), cudaErrorInvalidValue);
        // Ranges past the end of an allocation.
        t.bad(
            &format!("{name} H2D one byte too many"),
            cp(d, hc, n + 1, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} H2D past the end from inside"),
            cp(at(d, n - 16), hc, 17, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2H past the end"),
            cp(h, at(d, 4096), n - 4096 + 1, D2H),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2D src past the end"),
            cp(d2, at(d, 1), n, D2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2D dst past the end"),
            cp(at(d2, 1), d, n, D2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2D count SIZE_MAX"),
            cp(d2, d, usize::MAX, D2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} Default past the end"),
            cp(d, hc, n + 1, DEFAULT),
            cudaErrorInvalidValue,
        );
        // Freed device memory.
        t.bad(
            &format!("{name} H2D into freed memory"),
            cp(gone, hc, 16, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2H from freed memory"),
            cp(h, gone, 16, D2H),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2D into freed memory"),
            cp(gone, d, 16, D2D),
            cudaErrorInvalidValue,
        );
        // Nothing moved.
        assert!(t.d2h(d, n) == pattern(7, n), "{name}: source block changed");
        assert!(t.d2h(d2, n) == pattern(8, n), "{name}: destination block changed");
        assert!(hb.iter().all(|&b| b == 0), "{name}: host buffer changed");
        // Count 0 does nothing and succeeds; interior pointers are fine.
        t.ok(&format!("{name} count 0"), cp(d2, d, 0, D2D));
        t.ok(&format!("{name} interior D2D"), cp(at(d2, 100), at(d, 200), n - 200, D2D));
        assert!(t.d2h(at(d2, 100), n - 200) == pattern(7, n)[200..], "{name}: interior copy");
        t.h2d(d2, &pattern(8, n));
    }
    // Streams that do not exist.
    let s = t.stream();
    t.ok("cudaStreamDestroy", c!(cudaStreamDestroy(s)));
    for (what, st) in [("bogus", BOGUS_STREAM), ("destroyed", s)] {
        t.bad(
            &format!("cudaMemcpyAsync on a {what} stream"),
            c!(cudaMemcpyAsync(d2, d, 16, D2D, st)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaMemcpyAsync_ptsz on a {what} stream"),
            c!(cudaMemcpyAsync_ptsz(d2, d, 16, D2D, st)),
            cudaErrorInvalidResourceHandle,
        );
    }
    for st in [null_mut(), LEGACY, PER_THREAD] {
        t.ok("cudaMemcpyAsync on a special stream", c!(cudaMemcpyAsync(d2, d, 16, D2D, st)));
    }
    t.free(d);
    t.free(d2);
    t.done();
}

#[test]
fn memcpy_default_infers_direction() {
    let t = T::new();
    let n = 5000;
    let d = t.malloc(n);
    let d2 = t.malloc(n);
    let a = pattern(10, n);
    let mut b = vec![0u8; n];
    // H2H
    t.ok("Default H2H", c!(cudaMemcpy(b.as_mut_ptr().cast(), a.as_ptr().cast(), n, DEFAULT)));
    assert!(b == a, "H2H");
    // H2D, checked with an explicit D2H.
    t.ok("Default H2D", c!(cudaMemcpy(d, a.as_ptr().cast(), n, DEFAULT)));
    assert!(t.d2h(d, n) == a, "H2D");
    // D2D
    t.ok("Default D2D", c!(cudaMemcpy(d2, d, n, DEFAULT)));
    assert!(t.d2h(d2, n) == a, "D2D");
    // D2H
    let mut c = vec![0u8; n];
    t.ok("Default D2H", c!(cudaMemcpy(c.as_mut_ptr().cast(), at(d2, 1), n - 1, DEFAULT)));
    assert!(c[..n - 1] == a[1..], "D2H");
    // Pinned, managed and registered memory work both ways.
    let h = t.host_alloc(n, 0);
    let m = t.managed(n);
    let r = Pages::new(2 * PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, r.1, 0)));
    for (what, p) in [("pinned", h), ("managed", m), ("registered", r.0)] {
        host_write(p, &pattern(11, n));
        t.ok(&format!("Default {what} to device"), c!(cudaMemcpy(d, p, n, DEFAULT)));
        assert!(t.d2h(d, n) == pattern(11, n), "{what} to device");
        t.h2d(d2, &pattern(12, n));
        t.ok(&format!("Default device to {what}"), c!(cudaMemcpy(p, d2, n, DEFAULT)));
        assert!(host_read(p, n) == pattern(12, n), "device to {what}");
    }
    // 2D with Default.
    let mut back = vec![0u8; 64 * 4];
    t.ok(
        "cudaMemcpy2D Default H2D",
        c!(cudaMemcpy2D(d, 512, a.as_ptr().cast(), 64, 64, 4, DEFAULT)),
    );
    t.ok(
        "cudaMemcpy2D Default D2H",
        c!(cudaMemcpy2D(back.as_mut_ptr().cast(), 64, d, 512, 64, 4, DEFAULT)),
    );
    assert!(back == a[..256], "2D Default round trip");
    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    t.free_host(h);
    t.free(m);
    t.free(d);
    t.free(d2);
    t.done();
}

type Copy2 = Box<dyn Fn(P, usize, *const c_void, usize, usize, usize, u32) -> u32>;

fn copies_2d() -> Vec<(&'static str, Copy2)> {
    vec![
        (
            "cudaMemcpy2D",
            Box::new(|d, dp, s, sp, w, h, k| c!(cudaMemcpy2D(d, dp, s, sp, w, h, k))),
        ),
        (
            "cudaMemcpy2D_ptds",
            Box::new(|d, dp, s, sp, w, h, k| c!(cudaMemcpy2D_ptds(d, dp, s, sp, w, h, k))),
        ),
        (
            "cudaMemcpy2DAsync",
            Box::new(|d, dp, s, sp, w, h, k| c!(cudaMemcpy2DAsync(d, dp, s, sp, w, h, k, null_mut()))),
        ),
        (
            "cudaMemcpy2DAsync_ptsz",
            Box::new(|d, dp, s, sp, w, h, k| c!(cudaMemcpy2DAsync_ptsz(d, dp, s, sp, w, h, k, LEGACY))),
        ),
    ]
}

#[test]
fn memcpy_2d_bad_input() {
    let t = T::new();
    let (w, rows) = (100usize, 6usize);
    let (mut pd, mut pitch) = (null_mut(), 0usize);
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut pd, &mut pitch, w, rows)));
    let (mut pd2, mut pitch2) = (null_mut(), 0usize);
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut pd2, &mut pitch2, w, rows)));
    t.settle();
    let sp = 128;
    let src = pattern(13, sp * rows);
    let s: *const c_void = src.as_ptr().cast();
    let mut dst = vec![0xEEu8; sp * rows];
    let hd: P = dst.as_mut_ptr().cast();
    for (name, cp) in copies_2d() {
        t.bad(
            &format!("{name} width > dpitch"),
            cp(pd, pitch, s, sp, pitch + 1, 1, H2D),
            cudaErrorInvalidPitchValue,
        );
        t.bad(
            &format!("{name} width > spitch"),
            cp(pd, pitch, s, 64, w, rows, H2D),
            cudaErrorInvalidPitchValue,
        );
        t.bad(
            &format!("{name} width > both pitches"),
            cp(hd, 8, s, 8, 9, 1, H2H),
            cudaErrorInvalidPitchValue,
        );
        for k in [5, 99, u32::MAX] {
            t.bad(
                &format!("{name} kind {k}"),
                cp(pd, pitch, s, sp, w, rows, k),
                cudaErrorInvalidMemcpyDirection,
            );
        }
        t.bad(
            &format!("{name} NULL dst"),
            cp(null_mut(), pitch, s, sp, w, rows, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} NULL src"),
            cp(pd, pitch, null(), sp, w, rows, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} height SIZE_MAX"),
            cp(pd, pitch, s, sp, w, usize::MAX, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} one row past the end"),
            cp(pd, pitch, s, sp, w, rows + 1, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} last row past the end"),
            cp(at(pd, pitch - w + 1), pitch, s, sp, w, rows, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2D src past the end"),
            cp(pd2, pitch2, pd, pitch, w, rows + 1, D2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} H2D with a device src"),
            cp(pd2, pitch2, pd, pitch, w, rows, H2D),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2H into a device dst"),
            cp(pd2, pitch2, pd, pitch, w, rows, D2H),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} H2H with a device dst"),
            cp(pd, pitch, s, sp, w, rows, H2H),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} D2D from host"),
            cp(pd, pitch, s, sp, w, rows, D2D),
            cudaErrorInvalidValue,
        );
        assert!(dst.iter().all(|&b| b == 0xEE), "{name}: host dst changed by failed copies");
        // A valid round trip: only `w` bytes of each row move.
        t.ok(&format!("{name} H2D"), cp(pd, pitch, s, sp, w, rows, H2D));
        t.ok(&format!("{name} D2D"), cp(pd2, pitch2, pd, pitch, w, rows, D2D));
        t.ok(&format!("{name} D2H"), cp(hd, sp, pd2, pitch2, w, rows, D2H));
        for row in 0..rows {
            let o = row * sp;
            assert!(dst[o..o + w] == src[o..o + w], "{name}: row {row} data");
            assert!(dst[o + w..o + sp].iter().all(|&b| b == 0xEE), "{name}: row {row} padding written");
        }
        dst.fill(0xEE);
        t.ok(&format!("{name} zero width"), cp(pd, pitch, s, sp, 0, rows, H2D));
        t.ok(&format!("{name} zero height"), cp(pd, pitch, s, sp, w, 0, H2D));
    }
    t.bad(
        "cudaMemcpy2DAsync bogus stream",
        c!(cudaMemcpy2DAsync(pd2, pitch2, pd, pitch, w, rows, D2D, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.bad(
        "cudaMemcpy2DAsync_ptsz bogus stream",
        c!(cudaMemcpy2DAsync_ptsz(pd2, pitch2, pd, pitch, w, rows, D2D, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.free(pd);
    t.free(pd2);
    t.done();
}

#[test]

fn memcpy_2d_pitch_above_max() {
    let t = T::new();
    let d = t.malloc(4096);
    let src = pattern(14, 64);
    let mut prop: cudaDeviceProp = c!(std::mem::zeroed());
    t.ok("cudaGetDeviceProperties_v2", c!(cudaGetDeviceProperties_v2(&mut prop, 0)));
    let big = prop.memPitch + 1;
    t.bad(
        "cudaMemcpy2D dpitch > memPitch",
        c!(cudaMemcpy2D(d, big, src.as_ptr().cast(), 64, 64, 1, H2D)),
        cudaErrorInvalidPitchValue,
    );
    t.free(d);
    t.done();
}

// ================================================================ fills

type Fill1 = Box<dyn Fn(P, c_int, usize) -> u32>;
type Fill2 = Box<dyn Fn(P, usize, c_int, usize, usize) -> u32>;

fn fills() -> Vec<(&'static str, Fill1)> {
    vec![
        ("cudaMemset", Box::new(|p, v, n| c!(cudaMemset(p, v, n)))),
        ("cudaMemset_ptds", Box::new(|p, v, n| c!(cudaMemset_ptds(p, v, n)))),
        ("cudaMemsetAsync", Box::new(|p, v, n| c!(cudaMemsetAsync(p, v, n, null_mut())))),
        (
            "cudaMemsetAsync_ptsz",
            Box::new(|p, v, n| c!(cudaMemsetAsync_ptsz(p, v, n, PER_THREAD))),
        ),
    ]
}

fn fills_2d() -> Vec<(&'static str, Fill2)> {
    vec![
        ("cudaMemset2D", Box::new(|p, pi, v, w, h| c!(cudaMemset2D(p, pi, v, w, h)))),
        (
            "cudaMemset2D_ptds",
            Box::new(|p, pi, v, w, h| c!(cudaMemset2D_ptds(p, pi, v, w, h))),
        ),
        (
            "cudaMemset2DAsync",
            Box::new(|p, pi, v, w, h| c!(cudaMemset2DAsync(p, pi, v, w, h, null_mut()))),
        ),
        (
            "cudaMemset2DAsync_ptsz",
            Box::new(|p, pi, v, w, h| c!(cudaMemset2DAsync_ptsz(p, pi, v, w, h, LEGACY))),
        ),
    ]
}

#[test]
fn memset_bad_input() {
    let t = T::new();
    let n = 6000;
    let d = t.malloc(n);
    let gone = t.malloc(64);
    t.free(gone);
    let m = Malloced::new(256);
    let mut stack = [7u8; 32];
    for (name, f) in fills() {
        t.h2d(d, &pattern(15, n));
        t.bad(&format!("{name}(NULL)"), f(null_mut(), 0, 16), cudaErrorInvalidValue);
        t.bad(&format!("{name}(malloc'ed)"), f(m.0, 0, 16), cudaErrorInvalidValue);
        t.bad(
            &format!("{name}(stack)"),
            f(stack.as_mut_ptr().cast(), 0, 16),
            cudaErrorInvalidValue,
        );
        t.bad(&format!("{name}(random)"), f(RANDOM as P, 0, 16), cudaErrorInvalidValue);
        t.bad(&format!("{name}(freed)"), f(gone, 0, 16), cudaErrorInvalidValue);
        t.bad(&format!("{name} one byte too many"), f(d, 0, n + 1), cudaErrorInvalidValue);
        t.bad(
            &format!("{name} past the end from inside"),
            f(at(d, n - 1), 0, 2),
            cudaErrorInvalidValue,
        );
        t.bad(&format!("{name} SIZE_MAX"), f(d, 0, usize::MAX), cudaErrorInvalidValue);
        assert!(t.d2h(d, n) == pattern(15, n), "{name}: block changed by failed fills");
        assert!(stack.iter().all(|&b| b == 7), "{name}: stack changed");
        t.ok(&format!("{name} count 0"), f(d, 0, 0));
        t.ok(&format!("{name} interior"), f(at(d, 10), 0x1AB, 20));
        let got = t.d2h(d, n);
        let mut want = pattern(15, n);
        want[10..30].fill(0xAB);
        assert!(got == want, "{name}: fills exactly the bytes asked, with the low byte of value");
    }
    t.bad(
        "cudaMemsetAsync bogus stream",
        c!(cudaMemsetAsync(d, 0, 16, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.bad(
        "cudaMemsetAsync_ptsz bogus stream",
        c!(cudaMemsetAsync_ptsz(d, 0, 16, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    // Pinned and managed memory are device-accessible.
    let h = t.host_alloc(100, 0);
    let mm = t.managed(100);
    for (what, p) in [("pinned", h), ("managed", mm)] {
        t.ok(&format!("cudaMemset({what})"), c!(cudaMemset(p, 0x5C, 100)));
        assert!(host_read(p, 100).iter().all(|&b| b == 0x5C), "{what}");
    }
    t.free_host(h);
    t.free(mm);

    // 2D fills on a pitched block.
    let (mut pd, mut pitch) = (null_mut(), 0usize);
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut pd, &mut pitch, 50, 4)));
    t.settle();
    for (name, f) in fills_2d() {
        t.ok("zero it", c!(cudaMemset(pd, 0, pitch * 4)));
        t.bad(&format!("{name} width > pitch"), f(pd, 40, 0, 41, 2), cudaErrorInvalidPitchValue);
        t.bad(&format!("{name}(NULL)"), f(null_mut(), pitch, 0, 50, 4), cudaErrorInvalidValue);
        t.bad(&format!("{name}(malloc'ed)"), f(m.0, 64, 0, 50, 2), cudaErrorInvalidValue);
        t.bad(&format!("{name} one row too many"), f(pd, pitch, 0, 50, 5), cudaErrorInvalidValue);
        t.bad(
            &format!("{name} height SIZE_MAX"),
            f(pd, pitch, 0, 50, usize::MAX),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("{name} last row past the end"),
            f(at(pd, pitch - 49), pitch, 0, 50, 4),
            cudaErrorInvalidValue,
        );
        assert!(t.d2h(pd, pitch * 4).iter().all(|&b| b == 0), "{name}: failed fills wrote");
        t.ok(name, f(pd, pitch, 0x77, 50, 4));
        let got = t.d2h(pd, pitch * 4);
        for row in 0..4 {
            let o = row * pitch;
            assert!(got[o..o + 50].iter().all(|&b| b == 0x77), "{name}: row {row}");
            assert!(got[o + 50..o + pitch].iter().all(|&b| b == 0), "{name}: row {row} padding");
        }
        t.ok(&format!("{name} zero width"), f(pd, pitch, 1, 0, 4));
    }
    t.bad(
        "cudaMemset2DAsync bogus stream",
        c!(cudaMemset2DAsync(pd, pitch, 0, 50, 4, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.bad(
        "cudaMemset2DAsync_ptsz bogus stream",
        c!(cudaMemset2DAsync_ptsz(pd, pitch, 0, 50, 4, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.free(pd);
    t.free(d);
    t.done();
}

#[test]

fn memset_registered_host_memory() {
    let t = T::new();
    let r = Pages::new(PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, PAGE, 0)));
    let res = c!(cudaMemset(r.0, 0x42, 100));
    get_last();
    t.ok("cudaHostUnregister", c!(cudaHostUnregister(r.0)));
    eq("cudaMemset(registered)", res, cudaSuccess);
    assert!(host_read(r.0, 100).iter().all(|&b| b == 0x42));
    t.done();
}

// ================================================================ memory info

#[test]
fn mem_get_info_accounting() {
    let t = T::new();
    let (mut f, mut tot) = (SENT, SENT);
    t.bad(
        "cudaMemGetInfo(NULL free)",
        c!(cudaMemGetInfo(null_mut(), &mut tot)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaMemGetInfo(NULL total)",
        c!(cudaMemGetInfo(&mut f, null_mut())),
        cudaErrorInvalidValue,
    );
    assert_eq!((f, tot), (SENT, SENT), "out-parameters written on failure");
    let (free0, total) = mem_info();
    assert_eq!(total, VRAM, "total is ACCELMEM_CUDA_MEM");
    assert!(free0 <= total);
    for n in [1, 255, 256, 4095, 4096, 4097, 5000, 65537, 1 << 20, (3 << 20) + 1] {
        let d = t.malloc(n);
        assert_eq!(
            free0 - mem_free(),
            round_up(n, PAGE),
            "cudaMalloc({n}) takes its size rounded to pages"
        );
        t.free(d);
        assert_eq!(mem_free(), free0, "cudaFree({n}) gives it back");
    }
    let (mut p, mut pitch) = (null_mut(), 0usize);
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut p, &mut pitch, 100, 9)));
    assert_eq!(free0 - mem_free(), round_up(pitch * 9, PAGE), "pitched block");
    t.free(p);
    let m = t.managed(10_000);
    assert_eq!(free0 - mem_free(), round_up(10_000, PAGE), "managed memory lives on the device");
    t.free(m);
    let h = t.host_alloc(1 << 20, 0);
    assert_eq!(mem_free(), free0, "pinned host memory is not device memory");
    t.free_host(h);
    // Running out.
    let big = t.malloc(200 << 20);
    let mut q: P = sent();
    t.bad(
        "cudaMalloc beyond what is free",
        c!(cudaMalloc(&mut q, 100 << 20)),
        cudaErrorMemoryAllocation,
    );
    t.bad(
        "cudaMallocAsync beyond what is free",
        c!(cudaMallocAsync(&mut q, 100 << 20, null_mut())),
        cudaErrorMemoryAllocation,
    );
    assert_eq!(q, sent());
    t.free(big);
    // The pool holds freed memory until synchronisation trims it to the
    // release threshold (0 by default).
    let mut a: P = null_mut();
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut a, 100, null_mut())));
    let reserved = free0 - mem_free();
    assert!(reserved >= PAGE && reserved % PAGE == 0, "pool reservation {reserved}");
    t.ok("cudaFreeAsync", c!(cudaFreeAsync(a, null_mut())));
    assert_eq!(free0 - mem_free(), reserved, "freed pool memory stays reserved until a sync");
    sync();
    assert_eq!(mem_free(), free0, "sync trims the pool to the threshold 0");
    let pool = t.pool();
    let mut keep: cuuint64_t = u64::MAX;
    t.ok(
        "set release threshold",
        c!(cudaMemPoolSetAttribute(
            pool,
            cudaMemPoolAttr::cudaMemPoolAttrReleaseThreshold as u32,
            (&mut keep as *mut u64).cast()
        )),
    );
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut a, 100, null_mut())));
    t.ok("cudaFreeAsync", c!(cudaFreeAsync(a, null_mut())));
    sync();
    assert_eq!(
        free0 - mem_free(),
        reserved,
        "a high threshold keeps the pool's memory across syncs"
    );
    t.ok("cudaMemPoolTrimTo(0)", c!(cudaMemPoolTrimTo(pool, 0)));
    assert_eq!(mem_free(), free0, "trimming gives it back");
    keep = 0;
    t.ok(
        "reset release threshold",
        c!(cudaMemPoolSetAttribute(
            pool,
            cudaMemPoolAttr::cudaMemPoolAttrReleaseThreshold as u32,
            (&mut keep as *mut u64).cast()
        )),
    );
    t.settle();
    t.done();
}

// ================================================================ stream-ordered allocation and pools

#[test]
fn malloc_async_and_pools() {
    let t = T::new();
    let mut p: P = sent();
    let s = t.stream();
    t.bad(
        "cudaMallocAsync(NULL)",
        c!(cudaMallocAsync(null_mut(), 16, s)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaMallocAsync_ptsz(NULL)",
        c!(cudaMallocAsync_ptsz(null_mut(), 16, s)),
        cudaErrorInvalidValue,
    );
    for n in [usize::MAX, usize::MAX / 2 + 1, VRAM + 1] {
        t.bad(
            &format!("cudaMallocAsync({n:#x})"),
            c!(cudaMallocAsync(&mut p, n, s)),
            cudaErrorMemoryAllocation,
        );
    }
    t.bad(
        "cudaMallocAsync on a bogus stream",
        c!(cudaMallocAsync(&mut p, 16, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.bad(
        "cudaMallocAsync_ptsz on a bogus stream",
        c!(cudaMallocAsync_ptsz(&mut p, 16, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    assert_eq!(p, sent(), "*devPtr written on failure");
    t.ok("cudaMallocAsync(0)", c!(cudaMallocAsync(&mut p, 0, s)));
    assert!(p.is_null(), "cudaMallocAsync(0) gave {p:p}");

    let mut a: P = null_mut();
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut a, 1000, s)));
    assert!(!a.is_null() && a as usize % 256 == 0);
    t.settle();
    t.h2d(a, &pattern(16, 1000));
    let m = Malloced::new(64);
    for (what, q) in [
        ("malloc'ed", m.0),
        ("random", RANDOM as P),
        ("interior", at(a, 256)),
        ("one past the end", at(a, 1000)),
    ] {
        t.bad(&format!("cudaFreeAsync({what})"), c!(cudaFreeAsync(q, s)), cudaErrorInvalidValue);
        t.bad(
            &format!("cudaFreeAsync_ptsz({what})"),
            c!(cudaFreeAsync_ptsz(q, s)),
            cudaErrorInvalidValue,
        );
    }
    t.bad(
        "cudaFreeAsync on a bogus stream",
        c!(cudaFreeAsync(a, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    assert!(t.d2h(a, 1000) == pattern(16, 1000), "block changed by failed frees");
    let h = t.host_alloc(64, 0);
    t.bad("cudaFreeAsync(pinned host)", c!(cudaFreeAsync(h, s)), cudaErrorInvalidValue);
    t.free_host(h);
    t.ok("cudaFreeAsync(NULL)", c!(cudaFreeAsync(null_mut(), s)));
    t.ok("cudaFreeAsync_ptsz", c!(cudaFreeAsync_ptsz(a, s)));
    t.settle();
    t.bad("double cudaFreeAsync", c!(cudaFreeAsync(a, s)), cudaErrorInvalidValue);
    t.bad("cudaFree after cudaFreeAsync", c!(cudaFree(a)), cudaErrorInvalidValue);

    // Pools.
    let pool = t.pool();
    let mut pp: cudaMemPool_t = sent();
    t.bad(
        "cudaDeviceGetDefaultMemPool(NULL)",
        c!(cudaDeviceGetDefaultMemPool(null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaDeviceGetMemPool(NULL)",
        c!(cudaDeviceGetMemPool(null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    for dev in [-1, 1, i32::MAX, i32::MIN] {
        t.bad(
            &format!("cudaDeviceGetDefaultMemPool(dev {dev})"),
            c!(cudaDeviceGetDefaultMemPool(&mut pp, dev)),
            cudaErrorInvalidDevice,
        );
        t.bad(
            &format!("cudaDeviceGetMemPool(dev {dev})"),
            c!(cudaDeviceGetMemPool(&mut pp, dev)),
            cudaErrorInvalidDevice,
        );
    }
    assert_eq!(pp, sent(), "*memPool written on failure");
    t.ok("cudaDeviceGetMemPool", c!(cudaDeviceGetMemPool(&mut pp, 0)));
    assert_eq!(pp, pool, "the current pool is the default pool");

    for (what, bp) in [("NULL", null_mut()), ("bogus", BOGUS_POOL)] {
        t.bad(
            &format!("cudaMallocFromPoolAsync({what} pool)"),
            c!(cudaMallocFromPoolAsync(&mut p, 16, bp, s)),
            cudaErrorInvalidValue,
        );
        let mut v: u64 = 0;
        t.bad(
            &format!("cudaMemPoolGetAttribute({what} pool)"),
            c!(cudaMemPoolGetAttribute(bp, 4, (&mut v as *mut u64).cast())),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("cudaMemPoolSetAttribute({what} pool)"),
            c!(cudaMemPoolSetAttribute(bp, 4, (&mut v as *mut u64).cast())),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("cudaMemPoolTrimTo({what} pool)"),
            c!(cudaMemPoolTrimTo(bp, 0)),
            cudaErrorInvalidValue,
        );
    }
    p = sent();
    t.bad(
        "cudaMallocFromPoolAsync(NULL ptr)",
        c!(cudaMallocFromPoolAsync(null_mut(), 16, pool, s)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaMallocFromPoolAsync(SIZE_MAX)",
        c!(cudaMallocFromPoolAsync(&mut p, usize::MAX, pool, s)),
        cudaErrorMemoryAllocation,
    );
    t.bad(
        "cudaMallocFromPoolAsync bogus stream",
        c!(cudaMallocFromPoolAsync(&mut p, 16, pool, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    assert_eq!(p, sent(), "*ptr written on failure");
    t.ok("cudaMallocFromPoolAsync", c!(cudaMallocFromPoolAsync(&mut a, 64, pool, s)));
    t.ok("cudaFreeAsync", c!(cudaFreeAsync(a, s)));

    // Attributes.
    let mut v: u64 = 0xABCD;
    let vp = (&mut v as *mut u64).cast::<c_void>();
    for attr in [0, 9, 99, u32::MAX] {
        t.bad(
            &format!("cudaMemPoolGetAttribute(attr {attr})"),
            c!(cudaMemPoolGetAttribute(pool, attr, vp)),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("cudaMemPoolSetAttribute(attr {attr})"),
            c!(cudaMemPoolSetAttribute(pool, attr, vp)),
            cudaErrorInvalidValue,
        );
    }
    assert_eq!(v, 0xABCD, "value written on failure");
    for attr in 1..=8 {
        t.bad(
            &format!("cudaMemPoolGetAttribute(attr {attr}, NULL)"),
            c!(cudaMemPoolGetAttribute(pool, attr, null_mut())),
            cudaErrorInvalidValue,
        );
        t.bad(
            &format!("cudaMemPoolSetAttribute(attr {attr}, NULL)"),
            c!(cudaMemPoolSetAttribute(pool, attr, null_mut())),
            cudaErrorInvalidValue,
        );
    }
    for attr in [5, 7] {
        c!(vp.cast::<u64>().write(0));
        t.bad(
            &format!("set read-only attr {attr}"),
            c!(cudaMemPoolSetAttribute(pool, attr, vp)),
            cudaErrorInvalidValue,
        );
    }
    // High-water marks may only be reset, to 0.
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut a, 5000, s)));
    t.settle();
    for attr in [6, 8] {
        c!(vp.cast::<u64>().write(1));
        t.bad(
            &format!("set high-water attr {attr} to 1"),
            c!(cudaMemPoolSetAttribute(pool, attr, vp)),
            cudaErrorInvalidValue,
        );
        c!(vp.cast::<u64>().write(0));
        t.ok(
            &format!("reset high-water attr {attr}"),
            c!(cudaMemPoolSetAttribute(pool, attr, vp)),
        );
        t.ok(&format!("read high-water attr {attr}"), c!(cudaMemPoolGetAttribute(pool, attr, vp)));
        let mut cur: u64 = 0;
        t.ok(
            "read current",
            c!(cudaMemPoolGetAttribute(pool, attr - 1, (&mut cur as *mut u64).cast())),
        );
        assert_eq!(v, cur, "attr {attr}: after a reset the high-water mark is the current value");
    }
    t.ok("cudaFreeAsync", c!(cudaFreeAsync(a, s)));
    t.settle();
    // Reuse policies read back as ints.
    let mut iv: c_int = 77;
    t.ok(
        "get reuse policy",
        c!(cudaMemPoolGetAttribute(pool, 2, (&mut iv as *mut c_int).cast())),
    );
    assert_eq!(iv, 1, "reuse policies default to enabled");
    t.ok("cudaStreamSynchronize", c!(cudaStreamSynchronize(s)));
    t.ok("cudaStreamDestroy", c!(cudaStreamDestroy(s)));
    t.settle();
    t.done();
}

// ================================================================ devices

#[test]
fn devices() {
    let t = T::new();
    let mut n: c_int = 77;
    t.bad(
        "cudaGetDeviceCount(NULL)",
        c!(cudaGetDeviceCount(null_mut())),
        cudaErrorInvalidValue,
    );
    t.ok("cudaGetDeviceCount", c!(cudaGetDeviceCount(&mut n)));
    assert_eq!(n, 1);
    for dev in [-1, n, 2, i32::MAX, i32::MIN] {
        t.bad(&format!("cudaSetDevice({dev})"), c!(cudaSetDevice(dev)), cudaErrorInvalidDevice);
    }
    let mut cur: c_int = 77;
    t.bad("cudaGetDevice(NULL)", c!(cudaGetDevice(null_mut())), cudaErrorInvalidValue);
    t.ok("cudaGetDevice", c!(cudaGetDevice(&mut cur)));
    assert_eq!(cur, 0, "a failed cudaSetDevice keeps the current device");

    // Properties: CUDA 12's struct for _v2, the CUDA 11 prefix for the old name.
    let mut prop: cudaDeviceProp = c!(std::mem::zeroed());
    let size = std::mem::size_of::<cudaDeviceProp>();
    assert_eq!(size, 1032);
    let bytes = |p: &cudaDeviceProp| {
        // SAFETY: reading a plain-data struct's bytes.
        unsafe { std::slice::from_raw_parts(p as *const cudaDeviceProp as *const u8, size) }.to_vec()
    };
    let fill = |p: &mut cudaDeviceProp| {
        // SAFETY: writing a plain-data struct's bytes.
        unsafe { std::ptr::write_bytes(p as *mut cudaDeviceProp as *mut u8, 0xA5, size) };
    };
    t.bad(
        "cudaGetDeviceProperties_v2(NULL)",
        c!(cudaGetDeviceProperties_v2(null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaGetDeviceProperties(NULL)",
        c!(cudaGetDeviceProperties(null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    fill(&mut prop);
    for dev in [-1, 1, i32::MAX] {
        t.bad(
            &format!("cudaGetDeviceProperties_v2(dev {dev})"),
            c!(cudaGetDeviceProperties_v2(&mut prop, dev)),
            cudaErrorInvalidDevice,
        );
        t.bad(
            &format!("cudaGetDeviceProperties(dev {dev})"),
            c!(cudaGetDeviceProperties(&mut prop, dev)),
            cudaErrorInvalidDevice,
        );
    }
    assert!(bytes(&prop).iter().all(|&b| b == 0xA5), "struct written on failure");
    t.ok("cudaGetDeviceProperties", c!(cudaGetDeviceProperties(&mut prop, 0)));
    let b = bytes(&prop);
    assert!(
        b[728..].iter().all(|&b| b == 0xA5),
        "the unversioned name writes only CUDA 11's 728 bytes"
    );
    assert_eq!(prop.totalGlobalMem, VRAM);
    fill(&mut prop);
    t.ok("cudaGetDeviceProperties_v2", c!(cudaGetDeviceProperties_v2(&mut prop, 0)));
    assert_eq!(prop.totalGlobalMem, VRAM);
    assert!(
        prop.reserved.iter().all(|&r| r == 0),
        "_v2 writes the whole struct, reserved zeroed"
    );

    let mut v: c_int = 77;
    let attr = cudaDeviceAttr::cudaDevAttrMaxThreadsPerBlock as u32;
    t.bad(
        "cudaDeviceGetAttribute(NULL)",
        c!(cudaDeviceGetAttribute(null_mut(), attr, 0)),
        cudaErrorInvalidValue,
    );
    for attr in [0, 9999, u32::MAX] {
        t.bad(
            &format!("cudaDeviceGetAttribute(attr {attr})"),
            c!(cudaDeviceGetAttribute(&mut v, attr, 0)),
            cudaErrorInvalidValue,
        );
    }
    for dev in [-1, 1] {
        t.bad(
            &format!("cudaDeviceGetAttribute(dev {dev})"),
            c!(cudaDeviceGetAttribute(&mut v, attr, dev)),
            cudaErrorInvalidDevice,
        );
    }
    assert_eq!(v, 77, "*value written on failure");
    t.ok("cudaDeviceGetAttribute", c!(cudaDeviceGetAttribute(&mut v, attr, 0)));
    assert_eq!(v, prop.maxThreadsPerBlock);

    t.bad(
        "cudaRuntimeGetVersion(NULL)",
        c!(cudaRuntimeGetVersion(null_mut())),
        cudaErrorInvalidValue,
    );
    t.bad(
        "cudaDriverGetVersion(NULL)",
        c!(cudaDriverGetVersion(null_mut())),
        cudaErrorInvalidValue,
    );
    let (mut rv, mut dv) = (0, 0);
    t.ok("cudaRuntimeGetVersion", c!(cudaRuntimeGetVersion(&mut rv)));
    t.ok("cudaDriverGetVersion", c!(cudaDriverGetVersion(&mut dv)));
    assert_eq!(rv, 12090);
    assert!(dv >= rv, "a driver older than the runtime would make CUDA fail with 35");
    t.ok("cudaDeviceSynchronize", c!(cudaDeviceSynchronize()));
    t.done();
}

// ================================================================ streams and events

#[test]
fn streams_and_events() {
    let t = T::new();
    let mut s: cudaStream_t = sent();
    t.bad("cudaStreamCreate(NULL)", c!(cudaStreamCreate(null_mut())), cudaErrorInvalidValue);
    t.bad(
        "cudaStreamCreateWithFlags(NULL)",
        c!(cudaStreamCreateWithFlags(null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    for f in [2, 0x100, u32::MAX] {
        t.bad(
            &format!("cudaStreamCreateWithFlags({f:#x})"),
            c!(cudaStreamCreateWithFlags(&mut s, f)),
            cudaErrorInvalidValue,
        );
    }
    assert_eq!(s, sent(), "*pStream written on failure");
    t.ok(
        "cudaStreamCreateWithFlags(NonBlocking)",
        c!(cudaStreamCreateWithFlags(&mut s, cudaStreamNonBlocking)),
    );
    let gone = t.stream();
    t.ok("cudaStreamDestroy", c!(cudaStreamDestroy(gone)));
    for (what, st) in [("bogus", BOGUS_STREAM), ("destroyed", gone)] {
        t.bad(
            &format!("cudaStreamSynchronize({what})"),
            c!(cudaStreamSynchronize(st)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaStreamSynchronize_ptsz({what})"),
            c!(cudaStreamSynchronize_ptsz(st)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaStreamQuery({what})"),
            c!(cudaStreamQuery(st)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaStreamQuery_ptsz({what})"),
            c!(cudaStreamQuery_ptsz(st)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaStreamDestroy({what})"),
            c!(cudaStreamDestroy(st)),
            cudaErrorInvalidResourceHandle,
        );
    }
    t.bad(
        "cudaStreamDestroy(0)",
        c!(cudaStreamDestroy(null_mut())),
        cudaErrorInvalidResourceHandle,
    );
    for st in [s, null_mut(), LEGACY, PER_THREAD] {
        t.ok("cudaStreamQuery", c!(cudaStreamQuery(st)));
        t.ok("cudaStreamSynchronize", c!(cudaStreamSynchronize(st)));
        t.ok("cudaStreamQuery_ptsz", c!(cudaStreamQuery_ptsz(st)));
        t.ok("cudaStreamSynchronize_ptsz", c!(cudaStreamSynchronize_ptsz(st)));
    }

    let mut e: cudaEvent_t = sent();
    t.bad("cudaEventCreate(NULL)", c!(cudaEventCreate(null_mut())), cudaErrorInvalidValue);
    t.bad(
        "cudaEventCreateWithFlags(NULL)",
        c!(cudaEventCreateWithFlags(null_mut(), 0)),
        cudaErrorInvalidValue,
    );
    for f in [
        8,
        0x100,
        u32::MAX,
        cudaEventInterprocess,
        cudaEventInterprocess | cudaEventBlockingSync,
    ] {
        t.bad(
            &format!("cudaEventCreateWithFlags({f:#x})"),
            c!(cudaEventCreateWithFlags(&mut e, f)),
            cudaErrorInvalidValue,
        );
    }
    assert_eq!(e, sent(), "*event written on failure");
    let e1 = t.event(0);
    let e2 = t.event(cudaEventBlockingSync);
    let nt = t.event(cudaEventDisableTiming);
    let ipc = t.event(cudaEventInterprocess | cudaEventDisableTiming);
    let gone_e = t.event(0);
    t.ok("cudaEventDestroy", c!(cudaEventDestroy(gone_e)));
    for (what, ev) in [("bogus", BOGUS_EVENT), ("destroyed", gone_e), ("NULL", null_mut())] {
        t.bad(
            &format!("cudaEventRecord({what})"),
            c!(cudaEventRecord(ev, null_mut())),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaEventRecord_ptsz({what})"),
            c!(cudaEventRecord_ptsz(ev, null_mut())),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaEventQuery({what})"),
            c!(cudaEventQuery(ev)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaEventSynchronize({what})"),
            c!(cudaEventSynchronize(ev)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("cudaEventDestroy({what})"),
            c!(cudaEventDestroy(ev)),
            cudaErrorInvalidResourceHandle,
        );
    }
    t.bad(
        "cudaEventRecord on a bogus stream",
        c!(cudaEventRecord(e1, BOGUS_STREAM)),
        cudaErrorInvalidResourceHandle,
    );
    t.bad(
        "cudaEventRecord on a destroyed stream",
        c!(cudaEventRecord(e1, gone)),
        cudaErrorInvalidResourceHandle,
    );
    // Not recorded yet: queries succeed, timing does not.
    t.ok("cudaEventQuery(unrecorded)", c!(cudaEventQuery(e1)));
    t.ok("cudaEventSynchronize(unrecorded)", c!(cudaEventSynchronize(e1)));
    let mut ms: f32 = 77.0;
    type Elapsed = unsafe extern "C" fn(*mut f32, cudaEvent_t, cudaEvent_t) -> u32;
    let elapsed: [(&str, Elapsed); 2] = [
        ("cudaEventElapsedTime", cudaEventElapsedTime),
        ("cudaEventElapsedTime_v2", cudaEventElapsedTime_v2),
    ];
    for (name, f) in elapsed {
        t.bad(
            &format!("{name}(unrecorded)"),
            c!(f(&mut ms, e1, e2)),
            cudaErrorInvalidResourceHandle,
        );
    }
    t.ok("cudaEventRecord", c!(cudaEventRecord(e1, null_mut())));
    for (name, f) in elapsed {
        t.bad(
            &format!("{name}(end unrecorded)"),
            c!(f(&mut ms, e1, e2)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("{name}(start unrecorded)"),
            c!(f(&mut ms, e2, e1)),
            cudaErrorInvalidResourceHandle,
        );
    }
    t.ok("cudaEventRecord", c!(cudaEventRecord(e2, s)));
    t.ok("cudaEventRecord_ptsz", c!(cudaEventRecord_ptsz(nt, PER_THREAD)));
    t.ok("cudaEventRecord", c!(cudaEventRecord(ipc, LEGACY)));
    for (name, f) in elapsed {
        t.bad(&format!("{name}(NULL ms)"), c!(f(null_mut(), e1, e2)), cudaErrorInvalidValue);
        t.bad(
            &format!("{name}(bogus start)"),
            c!(f(&mut ms, BOGUS_EVENT, e2)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("{name}(destroyed end)"),
            c!(f(&mut ms, e1, gone_e)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("{name}(DisableTiming end)"),
            c!(f(&mut ms, e1, nt)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("{name}(DisableTiming start)"),
            c!(f(&mut ms, nt, e2)),
            cudaErrorInvalidResourceHandle,
        );
        t.bad(
            &format!("{name}(interprocess)"),
            c!(f(&mut ms, ipc, e2)),
            cudaErrorInvalidResourceHandle,
        );
        assert_eq!(ms, 77.0, "{name}: *ms written on failure");
    }
    for (name, f) in elapsed {
        let mut v: f32 = -1.0;
        t.ok(name, c!(f(&mut v, e1, e2)));
        assert!((0.0..60_000.0).contains(&v), "{name}: {v} ms");
    }
    for ev in [e1, e2, nt, ipc] {
        t.ok("cudaEventQuery", c!(cudaEventQuery(ev)));
        t.ok("cudaEventSynchronize", c!(cudaEventSynchronize(ev)));
        t.ok("cudaEventDestroy", c!(cudaEventDestroy(ev)));
        t.bad("double cudaEventDestroy", c!(cudaEventDestroy(ev)), cudaErrorInvalidResourceHandle);
    }
    t.ok("cudaStreamDestroy", c!(cudaStreamDestroy(s)));
    t.bad("double cudaStreamDestroy", c!(cudaStreamDestroy(s)), cudaErrorInvalidResourceHandle);
    let mut legacy_event: cudaEvent_t = null_mut();
    t.ok("cudaEventCreate", c!(cudaEventCreate(&mut legacy_event)));
    t.ok("cudaEventDestroy", c!(cudaEventDestroy(legacy_event)));
    t.done();
}

// ================================================================ reset

#[test]
fn device_reset_frees_everything() {
    let t = T::new();
    let (_, total) = mem_info();
    let d = t.malloc(100_000);
    let (mut pd, mut pitch) = (null_mut(), 0usize);
    t.ok("cudaMallocPitch", c!(cudaMallocPitch(&mut pd, &mut pitch, 300, 30)));
    let m = t.managed(5000);
    let mut a: P = null_mut();
    t.ok("cudaMallocAsync", c!(cudaMallocAsync(&mut a, 7000, null_mut())));
    let h = t.host_alloc(9000, 0);
    let s = t.stream();
    assert!(mem_free() < total);

    t.ok("cudaDeviceReset", c!(cudaDeviceReset()));
    t.settle();
    // Whatever this process held is gone, so the end state is all free.
    t.baseline.set(total);
    t.start_blocks.borrow_mut().clear();
    assert_eq!(mem_free(), total, "cudaDeviceReset frees all device memory");
    assert_eq!(gpu_blocks(), Vec::<String>::new(), "blocks left on the GPU after cudaDeviceReset");
    for (what, p) in [
        ("cudaMalloc", d),
        ("cudaMallocPitch", pd),
        ("cudaMallocManaged", m),
        ("cudaMallocAsync", a),
    ] {
        t.bad(&format!("cudaFree(old {what} pointer)"), c!(cudaFree(p)), cudaErrorInvalidValue);
        let (r, at) = attrs(p);
        eq("cudaPointerGetAttributes(old)", r, cudaSuccess);
        assert_eq!(at.r#type, cudaMemoryType::cudaMemoryTypeUnregistered as u32, "old {what} pointer");
    }
    t.bad(
        "cudaFreeAsync(old async pointer)",
        c!(cudaFreeAsync(a, null_mut())),
        cudaErrorInvalidValue,
    );
    t.bad("cudaFreeHost(old pinned pointer)", c!(cudaFreeHost(h)), cudaErrorInvalidValue);
    t.bad(
        "cudaStreamDestroy(old stream)",
        c!(cudaStreamDestroy(s)),
        cudaErrorInvalidResourceHandle,
    );
    t.bad(
        "cudaMemcpy into an old pointer",
        c!(cudaMemcpy(d, pattern(1, 16).as_ptr().cast(), 16, H2D)),
        cudaErrorInvalidValue,
    );
    // The device works afterwards.
    let d2 = t.malloc(1000);
    t.h2d(d2, &pattern(17, 1000));
    assert!(t.d2h(d2, 1000) == pattern(17, 1000));
    t.free(d2);
    t.done();
}

#[test]

fn device_reset_destroys_events() {
    let t = T::new();
    let e = t.event(0);
    t.ok("cudaEventRecord", c!(cudaEventRecord(e, null_mut())));
    t.ok("cudaDeviceReset", c!(cudaDeviceReset()));
    t.settle();
    t.baseline.set(mem_info().1);
    t.start_blocks.borrow_mut().clear();
    let q = c!(cudaEventQuery(e));
    get_last();
    let d = c!(cudaEventDestroy(e));
    get_last();
    eq("cudaEventQuery(event from before the reset)", q, cudaErrorInvalidResourceHandle);
    eq("cudaEventDestroy(event from before the reset)", d, cudaErrorInvalidResourceHandle);
    t.done();
}

#[test]

fn device_reset_drops_registrations() {
    let t = T::new();
    let r = Pages::new(PAGE);
    t.ok("cudaHostRegister", c!(cudaHostRegister(r.0, PAGE, 0)));
    eq("cudaDeviceReset", c!(cudaDeviceReset()), cudaSuccess);
    let (res, a) = attrs(r.0);
    eq("cudaPointerGetAttributes", res, cudaSuccess);
    let unregistered = a.r#type == cudaMemoryType::cudaMemoryTypeUnregistered as u32;
    let again = c!(cudaHostUnregister(r.0));
    get_last();
    assert!(unregistered, "registered memory after cudaDeviceReset has type {}", a.r#type);
    eq("cudaHostUnregister after reset", again, cudaErrorHostMemoryNotRegistered);
    t.settle();
    t.done();
}

// ================================================================ threads

#[test]
fn eight_threads_hammering() {
    let t = T::new();
    const THREADS: u32 = 8;
    const ITERS: u32 = 300;
    std::thread::scope(|sc| {
        for id in 0..THREADS {
            sc.spawn(move || {
                let mut s: cudaStream_t = null_mut();
                eq("cudaStreamCreate", c!(cudaStreamCreate(&mut s)), cudaSuccess);
                // A block this thread keeps: nobody else may write it.
                let keep_data = pattern(1000 + id, 4096);
                let mut keep: P = null_mut();
                eq("cudaMalloc", c!(cudaMalloc(&mut keep, 4096)), cudaSuccess);
                eq("H2D", c!(cudaMemcpy(keep, keep_data.as_ptr().cast(), 4096, H2D)), cudaSuccess);
                for i in 0..ITERS {
                    let n = 1 + ((i as usize * 7919 + id as usize * 104_729) % 20_000);
                    let data = pattern(id * 10_000 + i, n);
                    let mut back = vec![0u8; n];
                    let mut d: P = null_mut();
                    eq("cudaMalloc", c!(cudaMalloc(&mut d, n)), cudaSuccess);
                    eq("H2D", c!(cudaMemcpy(d, data.as_ptr().cast(), n, H2D)), cudaSuccess);
                    eq("D2H", c!(cudaMemcpy(back.as_mut_ptr().cast(), d, n, D2H)), cudaSuccess);
                    assert!(back == data, "thread {id} iteration {i}: cudaMalloc block data");
                    eq("cudaFree", c!(cudaFree(d)), cudaSuccess);

                    let mut a: P = null_mut();
                    back.fill(0);
                    eq("cudaMallocAsync", c!(cudaMallocAsync(&mut a, n, s)), cudaSuccess);
                    eq("H2D async", c!(cudaMemcpyAsync(a, data.as_ptr().cast(), n, H2D, s)), cudaSuccess);
                    eq(
                        "D2H async",
                        c!(cudaMemcpyAsync(back.as_mut_ptr().cast(), a, n, D2H, s)),
                        cudaSuccess,
                    );
                    eq("cudaStreamSynchronize", c!(cudaStreamSynchronize(s)), cudaSuccess);
                    assert!(back == data, "thread {id} iteration {i}: cudaMallocAsync block data");
                    eq("cudaFreeAsync", c!(cudaFreeAsync(a, s)), cudaSuccess);
                }
                let mut back = vec![0u8; 4096];
                eq("D2H", c!(cudaMemcpy(back.as_mut_ptr().cast(), keep, 4096, D2H)), cudaSuccess);
                assert!(back == keep_data, "thread {id}: its long-lived block was clobbered");
                eq("cudaFree", c!(cudaFree(keep)), cudaSuccess);
                eq("cudaStreamDestroy", c!(cudaStreamDestroy(s)), cudaSuccess);
                eq("no error in this thread", peek(), cudaSuccess);
            });
        }
    });
    t.done();
}

// ================================================================ pool details

fn pool_attr(pool: cudaMemPool_t, attr: cudaMemPoolAttr) -> u64 {
    let mut v = 0u64;
    eq(
        "cudaMemPoolGetAttribute",
        c!(cudaMemPoolGetAttribute(pool, attr as u32, (&mut v as *mut u64).cast())),
        cudaSuccess,
    );
    v
}

fn set_pool_attr(pool: cudaMemPool_t, attr: cudaMemPoolAttr, mut v: u64) -> u32 {
    c!(cudaMemPoolSetAttribute(pool, attr as u32, (&mut v as *mut u64).cast()))
}

/// The two high-water marks reset one at a time; TrimTo keeps at least
/// the bytes asked for; a copy into pool memory no live block holds is
/// `cudaErrorInvalidValue`, not a fault; cudaSetDeviceFlags takes the
/// documented flags only.
#[test]
fn pool_marks_trim_and_freed_blocks() {
    use cudaMemPoolAttr::*;
    let t = T::new();
    let pool = t.pool();
    let s = t.stream();
    const MB: usize = 1 << 20;
    t.ok("keep all", set_pool_attr(pool, cudaMemPoolAttrReleaseThreshold, u64::MAX));
    let (mut a, mut b): (P, P) = (null_mut(), null_mut());
    t.ok("cudaMallocAsync(a)", c!(cudaMallocAsync(&mut a, 2 * MB, s)));
    t.ok("cudaMallocAsync(b)", c!(cudaMallocAsync(&mut b, 2 * MB, s)));
    t.ok("cudaFreeAsync(a)", c!(cudaFreeAsync(a, s)));
    sync();
    let reserved_high = pool_attr(pool, cudaMemPoolAttrReservedMemHigh);
    assert!(reserved_high >= 4 * MB as u64);
    t.ok("reset UsedMemHigh", set_pool_attr(pool, cudaMemPoolAttrUsedMemHigh, 0));
    assert_eq!(pool_attr(pool, cudaMemPoolAttrUsedMemHigh), 2 * MB as u64, "used now: b");
    assert_eq!(
        pool_attr(pool, cudaMemPoolAttrReservedMemHigh),
        reserved_high,
        "the other mark stays"
    );

    // A copy into the freed block's memory: an error, not a fault.
    t.settle();
    let src = [1u8; 64];
    for (what, kind) in [
        ("Default", cudaMemcpyKind::cudaMemcpyDefault),
        ("HostToHost", cudaMemcpyKind::cudaMemcpyHostToHost),
    ] {
        t.bad(
            &format!("cudaMemcpy {what} into a freed pool block"),
            c!(cudaMemcpy(a, src.as_ptr().cast(), 64, kind as u32)),
            cudaErrorInvalidValue,
        );
    }

    t.ok("cudaFreeAsync(b)", c!(cudaFreeAsync(b, s)));
    sync();
    let reserved = pool_attr(pool, cudaMemPoolAttrReservedMemCurrent);
    assert!(reserved >= 4 * MB as u64, "two free chunks kept: {reserved}");
    t.ok("cudaMemPoolTrimTo(3 MiB)", c!(cudaMemPoolTrimTo(pool, 3 * MB)));
    assert!(
        pool_attr(pool, cudaMemPoolAttrReservedMemCurrent) >= 3 * MB as u64,
        "at least minBytesToKeep stays"
    );
    t.ok("cudaMemPoolTrimTo(0)", c!(cudaMemPoolTrimTo(pool, 0)));
    assert_eq!(pool_attr(pool, cudaMemPoolAttrReservedMemCurrent), 0);
    t.ok("release threshold back", set_pool_attr(pool, cudaMemPoolAttrReleaseThreshold, 0));
    t.ok("reset ReservedMemHigh", set_pool_attr(pool, cudaMemPoolAttrReservedMemHigh, 0));
    assert_eq!(pool_attr(pool, cudaMemPoolAttrReservedMemHigh), 0);

    t.settle();
    for f in [0, 1, 2, 4, 8, 4 | 8 | 16] {
        t.ok(&format!("cudaSetDeviceFlags({f:#x})"), c!(cudaSetDeviceFlags(f)));
    }
    for f in [3, 7, 0x20, 0x1000] {
        t.bad(
            &format!("cudaSetDeviceFlags({f:#x})"),
            c!(cudaSetDeviceFlags(f)),
            cudaErrorInvalidValue,
        );
    }
    t.done();
}
