//! `mpi_sys.h`: MMZ allocation, mapping and cache maintenance.
#![allow(non_snake_case)]

use super::hi_comm_sys::*;
use super::hi_type::*;
use super::{sys_call, sys_err, sys_state, MAP_MMAP, ZONE_DEFAULT};
use crate::engine::{self, attr, AllocReq, SyncDir};
use crate::ffi::{guard, opt_str};
use std::ffi::c_void;

/// Initialise the system module (per process; repeated calls succeed).
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_Init() -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || match engine::global() {
        Ok(_) => {
            sys_state().inited = true;
            HI_SUCCESS
        }
        Err(e) => sys_err(e),
    })
}

/// Shut the system module down (succeeds when it was not initialised).
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_Exit() -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || {
        sys_state().inited = false;
        HI_SUCCESS
    })
}

/// Set the picture stride alignment (a multiple of 16 from 16 to 1024).
///
/// # Safety
/// `pstSysConfig` must be NULL or point to a valid struct.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_SYS_SetConfig(pstSysConfig: *const MPP_SYS_CONFIG_S) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(c) = (unsafe { pstSysConfig.as_ref() }) else {
            return HI_ERR_SYS_NULL_PTR;
        };
        if c.u32Align == 0 || c.u32Align > 1024 || c.u32Align % 16 != 0 {
            return HI_ERR_SYS_ILLEGAL_PARAM;
        }
        let mut s = sys_state();
        if s.inited {
            return HI_ERR_SYS_NOT_PERM;
        }
        s.align = Some(c.u32Align);
        HI_SUCCESS
    })
}

/// Read back the configuration set by `HI_MPI_SYS_SetConfig`.
///
/// # Safety
/// `pstSysConfig` must be NULL or point to a writable struct.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_SYS_GetConfig(pstSysConfig: *mut MPP_SYS_CONFIG_S) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(c) = (unsafe { pstSysConfig.as_mut() }) else {
            return HI_ERR_SYS_NULL_PTR;
        };
        match sys_state().align {
            Some(a) => {
                c.u32Align = a;
                HI_SUCCESS
            }
            None => HI_ERR_SYS_NOTREADY,
        }
    })
}

unsafe fn mmz_alloc(
    phys: *mut HI_U64,
    vir: *mut *mut c_void,
    mmb: *const HI_CHAR,
    zone: *const HI_CHAR,
    len: HI_U32,
    cached: bool,
) -> HI_S32 {
    if phys.is_null() || vir.is_null() {
        return HI_ERR_SYS_NULL_PTR;
    }
    if len == 0 {
        return HI_ERR_SYS_ILLEGAL_PARAM;
    }
    // SAFETY: caller passes NULL or NUL-terminated strings.
    let Ok(zone) = (unsafe { opt_str(zone) }) else {
        return HI_ERR_SYS_ILLEGAL_PARAM;
    };
    // The driver keeps any bytes as a block name; zone names must match.
    // SAFETY: as above.
    let mmb = unsafe { crate::ffi::lossy_str(mmb) };
    let dev = match engine::global() {
        Ok(d) => d,
        Err(e) => return sys_err(e),
    };
    let req = AllocReq {
        // The driver only lets an unnamed request into the zone literally
        // named "anonymous".
        zone: Some(zone.unwrap_or(ZONE_DEFAULT)),
        size: len as u64,
        align: 0,
        attrs: if cached { attr::CACHED } else { 0 },
        name: &mmb,
    };
    match dev.alloc_mapped(&req) {
        Ok((b, m)) => {
            // SAFETY: both checked non-NULL above.
            unsafe {
                *phys = b.phys;
                *vir = m.addr as *mut c_void;
            }
            HI_SUCCESS
        }
        Err(crate::Error::NotFound) => HI_ERR_SYS_ILLEGAL_PARAM,
        Err(e) => sys_err(e),
    }
}

/// Allocate `u32Len` bytes of uncached MMZ memory from zone `strZone`
/// (NULL: "anonymous"), named `strMmb`, and map it.
///
/// # Safety
/// Pointers must be NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_SYS_MmzAlloc(
    pu64PhyAddr: *mut HI_U64,
    ppVirAddr: *mut *mut c_void,
    strMmb: *const HI_CHAR,
    strZone: *const HI_CHAR,
    u32Len: HI_U32,
) -> HI_S32 {
    // SAFETY: forwarded caller contract.
    guard(HI_ERR_SYS_NOMEM, || unsafe {
        mmz_alloc(pu64PhyAddr, ppVirAddr, strMmb, strZone, u32Len, false)
    })
}

/// As `HI_MPI_SYS_MmzAlloc`, with a cached CPU mapping.
///
/// # Safety
/// Pointers must be NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_SYS_MmzAlloc_Cached(
    pu64PhyAddr: *mut HI_U64,
    ppVirAddr: *mut *mut c_void,
    pstrMmb: *const HI_CHAR,
    pstrZone: *const HI_CHAR,
    u32Len: HI_U32,
) -> HI_S32 {
    // SAFETY: forwarded caller contract.
    guard(HI_ERR_SYS_NOMEM, || unsafe {
        mmz_alloc(pu64PhyAddr, ppVirAddr, pstrMmb, pstrZone, u32Len, true)
    })
}

/// Free an MMZ block by its physical start. `pVirAddr` may be NULL; if not,
/// it must be the address `MmzAlloc` returned for that block.
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_MmzFree(u64PhyAddr: HI_U64, pVirAddr: *mut c_void) -> HI_S32 {
    sys_call(|dev| {
        let (b, off) = match dev.find_phys(u64PhyAddr) {
            Ok(x) => x,
            Err(_) => return HI_ERR_SYS_ILLEGAL_PARAM,
        };
        if off != 0 {
            return HI_ERR_SYS_ILLEGAL_PARAM;
        }
        // Only blocks MmzAlloc made here (mapped under MAP_ALLOC), as the
        // driver frees only MMBs allocated through the same fd: not another
        // API's buffer (hbSys, hbmem, RKNN) that happens to start there.
        if !dev.is_mapped_with(b.id, engine::MAP_ALLOC) {
            return HI_ERR_SYS_NOT_PERM;
        }
        if !pVirAddr.is_null() {
            match dev.find_addr(pVirAddr as usize) {
                Ok(m) if m.buf == b.id && m.offset == 0 => {}
                _ => return HI_ERR_SYS_ILLEGAL_PARAM,
            }
        }
        match dev.free(b.id) {
            Ok(()) => HI_SUCCESS,
            Err(crate::Error::Busy) => HI_ERR_SYS_NOT_PERM,
            Err(e) => sys_err(e),
        }
    })
}

/// Check `vir` is this process's view of `phys` and the range fits; then
/// clean and invalidate it.
fn flush(phys: HI_U64, vir: *mut c_void, size: HI_U32, need_cached_map: bool) -> HI_S32 {
    let dev = match engine::global() {
        Ok(d) => d,
        Err(e) => return sys_err(e),
    };
    if phys == 0 && vir.is_null() && size == 0 {
        // Documented: no address flushes the whole cache.
        return HI_SUCCESS;
    }
    if vir.is_null() {
        return HI_ERR_SYS_NULL_PTR;
    }
    if size == 0 {
        return HI_ERR_SYS_ILLEGAL_PARAM;
    }
    let m = match dev.find_addr(vir as usize) {
        Ok(m) => m,
        Err(_) => return HI_ERR_SYS_ILLEGAL_PARAM,
    };
    // The range must be mapped by this view: up to the end of the page
    // holding its last byte (the driver translates both ends).
    let end = m.phys + m.len as u64;
    let mapped = m.len as u64 + (end.next_multiple_of(4096) - end);
    if m.phys != phys || size as u64 > mapped || (need_cached_map && !m.cached) {
        return HI_ERR_SYS_ILLEGAL_PARAM;
    }
    match dev.sync(m.buf, m.offset, size as u64, SyncDir::Both) {
        Ok(()) => HI_SUCCESS,
        Err(e) => sys_err(e),
    }
}

/// Flush (clean and invalidate) `u32Size` bytes of a cached MMZ block.
/// All three arguments 0 flush everything.
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_MmzFlushCache(u64PhyAddr: HI_U64, pVirAddr: *mut c_void, u32Size: HI_U32) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || flush(u64PhyAddr, pVirAddr, u32Size, false))
}

fn mmap(phys: HI_U64, size: HI_U32, cached: bool) -> *mut c_void {
    if size == 0 {
        return std::ptr::null_mut();
    }
    let Ok(dev) = engine::global() else { return std::ptr::null_mut() };
    let Ok((b, off)) = dev.find_phys(phys) else {
        return std::ptr::null_mut();
    };
    match dev.map(b.id, off, size as u64, cached, MAP_MMAP) {
        Ok(m) => m.addr as *mut c_void,
        Err(_) => std::ptr::null_mut(),
    }
}

/// Map `u32Size` bytes at physical `u64PhyAddr` (inside any MMZ block of
/// any process), uncached. NULL on failure.
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_Mmap(u64PhyAddr: HI_U64, u32Size: HI_U32) -> *mut c_void {
    guard(std::ptr::null_mut(), || mmap(u64PhyAddr, u32Size, false))
}

/// As `HI_MPI_SYS_Mmap`, cached: flush with `HI_MPI_SYS_MflushCache`.
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_MmapCache(u64PhyAddr: HI_U64, u32Size: HI_U32) -> *mut c_void {
    guard(std::ptr::null_mut(), || mmap(u64PhyAddr, u32Size, true))
}

/// Unmap an address returned by `HI_MPI_SYS_Mmap`/`MmapCache`.
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_Munmap(pVirAddr: *mut c_void, u32Size: HI_U32) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || {
        if pVirAddr.is_null() {
            return HI_ERR_SYS_NULL_PTR;
        }
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return sys_err(e),
        };
        // Only views made by Mmap/MmapCache: not MmzAlloc's own mapping,
        // not a VB pool's.
        match dev.mapping_at(pVirAddr as usize) {
            Ok(m) if m.tag == MAP_MMAP && u32Size != 0 && u32Size as usize <= m.len => {}
            _ => return HI_ERR_SYS_ILLEGAL_PARAM,
        }
        match dev.unmap(pVirAddr as usize, MAP_MMAP) {
            Ok(()) => HI_SUCCESS,
            Err(_) => HI_ERR_SYS_ILLEGAL_PARAM,
        }
    })
}

/// Flush a range mapped with `HI_MPI_SYS_MmapCache`.
#[no_mangle]
pub extern "C" fn HI_MPI_SYS_MflushCache(u64PhyAddr: HI_U64, pVirAddr: *mut c_void, u32Size: HI_U32) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || flush(u64PhyAddr, pVirAddr, u32Size, true))
}

/// Physical address and cache attribute of a virtual address inside an MMZ
/// mapping of this process.
///
/// # Safety
/// `pstMemInfo` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_SYS_GetVirMemInfo(pVirAddr: *const c_void, pstMemInfo: *mut SYS_VIRMEM_INFO_S) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || {
        if pVirAddr.is_null() || pstMemInfo.is_null() {
            return HI_ERR_SYS_NULL_PTR;
        }
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return sys_err(e),
        };
        match dev.find_addr(pVirAddr as usize) {
            Ok(m) => {
                // SAFETY: checked non-NULL; caller guarantees writable.
                unsafe {
                    (*pstMemInfo).u64PhyAddr = m.phys;
                    (*pstMemInfo).bCached = if m.cached { HI_TRUE } else { HI_FALSE };
                }
                HI_SUCCESS
            }
            Err(_) => HI_ERR_SYS_ILLEGAL_PARAM,
        }
    })
}
