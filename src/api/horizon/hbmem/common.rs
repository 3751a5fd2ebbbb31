//! Module open/close, common buffers, cache maintenance, lookups by fd and
//! by virtual address, and `hb_mem_strerror`.
#![allow(non_snake_case, clippy::missing_safety_doc)]

use super::super::hb_mem_err::*;
use super::super::hb_mem_mgr::*;
use super::{call, code, fd_at, new_tag, open_device, out, state, Hold, Rec};
use crate::engine::{attr, AllocReq, BufInfo, Device, SyncDir};
use std::os::fd::{AsRawFd, OwnedFd};

/// Heap zones by priority of the `HB_MEM_USAGE_PRIV_*` bits, each with its
/// documented fallback order. A zone the device does not have is skipped;
/// if none exists, the device's first zone serves.
fn heap_zones(flags: i64) -> &'static [&'static str] {
    let heap = flags & HB_MEM_USAGE_PRIV_MASK;
    if heap & HB_MEM_USAGE_PRIV_HEAP_INLINE_ECC != 0 {
        &["inline_ecc", "ion_cma"]
    } else if heap & HB_MEM_USAGE_PRIV_HEAP_SRAM_LIMIT != 0 {
        &["sram_limit", "sram", "ion_cma"]
    } else if heap & HB_MEM_USAGE_PRIV_HEAP_2_RESERVED != 0 {
        &["cma_reserved", "carveout", "ion_cma"]
    } else if heap & HB_MEM_USAGE_PRIV_HEAP_SRAM != 0 {
        &["sram", "ion_cma"]
    } else if heap & HB_MEM_USAGE_PRIV_HEAP_RESERVED != 0 {
        &["carveout", "cma_reserved", "ion_cma"]
    } else {
        &["ion_cma", "cma_reserved"]
    }
}

/// Run `make` in each heap zone `flags` names that the device has, in
/// fallback order, then (if none exists) in the device's first zone; the
/// first success wins, else the last failure as `HB_MEM_ERR_*`.
pub(crate) fn in_heap_zones<T>(dev: &Device, flags: i64, mut make: impl FnMut(Option<&str>) -> crate::Result<T>) -> Result<T, i32> {
    let zones = dev.zones().map_err(|e| code(e, HB_MEM_ERR_UNKNOWN))?;
    let mut tried = false;
    let mut last = HB_MEM_ERR_INSUFFICIENT_MEM;
    for z in heap_zones(flags)
        .iter()
        .filter(|z| zones.iter().any(|x| x.name == **z))
        .map(|z| Some(*z))
        .chain(std::iter::once(None))
    {
        if z.is_none() && tried {
            break;
        }
        tried = true;
        match make(z) {
            Ok(v) => return Ok(v),
            Err(e) => last = code(e, HB_MEM_ERR_INSUFFICIENT_MEM),
        }
    }
    Err(last)
}

/// Allocate a buffer of `size` bytes per `flags` (heap, cache) on `dev`.
pub(crate) fn alloc_buf(dev: &Device, size: u64, flags: i64, name: &str) -> Result<BufInfo, i32> {
    if size == 0 {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let cached = flags & HB_MEM_USAGE_CACHED != 0;
    in_heap_zones(dev, flags, |zone| {
        dev.alloc(&AllocReq {
            zone,
            size,
            align: 0,
            attrs: if cached { attr::CACHED } else { 0 },
            name,
        })
    })
}

/// Make a record for `b` in this process: a new fd, a new mapping of
/// `size` bytes at `offset`. Returns the fd.
pub(crate) fn hold(dev: &Device, b: &BufInfo, offset: u64, size: u64, flags: i64, how: Hold) -> Result<i32, i32> {
    let cached = b.attrs & attr::CACHED != 0;
    let tag = new_tag();
    let fd: OwnedFd = dev.export_fd(b.id).map_err(|e| code(e, HB_MEM_ERR_INVALID_FD))?;
    let m = dev
        .map(b.id, offset, size, cached, tag)
        .map_err(|e| code(e, HB_MEM_ERR_INVALID_FD))?;
    let share_id = dev.share_id(b.id).map_err(|e| code(e, HB_MEM_ERR_INVALID_FD))?;
    let raw = fd.as_raw_fd();
    let mut st = state();
    st.by_addr.insert(m.addr, raw);
    st.recs.insert(
        raw,
        Rec {
            buf: b.id,
            hold: how,
            addr: m.addr,
            tag,
            offset,
            size,
            flags,
            phys: b.phys + offset,
            share_id,
            cached,
            user_consume: 0,
            plane: false,
            _fd: fd,
        },
    );
    Ok(raw)
}

/// Drop a record: unmap, close its fd, and free or unimport the buffer.
pub(crate) fn release(dev: &Device, fd: i32) -> Result<(), i32> {
    let rec = {
        let mut st = state();
        let r = st.recs.remove(&fd).ok_or(HB_MEM_ERR_INVALID_FD)?;
        st.by_addr.remove(&r.addr);
        r
    };
    if rec.hold == Hold::MemPool {
        // The pool goes with its fd, before its buffer does.
        super::pool::forget_mem_pool(fd);
    }
    let _ = dev.unmap(rec.addr, rec.tag);
    let r = match rec.hold {
        Hold::Owner | Hold::MemPool => dev.free(rec.buf),
        Hold::Import(part) => dev.unimport(rec.buf, part),
        Hold::Block(b) => dev.pool_release(b),
        Hold::PoolView => Ok(()),
    };
    drop(rec);
    r.map_err(|e| code(e, HB_MEM_ERR_INVALID_FD))
}

/// Fill a common-buffer struct from a record.
pub(crate) fn describe(fd: i32, r: &Rec) -> hb_mem_common_buf_t {
    hb_mem_common_buf_t {
        fd,
        share_id: r.share_id,
        flags: r.flags,
        size: r.size,
        virt_addr: r.addr as *mut u8,
        phys_addr: r.phys,
        offset: 0,
    }
}

/// The library version.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_version(major: *mut u32, minor: *mut u32, patch: *mut u32) -> i32 {
    call(|| {
        if major.is_null() || minor.is_null() || patch.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        out(major, 1)?;
        out(minor, 0)?;
        out(patch, 0)
    })
}

/// Open the module for this process (counted: each open needs a close).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_module_open() -> i32 {
    call(|| {
        crate::engine::global().map_err(|_| HB_MEM_ERR_MODULE_OPEN_FAIL)?;
        state().opens += 1;
        Ok(())
    })
}

/// Close the module; the last close frees everything this process still
/// holds through hbmem.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_module_close() -> i32 {
    call(|| {
        let left = {
            // Checked and counted down under one lock: of two racing last
            // closes, one closes and the other finds the module closed.
            let mut st = state();
            if st.opens == 0 {
                return Err(HB_MEM_ERR_MODULE_NOT_FOUND);
            }
            st.opens -= 1;
            if st.opens > 0 {
                return Ok(());
            }
            st.recs.keys().copied().collect::<Vec<i32>>()
        };
        let dev = crate::engine::global().map_err(|_| HB_MEM_ERR_MODULE_OPEN_FAIL)?;
        super::queue::destroy_all();
        // Blocks and imports first, so this process's share pools are idle
        // when their turn comes.
        let (pools, rest): (Vec<i32>, Vec<i32>) = {
            let st = state();
            left.into_iter()
                .partition(|fd| st.recs.get(fd).is_some_and(|r| r.hold == Hold::PoolView))
        };
        for fd in rest {
            let _ = release(dev, fd);
        }
        for fd in pools {
            super::pool::close_share_pool(dev, fd);
        }
        Ok(())
    })
}

/// Allocate a common buffer of `size` bytes with usage `flags`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_alloc_com_buf(size: u64, flags: i64, buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        if buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let b = alloc_buf(dev, size, flags, "hb_mem_com_buf")?;
        let fd = match hold(dev, &b, 0, size, flags, Hold::Owner) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = dev.free(b.id);
                return Err(e);
            }
        };
        let st = state();
        out(buf, describe(fd, &st.recs[&fd]))
    })
}

fn with_fd<T>(fd: i32, f: impl FnOnce(&Rec) -> T) -> Result<T, i32> {
    let st = state();
    st.recs.get(&fd).map(f).ok_or(HB_MEM_ERR_INVALID_FD)
}

/// The common buffer an fd of this process names.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_com_buf(fd: i32, buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        open_device()?;
        let d = with_fd(fd, |r| describe(fd, r))?;
        out(buf, d)
    })
}

/// Free (or, for an import, release) the buffer behind an fd.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_free_buf(fd: i32) -> i32 {
    call(|| {
        let dev = open_device()?;
        free_fd(dev, fd, HB_MEM_ERR_INVALID_FD)
    })
}

/// What freeing the buffer behind `fd` means, for both free calls: any fd
/// of a graphic buffer (or group) frees all of it, a share pool's own fd
/// destroys the pool, anything else drops its record. `gone`: the code for
/// a plane whose graphic another thread is freeing right now.
fn free_fd(dev: &Device, fd: i32, gone: i32) -> Result<(), i32> {
    if let Some(r) = super::graphic::free_graphic_if_plane(dev, fd) {
        return r;
    }
    // Read, then let the record lock go before acting on it.
    let kind = state().recs.get(&fd).map(|r| (r.plane, r.hold));
    match kind {
        Some((true, _)) => Err(gone),
        Some((_, Hold::PoolView)) => super::pool::destroy_share_pool(dev, fd),
        _ => release(dev, fd),
    }
}

fn sync(fd: i32, offset: u64, size: u64, dir: SyncDir) -> Result<(), i32> {
    let dev = open_device()?;
    let (buf, base, len, cached) = with_fd(fd, |r| (r.buf, r.offset, r.size, r.cached))?;
    if size == 0 || offset.checked_add(size).is_none_or(|e| e > len) {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    if !cached {
        // Documented: "No need to ... for uncached buffer" — success.
        return Ok(());
    }
    dev.sync(buf, base + offset, size, dir).map_err(|e| code(e, HB_MEM_ERR_INVALID_FD))
}

/// Drop cached lines before the CPU reads what a device wrote.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_invalidate_buf(fd: i32, offset: u64, size: u64) -> i32 {
    call(|| sync(fd, offset, size, SyncDir::FromDevice))
}

/// Write CPU caches back after the CPU wrote.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_flush_buf(fd: i32, offset: u64, size: u64) -> i32 {
    call(|| sync(fd, offset, size, SyncDir::ToDevice))
}

fn sync_vaddr(vaddr: u64, size: u64, dir: SyncDir) -> Result<(), i32> {
    open_device()?;
    let (fd, off) = {
        let st = state();
        let (fd, r) = st.at(vaddr as usize, size).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
        (fd, vaddr - r.addr as u64)
    };
    sync(fd, off, size, dir)
}

/// `hb_mem_invalidate_buf` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_invalidate_buf_with_vaddr(virt_addr: u64, size: u64) -> i32 {
    call(|| sync_vaddr(virt_addr, size, SyncDir::FromDevice))
}

/// `hb_mem_flush_buf` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_flush_buf_with_vaddr(virt_addr: u64, size: u64) -> i32 {
    call(|| sync_vaddr(virt_addr, size, SyncDir::ToDevice))
}

/// Whether `[virt_addr, virt_addr + size)` lies in one buffer of this process.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_is_valid_buf(virt_addr: u64, size: u64, valid: *mut i32) -> i32 {
    call(|| {
        open_device()?;
        let ok = state().at(virt_addr as usize, size).is_some();
        out(valid, ok as i32)
    })
}

/// Physical address of a virtual address inside a buffer.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_phys_addr(virt_addr: u64, phys_addr: *mut u64) -> i32 {
    call(|| {
        open_device()?;
        let p = {
            let st = state();
            let (_, r) = st.at(virt_addr as usize, 0).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
            r.phys + (virt_addr - r.addr as u64)
        };
        out(phys_addr, p)
    })
}

/// Start, size and flags of the buffer holding a virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_buf_info(virt_addr: u64, start: *mut u64, size: *mut u64, flags: *mut i64) -> i32 {
    call(|| {
        open_device()?;
        if start.is_null() || size.is_null() || flags.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let (a, s, f) = {
            let st = state();
            let (_, r) = st.at(virt_addr as usize, 0).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
            (r.addr as u64, r.size, r.flags)
        };
        out(start, a)?;
        out(size, s)?;
        out(flags, f)
    })
}

/// The common buffer holding a virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_com_buf_with_vaddr(virt_addr: u64, buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        open_device()?;
        let fd = fd_at(virt_addr)?;
        let d = with_fd(fd, |r| describe(fd, r))?;
        out(buf, d)
    })
}

/// Free the buffer holding a virtual address (any address inside it; in a
/// memory pool, the block holding it).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_free_buf_with_vaddr(virt_addr: u64) -> i32 {
    call(|| {
        let dev = open_device()?;
        // An address in a memory pool frees the block holding it (as the
        // vendor allows), never the whole pool.
        if let Some(r) = super::pool::free_block_containing(virt_addr as usize) {
            return r;
        }
        free_fd(dev, fd_at(virt_addr)?, HB_MEM_ERR_INVALID_VADDR)
    })
}

/// Copy `size` bytes between two buffers of this process.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_dma_copy(dst_vaddr: u64, src_vaddr: u64, size: u64) -> i32 {
    call(|| {
        open_device()?;
        if size == 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let st = state();
        st.at(dst_vaddr as usize, size).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
        st.at(src_vaddr as usize, size).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
        drop(st);
        // SAFETY: both ranges lie inside live mappings of this process.
        unsafe { std::ptr::copy(src_vaddr as usize as *const u8, dst_vaddr as usize as *mut u8, size as usize) };
        Ok(())
    })
}

/// Processes holding the buffer at a virtual address (up to `num`).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_buffer_process_info(virt_addr: u64, pid: *mut i32, num: i32, ret_num: *mut i32) -> i32 {
    call(|| {
        let dev = open_device()?;
        if pid.is_null() || ret_num.is_null() || num <= 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let (buf, part) = {
            let st = state();
            let r = st.at(virt_addr as usize, 0).ok_or(HB_MEM_ERR_INVALID_VADDR)?.1;
            (r.buf, r.part())
        };
        let pids = dev.holders(buf, part).map_err(|e| code(e, HB_MEM_ERR_INVALID_VADDR))?;
        let n = pids.len().min(num as usize);
        for (i, p) in pids.iter().take(n).enumerate() {
            // SAFETY: the caller's array holds `num` entries.
            unsafe { pid.add(i).write(*p) };
        }
        out(ret_num, n as i32)
    })
}

/// The type of the buffer at a virtual address (common buffers here;
/// graphic buffers are common buffers of one plane each).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_buf_type_with_vaddr(virt_addr: u64, r#type: *mut hb_mem_buffer_type_raw) -> i32 {
    call(|| {
        open_device()?;
        let fd = fd_at(virt_addr)?;
        out(r#type, super::graphic::type_of_fd(fd) as hb_mem_buffer_type_raw)
    })
}
