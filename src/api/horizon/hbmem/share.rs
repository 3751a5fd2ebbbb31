//! Sharing common buffers between threads and processes: import by the
//! struct passed by value (its share id), share client counts, consume
//! counts and the waits on them.
#![allow(non_snake_case, clippy::missing_safety_doc)]

use super::super::hb_mem_err::*;
use super::super::hb_mem_mgr::*;
use super::common::{describe, hold};
use super::{call, code, open_device, out, state, Hold};
use crate::engine::{BufId, Part, ShareInfo};
use std::time::Duration;

/// Import a common buffer another thread or process passed by value: a
/// new fd and a new mapping here, and one more reference (free it with
/// `hb_mem_free_buf`). The struct's `phys_addr`/`size` may name part of
/// the buffer.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_import_com_buf(buf: *mut hb_mem_common_buf_t, out_buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        // SAFETY: caller passes NULL or a valid struct.
        let Some(inb) = (unsafe { buf.as_ref() }) else {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        };
        if out_buf.is_null() || inb.size == 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let b = dev.find_share(inb.share_id).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let off = inb.phys_addr.checked_sub(b.phys).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
        let (b, part) = dev
            .import_share_range(inb.share_id, off, inb.size)
            .map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let fd = hold(dev, &b, off, inb.size, inb.flags, Hold::Import(part)).inspect_err(|_| {
            let _ = dev.unimport(b.id, part);
        })?;
        let mut d = {
            let st = state();
            describe(fd, &st.recs[&fd])
        };
        d.offset = inb.offset;
        out(out_buf, d)
    })
}

/// Import memory by physical address (a range inside any buffer of the
/// device, from any API; inside one block if the buffer is a pool's).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_import_com_buf_with_paddr(phys_addr: u64, size: u64, flags: i64, buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        if buf.is_null() || size == 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let (b, off) = dev.find_phys(phys_addr).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let sid = dev.share_id(b.id).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let (b, part) = dev
            .import_share_range(sid, off, size)
            .map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let fd = hold(dev, &b, off, size, flags, Hold::Import(part)).inspect_err(|_| {
            let _ = dev.unimport(b.id, part);
        })?;
        let st = state();
        out(buf, describe(fd, &st.recs[&fd]))
    })
}

/// The buffer (and, for a share-pool block, the block) behind an fd.
fn buf_of_fd(fd: i32) -> Result<(BufId, Part), i32> {
    state().recs.get(&fd).map(|r| (r.buf, r.part())).ok_or(HB_MEM_ERR_INVALID_FD)
}

fn buf_of_vaddr(v: u64) -> Result<(BufId, Part), i32> {
    state()
        .at(v as usize, 0)
        .map(|(_, r)| (r.buf, r.part()))
        .ok_or(HB_MEM_ERR_INVALID_VADDR)
}

/// Where the consume count of the buffer behind an fd lives: a graphic
/// buffer keeps one count, on its first plane, whichever plane's fd names
/// it.
fn consume_of_fd(fd: i32) -> Result<(BufId, Part), i32> {
    let (id, part) = buf_of_fd(fd)?;
    Ok(super::graphic::consume_buf_of_fd(fd).map_or((id, part), |b| (b, Part::Whole)))
}

fn consume_of_vaddr(v: u64) -> Result<(BufId, Part), i32> {
    let fd = state().at(v as usize, 0).map(|(fd, _)| fd).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
    consume_of_fd(fd).map_err(|_| HB_MEM_ERR_INVALID_VADDR)
}

fn info((id, part): (BufId, Part), nf: i32) -> Result<ShareInfo, i32> {
    open_device()?.share_info(id, part).map_err(|e| code(e, nf))
}

/// Number of imports of the buffer behind an fd (its share clients).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_share_info(fd: i32, share_client_cnt: *mut i32) -> i32 {
    call(|| {
        open_device()?;
        let i = info(buf_of_fd(fd)?, HB_MEM_ERR_INVALID_FD)?;
        out(share_client_cnt, i.imports as i32)
    })
}

/// `hb_mem_get_share_info` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_share_info_with_vaddr(virt_addr: u64, share_client_cnt: *mut i32) -> i32 {
    call(|| {
        open_device()?;
        let i = info(buf_of_vaddr(virt_addr)?, HB_MEM_ERR_INVALID_VADDR)?;
        out(share_client_cnt, i.imports as i32)
    })
}

/// A timeout in ms: negative waits forever.
fn timeout(ms: i64) -> Option<Duration> {
    (ms >= 0).then(|| Duration::from_millis(ms as u64))
}

fn wait((id, part): (BufId, Part), t: i64, nf: i32, done: impl Fn(&ShareInfo) -> bool) -> Result<(), i32> {
    let dev = open_device()?;
    dev.wait_share(id, part, timeout(t), done).map(|_| ()).map_err(|e| code(e, nf))
}

/// Wait until the buffer has at most `share_client_cnt` imports.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_wait_share_status(fd: i32, share_client_cnt: i32, timeout: i64) -> i32 {
    call(|| {
        open_device()?;
        if share_client_cnt < 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        wait(buf_of_fd(fd)?, timeout, HB_MEM_ERR_INVALID_FD, |s| {
            s.imports as i32 <= share_client_cnt
        })
    })
}

/// `hb_mem_wait_share_status` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_wait_share_status_with_vaddr(virt_addr: u64, share_client_cnt: i32, timeout: i64) -> i32 {
    call(|| {
        open_device()?;
        if share_client_cnt < 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        wait(buf_of_vaddr(virt_addr)?, timeout, HB_MEM_ERR_INVALID_VADDR, |s| {
            s.imports as i32 <= share_client_cnt
        })
    })
}

/// The consume count of the buffer behind an fd.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_consume_info(fd: i32, share_consume_cnt: *mut i32) -> i32 {
    call(|| {
        open_device()?;
        let i = info(consume_of_fd(fd)?, HB_MEM_ERR_INVALID_FD)?;
        out(share_consume_cnt, i.consume)
    })
}

/// `hb_mem_get_consume_info` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_consume_info_with_vaddr(virt_addr: u64, share_consume_cnt: *mut i32) -> i32 {
    call(|| {
        open_device()?;
        let i = info(consume_of_vaddr(virt_addr)?, HB_MEM_ERR_INVALID_VADDR)?;
        out(share_consume_cnt, i.consume)
    })
}

/// Wait until the consume count equals `share_consume_cnt`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_wait_consume_status(fd: i32, share_consume_cnt: i32, timeout: i64) -> i32 {
    call(|| {
        open_device()?;
        if share_consume_cnt < 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        wait(consume_of_fd(fd)?, timeout, HB_MEM_ERR_INVALID_FD, |s| {
            s.consume == share_consume_cnt
        })
    })
}

/// `hb_mem_wait_consume_status` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_wait_consume_status_with_vaddr(virt_addr: u64, share_consume_cnt: i32, timeout: i64) -> i32 {
    call(|| {
        open_device()?;
        if share_consume_cnt < 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        wait(consume_of_vaddr(virt_addr)?, timeout, HB_MEM_ERR_INVALID_VADDR, |s| {
            s.consume == share_consume_cnt
        })
    })
}

fn consume((id, part): (BufId, Part), delta: i32, nf: i32) -> Result<(), i32> {
    open_device()?.consume_add(id, part, delta).map(|_| ()).map_err(|e| code(e, nf))
}

/// Add one to the consume count of a common buffer (by its struct).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_inc_com_buf_consume_cnt(buf: *mut hb_mem_common_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        // SAFETY: caller passes NULL or a valid struct.
        let Some(b) = (unsafe { buf.as_ref() }) else {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        };
        let bad = |e| code(e, HB_MEM_ERR_INVALID_PARAMS);
        let whole = dev.find_share(b.share_id).map_err(bad)?;
        let off = b.phys_addr.checked_sub(whole.phys).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
        let (whole, part) = dev.find_share_range(b.share_id, off, b.size).map_err(bad)?;
        consume((whole.id, part), 1, HB_MEM_ERR_INVALID_PARAMS)
    })
}

/// Take one from the consume count of the buffer behind an fd.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_dec_consume_cnt(fd: i32) -> i32 {
    call(|| {
        open_device()?;
        consume(consume_of_fd(fd)?, -1, HB_MEM_ERR_INVALID_FD)
    })
}

/// `hb_mem_dec_consume_cnt` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_dec_consume_cnt_with_vaddr(virt_addr: u64) -> i32 {
    call(|| {
        open_device()?;
        consume(consume_of_vaddr(virt_addr)?, -1, HB_MEM_ERR_INVALID_VADDR)
    })
}

fn user_consume(fd: Option<i32>, vaddr: u64, delta: i32) -> Result<(), i32> {
    open_device()?;
    let fd = match fd {
        Some(fd) => fd,
        None => state().at(vaddr as usize, 0).map(|(fd, _)| fd).ok_or(HB_MEM_ERR_INVALID_VADDR)?,
    };
    // Documented as not supported for graphic buffer groups, pool and
    // share-pool buffers. (The graphic table is asked before the record
    // lock is taken: it takes that lock itself.)
    if super::graphic::type_of_fd(fd) == hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let mut st = state();
    let r = st.recs.get_mut(&fd).ok_or(HB_MEM_ERR_INVALID_FD)?;
    if matches!(
        r.hold,
        Hold::MemPool | Hold::PoolView | Hold::Block(_) | Hold::Import(Part::Block(_))
    ) {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let v = r.user_consume + delta;
    if v < 0 {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    r.user_consume = v;
    Ok(())
}

/// Add one to this process's user consume count of a buffer.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_inc_user_consume_cnt(hb_fd: i32) -> i32 {
    call(|| user_consume(Some(hb_fd), 0, 1))
}

/// Take one from this process's user consume count of a buffer.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_dec_user_consume_cnt(hb_fd: i32) -> i32 {
    call(|| user_consume(Some(hb_fd), 0, -1))
}

/// `hb_mem_inc_user_consume_cnt` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_inc_user_consume_cnt_with_vaddr(virt_addr: u64) -> i32 {
    call(|| user_consume(None, virt_addr, 1))
}

/// `hb_mem_dec_user_consume_cnt` by virtual address.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_dec_user_consume_cnt_with_vaddr(virt_addr: u64) -> i32 {
    call(|| user_consume(None, virt_addr, -1))
}
