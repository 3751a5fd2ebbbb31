//! The allocator engine: devices, zones, buffers, mappings and pools.
//!
//! Every vendor front calls into this module; it knows no vendor names or
//! codes. A [`Device`] is a memory domain whose table (zones, buffers,
//! pools, processes) lives in shared memory under a robust process-shared
//! lock, so processes that open the same device name see one device, as on
//! a board. Each buffer's bytes are one fd-backed object supplied by a
//! [`crate::backend::Backend`].

pub mod config;
pub mod device;
pub mod listing;
pub mod pool;
pub mod process;
pub(crate) mod shared;
pub mod tlsf;

pub use config::{Config, ZoneSpec, GRAIN};
pub use device::{attr, AllocReq, BufId, BufInfo, Device, MapInfo, SyncDir, ZoneInfo};
pub use pool::{BlockRef, PoolId, PoolInfo, PoolReq};

use crate::error::{Error, Result};
use std::sync::OnceLock;

static GLOBAL: OnceLock<std::result::Result<Device, Error>> = OnceLock::new();

extern "C" fn fork_prepare() {
    if let Some(Ok(d)) = GLOBAL.get() {
        d.fork_prepare();
    }
}

extern "C" fn fork_release() {
    Device::fork_release();
}

/// The process's device, opened on first use from the environment
/// (`ACCELMEM_DEVICE`, `ACCELMEM_ZONES`, ...). A failure to open is reported
/// once on stderr and returned to every caller.
pub fn global() -> Result<&'static Device> {
    let r = GLOBAL.get_or_init(|| {
        let r = Config::from_env().and_then(Device::open);
        match &r {
            // SAFETY: the handlers only touch the process-local lock and a
            // thread-local; registering them has no preconditions.
            Ok(_) => unsafe {
                libc::pthread_atfork(Some(fork_prepare), Some(fork_release), Some(fork_release));
            },
            Err(e) => eprintln!("accelmem: cannot open device: {e}"),
        }
        r
    });
    match r {
        Ok(d) => Ok(d),
        Err(e) => Err(*e),
    }
}
