//! Bad input through every exported C function of the HiSilicon MPP
//! (`HI_MPI_SYS_*`, `HI_MPI_VB_*`) and Horizon `hbSys*` fronts: each call gets
//! the vendor's error code or sentinel, and the engine stays intact (a fresh
//! MmzAlloc/write/MmzFree round trip works, `check()` passes, and nothing a
//! test allocated is left in the zones).
//!
//! The exports open one process-global device from the environment, so
//! `init()` sets the environment once, before any export runs. Locks:
//! - `WORLD`: shared by every test; taken exclusively by tests that reuse a
//!   freed address or handle (double free, stale pointers), since a
//!   concurrent allocation could land on it and be freed by mistake.
//! - `VB` / `HB`: serialise the tests that create pools or hbSys blocks, so
//!   each can assert that none are left when it ends (compared with what
//!   existed when it took the lock). VB config/init/exit is process state:
//!   `vb_config_init_exit` holds the assertions; the other VB tests that
//!   also configure VB run under the same lock and set `VB_CONFIGURED`.

mod common;

use accelmem::api::hisilicon::{hi_comm_sys::*, hi_comm_vb::*, hi_type::*, mpi_sys::*, mpi_vb::*};
use accelmem::api::horizon::{hb_sys::*, hb_sys_api::*};
use accelmem::engine::{self, Device, PoolId};
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, Once, RwLock, RwLockReadGuard, RwLockWriteGuard};

const ZONES: &str = "anonymous,0,0x44000000,64M:other,0,0x60000000,16M";
const ANON: (u64, u64) = (0x4400_0000, 64 << 20);
const OTHER: (u64, u64) = (0x6000_0000, 16 << 20);
const DIR_PREFIX: &str = "accelmem-test-bad-";

/// Physical addresses no zone contains.
const OUTSIDE: [u64; 9] = [
    0,
    1,
    0x1000,
    ANON.0 - 4096,
    ANON.0 + ANON.1,
    0x5000_0000,
    OTHER.0 + OTHER.1,
    u64::MAX - 4095,
    u64::MAX,
];

// ---------------------------------------------------------------- setup

static INIT: Once = Once::new();

/// Point the process-global device at a private directory and device name,
/// once, before any export is called; return that device.
fn init() -> &'static Device {
    INIT.call_once(|| {
        let pid = std::process::id();
        let dir = common::own_shm_dir(DIR_PREFIX);
        std::env::set_var("ACCELMEM_DEVICE", format!("t-bad-{pid}"));
        std::env::set_var("ACCELMEM_ZONES", ZONES);
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
    });
    let dev = engine::global().expect("the global device opens");
    assert_eq!(
        dev.name(),
        format!("t-bad-{}", std::process::id()),
        "global device opened before init()"
    );
    dev
}

static WORLD: RwLock<()> = RwLock::new(());
static VB: Mutex<()> = Mutex::new(());
static HB: Mutex<()> = Mutex::new(());
/// Set once any `HI_MPI_VB_SetConfig` in this process succeeded.
static VB_CONFIGURED: AtomicBool = AtomicBool::new(false);

fn shared() -> RwLockReadGuard<'static, ()> {
    WORLD.read().unwrap_or_else(|p| p.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    WORLD.write().unwrap_or_else(|p| p.into_inner())
}

// ---------------------------------------------------------------- codes

fn code_name(c: i32) -> String {
    let names: &[(i32, &str)] = &[
        (HI_SUCCESS, "SUCCESS"),
        (HI_ERR_SYS_ILLEGAL_PARAM, "HI_ERR_SYS_ILLEGAL_PARAM"),
        (HI_ERR_SYS_NULL_PTR, "HI_ERR_SYS_NULL_PTR"),
        (HI_ERR_SYS_NOT_SUPPORT, "HI_ERR_SYS_NOT_SUPPORT"),
        (HI_ERR_SYS_NOT_PERM, "HI_ERR_SYS_NOT_PERM"),
        (HI_ERR_SYS_NOMEM, "HI_ERR_SYS_NOMEM"),
        (HI_ERR_SYS_NOTREADY, "HI_ERR_SYS_NOTREADY"),
        (HI_ERR_SYS_BUSY, "HI_ERR_SYS_BUSY"),
        (HI_ERR_VB_ILLEGAL_PARAM, "HI_ERR_VB_ILLEGAL_PARAM"),
        (HI_ERR_VB_EXIST, "HI_ERR_VB_EXIST"),
        (HI_ERR_VB_UNEXIST, "HI_ERR_VB_UNEXIST"),
        (HI_ERR_VB_NULL_PTR, "HI_ERR_VB_NULL_PTR"),
        (HI_ERR_VB_NOT_PERM, "HI_ERR_VB_NOT_PERM"),
        (HI_ERR_VB_NOMEM, "HI_ERR_VB_NOMEM"),
        (HI_ERR_VB_NOBUF, "HI_ERR_VB_NOBUF"),
        (HI_ERR_VB_NOTREADY, "HI_ERR_VB_NOTREADY"),
        (HI_ERR_VB_BUSY, "HI_ERR_VB_BUSY"),
        (HB_SYS_INVALID_ARGUMENT, "HB_SYS_INVALID_ARGUMENT"),
        (HB_SYS_OUT_OF_MEMORY, "HB_SYS_OUT_OF_MEMORY"),
        (HB_SYS_REGISTER_MEM_FAILED, "HB_SYS_REGISTER_MEM_FAILED"),
    ];
    match names.iter().find(|(v, _)| *v == c) {
        Some((_, n)) => format!("{n} ({c:#x})"),
        None => format!("{c} ({c:#x})"),
    }
}

#[track_caller]
fn eq_code(what: &str, got: i32, want: i32) {
    assert!(got == want, "{what}: got {}, want {}", code_name(got), code_name(want));
}

fn in_zone(phys: u64, zone: (u64, u64)) -> bool {
    (zone.0..zone.0 + zone.1).contains(&phys)
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn pool_cfg(size: u64, cnt: u32, mode: u32, zone: &[u8]) -> VB_POOL_CONFIG_S {
    let mut c = VB_POOL_CONFIG_S {
        u64BlkSize: size,
        u32BlkCnt: cnt,
        enRemapMode: mode,
        acMmzName: [0; 32],
    };
    for (d, &s) in c.acMmzName.iter_mut().zip(zone) {
        *d = s as c_char;
    }
    c
}

fn vb_cfg(max: u32, pools: &[VB_POOL_CONFIG_S]) -> VB_CONFIG_S {
    let mut c = VB_CONFIG_S {
        u32MaxPoolCnt: max,
        astCommPool: [pool_cfg(0, 0, 0, b""); 16],
    };
    c.astCommPool[..pools.len()].copy_from_slice(pools);
    c
}

// ---------------------------------------------------------------- calls

/// `HI_MPI_SYS_MmzAlloc[_Cached]`; `None` passes NULL.
fn mmz_alloc_raw(
    phys: Option<&mut u64>,
    vir: Option<&mut *mut c_void>,
    mmb: Option<&CStr>,
    zone: Option<&CStr>,
    len: u32,
    cached: bool,
) -> i32 {
    let p = phys.map_or(null_mut(), |p| p as *mut u64);
    let v = vir.map_or(null_mut(), |v| v as *mut *mut c_void);
    let m = mmb.map_or(null(), CStr::as_ptr);
    let z = zone.map_or(null(), CStr::as_ptr);
    // SAFETY: each pointer is NULL or valid for the call; strings are NUL-terminated.
    unsafe {
        if cached {
            HI_MPI_SYS_MmzAlloc_Cached(p, v, m, z, len)
        } else {
            HI_MPI_SYS_MmzAlloc(p, v, m, z, len)
        }
    }
}

fn vir_info(vir: *const c_void) -> Result<(u64, bool), i32> {
    let mut info = SYS_VIRMEM_INFO_S::default();
    // SAFETY: `info` is writable; the export only looks the address up.
    match unsafe { HI_MPI_SYS_GetVirMemInfo(vir, &mut info) } {
        HI_SUCCESS => Ok((info.u64PhyAddr, info.bCached == HI_TRUE)),
        e => Err(e),
    }
}

fn create_pool(c: &VB_POOL_CONFIG_S) -> VB_POOL {
    let mut c = *c;
    // SAFETY: a valid struct.
    unsafe { HI_MPI_VB_CreatePool(&mut c) }
}

fn get_block(pool: VB_POOL, size: u64, zone: Option<&CStr>) -> VB_BLK {
    // SAFETY: the name is NULL or NUL-terminated.
    unsafe { HI_MPI_VB_GetBlock(pool, size, zone.map_or(null(), CStr::as_ptr)) }
}

fn block_vir(pool: VB_POOL, phys: u64) -> Result<*mut c_void, i32> {
    let mut va = null_mut();
    // SAFETY: `va` is writable.
    match unsafe { HI_MPI_VB_GetBlockVirAddr(pool, phys, &mut va) } {
        HI_SUCCESS => Ok(va),
        e => Err(e),
    }
}

fn hb_alloc(size: u32, cached: bool) -> hbSysMem {
    let mut m = hb_zero();
    // SAFETY: `m` is writable.
    let r = unsafe {
        if cached {
            hbSysAllocCachedMem(&mut m, size)
        } else {
            hbSysAllocMem(&mut m, size)
        }
    };
    eq_code("hbSysAlloc", r, HB_SYS_SUCCESS);
    m
}

fn hb_zero() -> hbSysMem {
    hbSysMem {
        phyAddr: 0,
        virAddr: null_mut(),
        memSize: 0,
    }
}

fn hb_free(m: &hbSysMem) -> i32 {
    let mut m = *m;
    // SAFETY: a valid struct; the export checks what it names.
    unsafe { hbSysFreeMem(&mut m) }
}

fn hb_flush(m: &hbSysMem, flag: i32) -> i32 {
    let mut m = *m;
    // SAFETY: a valid struct; the export checks what it names.
    unsafe { hbSysFlushMem(&mut m, flag) }
}

fn hb_write(m: &hbSysMem, src: &[u8], size: u32) -> i32 {
    assert!(size as usize <= src.len());
    let mut m = *m;
    // SAFETY: `src` is readable for `size` bytes; the export only reads it.
    unsafe { hbSysWriteMem(&mut m, src.as_ptr() as *mut c_char, size) }
}

fn hb_read(m: &hbSysMem, dst: &mut [u8], size: u32) -> i32 {
    assert!(size as usize <= dst.len());
    let mut m = *m;
    // SAFETY: `dst` is writable for `size` bytes.
    unsafe { hbSysReadMem(dst.as_mut_ptr() as *mut c_char, &mut m, size) }
}

fn hb_register(m: &mut hbSysMem) -> i32 {
    // SAFETY: a valid, writable struct.
    unsafe { hbSysRegisterMem(m) }
}

fn hb_unregister(m: &hbSysMem) -> i32 {
    let mut m = *m;
    // SAFETY: a valid struct.
    unsafe { hbSysUnregisterMem(&mut m) }
}

/// Bytes at `p` (a live mapping of at least `len` bytes).
fn read_at(p: *const c_void, len: usize) -> Vec<u8> {
    // SAFETY: callers pass a mapping the engine reports live, `len` long.
    unsafe { std::slice::from_raw_parts(p as *const u8, len) }.to_vec()
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(131).wrapping_add(seed as u32 * 7 + 1) as u8)
        .collect()
}

fn write_at(p: *mut c_void, data: &[u8]) {
    // SAFETY: callers pass a live mapping at least `data.len()` long.
    unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), p as *mut u8, data.len()) };
}

/// A heap pointer from the C allocator; freed on drop.
struct Malloced(*mut c_void);

impl Malloced {
    fn new() -> Malloced {
        // SAFETY: plain allocation, checked below.
        let p = unsafe { libc::malloc(4096) };
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

/// Lazily backed anonymous memory, so that a call can be handed a buffer as
/// large as any `u32` size it is told; only the first `touched` bytes are
/// filled (with `fill`).
struct Reserve {
    p: *mut u8,
    len: usize,
}

impl Reserve {
    fn new(len: usize, fill: u8, touched: usize) -> Reserve {
        // SAFETY: a fresh private anonymous mapping; the result is checked.
        let p = unsafe {
            libc::mmap(
                null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        assert!(p != libc::MAP_FAILED, "reserve {len} bytes");
        // SAFETY: `touched` <= `len` bytes of the mapping just made.
        unsafe { std::ptr::write_bytes(p as *mut u8, fill, touched.min(len)) };
        Reserve { p: p as *mut u8, len }
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` bytes and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.p, self.len) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as above, and `&mut self` makes this the only view.
        unsafe { std::slice::from_raw_parts_mut(self.p, self.len) }
    }
}

impl Drop for Reserve {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.p as *mut c_void, self.len) };
    }
}

/// A block from `HI_MPI_SYS_MmzAlloc`.
#[derive(Clone, Copy)]
struct Mmz {
    phys: u64,
    vir: *mut c_void,
    len: u32,
}

impl Mmz {
    fn at(&self, off: usize) -> *mut c_void {
        (self.vir as usize + off) as *mut c_void
    }

    fn fill(&self, seed: u8) {
        write_at(self.vir, &pattern(seed, self.len as usize));
    }

    #[track_caller]
    fn verify(&self, seed: u8, what: &str) {
        assert_eq!(vir_info(self.vir).map(|i| i.0), Ok(self.phys), "{what}: mapping gone");
        assert!(
            read_at(self.vir, self.len as usize) == pattern(seed, self.len as usize),
            "{what}: block bytes changed"
        );
    }
}

// ---------------------------------------------------------------- the per-test context

/// One test's view: unique MMB names, intactness and leak checks.
struct T {
    tag: &'static str,
    dev: &'static Device,
    n: Cell<u32>,
    /// Pools and pool buffers when the VB lock was taken.
    vb_base: RefCell<(Vec<PoolId>, usize)>,
    /// hbSys blocks when the HB lock was taken.
    hb_base: Cell<usize>,
}

impl T {
    fn new(tag: &'static str) -> T {
        T {
            tag,
            dev: init(),
            n: Cell::new(0),
            vb_base: RefCell::new((vec![], 0)),
            hb_base: Cell::new(0),
        }
    }

    fn blocks_named(&self, prefix: &str) -> Vec<String> {
        self.dev
            .zones()
            .unwrap()
            .iter()
            .flat_map(|z| z.blocks.iter())
            .filter(|b| b.name.starts_with(prefix))
            .map(|b| format!("{} @ {:#x}", b.name, b.phys))
            .collect()
    }

    /// Take the VB lock and note what exists (leftovers of a failed test
    /// must not fail the next one too).
    fn lock_vb(&self) -> MutexGuard<'static, ()> {
        let g = VB.lock().unwrap_or_else(|p| p.into_inner());
        *self.vb_base.borrow_mut() = (self.dev.pools(None).unwrap(), self.blocks_named("vb_").len());
        g
    }

    fn lock_hb(&self) -> MutexGuard<'static, ()> {
        let g = HB.lock().unwrap_or_else(|p| p.into_inner());
        self.hb_base.set(self.blocks_named("hbSysAlloc").len());
        g
    }

    /// A fresh MMB name, `<tag>.<n>`.
    fn name(&self) -> CString {
        self.n.set(self.n.get() + 1);
        cs(&format!("{}.{}", self.tag, self.n.get()))
    }

    #[track_caller]
    fn alloc(&self, zone: Option<&str>, len: u32, cached: bool) -> Mmz {
        let (mut phys, mut vir) = (0u64, null_mut());
        let zone = zone.map(cs);
        let r = mmz_alloc_raw(Some(&mut phys), Some(&mut vir), Some(&self.name()), zone.as_deref(), len, cached);
        eq_code("MmzAlloc", r, HI_SUCCESS);
        assert!(phys != 0 && !vir.is_null());
        Mmz { phys, vir, len }
    }

    #[track_caller]
    fn free(&self, m: &Mmz) {
        eq_code("MmzFree", HI_MPI_SYS_MmzFree(m.phys, m.vir), HI_SUCCESS);
    }

    /// The engine still works and is consistent: a fresh round trip through
    /// the exports, then the shared table's own checker.
    #[track_caller]
    fn intact(&self) {
        let m = self.alloc(None, 3 * 4096 + 17, false);
        assert!(in_zone(m.phys, ANON) && in_zone(m.phys + m.len as u64 - 1, ANON));
        m.fill(0x5A);
        assert_eq!(vir_info(m.at(100)), Ok((m.phys + 100, false)), "GetVirMemInfo of a fresh block");
        assert!(
            read_at(m.vir, m.len as usize) == pattern(0x5A, m.len as usize),
            "fresh block readback"
        );
        self.free(&m);
        if let Err(e) = self.dev.check() {
            panic!("engine check failed: {e}");
        }
    }

    /// Assert a return code, then that the engine is intact.
    #[track_caller]
    fn bad(&self, what: &str, got: i32, want: i32) {
        eq_code(what, got, want);
        self.intact();
    }

    #[track_caller]
    fn null(&self, what: &str, got: *mut c_void) {
        assert!(got.is_null(), "{what}: got {got:p}, want NULL");
        self.intact();
    }

    #[track_caller]
    fn sentinel(&self, what: &str, got: u32, want: u32) {
        assert!(got == want, "{what}: got {got:#x}, want {want:#x}");
        self.intact();
    }

    /// Blocks of this test still in the zones.
    fn leftovers(&self) -> Vec<String> {
        self.blocks_named(&format!("{}.", self.tag))
    }

    /// End of test: consistent, nothing of ours left.
    #[track_caller]
    fn done(&self) {
        self.intact();
        assert_eq!(self.leftovers(), Vec::<String>::new(), "leaked blocks");
    }

    /// Under the VB lock: no pool and no pool buffer left beyond what
    /// existed when the lock was taken.
    #[track_caller]
    fn no_pools(&self) {
        let (pools, bufs) = self.vb_base.borrow().clone();
        assert_eq!(self.dev.pools(None).unwrap(), pools, "pools left");
        assert_eq!(self.blocks_named("vb_").len(), bufs, "pool buffers left");
    }

    /// Under the HB lock: no hbSys block left.
    #[track_caller]
    fn no_hb_blocks(&self) {
        assert_eq!(self.blocks_named("hbSysAlloc").len(), self.hb_base.get(), "hbSys blocks left");
    }
}

// ================================================================ HI_MPI_SYS

#[test]
fn sys_init_exit_config() {
    let _w = shared();
    let t = T::new("sys");
    // Samples call Exit first to clear a previous run.
    t.bad("Exit before Init", HI_MPI_SYS_Exit(), HI_SUCCESS);
    // SAFETY: NULL is the case under test; the export checks it.
    t.bad("SetConfig(NULL)", unsafe { HI_MPI_SYS_SetConfig(null()) }, HI_ERR_SYS_NULL_PTR);
    // SAFETY: as above.
    t.bad("GetConfig(NULL)", unsafe { HI_MPI_SYS_GetConfig(null_mut()) }, HI_ERR_SYS_NULL_PTR);
    let get = || {
        let mut c = MPP_SYS_CONFIG_S { u32Align: 0xDEAD };
        // SAFETY: `c` is writable.
        let r = unsafe { HI_MPI_SYS_GetConfig(&mut c) };
        (r, c.u32Align)
    };
    let set = |a: u32| {
        let c = MPP_SYS_CONFIG_S { u32Align: a };
        // SAFETY: a valid struct.
        unsafe { HI_MPI_SYS_SetConfig(&c) }
    };
    // Nothing else in this binary touches the SYS config.
    assert_eq!(get(), (HI_ERR_SYS_NOTREADY, 0xDEAD), "GetConfig before SetConfig");
    // Alignment: a multiple of 16 in [16, 1024].
    for a in [0, 1, 8, 15, 17, 24, 1025, 1040, 2048, u32::MAX] {
        t.bad(&format!("SetConfig(align {a})"), set(a), HI_ERR_SYS_ILLEGAL_PARAM);
    }
    assert_eq!(get(), (HI_ERR_SYS_NOTREADY, 0xDEAD), "a rejected config is not stored");
    eq_code("SetConfig(64)", set(64), HI_SUCCESS);
    t.bad("SetConfig(17) after a good one", set(17), HI_ERR_SYS_ILLEGAL_PARAM);
    assert_eq!(get(), (HI_SUCCESS, 64), "the good config survives a bad one");
    eq_code("Init", HI_MPI_SYS_Init(), HI_SUCCESS);
    t.bad("Init again", HI_MPI_SYS_Init(), HI_SUCCESS);
    t.bad("SetConfig while initialised", set(128), HI_ERR_SYS_NOT_PERM);
    assert_eq!(get(), (HI_SUCCESS, 64));
    eq_code("Exit", HI_MPI_SYS_Exit(), HI_SUCCESS);
    t.bad("Exit again", HI_MPI_SYS_Exit(), HI_SUCCESS);
    eq_code("SetConfig(16) after Exit", set(16), HI_SUCCESS);
    eq_code("SetConfig(1024)", set(1024), HI_SUCCESS);
    assert_eq!(get(), (HI_SUCCESS, 1024));
    t.done();
}

#[test]
fn mmz_alloc_bad_args() {
    let _w = shared();
    let t = T::new("alloc");
    let long_zone = cs(&format!("anonymous{}", "_".repeat(30)));
    let not_utf8 = CString::new(b"anonymous\xff".to_vec()).unwrap();
    for cached in [false, true] {
        let which = if cached { "MmzAlloc_Cached" } else { "MmzAlloc" };
        let (mut p, mut v) = (0x1234u64, 0x5678usize as *mut c_void);
        let untouched = |p: u64, v: *mut c_void, what: &str| {
            assert_eq!((p, v as usize), (0x1234, 0x5678), "{which} {what}: outputs written on failure");
        };
        let n = t.name();
        let r = mmz_alloc_raw(None, Some(&mut v), Some(&n), None, 4096, cached);
        t.bad(&format!("{which}(phys NULL)"), r, HI_ERR_SYS_NULL_PTR);
        untouched(p, v, "phys NULL");
        let r = mmz_alloc_raw(Some(&mut p), None, Some(&n), None, 4096, cached);
        t.bad(&format!("{which}(vir NULL)"), r, HI_ERR_SYS_NULL_PTR);
        untouched(p, v, "vir NULL");
        let r = mmz_alloc_raw(None, None, None, None, 4096, cached);
        t.bad(&format!("{which}(both NULL)"), r, HI_ERR_SYS_NULL_PTR);
        let cases: Vec<(&str, Option<&CStr>, u32, i32)> = vec![
            ("len 0", None, 0, HI_ERR_SYS_ILLEGAL_PARAM),
            ("len u32::MAX", None, u32::MAX, HI_ERR_SYS_NOMEM),
            ("len 2^31", None, 1 << 31, HI_ERR_SYS_NOMEM),
            ("len larger than the zone", None, ANON.1 as u32 + 1, HI_ERR_SYS_NOMEM),
            ("len larger than zone other", Some(c"other"), OTHER.1 as u32 + 1, HI_ERR_SYS_NOMEM),
            ("unknown zone", Some(c"nope"), 4096, HI_ERR_SYS_ILLEGAL_PARAM),
            ("zone name case differs", Some(c"ANONYMOUS"), 4096, HI_ERR_SYS_ILLEGAL_PARAM),
            ("zone name with trailing space", Some(c"anonymous "), 4096, HI_ERR_SYS_ILLEGAL_PARAM),
            (
                "zone name longer than 31 bytes",
                Some(long_zone.as_c_str()),
                4096,
                HI_ERR_SYS_ILLEGAL_PARAM,
            ),
            ("zone name not UTF-8", Some(not_utf8.as_c_str()), 4096, HI_ERR_SYS_ILLEGAL_PARAM),
            ("unknown zone, len 0", Some(c"nope"), 0, HI_ERR_SYS_ILLEGAL_PARAM),
        ];
        for (what, zone, len, want) in cases {
            let r = mmz_alloc_raw(Some(&mut p), Some(&mut v), Some(&t.name()), zone, len, cached);
            t.bad(&format!("{which}({what})"), r, want);
            untouched(p, v, what);
        }
    }
    t.done();
}

#[test]
fn mmz_alloc_names_and_zones() {
    let _w = shared();
    let t = T::new("names");
    let listed = |phys: u64| -> (String, String) {
        let z = t.dev.zones().unwrap();
        let b = z
            .iter()
            .flat_map(|z| z.blocks.iter())
            .find(|b| b.phys == phys)
            .expect("block listed");
        (b.name.clone(), b.zone.clone())
    };
    for cached in [false, true] {
        // An MMB name longer than 31 bytes works and is truncated, as the
        // driver truncates `mmb_name`.
        let long = format!("{}.{}-{}", t.tag, cached as u8, "L".repeat(40));
        let (mut p, mut v) = (0u64, null_mut());
        let r = mmz_alloc_raw(Some(&mut p), Some(&mut v), Some(&cs(&long)), None, 4096, cached);
        eq_code("MmzAlloc(name of 48 bytes)", r, HI_SUCCESS);
        assert_eq!(listed(p), (long[..31].to_string(), "anonymous".to_string()));
        assert_eq!(vir_info(v), Ok((p, cached)));
        eq_code("MmzFree", HI_MPI_SYS_MmzFree(p, v), HI_SUCCESS);
        // Exactly 31 bytes is kept whole.
        let exact = format!("{}.{}-{}", t.tag, cached as u8, "E".repeat(31 - t.tag.len() - 3));
        assert_eq!(exact.len(), 31);
        let r = mmz_alloc_raw(Some(&mut p), Some(&mut v), Some(&cs(&exact)), Some(c"other"), 4096, cached);
        eq_code("MmzAlloc(name of 31 bytes, zone other)", r, HI_SUCCESS);
        assert_eq!(listed(p), (exact.clone(), "other".to_string()));
        assert!(in_zone(p, OTHER), "zone other gives its own addresses");
        eq_code("MmzFree", HI_MPI_SYS_MmzFree(p, v), HI_SUCCESS);
        // NULL and empty names: the zone literally named "anonymous".
        for (mmb, zone) in [(None, None), (Some(c""), Some(c"")), (None, Some(c"anonymous"))] {
            let r = mmz_alloc_raw(Some(&mut p), Some(&mut v), mmb, zone, 4096, cached);
            eq_code("MmzAlloc(NULL/empty names)", r, HI_SUCCESS);
            assert!(in_zone(p, ANON), "unnamed request goes to anonymous");
            assert_eq!(listed(p).0, "", "unnamed MMB");
            eq_code("MmzFree", HI_MPI_SYS_MmzFree(p, v), HI_SUCCESS);
        }
        t.intact();
    }
    t.done();
}

/// MMB names are bytes to the driver; a GBK-encoded name ("测试") must work.
#[test]
fn mmz_alloc_non_utf8_name() {
    let _w = shared();
    let t = T::new("gbk");
    let name = CString::new(b"gbk.\xb2\xe2\xca\xd4".to_vec()).unwrap();
    let (mut p, mut v) = (0u64, null_mut());
    let r = mmz_alloc_raw(Some(&mut p), Some(&mut v), Some(&name), None, 4096, false);
    eq_code("MmzAlloc(GBK name)", r, HI_SUCCESS);
    eq_code("MmzFree", HI_MPI_SYS_MmzFree(p, v), HI_SUCCESS);
    t.done();
}

#[test]
fn mmz_free_bad_args() {
    let _w = shared();
    let t = T::new("free");
    let a = t.alloc(None, 8192, false);
    let b = t.alloc(None, 8192, true);
    a.fill(1);
    b.fill(2);
    for phys in OUTSIDE {
        t.bad(
            &format!("MmzFree({phys:#x}, NULL)"),
            HI_MPI_SYS_MmzFree(phys, null_mut()),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        t.bad(
            &format!("MmzFree({phys:#x}, vir of A)"),
            HI_MPI_SYS_MmzFree(phys, a.vir),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
    }
    // Only a block's start frees it.
    for off in [1u64, 64, 4096, 8191] {
        t.bad(
            &format!("MmzFree(A+{off}, NULL)"),
            HI_MPI_SYS_MmzFree(a.phys + off, null_mut()),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        t.bad(
            &format!("MmzFree(A+{off}, vir A+{off})"),
            HI_MPI_SYS_MmzFree(a.phys + off, a.at(off as usize)),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
    }
    // The virtual address must be the one MmzAlloc returned for that block.
    let heap = Malloced::new();
    let mut on_stack = [0u8; 16];
    let foreign: Vec<(&str, *mut c_void)> = vec![
        ("vir of B", b.vir),
        ("vir of A + 1", a.at(1)),
        ("vir of A + 4096", a.at(4096)),
        ("malloc'ed pointer", heap.0),
        ("stack address", on_stack.as_mut_ptr() as *mut c_void),
        ("address 1", std::ptr::without_provenance_mut::<c_void>(1)),
        ("address usize::MAX", usize::MAX as *mut c_void),
    ];
    for (what, vir) in &foreign {
        t.bad(
            &format!("MmzFree(phys A, {what})"),
            HI_MPI_SYS_MmzFree(a.phys, *vir),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
    }
    // A second view of another block is no more A's address.
    let view = HI_MPI_SYS_Mmap(b.phys, 4096);
    assert!(!view.is_null());
    t.bad(
        "MmzFree(phys A, Mmap view of B)",
        HI_MPI_SYS_MmzFree(a.phys, view),
        HI_ERR_SYS_ILLEGAL_PARAM,
    );
    eq_code("Munmap", HI_MPI_SYS_Munmap(view, 4096), HI_SUCCESS);
    // Neither block was touched by any of that.
    a.verify(1, "A after bad frees");
    b.verify(2, "B after bad frees");
    t.free(&a);
    t.free(&b);
    t.done();
}

#[test]
fn mmz_double_free_and_stale_addresses() {
    let _w = exclusive();
    let t = T::new("dfree");
    let _hb = t.lock_hb();
    for zone in [None, Some("other")] {
        let a = t.alloc(zone, 8192, true);
        a.fill(3);
        t.free(&a);
        // Nothing else runs now, so nothing has been placed at A since.
        t.bad("MmzFree twice", HI_MPI_SYS_MmzFree(a.phys, a.vir), HI_ERR_SYS_ILLEGAL_PARAM);
        t.bad(
            "MmzFree twice, vir NULL",
            HI_MPI_SYS_MmzFree(a.phys, null_mut()),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        assert_eq!(vir_info(a.vir), Err(HI_ERR_SYS_ILLEGAL_PARAM), "GetVirMemInfo of a freed block");
        t.bad(
            "MmzFlushCache of a freed block",
            HI_MPI_SYS_MmzFlushCache(a.phys, a.vir, 4096),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        t.bad(
            "MflushCache of a freed block",
            HI_MPI_SYS_MflushCache(a.phys, a.vir, 4096),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        t.null("Mmap of a freed block", HI_MPI_SYS_Mmap(a.phys, 4096));
        t.null("MmapCache of a freed block", HI_MPI_SYS_MmapCache(a.phys, 4096));
        t.bad(
            "Munmap of a freed block's address",
            HI_MPI_SYS_Munmap(a.vir, 8192),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        t.sentinel(
            "PhysAddr2Handle of a freed block",
            HI_MPI_VB_PhysAddr2Handle(a.phys),
            VB_INVALID_HANDLE,
        );
        let mut reg = hbSysMem {
            phyAddr: a.phys,
            virAddr: null_mut(),
            memSize: 4096,
        };
        t.bad(
            "hbSysRegisterMem of a freed block",
            hb_register(&mut reg),
            HB_SYS_REGISTER_MEM_FAILED,
        );
        assert!(reg.virAddr.is_null());
        // Freed with a NULL address, then again with the address.
        let b = t.alloc(zone, 4096, false);
        eq_code("MmzFree(phys, NULL)", HI_MPI_SYS_MmzFree(b.phys, null_mut()), HI_SUCCESS);
        t.bad(
            "MmzFree after MmzFree(phys, NULL)",
            HI_MPI_SYS_MmzFree(b.phys, b.vir),
            HI_ERR_SYS_ILLEGAL_PARAM,
        );
        assert_eq!(
            vir_info(b.vir),
            Err(HI_ERR_SYS_ILLEGAL_PARAM),
            "MmzFree(phys, NULL) drops the mapping too"
        );
    }
    t.done();
}

/// Cases shared by `MmzFlushCache` (on a cached MmzAlloc block) and
/// `MflushCache` (on a MmapCache view): `a` is cached, `u` is another block.
fn flush_cases(t: &T, name: &str, f: extern "C" fn(u64, *mut c_void, u32) -> i32, a: Mmz, u: Mmz) {
    let heap = Malloced::new();
    let mut on_stack = [0u8; 64];
    let len = a.len;
    // Good calls first, so the bad ones are not failing for another reason.
    t.bad(&format!("{name}(whole)"), f(a.phys, a.vir, len), HI_SUCCESS);
    t.bad(
        &format!("{name}(second page)"),
        f(a.phys + 4096, a.at(4096), len - 4096),
        HI_SUCCESS,
    );
    t.bad(&format!("{name}(0, NULL, 0): everything"), f(0, null_mut(), 0), HI_SUCCESS);
    let cases: Vec<(&str, u64, *mut c_void, u32, i32)> = vec![
        ("vir NULL", a.phys, null_mut(), len, HI_ERR_SYS_NULL_PTR),
        ("phys 0, vir NULL, size", 0, null_mut(), 4096, HI_ERR_SYS_NULL_PTR),
        ("size 0", a.phys, a.vir, 0, HI_ERR_SYS_ILLEGAL_PARAM),
        ("size past the end", a.phys, a.vir, len + 1, HI_ERR_SYS_ILLEGAL_PARAM),
        (
            "from page 2, size past the end",
            a.phys + 4096,
            a.at(4096),
            len - 4096 + 1,
            HI_ERR_SYS_ILLEGAL_PARAM,
        ),
        ("size u32::MAX", a.phys, a.vir, u32::MAX, HI_ERR_SYS_ILLEGAL_PARAM),
        ("phys of A, vir of other block", a.phys, u.vir, 4096, HI_ERR_SYS_ILLEGAL_PARAM),
        ("phys of other block, vir of A", u.phys, a.vir, 4096, HI_ERR_SYS_ILLEGAL_PARAM),
        ("phys A+64, vir A", a.phys + 64, a.vir, 64, HI_ERR_SYS_ILLEGAL_PARAM),
        ("phys A, vir A+64", a.phys, a.at(64), 64, HI_ERR_SYS_ILLEGAL_PARAM),
        ("phys 0, vir A", 0, a.vir, 4096, HI_ERR_SYS_ILLEGAL_PARAM),
        ("phys u64::MAX, vir A", u64::MAX, a.vir, 1, HI_ERR_SYS_ILLEGAL_PARAM),
        ("malloc'ed vir", a.phys, heap.0, 64, HI_ERR_SYS_ILLEGAL_PARAM),
        (
            "stack vir",
            a.phys,
            on_stack.as_mut_ptr() as *mut c_void,
            64,
            HI_ERR_SYS_ILLEGAL_PARAM,
        ),
        ("vir usize::MAX", a.phys, usize::MAX as *mut c_void, 1, HI_ERR_SYS_ILLEGAL_PARAM),
    ];
    for (what, phys, vir, size, want) in cases {
        t.bad(&format!("{name}({what})"), f(phys, vir, size), want);
    }
}

#[test]
fn mmz_flush_cache_bad_args() {
    let _w = shared();
    let t = T::new("flush");
    let a = t.alloc(None, 8192, true);
    let u = t.alloc(None, 8192, false);
    a.fill(4);
    u.fill(5);
    flush_cases(&t, "MmzFlushCache", HI_MPI_SYS_MmzFlushCache, a, u);
    // Uncached memory: nothing to do, and not an error.
    t.bad(
        "MmzFlushCache(uncached block)",
        HI_MPI_SYS_MmzFlushCache(u.phys, u.vir, 8192),
        HI_SUCCESS,
    );
    a.verify(4, "A after bad flushes");
    u.verify(5, "U after bad flushes");
    t.free(&a);
    t.free(&u);
    t.done();
}

#[test]
fn mflush_cache_bad_args() {
    let _w = shared();
    let t = T::new("mflush");
    let blk = t.alloc(None, 8192, false);
    let other = t.alloc(None, 8192, false);
    blk.fill(6);
    let view = HI_MPI_SYS_MmapCache(blk.phys, 8192);
    let other_view = HI_MPI_SYS_MmapCache(other.phys, 8192);
    assert!(!view.is_null() && !other_view.is_null());
    let a = Mmz { vir: view, ..blk };
    let o = Mmz { vir: other_view, ..other };
    flush_cases(&t, "MflushCache", HI_MPI_SYS_MflushCache, a, o);
    // Past the end of the view, though inside the block.
    let half = HI_MPI_SYS_MmapCache(blk.phys, 4096);
    assert!(!half.is_null());
    t.bad(
        "MflushCache(past the end of the view)",
        HI_MPI_SYS_MflushCache(blk.phys, half, 8192),
        HI_ERR_SYS_ILLEGAL_PARAM,
    );
    t.bad(
        "MflushCache(inside the view)",
        HI_MPI_SYS_MflushCache(blk.phys, half, 4096),
        HI_SUCCESS,
    );
    // The front's rule: MflushCache is for MmapCache (cached) views.
    let plain = HI_MPI_SYS_Mmap(blk.phys, 8192);
    assert!(!plain.is_null());
    t.bad(
        "MflushCache(uncached Mmap view)",
        HI_MPI_SYS_MflushCache(blk.phys, plain, 4096),
        HI_ERR_SYS_ILLEGAL_PARAM,
    );
    for v in [plain, half, view, other_view] {
        let len = if v == half { 4096 } else { 8192 };
        eq_code("Munmap", HI_MPI_SYS_Munmap(v, len), HI_SUCCESS);
    }
    blk.verify(6, "block after bad flushes");
    t.free(&blk);
    t.free(&other);
    t.done();
}

#[test]
fn mmap_bad_args() {
    let _w = shared();
    let t = T::new("mmap");
    let a = t.alloc(None, 8192, false);
    a.fill(7);
    type MapFn = extern "C" fn(u64, u32) -> *mut c_void;
    for (name, f, cached) in [
        ("Mmap", HI_MPI_SYS_Mmap as MapFn, false),
        ("MmapCache", HI_MPI_SYS_MmapCache as MapFn, true),
    ] {
        for phys in OUTSIDE {
            t.null(&format!("{name}({phys:#x}, 4096)"), f(phys, 4096));
        }
        let cases: Vec<(&str, u64, u32)> = vec![
            ("size 0", a.phys, 0),
            ("size 0 inside", a.phys + 100, 0),
            ("past the end", a.phys, 8193),
            ("from page 2 past the end", a.phys + 4096, 4097),
            ("last byte, 2 bytes", a.phys + 8191, 2),
            ("size u32::MAX", a.phys, u32::MAX),
            ("size u32::MAX from the last byte", a.phys + 8191, u32::MAX),
        ];
        for (what, phys, size) in cases {
            t.null(&format!("{name}({what})"), f(phys, size));
        }
        // Any address inside a block maps, as the driver allows.
        let v = f(a.phys + 100, 100);
        assert!(!v.is_null(), "{name} inside a block");
        assert_eq!(
            read_at(v, 100),
            pattern(7, 8192)[100..200].to_vec(),
            "{name} view shows the block's bytes"
        );
        assert_eq!(vir_info(v), Ok((a.phys + 100, cached)), "{name} view: GetVirMemInfo");
        eq_code("Munmap", HI_MPI_SYS_Munmap(v, 100), HI_SUCCESS);
    }
    a.verify(7, "A after bad maps");
    t.free(&a);
    t.done();
}

#[test]
fn munmap_bad_args() {
    let _w = shared();
    let t = T::new("munmap");
    // Three pages, so an 8 KiB view is not MmzAlloc's own mapping.
    let a = t.alloc(None, 3 * 4096, false);
    a.fill(8);
    let heap = Malloced::new();
    let mut on_stack = [0u8; 16];
    t.bad("Munmap(NULL)", HI_MPI_SYS_Munmap(null_mut(), 4096), HI_ERR_SYS_NULL_PTR);
    t.bad("Munmap(NULL, 0)", HI_MPI_SYS_Munmap(null_mut(), 0), HI_ERR_SYS_NULL_PTR);
    let v = HI_MPI_SYS_Mmap(a.phys, 8192);
    assert!(!v.is_null());
    let at = |off: usize| (v as usize + off) as *mut c_void;
    let cases: Vec<(&str, *mut c_void, u32)> = vec![
        ("size 0", v, 0),
        ("size past the mapping", v, 8193),
        ("size u32::MAX", v, u32::MAX),
        ("address + 1", at(1), 8191),
        ("second page", at(4096), 4096),
        ("malloc'ed pointer", heap.0, 64),
        ("stack address", on_stack.as_mut_ptr() as *mut c_void, 16),
        ("address usize::MAX", usize::MAX as *mut c_void, 1),
    ];
    for (what, p, size) in cases {
        t.bad(&format!("Munmap({what})"), HI_MPI_SYS_Munmap(p, size), HI_ERR_SYS_ILLEGAL_PARAM);
    }
    // The view survived every bad call.
    assert_eq!(vir_info(v), Ok((a.phys, false)));
    assert!(read_at(v, 8192) == pattern(8, 8192));
    eq_code("Munmap", HI_MPI_SYS_Munmap(v, 8192), HI_SUCCESS);
    // Each Mmap needs its own Munmap, even when the views coincide.
    let v1 = HI_MPI_SYS_Mmap(a.phys, 4096);
    let v2 = HI_MPI_SYS_Mmap(a.phys, 4096);
    assert!(!v1.is_null() && !v2.is_null());
    eq_code("Munmap(first view)", HI_MPI_SYS_Munmap(v1, 4096), HI_SUCCESS);
    assert_eq!(vir_info(v2), Ok((a.phys, false)), "second view still mapped after the first Munmap");
    assert!(read_at(v2, 4096) == pattern(8, 4096));
    eq_code("Munmap(second view)", HI_MPI_SYS_Munmap(v2, 4096), HI_SUCCESS);
    a.verify(8, "A after bad unmaps");
    t.free(&a);
    t.done();
}

#[test]
fn munmap_twice() {
    let _w = exclusive();
    let t = T::new("munmap2");
    let a = t.alloc(None, 3 * 4096, false);
    a.fill(14);
    let v = HI_MPI_SYS_Mmap(a.phys, 8192);
    assert!(!v.is_null());
    eq_code("Munmap", HI_MPI_SYS_Munmap(v, 8192), HI_SUCCESS);
    // Nothing else runs, so nothing has been mapped at `v` since.
    t.bad("Munmap twice", HI_MPI_SYS_Munmap(v, 8192), HI_ERR_SYS_ILLEGAL_PARAM);
    assert_eq!(vir_info(v), Err(HI_ERR_SYS_ILLEGAL_PARAM), "unmapped view is gone");
    a.verify(14, "A after a double Munmap of a view");
    let v1 = HI_MPI_SYS_MmapCache(a.phys, 4096);
    let v2 = HI_MPI_SYS_MmapCache(a.phys, 4096);
    assert!(!v1.is_null() && !v2.is_null());
    eq_code("Munmap 1 of 2", HI_MPI_SYS_Munmap(v1, 4096), HI_SUCCESS);
    eq_code("Munmap 2 of 2", HI_MPI_SYS_Munmap(v2, 4096), HI_SUCCESS);
    t.bad("Munmap 3 of 2", HI_MPI_SYS_Munmap(v2, 4096), HI_ERR_SYS_ILLEGAL_PARAM);
    // MmzFree drops the block's views; a later Munmap of one fails cleanly.
    let w = HI_MPI_SYS_Mmap(a.phys, 4096);
    assert!(!w.is_null());
    t.free(&a);
    t.bad(
        "Munmap of a view of a freed block",
        HI_MPI_SYS_Munmap(w, 4096),
        HI_ERR_SYS_ILLEGAL_PARAM,
    );
    t.done();
}

/// A view that happens to equal MmzAlloc's mapping (same offset, length and
/// cache type) is still the caller's own: unmapping it twice must fail the
/// second time and leave MmzAlloc's mapping alone.
#[test]
fn munmap_twice_keeps_mmz_alloc_mapping() {
    let _w = exclusive();
    let t = T::new("munmap3");
    let a = t.alloc(None, 8192, false);
    a.fill(15);
    let v = HI_MPI_SYS_Mmap(a.phys, 8192);
    assert!(!v.is_null());
    eq_code("Munmap", HI_MPI_SYS_Munmap(v, 8192), HI_SUCCESS);
    let twice = HI_MPI_SYS_Munmap(v, 8192);
    let still = vir_info(a.vir);
    let freed = HI_MPI_SYS_MmzFree(a.phys, a.vir);
    if freed != HI_SUCCESS {
        let _ = HI_MPI_SYS_MmzFree(a.phys, null_mut());
    }
    eq_code("Munmap twice", twice, HI_ERR_SYS_ILLEGAL_PARAM);
    assert_eq!(still, Ok((a.phys, false)), "MmzAlloc's mapping survives");
    eq_code("MmzFree(phys, vir)", freed, HI_SUCCESS);
    t.done();
}

/// `HI_MPI_SYS_Munmap` undoes `Mmap`/`MmapCache`. Given the address
/// MmzAlloc returned, it must not take that mapping away, or the documented
/// `MmzFree(phys, vir)` fails afterwards and the block leaks.
#[test]
fn munmap_rejects_mmz_alloc_address() {
    let _w = shared();
    let t = T::new("munmapmmz");
    let a = t.alloc(None, 8192, false);
    let r = HI_MPI_SYS_Munmap(a.vir, 8192);
    let freed = HI_MPI_SYS_MmzFree(a.phys, a.vir);
    if freed != HI_SUCCESS {
        // Clean up whatever the outcome.
        let _ = HI_MPI_SYS_MmzFree(a.phys, null_mut());
    }
    eq_code("Munmap(address from MmzAlloc)", r, HI_ERR_SYS_ILLEGAL_PARAM);
    eq_code("MmzFree(phys, vir) afterwards", freed, HI_SUCCESS);
    t.done();
}

#[test]
fn get_vir_mem_info_bad_args() {
    let _w = shared();
    let t = T::new("virinfo");
    let a = t.alloc(None, 8192, true);
    let heap = Malloced::new();
    let on_stack = [0u8; 16];
    let mut info = SYS_VIRMEM_INFO_S {
        u64PhyAddr: 0xABCD,
        bCached: 7,
    };
    // SAFETY: NULL is the case under test.
    t.bad(
        "GetVirMemInfo(NULL, info)",
        unsafe { HI_MPI_SYS_GetVirMemInfo(null(), &mut info) },
        HI_ERR_SYS_NULL_PTR,
    );
    // SAFETY: as above.
    t.bad(
        "GetVirMemInfo(vir, NULL)",
        unsafe { HI_MPI_SYS_GetVirMemInfo(a.vir, null_mut()) },
        HI_ERR_SYS_NULL_PTR,
    );
    // SAFETY: as above.
    t.bad(
        "GetVirMemInfo(NULL, NULL)",
        unsafe { HI_MPI_SYS_GetVirMemInfo(null(), null_mut()) },
        HI_ERR_SYS_NULL_PTR,
    );
    for (what, p) in [
        ("malloc'ed pointer", heap.0 as *const c_void),
        ("stack address", on_stack.as_ptr() as *const c_void),
        ("address 1", std::ptr::without_provenance::<c_void>(1)),
        ("address usize::MAX", usize::MAX as *const c_void),
    ] {
        // SAFETY: `info` is writable; the export only looks `p` up.
        let r = unsafe { HI_MPI_SYS_GetVirMemInfo(p, &mut info) };
        t.bad(&format!("GetVirMemInfo({what})"), r, HI_ERR_SYS_ILLEGAL_PARAM);
        assert_eq!((info.u64PhyAddr, info.bCached), (0xABCD, 7), "info written on failure");
    }
    assert_eq!(vir_info(a.at(8191)), Ok((a.phys + 8191, true)), "last byte");
    t.free(&a);
    t.done();
}

// ================================================================ HI_MPI_VB

#[test]
fn vb_config_init_exit() {
    let _w = shared();
    let t = T::new("vbcfg");
    let _vb = t.lock_vb();
    let set = |c: &VB_CONFIG_S| {
        // SAFETY: a valid struct.
        let r = unsafe { HI_MPI_VB_SetConfig(c) };
        if r == HI_SUCCESS {
            VB_CONFIGURED.store(true, Ordering::SeqCst);
        }
        r
    };
    let get = || {
        let mut c = vb_cfg(0xDEAD, &[]);
        // SAFETY: `c` is writable.
        let r = unsafe { HI_MPI_VB_GetConfig(&mut c) };
        (r, c)
    };
    t.bad("VB Exit before Init", HI_MPI_VB_Exit(), HI_SUCCESS);
    // SAFETY: NULL is the case under test.
    t.bad("VB SetConfig(NULL)", unsafe { HI_MPI_VB_SetConfig(null()) }, HI_ERR_VB_NULL_PTR);
    // SAFETY: as above.
    t.bad("VB GetConfig(NULL)", unsafe { HI_MPI_VB_GetConfig(null_mut()) }, HI_ERR_VB_NULL_PTR);
    if !VB_CONFIGURED.load(Ordering::SeqCst) {
        let (r, c) = get();
        eq_code("VB GetConfig before SetConfig", r, HI_ERR_VB_NOTREADY);
        assert_eq!(c.u32MaxPoolCnt, 0xDEAD, "GetConfig wrote on failure");
        t.bad("VB Init before SetConfig", HI_MPI_VB_Init(), HI_ERR_VB_NOT_PERM);
    }
    let good = pool_cfg(4096, 2, VB_REMAP_MODE_NONE, b"");
    let mut unterminated = pool_cfg(4096, 1, VB_REMAP_MODE_NONE, b"");
    unterminated.acMmzName = [b'a' as c_char; 32];
    let bad_configs: Vec<(&str, VB_CONFIG_S)> = vec![
        ("max pool count 0", vb_cfg(0, &[good])),
        ("max pool count 257", vb_cfg(257, &[good])),
        ("max pool count u32::MAX", vb_cfg(u32::MAX, &[good])),
        ("remap mode 3", vb_cfg(2, &[good, pool_cfg(4096, 1, 3, b"")])),
        ("remap mode u32::MAX", vb_cfg(2, &[pool_cfg(4096, 1, u32::MAX, b"")])),
        ("block size 0", vb_cfg(2, &[pool_cfg(0, 1, 0, b"")])),
        ("65536 blocks", vb_cfg(2, &[pool_cfg(4096, 0x1_0000, 0, b"")])),
        ("u32::MAX blocks", vb_cfg(2, &[pool_cfg(4096, u32::MAX, 0, b"")])),
        ("zone name without NUL", vb_cfg(2, &[unterminated])),
    ];
    for (what, c) in &bad_configs {
        t.bad(&format!("VB SetConfig({what})"), set(c), HI_ERR_VB_ILLEGAL_PARAM);
    }
    if !VB_CONFIGURED.load(Ordering::SeqCst) {
        eq_code("VB GetConfig after rejected configs", get().0, HI_ERR_VB_NOTREADY);
    }
    // Init fails cleanly when a pool does not fit: the pools made before
    // the failing one are rolled back.
    let too_big = vb_cfg(3, &[good, pool_cfg(1 << 20, 100, 0, b""), good]);
    eq_code("VB SetConfig(too big for the zone)", set(&too_big), HI_SUCCESS);
    t.bad("VB Init(too big)", HI_MPI_VB_Init(), HI_ERR_VB_NOMEM);
    t.no_pools();
    let huge = vb_cfg(1, &[pool_cfg(u64::MAX, 1, 0, b"")]);
    eq_code("VB SetConfig(block size u64::MAX)", set(&huge), HI_SUCCESS);
    t.bad("VB Init(block size u64::MAX)", HI_MPI_VB_Init(), HI_ERR_VB_NOMEM);
    t.no_pools();
    // An unknown zone fails Init and rolls back (the exact code is
    // disputed: see vb_init_unknown_zone_code).
    let unknown = vb_cfg(2, &[good, pool_cfg(4096, 1, 0, b"nope")]);
    eq_code("VB SetConfig(unknown zone)", set(&unknown), HI_SUCCESS);
    let r = HI_MPI_VB_Init();
    assert!(r != HI_SUCCESS, "VB Init(unknown zone) succeeded");
    t.intact();
    t.no_pools();
    // A rejected config keeps the last good one.
    let cfg = vb_cfg(2, &[good, pool_cfg(16384, 1, VB_REMAP_MODE_CACHED, b"anonymous")]);
    eq_code("VB SetConfig(good)", set(&cfg), HI_SUCCESS);
    t.bad("VB SetConfig(bad after good)", set(&bad_configs[3].1), HI_ERR_VB_ILLEGAL_PARAM);
    let (r, back) = get();
    eq_code("VB GetConfig", r, HI_SUCCESS);
    assert_eq!(
        (back.u32MaxPoolCnt, back.astCommPool[1].u64BlkSize),
        (2, 16384),
        "the good config survives"
    );
    eq_code("VB Init", HI_MPI_VB_Init(), HI_SUCCESS);
    t.bad("VB Init twice", HI_MPI_VB_Init(), HI_SUCCESS);
    t.bad("VB SetConfig while initialised", set(&cfg), HI_ERR_VB_BUSY);
    // Common-pool GetBlock with bad sizes and zones.
    let nope = cs("nope");
    for (what, size, zone) in [
        ("size 0", 0, None),
        ("size larger than every pool", 16385, None),
        ("size u64::MAX", u64::MAX, None),
        ("unknown zone", 4096, Some(nope.as_c_str())),
    ] {
        t.sentinel(
            &format!("GetBlock(common, {what})"),
            get_block(VB_INVALID_POOLID, size, zone),
            VB_INVALID_HANDLE,
        );
    }
    let b1 = get_block(VB_INVALID_POOLID, 4096, None);
    let b2 = get_block(VB_INVALID_POOLID, 100, Some(c"anonymous"));
    let b3 = get_block(VB_INVALID_POOLID, 4096, None);
    assert!(b1 != VB_INVALID_HANDLE && b2 != VB_INVALID_HANDLE && b3 != VB_INVALID_HANDLE);
    assert_eq!(
        HI_MPI_VB_Handle2PoolId(b1),
        HI_MPI_VB_Handle2PoolId(b2),
        "smallest fitting pool first"
    );
    assert_ne!(
        HI_MPI_VB_Handle2PoolId(b3),
        HI_MPI_VB_Handle2PoolId(b1),
        "small pool exhausted, next fitting pool used"
    );
    t.sentinel(
        "GetBlock(common, all exhausted)",
        get_block(VB_INVALID_POOLID, 4096, None),
        VB_INVALID_HANDLE,
    );
    let common = HI_MPI_VB_Handle2PoolId(b1);
    t.bad("DestroyPool(common pool)", HI_MPI_VB_DestroyPool(common), HI_ERR_VB_NOT_PERM);
    t.bad("VB Exit with blocks out", HI_MPI_VB_Exit(), HI_ERR_VB_BUSY);
    assert_eq!(HI_MPI_VB_InquireUserCnt(b1), 1, "block survives a refused Exit");
    for b in [b1, b2, b3] {
        eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(b), HI_SUCCESS);
    }
    t.bad("ReleaseBlock(common) twice", HI_MPI_VB_ReleaseBlock(b1), HI_ERR_VB_ILLEGAL_PARAM);
    eq_code("VB Exit", HI_MPI_VB_Exit(), HI_SUCCESS);
    t.bad("VB Exit twice", HI_MPI_VB_Exit(), HI_SUCCESS);
    t.sentinel(
        "GetBlock(common) after Exit",
        get_block(VB_INVALID_POOLID, 4096, None),
        VB_INVALID_HANDLE,
    );
    t.no_pools();
    t.done();
}

/// A common pool in a zone that does not exist is a bad parameter, as
/// `MmzAlloc` reports an unknown zone (`HI_ERR_SYS_ILLEGAL_PARAM`);
/// `HI_ERR_VB_UNEXIST` means "no such pool or block".
#[test]
fn vb_init_unknown_zone_code() {
    let _w = shared();
    let t = T::new("vbunk");
    let _vb = t.lock_vb();
    let cfg = vb_cfg(1, &[pool_cfg(4096, 1, 0, b"nope")]);
    eq_code("VB Exit", HI_MPI_VB_Exit(), HI_SUCCESS);
    // SAFETY: a valid struct.
    eq_code("VB SetConfig", unsafe { HI_MPI_VB_SetConfig(&cfg) }, HI_SUCCESS);
    VB_CONFIGURED.store(true, Ordering::SeqCst);
    let r = HI_MPI_VB_Init();
    if r == HI_SUCCESS {
        HI_MPI_VB_Exit();
    }
    t.bad("VB Init(unknown zone)", r, HI_ERR_VB_ILLEGAL_PARAM);
    t.no_pools();
    t.done();
}

/// `pcMmzName` picks the MMZ a common-pool block comes from; a block from
/// another zone is not what the caller asked for.
#[test]
fn vb_common_get_block_honours_zone() {
    let _w = shared();
    let t = T::new("vbzone");
    let _vb = t.lock_vb();
    let cfg = vb_cfg(2, &[pool_cfg(4096, 1, 0, b"anonymous"), pool_cfg(8192, 1, 0, b"other")]);
    eq_code("VB Exit", HI_MPI_VB_Exit(), HI_SUCCESS);
    // SAFETY: a valid struct.
    eq_code("VB SetConfig", unsafe { HI_MPI_VB_SetConfig(&cfg) }, HI_SUCCESS);
    VB_CONFIGURED.store(true, Ordering::SeqCst);
    eq_code("VB Init", HI_MPI_VB_Init(), HI_SUCCESS);
    let b = get_block(VB_INVALID_POOLID, 4096, Some(c"other"));
    let phys = HI_MPI_VB_Handle2PhysAddr(b);
    if b != VB_INVALID_HANDLE {
        HI_MPI_VB_ReleaseBlock(b);
    }
    eq_code("VB Exit", HI_MPI_VB_Exit(), HI_SUCCESS);
    assert!(in_zone(phys, OTHER), "block at {phys:#x} is not in zone other");
    t.no_pools();
    t.done();
}

#[test]
fn vb_create_pool_bad_args() {
    let _w = shared();
    let t = T::new("vbcreate");
    let _vb = t.lock_vb();
    let pools = || t.dev.pools(None).unwrap();
    let before = pools();
    // SAFETY: NULL is the case under test.
    t.sentinel("CreatePool(NULL)", unsafe { HI_MPI_VB_CreatePool(null_mut()) }, VB_INVALID_POOLID);
    let mut unterminated = pool_cfg(4096, 1, 0, b"");
    unterminated.acMmzName = [b'a' as c_char; 32];
    let cases: Vec<(&str, VB_POOL_CONFIG_S)> = vec![
        ("block size 0", pool_cfg(0, 1, 0, b"")),
        ("count 0", pool_cfg(4096, 0, 0, b"")),
        ("remap mode 3", pool_cfg(4096, 1, 3, b"")),
        ("remap mode u32::MAX", pool_cfg(4096, 1, u32::MAX, b"")),
        ("count 65536", pool_cfg(4096, 0x1_0000, 0, b"")),
        ("count 65535, larger than the zone", pool_cfg(4096, 0xFFFF, 0, b"")),
        ("block size u64::MAX", pool_cfg(u64::MAX, 1, 0, b"")),
        ("block size 2^40", pool_cfg(1 << 40, 1, 0, b"")),
        ("size x count overflows u64", pool_cfg(u64::MAX / 2, 4, 0, b"")),
        ("larger than the zone", pool_cfg(1 << 20, 65, 0, b"")),
        ("larger than zone other", pool_cfg(1 << 20, 17, 0, b"other")),
        ("unknown zone", pool_cfg(4096, 1, 0, b"nope")),
        ("31-byte unknown zone", pool_cfg(4096, 1, 0, "z".repeat(31).as_bytes())),
        ("zone name without NUL", unterminated),
        ("zone name not UTF-8", pool_cfg(4096, 1, 0, b"other\xff")),
    ];
    for (what, c) in &cases {
        t.sentinel(&format!("CreatePool({what})"), create_pool(c), VB_INVALID_POOLID);
        assert_eq!(pools(), before, "CreatePool({what}) left a pool");
    }
    // Every valid remap mode, in both zones.
    let mut made = vec![];
    for mode in [VB_REMAP_MODE_NONE, VB_REMAP_MODE_NOCACHE, VB_REMAP_MODE_CACHED] {
        for zone in [&b""[..], b"anonymous", b"other"] {
            let p = create_pool(&pool_cfg(5000, 2, mode, zone));
            assert!(p != VB_INVALID_POOLID, "CreatePool(mode {mode})");
            assert!(!made.contains(&p));
            made.push(p);
        }
    }
    for p in made {
        eq_code("DestroyPool", HI_MPI_VB_DestroyPool(p), HI_SUCCESS);
    }
    t.no_pools();
    t.done();
}

#[test]
fn vb_destroy_pool_bad_args() {
    let _w = shared();
    let t = T::new("vbdestroy");
    let _vb = t.lock_vb();
    t.bad(
        "DestroyPool(VB_INVALID_POOLID)",
        HI_MPI_VB_DestroyPool(VB_INVALID_POOLID),
        HI_ERR_VB_ILLEGAL_PARAM,
    );
    t.bad("DestroyPool(0x100)", HI_MPI_VB_DestroyPool(0x100), HI_ERR_VB_ILLEGAL_PARAM);
    t.bad("DestroyPool(unused id 200)", HI_MPI_VB_DestroyPool(200), HI_ERR_VB_UNEXIST);
    let p = create_pool(&pool_cfg(4096, 2, 0, b""));
    assert!(p != VB_INVALID_POOLID);
    let b = get_block(p, 4096, None);
    assert!(b != VB_INVALID_HANDLE);
    t.bad("DestroyPool with a block out", HI_MPI_VB_DestroyPool(p), HI_ERR_VB_BUSY);
    assert_eq!(HI_MPI_VB_InquireUserCnt(b), 1, "block survives a refused DestroyPool");
    eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(b), HI_SUCCESS);
    eq_code("DestroyPool", HI_MPI_VB_DestroyPool(p), HI_SUCCESS);
    t.bad("DestroyPool twice", HI_MPI_VB_DestroyPool(p), HI_ERR_VB_UNEXIST);
    t.sentinel("GetBlock(destroyed pool)", get_block(p, 4096, None), VB_INVALID_HANDLE);
    t.no_pools();
    t.done();
}

#[test]
fn vb_block_handles_bad() {
    let _w = shared();
    let t = T::new("vbblk");
    let _vb = t.lock_vb();
    // Blocks of 5000 bytes in a stride of 8192: a gap after each block.
    let p = create_pool(&pool_cfg(5000, 2, 0, b""));
    assert!(p != VB_INVALID_POOLID);
    let b = get_block(p, 5000, None);
    assert!(b != VB_INVALID_HANDLE);
    let phys = HI_MPI_VB_Handle2PhysAddr(b);
    assert!(phys != 0);
    for (what, pool, size) in [
        ("size past the block", p, 5001),
        ("size 0", p, 0),
        ("size u64::MAX", p, u64::MAX),
        ("unused pool", 200, 4096),
        ("pool 0x100", 0x100, 4096),
        ("pool 0xFFFFFFFE", 0xFFFF_FFFE, 4096),
    ] {
        t.sentinel(&format!("GetBlock({what})"), get_block(pool, size, None), VB_INVALID_HANDLE);
    }
    let mmz = t.alloc(None, 4096, false);
    let idx_mask = 0xFFFF;
    let free_slot = (b & !idx_mask) | ((b & idx_mask) ^ 1);
    let bad_handles = [
        ("VB_INVALID_HANDLE", VB_INVALID_HANDLE),
        ("0x12345678", 0x1234_5678),
        ("other generation", b ^ 0x0100_0000),
        ("index past the pool", b | idx_mask),
        ("unused pool", (b & !0x00FF_0000) | (200 << 16)),
        ("block not taken", free_slot),
    ];
    for (what, h) in bad_handles {
        t.bad(&format!("ReleaseBlock({what})"), HI_MPI_VB_ReleaseBlock(h), HI_ERR_VB_ILLEGAL_PARAM);
        t.bad(
            &format!("InquireUserCnt({what})"),
            HI_MPI_VB_InquireUserCnt(h),
            HI_ERR_VB_ILLEGAL_PARAM,
        );
        assert_eq!(HI_MPI_VB_Handle2PhysAddr(h), 0, "Handle2PhysAddr({what})");
        t.sentinel(&format!("Handle2PoolId({what})"), HI_MPI_VB_Handle2PoolId(h), VB_INVALID_POOLID);
    }
    let base = t.dev.pool_info(t.dev.pool_at(p).unwrap()).unwrap().buf.phys;
    let free_phys = if phys == base { base + 8192 } else { base };
    for (what, ph) in [
        ("0", 0),
        ("u64::MAX", u64::MAX),
        ("an MmzAlloc block", mmz.phys),
        ("the gap after a block", phys + 6000),
        ("a block not taken", free_phys),
        ("the pool's end", base + 2 * 8192),
    ] {
        t.sentinel(
            &format!("PhysAddr2Handle({what})"),
            HI_MPI_VB_PhysAddr2Handle(ph),
            VB_INVALID_HANDLE,
        );
    }
    assert_eq!(HI_MPI_VB_PhysAddr2Handle(phys + 100), b, "PhysAddr2Handle inside a block");
    assert_eq!(
        (HI_MPI_VB_InquireUserCnt(b), HI_MPI_VB_Handle2PoolId(b)),
        (1, p),
        "the good block is untouched"
    );
    // Double release.
    eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(b), HI_SUCCESS);
    t.bad("ReleaseBlock twice", HI_MPI_VB_ReleaseBlock(b), HI_ERR_VB_ILLEGAL_PARAM);
    assert_eq!(HI_MPI_VB_Handle2PhysAddr(b), 0, "Handle2PhysAddr(released)");
    t.sentinel("Handle2PoolId(released)", HI_MPI_VB_Handle2PoolId(b), VB_INVALID_POOLID);
    t.bad("InquireUserCnt(released)", HI_MPI_VB_InquireUserCnt(b), HI_ERR_VB_ILLEGAL_PARAM);
    t.sentinel("PhysAddr2Handle(released)", HI_MPI_VB_PhysAddr2Handle(phys), VB_INVALID_HANDLE);
    // Exhaustion.
    let x = get_block(p, 1, None);
    let y = get_block(p, 1, None);
    assert!(x != VB_INVALID_HANDLE && y != VB_INVALID_HANDLE);
    t.sentinel("GetBlock(exhausted)", get_block(p, 1, None), VB_INVALID_HANDLE);
    HI_MPI_VB_ReleaseBlock(x);
    HI_MPI_VB_ReleaseBlock(y);
    // A handle from a destroyed pool does not reach a new pool in its slot.
    eq_code("DestroyPool", HI_MPI_VB_DestroyPool(p), HI_SUCCESS);
    t.bad("ReleaseBlock(destroyed pool)", HI_MPI_VB_ReleaseBlock(b), HI_ERR_VB_ILLEGAL_PARAM);
    let p2 = create_pool(&pool_cfg(5000, 2, 0, b""));
    assert!(p2 != VB_INVALID_POOLID);
    let b2 = get_block(p2, 5000, None);
    assert!(b2 != VB_INVALID_HANDLE);
    assert_ne!(b2, b, "a new pool's handle equals a stale one");
    t.bad(
        "ReleaseBlock(stale handle, slot reused)",
        HI_MPI_VB_ReleaseBlock(b),
        HI_ERR_VB_ILLEGAL_PARAM,
    );
    assert_eq!(HI_MPI_VB_InquireUserCnt(b2), 1, "the new block is untouched");
    eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(b2), HI_SUCCESS);
    eq_code("DestroyPool", HI_MPI_VB_DestroyPool(p2), HI_SUCCESS);
    t.free(&mmz);
    t.no_pools();
    t.done();
}

#[test]
fn vb_mmap_pool_bad_args() {
    let _w = shared();
    let t = T::new("vbmmap");
    let _vb = t.lock_vb();
    let p = create_pool(&pool_cfg(4096, 2, VB_REMAP_MODE_CACHED, b""));
    let q = create_pool(&pool_cfg(4096, 1, 0, b""));
    assert!(p != VB_INVALID_POOLID && q != VB_INVALID_POOLID);
    let info = t.dev.pool_info(t.dev.pool_at(p).unwrap()).unwrap();
    let (base, size) = (info.buf.phys, info.buf.size);
    let q_phys = t.dev.pool_info(t.dev.pool_at(q).unwrap()).unwrap().buf.phys;
    for (id, want) in [
        (VB_INVALID_POOLID, HI_ERR_VB_ILLEGAL_PARAM),
        (0x100, HI_ERR_VB_ILLEGAL_PARAM),
        (200, HI_ERR_VB_UNEXIST),
    ] {
        t.bad(&format!("MmapPool({id:#x})"), HI_MPI_VB_MmapPool(id), want);
        t.bad(&format!("MunmapPool({id:#x})"), HI_MPI_VB_MunmapPool(id), want);
        t.bad(&format!("GetBlockVirAddr({id:#x})"), block_vir(id, base).unwrap_err(), want);
    }
    // SAFETY: NULL is the case under test.
    t.bad(
        "GetBlockVirAddr(out NULL)",
        unsafe { HI_MPI_VB_GetBlockVirAddr(p, base, null_mut()) },
        HI_ERR_VB_NULL_PTR,
    );
    t.bad(
        "GetBlockVirAddr before MmapPool",
        block_vir(p, base).unwrap_err(),
        HI_ERR_VB_NOT_PERM,
    );
    t.bad("MunmapPool before MmapPool", HI_MPI_VB_MunmapPool(p), HI_ERR_VB_NOT_PERM);
    eq_code("MmapPool", HI_MPI_VB_MmapPool(p), HI_SUCCESS);
    t.bad("MmapPool twice", HI_MPI_VB_MmapPool(p), HI_SUCCESS);
    for (what, ph) in [
        ("before the pool", base - 1),
        ("the pool's end", base + size),
        ("0", 0),
        ("u64::MAX", u64::MAX),
        ("another pool's block", q_phys),
    ] {
        let mut va = 0x77usize as *mut c_void;
        // SAFETY: `va` is writable.
        let r = unsafe { HI_MPI_VB_GetBlockVirAddr(p, ph, &mut va) };
        t.bad(&format!("GetBlockVirAddr({what})"), r, HI_ERR_VB_ILLEGAL_PARAM);
        assert_eq!(va as usize, 0x77, "GetBlockVirAddr({what}) wrote on failure");
    }
    // The mapping works: bytes written through it show up at the physical
    // address.
    let b = get_block(p, 4096, None);
    let bp = HI_MPI_VB_Handle2PhysAddr(b);
    let va = block_vir(p, bp).expect("GetBlockVirAddr");
    write_at(va, &pattern(9, 4096));
    let view = HI_MPI_SYS_Mmap(bp, 4096);
    assert!(!view.is_null());
    assert!(read_at(view, 4096) == pattern(9, 4096), "pool bytes through Mmap");
    eq_code("Munmap", HI_MPI_SYS_Munmap(view, 4096), HI_SUCCESS);
    eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(b), HI_SUCCESS);
    eq_code("MunmapPool", HI_MPI_VB_MunmapPool(p), HI_SUCCESS);
    t.bad("MunmapPool twice", HI_MPI_VB_MunmapPool(p), HI_ERR_VB_NOT_PERM);
    t.bad(
        "GetBlockVirAddr after MunmapPool",
        block_vir(p, base).unwrap_err(),
        HI_ERR_VB_NOT_PERM,
    );
    // Destroying a mapped pool unmaps it.
    eq_code("MmapPool", HI_MPI_VB_MmapPool(q), HI_SUCCESS);
    eq_code("DestroyPool(mapped)", HI_MPI_VB_DestroyPool(q), HI_SUCCESS);
    t.bad(
        "GetBlockVirAddr(destroyed pool)",
        block_vir(q, q_phys).unwrap_err(),
        HI_ERR_VB_UNEXIST,
    );
    t.bad("MunmapPool(destroyed pool)", HI_MPI_VB_MunmapPool(q), HI_ERR_VB_UNEXIST);
    eq_code("DestroyPool", HI_MPI_VB_DestroyPool(p), HI_SUCCESS);
    t.no_pools();
    t.done();
}

/// The pool's backing buffer belongs to the pool: MmzFree, hbSysFreeMem and
/// Munmap of the pool mapping must not pull it out from under the pool.
#[test]
fn vb_pool_buffer_is_not_an_mmz_block() {
    let _w = shared();
    let t = T::new("vbbuf");
    let _vb = t.lock_vb();
    let _hb = t.lock_hb();
    let p = create_pool(&pool_cfg(4096, 2, 0, b""));
    assert!(p != VB_INVALID_POOLID);
    let base = t.dev.pool_info(t.dev.pool_at(p).unwrap()).unwrap().buf.phys;
    t.bad("MmzFree(pool buffer)", HI_MPI_SYS_MmzFree(base, null_mut()), HI_ERR_SYS_NOT_PERM);
    eq_code("MmapPool", HI_MPI_VB_MmapPool(p), HI_SUCCESS);
    let va = block_vir(p, base).unwrap();
    t.bad(
        "MmzFree(pool buffer, pool mapping)",
        HI_MPI_SYS_MmzFree(base, va),
        HI_ERR_SYS_NOT_PERM,
    );
    let m = hbSysMem {
        phyAddr: base,
        virAddr: va,
        memSize: 4096,
    };
    t.bad("hbSysFreeMem(pool buffer)", hb_free(&m), HB_SYS_INVALID_ARGUMENT);
    // The pool still works.
    let b = get_block(p, 4096, None);
    assert!(b != VB_INVALID_HANDLE);
    let bva = block_vir(p, HI_MPI_VB_Handle2PhysAddr(b)).unwrap();
    write_at(bva, &pattern(10, 4096));
    assert!(read_at(bva, 4096) == pattern(10, 4096));
    eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(b), HI_SUCCESS);
    eq_code("MunmapPool", HI_MPI_VB_MunmapPool(p), HI_SUCCESS);
    eq_code("DestroyPool", HI_MPI_VB_DestroyPool(p), HI_SUCCESS);
    t.no_pools();
    t.no_hb_blocks();
    t.done();
}

/// `HI_MPI_SYS_Munmap` of the address `HI_MPI_VB_GetBlockVirAddr` gave must
/// not unmap the pool behind VB's back (GetBlockVirAddr would then hand out
/// a dangling address).
#[test]
fn munmap_rejects_vb_pool_mapping() {
    let _w = shared();
    let t = T::new("munmapvb");
    let _vb = t.lock_vb();
    let p = create_pool(&pool_cfg(4096, 1, 0, b""));
    assert!(p != VB_INVALID_POOLID);
    eq_code("MmapPool", HI_MPI_VB_MmapPool(p), HI_SUCCESS);
    let base = t.dev.pool_info(t.dev.pool_at(p).unwrap()).unwrap().buf.phys;
    let va = block_vir(p, base).unwrap();
    let r = HI_MPI_SYS_Munmap(va, 4096);
    let still = vir_info(va);
    let _ = HI_MPI_VB_MunmapPool(p);
    let _ = HI_MPI_VB_DestroyPool(p);
    eq_code("Munmap(pool mapping)", r, HI_ERR_SYS_ILLEGAL_PARAM);
    assert_eq!(still, Ok((base, false)), "pool mapping still there");
    t.no_pools();
    t.done();
}

// ================================================================ hbSys

#[test]
fn hb_alloc_bad_args() {
    let _w = shared();
    let t = T::new("hballoc");
    let _hb = t.lock_hb();
    type AllocFn = unsafe extern "C" fn(*mut hbSysMem, u32) -> i32;
    for (name, f) in [
        ("hbSysAllocMem", hbSysAllocMem as AllocFn),
        ("hbSysAllocCachedMem", hbSysAllocCachedMem as AllocFn),
    ] {
        // SAFETY: NULL is the case under test.
        t.bad(&format!("{name}(NULL)"), unsafe { f(null_mut(), 4096) }, HB_SYS_INVALID_ARGUMENT);
        // SAFETY: as above.
        t.bad(&format!("{name}(NULL, 0)"), unsafe { f(null_mut(), 0) }, HB_SYS_INVALID_ARGUMENT);
        for (what, size, want) in [
            ("size 0", 0, HB_SYS_INVALID_ARGUMENT),
            ("size u32::MAX", u32::MAX, HB_SYS_OUT_OF_MEMORY),
            ("size 2^31", 1 << 31, HB_SYS_OUT_OF_MEMORY),
            ("larger than the zone", ANON.1 as u32 + 1, HB_SYS_OUT_OF_MEMORY),
        ] {
            let mut m = hbSysMem {
                phyAddr: 0x1234,
                virAddr: 0x5678 as *mut c_void,
                memSize: 9,
            };
            // SAFETY: `m` is writable.
            t.bad(&format!("{name}({what})"), unsafe { f(&mut m, size) }, want);
            assert_eq!(
                (m.phyAddr, m.virAddr as usize, m.memSize),
                (0x1234, 0x5678, 9),
                "{name}({what}) wrote on failure"
            );
        }
    }
    t.no_hb_blocks();
    t.done();
}

#[test]
fn hb_free_bad_args() {
    let _w = shared();
    let t = T::new("hbfree");
    let _hb = t.lock_hb();
    let a = hb_alloc(8192, false);
    let b = hb_alloc(8192, true);
    let data = pattern(11, 8192);
    eq_code("hbSysWriteMem", hb_write(&a, &data, 8192), HB_SYS_SUCCESS);
    let heap = Malloced::new();
    let mut on_stack = [0u8; 16];
    // SAFETY: NULL is the case under test.
    t.bad("hbSysFreeMem(NULL)", unsafe { hbSysFreeMem(null_mut()) }, HB_SYS_INVALID_ARGUMENT);
    let at = |m: &hbSysMem, off: usize| (m.virAddr as usize + off) as *mut c_void;
    let cases: Vec<(&str, hbSysMem)> = vec![
        ("zeroed", hb_zero()),
        ("vir NULL", hbSysMem { virAddr: null_mut(), ..a }),
        ("phys of A, vir of B", hbSysMem { virAddr: b.virAddr, ..a }),
        ("phys of B, vir of A", hbSysMem { phyAddr: b.phyAddr, ..a }),
        (
            "second page of A",
            hbSysMem {
                phyAddr: a.phyAddr + 4096,
                virAddr: at(&a, 4096),
                memSize: 4096,
            },
        ),
        (
            "phys A+1",
            hbSysMem {
                phyAddr: a.phyAddr + 1,
                ..a
            },
        ),
        ("memSize past the end", hbSysMem { memSize: 8193, ..a }),
        ("memSize u32::MAX", hbSysMem { memSize: u32::MAX, ..a }),
        ("malloc'ed vir", hbSysMem { virAddr: heap.0, ..a }),
        (
            "stack vir",
            hbSysMem {
                virAddr: on_stack.as_mut_ptr() as *mut c_void,
                ..a
            },
        ),
        (
            "unknown phys and vir",
            hbSysMem {
                phyAddr: 0x5000_0000,
                virAddr: 0x1000 as *mut c_void,
                memSize: 4096,
            },
        ),
    ];
    for (what, m) in &cases {
        t.bad(&format!("hbSysFreeMem({what})"), hb_free(m), HB_SYS_INVALID_ARGUMENT);
    }
    // Registered memory is released with hbSysUnregisterMem, not freed.
    let mmz = t.alloc(None, 4096, false);
    let mut reg = hbSysMem {
        phyAddr: mmz.phys,
        virAddr: null_mut(),
        memSize: 4096,
    };
    eq_code("hbSysRegisterMem", hb_register(&mut reg), HB_SYS_SUCCESS);
    t.bad("hbSysFreeMem(registered)", hb_free(&reg), HB_SYS_INVALID_ARGUMENT);
    eq_code("hbSysUnregisterMem", hb_unregister(&reg), HB_SYS_SUCCESS);
    // An MMZ block, fully described, is still not hbSys's to free.
    let foreign = hbSysMem {
        phyAddr: mmz.phys,
        virAddr: mmz.vir,
        memSize: 4096,
    };
    t.bad("hbSysFreeMem(an MMZ block)", hb_free(&foreign), HB_SYS_INVALID_ARGUMENT);
    t.free(&mmz);
    // A is untouched.
    let mut back = vec![0u8; 8192];
    eq_code("hbSysReadMem", hb_read(&a, &mut back, 8192), HB_SYS_SUCCESS);
    assert!(back == data, "A's bytes changed");
    eq_code("hbSysFreeMem(A)", hb_free(&a), HB_SYS_SUCCESS);
    eq_code("hbSysFreeMem(B)", hb_free(&b), HB_SYS_SUCCESS);
    t.no_hb_blocks();
    t.done();
}

#[test]
fn hb_double_free_and_stale() {
    let _w = exclusive();
    let t = T::new("hbdfree");
    let _hb = t.lock_hb();
    for cached in [false, true] {
        let a = hb_alloc(4096, cached);
        eq_code("hbSysFreeMem", hb_free(&a), HB_SYS_SUCCESS);
        // Nothing else runs now, so nothing has been placed at A since.
        t.bad("hbSysFreeMem twice", hb_free(&a), HB_SYS_INVALID_ARGUMENT);
        t.bad(
            "hbSysFlushMem(freed)",
            hb_flush(&a, HB_SYS_MEM_CACHE_CLEAN as i32),
            HB_SYS_INVALID_ARGUMENT,
        );
        t.bad("hbSysWriteMem(freed)", hb_write(&a, &[1; 16], 16), HB_SYS_INVALID_ARGUMENT);
        let mut buf = [0u8; 16];
        t.bad("hbSysReadMem(freed)", hb_read(&a, &mut buf, 16), HB_SYS_INVALID_ARGUMENT);
        assert_eq!(buf, [0; 16]);
        t.bad(
            "hbSysUnregisterMem(freed, never registered)",
            hb_unregister(&a),
            HB_SYS_INVALID_ARGUMENT,
        );
    }
    t.no_hb_blocks();
    t.done();
}

#[test]
fn hb_flush_bad_args() {
    let _w = shared();
    let t = T::new("hbflush");
    let _hb = t.lock_hb();
    let a = hb_alloc(8192, true);
    let u = hb_alloc(8192, false);
    let heap = Malloced::new();
    // SAFETY: NULL is the case under test.
    t.bad(
        "hbSysFlushMem(NULL)",
        unsafe { hbSysFlushMem(null_mut(), HB_SYS_MEM_CACHE_CLEAN as i32) },
        HB_SYS_INVALID_ARGUMENT,
    );
    for flag in [0, 4, -1, 5, 8, 0x100, i32::MIN, i32::MAX] {
        t.bad(&format!("hbSysFlushMem(flag {flag})"), hb_flush(&a, flag), HB_SYS_INVALID_ARGUMENT);
        t.bad(
            &format!("hbSysFlushMem(uncached, flag {flag})"),
            hb_flush(&u, flag),
            HB_SYS_INVALID_ARGUMENT,
        );
    }
    for flag in [1, 2, 3] {
        t.bad(&format!("hbSysFlushMem(flag {flag})"), hb_flush(&a, flag), HB_SYS_SUCCESS);
        // Flushing uncached memory is a successful no-op (vendor sample).
        t.bad(&format!("hbSysFlushMem(uncached, flag {flag})"), hb_flush(&u, flag), HB_SYS_SUCCESS);
    }
    let second = hbSysMem {
        phyAddr: a.phyAddr + 4096,
        virAddr: (a.virAddr as usize + 4096) as *mut c_void,
        memSize: 4096,
    };
    t.bad("hbSysFlushMem(second page)", hb_flush(&second, 2), HB_SYS_SUCCESS);
    let cases: Vec<(&str, hbSysMem)> = vec![
        ("zeroed", hb_zero()),
        ("vir NULL", hbSysMem { virAddr: null_mut(), ..a }),
        ("memSize past the end", hbSysMem { memSize: 8193, ..a }),
        ("from page 2, past the end", hbSysMem { memSize: 4097, ..second }),
        ("memSize u32::MAX", hbSysMem { memSize: u32::MAX, ..a }),
        ("phys of A, vir of U", hbSysMem { virAddr: u.virAddr, ..a }),
        (
            "phys A+64, vir A",
            hbSysMem {
                phyAddr: a.phyAddr + 64,
                ..a
            },
        ),
        ("malloc'ed vir", hbSysMem { virAddr: heap.0, ..a }),
    ];
    for (what, m) in &cases {
        t.bad(&format!("hbSysFlushMem({what})"), hb_flush(m, 2), HB_SYS_INVALID_ARGUMENT);
    }
    eq_code("hbSysFreeMem", hb_free(&a), HB_SYS_SUCCESS);
    eq_code("hbSysFreeMem", hb_free(&u), HB_SYS_SUCCESS);
    t.no_hb_blocks();
    t.done();
}

#[test]
fn hb_read_write_bad_args() {
    let _w = shared();
    let t = T::new("hbrw");
    let _hb = t.lock_hb();
    let a = hb_alloc(8192, false);
    let b = hb_alloc(8192, true);
    let data = pattern(12, 8192);
    eq_code("hbSysWriteMem", hb_write(&a, &data, 8192), HB_SYS_SUCCESS);
    let heap = Malloced::new();
    write_at(heap.0, &[0u8; 4096]);
    // Source and destination as large as the largest size passed.
    let big = u32::MAX as usize + 1;
    let junk = Reserve::new(big, 0xEE, 8200);
    let mut out = Reserve::new(big, 0x11, 8200);
    // SAFETY: NULL dest is the case under test; `junk` is readable.
    t.bad(
        "hbSysWriteMem(dest NULL)",
        unsafe { hbSysWriteMem(null_mut(), junk.p as *mut c_char, 16) },
        HB_SYS_INVALID_ARGUMENT,
    );
    let mut am = a;
    // SAFETY: NULL src is the case under test.
    t.bad(
        "hbSysWriteMem(src NULL)",
        unsafe { hbSysWriteMem(&mut am, null_mut(), 16) },
        HB_SYS_INVALID_ARGUMENT,
    );
    // SAFETY: NULL src is the case under test; `out` is writable.
    t.bad(
        "hbSysReadMem(src NULL)",
        unsafe { hbSysReadMem(out.p as *mut c_char, null_mut(), 16) },
        HB_SYS_INVALID_ARGUMENT,
    );
    // SAFETY: NULL dest is the case under test.
    t.bad(
        "hbSysReadMem(dest NULL)",
        unsafe { hbSysReadMem(null_mut(), &mut am, 16) },
        HB_SYS_INVALID_ARGUMENT,
    );
    let cases: Vec<(&str, hbSysMem, u32)> = vec![
        ("size past memSize", a, 8193),
        ("size u32::MAX", a, u32::MAX),
        ("memSize past the block", hbSysMem { memSize: 8200, ..a }, 8200),
        ("memSize lies, size small", hbSysMem { memSize: u32::MAX, ..a }, 16),
        ("zeroed", hb_zero(), 0),
        ("vir NULL", hbSysMem { virAddr: null_mut(), ..a }, 16),
        ("phys of A, vir of B", hbSysMem { virAddr: b.virAddr, ..a }, 16),
        (
            "phys A+4096, vir A",
            hbSysMem {
                phyAddr: a.phyAddr + 4096,
                ..a
            },
            16,
        ),
        ("malloc'ed vir", hbSysMem { virAddr: heap.0, ..a }, 16),
    ];
    for (what, m, size) in &cases {
        t.bad(
            &format!("hbSysWriteMem({what})"),
            hb_write(m, junk.bytes(), *size),
            HB_SYS_INVALID_ARGUMENT,
        );
        t.bad(
            &format!("hbSysReadMem({what})"),
            hb_read(m, out.bytes_mut(), *size),
            HB_SYS_INVALID_ARGUMENT,
        );
        assert!(out.bytes()[..8200].iter().all(|&c| c == 0x11), "hbSysReadMem({what}) wrote to dest");
    }
    // Nothing reached A, and the heap buffer was not written either.
    let mut back = vec![0u8; 8192];
    eq_code("hbSysReadMem", hb_read(&a, &mut back, 8192), HB_SYS_SUCCESS);
    assert!(back == data, "A's bytes changed");
    assert!(
        read_at(heap.0, 4096).iter().all(|&c| c == 0),
        "a write went to the malloc'ed buffer"
    );
    eq_code("hbSysFreeMem", hb_free(&a), HB_SYS_SUCCESS);
    eq_code("hbSysFreeMem", hb_free(&b), HB_SYS_SUCCESS);
    t.no_hb_blocks();
    t.done();
}

#[test]
fn hb_register_bad_args() {
    let _w = shared();
    let t = T::new("hbreg");
    let _hb = t.lock_hb();
    let a = t.alloc(None, 8192, false);
    let b = t.alloc(None, 8192, false);
    a.fill(13);
    let heap = Malloced::new();
    let mut on_stack = [0u8; 16];
    // SAFETY: NULL is the case under test.
    t.bad(
        "hbSysRegisterMem(NULL)",
        unsafe { hbSysRegisterMem(null_mut()) },
        HB_SYS_INVALID_ARGUMENT,
    );
    // SAFETY: as above.
    t.bad(
        "hbSysUnregisterMem(NULL)",
        unsafe { hbSysUnregisterMem(null_mut()) },
        HB_SYS_INVALID_ARGUMENT,
    );
    let m = |phys: u64, vir: *mut c_void, size: u32| hbSysMem {
        phyAddr: phys,
        virAddr: vir,
        memSize: size,
    };
    let mut cases: Vec<(String, hbSysMem, i32)> = vec![
        ("memSize 0".into(), m(a.phys, null_mut(), 0), HB_SYS_INVALID_ARGUMENT),
        ("past the end".into(), m(a.phys, null_mut(), 8193), HB_SYS_REGISTER_MEM_FAILED),
        (
            "from page 2 past the end".into(),
            m(a.phys + 4096, null_mut(), 4097),
            HB_SYS_REGISTER_MEM_FAILED,
        ),
        (
            "memSize u32::MAX".into(),
            m(a.phys, null_mut(), u32::MAX),
            HB_SYS_REGISTER_MEM_FAILED,
        ),
        ("vir of another block".into(), m(a.phys, b.vir, 4096), HB_SYS_REGISTER_MEM_FAILED),
        ("vir A+64".into(), m(a.phys, a.at(64), 4096), HB_SYS_REGISTER_MEM_FAILED),
        ("malloc'ed vir".into(), m(a.phys, heap.0, 64), HB_SYS_REGISTER_MEM_FAILED),
        (
            "stack vir".into(),
            m(a.phys, on_stack.as_mut_ptr() as *mut c_void, 16),
            HB_SYS_REGISTER_MEM_FAILED,
        ),
    ];
    for phys in OUTSIDE {
        cases.push((format!("phys {phys:#x}"), m(phys, null_mut(), 4096), HB_SYS_REGISTER_MEM_FAILED));
    }
    for (what, mut r, want) in cases {
        let vir_before = r.virAddr;
        t.bad(&format!("hbSysRegisterMem({what})"), hb_register(&mut r), want);
        assert_eq!(r.virAddr, vir_before, "hbSysRegisterMem({what}) filled virAddr on failure");
        t.bad(
            &format!("hbSysUnregisterMem({what}), not registered"),
            hb_unregister(&r),
            HB_SYS_INVALID_ARGUMENT,
        );
    }
    // A good registration (of MMZ memory, from the middle), then misuse.
    let mut r = m(a.phys + 4096, null_mut(), 4096);
    eq_code("hbSysRegisterMem", hb_register(&mut r), HB_SYS_SUCCESS);
    assert!(!r.virAddr.is_null());
    assert!(
        read_at(r.virAddr, 4096) == pattern(13, 8192)[4096..].to_vec(),
        "registered view shows the MMZ bytes"
    );
    let mut again = m(a.phys + 4096, null_mut(), 4096);
    t.bad("hbSysRegisterMem twice", hb_register(&mut again), HB_SYS_REGISTER_MEM_FAILED);
    assert!(again.virAddr.is_null());
    t.bad("hbSysFlushMem(registered)", hb_flush(&r, 3), HB_SYS_SUCCESS);
    eq_code("hbSysUnregisterMem", hb_unregister(&r), HB_SYS_SUCCESS);
    t.bad("hbSysUnregisterMem twice", hb_unregister(&r), HB_SYS_INVALID_ARGUMENT);
    // With the caller's own (correct) mapping.
    let mut own = m(a.phys, a.vir, 8192);
    eq_code("hbSysRegisterMem(own vir)", hb_register(&mut own), HB_SYS_SUCCESS);
    assert_eq!(own.virAddr, a.vir);
    eq_code("hbSysUnregisterMem(own vir)", hb_unregister(&own), HB_SYS_SUCCESS);
    // Unregistering did not unmap the caller's mapping.
    a.verify(13, "A after register/unregister");
    t.free(&a);
    t.free(&b);
    t.no_hb_blocks();
    t.done();
}

// ================================================================ threads

/// 8 threads x 500 iterations of MMZ alloc/fill/lookup/free and private
/// pool get/fill/release, all at once: every call succeeds, no thread sees
/// another's bytes, and the engine is consistent afterwards.
#[test]
fn threads_hammer() {
    const THREADS: u32 = 8;
    const ITERS: u32 = 500;
    const BLK: u64 = 8192;
    let _w = shared();
    let t = T::new("mt");
    let _vb = t.lock_vb();
    // One block per thread at most, so GetBlock never runs dry.
    let pool = create_pool(&pool_cfg(BLK, THREADS, VB_REMAP_MODE_NONE, b""));
    assert!(pool != VB_INVALID_POOLID);
    eq_code("MmapPool", HI_MPI_VB_MmapPool(pool), HI_SUCCESS);
    std::thread::scope(|s| {
        for th in 0..THREADS {
            s.spawn(move || {
                let name = cs(&format!("mt.{th}"));
                for i in 0..ITERS {
                    let len = 4096 * (1 + (i + th) % 3) + (i % 7) * 13;
                    let (mut phys, mut vir) = (0u64, null_mut());
                    let r = mmz_alloc_raw(Some(&mut phys), Some(&mut vir), Some(&name), None, len, i % 2 == 1);
                    eq_code("MmzAlloc", r, HI_SUCCESS);
                    let blk = get_block(pool, BLK, None);
                    assert!(blk != VB_INVALID_HANDLE, "thread {th} iter {i}: GetBlock");
                    let bphys = HI_MPI_VB_Handle2PhysAddr(blk);
                    assert!(bphys != 0);
                    let bva = block_vir(pool, bphys).expect("GetBlockVirAddr");
                    let stamp = (th << 24) | (i << 4);
                    let n = len as usize / 4;
                    let bn = BLK as usize / 4;
                    // SAFETY: `vir` maps `len` bytes, `bva` maps BLK bytes;
                    // both are exclusively this thread's until freed.
                    let (mw, bw) = unsafe {
                        (
                            std::slice::from_raw_parts_mut(vir as *mut u32, n),
                            std::slice::from_raw_parts_mut(bva as *mut u32, bn),
                        )
                    };
                    for (k, w) in mw.iter_mut().enumerate() {
                        *w = stamp ^ k as u32;
                    }
                    for (k, w) in bw.iter_mut().enumerate() {
                        *w = !stamp ^ k as u32;
                    }
                    let off = (i as usize * 4) % len as usize;
                    assert_eq!(vir_info((vir as usize + off) as *const c_void), Ok((phys + off as u64, i % 2 == 1)));
                    assert_eq!((HI_MPI_VB_InquireUserCnt(blk), HI_MPI_VB_Handle2PoolId(blk)), (1, pool));
                    assert_eq!(HI_MPI_VB_PhysAddr2Handle(bphys), blk);
                    std::thread::yield_now();
                    assert!(
                        mw.iter().enumerate().all(|(k, &w)| w == stamp ^ k as u32),
                        "thread {th} iter {i}: MMZ bytes clobbered"
                    );
                    assert!(
                        bw.iter().enumerate().all(|(k, &w)| w == !stamp ^ k as u32),
                        "thread {th} iter {i}: VB bytes clobbered"
                    );
                    eq_code("ReleaseBlock", HI_MPI_VB_ReleaseBlock(blk), HI_SUCCESS);
                    eq_code("MmzFree", HI_MPI_SYS_MmzFree(phys, vir), HI_SUCCESS);
                }
            });
        }
    });
    if let Err(e) = t.dev.check() {
        panic!("engine check failed after the threads: {e}");
    }
    let info = t.dev.pool_info(t.dev.pool_at(pool).unwrap()).unwrap();
    assert_eq!(info.free_cnt, THREADS, "every block back in the pool");
    eq_code("MunmapPool", HI_MPI_VB_MunmapPool(pool), HI_SUCCESS);
    eq_code("DestroyPool", HI_MPI_VB_DestroyPool(pool), HI_SUCCESS);
    t.no_pools();
    t.done();
}

/// MmzFree frees only MMZ blocks (an hbSys block starting at the same
/// address is `HI_ERR_SYS_NOT_PERM` and stays usable), and a registration
/// whose MMZ block its owner freed does not block the next user of that
/// memory.
#[test]
fn mmz_and_hbsys_keep_to_their_own_blocks() {
    // Alone: the hole must be refilled by this test's own allocation.
    let _w = exclusive();
    let t = T::new("hbmmz");
    let _hb = t.lock_hb();
    let h = hb_alloc(4096, false);
    t.bad(
        "MmzFree(an hbSys block)",
        HI_MPI_SYS_MmzFree(h.phyAddr, null_mut()),
        HI_ERR_SYS_NOT_PERM,
    );
    t.bad(
        "MmzFree(an hbSys block, its vir)",
        HI_MPI_SYS_MmzFree(h.phyAddr, h.virAddr),
        HI_ERR_SYS_NOT_PERM,
    );
    eq_code("hbSysFreeMem after", hb_free(&h), HB_SYS_SUCCESS);

    let a = t.alloc(None, 1 << 20, false);
    let mut reg = hbSysMem {
        phyAddr: a.phys,
        virAddr: null_mut(),
        memSize: 1 << 20,
    };
    eq_code("hbSysRegisterMem", hb_register(&mut reg), HB_SYS_SUCCESS);
    // The owner frees it without unregistering; the hole is taken again.
    t.free(&a);
    let b = t.alloc(None, 1 << 20, false);
    assert_eq!(b.phys, a.phys, "the same memory again (best fit from the bottom)");
    let mut again = hbSysMem {
        phyAddr: b.phys,
        virAddr: null_mut(),
        memSize: 1 << 20,
    };
    eq_code("hbSysRegisterMem of the new block", hb_register(&mut again), HB_SYS_SUCCESS);
    eq_code("hbSysUnregisterMem", hb_unregister(&again), HB_SYS_SUCCESS);
    t.bad("the stale registration is gone", hb_unregister(&reg), HB_SYS_INVALID_ARGUMENT);
    t.free(&b);
    t.no_hb_blocks();
    t.done();
}
