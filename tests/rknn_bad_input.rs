//! Bad input through every exported `rknn_*` function of the Rockchip
//! RKNPU2 front: each call gets the SDK's error code (or NULL from the
//! create calls), and the engine stays intact afterwards: a fresh
//! create_mem/write/sync/destroy round trip works, the shared device passes
//! `check()` (and `<dev>-npu` after each group of calls that touch it), and
//! nothing the test made is left in either device's zones, in this
//! process's mappings or among its open fds.
//!
//! The exports use one process-global device from the environment, so
//! `init()` sets it once. The front's blocks have fixed names ("rknn_*") and
//! the SRAM zone is process-wide, so the tests run one at a time (`SERIAL`)
//! and compare what exists at their end with what existed at their start.

mod common;

use accelmem::api::rockchip::{rknn_api::*, rknn_api_fns::*};
use accelmem::engine::{self, attr, AllocReq, BufInfo, Config, Device, MapInfo};
use std::cell::Cell;
use std::ffi::{c_void, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::ptr::null_mut;
use std::sync::{Mutex, MutexGuard, Once, OnceLock};

const ZONES: &str = "anonymous,0,0x44000000,64M";
const DDR: (u64, u64) = (0x4400_0000, 64 << 20);
/// ACCELMEM_RKNN_SRAM, and where the front puts the SRAM zone.
const SRAM: (u64, u64) = (0xff00_0000, 64 << 10);
/// The front's IOVA zone for imported foreign fds.
const IOVA: (u64, u64) = (0x10_0000_0000, 16 << 30);
/// ACCELMEM_RKNN_INTERNAL_SIZE: what RKNN_QUERY_MEM_SIZE reports.
const INTERNAL: u32 = 64 << 10;
const MODEL_LEN: usize = 10_000;
const DIR_PREFIX: &str = "accelmem-test-rkbad-";

const CACHEABLE: u64 = rknn_mem_alloc_flags::RKNN_FLAG_MEMORY_CACHEABLE as u64;
const NON_CACHEABLE: u64 = rknn_mem_alloc_flags::RKNN_FLAG_MEMORY_NON_CACHEABLE as u64;
const TRY_SRAM: u64 = rknn_mem_alloc_flags::RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM as u64;
const NO_CTX: u64 = RKNN_MEM_FLAG_ALLOC_NO_CONTEXT as u64;
const TO_DEV: u32 = rknn_mem_sync_mode::RKNN_MEMORY_SYNC_TO_DEVICE as u32;
const FROM_DEV: u32 = rknn_mem_sync_mode::RKNN_MEMORY_SYNC_FROM_DEVICE as u32;
const BOTH: u32 = rknn_mem_sync_mode::RKNN_MEMORY_SYNC_BIDIRECTIONAL as u32;
const Q_MEM_SIZE: u32 = rknn_query_cmd::RKNN_QUERY_MEM_SIZE as u32;
const Q_SDK_VERSION: u32 = rknn_query_cmd::RKNN_QUERY_SDK_VERSION as u32;
const FLAGS_INSIDE: u32 = rknn_tensor_mem_flags::RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE as u32;
const FLAGS_FROM_FD: u32 = rknn_tensor_mem_flags::RKNN_TENSOR_MEMORY_FLAGS_FROM_FD as u32;
const FLAGS_FROM_PHYS: u32 = rknn_tensor_mem_flags::RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS as u32;

type Mem = *mut rknn_tensor_mem;

// ---------------------------------------------------------------- setup

static INIT: Once = Once::new();
static NPU: OnceLock<Device> = OnceLock::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// Point the process-global device at a private directory and name, once,
/// before any export runs; make the front open its NPU device and open
/// that here too. Returns (shared device, NPU device).
fn init() -> (&'static Device, &'static Device) {
    INIT.call_once(|| {
        let pid = std::process::id();
        let dir = common::own_shm_dir(DIR_PREFIX);
        std::env::set_var("ACCELMEM_DEVICE", format!("t-rkbad-{pid}"));
        std::env::set_var("ACCELMEM_ZONES", ZONES);
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
        std::env::set_var("ACCELMEM_RKNN_SRAM", "64K");
        std::env::set_var("ACCELMEM_RKNN_INTERNAL_SIZE", "64K");
        std::env::remove_var("ACCELMEM_RKNN_ZONE");
        std::env::remove_var("ACCELMEM_BACKEND");
        std::env::set_var("RKNN_LOG_LEVEL", "0");
        // The NPU device comes into being on first SRAM use.
        let m = create2(0, 4096, NO_CTX | TRY_SRAM);
        assert!(!m.is_null(), "warm-up SRAM allocation");
        eq_code("warm-up destroy", destroy_mem(0, m), RKNN_SUCC);
    });
    let dev = engine::global().expect("the global device opens");
    assert_eq!(
        dev.name(),
        format!("t-rkbad-{}", std::process::id()),
        "global device opened before init()"
    );
    let npu = NPU.get_or_init(|| {
        let cfg = Config {
            device: format!("{}-npu", dev.name()),
            ..dev.config().clone()
        };
        Device::open_existing(cfg).expect("the front created <dev>-npu")
    });
    (dev, npu)
}

// ---------------------------------------------------------------- codes

fn code_name(c: i32) -> String {
    let names: &[(i32, &str)] = &[
        (RKNN_SUCC, "RKNN_SUCC"),
        (RKNN_ERR_FAIL, "RKNN_ERR_FAIL"),
        (RKNN_ERR_TIMEOUT, "RKNN_ERR_TIMEOUT"),
        (RKNN_ERR_DEVICE_UNAVAILABLE, "RKNN_ERR_DEVICE_UNAVAILABLE"),
        (RKNN_ERR_MALLOC_FAIL, "RKNN_ERR_MALLOC_FAIL"),
        (RKNN_ERR_PARAM_INVALID, "RKNN_ERR_PARAM_INVALID"),
        (RKNN_ERR_MODEL_INVALID, "RKNN_ERR_MODEL_INVALID"),
        (RKNN_ERR_CTX_INVALID, "RKNN_ERR_CTX_INVALID"),
        (RKNN_ERR_INPUT_INVALID, "RKNN_ERR_INPUT_INVALID"),
        (RKNN_ERR_OUTPUT_INVALID, "RKNN_ERR_OUTPUT_INVALID"),
    ];
    match names.iter().find(|(v, _)| *v == c) {
        Some((_, n)) => format!("{n} ({c})"),
        None => format!("{c}"),
    }
}

#[track_caller]
fn eq_code(what: &str, got: i32, want: i32) {
    assert!(got == want, "{what}: got {}, want {}", code_name(got), code_name(want));
}

fn in_range(addr: u64, r: (u64, u64)) -> bool {
    (r.0..r.0 + r.1).contains(&addr)
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(131).wrapping_add(seed as u32 * 7 + 1) as u8)
        .collect()
}

fn model() -> Vec<u8> {
    pattern(0x3D, MODEL_LEN)
}

// ---------------------------------------------------------------- calls

fn create(ctx: rknn_context, size: u32) -> Mem {
    // SAFETY: plain values.
    unsafe { rknn_create_mem(ctx, size) }
}

fn create2(ctx: rknn_context, size: u64, flags: u64) -> Mem {
    // SAFETY: plain values.
    unsafe { rknn_create_mem2(ctx, size, flags) }
}

fn from_fd(ctx: rknn_context, fd: i32, virt: *mut c_void, size: u32, offset: i32) -> Mem {
    // SAFETY: `virt` is NULL or a mapping of the fd from its start; a bad fd
    // is the case under test and is only looked at, never trusted.
    unsafe { rknn_create_mem_from_fd(ctx, fd, virt, size, offset) }
}

fn from_phys(ctx: rknn_context, phys: u64, virt: *mut c_void, size: u32) -> Mem {
    // SAFETY: `virt` is NULL or a mapping of `phys`.
    unsafe { rknn_create_mem_from_phys(ctx, phys, virt, size) }
}

fn destroy_mem(ctx: rknn_context, m: Mem) -> i32 {
    // SAFETY: the export looks `m` up before touching it; NULL, stale and
    // foreign pointers are the cases under test.
    unsafe { rknn_destroy_mem(ctx, m) }
}

fn sync(ctx: rknn_context, m: Mem, mode: u32) -> i32 {
    // SAFETY: as for destroy_mem.
    unsafe { rknn_mem_sync(ctx, m, mode) }
}

fn set_io(ctx: rknn_context, m: Mem, a: Option<&mut rknn_tensor_attr>) -> i32 {
    let a = a.map_or(null_mut(), |a| a as *mut rknn_tensor_attr);
    // SAFETY: `a` is NULL or a valid attr; `m` as for destroy_mem.
    unsafe { rknn_set_io_mem(ctx, m, a) }
}

fn set_weight(ctx: rknn_context, m: Mem) -> i32 {
    // SAFETY: as for destroy_mem.
    unsafe { rknn_set_weight_mem(ctx, m) }
}

fn set_internal(ctx: rknn_context, m: Mem) -> i32 {
    // SAFETY: as for destroy_mem.
    unsafe { rknn_set_internal_mem(ctx, m) }
}

fn query_raw(ctx: rknn_context, cmd: u32, info: *mut c_void, size: u32) -> i32 {
    // SAFETY: `info` is NULL or writable for `size` bytes.
    unsafe { rknn_query(ctx, cmd, info, size) }
}

#[track_caller]
fn mem_size(ctx: rknn_context) -> rknn_mem_size {
    let mut ms = rknn_mem_size::default();
    let r = query_raw(ctx, Q_MEM_SIZE, &mut ms as *mut _ as *mut c_void, size_of::<rknn_mem_size>() as u32);
    eq_code("query MEM_SIZE", r, RKNN_SUCC);
    ms
}

fn init_raw(ctx: *mut rknn_context, model: *mut c_void, size: u32, flags: u32) -> i32 {
    // SAFETY: `ctx` is NULL or writable; `model` is NULL, `size` readable
    // bytes, or (size 0) a NUL-terminated path.
    unsafe { rknn_init(ctx, model, size, flags, null_mut()) }
}

#[track_caller]
fn ctx_new(flags: u32) -> rknn_context {
    let mut m = model();
    let mut c = 0;
    eq_code(
        "rknn_init",
        init_raw(&mut c, m.as_mut_ptr() as *mut c_void, m.len() as u32, flags),
        RKNN_SUCC,
    );
    assert!(c != 0);
    c
}

fn destroy(ctx: rknn_context) -> i32 {
    // SAFETY: plain value.
    unsafe { rknn_destroy(ctx) }
}

/// A copy of a live memory struct.
#[track_caller]
fn info(m: Mem) -> rknn_tensor_mem {
    assert!(!m.is_null(), "expected a memory, got NULL");
    // SAFETY: a live memory from a create call.
    unsafe { *m }
}

/// `len` bytes at `virt_addr + offset + at` of a live memory.
fn read_mem(m: Mem, at: usize, len: usize) -> Vec<u8> {
    let i = info(m);
    assert!(at + len <= i.size as usize);
    // SAFETY: the memory maps `size` bytes from virt_addr + offset.
    unsafe { std::slice::from_raw_parts((i.virt_addr as *const u8).add(i.offset as usize + at), len) }.to_vec()
}

fn write_mem(m: Mem, at: usize, data: &[u8]) {
    let i = info(m);
    assert!(at + data.len() <= i.size as usize);
    // SAFETY: as in read_mem.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), (i.virt_addr as *mut u8).add(i.offset as usize + at), data.len()) };
}

/// A zeroed attr asking for `need` bytes (size and size_with_stride).
fn attr_of(need: u32) -> rknn_tensor_attr {
    rknn_tensor_attr {
        index: 0,
        n_dims: 1,
        dims: [0; RKNN_MAX_DIMS],
        name: [0; RKNN_MAX_NAME_LEN],
        n_elems: need,
        size: need,
        fmt: rknn_tensor_format::RKNN_TENSOR_NHWC as u32,
        r#type: rknn_tensor_type::RKNN_TENSOR_UINT8 as u32,
        qnt_type: 0,
        fl: 0,
        zp: 0,
        scale: 1.0,
        w_stride: 0,
        size_with_stride: need,
        pass_through: 0,
        h_stride: 0,
    }
}

/// Whether `len` bytes at `addr` are mapped in this process (msync fails
/// with ENOMEM on unmapped pages; it never faults).
fn is_mapped(addr: *mut c_void, len: usize) -> bool {
    let a = addr as usize & !4095;
    let l = len + (addr as usize - a);
    // SAFETY: msync only inspects the range.
    unsafe { libc::msync(a as *mut c_void, l, libc::MS_ASYNC) == 0 }
}

/// A memfd of `len` bytes of pattern(seed): the kind of foreign fd
/// (another allocator's dma-buf) clients hand to rknn_create_mem_from_fd.
struct MemFd {
    fd: OwnedFd,
    data: Vec<u8>,
}

impl MemFd {
    fn new(len: usize, seed: u8) -> MemFd {
        // SAFETY: a NUL-terminated name; the result is checked.
        let raw = unsafe { libc::memfd_create(c"rkbad".as_ptr(), libc::MFD_CLOEXEC) };
        assert!(raw >= 0, "memfd_create");
        // SAFETY: a fresh fd owned from here on.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let data = pattern(seed, len);
        // SAFETY: `data` is readable for its length.
        let n = unsafe { libc::pwrite(raw, data.as_ptr() as *const c_void, len, 0) };
        assert_eq!(n, len as isize, "fill the memfd");
        MemFd { fd, data }
    }

    fn raw(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// (st_dev, st_ino) of an fd, to tell which object it is.
fn object_of(fd: i32) -> Option<(u64, u64)> {
    // SAFETY: fstat into a zeroed struct; a bad fd just fails.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    (unsafe { libc::fstat(fd, &mut st) } == 0).then_some((st.st_dev, st.st_ino))
}

// ---------------------------------------------------------------- the per-test context

/// One test's view: the serial lock, a live probe context, the intactness
/// check and the leak baseline.
struct T {
    tag: &'static str,
    dev: &'static Device,
    npu: &'static Device,
    /// A live context (memory-only, MEM_ALLOC_OUTSIDE, so it owns no blocks).
    probe: rknn_context,
    n: Cell<u32>,
    base: (Vec<String>, usize, usize),
    _serial: MutexGuard<'static, ()>,
}

impl T {
    fn new(tag: &'static str) -> T {
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        let (dev, npu) = init();
        let probe = ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE);
        let mut t = T {
            tag,
            dev,
            npu,
            probe,
            n: Cell::new(0),
            base: (vec![], 0, 0),
            _serial: serial,
        };
        t.base = (t.blocks(), dev.local_mappings(), open_fds());
        t
    }

    /// Blocks of the front ("rknn*") and of this test ("<tag>.") on both
    /// devices.
    fn blocks(&self) -> Vec<String> {
        let mine = format!("{}.", self.tag);
        let mut out = vec![];
        for (which, d) in [("dev", self.dev), ("npu", self.npu)] {
            for z in d.zones().unwrap() {
                for b in z.blocks {
                    if b.name.starts_with("rknn") || b.name.starts_with(&mine) {
                        out.push(format!("{which}:{}:{} @ {:#x}", z.name, b.name, b.phys));
                    }
                }
            }
        }
        out
    }

    fn name(&self) -> String {
        self.n.set(self.n.get() + 1);
        format!("{}.{}", self.tag, self.n.get())
    }

    /// A block of the shared device (as an MMZ allocation would be), mapped.
    fn block(&self, size: u64) -> (BufInfo, MapInfo) {
        let name = self.name();
        self.dev
            .alloc_mapped(&AllocReq {
                size,
                attrs: attr::CACHED,
                name: &name,
                ..AllocReq::default()
            })
            .expect("allocate a test block")
    }

    /// A cacheable memory of `size` bytes through the probe, filled with
    /// pattern(seed).
    #[track_caller]
    fn filled(&self, size: u32, seed: u8) -> Mem {
        let m = create(self.probe, size);
        assert!(!m.is_null(), "rknn_create_mem({size})");
        write_mem(m, 0, &pattern(seed, size as usize));
        m
    }

    /// The engine still works and is consistent: a fresh round trip through
    /// the exports (its fd maps the same bytes, as a dma-buf fd does), then
    /// both devices' own checkers.
    #[track_caller]
    fn intact(&self) {
        let len = 3 * 4096 + 17;
        let m = create(self.probe, len);
        let i = info(m);
        assert_eq!((i.size, i.offset, i.flags), (len, 0, FLAGS_INSIDE), "fresh memory fields");
        assert!(
            in_range(i.phys_addr, DDR) && in_range(i.phys_addr + len as u64 - 1, DDR),
            "fresh memory in DDR"
        );
        let data = pattern(0x5A, len as usize);
        write_mem(m, 0, &data);
        eq_code("fresh sync to device", sync(self.probe, m, TO_DEV), RKNN_SUCC);
        eq_code("fresh sync from device", sync(self.probe, m, FROM_DEV), RKNN_SUCC);
        assert!(read_mem(m, 0, len as usize) == data, "fresh memory readback");
        // SAFETY: mapping the memory's own fd read-only; checked below.
        let p = unsafe { libc::mmap(null_mut(), len as usize, libc::PROT_READ, libc::MAP_SHARED, i.fd, 0) };
        assert!(p != libc::MAP_FAILED, "mmap(mem->fd)");
        // SAFETY: `p` maps `len` bytes.
        let via_fd = unsafe { std::slice::from_raw_parts(p as *const u8, len as usize) }.to_vec();
        // SAFETY: the mapping made above.
        unsafe { libc::munmap(p, len as usize) };
        assert!(via_fd == data, "mem->fd maps the same bytes");
        eq_code("fresh destroy", destroy_mem(self.probe, m), RKNN_SUCC);
        if let Err(e) = self.dev.check() {
            panic!("shared device check failed: {e}");
        }
    }

    /// The NPU device's checker. It walks the page map of the 16 GiB IOVA
    /// zone (~50 ms in a debug build), so it runs after each group of calls
    /// that touch SRAM or IOVA rather than after every call.
    #[track_caller]
    fn npu_intact(&self) {
        if let Err(e) = self.npu.check() {
            panic!("NPU device check failed: {e}");
        }
    }

    /// Assert a return code, then that the engine is intact.
    #[track_caller]
    fn bad(&self, what: &str, got: i32, want: i32) {
        eq_code(what, got, want);
        self.intact();
    }

    /// A create call that must fail: NULL, and nothing it made on the way
    /// is left (blocks of either device, mappings, fds).
    #[track_caller]
    fn fails(&self, what: &str, call: impl FnOnce() -> Mem) {
        let before = (self.blocks(), self.dev.local_mappings(), open_fds());
        let got = call();
        let after = (self.blocks(), self.dev.local_mappings(), open_fds());
        assert!(got.is_null(), "{what}: got {got:p}, want NULL");
        assert_eq!(before, after, "{what}: a failed call left (blocks, mappings, fds) behind");
        self.intact();
    }

    #[track_caller]
    fn null(&self, what: &str, got: Mem) {
        assert!(got.is_null(), "{what}: got {got:p}, want NULL");
        self.intact();
    }

    /// End of test: consistent, the probe context goes, and nothing of the
    /// test is left: blocks, mappings, fds.
    #[track_caller]
    fn done(&self) {
        self.intact();
        self.npu_intact();
        eq_code("destroy the probe context", destroy(self.probe), RKNN_SUCC);
        assert_eq!(self.blocks(), self.base.0, "blocks left behind");
        assert_eq!(self.dev.local_mappings(), self.base.1, "mappings left behind");
        assert_eq!(open_fds(), self.base.2, "fds left open");
    }
}

/// Context handles no rknn_init returned.
fn bad_ctxs(live: rknn_context) -> [rknn_context; 7] {
    [0, 1, 0xdead_beef, 0x524B_0000_0FF0, live + 1, live + 8, u64::MAX]
}

/// Every export that takes a context, with `ctx`, must refuse it; `live`
/// is a memory of the probe context that must survive all of it.
fn refuse_everything(t: &T, ctx: rknn_context, live: Mem, why: &str) {
    let lf = info(live);
    let memfd = MemFd::new(8192, 9);
    let creates: [(&str, &dyn Fn() -> Mem); 9] = [
        ("create_mem", &|| create(ctx, 4096)),
        ("create_mem2(0)", &|| create2(ctx, 4096, 0)),
        ("create_mem2(CACHEABLE)", &|| create2(ctx, 4096, CACHEABLE)),
        ("create_mem2(NON_CACHEABLE)", &|| create2(ctx, 4096, NON_CACHEABLE)),
        ("create_mem2(TRY_SRAM)", &|| create2(ctx, 4096, TRY_SRAM)),
        ("create_mem_from_fd(our fd)", &|| from_fd(ctx, lf.fd, null_mut(), 4096, 0)),
        ("create_mem_from_fd(memfd)", &|| from_fd(ctx, memfd.raw(), null_mut(), 4096, 0)),
        ("create_mem_from_phys", &|| from_phys(ctx, lf.phys_addr, null_mut(), 4096)),
        // SAFETY: plain values; NULL block.
        ("create_mem_from_mb_blk", &|| unsafe {
            rknn_create_mem_from_mb_blk(ctx, null_mut(), 0)
        }),
    ];
    for (what, make) in creates {
        t.fails(&format!("{what} with {why} {ctx:#x}"), make);
    }
    let c = RKNN_ERR_CTX_INVALID;
    let w = |what: &str| format!("{what} with {why} {ctx:#x}");
    t.bad(&w("destroy_mem"), destroy_mem(ctx, live), c);
    t.bad(&w("mem_sync"), sync(ctx, live, TO_DEV), c);
    t.bad(&w("set_io_mem"), set_io(ctx, live, Some(&mut attr_of(16))), c);
    t.bad(&w("set_weight_mem"), set_weight(ctx, live), c);
    t.bad(&w("set_internal_mem"), set_internal(ctx, live), c);
    let mut ms = [0xABu8; 128];
    t.bad(
        &w("query MEM_SIZE"),
        query_raw(ctx, Q_MEM_SIZE, ms.as_mut_ptr() as *mut c_void, 128),
        c,
    );
    assert!(ms.iter().all(|&b| b == 0xAB), "query wrote on failure");
    let mut sv = vec![0xABu8; 512];
    t.bad(
        &w("query SDK_VERSION"),
        query_raw(ctx, Q_SDK_VERSION, sv.as_mut_ptr() as *mut c_void, 512),
        c,
    );
    assert!(sv.iter().all(|&b| b == 0xAB), "query wrote on failure");
    let mut a = attr_of(16);
    let mut input = rknn_input {
        index: 0,
        buf: ms.as_mut_ptr() as *mut c_void,
        size: 16,
        pass_through: 1,
        r#type: 3,
        fmt: 1,
    };
    let mut output = rknn_output {
        want_float: 0,
        is_prealloc: 1,
        index: 0,
        buf: ms.as_mut_ptr() as *mut c_void,
        size: 16,
    };
    let mut run_ext = rknn_run_extend::default();
    let mut out_ext = rknn_output_extend::default();
    // SAFETY: every pointer is valid for the call (or NULL where allowed).
    let model_calls = unsafe {
        [
            ("inputs_set", rknn_inputs_set(ctx, 1, &mut input)),
            ("run", rknn_run(ctx, null_mut())),
            ("run(extend)", rknn_run(ctx, &mut run_ext)),
            ("wait", rknn_wait(ctx, &mut run_ext)),
            ("outputs_get", rknn_outputs_get(ctx, 1, &mut output, &mut out_ext)),
            ("outputs_release", rknn_outputs_release(ctx, 1, &mut output)),
            ("set_input_shape", rknn_set_input_shape(ctx, &mut a)),
            ("set_input_shapes", rknn_set_input_shapes(ctx, 1, &mut a)),
            ("set_core_mask", rknn_set_core_mask(ctx, rknn_core_mask::RKNN_NPU_CORE_0 as u32)),
            ("set_batch_core_num", rknn_set_batch_core_num(ctx, 1)),
        ]
    };
    for (what, r) in model_calls {
        t.bad(&w(what), r, c);
    }
    t.bad(&w("destroy"), destroy(ctx), c);
    t.npu_intact();
    // The live memory is untouched and still works.
    assert_eq!(info(live).phys_addr, lf.phys_addr);
    eq_code("sync of the live memory", sync(t.probe, live, BOTH), RKNN_SUCC);
}

// ================================================================ contexts

#[test]
fn bad_context_handles_every_export() {
    let t = T::new("ctx");
    let live = t.filled(8192, 1);
    for ctx in bad_ctxs(t.probe) {
        refuse_everything(&t, ctx, live, "unknown context");
    }
    assert!(read_mem(live, 0, 8192) == pattern(1, 8192), "live memory bytes changed");
    eq_code("destroy_mem", destroy_mem(t.probe, live), RKNN_SUCC);
    t.done();
}

/// After rknn_destroy every call through that context is refused, the
/// runtime's own weight/internal memory is gone, and memory the caller made
/// through it lives on until destroyed through a live context.
#[test]
fn destroyed_context() {
    let t = T::new("dead");
    let c = ctx_new(0);
    let own: Vec<String> = t
        .blocks()
        .into_iter()
        .filter(|b| b.contains("rknn_weight") || b.contains("rknn_internal"))
        .collect();
    assert_eq!(own.len(), 2, "rknn_init allocates weight and internal memory: {own:?}");
    let m = create(c, 8192);
    assert!(!m.is_null());
    write_mem(m, 0, &pattern(2, 8192));
    let live = t.filled(4096, 3);
    t.bad("rknn_destroy", destroy(c), RKNN_SUCC);
    let left: Vec<String> = t
        .blocks()
        .into_iter()
        .filter(|b| b.contains("rknn_weight") || b.contains("rknn_internal"))
        .collect();
    assert!(left.is_empty(), "the context's own memory outlived it: {left:?}");
    refuse_everything(&t, c, live, "destroyed context");
    // Memory made through the dead context.
    t.bad("destroy_mem through the dead context", destroy_mem(c, m), RKNN_ERR_CTX_INVALID);
    t.bad("mem_sync through the dead context", sync(c, m, TO_DEV), RKNN_ERR_CTX_INVALID);
    assert!(read_mem(m, 0, 8192) == pattern(2, 8192), "memory of a dead context lost its bytes");
    eq_code("mem_sync through a live context", sync(t.probe, m, BOTH), RKNN_SUCC);
    t.bad("destroy_mem through a live context", destroy_mem(t.probe, m), RKNN_SUCC);
    t.bad("destroy_mem(live)", destroy_mem(t.probe, live), RKNN_SUCC);
    t.done();
}

// ================================================================ memory pointers

/// NULL, copies of a live struct (on the stack, from malloc), pointers
/// into it and garbage are not memories of this runtime: PARAM_INVALID,
/// nothing written through them, nothing freed, the original intact.
#[test]
fn null_and_foreign_memory_pointers() {
    let t = T::new("foreign");
    let outside = ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE);
    let live = t.filled(64 << 10, 4);
    let copy = info(live);
    let mut stack = copy;
    // SAFETY: a plain allocation of one struct, checked; freed below.
    let heap = unsafe { libc::malloc(size_of::<rknn_tensor_mem>()) } as Mem;
    assert!(!heap.is_null());
    // SAFETY: `heap` is writable for one struct.
    unsafe { heap.write(copy) };
    // SAFETY: as above, a second one, zeroed.
    let zeroed = unsafe { libc::calloc(1, size_of::<rknn_tensor_mem>()) } as Mem;
    assert!(!zeroed.is_null());
    let foreign: [(&str, Mem); 7] = [
        ("NULL", null_mut()),
        ("a stack copy of a live memory", &mut stack),
        ("a malloc'ed copy of a live memory", heap),
        ("a zeroed malloc'ed struct", zeroed),
        ("a pointer into a live memory", (live as usize + 8) as Mem),
        ("address 1", 1 as Mem),
        ("an unmapped address", (usize::MAX & !0xfff) as Mem),
    ];
    for (what, m) in foreign {
        let p = RKNN_ERR_PARAM_INVALID;
        t.bad(&format!("destroy_mem({what})"), destroy_mem(t.probe, m), p);
        for mode in [TO_DEV, FROM_DEV, BOTH] {
            t.bad(&format!("mem_sync({what}, {mode})"), sync(t.probe, m, mode), p);
        }
        t.bad(&format!("set_io_mem({what})"), set_io(t.probe, m, Some(&mut attr_of(16))), p);
        t.bad(&format!("set_weight_mem({what})"), set_weight(outside, m), p);
        t.bad(&format!("set_internal_mem({what})"), set_internal(outside, m), p);
    }
    let same = |a: rknn_tensor_mem, b: rknn_tensor_mem| {
        (a.virt_addr, a.phys_addr, a.fd, a.offset, a.size, a.flags, a.priv_data)
            == (b.virt_addr, b.phys_addr, b.fd, b.offset, b.size, b.flags, b.priv_data)
    };
    assert!(same(stack, copy), "the stack copy was written");
    // SAFETY: `heap` holds one struct written above.
    assert!(same(unsafe { heap.read() }, copy), "the malloc'ed copy was written");
    // SAFETY: allocated above; a double free here would show the front freed them.
    unsafe {
        libc::free(heap as *mut c_void);
        libc::free(zeroed as *mut c_void);
    }
    t.bad("set_io_mem(live, NULL attr)", set_io(t.probe, live, None), RKNN_ERR_PARAM_INVALID);
    assert!(same(info(live), copy), "the live memory changed");
    assert!(
        read_mem(live, 0, 64 << 10) == pattern(4, 64 << 10),
        "the live memory's bytes changed"
    );
    eq_code("destroy_mem(live)", destroy_mem(t.probe, live), RKNN_SUCC);
    eq_code("destroy(outside)", destroy(outside), RKNN_SUCC);
    t.done();
}

/// Every kind of memory destroyed twice: the second time (and any use after
/// the first) is PARAM_INVALID, and destroying a wrapper never touches what
/// it wraps.
#[test]
fn double_destroy() {
    let t = T::new("twice");
    let orig = t.filled(16 << 10, 5);
    let memfd = MemFd::new(16 << 10, 6);
    let (blk, bmap) = t.block(16 << 10);
    let blk_data = pattern(7, 16 << 10);
    // SAFETY: the block's mapping is 16 KiB.
    unsafe { std::ptr::copy_nonoverlapping(blk_data.as_ptr(), bmap.addr as *mut u8, blk_data.len()) };
    let of = info(orig);
    let kinds: [(&str, &dyn Fn() -> Mem); 9] = [
        ("create_mem", &|| create(t.probe, 4096)),
        ("create_mem2(NON_CACHEABLE)", &|| create2(t.probe, 4096, NON_CACHEABLE)),
        ("create_mem2(TRY_SRAM)", &|| create2(t.probe, 4096, TRY_SRAM)),
        ("create_mem2(NO_CONTEXT)", &|| create2(0, 4096, NO_CTX)),
        ("from_fd(our fd)", &|| from_fd(t.probe, of.fd, null_mut(), 4096, 4096)),
        ("from_fd(our fd, virt)", &|| from_fd(t.probe, of.fd, of.virt_addr, 8192, 0)),
        ("from_fd(memfd)", &|| from_fd(t.probe, memfd.raw(), null_mut(), 8192, 4096)),
        ("from_phys(our memory)", &|| {
            from_phys(t.probe, of.phys_addr + 4096, null_mut(), 4096)
        }),
        ("from_phys(block)", &|| from_phys(t.probe, blk.phys + 8192, null_mut(), 8192)),
    ];
    for (what, make) in kinds {
        let m = make();
        assert!(!m.is_null(), "{what}");
        eq_code(&format!("{what}: destroy"), destroy_mem(t.probe, m), RKNN_SUCC);
        // Right away, before anything can reuse the struct's address.
        let again = destroy_mem(t.probe, m);
        let synced = sync(t.probe, m, TO_DEV);
        let bound = set_io(t.probe, m, Some(&mut attr_of(16)));
        let through_zero = destroy_mem(0, m);
        eq_code(&format!("{what}: destroy again"), again, RKNN_ERR_PARAM_INVALID);
        eq_code(&format!("{what}: sync after destroy"), synced, RKNN_ERR_PARAM_INVALID);
        eq_code(&format!("{what}: set_io_mem after destroy"), bound, RKNN_ERR_PARAM_INVALID);
        eq_code(
            &format!("{what}: destroy again through ctx 0"),
            through_zero,
            RKNN_ERR_PARAM_INVALID,
        );
        t.intact();
        t.npu_intact();
        assert!(
            read_mem(orig, 0, 16 << 10) == pattern(5, 16 << 10),
            "{what}: the original memory changed"
        );
        eq_code(&format!("{what}: sync of the original"), sync(t.probe, orig, BOTH), RKNN_SUCC);
        // SAFETY: the block's mapping is live and 16 KiB.
        let now = unsafe { std::slice::from_raw_parts(bmap.addr as *const u8, 16 << 10) };
        assert!(now == blk_data.as_slice(), "{what}: the wrapped block changed");
        let mut back = vec![0u8; 16 << 10];
        // SAFETY: `back` is writable for its length.
        let n = unsafe { libc::pread(memfd.raw(), back.as_mut_ptr() as *mut c_void, back.len(), 0) };
        assert!(n == back.len() as isize && back == memfd.data, "{what}: the memfd changed");
    }
    eq_code("destroy the original", destroy_mem(t.probe, orig), RKNN_SUCC);
    t.dev.free(blk.id).expect("free the test block");
    drop(memfd);
    t.done();
}

/// Destroy works through any live context (llama.cpp's ggml-rknpu2 frees
/// through "a random kernel" context); RKNN_MEM_FLAG_ALLOC_NO_CONTEXT memory
/// needs no context at all (the PDF: "ctx is allowed to be 0 or NULL ...
/// the released interface can use any context").
#[test]
fn destroy_through_any_context_and_no_context_memory() {
    let t = T::new("anyctx");
    let a = ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE);
    let b = ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE);
    let m = create(a, 8192);
    assert!(!m.is_null());
    t.bad("destroy_mem through another live context", destroy_mem(b, m), RKNN_SUCC);
    let orig = t.filled(8192, 8);
    let w = from_fd(a, info(orig).fd, null_mut(), 8192, 0);
    assert!(!w.is_null());
    t.bad("destroy a from_fd memory through another context", destroy_mem(b, w), RKNN_SUCC);
    let w = from_phys(a, info(orig).phys_addr, null_mut(), 4096);
    assert!(!w.is_null());
    t.bad(
        "destroy a from_phys memory through another context",
        destroy_mem(t.probe, w),
        RKNN_SUCC,
    );
    assert!(read_mem(orig, 0, 8192) == pattern(8, 8192));
    t.bad("destroy the original", destroy_mem(t.probe, orig), RKNN_SUCC);

    // No context.
    for (what, flags) in [
        ("NO_CONTEXT", NO_CTX),
        ("NO_CONTEXT|CACHEABLE", NO_CTX | CACHEABLE),
        ("NO_CONTEXT|NON_CACHEABLE", NO_CTX | NON_CACHEABLE),
        ("NO_CONTEXT|TRY_SRAM", NO_CTX | TRY_SRAM),
    ] {
        let n = create2(0, 8192, flags);
        let i = info(n);
        assert_eq!((i.size, i.flags, i.offset), (8192, FLAGS_INSIDE, 0), "{what}: fields");
        write_mem(n, 0, &pattern(9, 8192));
        let want = if flags & NON_CACHEABLE != 0 { RKNN_ERR_FAIL } else { RKNN_SUCC };
        t.bad(&format!("{what}: mem_sync with ctx 0"), sync(0, n, BOTH), want);
        t.bad(
            &format!("{what}: set_io_mem in a context"),
            set_io(a, n, Some(&mut attr_of(8192))),
            RKNN_SUCC,
        );
        assert!(read_mem(n, 0, 8192) == pattern(9, 8192));
        t.bad(&format!("{what}: destroy_mem with ctx 0"), destroy_mem(0, n), RKNN_SUCC);
    }
    let n = create2(a, 4096, NO_CTX);
    assert!(!n.is_null(), "NO_CONTEXT with a context");
    t.bad("destroy NO_CONTEXT memory through another context", destroy_mem(b, n), RKNN_SUCC);
    let n = create2(a, 4096, NO_CTX);
    assert!(!n.is_null());
    eq_code("destroy its context", destroy(a), RKNN_SUCC);
    t.bad("destroy NO_CONTEXT memory after its context", destroy_mem(0, n), RKNN_SUCC);
    // Without the flag, ctx 0 is just an invalid context.
    t.fails("create_mem(0)", || create(0, 4096));
    for flags in [0, CACHEABLE, NON_CACHEABLE, TRY_SRAM] {
        t.fails(&format!("create_mem2(0, flags {flags:#x})"), || create2(0, 4096, flags));
    }
    eq_code("destroy(b)", destroy(b), RKNN_SUCC);
    t.done();
}

// ================================================================ sync

#[test]
fn mem_sync_modes_and_kinds() {
    let t = T::new("sync");
    let cached = t.filled(8192, 10);
    for mode in [TO_DEV, FROM_DEV, BOTH] {
        t.bad(&format!("sync(cacheable, {mode})"), sync(t.probe, cached, mode), RKNN_SUCC);
    }
    for mode in [0, 4, 5, 7, 8, 0x100, 0x8000_0001, u32::MAX] {
        t.bad(
            &format!("sync(mode {mode:#x})"),
            sync(t.probe, cached, mode),
            RKNN_ERR_PARAM_INVALID,
        );
    }
    assert!(read_mem(cached, 0, 8192) == pattern(10, 8192));
    let memfd = MemFd::new(8192, 11);
    let (blk, _bmap) = t.block(8192);
    let ci = info(cached);
    let kinds = [
        ("create_mem2(NON_CACHEABLE)", create2(t.probe, 8192, NON_CACHEABLE)),
        (
            "create_mem2(NON_CACHEABLE|TRY_SRAM)",
            create2(t.probe, 4096, NON_CACHEABLE | TRY_SRAM),
        ),
        ("from_fd(memfd)", from_fd(t.probe, memfd.raw(), null_mut(), 8192, 0)),
        ("from_phys(cacheable memory)", from_phys(t.probe, ci.phys_addr, null_mut(), 8192)),
        ("from_phys(cacheable block)", from_phys(t.probe, blk.phys, null_mut(), 4096)),
    ];
    for (what, m) in kinds {
        assert!(!m.is_null(), "{what}");
        for mode in [TO_DEV, FROM_DEV, BOTH] {
            t.bad(&format!("sync({what}, {mode})"), sync(t.probe, m, mode), RKNN_ERR_FAIL);
        }
        t.bad(&format!("sync({what}, mode 0)"), sync(t.probe, m, 0), RKNN_ERR_PARAM_INVALID);
        t.bad(&format!("destroy {what}"), destroy_mem(t.probe, m), RKNN_SUCC);
    }
    // A view (from its fd) of this runtime's own cacheable memory is that
    // same NPU object: it syncs, as the memory-reuse recipe relies on.
    let views = [
        ("from_fd(cacheable memory)", from_fd(t.probe, ci.fd, null_mut(), 8192, 0)),
        ("from_fd(cacheable memory, virt)", from_fd(t.probe, ci.fd, ci.virt_addr, 4096, 4096)),
    ];
    for (what, m) in views {
        assert!(!m.is_null(), "{what}");
        for mode in [TO_DEV, FROM_DEV, BOTH] {
            t.bad(&format!("sync({what}, {mode})"), sync(t.probe, m, mode), RKNN_SUCC);
        }
        t.bad(&format!("destroy {what}"), destroy_mem(t.probe, m), RKNN_SUCC);
    }
    t.npu_intact();
    for mode in [TO_DEV, BOTH] {
        t.bad("sync(NULL)", sync(t.probe, null_mut(), mode), RKNN_ERR_PARAM_INVALID);
    }
    let sram = create2(t.probe, 4096, TRY_SRAM);
    assert!(in_range(info(sram).phys_addr, SRAM), "cacheable SRAM");
    t.bad("sync(cacheable SRAM)", sync(t.probe, sram, BOTH), RKNN_SUCC);
    eq_code("destroy sram", destroy_mem(t.probe, sram), RKNN_SUCC);
    assert!(read_mem(cached, 0, 8192) == pattern(10, 8192));
    eq_code("destroy cached", destroy_mem(t.probe, cached), RKNN_SUCC);
    t.dev.free(blk.id).expect("free the test block");
    drop(memfd);
    t.done();
}

// ================================================================ create_mem / create_mem2

#[test]
fn create_mem_sizes_and_flags() {
    let t = T::new("create");
    t.fails("create_mem(size 0)", || create(t.probe, 0));
    t.fails("create_mem(u32::MAX)", || create(t.probe, u32::MAX));
    t.fails("create_mem(larger than the zone)", || create(t.probe, DDR.1 as u32 + 1));
    for size in [0, 1 << 32, (1 << 32) + 4096, 1 << 40, u64::MAX] {
        t.fails(&format!("create_mem2(size {size:#x})"), || create2(t.probe, size, 0));
    }
    for flags in [
        CACHEABLE | NON_CACHEABLE,
        CACHEABLE | NON_CACHEABLE | TRY_SRAM,
        CACHEABLE | NON_CACHEABLE | NO_CTX,
        8,
        0x10,
        0x800,
        0x1_0000,
        0x4_0000,
        1 << 32,
        1 << 63,
        NON_CACHEABLE | 1 << 40,
    ] {
        t.fails(&format!("create_mem2(flags {flags:#x})"), || create2(t.probe, 4096, flags));
    }
    // What works, and what it gives.
    for (what, m, size, cached) in [
        ("create_mem(1)", create(t.probe, 1), 1u32, true),
        ("create_mem(5000)", create(t.probe, 5000), 5000, true),
        ("create_mem2(DEFAULT)", create2(t.probe, 8192, 0), 8192, true),
        ("create_mem2(CACHEABLE)", create2(t.probe, 8192, CACHEABLE), 8192, true),
        ("create_mem2(NON_CACHEABLE)", create2(t.probe, 8192, NON_CACHEABLE), 8192, false),
        ("create_mem2(1 MiB)", create2(t.probe, 1 << 20, 0), 1 << 20, true),
    ] {
        let i = info(m);
        assert_eq!((i.size, i.offset, i.flags), (size, 0, FLAGS_INSIDE), "{what}: fields");
        assert!(in_range(i.phys_addr, DDR), "{what}: phys {:#x} in DDR", i.phys_addr);
        assert!(object_of(i.fd).is_some(), "{what}: fd {} is open", i.fd);
        let (b, off) = t.dev.find_phys(i.phys_addr).expect("listed in the shared device");
        assert_eq!(off, 0);
        assert!(b.name.starts_with("rknn"), "{what}: block name {}", b.name);
        assert_eq!(b.attrs & attr::CACHED != 0, cached, "{what}: cache attribute");
        write_mem(m, 0, &pattern(12, size as usize));
        let want = if cached { RKNN_SUCC } else { RKNN_ERR_FAIL };
        t.bad(&format!("{what}: sync"), sync(t.probe, m, BOTH), want);
        assert!(read_mem(m, 0, size as usize) == pattern(12, size as usize));
        t.bad(&format!("{what}: destroy"), destroy_mem(t.probe, m), RKNN_SUCC);
    }
    t.done();
}

/// RKNN_FLAG_MEMORY_TRY_ALLOC_SRAM takes SRAM when there is room and falls
/// back to DDR when not; RKNN_QUERY_MEM_SIZE reports the SRAM use.
#[test]
fn try_alloc_sram() {
    let t = T::new("sram");
    let ms = mem_size(t.probe);
    assert_eq!((ms.total_sram_size, ms.free_sram_size), (SRAM.1 as u32, SRAM.1 as u32));
    let all = create2(t.probe, SRAM.1, TRY_SRAM);
    let ai = info(all);
    assert!(in_range(ai.phys_addr, SRAM), "SRAM available: phys {:#x}", ai.phys_addr);
    assert!(in_range(ai.phys_addr + SRAM.1 - 1, SRAM));
    write_mem(all, 0, &pattern(13, SRAM.1 as usize));
    assert_eq!(mem_size(t.probe).free_sram_size, 0, "SRAM all used");
    for (what, flags) in [("TRY_SRAM", TRY_SRAM), ("TRY_SRAM|NON_CACHEABLE", TRY_SRAM | NON_CACHEABLE)] {
        let m = create2(t.probe, 4096, flags);
        let i = info(m);
        assert!(
            in_range(i.phys_addr, DDR),
            "{what}, SRAM exhausted: phys {:#x} must fall back to DDR",
            i.phys_addr
        );
        write_mem(m, 0, &pattern(14, 4096));
        assert!(read_mem(m, 0, 4096) == pattern(14, 4096));
        t.bad(&format!("{what}: destroy the DDR fallback"), destroy_mem(t.probe, m), RKNN_SUCC);
    }
    t.npu_intact();
    // A context that wants SRAM for its internal memory gets DDR too.
    let c = ctx_new(RKNN_FLAG_ENABLE_SRAM);
    assert_eq!(mem_size(c).free_sram_size, 0);
    eq_code("destroy the ENABLE_SRAM context", destroy(c), RKNN_SUCC);
    assert!(read_mem(all, 0, SRAM.1 as usize) == pattern(13, SRAM.1 as usize), "SRAM bytes kept");
    t.bad("destroy the SRAM memory", destroy_mem(t.probe, all), RKNN_SUCC);
    assert_eq!(mem_size(t.probe).free_sram_size, SRAM.1 as u32, "SRAM free again");
    // SRAM available again.
    let m = create2(t.probe, 4096, TRY_SRAM | NON_CACHEABLE);
    assert!(in_range(info(m).phys_addr, SRAM), "SRAM available again");
    assert_eq!(mem_size(t.probe).free_sram_size, SRAM.1 as u32 - 4096);
    t.bad("destroy", destroy_mem(t.probe, m), RKNN_SUCC);
    // An ENABLE_SRAM context takes its internal memory (64 KiB) from SRAM.
    let c = ctx_new(RKNN_FLAG_ENABLE_SRAM);
    assert_eq!(mem_size(c).free_sram_size, 0, "internal memory in SRAM");
    let m = create2(t.probe, 4096, TRY_SRAM);
    assert!(in_range(info(m).phys_addr, DDR), "fallback while a context holds SRAM");
    t.bad("destroy", destroy_mem(t.probe, m), RKNN_SUCC);
    eq_code("destroy the ENABLE_SRAM context", destroy(c), RKNN_SUCC);
    assert_eq!(mem_size(t.probe).free_sram_size, SRAM.1 as u32, "the context's SRAM returned");
    // Larger than all SRAM: DDR.
    let m = create2(t.probe, SRAM.1 + 4096, TRY_SRAM);
    assert!(in_range(info(m).phys_addr, DDR), "larger than SRAM");
    t.bad("destroy", destroy_mem(t.probe, m), RKNN_SUCC);
    t.done();
}

// ================================================================ create_mem_from_fd

#[test]
fn create_mem_from_fd_bad_args() {
    let t = T::new("fromfd");
    let ours = t.filled(8192, 15);
    let oi = info(ours);
    let memfd = MemFd::new(10_000, 16);
    let mf = memfd.raw();
    // A closed fd: nothing opens a file between the close and the call.
    let closed = {
        let m = MemFd::new(4096, 0);
        m.raw()
    };
    let r = from_fd(t.probe, closed, null_mut(), 4096, 0);
    t.null("from_fd(closed fd)", r);
    let dir = std::fs::File::open(common::own_shm_dir(DIR_PREFIX)).expect("open the test's directory");
    let mut pipe = [0i32; 2];
    // SAFETY: `pipe` is writable for two fds.
    assert_eq!(unsafe { libc::pipe2(pipe.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds owned from here on.
    let pipe = pipe.map(|f| unsafe { OwnedFd::from_raw_fd(f) });
    let cases: [(&str, i32, u32, i32); 25] = [
        ("fd -1", -1, 4096, 0),
        ("fd -100", -100, 4096, 0),
        ("fd i32::MIN", i32::MIN, 4096, 0),
        ("fd never opened", 1 << 20, 4096, 0),
        ("a directory fd", dir.as_raw_fd(), 1, 0),
        ("a pipe", pipe[0].as_raw_fd(), 1, 0),
        ("size 0", oi.fd, 0, 0),
        ("size 0 of a memfd", mf, 0, 0),
        ("offset -1", oi.fd, 4096, -1),
        ("offset -4096", oi.fd, 4096, -4096),
        ("offset i32::MIN", oi.fd, 4096, i32::MIN),
        ("memfd, offset -1", mf, 100, -1),
        ("size past the end", oi.fd, 8193, 0),
        ("offset + size past the end", oi.fd, 4096, 4097),
        ("offset + size one past the end", oi.fd, 8192, 1),
        ("offset at the end", oi.fd, 1, 8192),
        ("offset far past the end", oi.fd, 1, i32::MAX),
        ("size u32::MAX", oi.fd, u32::MAX, 0),
        ("size u32::MAX, offset i32::MAX", oi.fd, u32::MAX, i32::MAX),
        ("memfd: size past its file size", mf, 10_001, 0),
        ("memfd: offset at its file size", mf, 1, 10_000),
        ("memfd: offset + size past its file size", mf, 5001, 5000),
        ("memfd: inside its last page but past its size", mf, 4096, 8192),
        ("memfd: size u32::MAX", mf, u32::MAX, 0),
        ("memfd: offset i32::MAX", mf, 1, i32::MAX),
    ];
    for (what, fd, size, offset) in cases {
        t.fails(&format!("from_fd({what})"), || from_fd(t.probe, fd, null_mut(), size, offset));
        if fd != dir.as_raw_fd() {
            // (from_fd_refuses_a_directory_with_virt_given)
            t.fails(&format!("from_fd({what}, virt given)"), || {
                from_fd(t.probe, fd, oi.virt_addr, size, offset)
            });
        }
    }
    t.npu_intact();
    // The edges that are inside: the wrapper shows the fd's bytes at
    // virt_addr + offset (virt_addr is the fd's start).
    let our_data = pattern(15, 8192);
    for (what, fd, size, offset, data) in [
        ("our fd, whole", oi.fd, 8192u32, 0i32, &our_data),
        ("our fd, second page", oi.fd, 4096, 4096, &our_data),
        ("our fd, last byte", oi.fd, 1, 8191, &our_data),
        ("memfd, whole", mf, 10_000, 0, &memfd.data),
        ("memfd, up to its end", mf, 5000, 5000, &memfd.data),
        ("memfd, last byte", mf, 1, 9999, &memfd.data),
    ] {
        let m = from_fd(t.probe, fd, null_mut(), size, offset);
        let i = info(m);
        assert_eq!((i.size, i.offset, i.flags), (size, offset, FLAGS_FROM_FD), "{what}: fields");
        assert_eq!(object_of(i.fd), object_of(fd), "{what}: mem->fd is the same object");
        if fd == oi.fd {
            assert_eq!(i.phys_addr, oi.phys_addr, "{what}: our buffer keeps its device address");
        } else {
            assert!(
                in_range(i.phys_addr, IOVA),
                "{what}: a foreign fd gets an IOVA, got {:#x}",
                i.phys_addr
            );
        }
        let o = offset as usize;
        assert!(read_mem(m, 0, size as usize) == data[o..o + size as usize], "{what}: bytes");
        t.bad(&format!("{what}: destroy"), destroy_mem(t.probe, m), RKNN_SUCC);
    }
    t.npu_intact();
    // With the caller's own mapping as virt_addr.
    // SAFETY: mapping the memfd's 10000 bytes shared; checked.
    let p = unsafe { libc::mmap(null_mut(), 10_000, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, mf, 0) };
    assert!(p != libc::MAP_FAILED);
    let m = from_fd(t.probe, mf, p, 4000, 6000);
    let i = info(m);
    assert_eq!((i.virt_addr, i.offset), (p, 6000), "the caller's virt_addr is kept");
    assert!(read_mem(m, 0, 4000) == memfd.data[6000..]);
    t.bad("destroy", destroy_mem(t.probe, m), RKNN_SUCC);
    // SAFETY: the caller's mapping is still ours to use and unmap.
    assert_eq!(
        unsafe { *(p as *const u8).add(9999) },
        memfd.data[9999],
        "destroy left the caller's mapping alone"
    );
    // SAFETY: as above.
    unsafe { libc::munmap(p, 10_000) };
    assert!(read_mem(ours, 0, 8192) == our_data);
    eq_code("destroy ours", destroy_mem(t.probe, ours), RKNN_SUCC);
    drop((dir, pipe, memfd));
    t.done();
}

/// A directory is no buffer: the SDK imports the fd as a dma-buf, which
/// fails. The front only maps the fd when virt_addr is NULL, so with a
/// virt_addr it accepts any fd whose st_size is large enough (a tmpfs
/// directory's is its entry count).
#[test]

fn from_fd_refuses_a_directory_with_virt_given() {
    let t = T::new("fddir");
    let ours = t.filled(4096, 25);
    let dir = std::fs::File::open(common::own_shm_dir(DIR_PREFIX)).expect("open the test's directory");
    let m = from_fd(t.probe, dir.as_raw_fd(), info(ours).virt_addr, 1, 0);
    if !m.is_null() {
        eq_code("destroy the wrapper", destroy_mem(t.probe, m), RKNN_SUCC);
    }
    eq_code("destroy", destroy_mem(t.probe, ours), RKNN_SUCC);
    drop(dir);
    assert!(m.is_null(), "from_fd(directory fd, virt given) returned a memory");
    t.done();
}

/// The fd a wrapper duplicated keeps the object alive like a dma-buf
/// reference, so the wrappers' own mappings (virt_addr NULL: the runtime
/// maps them) stay valid after the original memory is destroyed, and the
/// buffer goes when the last wrapper does.
#[test]
fn from_fd_wrappers_outlive_the_original() {
    let t = T::new("outlive");
    let orig = t.filled(16 << 10, 17);
    let data = pattern(17, 16 << 10);
    let whole = from_fd(t.probe, info(orig).fd, null_mut(), 16 << 10, 0);
    let part = from_fd(t.probe, info(orig).fd, null_mut(), 4096, 8192);
    assert!(!whole.is_null() && !part.is_null());
    t.bad("destroy the original", destroy_mem(t.probe, orig), RKNN_SUCC);
    for (what, w, at) in [("whole", whole, 0usize), ("part", part, 8192)] {
        let i = info(w);
        let base = (i.virt_addr as usize + i.offset as usize) as *mut c_void;
        assert!(is_mapped(base, i.size as usize), "{what}: the wrapper's virt_addr was unmapped");
        assert!(read_mem(w, 0, i.size as usize) == data[at..at + i.size as usize], "{what}: bytes");
    }
    assert!(t.blocks().iter().any(|b| b.contains("rknn_mem")), "the buffer lives while views do");
    t.bad("destroy the whole view", destroy_mem(t.probe, whole), RKNN_SUCC);
    assert!(read_mem(part, 0, 4096) == data[8192..12288], "the last view still reads");
    t.bad("destroy the last view", destroy_mem(t.probe, part), RKNN_SUCC);
    t.done();
}

/// Destroying a wrapper whose underlying memory is already gone must not
/// unmap whatever now lives at its old address (here a new create_mem,
/// which mmap usually places exactly there). `via`: how the wrapper is made.
fn stale_wrapper_destroy(t: &T, via: &str) {
    let orig = t.filled(8192, 18);
    let oi = info(orig);
    let w = if via == "from_fd" {
        from_fd(t.probe, oi.fd, null_mut(), 8192, 0)
    } else {
        from_phys(t.probe, oi.phys_addr, null_mut(), 8192)
    };
    let wv = info(w).virt_addr;
    eq_code("destroy the original", destroy_mem(t.probe, orig), RKNN_SUCC);
    let fresh = t.filled(8192, 19);
    let fv = info(fresh).virt_addr;
    eq_code(&format!("destroy the stale {via} wrapper"), destroy_mem(t.probe, w), RKNN_SUCC);
    let mapped = is_mapped(fv, 8192) && t.dev.mapping_at(fv as usize).is_ok();
    let ok = mapped && read_mem(fresh, 0, 8192) == pattern(19, 8192);
    eq_code("destroy the new memory", destroy_mem(t.probe, fresh), RKNN_SUCC);
    assert!(ok, "{via}: the new memory at {fv:p} (the wrapper was at {wv:p}) lost its mapping");
}

#[test]
fn stale_from_fd_wrapper_destroy_leaves_new_memory_mapped() {
    let t = T::new("stalefd");
    stale_wrapper_destroy(&t, "from_fd");
    t.done();
}

/// rknn_create_mem_from_phys (virt_addr NULL) shares the original's
/// mapping; destroying the original unmaps it, and destroying the wrapper
/// afterwards unmaps, by address and tag alone, the new memory's mapping.
#[test]

fn stale_from_phys_wrapper_destroy_leaves_new_memory_mapped() {
    let t = T::new("stalephys");
    stale_wrapper_destroy(&t, "from_phys");
    t.done();
}

// ================================================================ create_mem_from_phys

#[test]
fn create_mem_from_phys_bad_args() {
    let t = T::new("fromphys");
    let (blk, bmap) = t.block(16 << 10);
    let data = pattern(20, 16 << 10);
    // SAFETY: the block's mapping is 16 KiB.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), bmap.addr as *mut u8, data.len()) };
    let p = blk.phys;
    // A block that existed and is gone.
    let (gone, _) = t.block(4096);
    t.dev.free(gone.id).expect("free");
    let never = [
        0,
        1,
        0x1000,
        DDR.0 - 4096,
        DDR.0 + DDR.1,
        DDR.0 + DDR.1 - 4096,
        0x8000_0000,
        u64::MAX - 4095,
        u64::MAX,
    ];
    for phys in never.into_iter().chain([gone.phys]) {
        if t.dev.find_phys(phys).is_ok() {
            panic!("{phys:#x} is allocated; pick another");
        }
        t.fails(&format!("from_phys({phys:#x}, never allocated)"), || {
            from_phys(t.probe, phys, null_mut(), 4096)
        });
        t.fails(&format!("from_phys({phys:#x}, 1 byte)"), || from_phys(t.probe, phys, null_mut(), 1));
    }
    for (what, phys, size) in [
        ("size 0", p, 0u32),
        ("one byte past the block", p, (16 << 10) + 1),
        ("from the middle past the end", p + 8192, 8193),
        ("last byte + 1", p + (16 << 10) - 1, 2),
        ("size u32::MAX", p, u32::MAX),
        ("middle, size u32::MAX", p + 4096, u32::MAX),
    ] {
        t.fails(&format!("from_phys({what})"), || from_phys(t.probe, phys, null_mut(), size));
    }
    // Inside the block: whole, middle, unaligned, last byte; the wrapper
    // shares the block's bytes both ways.
    for (what, off, size) in [
        ("whole", 0u64, 16u32 << 10),
        ("middle page", 4096, 8192),
        ("unaligned middle", 100, 50),
        ("last byte", (16 << 10) - 1, 1),
    ] {
        let m = from_phys(t.probe, p + off, null_mut(), size);
        let i = info(m);
        assert_eq!(
            (i.phys_addr, i.size, i.offset, i.flags),
            (p + off, size, 0, FLAGS_FROM_PHYS),
            "{what}: fields"
        );
        let o = off as usize;
        assert!(read_mem(m, 0, size as usize) == data[o..o + size as usize], "{what}: bytes");
        write_mem(m, 0, &[0xEE]);
        // SAFETY: the block's mapping covers offset `o`.
        assert_eq!(
            unsafe { *(bmap.addr as *const u8).add(o) },
            0xEE,
            "{what}: a write through the wrapper reaches the block"
        );
        write_mem(m, 0, &data[o..o + 1]);
        t.bad(&format!("{what}: destroy"), destroy_mem(t.probe, m), RKNN_SUCC);
    }
    // With the caller's virt_addr.
    let v = (bmap.addr + 4096) as *mut c_void;
    let m = from_phys(t.probe, p + 4096, v, 4096);
    assert_eq!(info(m).virt_addr, v, "the caller's virt_addr is kept");
    t.bad("destroy", destroy_mem(t.probe, m), RKNN_SUCC);
    // SAFETY: the block's mapping is still live.
    let now = unsafe { std::slice::from_raw_parts(bmap.addr as *const u8, 16 << 10) };
    assert!(now == data.as_slice(), "the block changed");
    assert_eq!(
        t.dev.mapping_at(bmap.addr).map(|m| m.buf),
        Ok(blk.id),
        "the block's own mapping survived"
    );
    t.dev.free(blk.id).expect("free the test block");
    t.done();
}

// ================================================================ set_*_mem

#[test]
fn set_io_mem_sizes() {
    let t = T::new("io");
    let m = t.filled(8192, 21);
    for need in [1, 4096, 8192] {
        t.bad(
            &format!("set_io_mem(needs {need})"),
            set_io(t.probe, m, Some(&mut attr_of(need))),
            RKNN_SUCC,
        );
    }
    for need in [8193, 16384, u32::MAX] {
        t.bad(
            &format!("set_io_mem(needs {need})"),
            set_io(t.probe, m, Some(&mut attr_of(need))),
            RKNN_ERR_PARAM_INVALID,
        );
    }
    // size_with_stride rules over size.
    let mut a = attr_of(100);
    a.size_with_stride = 8193;
    t.bad(
        "set_io_mem(size_with_stride 8193)",
        set_io(t.probe, m, Some(&mut a)),
        RKNN_ERR_PARAM_INVALID,
    );
    // A wrapper's size is what counts, not its buffer's.
    let w = from_fd(t.probe, info(m).fd, null_mut(), 4096, 4096);
    assert!(!w.is_null());
    t.bad(
        "set_io_mem(wrapper, needs 4096)",
        set_io(t.probe, w, Some(&mut attr_of(4096))),
        RKNN_SUCC,
    );
    t.bad(
        "set_io_mem(wrapper, needs 4097)",
        set_io(t.probe, w, Some(&mut attr_of(4097))),
        RKNN_ERR_PARAM_INVALID,
    );
    let s = create2(t.probe, 4096, NON_CACHEABLE);
    t.bad(
        "set_io_mem(non-cacheable, needs 4097)",
        set_io(t.probe, s, Some(&mut attr_of(4097))),
        RKNN_ERR_PARAM_INVALID,
    );
    t.bad("set_io_mem(NULL attr)", set_io(t.probe, s, None), RKNN_ERR_PARAM_INVALID);
    t.bad(
        "set_io_mem(NULL mem)",
        set_io(t.probe, null_mut(), Some(&mut attr_of(1))),
        RKNN_ERR_PARAM_INVALID,
    );
    // Destroying bound memory is allowed.
    for x in [w, s, m] {
        t.bad("destroy bound memory", destroy_mem(t.probe, x), RKNN_SUCC);
    }
    t.done();
}

/// set_weight_mem / set_internal_mem need RKNN_FLAG_MEM_ALLOC_OUTSIDE
/// (librknnmrt 2.3.2: "You must set RKNN_FLAG_MEM_ALLOC_OUTSIDE ...";
/// RKNN_ERR_FAIL) and memory of the sizes RKNN_QUERY_MEM_SIZE reports.
#[test]
fn set_weight_and_internal_mem() {
    let t = T::new("wi");
    let big = t.filled(128 << 10, 22);
    let inside = ctx_new(0);
    t.bad("set_weight_mem without ALLOC_OUTSIDE", set_weight(inside, big), RKNN_ERR_FAIL);
    t.bad("set_internal_mem without ALLOC_OUTSIDE", set_internal(inside, big), RKNN_ERR_FAIL);
    t.bad(
        "set_weight_mem(NULL) without ALLOC_OUTSIDE",
        set_weight(inside, null_mut()),
        RKNN_ERR_FAIL,
    );
    eq_code("destroy", destroy(inside), RKNN_SUCC);

    let outside = ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE);
    let ms = mem_size(outside);
    assert_eq!((ms.total_weight_size, ms.total_internal_size), (MODEL_LEN as u32, INTERNAL));
    let small_w = create(outside, MODEL_LEN as u32 - 1);
    t.bad("set_weight_mem(too small)", set_weight(outside, small_w), RKNN_ERR_PARAM_INVALID);
    let small_i = create(outside, INTERNAL - 4096);
    t.bad(
        "set_internal_mem(too small)",
        set_internal(outside, small_i),
        RKNN_ERR_PARAM_INVALID,
    );
    let small_wrap = from_fd(outside, info(big).fd, null_mut(), MODEL_LEN as u32 - 1, 4096);
    t.bad(
        "set_weight_mem(too small wrapper)",
        set_weight(outside, small_wrap),
        RKNN_ERR_PARAM_INVALID,
    );
    t.bad("set_weight_mem(NULL)", set_weight(outside, null_mut()), RKNN_ERR_PARAM_INVALID);
    t.bad("set_internal_mem(NULL)", set_internal(outside, null_mut()), RKNN_ERR_PARAM_INVALID);
    // Exactly big enough: the weights land at virt_addr + offset.
    let w = create(outside, MODEL_LEN as u32);
    t.bad("set_weight_mem(exact)", set_weight(outside, w), RKNN_SUCC);
    assert!(read_mem(w, 0, MODEL_LEN) == model(), "weights copied into the weight memory");
    let wrap = from_fd(outside, info(big).fd, null_mut(), MODEL_LEN as u32, 8192);
    t.bad("set_weight_mem(wrapper at offset 8192)", set_weight(outside, wrap), RKNN_SUCC);
    assert!(read_mem(wrap, 0, MODEL_LEN) == model(), "weights at virt_addr + offset");
    assert!(read_mem(big, 0, 8192) == pattern(22, 8192), "nothing written before the offset");
    let i = create(outside, INTERNAL);
    t.bad("set_internal_mem(exact)", set_internal(outside, i), RKNN_SUCC);
    // INTERNAL_ALLOC_OUTSIDE alone: internal yes, weights no.
    let io = ctx_new(RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE);
    t.bad("set_weight_mem with INTERNAL_ALLOC_OUTSIDE only", set_weight(io, w), RKNN_ERR_FAIL);
    t.bad("set_internal_mem with INTERNAL_ALLOC_OUTSIDE", set_internal(io, i), RKNN_SUCC);
    eq_code("destroy", destroy(io), RKNN_SUCC);
    for m in [small_w, small_i, small_wrap, w, wrap, i, big] {
        t.bad("destroy_mem", destroy_mem(outside, m), RKNN_SUCC);
    }
    eq_code("destroy", destroy(outside), RKNN_SUCC);
    t.done();
}

// ================================================================ query

#[test]
fn query_bad_args() {
    let t = T::new("query");
    let mut buf = vec![0xABu8; 4096];
    let untouched = |b: &[u8], what: &str| assert!(b.iter().all(|&x| x == 0xAB), "{what}: written on failure");
    for size in [0, 1, 8, 63] {
        let r = query_raw(t.probe, Q_MEM_SIZE, buf.as_mut_ptr() as *mut c_void, size);
        t.bad(&format!("MEM_SIZE, size {size}"), r, RKNN_ERR_PARAM_INVALID);
        untouched(&buf, "MEM_SIZE");
    }
    for size in [0, 256, 511] {
        let r = query_raw(t.probe, Q_SDK_VERSION, buf.as_mut_ptr() as *mut c_void, size);
        t.bad(&format!("SDK_VERSION, size {size}"), r, RKNN_ERR_PARAM_INVALID);
        untouched(&buf, "SDK_VERSION");
    }
    for cmd in [Q_MEM_SIZE, Q_SDK_VERSION, 0] {
        t.bad(
            &format!("cmd {cmd}, NULL info"),
            query_raw(t.probe, cmd, null_mut(), 4096),
            RKNN_ERR_PARAM_INVALID,
        );
    }
    for cmd in [18, 19, 0x100, 0x8000_0000, u32::MAX] {
        let r = query_raw(t.probe, cmd, buf.as_mut_ptr() as *mut c_void, 4096);
        t.bad(&format!("unknown cmd {cmd:#x}"), r, RKNN_ERR_PARAM_INVALID);
        untouched(&buf, "unknown cmd");
    }
    // Model queries: a memory-only context has no model.
    for cmd in (0..=4).chain(7..=17) {
        let r = query_raw(t.probe, cmd, buf.as_mut_ptr() as *mut c_void, 4096);
        t.bad(&format!("model query {cmd}"), r, RKNN_ERR_MODEL_INVALID);
        untouched(&buf, "model query");
    }
    // A larger buffer is fine; only the struct is written.
    eq_code(
        "MEM_SIZE, size 128",
        query_raw(t.probe, Q_MEM_SIZE, buf.as_mut_ptr() as *mut c_void, 128),
        RKNN_SUCC,
    );
    untouched(&buf[64..], "MEM_SIZE past the struct");
    let before = mem_size(t.probe);
    assert_eq!(before.total_weight_size, MODEL_LEN as u32);
    let m = create(t.probe, 8192);
    assert_eq!(
        mem_size(t.probe).total_dma_allocated_size,
        before.total_dma_allocated_size + 8192,
        "dma size counts create_mem"
    );
    eq_code("destroy", destroy_mem(t.probe, m), RKNN_SUCC);
    assert_eq!(mem_size(t.probe).total_dma_allocated_size, before.total_dma_allocated_size);
    buf.fill(0xAB);
    eq_code(
        "SDK_VERSION, size 600",
        query_raw(t.probe, Q_SDK_VERSION, buf.as_mut_ptr() as *mut c_void, 600),
        RKNN_SUCC,
    );
    untouched(&buf[512..], "SDK_VERSION past the struct");
    for half in [&buf[..256], &buf[256..512]] {
        let n = half.iter().position(|&b| b == 0).expect("NUL-terminated version string");
        assert!(n > 0, "empty version string");
    }
    t.done();
}

// ================================================================ init / destroy

#[test]
fn init_bad_args() {
    let t = T::new("init");
    let mut m = model();
    let mp = m.as_mut_ptr() as *mut c_void;
    let mut c: rknn_context = 0x5555;
    t.bad(
        "init(NULL context)",
        init_raw(null_mut(), mp, MODEL_LEN as u32, 0),
        RKNN_ERR_PARAM_INVALID,
    );
    t.bad(
        "init(NULL model, size 100)",
        init_raw(&mut c, null_mut(), 100, 0),
        RKNN_ERR_PARAM_INVALID,
    );
    t.bad(
        "init(NULL model, size 0)",
        init_raw(&mut c, null_mut(), 0, 0),
        RKNN_ERR_PARAM_INVALID,
    );
    for flag in [1 << 18, 1 << 20, 1 << 31, u32::MAX] {
        t.bad(
            &format!("init(unknown flag {flag:#x})"),
            init_raw(&mut c, mp, MODEL_LEN as u32, flag),
            RKNN_ERR_PARAM_INVALID,
        );
    }
    assert_eq!(c, 0x5555, "context written on failure");
    // Size 0: the model is a path.
    let dir = common::own_shm_dir(DIR_PREFIX);
    let empty = dir.join("rkbad-empty.rknn");
    std::fs::write(&empty, b"").unwrap();
    let good = dir.join("rkbad-model.rknn");
    std::fs::write(&good, model()).unwrap();
    let path = |p: &Path| CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    for (what, p) in [
        ("missing file", path(&dir.join("no-such.rknn"))),
        ("a directory", path(&dir)),
        ("an empty file", path(&empty)),
        ("empty path", CString::new("").unwrap()),
        ("not UTF-8, missing", CString::new(b"/nonexistent/\xff\xfe.rknn".to_vec()).unwrap()),
    ] {
        let r = init_raw(&mut c, p.as_ptr() as *mut c_void, 0, 0);
        t.bad(&format!("init(size 0, {what})"), r, RKNN_ERR_MODEL_INVALID);
        assert_eq!(c, 0x5555, "context written on failure");
    }
    let p = path(&good);
    eq_code(
        "init(size 0, a model file)",
        init_raw(&mut c, p.as_ptr() as *mut c_void, 0, 0),
        RKNN_SUCC,
    );
    assert_eq!(mem_size(c).total_weight_size, MODEL_LEN as u32, "weights are the file");
    eq_code("destroy", destroy(c), RKNN_SUCC);
    t.bad("destroy twice", destroy(c), RKNN_ERR_CTX_INVALID);
    // ALLOC_OUTSIDE with a model larger than the zone allocates nothing, so
    // it works.
    let mut huge = vec![0u8; DDR.1 as usize + 4096];
    let mut c2: rknn_context = 0x5555;
    let r = init_raw(
        &mut c2,
        huge.as_mut_ptr() as *mut c_void,
        huge.len() as u32,
        RKNN_FLAG_MEM_ALLOC_OUTSIDE,
    );
    eq_code("init(huge model, ALLOC_OUTSIDE)", r, RKNN_SUCC);
    eq_code("destroy", destroy(c2), RKNN_SUCC);
    drop(huge);
    // Weights fit (the zone is empty), internal memory does not:
    // MALLOC_FAIL, and the weights are given back.
    let mut tight = vec![0u8; DDR.1 as usize - (32 << 10)];
    let mut c3: rknn_context = 0x5555;
    let r = init_raw(&mut c3, tight.as_mut_ptr() as *mut c_void, tight.len() as u32, 0);
    t.bad("init(weights fit, internal does not)", r, RKNN_ERR_MALLOC_FAIL);
    assert_eq!(c3, 0x5555, "context written on failure");
    drop(tight);
    std::fs::remove_file(empty).unwrap();
    std::fs::remove_file(good).unwrap();
    t.done();
}

/// The runtime's own memory does not fit because the weights do not:
/// MALLOC_FAIL and nothing kept. rknn_init creates the internal memory
/// before it looks at the weights' result and leaks it.
#[test]

fn init_failure_keeps_nothing() {
    let t = T::new("initfail");
    let mut huge = vec![0u8; DDR.1 as usize + 4096];
    let mut c: rknn_context = 0x5555;
    let r = init_raw(&mut c, huge.as_mut_ptr() as *mut c_void, huge.len() as u32, 0);
    t.bad("init(weights larger than the zone)", r, RKNN_ERR_MALLOC_FAIL);
    assert_eq!(c, 0x5555, "context written on failure");
    drop(huge);
    t.done();
}

/// No model runs here: every model call on a live context answers
/// RKNN_ERR_MODEL_INVALID and writes nothing.
#[test]
fn model_calls_on_a_live_context() {
    let t = T::new("model");
    let mut buf = [0xABu8; 64];
    let mut a = attr_of(16);
    let mut input = rknn_input {
        index: 0,
        buf: buf.as_mut_ptr() as *mut c_void,
        size: 16,
        pass_through: 1,
        r#type: 3,
        fmt: 1,
    };
    let mut output = rknn_output {
        want_float: 1,
        is_prealloc: 0,
        index: 0,
        buf: null_mut(),
        size: 0,
    };
    let mut run_ext = rknn_run_extend::default();
    let mut out_ext = rknn_output_extend::default();
    let c = t.probe;
    // SAFETY: every pointer is valid for the call or NULL.
    let calls = unsafe {
        [
            ("inputs_set", rknn_inputs_set(c, 1, &mut input)),
            ("inputs_set(0, NULL)", rknn_inputs_set(c, 0, null_mut())),
            ("run(NULL)", rknn_run(c, null_mut())),
            ("run(extend)", rknn_run(c, &mut run_ext)),
            ("wait", rknn_wait(c, &mut run_ext)),
            ("outputs_get", rknn_outputs_get(c, 1, &mut output, &mut out_ext)),
            ("outputs_get(NULL extend)", rknn_outputs_get(c, 1, &mut output, null_mut())),
            ("outputs_release", rknn_outputs_release(c, 1, &mut output)),
            ("set_input_shape", rknn_set_input_shape(c, &mut a)),
            ("set_input_shapes", rknn_set_input_shapes(c, 1, &mut a)),
        ]
    };
    for (what, r) in calls {
        t.bad(what, r, RKNN_ERR_MODEL_INVALID);
    }
    assert!(output.buf.is_null() && output.size == 0, "outputs_get wrote an output");
    assert!(buf.iter().all(|&b| b == 0xAB), "an input buffer was written");
    assert_eq!(run_ext.frame_id, 0);
    t.done();
}

#[test]
fn core_mask_and_batch_core_num() {
    let t = T::new("core");
    for mask in [0, 1, 2, 4, 3, 7, 0xffff] {
        // SAFETY: plain values.
        t.bad(
            &format!("set_core_mask({mask:#x})"),
            unsafe { rknn_set_core_mask(t.probe, mask) },
            RKNN_SUCC,
        );
    }
    for mask in [5, 6, 8, 0x10000, u32::MAX] {
        // SAFETY: plain values.
        let r = unsafe { rknn_set_core_mask(t.probe, mask) };
        t.bad(&format!("set_core_mask({mask:#x})"), r, RKNN_ERR_PARAM_INVALID);
    }
    for n in 1..=3 {
        // SAFETY: plain values.
        t.bad(
            &format!("set_batch_core_num({n})"),
            unsafe { rknn_set_batch_core_num(t.probe, n) },
            RKNN_SUCC,
        );
    }
    for n in [0, -1, 4, i32::MIN, i32::MAX] {
        // SAFETY: plain values.
        let r = unsafe { rknn_set_batch_core_num(t.probe, n) };
        t.bad(&format!("set_batch_core_num({n})"), r, RKNN_ERR_PARAM_INVALID);
    }
    t.done();
}

/// Rockchip MPP MB_BLK buffers are not emulated: NULL, whatever is passed.
#[test]
fn create_mem_from_mb_blk_is_unsupported() {
    let t = T::new("mbblk");
    let mut fake = [0u8; 64];
    for (blk, off) in [
        (null_mut(), 0),
        (fake.as_mut_ptr() as *mut c_void, 0),
        (fake.as_mut_ptr() as *mut c_void, -1),
    ] {
        // SAFETY: the export does not dereference the block.
        let m = unsafe { rknn_create_mem_from_mb_blk(t.probe, blk, off) };
        t.null("create_mem_from_mb_blk", m);
    }
    assert!(fake.iter().all(|&b| b == 0));
    t.done();
}

// ================================================================ threads

/// 8 threads x 300 rounds on two shared contexts at once: create_mem /
/// create_mem2(NO_CONTEXT) + write + sync + verify + destroy through the
/// other context, and from_fd wraps of one shared buffer and one memfd at
/// varying offsets. Every call succeeds, no thread sees another's bytes,
/// and nothing is left.
#[test]
fn threads_hammer() {
    const THREADS: u32 = 8;
    const ROUNDS: u32 = 300;
    let t = T::new("mt");
    let ctx = [ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE), ctx_new(RKNN_FLAG_MEM_ALLOC_OUTSIDE)];
    let shared = t.filled(64 << 10, 23);
    let sfd = info(shared).fd;
    let memfd = MemFd::new(64 << 10, 24);
    let mf = memfd.raw();
    let shared_data = pattern(23, 64 << 10);
    std::thread::scope(|s| {
        for th in 0..THREADS {
            let (shared_data, memfd_data) = (&shared_data, &memfd.data);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    let c = ctx[((th + i) % 2) as usize];
                    let other = ctx[((th + i + 1) % 2) as usize];
                    let size = 4096 * (1 + (th + i) % 3) + (i % 5) * 8;
                    let m = if i % 5 == 0 {
                        create2(0, size as u64, NO_CTX)
                    } else {
                        create(c, size)
                    };
                    assert!(!m.is_null(), "thread {th} round {i}: create");
                    let stamp = pattern((th * 31 + i) as u8, size as usize);
                    write_mem(m, 0, &stamp);
                    eq_code("sync to device", sync(c, m, TO_DEV), RKNN_SUCC);
                    std::thread::yield_now();
                    eq_code("sync from device", sync(other, m, FROM_DEV), RKNN_SUCC);
                    assert!(read_mem(m, 0, size as usize) == stamp, "thread {th} round {i}: bytes clobbered");
                    eq_code("destroy through the other context", destroy_mem(other, m), RKNN_SUCC);
                    let off = (4096 * ((th + i) % 15)) as i32;
                    let w = from_fd(c, sfd, null_mut(), 4096, off);
                    assert!(!w.is_null(), "thread {th} round {i}: wrap the shared buffer");
                    let o = off as usize;
                    assert!(
                        read_mem(w, 0, 4096) == shared_data[o..o + 4096],
                        "thread {th} round {i}: shared bytes"
                    );
                    eq_code("unwrap", destroy_mem(other, w), RKNN_SUCC);
                    if i % 3 == 0 {
                        let w = from_fd(c, mf, null_mut(), 8192, off);
                        assert!(!w.is_null(), "thread {th} round {i}: wrap the memfd");
                        assert!(
                            read_mem(w, 0, 8192) == memfd_data[o..o + 8192],
                            "thread {th} round {i}: memfd bytes"
                        );
                        eq_code("unwrap the memfd", destroy_mem(c, w), RKNN_SUCC);
                    }
                }
            });
        }
    });
    if let Err(e) = t.dev.check() {
        panic!("shared device check failed after the threads: {e}");
    }
    if let Err(e) = t.npu.check() {
        panic!("NPU device check failed after the threads: {e}");
    }
    assert!(read_mem(shared, 0, 64 << 10) == shared_data, "the shared buffer changed");
    eq_code("destroy shared", destroy_mem(ctx[0], shared), RKNN_SUCC);
    for c in ctx {
        eq_code("destroy context", destroy(c), RKNN_SUCC);
    }
    drop(memfd);
    t.done();
}

/// `rknn_dup_context`: NULL pointers and dead handles are refused and write
/// nothing; a copy is a new, independent context with its own memory calls,
/// destroying one leaves the other working, and nothing is left after both.
#[test]
fn dup_context() {
    let t = T::new("dup");
    let c = ctx_new(0);
    let mut out: rknn_context = 77;
    let mut cin = c;
    // SAFETY: each pointer is valid or NULL.
    unsafe {
        t.bad("dup(NULL, out)", rknn_dup_context(null_mut(), &mut out), RKNN_ERR_PARAM_INVALID);
        t.bad("dup(in, NULL)", rknn_dup_context(&mut cin, null_mut()), RKNN_ERR_PARAM_INVALID);
        for mut bad in bad_ctxs(c) {
            t.bad(
                &format!("dup({bad:#x})"),
                rknn_dup_context(&mut bad, &mut out),
                RKNN_ERR_CTX_INVALID,
            );
        }
        assert_eq!(out, 77, "a refused dup wrote *context_out");
        eq_code("dup", rknn_dup_context(&mut cin, &mut out), RKNN_SUCC);
    }
    assert!(out != c && out != 0, "the copy is a new handle: {out:#x}");
    assert_eq!(mem_size(out).total_internal_size, mem_size(c).total_internal_size);
    let md = create(out, 4096);
    write_mem(md, 0, &pattern(4, 4096));
    eq_code("sync on the copy", sync(out, md, TO_DEV), RKNN_SUCC);
    eq_code("destroy the original", destroy(c), RKNN_SUCC);
    eq_code("the copy lives on", sync(out, md, FROM_DEV), RKNN_SUCC);
    assert!(read_mem(md, 0, 4096) == pattern(4, 4096));
    eq_code("destroy_mem on the copy", destroy_mem(out, md), RKNN_SUCC);
    eq_code("destroy the copy", destroy(out), RKNN_SUCC);
    eq_code("destroy the copy twice", destroy(out), RKNN_ERR_CTX_INVALID);
    t.done();
}
