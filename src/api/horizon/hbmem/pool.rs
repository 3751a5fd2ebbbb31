//! hbmem memory pools (sub-allocated in user space) and share pools
//! (fixed-size buffers other processes import).
//!
//! A memory pool is one common buffer (its fd is an ordinary record, so
//! `hb_mem_get_com_buf(pool.fd)` works) carved in pages by an engine
//! `SubPool` that adopted the record's buffer and mapping. Its allocations
//! and frees touch only this process's pool table: no system call, no
//! device lock.
//!
//! A share pool is an engine fixed-block pool. Its fd is a view of the
//! pool's buffer; a block's struct carries that buffer's share id with
//! `phys_addr`/`size` naming the block, which `hb_mem_import_com_buf`
//! accepts in any process as an import of that block. A block returns to
//! the pool when its allocator and every importer have freed it (or died).
#![allow(clippy::missing_safety_doc)]

use super::super::hb_mem_err::*;
use super::super::hb_mem_mgr::*;
use super::common::{alloc_buf, hold, in_heap_zones, release};
use super::{call, code, open_device, out, state, Hold};
use crate::engine::{BlockRef, BufId, Device, Part, PoolReq, SubPool, SubPoolCfg};
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

/// Pool page: the allocation unit and alignment.
const PAGE: u64 = 4096;
/// Most descriptors per pool (about half as many live blocks).
const MAX_DESCS: u64 = 1 << 16;
/// Engine pool tag of hbmem share pools.
const SHARE_POOL_TAG: u32 = 0x4842_5350;

/// One memory pool of this process: its record's buffer and mapping,
/// carved by an engine sub-allocating pool that adopted them.
struct MemPool {
    addr: usize,
    share_id: i32,
    flags: i64,
    size: u64,
    sub: SubPool<'static>,
}

#[derive(Default)]
struct Pools {
    /// By pool fd; a process has few pools, so a scan beats hashing.
    mem: Vec<(i32, MemPool)>,
    /// Pool fds destroyed in this process (memory and share pools), for
    /// `HB_MEM_ERR_POOL_DESTROYED`; an fd number leaves it when reused.
    destroyed: HashSet<i32>,
}

static POOLS: Mutex<Option<Pools>> = Mutex::new(None);

fn pools() -> std::sync::MutexGuard<'static, Option<Pools>> {
    static REG: AtomicBool = AtomicBool::new(false);
    crate::engine::register_fork_lock_once(&POOLS, &REG);
    let mut g = POOLS.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(Pools::default);
    g
}

fn with_pools<T>(f: impl FnOnce(&mut Pools) -> T) -> T {
    let mut g = pools();
    f(g.as_mut().expect("initialised in pools()"))
}

/// The buffer of this process's record at `fd`, if any. Read before
/// taking the pool lock: the two locks are never held together.
fn rec_buf(fd: i32) -> Option<BufId> {
    state().recs.get(&fd).map(|r| r.buf)
}

/// The pool missing at `fd`: destroyed here before (and the fd number not
/// reused since: `cur` is its record now), or never a pool.
fn missing(p: &Pools, fd: i32, cur: Option<BufId>, not_found: i32) -> i32 {
    if cur.is_none() && p.destroyed.contains(&fd) {
        HB_MEM_ERR_POOL_DESTROYED
    } else {
        not_found
    }
}

/// Why no memory pool is at `fd` (the module is closed, the pool was
/// destroyed, or there never was one), asked outside the pool lock.
fn why_missing(fd: i32, not_found: i32) -> i32 {
    if let Err(e) = open_device() {
        return e;
    }
    let cur = rec_buf(fd);
    with_pools(|p| missing(p, fd, cur, not_found))
}

/// The memory pool at `fd`, or why there is none.
fn with_mem_pool<T>(fd: i32, not_found: i32, f: impl FnOnce(&mut Pools, usize) -> Result<T, i32>) -> Result<T, i32> {
    let r = with_pools(|p| p.mem.iter().position(|(f, _)| *f == fd).map(|i| f(p, i)));
    r.unwrap_or_else(|| Err(why_missing(fd, not_found)))
}

/// The memory pool at `fd` ends with its fd's record (`hb_mem_free_buf`
/// on the pool's fd, module close): called by the record's release, so a
/// pool never outlives its buffer.
pub(crate) fn forget_mem_pool(fd: i32) {
    with_pools(|p| {
        if let Some(i) = p.mem.iter().position(|(f, _)| *f == fd) {
            p.mem.swap_remove(i);
            p.destroyed.insert(fd);
        }
    });
}

/// Create a memory pool of `size` bytes (rounded up to pages).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_pool_create(size: u64, flags: i64, pool: *mut hb_mem_pool_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        if pool.is_null() || size == 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let bytes = size.checked_next_multiple_of(PAGE).ok_or(HB_MEM_ERR_INSUFFICIENT_MEM)?;
        let pages = bytes / PAGE;
        if pages > i32::MAX as u64 {
            return Err(HB_MEM_ERR_INSUFFICIENT_MEM);
        }
        let b = alloc_buf(dev, bytes, flags, "hb_mem_pool")?;
        let fd = match hold(dev, &b, 0, bytes, flags, Hold::MemPool) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = dev.free(b.id);
                return Err(e);
            }
        };
        let (addr, share_id, tag) = {
            let st = state();
            let r = &st.recs[&fd];
            (r.addr, r.share_id, r.tag)
        };
        let made = SubPool::new(
            dev,
            SubPoolCfg {
                zone: None,
                chunk: bytes,
                unit: PAGE,
                attrs: 0,
                name: "hb_mem_pool".into(),
                tag,
                guard_view: false,
                max_bytes: bytes,
                max_blocks_per_chunk: (pages * 2 + 2).min(MAX_DESCS) as usize,
            },
        )
        .and_then(|mut sub| sub.adopt(b.clone(), addr).map(|_| sub));
        let sub = match made {
            Ok(sub) => sub,
            Err(e) => {
                let _ = release(dev, fd);
                return Err(code(e, HB_MEM_ERR_INSUFFICIENT_MEM));
            }
        };
        let m = MemPool {
            addr,
            share_id,
            flags,
            size: bytes,
            sub,
        };
        let info = info_of(fd, &m);
        with_pools(|p| {
            p.destroyed.remove(&fd);
            p.mem.retain(|(f, _)| *f != fd);
            p.mem.push((fd, m));
        });
        out(pool, info)
    })
}

fn info_of(fd: i32, m: &MemPool) -> hb_mem_pool_t {
    hb_mem_pool_t {
        flags: m.flags,
        size: m.size,
        fd,
        page_size: PAGE as i32,
        total_page_cnt: (m.size / PAGE) as i32,
        avail_page_cnt: ((m.size - m.sub.used()) / PAGE) as i32,
        cur_client_cnt: m.sub.live_blocks() as i32,
        reserved: 0,
    }
}

/// Destroy a memory pool; `HB_MEM_ERR_POOL_BUSY` while blocks are out.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_pool_destroy(fd: i32) -> i32 {
    call(|| {
        let dev = open_device()?;
        with_mem_pool(fd, HB_MEM_ERR_INVALID_FD, |p, i| {
            if p.mem[i].1.sub.live_blocks() != 0 {
                return Err(HB_MEM_ERR_POOL_BUSY);
            }
            p.mem.swap_remove(i);
            p.destroyed.insert(fd);
            Ok(())
        })?;
        release(dev, fd)
    })
}

/// Allocate `size` bytes (rounded up to pages, page-aligned) from a pool.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_pool_alloc_buf(fd: i32, size: u64, buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        // Only the pool lock: a pool exists only while the module is open
        // and its fd's record lives (`forget_mem_pool`). Written out, as
        // through `with_mem_pool` this path was 20% slower.
        let mut g = pools();
        let p = g.as_mut().expect("initialised in pools()");
        let Some(i) = p.mem.iter().position(|(f, _)| *f == fd) else {
            drop(g);
            return Err(why_missing(fd, HB_MEM_ERR_POOL_NOT_FOUND));
        };
        if buf.is_null() || size == 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let m = &mut p.mem[i].1;
        let blk = m.sub.alloc(size).map_err(|_| HB_MEM_ERR_INSUFFICIENT_MEM)?;
        let b = hb_mem_common_buf_t {
            fd,
            share_id: m.share_id,
            flags: m.flags | HB_MEM_USAGE_MEM_POOL,
            size,
            virt_addr: blk.addr as *mut u8,
            phys_addr: blk.phys,
            offset: blk.offset,
        };
        drop(g);
        out(buf, b)
    })
}

/// Return a block allocated from a memory pool, by its virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_pool_free_buf(virt_addr: u64) -> i32 {
    call(|| {
        let va = virt_addr as usize;
        let mut g = pools();
        let p = g.as_mut().expect("initialised in pools()");
        let Some(i) = p.mem.iter().position(|(_, m)| va >= m.addr && va - m.addr < m.size as usize) else {
            drop(g);
            open_device()?;
            return Err(HB_MEM_ERR_INVALID_VADDR);
        };
        p.mem[i].1.sub.free(va).map(|_| ()).map_err(|_| HB_MEM_ERR_INVALID_VADDR)
    })
}

/// For `hb_mem_free_buf_with_vaddr`: if `va` lies in one of this
/// process's memory pools, free the live block containing it (any address
/// inside it), else `HB_MEM_ERR_INVALID_VADDR`; `None` if `va` lies in no
/// memory pool. A pool itself is never freed by an address.
pub(crate) fn free_block_containing(va: usize) -> Option<Result<(), i32>> {
    with_pools(|p| {
        let m = p
            .mem
            .iter_mut()
            .map(|(_, m)| m)
            .find(|m| va >= m.addr && va - m.addr < m.size as usize)?;
        Some(match m.sub.find(va) {
            Some(b) => m.sub.free(b.addr).map(|_| ()).map_err(|_| HB_MEM_ERR_INVALID_VADDR),
            None => Err(HB_MEM_ERR_INVALID_VADDR),
        })
    })
}

/// A memory pool's page counts and live blocks.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_pool_get_info(fd: i32, pool: *mut hb_mem_pool_t) -> i32 {
    call(|| {
        open_device()?;
        if pool.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let info = with_mem_pool(fd, HB_MEM_ERR_INVALID_FD, |p, i| Ok(info_of(fd, &p.mem[i].1)))?;
        out(pool, info)
    })
}

// ---- share pools ----

/// The share pool block at a record's physical address.
fn block_of(dev: &Device, phys: u64, nf: i32) -> Result<BlockRef, i32> {
    let b = dev.pool_block_at(phys).map_err(|e| code(e, nf))?;
    let info = dev.pool_info(b.pool).map_err(|e| code(e, nf))?;
    if info.tag != SHARE_POOL_TAG {
        return Err(nf);
    }
    Ok(b)
}

/// The share pool an fd of this process belongs to (its pool fd or any
/// of its blocks' fds, allocated or imported here).
fn share_pool_of(dev: &Device, fd: i32, nf: i32) -> Result<(BlockRef, i64), i32> {
    let rec = state().recs.get(&fd).map(|r| (r.phys, r.flags));
    let Some((phys, flags)) = rec else {
        return Err(with_pools(|p| missing(p, fd, None, nf)));
    };
    Ok((block_of(dev, phys, nf)?, flags))
}

/// Create a share pool of `num` buffers of `size` bytes each.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_share_pool_create(num: u32, size: u64, flags: i64, pool: *mut hb_mem_share_pool_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        if pool.is_null() || num == 0 || size == 0 || size > u32::MAX as u64 || num > i32::MAX as u32 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let cached = flags & HB_MEM_USAGE_CACHED != 0;
        let info = in_heap_zones(dev, flags, |zone| {
            dev.pool_create(&PoolReq {
                zone,
                blk_size: size,
                blk_cnt: num,
                attrs: if cached { crate::engine::attr::CACHED } else { 0 },
                name: "hb_mem_share_pool",
                tag: SHARE_POOL_TAG,
            })
        })?;
        let fd = hold(dev, &info.buf, 0, info.buf.size, flags, Hold::PoolView).inspect_err(|_| {
            let _ = dev.pool_destroy(info.id);
        })?;
        with_pools(|p| p.destroyed.remove(&fd));
        out(
            pool,
            hb_mem_share_pool_t {
                flags,
                size: size as u32,
                fd,
                total_buf_cnt: num as i32,
                avail_buf_cnt: info.free_cnt as i32,
                reserved: 0,
            },
        )
    })
}

/// Destroy the share pool whose own fd (its `PoolView` record) is `fd`:
/// `HB_MEM_ERR_POOL_BUSY` while any block is out here or imported
/// anywhere.
pub(crate) fn destroy_share_pool(dev: &Device, fd: i32) -> Result<(), i32> {
    let (b, _) = share_pool_of(dev, fd, HB_MEM_ERR_INVALID_FD)?;
    let info = dev.pool_info(b.pool).map_err(|e| code(e, HB_MEM_ERR_POOL_DESTROYED))?;
    if info.free_cnt != info.blk_cnt {
        return Err(HB_MEM_ERR_POOL_BUSY);
    }
    dev.pool_destroy(b.pool).map_err(|e| match e {
        crate::Error::Busy => HB_MEM_ERR_POOL_BUSY,
        e => code(e, HB_MEM_ERR_POOL_DESTROYED),
    })?;
    release(dev, fd)?;
    with_pools(|p| p.destroyed.insert(fd));
    Ok(())
}

/// At module close: destroy the share pool at `fd` if idle; one whose
/// blocks other processes still hold is given up (ownerless), and goes
/// when its last block comes back.
pub(crate) fn close_share_pool(dev: &Device, fd: i32) {
    if destroy_share_pool(dev, fd).is_err() {
        if let Ok((b, _)) = share_pool_of(dev, fd, HB_MEM_ERR_INVALID_FD) {
            let _ = dev.pool_disown(b.pool);
        }
        let _ = release(dev, fd);
        with_pools(|p| p.destroyed.insert(fd));
    }
}

/// Destroy a share pool by its fd; `HB_MEM_ERR_POOL_BUSY` while buffers
/// are out (allocated and not freed, or imported by any process).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_share_pool_destroy(fd: i32) -> i32 {
    call(|| {
        let dev = open_device()?;
        let view = state().recs.get(&fd).map(|r| r.hold == Hold::PoolView);
        match view {
            Some(true) => destroy_share_pool(dev, fd),
            // A block's fd: its pool is busy by definition.
            Some(false) => {
                share_pool_of(dev, fd, HB_MEM_ERR_INVALID_FD)?;
                Err(HB_MEM_ERR_POOL_BUSY)
            }
            None => Err(with_pools(|p| missing(p, fd, None, HB_MEM_ERR_INVALID_FD))),
        }
    })
}

/// Take one buffer from a share pool: a new fd and mapping of the block.
/// Other processes import it by the struct (`hb_mem_import_com_buf`); the
/// block returns to the pool when this hold and every import are freed.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_share_pool_alloc_buf(fd: i32, buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        if buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let (b, flags) = share_pool_of(dev, fd, HB_MEM_ERR_POOL_NOT_FOUND)?;
        let info = dev.pool_info(b.pool).map_err(|e| code(e, HB_MEM_ERR_POOL_DESTROYED))?;
        let blk = dev.pool_get(b.pool).map_err(|e| code(e, HB_MEM_ERR_POOL_DESTROYED))?;
        let offset = blk.phys - info.buf.phys;
        let bfd = hold(
            dev,
            &info.buf,
            offset,
            info.blk_size,
            flags | HB_MEM_USAGE_MEM_SHARE_POOL,
            Hold::Block(blk),
        )
        .inspect_err(|_| {
            let _ = dev.pool_release(blk);
        })?;
        with_pools(|p| p.destroyed.remove(&bfd));
        let mut d = {
            let st = state();
            super::common::describe(bfd, &st.recs[&bfd])
        };
        d.offset = offset;
        out(buf, d)
    })
}

/// Free a share-pool buffer by virtual address: the allocator's hold or
/// an importer's reference, whichever this mapping is.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_share_pool_free_buf(virt_addr: u64) -> i32 {
    call(|| {
        let dev = open_device()?;
        let fd = {
            let st = state();
            let (fd, r) = st.at(virt_addr as usize, 0).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
            let block = matches!(r.hold, Hold::Block(_) | Hold::Import(Part::Block(_)));
            if r.addr != virt_addr as usize || !block {
                return Err(HB_MEM_ERR_INVALID_VADDR);
            }
            fd
        };
        release(dev, fd)
    })
}

/// A share pool's buffer counts, by any of its fds.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_share_pool_get_info(fd: i32, pool: *mut hb_mem_share_pool_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        if pool.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let (b, flags) = share_pool_of(dev, fd, HB_MEM_ERR_INVALID_FD)?;
        let info = dev.pool_info(b.pool).map_err(|e| code(e, HB_MEM_ERR_POOL_DESTROYED))?;
        out(
            pool,
            hb_mem_share_pool_t {
                flags: flags & !HB_MEM_USAGE_MEM_SHARE_POOL,
                size: info.blk_size as u32,
                fd,
                total_buf_cnt: info.blk_cnt as i32,
                avail_buf_cnt: info.free_cnt as i32,
                reserved: 0,
            },
        )
    })
}
