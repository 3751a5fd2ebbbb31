//! A device: zones, buffers, pools and the process table in shared state,
//! plus this process's mappings.

use super::config::{BackendKind, Config, GRAIN};
use super::process::{self, ProcId};
use super::shared::{get_name, put_name, PoolRec, ProcRec, Shared, View, R_FREE, R_INIT, R_LIVE};
use super::tlsf::{Arena, NIL};
use crate::backend::emulated::Emulated;
use crate::backend::{Backend, BufKey, SyncFlags};
use crate::error::{Error, Result};
use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::sync::{Mutex, MutexGuard};

/// Buffer attributes.
pub mod attr {
    /// CPU mappings are cacheable; the owner must flush and invalidate.
    pub const CACHED: u32 = 1 << 0;
    /// Allocated as backing store of a pool.
    pub const POOL: u32 = 1 << 1;
    /// Memory registered from outside rather than allocated.
    pub const FOREIGN: u32 = 1 << 2;
}

/// A buffer handle: table index plus generation, so stale handles fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufId {
    pub index: u32,
    pub gen: u64,
}

/// A snapshot of a buffer's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BufInfo {
    pub id: BufId,
    /// Device (physical) address.
    pub phys: u64,
    /// Allocated length (page-rounded).
    pub size: u64,
    /// Requested length.
    pub requested: u64,
    pub attrs: u32,
    pub name: String,
    pub zone: String,
    pub owner_pid: i32,
}

/// An allocation request.
#[derive(Clone, Debug, Default)]
pub struct AllocReq<'a> {
    /// Zone name; `None` means the device's first zone.
    pub zone: Option<&'a str>,
    pub size: u64,
    /// Alignment in bytes (power of two); 0 means page alignment.
    pub align: u64,
    pub attrs: u32,
    pub name: &'a str,
}

/// What a mapping of this process points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapInfo {
    /// The address handed to the caller.
    pub addr: usize,
    /// Length the caller asked for.
    pub len: usize,
    pub buf: BufId,
    /// Offset of `addr` inside the buffer.
    pub offset: u64,
    /// Physical address of `addr`.
    pub phys: u64,
    pub cached: bool,
    /// Who made the mapping: a front-chosen tag, so that one API's unmap
    /// cannot remove another's mapping. [`MAP_ALLOC`] for `alloc_mapped`.
    pub tag: u32,
}

/// Tag of the mapping [`Device::alloc_mapped`] makes.
pub const MAP_ALLOC: u32 = 0;

/// CPU access to a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prot {
    ReadWrite,
    /// Reserved address range that faults on access.
    None,
}

#[derive(Clone, Copy, Debug)]
struct MapRec {
    prot: Prot,
    info: MapInfo,
    base: usize,
    map_len: usize,
    refs: u32,
}

/// Direction of cache maintenance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncDir {
    /// CPU writes become visible to the device (clean).
    ToDevice,
    /// Device writes become visible to the CPU (invalidate).
    FromDevice,
    /// Both (clean and invalidate).
    Both,
}

#[derive(Default)]
struct Local {
    /// Mappings keyed by the address handed out.
    maps: BTreeMap<usize, MapRec>,
    /// Addresses of each buffer's mappings, so reuse and removal never scan.
    by_buf: HashMap<BufId, Vec<usize>>,
    /// The pid whose process table entry is known present.
    registered: i32,
}

/// One zone's usage, for listings.
#[derive(Clone, Debug)]
pub struct ZoneInfo {
    pub name: String,
    pub gfp: u64,
    pub base: u64,
    pub size: u64,
    pub used: u64,
    pub largest_free: u64,
    pub blocks: Vec<BufInfo>,
}

/// A device opened by this process.
pub struct Device {
    cfg: Config,
    shared: Shared,
    backend: Box<dyn Backend>,
    local: Mutex<Local>,
    page: usize,
}

/// The table, locked.
pub(crate) struct Guard<'a> {
    dev: &'a Device,
    pub v: View<'a>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.dev.shared.unlock();
    }
}

fn host_page() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

impl Device {
    /// Open (or create) the device named in `cfg`, with the backend it
    /// names (`BackendKind`).
    pub fn open(cfg: Config) -> Result<Device> {
        let backend: Box<dyn Backend> = match cfg.backend {
            BackendKind::Emulated => Box::new(Emulated::new(cfg.shm_dir.clone())),
            BackendKind::Rknpu => match crate::backend::rknpu::detect() {
                Some(b) => Box::new(b),
                None => {
                    eprintln!("accelmem: ACCELMEM_BACKEND=rknpu but no render node is driven by rknpu");
                    return Err(Error::NotSupported);
                }
            },
            BackendKind::Auto => match crate::backend::rknpu::detect() {
                Some(b) => Box::new(b),
                None => Box::new(Emulated::new(cfg.shm_dir.clone())),
            },
        };
        Self::with_backend(cfg, backend)
    }

    /// Open a device some process created already; `NotFound` if none did.
    /// For observers (the listing), which must not create devices.
    pub fn open_existing(cfg: Config) -> Result<Device> {
        let backend = Box::new(Emulated::new(cfg.shm_dir.clone()));
        Self::open_with(cfg, backend, false)
    }

    /// Open with an explicit backend.
    pub fn with_backend(cfg: Config, backend: Box<dyn Backend>) -> Result<Device> {
        Self::open_with(cfg, backend, true)
    }

    fn open_with(cfg: Config, backend: Box<dyn Backend>, create: bool) -> Result<Device> {
        let shared = Shared::open(&cfg, create)?;
        let dev = Device {
            cfg,
            shared,
            backend,
            local: Mutex::new(Local::default()),
            page: host_page(),
        };
        // Reclaim what dead processes left behind.
        dev.reap()?;
        Ok(dev)
    }

    /// Remove a device's state file and every buffer object it names. Only
    /// for devices no process uses (tests, `accelmem reset`).
    /// `InvalidArgument` for a name no device can have; `Busy` while
    /// another process maps the device's state (uses it).
    pub fn destroy(cfg: &Config) -> Result<()> {
        cfg.validate()?;
        let p = cfg.shm_dir.join(format!("accelmem.{}.state", cfg.device));
        if let Ok(m) = std::fs::metadata(&p) {
            use std::os::unix::fs::MetadataExt;
            if super::shared::file_mapped_elsewhere(m.dev(), m.ino()) {
                return Err(Error::Busy);
            }
        }
        Emulated::new(cfg.shm_dir.clone()).sweep(&cfg.device, &|_| false);
        match std::fs::remove_file(p) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn name(&self) -> &str {
        &self.cfg.device
    }

    pub fn backend(&self) -> &dyn Backend {
        &*self.backend
    }

    fn key(&self, gen: u64) -> BufKey<'_> {
        BufKey {
            device: &self.cfg.device,
            gen,
        }
    }

    pub(crate) fn lock(&self) -> Result<Guard<'_>> {
        let died = self.shared.lock()?;
        // SAFETY: we hold the lock and make exactly one view under it.
        let v = match unsafe { self.shared.view() } {
            Ok(v) => v,
            Err(e) => {
                self.shared.unlock();
                return Err(e);
            }
        };
        let mut g = Guard { dev: self, v };
        if died {
            g.repair()?;
        }
        Ok(g)
    }

    fn local(&self) -> MutexGuard<'_, Local> {
        // A panic while holding the lock cannot leave the map half-updated
        // in a way that matters more than losing the process; keep going.
        self.local.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Make sure this process is in the process table.
    pub(crate) fn register(&self, g: &mut Guard, me: ProcId) -> Result<()> {
        let mut l = self.local();
        if l.registered == me.pid {
            return Ok(());
        }
        drop(l);
        g.register(me)?;
        l = self.local();
        l.registered = me.pid;
        Ok(())
    }

    /// Reserve a device-address range with no bytes behind it (an IOVA for
    /// memory that lives elsewhere, e.g. an imported fd). It is listed and
    /// freed like a buffer but cannot be mapped.
    pub fn reserve(&self, req: &AllocReq) -> Result<BufInfo> {
        self.alloc(&AllocReq {
            attrs: req.attrs | attr::FOREIGN,
            ..req.clone()
        })
    }

    /// Allocate a buffer. It is not mapped.
    pub fn alloc(&self, req: &AllocReq) -> Result<BufInfo> {
        if req.size == 0 {
            return Err(Error::InvalidArgument);
        }
        let units = req.size.checked_add(GRAIN - 1).ok_or(Error::OutOfMemory)? / GRAIN;
        let align = if req.align <= GRAIN { 1 } else { req.align };
        if !align.is_power_of_two() {
            return Err(Error::InvalidArgument);
        }
        let align_units = align.div_ceil(GRAIN);
        let me = process::current();
        let mut g = self.lock()?;
        self.register(&mut g, me)?;
        let zi = g.zone_index(req.zone)?;
        let bi = g.new_buf()?;
        let d = match g.zone_alloc(zi, units, align_units, bi) {
            Err(Error::OutOfMemory) => {
                // Dead processes may hold the room we need.
                g.reap()?;
                g.zone_alloc(zi, units, align_units, bi)
            }
            r => r,
        };
        let d = match d {
            Ok(d) => d,
            Err(e) => {
                g.drop_buf(bi);
                return Err(e);
            }
        };
        let zone = g.v.meta.zones[zi];
        let off = g.v.descs[d as usize].off;
        g.v.meta.gen += 1;
        let gen = g.v.meta.gen;
        {
            let b = &mut g.v.bufs[bi as usize];
            b.state = R_INIT;
            b.zone = zi as u32;
            b.desc = d;
            b.attrs = req.attrs;
            b.gen = gen;
            b.phys = zone.base + off * GRAIN;
            b.size = units * GRAIN;
            b.req = req.size;
            b.owner_pid = me.pid;
            b.owner_start = me.start;
            b.refs = 1;
            b.pool = NIL;
            b.imports = 0;
            b.consume = 0;
            b.orphan = 0;
            b.ref_head = NIL;
            put_name(&mut b.name, req.name);
        }
        if req.attrs & attr::FOREIGN == 0 {
            if let Err(e) = self.backend.create(self.key(gen), units * GRAIN, req.attrs & attr::CACHED != 0) {
                g.free_range(bi);
                g.drop_buf(bi);
                return Err(e);
            }
        }
        g.set_pagemap(bi, bi + 1);
        g.v.bufs[bi as usize].state = R_LIVE;
        Ok(g.info(bi))
    }

    /// Free a buffer this process owns. Its mappings in this process are
    /// removed; other processes' mappings keep the old bytes.
    pub fn free(&self, id: BufId) -> Result<()> {
        let me = process::current();
        let mut g = self.lock()?;
        let bi = g.live(id)?;
        let b = g.v.bufs[bi as usize];
        if b.pool != NIL {
            return Err(Error::Busy);
        }
        if b.owner_pid != me.pid || b.orphan != 0 {
            return Err(Error::NotPermitted);
        }
        if b.imports > 0 {
            // Others hold it: it lives on until the last import goes, and
            // this process's mappings of it (its own imports') stay.
            g.v.bufs[bi as usize].orphan = 1;
            g.bump(bi);
            return Ok(());
        }
        g.release_buf(bi);
        drop(g);
        self.forget_maps(id);
        Ok(())
    }

    pub(crate) fn forget_maps(&self, id: BufId) {
        let mut l = self.local();
        let gone = l.by_buf.remove(&id).unwrap_or_default();
        for a in gone {
            if let Some(m) = l.maps.remove(&a) {
                // SAFETY: base/map_len are a mapping we made and still own.
                unsafe { libc::munmap(m.base as *mut _, m.map_len) };
            }
        }
    }

    /// Look up a live buffer by handle.
    pub fn buffer(&self, id: BufId) -> Result<BufInfo> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        Ok(g.info(bi))
    }

    /// The buffer containing physical address `phys`, and the offset in it.
    pub fn find_phys(&self, phys: u64) -> Result<(BufInfo, u64)> {
        let g = self.lock()?;
        let bi = g.by_phys(phys)?;
        let b = g.v.bufs[bi as usize];
        Ok((g.info(bi), phys - b.phys))
    }

    /// Map `len` bytes of buffer `id` starting at `offset`. Mapping the same
    /// range again with the same cache type and tag returns the same address
    /// and counts a reference.
    pub fn map(&self, id: BufId, offset: u64, len: u64, cached: bool, tag: u32) -> Result<MapInfo> {
        self.map_prot(id, offset, len, cached, tag, Prot::ReadWrite)
    }

    /// As [`Device::map`], choosing the CPU protection: `Prot::None` gives
    /// an address that names the buffer but faults on any CPU access (a
    /// device pointer).
    pub fn map_prot(&self, id: BufId, offset: u64, len: u64, cached: bool, tag: u32, prot: Prot) -> Result<MapInfo> {
        let (info, _) = {
            let g = self.lock()?;
            let bi = g.live(id)?;
            (g.info(bi), ())
        };
        if len == 0 || offset.checked_add(len).is_none_or(|e| e > info.size) {
            return Err(Error::InvalidArgument);
        }
        {
            let mut l = self.local();
            let same = |m: &MapRec| {
                m.info.offset == offset && m.info.len as u64 == len && m.info.cached == cached && m.info.tag == tag && m.prot == prot
            };
            let hit = l
                .by_buf
                .get(&id)
                .and_then(|v| v.iter().copied().find(|a| l.maps.get(a).is_some_and(same)));
            if let Some(a) = hit {
                let m = l.maps.get_mut(&a).expect("indexed");
                m.refs += 1;
                return Ok(m.info);
            }
        }
        let start = offset - offset % self.page as u64;
        let sub = (offset - start) as usize;
        let map_len = (sub + len as usize).div_ceil(self.page) * self.page;
        let bits = match prot {
            Prot::ReadWrite => libc::PROT_READ | libc::PROT_WRITE,
            Prot::None => libc::PROT_NONE,
        };
        let p = self.backend.map(self.key(id.gen), start, map_len, bits)?;
        let mi = MapInfo {
            addr: p as usize + sub,
            len: len as usize,
            buf: id,
            offset,
            phys: info.phys + offset,
            cached,
            tag,
        };
        let mut l = self.local();
        l.by_buf.entry(id).or_default().push(mi.addr);
        l.maps.insert(
            mi.addr,
            MapRec {
                info: mi,
                base: p as usize,
                map_len,
                refs: 1,
                prot,
            },
        );
        Ok(mi)
    }

    /// Allocate and map the whole buffer.
    pub fn alloc_mapped(&self, req: &AllocReq) -> Result<(BufInfo, MapInfo)> {
        let info = self.alloc(req)?;
        match self.map(info.id, 0, info.requested, req.attrs & attr::CACHED != 0, MAP_ALLOC) {
            Ok(m) => Ok((info, m)),
            Err(e) => {
                let _ = self.free(info.id);
                Err(e)
            }
        }
    }

    /// Drop one reference to the mapping handed out at `addr` with `tag`.
    pub fn unmap(&self, addr: usize, tag: u32) -> Result<()> {
        let mut l = self.local();
        let m = l.maps.get_mut(&addr).filter(|m| m.info.tag == tag).ok_or(Error::NotFound)?;
        m.refs -= 1;
        if m.refs == 0 {
            let m = l.maps.remove(&addr).expect("present");
            if let Some(v) = l.by_buf.get_mut(&m.info.buf) {
                v.retain(|&a| a != addr);
                if v.is_empty() {
                    l.by_buf.remove(&m.info.buf);
                }
            }
            // SAFETY: a mapping we made and nobody else unmaps.
            unsafe { libc::munmap(m.base as *mut _, m.map_len) };
        }
        Ok(())
    }

    /// Whether this process maps buffer `id` under mapping tag `tag` (how
    /// a front tells the buffers it made from other fronts').
    pub fn is_mapped_with(&self, id: BufId, tag: u32) -> bool {
        let l = self.local();
        l.by_buf
            .get(&id)
            .is_some_and(|v| v.iter().any(|a| l.maps.get(a).is_some_and(|m| m.info.tag == tag)))
    }

    /// The mapping of this process handed out at exactly `addr`.
    pub fn mapping_at(&self, addr: usize) -> Result<MapInfo> {
        self.local().maps.get(&addr).map(|m| m.info).ok_or(Error::NotFound)
    }

    /// The mapping of this process that contains `addr`.
    pub fn find_addr(&self, addr: usize) -> Result<MapInfo> {
        let l = self.local();
        let (_, m) = l.maps.range(..=addr).next_back().ok_or(Error::NotFound)?;
        let i = m.info;
        if addr >= i.addr + i.len.max(1) {
            return Err(Error::NotFound);
        }
        let d = (addr - i.addr) as u64;
        Ok(MapInfo {
            addr,
            len: i.len - d as usize,
            offset: i.offset + d,
            phys: i.phys + d,
            ..i
        })
    }

    /// Cache maintenance on `len` bytes at `offset` of a buffer. Uncached
    /// buffers succeed with nothing to do.
    pub fn sync(&self, id: BufId, offset: u64, len: u64, dir: SyncDir) -> Result<()> {
        let info = self.buffer(id)?;
        if offset.checked_add(len).is_none_or(|e| e > info.size) {
            return Err(Error::InvalidArgument);
        }
        if info.attrs & attr::CACHED == 0 {
            return Ok(());
        }
        let rw = match dir {
            SyncDir::ToDevice => SyncFlags::WRITE,
            SyncDir::FromDevice => SyncFlags::READ,
            SyncDir::Both => SyncFlags::RW,
        };
        let key = self.key(id.gen);
        let (start, end) = (SyncFlags(SyncFlags::START | rw), SyncFlags(SyncFlags::END | rw));
        if dir == SyncDir::Both {
            // Clean first (END writes CPU data back), then invalidate
            // (START drops stale lines): the other order would discard
            // CPU writes not yet written back.
            self.backend.sync(key, end, offset, len)?;
            self.backend.sync(key, start, offset, len)
        } else {
            self.backend.sync(key, start, offset, len)?;
            self.backend.sync(key, end, offset, len)
        }
    }

    /// The address the device uses for a buffer: the backend's (a real
    /// IOVA) if it has one, else the zone address.
    pub fn device_addr(&self, id: BufId) -> Result<u64> {
        let info = self.buffer(id)?;
        Ok(self.backend.device_addr(self.key(id.gen)).unwrap_or(info.phys))
    }

    /// The buffer whose object `fd` is (an fd from [`Device::export_fd`] or
    /// opened by any process), if it belongs to this device.
    pub fn find_fd(&self, fd: std::os::fd::BorrowedFd<'_>) -> Result<BufInfo> {
        let (dev, gen) = self.backend.identify(fd).ok_or(Error::NotFound)?;
        if dev != self.cfg.device {
            return Err(Error::NotFound);
        }
        let g = self.lock()?;
        let bi = (0..g.v.meta.buf_high)
            .find(|&bi| {
                let b = &g.v.bufs[bi as usize];
                b.state == R_LIVE && b.gen == gen
            })
            .ok_or(Error::NotFound)?;
        Ok(g.info(bi))
    }

    /// A new fd for the buffer's object (dma-buf-like: maps it at 0).
    pub fn export_fd(&self, id: BufId) -> Result<OwnedFd> {
        self.buffer(id)?;
        self.backend.open(self.key(id.gen))
    }

    /// Free everything that processes no longer alive left behind.
    pub fn reap(&self) -> Result<usize> {
        let mut g = self.lock()?;
        g.reap()
    }

    /// The buffers this process allocated and still holds (pool buffers
    /// excluded), for the leak report at exit.
    pub fn held_by_process(&self) -> Result<Vec<BufInfo>> {
        let me = process::current();
        let g = self.lock()?;
        Ok((0..g.v.meta.buf_high)
            .filter(|&bi| {
                let b = &g.v.bufs[bi as usize];
                b.state == R_LIVE && b.pool == NIL && b.orphan == 0 && b.owner_pid == me.pid && b.owner_start == me.start
            })
            .map(|bi| g.info(bi))
            .collect())
    }

    /// Zones and their live blocks, sorted by address. Reaps first.
    pub fn zones(&self) -> Result<Vec<ZoneInfo>> {
        let mut g = self.lock()?;
        g.reap()?;
        let nz = g.v.meta.nzones as usize;
        let mut out: Vec<ZoneInfo> = (0..nz)
            .map(|i| {
                let z = &g.v.meta.zones[i];
                ZoneInfo {
                    name: get_name(&z.name),
                    gfp: z.gfp,
                    base: z.base,
                    size: z.size,
                    used: z.tlsf.used * GRAIN,
                    largest_free: 0,
                    blocks: vec![],
                }
            })
            .collect();
        for (i, o) in out.iter_mut().enumerate() {
            let ar = Arena {
                descs: g.v.descs,
                pool: &mut g.v.meta.desc_pool,
            };
            o.largest_free = g.v.meta.zones[i].tlsf.largest_free(&ar) * GRAIN;
        }
        for bi in 0..g.v.meta.buf_high {
            let b = &g.v.bufs[bi as usize];
            if b.state == R_LIVE {
                let zi = b.zone as usize;
                let info = g.info(bi);
                out[zi].blocks.push(info);
            }
        }
        for z in &mut out {
            z.blocks.sort_by_key(|b| b.phys);
        }
        Ok(out)
    }

    /// Check every invariant of the shared table: allocator structure,
    /// buffer records against allocator blocks, page map, pools.
    pub fn check(&self) -> std::result::Result<(), String> {
        let g = self.lock().map_err(|e| e.to_string())?;
        g.check()
    }

    /// Number of lock-holder deaths repaired and processes reaped.
    pub fn stats(&self) -> Result<(u64, u64)> {
        let g = self.lock()?;
        Ok((g.v.meta.repairs, g.v.meta.reaped))
    }

    /// Run `f` while holding the device lock. For crash tests: a process
    /// killed inside `f` dies holding the lock, and the next locker repairs.
    #[doc(hidden)]
    pub fn with_lock_held<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let g = self.lock()?;
        let r = f();
        drop(g);
        Ok(r)
    }

    /// Number of mappings this process holds (for tests and leak reports).
    pub fn local_mappings(&self) -> usize {
        self.local().maps.len()
    }

    /// The process-local lock, for holding across `fork()`.
    pub(crate) fn local_lock(&'static self) -> &'static dyn super::ForkLock {
        &self.local
    }
}

impl Drop for Device {
    fn drop(&mut self) {
        let l = self.local.get_mut().unwrap_or_else(|p| p.into_inner());
        for m in l.maps.values() {
            // SAFETY: mappings we made; the device is going away.
            unsafe { libc::munmap(m.base as *mut _, m.map_len) };
        }
    }
}

impl Guard<'_> {
    pub(crate) fn dev_shared(&self) -> &Shared {
        &self.dev.shared
    }

    /// Make sure `me` is in the process table (so its imports are reaped).
    pub(crate) fn register_me(&mut self, me: ProcId) -> Result<()> {
        self.register(me)
    }

    pub(crate) fn zone_index(&self, name: Option<&str>) -> Result<usize> {
        let nz = self.v.meta.nzones as usize;
        match name {
            None => Ok(0),
            Some(n) => (0..nz).find(|&i| get_name(&self.v.meta.zones[i].name) == n).ok_or(Error::NotFound),
        }
    }

    pub(crate) fn zone_alloc(&mut self, zi: usize, units: u64, align: u64, user: u32) -> Result<u32> {
        let mut ar = Arena {
            descs: self.v.descs,
            pool: &mut self.v.meta.desc_pool,
        };
        self.v.meta.zones[zi].tlsf.alloc(&mut ar, units, align, user)
    }

    fn new_buf(&mut self) -> Result<u32> {
        let m = &mut *self.v.meta;
        let bi = if m.buf_free != NIL {
            let bi = m.buf_free;
            m.buf_free = self.v.bufs[bi as usize].next_free;
            bi
        } else if m.buf_high < m.max_bufs {
            m.buf_high += 1;
            m.buf_high - 1
        } else {
            return Err(Error::LimitReached);
        };
        let b = &mut self.v.bufs[bi as usize];
        b.state = R_FREE;
        b.next_free = NIL;
        Ok(bi)
    }

    fn drop_buf(&mut self, bi: u32) {
        let b = &mut self.v.bufs[bi as usize];
        b.state = R_FREE;
        b.gen = 0;
        // A free record holds nothing: a late look at it (a reap of several
        // dead holders) must not find an orphan to release again.
        b.orphan = 0;
        b.imports = 0;
        b.ref_head = NIL;
        b.pool = NIL;
        b.next_free = self.v.meta.buf_free;
        self.v.meta.buf_free = bi;
    }

    fn free_range(&mut self, bi: u32) {
        let b = self.v.bufs[bi as usize];
        let mut ar = Arena {
            descs: self.v.descs,
            pool: &mut self.v.meta.desc_pool,
        };
        let _ = self.v.meta.zones[b.zone as usize].tlsf.free(&mut ar, b.desc);
    }

    fn set_pagemap(&mut self, bi: u32, val: u32) {
        let b = self.v.bufs[bi as usize];
        let z = &self.v.meta.zones[b.zone as usize];
        let first = (z.pagemap_off + (b.phys - z.base) / GRAIN) as usize;
        let n = (b.size / GRAIN) as usize;
        self.v.pagemap[first..first + n].fill(val);
    }

    /// Free a live buffer's range and object and drop its record.
    pub(crate) fn release_buf(&mut self, bi: u32) {
        let b = self.v.bufs[bi as usize];
        // Unpublish first, so a crash from here on leaves at worst a leaked
        // range, which repair rebuilds from the records.
        self.v.bufs[bi as usize].state = R_INIT;
        self.set_pagemap(bi, 0);
        self.free_range(bi);
        if b.attrs & attr::FOREIGN == 0 {
            self.dev.backend.release(self.dev.key(b.gen));
        }
        self.drop_buf(bi);
    }

    pub(crate) fn live(&self, id: BufId) -> Result<u32> {
        let b = self.v.bufs.get(id.index as usize).ok_or(Error::NotFound)?;
        if id.index >= self.v.meta.buf_high || b.state != R_LIVE || b.gen != id.gen {
            return Err(Error::NotFound);
        }
        Ok(id.index)
    }

    pub(crate) fn by_phys(&self, phys: u64) -> Result<u32> {
        for z in &self.v.meta.zones[..self.v.meta.nzones as usize] {
            if phys >= z.base && phys - z.base < z.size {
                let e = self.v.pagemap[(z.pagemap_off + (phys - z.base) / GRAIN) as usize];
                if e == 0 {
                    return Err(Error::NotFound);
                }
                let bi = e - 1;
                let b = &self.v.bufs[bi as usize];
                if b.state != R_LIVE || phys >= b.phys + b.size {
                    return Err(Error::NotFound);
                }
                return Ok(bi);
            }
        }
        Err(Error::NotFound)
    }

    pub(crate) fn info(&self, bi: u32) -> BufInfo {
        let b = &self.v.bufs[bi as usize];
        BufInfo {
            id: BufId { index: bi, gen: b.gen },
            phys: b.phys,
            size: b.size,
            requested: b.req,
            attrs: b.attrs,
            name: get_name(&b.name),
            zone: get_name(&self.v.meta.zones[b.zone as usize].name),
            owner_pid: b.owner_pid,
        }
    }

    fn register(&mut self, me: ProcId) -> Result<()> {
        let mut empty = None;
        for (i, p) in self.v.procs.iter().enumerate() {
            if p.state == R_LIVE && p.pid == me.pid && p.start == me.start {
                return Ok(());
            }
            if p.state != R_LIVE && empty.is_none() {
                empty = Some(i);
            }
        }
        let i = match empty {
            Some(i) => i,
            None => {
                self.reap()?;
                self.v.procs.iter().position(|p| p.state != R_LIVE).ok_or(Error::LimitReached)?
            }
        };
        self.v.procs[i] = ProcRec {
            pid: me.pid,
            state: R_LIVE,
            start: me.start,
        };
        Ok(())
    }

    /// Free the buffers, pool blocks and pools of every dead process.
    pub(crate) fn reap(&mut self) -> Result<usize> {
        let mut dead = Vec::new();
        for p in self.v.procs.iter_mut() {
            if p.state == R_LIVE
                && !process::alive(ProcId {
                    pid: p.pid,
                    start: p.start,
                })
            {
                dead.push(ProcId {
                    pid: p.pid,
                    start: p.start,
                });
                p.state = R_FREE;
            }
        }
        if dead.is_empty() {
            return Ok(0);
        }
        self.v.meta.reaped += dead.len() as u64;
        Ok(self.release_owned(&dead).len())
    }

    /// Free everything `owners` hold: pool blocks, pools, then buffers.
    /// Returns the plain buffers freed.
    pub(crate) fn release_owned(&mut self, owners: &[ProcId]) -> Vec<BufInfo> {
        let is_dead = |pid: i32, start: u64| owners.iter().any(|d| d.pid == pid && d.start == start);
        for pi in 0..self.v.pools.len() {
            if self.v.pools[pi].state != R_LIVE {
                continue;
            }
            let p = self.v.pools[pi];
            for s in 0..p.blk_cnt {
                let si = (p.slot_first + s) as usize;
                let sl = self.v.slots[si];
                if sl.users > 0 && is_dead(sl.owner_pid, sl.owner_start) {
                    self.v.slots[si].users = 0;
                    if sl.imports == 0 {
                        self.block_freed(pi, s);
                    }
                }
            }
            if is_dead(p.owner_pid, p.owner_start) {
                if self.v.pools[pi].free_cnt == p.blk_cnt {
                    self.pool_teardown(pi);
                } else {
                    // Blocks still out elsewhere: the pool lives, ownerless,
                    // until the last one comes back (`block_freed`).
                    self.v.pools[pi].owner_pid = 0;
                    self.v.pools[pi].owner_start = 0;
                }
            }
        }
        let mut freed = Vec::new();
        for bi in 0..self.v.meta.buf_high {
            let b = self.v.bufs[bi as usize];
            if b.state != R_LIVE {
                continue;
            }
            // Imports the dead held.
            if b.ref_head != NIL {
                for o in owners {
                    if self.drop_imports(bi, *o, None, None) > 0 {
                        self.bump(bi);
                    }
                    // The last import of an orphan went: it is freed.
                    if self.v.bufs[bi as usize].state != R_LIVE {
                        break;
                    }
                }
                if self.v.bufs[bi as usize].state != R_LIVE {
                    continue;
                }
            }
            let b = self.v.bufs[bi as usize];
            if b.pool == NIL && b.orphan == 0 && is_dead(b.owner_pid, b.owner_start) {
                freed.push(self.info(bi));
                if b.imports > 0 {
                    self.v.bufs[bi as usize].orphan = 1;
                    self.bump(bi);
                } else {
                    self.release_buf(bi);
                }
            }
        }
        freed
    }

    /// Rebuild allocator state, page map and free lists from the records
    /// after a lock holder died mid-update. Records are published last, so
    /// they are the truth; anything half-made is dropped.
    pub(crate) fn repair(&mut self) -> Result<()> {
        let m = &mut *self.v.meta;
        m.repairs += 1;
        // Buffers: drop half-made records, rebuild the free list.
        m.buf_free = NIL;
        for bi in (0..m.buf_high).rev() {
            let b = &mut self.v.bufs[bi as usize];
            if b.state != R_LIVE {
                b.state = R_FREE;
                b.gen = 0;
                b.next_free = m.buf_free;
                m.buf_free = bi;
            }
        }
        // Descriptors and every allocator, from the live records.
        let mut ar = Arena {
            descs: self.v.descs,
            pool: &mut m.desc_pool,
        };
        ar.reset();
        self.v.pagemap.fill(0);
        for zi in 0..m.nzones as usize {
            let mut used: Vec<(u64, u64, u32)> = (0..m.buf_high)
                .filter(|&bi| {
                    let b = &self.v.bufs[bi as usize];
                    b.state == R_LIVE && b.zone as usize == zi
                })
                .map(|bi| {
                    let b = &self.v.bufs[bi as usize];
                    ((b.phys - m.zones[zi].base) / GRAIN, b.size / GRAIN, bi)
                })
                .collect();
            used.sort();
            let len = m.zones[zi].size / GRAIN;
            let ds = m.zones[zi].tlsf.rebuild(&mut ar, len, &used)?;
            for (&(off, l, bi), d) in used.iter().zip(ds) {
                self.v.bufs[bi as usize].desc = d;
                let first = (m.zones[zi].pagemap_off + off) as usize;
                self.v.pagemap[first..first + l as usize].fill(bi + 1);
            }
        }
        // Pools: drop half-made ones (their buffer goes with them below),
        // rebuild the slot space and each pool's free list.
        let mut used_slots = Vec::new();
        for pi in 0..self.v.pools.len() {
            let p = self.v.pools[pi];
            if p.state == R_INIT {
                self.v.pools[pi].state = R_FREE;
            } else if p.state == R_LIVE {
                used_slots.push((p.slot_first as u64, p.blk_cnt as u64, pi as u32));
            }
        }
        used_slots.sort();
        let len = m.max_slots as u64;
        let ds = m.slot_tlsf.rebuild(&mut ar, len, &used_slots)?;
        for (&(_, _, pi), d) in used_slots.iter().zip(ds) {
            let p = &mut self.v.pools[pi as usize];
            p.slot_desc = d;
            let (first, cnt) = (p.slot_first as usize, p.blk_cnt as usize);
            // Block imports are recounted from the import records below.
            for sl in &mut self.v.slots[first..first + cnt] {
                sl.imports = 0;
            }
        }
        // Pool buffers whose pool is gone are released, or left to their
        // importers as orphans (a teardown cut short).
        for bi in 0..self.v.meta.buf_high {
            let b = self.v.bufs[bi as usize];
            if b.state == R_LIVE && b.pool != NIL && self.v.pools[b.pool as usize].state != R_LIVE {
                if b.ref_head != NIL {
                    self.v.bufs[bi as usize].pool = NIL;
                    self.v.bufs[bi as usize].orphan = 1;
                } else {
                    self.release_buf(bi);
                }
            }
        }
        // Imports: recount each live buffer's chain; records on no chain
        // are free.
        let high = self.v.meta.ref_high;
        let mut used = vec![false; high as usize];
        for bi in 0..self.v.meta.buf_high {
            if self.v.bufs[bi as usize].state != R_LIVE {
                self.v.bufs[bi as usize].ref_head = NIL;
                continue;
            }
            let (mut prev, mut r, mut n) = (NIL, self.v.bufs[bi as usize].ref_head, 0u32);
            while r != NIL {
                if r >= high || used[r as usize] {
                    // A broken link: cut the chain here.
                    if prev == NIL {
                        self.v.bufs[bi as usize].ref_head = NIL;
                    } else {
                        self.v.refs[prev as usize].next = NIL;
                    }
                    break;
                }
                used[r as usize] = true;
                let rec = self.v.refs[r as usize];
                n += rec.count;
                if rec.block != 0 {
                    if let Some((_, si)) = self.block_slot(bi, rec.block - 1) {
                        self.v.slots[si].imports += rec.count;
                    }
                }
                prev = r;
                r = self.v.refs[r as usize].next;
            }
            self.v.bufs[bi as usize].imports = n;
        }
        self.v.meta.ref_free = NIL;
        for r in (0..high).rev() {
            if !used[r as usize] {
                self.v.refs[r as usize].next = self.v.meta.ref_free;
                self.v.meta.ref_free = r;
            }
        }
        // Pools' free lists: blocks neither allocated nor imported.
        for &(_, _, pi) in &used_slots {
            let p = &mut self.v.pools[pi as usize];
            p.free_head = NIL;
            p.free_cnt = 0;
            let (first, cnt) = (p.slot_first, p.blk_cnt);
            for s in (0..cnt).rev() {
                let sl = &self.v.slots[(first + s) as usize];
                if sl.users == 0 && sl.imports == 0 {
                    self.slot_push_free(pi as usize, s);
                }
            }
            let p = &self.v.pools[pi as usize];
            if p.owner_pid == 0 && p.free_cnt == p.blk_cnt {
                self.pool_teardown(pi as usize);
            }
        }
        // Orphans whose last import went (a release cut short).
        for bi in 0..self.v.meta.buf_high {
            let b = &self.v.bufs[bi as usize];
            if b.state == R_LIVE && b.orphan != 0 && b.imports == 0 {
                self.release_buf(bi);
            }
        }
        // Objects that no record names (created just before the crash).
        let live: std::collections::HashSet<u64> = (0..self.v.meta.buf_high)
            .map(|bi| &self.v.bufs[bi as usize])
            .filter(|b| b.state == R_LIVE)
            .map(|b| b.gen)
            .collect();
        self.dev.backend.sweep(&self.dev.cfg.device, &|g| live.contains(&g));
        Ok(())
    }

    fn check(&self) -> std::result::Result<(), String> {
        let m = &*self.v.meta;
        // A read-only arena over the same tables.
        let mut pool_copy = m.desc_pool;
        let mut descs_copy: Vec<_> = self.v.descs.to_vec();
        let ar = Arena {
            descs: &mut descs_copy,
            pool: &mut pool_copy,
        };
        for zi in 0..m.nzones as usize {
            let z = &m.zones[zi];
            z.tlsf.check(&ar).map_err(|e| format!("zone {zi}: {e}"))?;
        }
        m.slot_tlsf.check(&ar).map_err(|e| format!("slots: {e}"))?;
        for bi in 0..m.buf_high {
            let b = &self.v.bufs[bi as usize];
            if b.state != R_LIVE {
                continue;
            }
            let z = &m.zones[b.zone as usize];
            let d = &ar.descs[b.desc as usize];
            if d.state != super::tlsf::D_USED || d.user != bi || z.base + d.off * GRAIN != b.phys || d.len * GRAIN != b.size {
                return Err(format!("buffer {bi} disagrees with its block"));
            }
            let first = (z.pagemap_off + (b.phys - z.base) / GRAIN) as usize;
            if self.v.pagemap[first..first + (b.size / GRAIN) as usize]
                .iter()
                .any(|&e| e != bi + 1)
            {
                return Err(format!("buffer {bi} page map wrong"));
            }
        }
        let mapped = self.v.pagemap.iter().filter(|&&e| e != 0).count() as u64;
        let used: u64 = m.zones[..m.nzones as usize].iter().map(|z| z.tlsf.used).sum();
        if mapped != used {
            return Err(format!("page map has {mapped} pages, zones use {used}"));
        }
        for (pi, p) in self.v.pools.iter().enumerate() {
            if p.state != R_LIVE {
                continue;
            }
            let mut n = 0;
            let mut s = p.free_head;
            while s != NIL {
                n += 1;
                if n > p.blk_cnt {
                    return Err(format!("pool {pi} free list loops"));
                }
                s = self.v.slots[(p.slot_first + s) as usize].next_free;
            }
            let idle = (0..p.blk_cnt)
                .filter(|&s| {
                    let sl = &self.v.slots[(p.slot_first + s) as usize];
                    sl.users == 0 && sl.imports == 0
                })
                .count() as u32;
            if n != p.free_cnt || n != idle {
                return Err(format!("pool {pi} free count {n}/{}/{idle}", p.free_cnt));
            }
        }
        Ok(())
    }

    pub(crate) fn slot_push_free(&mut self, pi: usize, s: u32) {
        let p = &mut self.v.pools[pi];
        self.v.slots[(p.slot_first + s) as usize].next_free = p.free_head;
        p.free_head = s;
        p.free_cnt += 1;
    }

    /// Block `s` of pool `pi` has no holder left: back on the free list,
    /// and an ownerless pool whose last block this was goes.
    pub(crate) fn block_freed(&mut self, pi: usize, s: u32) {
        self.slot_push_free(pi, s);
        let p = &self.v.pools[pi];
        if p.owner_pid == 0 && p.free_cnt == p.blk_cnt {
            self.pool_teardown(pi);
        }
    }

    pub(crate) fn pool_teardown(&mut self, pi: usize) {
        let p = self.v.pools[pi];
        let mut ar = Arena {
            descs: self.v.descs,
            pool: &mut self.v.meta.desc_pool,
        };
        let _ = self.v.meta.slot_tlsf.free(&mut ar, p.slot_desc);
        let pr: &mut PoolRec = &mut self.v.pools[pi];
        pr.state = R_FREE;
        if p.buf != NIL && self.v.bufs[p.buf as usize].state == R_LIVE && self.v.bufs[p.buf as usize].gen == p.buf_gen {
            if self.v.bufs[p.buf as usize].imports > 0 {
                // Imported blocks stay mapped elsewhere: the buffer lives on
                // as an orphan until the last import goes.
                let b = &mut self.v.bufs[p.buf as usize];
                b.pool = NIL;
                b.orphan = 1;
                self.bump(p.buf);
            } else {
                self.release_buf(p.buf);
            }
        }
    }
}
