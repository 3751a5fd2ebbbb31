//! The CUDA runtime memory API (CUDA 12.x ABI) on emulated GPUs.
//!
//! Each GPU is one more engine device (`<ACCELMEM_DEVICE>-gpu<N>`) with a
//! `vram` zone for device memory and a `host` zone for pinned host memory,
//! shared by every process like a real GPU. Device allocations are handed
//! out as addresses in no-access views of their buffers, so a host
//! dereference faults (and `fault.rs` names the allocation); copies use a
//! second, CPU-accessible view. Stream-ordered allocations come from an
//! engine sub-allocating pool per device.
//!
//! Work "on a stream" runs when it is issued, so stream order holds
//! trivially and every stream is always idle; events record the host time
//! at which they are reached.

pub mod cuda_runtime;
pub mod cuda_runtime_api;
pub mod driver_types;
mod errors;
mod fault;
mod props;

use crate::engine::{self, attr, AllocReq, BufId, Config, Device, Prot, SubPool, SubPoolCfg};
use crate::Error;
use driver_types::cudaError::{self, *};
use driver_types::*;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Instant;

pub(crate) type R<T = ()> = Result<T, cudaError>;

/// Mapping tags of the CUDA front.
const MAP_DEV: u32 = 0x4355_0001;
const MAP_RW: u32 = 0x4355_0002;
const MAP_POOL: u32 = 0x4355_0003;

/// The emulated runtime's version (the ABI our structs follow).
pub(crate) const RUNTIME_VERSION: i32 = 12090;
/// Row pitch alignment of `cudaMallocPitch`, as real GPUs pad rows.
pub(crate) const PITCH_ALIGN: usize = 512;
/// Alignment of every allocation (`cudaMalloc` promises at least 256).
pub(crate) const ALIGN: u64 = 256;

/// Errors that corrupt the context: once one happens, every later call
/// returns it (CUDA's sticky errors).
fn is_sticky(e: u32) -> bool {
    matches!(e, 700 | 702 | 714..=719)
}

static STICKY: AtomicU32 = AtomicU32::new(0);

thread_local! {
    static LAST_ERROR: Cell<u32> = const { Cell::new(0) };
    static CURRENT: Cell<i32> = const { Cell::new(0) };
}

/// Record an error for `cudaGetLastError`/`cudaPeekAtLastError`.
pub(crate) fn record(e: u32) {
    if e != 0 {
        LAST_ERROR.with(|c| c.set(e));
        if is_sticky(e) {
            STICKY.store(e, Ordering::Relaxed);
        }
    }
}

pub(crate) fn last_error(reset: bool) -> u32 {
    let sticky = STICKY.load(Ordering::Relaxed);
    if sticky != 0 {
        return sticky;
    }
    LAST_ERROR.with(|c| if reset { c.replace(0) } else { c.get() })
}

/// Run an export's body: panics become `cudaErrorUnknown`, a sticky error
/// answers every call, and failures are recorded for `cudaGetLastError`.
pub(crate) fn call(f: impl FnOnce() -> R) -> cudaError_t {
    crate::ffi::guard(cudaErrorUnknown as cudaError_t, || {
        let sticky = STICKY.load(Ordering::Relaxed);
        if sticky != 0 {
            return sticky;
        }
        let e = match f() {
            Ok(()) => 0,
            Err(e) => e as u32,
        };
        record(e);
        e
    })
}

/// The engine's errors as CUDA's.
pub(crate) fn cuda_err(e: Error) -> cudaError {
    match e {
        Error::OutOfMemory | Error::LimitReached => cudaErrorMemoryAllocation,
        Error::Os(c) if c == libc::ENOMEM || c == libc::ENOSPC || c == libc::EMFILE => cudaErrorMemoryAllocation,
        Error::Os(_) => cudaErrorOperatingSystem,
        Error::NotSupported => cudaErrorNotSupported,
        Error::NotReady | Error::Corrupt => cudaErrorInitializationError,
        _ => cudaErrorInvalidValue,
    }
}

/// How an allocation was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Device,
    Pitch,
    Managed,
    /// Pinned host memory (`cudaMallocHost`/`cudaHostAlloc`).
    Host,
    /// Stream-ordered, from a device pool.
    Async,
}

/// One live allocation of this process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Alloc {
    pub kind: Kind,
    pub device: i32,
    /// The engine buffer (for `Async`, the pool chunk's).
    pub buf: BufId,
    /// CPU-accessible address of the first byte.
    pub rw: usize,
    /// Bytes the caller asked for.
    pub len: usize,
    pub flags: u32,
}

/// A stream: the device it belongs to.
pub(crate) struct Stream {
    pub device: i32,
}

/// An event: flags and the time it was last reached.
pub(crate) struct Event {
    pub flags: u32,
    pub at: Option<Instant>,
}

#[derive(Default)]
pub(crate) struct State {
    /// Live allocations by the address handed out.
    pub allocs: BTreeMap<usize, Alloc>,
    /// `cudaHostRegister` ranges: start to (length, flags).
    pub registered: BTreeMap<usize, (usize, u32)>,
    pub streams: HashMap<usize, Stream>,
    pub events: HashMap<usize, Event>,
}

impl State {
    /// The allocation `addr` points into, however far a length would run.
    pub fn containing(&self, addr: usize) -> Option<(usize, Alloc)> {
        let (&start, a) = self.allocs.range(..=addr).next_back()?;
        (addr - start < a.len.max(1)).then_some((start, *a))
    }

    /// The registered host range containing `addr`.
    pub fn registered_at(&self, addr: usize) -> Option<(usize, usize, u32)> {
        let (&start, &(len, flags)) = self.registered.range(..=addr).next_back()?;
        (addr - start < len).then_some((start, len, flags))
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

pub(crate) struct StateGuard(MutexGuard<'static, Option<State>>);

impl std::ops::Deref for StateGuard {
    type Target = State;
    fn deref(&self) -> &State {
        self.0.as_ref().expect("initialised in state()")
    }
}

impl std::ops::DerefMut for StateGuard {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_mut().expect("initialised in state()")
    }
}

pub(crate) fn state() -> StateGuard {
    static REG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    engine::register_fork_lock_once(&STATE, &REG);
    let mut g = STATE.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(State::default);
    StateGuard(g)
}

/// A device's stream-ordered memory pool and its attributes.
pub(crate) struct PoolState {
    pub sub: SubPool<'static>,
    pub threshold: u64,
    pub reuse: [i32; 3],
}

/// One emulated GPU.
pub(crate) struct Gpu {
    pub ordinal: i32,
    pub dev: &'static Device,
    pub vram: u64,
    pub pool: Mutex<PoolState>,
    /// Handle of the default pool (its address is the `cudaMemPool_t`).
    pub handle: Box<u8>,
}

impl Gpu {
    pub fn pool(&self) -> MutexGuard<'_, PoolState> {
        self.pool.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn pool_handle(&self) -> cudaMemPool_t {
        &*self.handle as *const u8 as cudaMemPool_t
    }
}

/// Number of emulated GPUs (`ACCELMEM_CUDA_DEVICES`, default 1).
pub(crate) fn device_count() -> i32 {
    static N: OnceLock<i32> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("ACCELMEM_CUDA_DEVICES")
            .ok()
            .and_then(|v| v.trim().parse::<i32>().ok())
            .filter(|n| (0..=16).contains(n))
            .unwrap_or(1)
    })
}

/// A size from `var` (at least 1 MiB, whole engine grains), else `default`.
fn env_size(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|v| engine::config::parse_num(&v))
        .filter(|&v| v >= 1 << 20 && v % engine::GRAIN == 0)
        .unwrap_or(default)
}

fn vram_size() -> u64 {
    env_size("ACCELMEM_CUDA_MEM", 4 << 30)
}

/// Pinned host memory each GPU can hand out.
fn host_mem_size() -> u64 {
    env_size("ACCELMEM_CUDA_HOST_MEM", 4 << 30)
}

static GPUS: OnceLock<Vec<Result<Gpu, cudaError>>> = OnceLock::new();

fn open_gpu(n: i32) -> Result<Gpu, cudaError> {
    let base = engine::global().map_err(|_| cudaErrorInitializationError)?;
    let vram = vram_size();
    let zones = format!(
        "vram,0,0x{:x},{}:host,0,0x{:x},{}",
        0x2_0000_0000u64,
        vram,
        0x100_0000_0000u64,
        host_mem_size()
    );
    let cfg = Config {
        device: format!("{}-gpu{n}", base.name()),
        zones: engine::config::parse_zones(&zones).map_err(cuda_err)?,
        ..base.config().clone()
    };
    let dev = engine::open_static(cfg).map_err(cuda_err)?;
    let sub = SubPool::new(
        dev,
        SubPoolCfg {
            zone: Some("vram".into()),
            chunk: 2 << 20,
            unit: ALIGN,
            attrs: 0,
            name: "cudaMallocAsync pool".into(),
            tag: MAP_POOL,
            guard_view: true,
            max_bytes: 0,
            max_blocks_per_chunk: 16384,
        },
    )
    .map_err(cuda_err)?;
    Ok(Gpu {
        ordinal: n,
        dev,
        vram,
        pool: Mutex::new(PoolState {
            sub,
            threshold: 0,
            reuse: [1, 1, 1],
        }),
        handle: Box::new(0),
    })
}

/// GPU `n`, opened on first use.
pub(crate) fn gpu(n: i32) -> R<&'static Gpu> {
    if device_count() == 0 {
        return Err(cudaErrorNoDevice);
    }
    if n < 0 || n >= device_count() {
        return Err(cudaErrorInvalidDevice);
    }
    let gpus = GPUS.get_or_init(|| {
        let v: Vec<_> = (0..device_count()).map(open_gpu).collect();
        // SAFETY: registering an exit handler has no preconditions; it runs
        // inside the panic guard.
        unsafe { libc::atexit(release_idle_pools) };
        v
    });
    static REG: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !REG.load(Ordering::Acquire) {
        for g in gpus.iter().flatten() {
            engine::register_fork_lock(&g.pool);
        }
        REG.store(true, Ordering::Release);
    }
    gpus[n as usize].as_ref().map_err(|e| *e)
}

/// Whether `addr` lies in a chunk of some device's stream-ordered pool
/// (device memory, whether or not a live block holds it).
pub(crate) fn in_pool_chunk(addr: usize) -> bool {
    GPUS.get().is_some_and(|gs| gs.iter().flatten().any(|g| g.pool().sub.owns(addr)))
}

/// At exit, return pool chunks with nothing allocated in them, as the CUDA
/// driver does when the context goes; what is still allocated is a leak and
/// the engine reports it.
extern "C" fn release_idle_pools() {
    crate::ffi::guard((), || {
        if let Some(gs) = GPUS.get() {
            for g in gs.iter().flatten() {
                for (a, _) in g.pool().sub.trim_to(0) {
                    fault::remove(a);
                }
            }
        }
    })
}

/// The calling thread's current device.
pub(crate) fn current() -> R<&'static Gpu> {
    gpu(CURRENT.with(Cell::get))
}

pub(crate) fn set_current(n: i32) -> R {
    gpu(n)?;
    CURRENT.with(|c| c.set(n));
    Ok(())
}

/// Which pool a `cudaMemPool_t` names.
pub(crate) fn gpu_of_pool(p: cudaMemPool_t) -> R<&'static Gpu> {
    if p.is_null() {
        return Err(cudaErrorInvalidValue);
    }
    (0..device_count())
        .filter_map(|n| gpu(n).ok())
        .find(|g| g.pool_handle() == p)
        .ok_or(cudaErrorInvalidValue)
}

/// Allocate engine memory of `kind` on `g`: returns (handed-out address,
/// allocation record).
pub(crate) fn allocate(g: &Gpu, size: usize, kind: Kind, flags: u32) -> R<usize> {
    let (zone, name, guard) = match kind {
        Kind::Device => ("vram", "cudaMalloc", true),
        Kind::Pitch => ("vram", "cudaMallocPitch", true),
        Kind::Managed => ("vram", "cudaMallocManaged", false),
        Kind::Host => ("host", "cudaMallocHost", false),
        Kind::Async => return Err(cudaErrorInvalidValue),
    };
    let b = g
        .dev
        .alloc(&AllocReq {
            zone: Some(zone),
            size: size as u64,
            align: 0,
            attrs: if kind == Kind::Host { attr::CACHED } else { 0 },
            name,
        })
        .map_err(cuda_err)?;
    let undo = |e: Error| {
        let _ = g.dev.free(b.id);
        cuda_err(e)
    };
    let rw = g.dev.map(b.id, 0, size as u64, false, MAP_RW).map_err(undo)?;
    let addr = if guard {
        match g.dev.map_prot(b.id, 0, size as u64, false, MAP_DEV, Prot::None) {
            Ok(m) => m.addr,
            Err(e) => {
                let _ = g.dev.unmap(rw.addr, MAP_RW);
                return Err(undo(e));
            }
        }
    } else {
        rw.addr
    };
    if guard {
        let origin = if kind == Kind::Pitch {
            fault::Origin::MallocPitch
        } else {
            fault::Origin::Malloc
        };
        fault::add(addr, size, origin, g.ordinal);
    }
    state().allocs.insert(
        addr,
        Alloc {
            kind,
            device: g.ordinal,
            buf: b.id,
            rw: rw.addr,
            len: size,
            flags,
        },
    );
    Ok(addr)
}

/// Free the allocation made by [`allocate`] or from a pool at `addr`, if
/// `which` accepts it (else `cudaErrorInvalidValue`). Looked up and removed
/// under one lock: of two racing frees of one pointer only one frees it,
/// and the other cannot take a block the pool has since handed out again.
pub(crate) fn release(addr: usize, which: impl FnOnce(&Alloc) -> bool) -> R {
    let a = {
        let mut st = state();
        match st.allocs.get(&addr) {
            Some(a) if which(a) => {
                let a = *a;
                st.allocs.remove(&addr);
                a
            }
            _ => return Err(cudaErrorInvalidValue),
        }
    };
    let g = gpu(a.device)?;
    match a.kind {
        Kind::Async => {
            fault::remove(addr);
            g.pool().sub.free(addr).map_err(cuda_err)?;
        }
        _ => {
            fault::remove(addr);
            // Freeing the buffer drops both of its mappings.
            g.dev.free(a.buf).map_err(cuda_err)?;
        }
    }
    Ok(())
}

/// Allocate from `g`'s stream-ordered pool.
pub(crate) fn allocate_async(g: &Gpu, size: usize) -> R<usize> {
    let b = {
        let mut p = g.pool();
        let chunks_before = p.sub.reserved();
        let b = p.sub.alloc(size as u64).map_err(cuda_err)?;
        if p.sub.reserved() != chunks_before {
            // A new chunk: its whole range is device memory.
            let chunk_base = b.addr - b.offset as usize;
            fault::add(
                chunk_base,
                (p.sub.reserved() - chunks_before) as usize,
                fault::Origin::PoolChunk,
                g.ordinal,
            );
        }
        b
    };
    fault::add(b.addr, size, fault::Origin::MallocAsync, g.ordinal);
    state().allocs.insert(
        b.addr,
        Alloc {
            kind: Kind::Async,
            device: g.ordinal,
            buf: b.buf,
            rw: b.rw,
            len: size,
            flags: 0,
        },
    );
    Ok(b.addr)
}

/// What synchronisation does to pools: give memory above the release
/// threshold back to the device.
pub(crate) fn trim_pools() {
    for n in 0..device_count() {
        if let Ok(g) = gpu(n) {
            let mut p = g.pool();
            let keep = p.threshold.max(p.sub.used());
            for (a, _) in p.sub.shrink_to(keep) {
                fault::remove(a);
            }
        }
    }
}

/// Whether `s` is a stream handle this process may use.
pub(crate) fn check_stream(s: cudaStream_t) -> R {
    let v = s as usize;
    if v == 0 || v == 1 || v == 2 || state().streams.contains_key(&v) {
        Ok(())
    } else {
        Err(cudaErrorInvalidResourceHandle)
    }
}
