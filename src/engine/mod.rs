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
pub mod queue;
pub mod share;
pub(crate) mod shared;
pub mod subpool;
pub mod tlsf;

pub use config::{BackendKind, Config, ZoneSpec, GRAIN};
pub use device::{attr, AllocReq, BufId, BufInfo, Device, MapInfo, Prot, SyncDir, ZoneInfo, MAP_ALLOC};
pub use pool::{BlockRef, PoolId, PoolInfo, PoolReq};
pub use share::{Part, ShareInfo};
pub use subpool::{SubBlock, SubPool, SubPoolCfg};

use crate::error::{Error, Result};
use std::any::Any;
use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

static GLOBAL: OnceLock<std::result::Result<Device, Error>> = OnceLock::new();

/// A process-local lock that must not be inherited locked by a `fork()`
/// child (whose other threads are gone, so nobody would unlock it).
pub(crate) trait ForkLock: Sync {
    /// Lock and return the guard.
    fn hold(&'static self) -> Box<dyn Any>;
}

impl<T: Send + 'static> ForkLock for Mutex<T> {
    fn hold(&'static self) -> Box<dyn Any> {
        Box::new(self.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// Front locks, in the order they are taken (before the engine's own).
static FORK_LOCKS: Mutex<Vec<&'static dyn ForkLock>> = Mutex::new(Vec::new());

thread_local! {
    static FORK_HELD: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// [`register_fork_lock`] once per `flag`. Not a `Once`: a child forked
/// while another thread was inside a `Once` would wait on it forever; a
/// flag seen unset just registers again (registration is idempotent).
pub(crate) fn register_fork_lock_once(l: &'static dyn ForkLock, flag: &std::sync::atomic::AtomicBool) {
    if !flag.load(std::sync::atomic::Ordering::Acquire) {
        register_fork_lock(l);
        flag.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Have `l` held across every `fork()` of this process. Fronts register
/// each lock they hold while calling into the engine.
pub(crate) fn register_fork_lock(l: &'static dyn ForkLock) {
    let mut v = FORK_LOCKS.lock().unwrap_or_else(|p| p.into_inner());
    if !v
        .iter()
        .any(|x| std::ptr::addr_eq(*x as *const dyn ForkLock, l as *const dyn ForkLock))
    {
        v.push(l);
    }
}

extern "C" fn fork_prepare() {
    let locks = FORK_LOCKS.lock().unwrap_or_else(|p| p.into_inner());
    let mut held: Vec<Box<dyn Any>> = locks.iter().map(|l| l.hold()).collect();
    if let Some(Ok(d)) = GLOBAL.get() {
        held.push(d.local_lock().hold());
    }
    held.push(Box::new(locks));
    FORK_HELD.with(|f| *f.borrow_mut() = held);
}

extern "C" fn fork_release() {
    // Dropping the guards unlocks, last taken first.
    FORK_HELD.with(|f| {
        let mut v = std::mem::take(&mut *f.borrow_mut());
        while v.pop().is_some() {}
    });
}

/// Devices opened with [`open_static`], for the fork and exit handlers.
static STATICS: Mutex<Vec<&'static Device>> = Mutex::new(Vec::new());

/// Open a device for the rest of the process (a front's second device, such
/// as an emulated GPU), with the same fork safety and exit report as
/// [`global`].
pub fn open_static(cfg: Config) -> Result<&'static Device> {
    global()?;
    let cfg = Config {
        backend: config::BackendKind::Emulated,
        ..cfg
    };
    let d: &'static Device = Box::leak(Box::new(Device::open(cfg)?));
    register_fork_lock(d.local_lock());
    STATICS.lock().unwrap_or_else(|p| p.into_inner()).push(d);
    Ok(d)
}

/// At exit: report on stderr, in the MMZ driver's words, every block this
/// process still holds (unless `ACCELMEM_LEAK_REPORT=0`). The blocks are
/// reclaimed once the process is gone, as the driver frees them on close.
extern "C" fn exit_report() {
    crate::ffi::guard((), || {
        if std::env::var_os("ACCELMEM_LEAK_REPORT").is_some_and(|v| v == "0") {
            return;
        }
        let Some(Ok(g)) = GLOBAL.get() else { return };
        let pid = std::process::id();
        for b in g.held_by_process().unwrap_or_default() {
            eprintln!("accelmem: MMB LEAK(pid={pid}): 0x{:X}, {} bytes, '{}'", b.phys, b.size, b.name);
        }
        let statics: Vec<&Device> = STATICS.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for d in statics {
            for b in d.held_by_process().unwrap_or_default() {
                eprintln!(
                    "accelmem: LEAK(pid={pid}) on device '{}': 0x{:X}, {} bytes, '{}'",
                    d.name(),
                    b.phys,
                    b.size,
                    b.name
                );
            }
        }
    })
}

/// The process's device, opened on first use from the environment
/// (`ACCELMEM_DEVICE`, `ACCELMEM_ZONES`, ...). A failure to open is reported
/// once on stderr and returned to every caller.
pub fn global() -> Result<&'static Device> {
    let r = GLOBAL.get_or_init(|| {
        let r = Config::from_env().and_then(Device::open);
        match &r {
            // SAFETY: registering handlers has no preconditions; the fork
            // handlers only take process-local locks, and the exit handler
            // runs inside the panic guard.
            Ok(_) => unsafe {
                libc::pthread_atfork(Some(fork_prepare), Some(fork_release), Some(fork_release));
                libc::atexit(exit_report);
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
