//! `mpi_vb.h`: video-buffer pools, as engine fixed-block pools.
#![allow(non_snake_case)]

use super::hi_comm_vb::*;
use super::hi_type::*;
use super::{vb_call, vb_err, vb_state, MAP_VB_POOL, TAG_VB_COMMON, TAG_VB_PRIVATE};
use crate::engine::{self, attr, BlockRef, Device, PoolId, PoolReq};
use crate::ffi::guard;
use crate::Error;
use std::ffi::c_void;

/// Most blocks one pool may have: a `VB_BLK` keeps the index in 16 bits.
pub(crate) const MAX_BLOCKS_PER_POOL: u32 = 0xFFFF;

fn encode(b: BlockRef) -> VB_BLK {
    ((b.pool.gen & 0x7F) << 24) | ((b.pool.index & 0xFF) << 16) | (b.index & 0xFFFF)
}

fn decode(dev: &Device, blk: VB_BLK) -> Result<BlockRef, Error> {
    if blk == VB_INVALID_HANDLE {
        return Err(Error::InvalidArgument);
    }
    let id = dev.pool_at((blk >> 16) & 0xFF)?;
    if id.gen & 0x7F != blk >> 24 || !is_vb(dev, id) {
        return Err(Error::NotFound);
    }
    dev.pool_block(id, blk & 0xFFFF)
}

/// Whether a pool is a VB pool (not another API's, such as an hbmem share
/// pool, whose blocks VB calls must not touch).
fn is_vb(dev: &Device, id: PoolId) -> bool {
    dev.pool_info(id).is_ok_and(|i| i.tag == TAG_VB_PRIVATE || i.tag == TAG_VB_COMMON)
}

/// Unmap this process's views of pools that are gone or whose index now
/// names another pool (destroyed, maybe by another process).
fn drop_stale_maps(dev: &Device, s: &mut super::VbState) {
    let stale: Vec<PoolId> = s.mapped.keys().copied().filter(|id| dev.pool_info(*id).is_err()).collect();
    for id in stale {
        if let Some(a) = s.mapped.remove(&id) {
            let _ = dev.unmap(a, MAP_VB_POOL);
        }
    }
}

fn zone_name(a: &[HI_CHAR]) -> Result<Option<String>, Error> {
    let bytes: Vec<u8> = a.iter().map(|&c| c as u8).take_while(|&c| c != 0).collect();
    if bytes.len() == a.len() {
        return Err(Error::InvalidArgument);
    }
    let s = String::from_utf8(bytes).map_err(|_| Error::InvalidArgument)?;
    Ok((!s.is_empty()).then_some(s))
}

fn check_pool_cfg(c: &VB_POOL_CONFIG_S) -> Result<Option<String>, Error> {
    if c.u64BlkSize == 0 || c.u32BlkCnt == 0 || c.u32BlkCnt > MAX_BLOCKS_PER_POOL || c.enRemapMode >= VB_REMAP_MODE_BUTT {
        return Err(Error::InvalidArgument);
    }
    zone_name(&c.acMmzName)
}

fn create(dev: &Device, c: &VB_POOL_CONFIG_S, tag: u32, name: &str) -> Result<PoolId, Error> {
    let zone = check_pool_cfg(c)?;
    let info = dev
        .pool_create(&PoolReq {
            zone: Some(zone.as_deref().unwrap_or(super::ZONE_DEFAULT)),
            blk_size: c.u64BlkSize,
            blk_cnt: c.u32BlkCnt,
            attrs: if c.enRemapMode == VB_REMAP_MODE_CACHED { attr::CACHED } else { 0 },
            name,
            tag,
        })
        // An unknown zone is a bad parameter, not a missing pool.
        .map_err(|e| if e == Error::NotFound { Error::InvalidArgument } else { e })?;
    Ok(info.id)
}

/// Set the common-pool configuration used by `HI_MPI_VB_Init`.
///
/// # Safety
/// `pstVbConfig` must be NULL or point to a valid struct.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_VB_SetConfig(pstVbConfig: *const VB_CONFIG_S) -> HI_S32 {
    guard(HI_ERR_VB_BUSY, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(c) = (unsafe { pstVbConfig.as_ref() }) else {
            return HI_ERR_VB_NULL_PTR;
        };
        if c.u32MaxPoolCnt == 0 || c.u32MaxPoolCnt > 256 {
            return HI_ERR_VB_ILLEGAL_PARAM;
        }
        for p in &c.astCommPool {
            if p.u32BlkCnt != 0 && check_pool_cfg(p).is_err() {
                return HI_ERR_VB_ILLEGAL_PARAM;
            }
        }
        let mut s = vb_state();
        if s.inited {
            return HI_ERR_VB_BUSY;
        }
        s.config = Some(*c);
        HI_SUCCESS
    })
}

/// Read back the configuration set by `HI_MPI_VB_SetConfig`.
///
/// # Safety
/// `pstVbConfig` must be NULL or point to a writable struct.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_VB_GetConfig(pstVbConfig: *mut VB_CONFIG_S) -> HI_S32 {
    guard(HI_ERR_VB_BUSY, || {
        if pstVbConfig.is_null() {
            return HI_ERR_VB_NULL_PTR;
        }
        match vb_state().config {
            Some(c) => {
                // SAFETY: checked non-NULL; caller guarantees writable.
                unsafe { *pstVbConfig = c };
                HI_SUCCESS
            }
            None => HI_ERR_VB_NOTREADY,
        }
    })
}

/// Create the configured common pools. If another process already created
/// common pools on this device, join them instead.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_Init() -> HI_S32 {
    vb_call(|dev| {
        let mut s = vb_state();
        if s.inited {
            return HI_SUCCESS;
        }
        let Some(cfg) = s.config else { return HI_ERR_VB_NOT_PERM };
        match dev.pools(Some(TAG_VB_COMMON)) {
            Ok(existing) if !existing.is_empty() => {
                s.inited = true;
                return HI_SUCCESS;
            }
            Ok(_) => {}
            Err(e) => return vb_err(e),
        }
        let mut made = Vec::new();
        for p in cfg
            .astCommPool
            .iter()
            .take(cfg.u32MaxPoolCnt.min(VB_MAX_COMM_POOLS as u32) as usize)
        {
            if p.u32BlkCnt == 0 {
                continue;
            }
            match create(dev, p, TAG_VB_COMMON, "vb_comm") {
                Ok(id) => made.push(id),
                Err(e) => {
                    for id in made {
                        let _ = dev.pool_destroy(id);
                    }
                    return vb_err(e);
                }
            }
        }
        s.common = made;
        s.inited = true;
        HI_SUCCESS
    })
}

/// Destroy the common pools this process created. Succeeds when VB is not
/// initialised (samples call it first to clear a previous run).
#[no_mangle]
pub extern "C" fn HI_MPI_VB_Exit() -> HI_S32 {
    guard(HI_ERR_VB_BUSY, || {
        let mut s = vb_state();
        if !s.inited {
            return HI_SUCCESS;
        }
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return vb_err(e),
        };
        for id in &s.common {
            if let Ok(i) = dev.pool_info(*id) {
                if i.free_cnt != i.blk_cnt {
                    return HI_ERR_VB_BUSY;
                }
            }
        }
        for id in std::mem::take(&mut s.common) {
            s.mapped.remove(&id).map(|a| dev.unmap(a, MAP_VB_POOL));
            let _ = dev.pool_destroy(id);
        }
        s.inited = false;
        HI_SUCCESS
    })
}

/// Create a private pool. `VB_INVALID_POOLID` on failure.
///
/// # Safety
/// `pstVbPoolCfg` must be NULL or point to a valid struct.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_VB_CreatePool(pstVbPoolCfg: *mut VB_POOL_CONFIG_S) -> VB_POOL {
    guard(VB_INVALID_POOLID, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(c) = (unsafe { pstVbPoolCfg.as_ref() }) else {
            return VB_INVALID_POOLID;
        };
        let Ok(dev) = engine::global() else { return VB_INVALID_POOLID };
        match create(dev, c, TAG_VB_PRIVATE, "vb_pool") {
            Ok(id) if id.index < 0xFF => id.index,
            Ok(id) => {
                let _ = dev.pool_destroy(id);
                VB_INVALID_POOLID
            }
            Err(_) => VB_INVALID_POOLID,
        }
    })
}

fn private_pool(dev: &Device, pool: VB_POOL) -> Result<PoolId, HI_S32> {
    if pool == VB_INVALID_POOLID || pool >= 0xFF {
        return Err(HI_ERR_VB_ILLEGAL_PARAM);
    }
    let id = dev.pool_at(pool).map_err(|_| HI_ERR_VB_UNEXIST)?;
    let info = dev.pool_info(id).map_err(vb_err)?;
    if info.tag != TAG_VB_PRIVATE && info.tag != TAG_VB_COMMON {
        return Err(HI_ERR_VB_UNEXIST);
    }
    Ok(id)
}

/// Destroy a private pool; `HI_ERR_VB_BUSY` while blocks are out.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_DestroyPool(Pool: VB_POOL) -> HI_S32 {
    vb_call(|dev| {
        let id = match private_pool(dev, Pool) {
            Ok(id) => id,
            Err(c) => return c,
        };
        match dev.pool_info(id) {
            Ok(i) if i.tag == TAG_VB_COMMON => return HI_ERR_VB_NOT_PERM,
            Ok(i) if i.free_cnt != i.blk_cnt => return HI_ERR_VB_BUSY,
            Ok(_) => {}
            Err(e) => return vb_err(e),
        }
        // Destroyed first: a block taken meanwhile makes it busy, and then
        // the pool's mapping must stay.
        if let Err(e) = dev.pool_destroy(id) {
            return vb_err(e);
        }
        if let Some(a) = vb_state().mapped.remove(&id) {
            let _ = dev.unmap(a, MAP_VB_POOL);
        }
        HI_SUCCESS
    })
}

/// Take a block of at least `u64BlkSize` bytes from `Pool`, or from the
/// best-fitting common pool when `Pool` is `VB_INVALID_POOLID`.
///
/// # Safety
/// `pcMmzName` must be NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_VB_GetBlock(Pool: VB_POOL, u64BlkSize: HI_U64, pcMmzName: *const HI_CHAR) -> VB_BLK {
    guard(VB_INVALID_HANDLE, || {
        let Ok(dev) = engine::global() else { return VB_INVALID_HANDLE };
        if u64BlkSize == 0 {
            return VB_INVALID_HANDLE;
        }
        let r = if Pool == VB_INVALID_POOLID {
            // SAFETY: caller passes NULL or a NUL-terminated string.
            let zone = match unsafe { crate::ffi::opt_str(pcMmzName) } {
                Ok(z) => z,
                Err(()) => return VB_INVALID_HANDLE,
            };
            dev.pool_get_fitting(TAG_VB_COMMON, u64BlkSize, zone)
        } else {
            let Ok(id) = private_pool(dev, Pool) else {
                return VB_INVALID_HANDLE;
            };
            match dev.pool_info(id) {
                Ok(i) if i.blk_size >= u64BlkSize => dev.pool_get(id),
                _ => return VB_INVALID_HANDLE,
            }
        };
        r.map(encode).unwrap_or(VB_INVALID_HANDLE)
    })
}

/// Return a block (drop one user).
#[no_mangle]
pub extern "C" fn HI_MPI_VB_ReleaseBlock(Block: VB_BLK) -> HI_S32 {
    vb_call(|dev| match decode(dev, Block).and_then(|b| dev.pool_release(b)) {
        Ok(()) => HI_SUCCESS,
        Err(_) => HI_ERR_VB_ILLEGAL_PARAM,
    })
}

/// The block at physical address `u64PhyAddr`; `VB_INVALID_HANDLE` if none.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_PhysAddr2Handle(u64PhyAddr: HI_U64) -> VB_BLK {
    guard(VB_INVALID_HANDLE, || {
        let Ok(dev) = engine::global() else { return VB_INVALID_HANDLE };
        match dev.pool_block_at(u64PhyAddr) {
            Ok(b) if is_vb(dev, b.pool) && dev.pool_users(b).is_ok_and(|u| u > 0) => encode(b),
            _ => VB_INVALID_HANDLE,
        }
    })
}

/// Physical address of a block; 0 for an invalid handle.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_Handle2PhysAddr(Block: VB_BLK) -> HI_U64 {
    guard(0, || {
        let Ok(dev) = engine::global() else { return 0 };
        match decode(dev, Block) {
            Ok(b) if dev.pool_users(b).is_ok_and(|u| u > 0) => b.phys,
            _ => 0,
        }
    })
}

/// Pool of a block; `VB_INVALID_POOLID` for an invalid handle.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_Handle2PoolId(Block: VB_BLK) -> VB_POOL {
    guard(VB_INVALID_POOLID, || {
        let Ok(dev) = engine::global() else { return VB_INVALID_POOLID };
        match decode(dev, Block) {
            Ok(b) if dev.pool_users(b).is_ok_and(|u| u > 0) => b.pool.index,
            _ => VB_INVALID_POOLID,
        }
    })
}

/// Number of users of a block.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_InquireUserCnt(Block: VB_BLK) -> HI_S32 {
    vb_call(|dev| match decode(dev, Block).and_then(|b| dev.pool_users(b)) {
        Ok(u) if u > 0 => u as HI_S32,
        _ => HI_ERR_VB_ILLEGAL_PARAM,
    })
}

/// Map a whole pool into this process (for `HI_MPI_VB_GetBlockVirAddr`).
#[no_mangle]
pub extern "C" fn HI_MPI_VB_MmapPool(Pool: VB_POOL) -> HI_S32 {
    vb_call(|dev| {
        let id = match private_pool(dev, Pool) {
            Ok(id) => id,
            Err(c) => return c,
        };
        let mut s = vb_state();
        drop_stale_maps(dev, &mut s);
        if s.mapped.contains_key(&id) {
            return HI_SUCCESS;
        }
        let info = match dev.pool_info(id) {
            Ok(i) => i,
            Err(e) => return vb_err(e),
        };
        match dev.map(info.buf.id, 0, info.buf.size, info.buf.attrs & attr::CACHED != 0, MAP_VB_POOL) {
            Ok(m) => {
                s.mapped.insert(id, m.addr);
                HI_SUCCESS
            }
            Err(e) => vb_err(e),
        }
    })
}

/// Undo `HI_MPI_VB_MmapPool`.
#[no_mangle]
pub extern "C" fn HI_MPI_VB_MunmapPool(Pool: VB_POOL) -> HI_S32 {
    vb_call(|dev| {
        // Views of pools destroyed meanwhile go too (their ids no longer
        // resolve, so they could not be named here).
        drop_stale_maps(dev, &mut vb_state());
        let id = match private_pool(dev, Pool) {
            Ok(id) => id,
            Err(c) => return c,
        };
        match vb_state().mapped.remove(&id) {
            Some(a) => {
                let _ = dev.unmap(a, MAP_VB_POOL);
                HI_SUCCESS
            }
            None => HI_ERR_VB_NOT_PERM,
        }
    })
}

/// Virtual address of physical `u64PhyAddr` in a pool mapped with
/// `HI_MPI_VB_MmapPool`.
///
/// # Safety
/// `ppVirAddr` must be NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn HI_MPI_VB_GetBlockVirAddr(Pool: VB_POOL, u64PhyAddr: HI_U64, ppVirAddr: *mut *mut c_void) -> HI_S32 {
    guard(HI_ERR_VB_BUSY, || {
        if ppVirAddr.is_null() {
            return HI_ERR_VB_NULL_PTR;
        }
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return vb_err(e),
        };
        let id = match private_pool(dev, Pool) {
            Ok(id) => id,
            Err(c) => return c,
        };
        let Some(&base) = vb_state().mapped.get(&id) else {
            return HI_ERR_VB_NOT_PERM;
        };
        let info = match dev.pool_info(id) {
            Ok(i) => i,
            Err(e) => return vb_err(e),
        };
        if u64PhyAddr < info.buf.phys || u64PhyAddr - info.buf.phys >= info.buf.size {
            return HI_ERR_VB_ILLEGAL_PARAM;
        }
        // SAFETY: checked non-NULL; caller guarantees writable.
        unsafe { *ppVirAddr = (base + (u64PhyAddr - info.buf.phys) as usize) as *mut c_void };
        HI_SUCCESS
    })
}
