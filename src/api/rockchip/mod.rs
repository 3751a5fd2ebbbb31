//! Rockchip RKNPU2: the memory half of `rknn_api.h` (SDK 2.3.x).
//!
//! A context is memory-only: `rknn_init` keeps the model blob as the
//! context's weight memory (no model is parsed or run), so the zero-copy
//! memory flow works and model execution answers `RKNN_ERR_MODEL_INVALID`.
//! DMA memory comes from the shared device's zones, like MMZ blocks, so a
//! buffer made by one API can be wrapped by another. The NPU's on-chip SRAM
//! and its IOMMU address space for imported fds are the zones `sram` and
//! `iova` of a second device, `<ACCELMEM_DEVICE>-npu`.

pub mod rknn_api;
pub mod rknn_api_fns;
pub mod rknn_matmul_api;
pub mod rknn_matmul_fns;

use crate::engine::{self, BufId, Config, Device};
use rknn_api::*;
use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

/// Mapping tag of this front.
pub(crate) const MAP_RKNN: u32 = 0x524B_0001;

/// One context.
pub(crate) struct Ctx {
    pub flags: u32,
    pub model: Vec<u8>,
    pub weight_size: u32,
    pub internal_size: u32,
    /// Memories the runtime allocated itself (weights, internal).
    pub own: Vec<usize>,
    /// Memories bound by `rknn_set_*_mem`: (what, index) to the mem.
    pub bound: HashMap<(u8, u32), usize>,
}

/// Where a tensor memory's bytes are.
pub(crate) enum Backing {
    /// Allocated here: an engine buffer of `dev` and its fd (its mapping
    /// goes when the buffer is freed).
    Inside {
        dev: &'static Device,
        buf: BufId,
        _fd: OwnedFd,
        cached: bool,
    },
    /// Wrapped from an fd: a duplicate of the fd, our mapping (if we made
    /// it: engine-tagged for our buffers, raw for foreign ones), and an
    /// IOVA reservation for foreign memory; `src`: the buffer made inside
    /// that this views, kept alive while the view lives.
    FromFd {
        _fd: OwnedFd,
        map: Option<Mapping>,
        iova: Option<BufId>,
        src: Option<BufId>,
    },
    /// Wrapped from a physical address of the shared device: our mapping,
    /// if we made it.
    FromPhys { map: Option<Mapping> },
}

/// A mapping this front made for a wrapped memory: an engine mapping of
/// buffer `buf` (checked before unmapping, since the buffer may have been
/// freed and the address reused), or a raw one of a foreign fd.
pub(crate) enum Mapping {
    Engine { addr: usize, buf: BufId },
    Raw { addr: usize, len: usize },
}

/// A tensor memory handed out (keyed by the struct's address).
pub(crate) struct Mem {
    pub ctx: rknn_context,
    pub no_context: bool,
    pub backing: Backing,
}

#[derive(Default)]
pub(crate) struct State {
    pub ctxs: HashMap<rknn_context, Ctx>,
    pub mems: HashMap<usize, Mem>,
    /// Buffers made inside whose memory struct was destroyed while
    /// `rknn_create_mem_from_fd` views of them lived: kept until the last
    /// view goes, as an imported dma-buf keeps its pages.
    pub zombies: HashMap<BufId, Backing>,
    /// Zombies to release once the current removal is done.
    pub pending: Vec<BufId>,
}

impl State {
    /// Remove a memory; returns the backing to release now, if any (a
    /// buffer with live views is kept instead).
    pub fn take(&mut self, ptr: usize) -> Option<Backing> {
        let m = self.mems.remove(&ptr)?;
        for c in self.ctxs.values_mut() {
            c.bound.retain(|_, v| *v != ptr);
        }
        let views_of = |st: &State, b: BufId| {
            st.mems
                .values()
                .any(|v| matches!(v.backing, Backing::FromFd { src: Some(s), .. } if s == b))
        };
        match m.backing {
            Backing::Inside { buf, .. } if views_of(self, buf) => {
                self.zombies.insert(buf, m.backing);
                None
            }
            Backing::FromFd { src: Some(b), .. } => {
                let last = !views_of(self, b);
                let zombie = if last { self.zombies.remove(&b) } else { None };
                // Release the view now and the kept buffer after it.
                if let Some(z) = zombie {
                    self.zombies.insert(b, z);
                    self.pending.push(b);
                }
                Some(m.backing)
            }
            other => Some(other),
        }
    }

    /// Kept buffers whose last view was just taken.
    pub fn reap_zombies(&mut self) -> Vec<Backing> {
        let ready: Vec<BufId> = std::mem::take(&mut self.pending);
        ready.into_iter().filter_map(|b| self.zombies.remove(&b)).collect()
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
static NEXT_CTX: AtomicU64 = AtomicU64::new(0x524B_0000_1000);

pub(crate) fn next_ctx() -> rknn_context {
    NEXT_CTX.fetch_add(0x10, Ordering::Relaxed)
}

pub(crate) struct Guard(MutexGuard<'static, Option<State>>);

impl std::ops::Deref for Guard {
    type Target = State;
    fn deref(&self) -> &State {
        self.0.as_ref().expect("initialised in state()")
    }
}

impl std::ops::DerefMut for Guard {
    fn deref_mut(&mut self) -> &mut State {
        self.0.as_mut().expect("initialised in state()")
    }
}

pub(crate) fn state() -> Guard {
    static REG: AtomicBool = AtomicBool::new(false);
    engine::register_fork_lock_once(&STATE, &REG);
    let mut g = STATE.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(State::default);
    Guard(g)
}

/// An error line in the runtime's own style.
pub(crate) fn log(msg: &str) {
    if std::env::var("RKNN_LOG_LEVEL").map_or(true, |v| v != "0") {
        eprintln!("E RKNN: {msg}");
    }
}

fn env_size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| engine::config::parse_num(&v))
        .unwrap_or(default)
}

/// Internal memory a context reports needing (`ACCELMEM_RKNN_INTERNAL_SIZE`,
/// default 1 MiB): no model is parsed, so this is configured, not derived.
pub(crate) fn internal_size() -> u32 {
    u32::try_from(env_size("ACCELMEM_RKNN_INTERNAL_SIZE", 1 << 20)).unwrap_or(u32::MAX)
}

/// The zone of the shared device that DMA memory comes from
/// (`ACCELMEM_RKNN_ZONE`; default: the device's first zone).
pub(crate) fn dma_zone() -> Option<String> {
    std::env::var("ACCELMEM_RKNN_ZONE").ok().filter(|z| !z.is_empty())
}

static NPU: OnceLock<Result<&'static Device, crate::Error>> = OnceLock::new();

/// The NPU device: `sram` (ACCELMEM_RKNN_SRAM, default 956 KiB as on
/// RK3588) and `iova` for imported memory.
pub(crate) fn npu() -> Result<&'static Device, crate::Error> {
    *NPU.get_or_init(|| {
        let base = engine::global()?;
        let sram = env_size("ACCELMEM_RKNN_SRAM", 956 << 10).next_multiple_of(engine::GRAIN);
        let zones = format!("sram,0,0xff000000,{sram}:iova,0,0x1000000000,16G");
        let cfg = Config {
            device: format!("{}-npu", base.name()),
            zones: engine::config::parse_zones(&zones)?,
            ..base.config().clone()
        };
        engine::open_static(cfg)
    })
}

/// Total and free SRAM in bytes.
pub(crate) fn sram_sizes() -> (u32, u32) {
    let Ok(d) = npu() else { return (0, 0) };
    let Ok(zones) = d.zones() else { return (0, 0) };
    zones
        .iter()
        .find(|z| z.name == "sram")
        .map_or((0, 0), |z| (z.size as u32, (z.size - z.used) as u32))
}
