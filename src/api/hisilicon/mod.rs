//! HiSilicon MPP V4: `HI_MPI_SYS_Mmz*`/`Mmap*` and the `HI_MPI_VB_*` pools.
//!
//! One module per vendor header, so that each header is generated from the
//! module of the same name.

pub mod hi_comm_sys;
pub mod hi_comm_vb;
pub mod hi_common;
pub mod hi_defines;
pub mod hi_errno;
pub mod hi_type;
pub mod mpi_sys;
pub mod mpi_vb;

use crate::engine::{self, Device, PoolId};
use crate::ffi::guard;
use crate::Error;
use hi_comm_sys::*;
use hi_comm_vb::*;
use hi_type::HI_S32;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

/// The zone an unnamed request goes to.
pub(crate) const ZONE_DEFAULT: &str = "anonymous";
/// Engine pool tags for VB pools.
pub(crate) const TAG_VB_COMMON: u32 = 0x5642_0001;
pub(crate) const TAG_VB_PRIVATE: u32 = 0x5642_0002;

/// Mapping tags: `HI_MPI_SYS_Mmap`/`MmapCache` views, and pools mapped by
/// `HI_MPI_VB_MmapPool`. `HI_MPI_SYS_Munmap` only undoes the first kind.
pub(crate) const MAP_MMAP: u32 = 0x4849_0001;
pub(crate) const MAP_VB_POOL: u32 = 0x4849_0002;

/// Run a `HI_MPI_SYS_*` body with the device, inside the panic guard.
pub(crate) fn sys_call(f: impl FnOnce(&'static Device) -> HI_S32) -> HI_S32 {
    guard(HI_ERR_SYS_BUSY, || match engine::global() {
        Ok(d) => f(d),
        Err(e) => sys_err(e),
    })
}

/// Run a `HI_MPI_VB_*` body with the device, inside the panic guard.
pub(crate) fn vb_call(f: impl FnOnce(&'static Device) -> HI_S32) -> HI_S32 {
    guard(HI_ERR_VB_BUSY, || match engine::global() {
        Ok(d) => f(d),
        Err(e) => vb_err(e),
    })
}

/// `HI_DEF_ERR(HI_ID_VB, EN_ERR_LEVEL_ERROR, EN_ERR_NOT_SUPPORT)`; the
/// vendor header names no constant for it.
const HI_ERR_VB_NOT_SUPPORT: HI_S32 = 0xA0018008_u32 as HI_S32;

/// The engine's errors as `HI_ERR_SYS_*`.
pub(crate) fn sys_err(e: Error) -> HI_S32 {
    match e {
        Error::InvalidArgument | Error::NotFound => HI_ERR_SYS_ILLEGAL_PARAM,
        Error::NullPointer => HI_ERR_SYS_NULL_PTR,
        Error::OutOfMemory | Error::LimitReached => HI_ERR_SYS_NOMEM,
        Error::Os(c) if c == libc::ENOMEM || c == libc::ENOSPC || c == libc::EMFILE => HI_ERR_SYS_NOMEM,
        Error::Busy | Error::Timeout => HI_ERR_SYS_BUSY,
        Error::NotPermitted | Error::AlreadyExists => HI_ERR_SYS_NOT_PERM,
        Error::NotSupported => HI_ERR_SYS_NOT_SUPPORT,
        Error::NotReady | Error::Corrupt | Error::Os(_) => HI_ERR_SYS_NOTREADY,
    }
}

/// The engine's errors as `HI_ERR_VB_*`.
pub(crate) fn vb_err(e: Error) -> HI_S32 {
    match e {
        Error::InvalidArgument => HI_ERR_VB_ILLEGAL_PARAM,
        Error::NotFound => HI_ERR_VB_UNEXIST,
        Error::NullPointer => HI_ERR_VB_NULL_PTR,
        Error::OutOfMemory | Error::LimitReached => HI_ERR_VB_NOMEM,
        Error::Os(c) if c == libc::ENOMEM || c == libc::ENOSPC || c == libc::EMFILE => HI_ERR_VB_NOMEM,
        Error::Busy | Error::Timeout => HI_ERR_VB_BUSY,
        Error::NotPermitted => HI_ERR_VB_NOT_PERM,
        Error::AlreadyExists => HI_ERR_VB_EXIST,
        Error::NotSupported => HI_ERR_VB_NOT_SUPPORT,
        Error::NotReady | Error::Corrupt | Error::Os(_) => HI_ERR_VB_NOTREADY,
    }
}

#[derive(Default)]
pub(crate) struct SysState {
    pub inited: bool,
    pub align: Option<u32>,
}

#[derive(Default)]
pub(crate) struct VbState {
    pub config: Option<VB_CONFIG_S>,
    pub inited: bool,
    /// Common pools this process created.
    pub common: Vec<PoolId>,
    /// Pools mapped by `HI_MPI_VB_MmapPool`: pool (index and generation,
    /// so a pool index reused after a destroy is not mistaken for the old
    /// pool) to address.
    pub mapped: HashMap<crate::engine::PoolId, usize>,
}

static SYS: Mutex<SysState> = Mutex::new(SysState {
    inited: false,
    align: None,
});
static VB: Mutex<Option<VbState>> = Mutex::new(None);

pub(crate) fn sys_state() -> MutexGuard<'static, SysState> {
    static REG_SYS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    crate::engine::register_fork_lock_once(&SYS, &REG_SYS);
    SYS.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) struct VbGuard(MutexGuard<'static, Option<VbState>>);

impl std::ops::Deref for VbGuard {
    type Target = VbState;
    fn deref(&self) -> &VbState {
        self.0.as_ref().expect("initialised in vb_state")
    }
}

impl std::ops::DerefMut for VbGuard {
    fn deref_mut(&mut self) -> &mut VbState {
        self.0.as_mut().expect("initialised in vb_state")
    }
}

pub(crate) fn vb_state() -> VbGuard {
    static REG_VB: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    crate::engine::register_fork_lock_once(&VB, &REG_VB);
    let mut g = VB.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(VbState::default);
    VbGuard(g)
}
