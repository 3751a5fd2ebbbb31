//! The device table in shared memory: layout, creation, and the robust
//! process-shared lock that guards it.
//!
//! The state file `<shm_dir>/accelmem.<device>.state` holds one page with
//! the lock, then the [`Meta`] block and fixed-capacity tables. Everything is
//! `repr(C)` and linked by index, so every process can map it anywhere. It is
//! created under `flock` so that two processes starting at once agree on one
//! initialisation, and a creator that dies half-way leaves a file that the
//! next opener initialises again (the magic is written last).

use super::config::{Config, MAX_ZONES};
use super::tlsf::{Desc, DescPool, Tlsf, NIL};
use crate::error::{Error, Result};
use std::cell::UnsafeCell;
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) const MAGIC: u64 = u64::from_le_bytes(*b"ACCMEM01");
pub(crate) const LAYOUT_VERSION: u64 = 3;
const LOCK_PAGE: usize = 4096;

/// Record states shared by the tables.
pub(crate) const R_FREE: u32 = 0;
/// Being created: not yet visible; dropped by repair.
pub(crate) const R_INIT: u32 = 1;
pub(crate) const R_LIVE: u32 = 2;

/// First page: magic and the lock, kept apart from [`Meta`] so that no
/// Rust reference to the table ever covers the mutex other threads touch.
#[repr(C)]
pub(crate) struct LockPage {
    pub magic: AtomicU64,
    pub version: AtomicU64,
    pub total: AtomicU64,
    pub lock: UnsafeCell<libc::pthread_mutex_t>,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ZoneRec {
    pub name: [u8; 32],
    pub gfp: u64,
    pub base: u64,
    pub size: u64,
    /// Index of this zone's first page in the page map.
    pub pagemap_off: u64,
    pub tlsf: Tlsf,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct BufRec {
    pub state: u32,
    pub zone: u32,
    pub desc: u32,
    pub attrs: u32,
    pub gen: u64,
    pub phys: u64,
    /// Allocated length (grain-rounded).
    pub size: u64,
    /// Length the caller asked for.
    pub req: u64,
    pub owner_pid: i32,
    pub refs: u32,
    pub owner_start: u64,
    /// Pool this buffer backs, or NIL.
    pub pool: u32,
    pub next_free: u32,
    pub name: [u8; 32],
    /// Live imports by other holders (hbmem's share client count).
    pub imports: u32,
    /// Consume count (hbmem).
    pub consume: i32,
    /// The owner freed it; it lives on for its importers.
    pub orphan: u32,
    /// First import record of this buffer, or NIL.
    pub ref_head: u32,
}

/// One holder's imports of one buffer, chained from the buffer.
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct RefRec {
    /// Next record of the same buffer (or of the free list), or NIL.
    pub next: u32,
    pub count: u32,
    pub pid: i32,
    /// What is held: 0 the whole buffer, `k + 1` block `k` of its pool.
    pub block: u32,
    pub start: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct ProcRec {
    pub pid: i32,
    pub state: u32,
    pub start: u64,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PoolRec {
    pub state: u32,
    pub gen: u32,
    /// Front-defined tag (e.g. common vs private pool).
    pub tag: u32,
    pub attrs: u32,
    pub owner_pid: i32,
    pub blk_cnt: u32,
    pub owner_start: u64,
    pub blk_size: u64,
    pub stride: u64,
    pub free_cnt: u32,
    pub free_head: u32,
    /// Descriptor of this pool's range in the slot space.
    pub slot_desc: u32,
    pub slot_first: u32,
    pub buf: u32,
    pub _pad: u32,
    pub buf_gen: u64,
    pub name: [u8; 32],
}

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct SlotRec {
    /// The allocator's holds (reaped when it dies).
    pub users: u32,
    pub next_free: u32,
    pub owner_pid: i32,
    /// Imports of this block (counted on the buffer's import records).
    pub imports: u32,
    pub owner_start: u64,
    pub consume: i32,
    pub _pad: u32,
}

/// Counters and table heads, after the lock page.
#[repr(C)]
pub(crate) struct Meta {
    pub gen: u64,
    pub nzones: u32,
    pub max_bufs: u32,
    pub max_descs: u32,
    pub max_procs: u32,
    pub max_pools: u32,
    pub max_slots: u32,
    pub buf_free: u32,
    pub buf_high: u32,
    pub ref_free: u32,
    pub ref_high: u32,
    pub pages_total: u64,
    pub off_descs: u64,
    pub off_bufs: u64,
    pub off_pagemap: u64,
    pub off_procs: u64,
    pub off_pools: u64,
    pub off_slots: u64,
    pub off_refs: u64,
    pub off_words: u64,
    pub desc_pool: DescPool,
    pub slot_tlsf: Tlsf,
    pub slot_first: u32,
    pub _pad: u32,
    pub repairs: u64,
    pub reaped: u64,
    pub zones: [ZoneRec; MAX_ZONES],
}

/// A mutable view of the whole table; exists only while the lock is held.
pub(crate) struct View<'a> {
    pub meta: &'a mut Meta,
    pub descs: &'a mut [Desc],
    pub bufs: &'a mut [BufRec],
    pub pagemap: &'a mut [u32],
    pub procs: &'a mut [ProcRec],
    pub pools: &'a mut [PoolRec],
    pub slots: &'a mut [SlotRec],
    pub refs: &'a mut [RefRec],
}

fn align_up(v: usize, a: usize) -> usize {
    v.div_ceil(a) * a
}

struct Layout {
    off_descs: usize,
    off_bufs: usize,
    off_pagemap: usize,
    off_procs: usize,
    off_pools: usize,
    off_slots: usize,
    off_refs: usize,
    off_words: usize,
    total: usize,
}

fn layout(max_bufs: usize, max_descs: usize, pages: usize, max_procs: usize, max_pools: usize, max_slots: usize) -> Option<Layout> {
    let mut off = align_up(LOCK_PAGE + size_of::<Meta>(), 64);
    let mut take = |n: usize, sz: usize| -> Option<usize> {
        let o = off;
        off = align_up(off.checked_add(n.checked_mul(sz)?)?, 64);
        Some(o)
    };
    let off_descs = take(max_descs, size_of::<Desc>())?;
    let off_bufs = take(max_bufs, size_of::<BufRec>())?;
    let off_pagemap = take(pages, 4)?;
    let off_procs = take(max_procs, size_of::<ProcRec>())?;
    let off_pools = take(max_pools, size_of::<PoolRec>())?;
    let off_slots = take(max_slots, size_of::<SlotRec>())?;
    // One import record per buffer is the common case; more holders share.
    let off_refs = take(max_bufs, size_of::<RefRec>())?;
    // Futex words, one per buffer: touched atomically outside the lock, so
    // they are never part of a `View`.
    let off_words = take(max_bufs, 4)?;
    Some(Layout {
        off_descs,
        off_bufs,
        off_pagemap,
        off_procs,
        off_pools,
        off_slots,
        off_refs,
        off_words,
        total: align_up(off, 4096),
    })
}

/// Copy a name into a fixed NUL-terminated field, truncating as the MMZ
/// driver does.
pub(crate) fn put_name(dst: &mut [u8; 32], s: &str) {
    *dst = [0; 32];
    let b = s.as_bytes();
    let n = b.len().min(31);
    dst[..n].copy_from_slice(&b[..n]);
}

pub(crate) fn get_name(src: &[u8; 32]) -> String {
    let n = src.iter().position(|&c| c == 0).unwrap_or(32);
    String::from_utf8_lossy(&src[..n]).into_owned()
}

/// The mapped state file.
pub(crate) struct Shared {
    base: *mut u8,
    len: usize,
}

// SAFETY: the mapping is process-wide; all access to the tables goes through
// `lock()`, which serialises threads and processes.
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: base/len came from a successful mmap and no view outlives
        // `self` (views borrow the guard, which borrows `self`).
        unsafe { libc::munmap(self.base.cast(), self.len) };
    }
}

/// Whether a process other than this one maps the file `st` describes
/// (by device and inode in `/proc/<pid>/maps`). Processes whose maps we may
/// not read cannot open the owner-only file either, and are skipped.
fn mapped_elsewhere(st: &libc::stat) -> bool {
    file_mapped_elsewhere(st.st_dev, st.st_ino)
}

/// [`mapped_elsewhere`] by device number and inode.
pub(crate) fn file_mapped_elsewhere(st_dev: u64, st_ino: u64) -> bool {
    let me = std::process::id();
    let dev = format!("{:02x}:{:02x}", libc::major(st_dev), libc::minor(st_dev));
    let ino = st_ino.to_string();
    let Ok(rd) = std::fs::read_dir("/proc") else { return true };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .any(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/maps")).is_ok_and(|m| {
                m.lines().any(|l| {
                    let mut f = l.split_whitespace().skip(3);
                    f.next() == Some(dev.as_str()) && f.next() == Some(ino.as_str())
                })
            })
        })
}

fn cpath(p: &std::path::Path) -> Result<CString> {
    CString::new(p.as_os_str().as_encoded_bytes()).map_err(|_| Error::InvalidArgument)
}

impl Shared {
    /// Open the device's state file, creating it if `create`.
    pub fn open(cfg: &Config, create: bool) -> Result<Shared> {
        cfg.validate()?;
        let path = cfg.shm_dir.join(format!("accelmem.{}.state", cfg.device));
        let c = cpath(&path)?;
        let flags = libc::O_RDWR | libc::O_CLOEXEC | if create { libc::O_CREAT } else { 0 };
        // SAFETY: c is a valid NUL-terminated path.
        let fd = unsafe { libc::open(c.as_ptr(), flags, 0o600) };
        if fd < 0 {
            let e = Error::last_os();
            return Err(if !create && e == Error::Os(libc::ENOENT) {
                Error::NotFound
            } else {
                e
            });
        }
        // SAFETY: fd was just opened and is owned here.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: flock on a valid fd; released when fd closes, even if this
        // process dies during initialisation.
        if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::last_os());
        }
        let res = Self::open_locked(cfg, &fd, path, create);
        // SAFETY: valid fd.
        unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_UN) };
        res
    }

    fn open_locked(cfg: &Config, fd: &OwnedFd, path: std::path::PathBuf, create: bool) -> Result<Shared> {
        // SAFETY: an all-zero stat is a valid value to be overwritten.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: fd is valid; st is writable.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
            return Err(Error::last_os());
        }
        if st.st_size as usize >= LOCK_PAGE {
            match Self::map_existing(fd, st.st_size as usize, &path) {
                Ok(Some(s)) => return Ok(s),
                Ok(None) => {}
                // Made by another accelmem (another table layout): replace
                // it if no other process maps it, else say what to do.
                Err(Error::Corrupt) if create && !mapped_elsewhere(&st) => {
                    use crate::backend::Backend;
                    crate::backend::emulated::Emulated::new(cfg.shm_dir.clone()).sweep(&cfg.device, &|_| false);
                }
                Err(Error::Corrupt) => {
                    eprintln!(
                        "accelmem: {} was made by another accelmem version and is in use; \
                         once its processes stop, the next open replaces it",
                        path.display()
                    );
                    return Err(Error::Corrupt);
                }
                Err(e) => return Err(e),
            }
        }
        if !create {
            return Err(Error::NotFound);
        }
        Self::create(cfg, fd, path)
    }

    fn map_existing(fd: &OwnedFd, size: usize, path: &std::path::Path) -> Result<Option<Shared>> {
        let s = Self::mmap(fd, size, path.to_path_buf())?;
        let lp = s.lock_page();
        if lp.magic.load(Ordering::Acquire) != MAGIC {
            return Ok(None); // half-initialised by a creator that died
        }
        if lp.version.load(Ordering::Relaxed) != LAYOUT_VERSION || lp.total.load(Ordering::Relaxed) as usize != size {
            return Err(Error::Corrupt);
        }
        Ok(Some(s))
    }

    fn mmap(fd: &OwnedFd, len: usize, path: std::path::PathBuf) -> Result<Shared> {
        // SAFETY: mapping a file we own with a length it has; the result is
        // checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(Error::last_os());
        }
        let _ = path;
        Ok(Shared { base: p.cast(), len })
    }

    fn create(cfg: &Config, fd: &OwnedFd, path: std::path::PathBuf) -> Result<Shared> {
        let pages: u64 = cfg.zones.iter().map(|z| z.size / super::config::GRAIN).sum();
        let max_bufs = cfg.max_buffers as usize;
        let max_slots = cfg.max_pool_blocks as usize;
        let max_pools = cfg.max_pools as usize;
        // Each used block can split one free block, plus the slot space.
        let max_descs = 2 * max_bufs + 2 * max_pools + MAX_ZONES + 4;
        let max_procs = 1024;
        let l = layout(max_bufs, max_descs, pages as usize, max_procs, max_pools, max_slots).ok_or(Error::InvalidArgument)?;
        // Truncate to 0 first so that a stale half-written file reads as zeros.
        // SAFETY: valid fd.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), 0) } != 0
            // SAFETY: valid fd.
            || unsafe { libc::ftruncate(fd.as_raw_fd(), l.total as libc::off_t) } != 0
        {
            return Err(Error::last_os());
        }
        let s = Self::mmap(fd, l.total, path)?;
        // SAFETY: the fresh mapping is zeroed, exclusively ours (flock held),
        // and large enough for the lock page.
        unsafe {
            let lp = s.base as *mut LockPage;
            let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
            libc::pthread_mutexattr_init(&mut attr);
            libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED);
            libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST);
            let rc = libc::pthread_mutex_init((*lp).lock.get(), &attr);
            libc::pthread_mutexattr_destroy(&mut attr);
            if rc != 0 {
                return Err(Error::Os(rc));
            }
        }
        {
            // SAFETY: no other process can see the table before the magic is
            // published, and this is the only view.
            let v = unsafe { s.view_unlocked(&l, max_bufs, max_descs, pages as usize, max_procs, max_pools, max_slots) };
            v.meta.nzones = cfg.zones.len() as u32;
            v.meta.max_bufs = max_bufs as u32;
            v.meta.max_descs = max_descs as u32;
            v.meta.max_procs = max_procs as u32;
            v.meta.max_pools = max_pools as u32;
            v.meta.max_slots = max_slots as u32;
            v.meta.pages_total = pages;
            v.meta.off_descs = l.off_descs as u64;
            v.meta.off_bufs = l.off_bufs as u64;
            v.meta.off_pagemap = l.off_pagemap as u64;
            v.meta.off_procs = l.off_procs as u64;
            v.meta.off_pools = l.off_pools as u64;
            v.meta.off_slots = l.off_slots as u64;
            v.meta.off_refs = l.off_refs as u64;
            v.meta.off_words = l.off_words as u64;
            v.meta.buf_free = NIL;
            v.meta.ref_free = NIL;
            v.meta.desc_pool = DescPool { free_head: NIL, high: 0 };
            let mut ar = super::tlsf::Arena {
                descs: v.descs,
                pool: &mut v.meta.desc_pool,
            };
            let mut pm = 0;
            for (i, z) in cfg.zones.iter().enumerate() {
                let zr = &mut v.meta.zones[i];
                put_name(&mut zr.name, &z.name);
                zr.gfp = z.gfp;
                zr.base = z.base;
                zr.size = z.size;
                zr.pagemap_off = pm;
                pm += z.size / super::config::GRAIN;
                zr.tlsf.init(&mut ar, z.size / super::config::GRAIN)?;
            }
            v.meta.slot_first = ar.pool.high;
            v.meta.slot_tlsf.init(&mut ar, max_slots as u64)?;
        }
        let lp = s.lock_page();
        lp.version.store(LAYOUT_VERSION, Ordering::Relaxed);
        lp.total.store(l.total as u64, Ordering::Relaxed);
        lp.magic.store(MAGIC, Ordering::Release);
        Ok(s)
    }

    pub fn lock_page(&self) -> &LockPage {
        // SAFETY: the mapping is at least one page and LockPage only holds
        // atomics and an UnsafeCell, so shared references are sound.
        unsafe { &*(self.base as *const LockPage) }
    }

    /// Build a view from explicit sizes.
    ///
    /// # Safety
    /// The caller must hold the lock (or be the creator before publication)
    /// and must not create a second view while this one lives.
    #[allow(clippy::too_many_arguments, clippy::mut_from_ref)]
    unsafe fn view_unlocked(
        &self,
        l: &Layout,
        bufs: usize,
        descs: usize,
        pages: usize,
        procs: usize,
        pools: usize,
        slots: usize,
    ) -> View<'_> {
        let b = self.base;
        // SAFETY: the layout was computed for this mapping's size; regions do
        // not overlap each other or the lock page; all are 64-aligned.
        unsafe {
            View {
                meta: &mut *(b.add(LOCK_PAGE) as *mut Meta),
                descs: std::slice::from_raw_parts_mut(b.add(l.off_descs) as *mut Desc, descs),
                bufs: std::slice::from_raw_parts_mut(b.add(l.off_bufs) as *mut BufRec, bufs),
                pagemap: std::slice::from_raw_parts_mut(b.add(l.off_pagemap) as *mut u32, pages),
                procs: std::slice::from_raw_parts_mut(b.add(l.off_procs) as *mut ProcRec, procs),
                pools: std::slice::from_raw_parts_mut(b.add(l.off_pools) as *mut PoolRec, pools),
                slots: std::slice::from_raw_parts_mut(b.add(l.off_slots) as *mut SlotRec, slots),
                refs: std::slice::from_raw_parts_mut(b.add(l.off_refs) as *mut RefRec, bufs),
            }
        }
    }

    /// The view of an initialised table.
    ///
    /// # Safety
    /// The caller must hold the lock and create no second view meanwhile.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn view(&self) -> Result<View<'_>> {
        // SAFETY: Meta lies right after the lock page, inside the mapping.
        let m = unsafe { &*(self.base.add(LOCK_PAGE) as *const Meta) };
        let l = Layout {
            off_descs: m.off_descs as usize,
            off_bufs: m.off_bufs as usize,
            off_pagemap: m.off_pagemap as usize,
            off_procs: m.off_procs as usize,
            off_pools: m.off_pools as usize,
            off_slots: m.off_slots as usize,
            off_refs: m.off_refs as usize,
            off_words: m.off_words as usize,
            total: self.len,
        };
        let want = layout(
            m.max_bufs as usize,
            m.max_descs as usize,
            m.pages_total as usize,
            m.max_procs as usize,
            m.max_pools as usize,
            m.max_slots as usize,
        )
        .ok_or(Error::Corrupt)?;
        if want.off_descs != l.off_descs
            || want.off_slots != l.off_slots
            || want.off_refs != l.off_refs
            || want.off_words != l.off_words
            || want.off_pagemap != l.off_pagemap
            || want.total > l.total
            || m.nzones as usize > MAX_ZONES
        {
            return Err(Error::Corrupt);
        }
        let (b, d, p, pr, po, s) = (
            m.max_bufs as usize,
            m.max_descs as usize,
            m.pages_total as usize,
            m.max_procs as usize,
            m.max_pools as usize,
            m.max_slots as usize,
        );
        // SAFETY: the layout was re-derived from the header and checked
        // against the mapping size; the caller holds the lock.
        Ok(unsafe { self.view_unlocked(&l, b, d, p, pr, po, s) })
    }

    /// Lock the table. Returns whether the previous holder died with it held
    /// (the caller must then repair before anything else).
    pub fn lock(&self) -> Result<bool> {
        let m = self.lock_page().lock.get();
        // SAFETY: the mutex was initialised as robust and process-shared by
        // the creator; `m` points into our live mapping.
        let rc = unsafe { libc::pthread_mutex_lock(m) };
        match rc {
            0 => Ok(false),
            libc::EOWNERDEAD => {
                // SAFETY: we own the mutex now; marking it consistent lets
                // later lockers in; the caller repairs before using data.
                unsafe { libc::pthread_mutex_consistent(m) };
                Ok(true)
            }
            e => Err(Error::Os(e)),
        }
    }

    /// The futex word of buffer `bi` (bumped whenever its imports or
    /// consume count change, so waiters can sleep on it).
    pub fn word(&self, bi: u32) -> Option<&std::sync::atomic::AtomicU32> {
        // SAFETY: Meta lies after the lock page; we only read two fields
        // that are written once at creation.
        let m = unsafe { &*(self.base.add(LOCK_PAGE) as *const Meta) };
        if bi >= m.max_bufs || m.off_words == 0 {
            return None;
        }
        // SAFETY: the words region holds max_bufs u32s inside the mapping,
        // 4-aligned; it is only ever accessed atomically.
        Some(unsafe { &*(self.base.add(m.off_words as usize + 4 * bi as usize) as *const std::sync::atomic::AtomicU32) })
    }

    pub fn unlock(&self) {
        // SAFETY: called only by the guard that locked it, on this thread.
        unsafe { libc::pthread_mutex_unlock(self.lock_page().lock.get()) };
    }
}
