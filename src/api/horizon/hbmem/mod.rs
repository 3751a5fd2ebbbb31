//! Horizon hbmem (`hb_mem_mgr.h`, X5 libhbmem): per-process state shared by
//! the function modules.
//!
//! Every buffer this process holds (allocated, imported, or a pool's block)
//! is a record keyed by its fd: the fd is a real dup of the engine buffer's
//! object, and each record has its own mapping (a distinct engine mapping
//! tag), so an import gets a new fd and a new virtual address as the
//! document says.

pub mod common;
pub mod graphic;
pub mod pool;
pub mod queue;
pub mod share;
pub mod strerror;

use super::hb_mem_err::*;
use crate::engine::{self, BlockRef, BufId, Device, Part};
use crate::Error;
use std::collections::{BTreeMap, HashMap};
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// How this process holds a record's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Allocated here: freeing it drops the owner's reference.
    Owner,
    /// Imported (a whole buffer or a share-pool block): freeing it drops
    /// one import.
    Import(Part),
    /// A share-pool block allocated here: freeing it drops the allocator's
    /// hold on the block.
    Block(BlockRef),
    /// A share pool's own fd: a view of the pool's buffer, which lives as
    /// long as the pool.
    PoolView,
    /// A memory pool's fd, allocated here: freeing it frees the buffer and
    /// ends the pool.
    MemPool,
}

/// One buffer held by this process, by fd.
pub(crate) struct Rec {
    pub buf: BufId,
    pub hold: Hold,
    /// The mapping handed out (virt_addr) and its engine tag.
    pub addr: usize,
    pub tag: u32,
    /// Offset of the mapping in the buffer and its length.
    pub offset: u64,
    pub size: u64,
    pub flags: i64,
    pub phys: u64,
    pub share_id: i32,
    pub cached: bool,
    /// This process's user consume count (`hb_mem_inc_user_consume_cnt`).
    pub user_consume: i32,
    /// A plane of a graphic buffer: freed only with its whole graphic.
    pub plane: bool,
    pub _fd: OwnedFd,
}

impl Rec {
    /// The part of the buffer this record's sharing state is about.
    pub fn part(&self) -> Part {
        match self.hold {
            Hold::Import(p) => p,
            Hold::Block(b) => Part::Block(b.index),
            Hold::Owner | Hold::PoolView | Hold::MemPool => Part::Whole,
        }
    }
}

#[derive(Default)]
pub(crate) struct State {
    /// `hb_mem_module_open` calls not yet closed.
    pub opens: u32,
    pub recs: HashMap<i32, Rec>,
    /// Mapping start to fd, for lookups by virtual address.
    pub by_addr: BTreeMap<usize, i32>,
}

impl State {
    /// The record whose mapping contains `[addr, addr + len)`.
    pub fn at(&self, addr: usize, len: u64) -> Option<(i32, &Rec)> {
        let (&start, &fd) = self.by_addr.range(..=addr).next_back()?;
        let r = self.recs.get(&fd)?;
        let off = (addr - start) as u64;
        (off < r.size.max(1) && len <= r.size - off.min(r.size)).then_some((fd, r))
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);

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

/// A mapping tag no other record uses (so every record gets its own
/// mapping, even of the same buffer).
pub(crate) fn new_tag() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    0x484D_0000 | (NEXT.fetch_add(1, Ordering::Relaxed) & 0xFFFF)
}

/// The device, if the module is open in this process.
pub(crate) fn open_device() -> Result<&'static Device, i32> {
    if state().opens == 0 {
        return Err(HB_MEM_ERR_MODULE_NOT_FOUND);
    }
    engine::global().map_err(|_| HB_MEM_ERR_MODULE_OPEN_FAIL)
}

/// The engine's errors as `HB_MEM_ERR_*` (`not_found`: what a missing
/// object means for this call, an fd or a virtual address).
pub(crate) fn code(e: Error, not_found: i32) -> i32 {
    match e {
        Error::InvalidArgument | Error::NullPointer => HB_MEM_ERR_INVALID_PARAMS,
        Error::OutOfMemory | Error::LimitReached => HB_MEM_ERR_INSUFFICIENT_MEM,
        Error::Os(c) if c == libc::EMFILE || c == libc::ENFILE => HB_MEM_ERR_TOO_MANY_FD,
        Error::Os(c) if c == libc::ENOMEM || c == libc::ENOSPC => HB_MEM_ERR_INSUFFICIENT_MEM,
        Error::NotFound => not_found,
        Error::Timeout => HB_MEM_ERR_TIMEOUT,
        Error::NotPermitted => HB_MEM_ERR_NOT_ALLOW,
        _ => HB_MEM_ERR_UNKNOWN,
    }
}

/// Write an export's result through its out pointer (NULL: invalid).
pub(crate) fn out<T>(p: *mut T, v: T) -> Result<(), i32> {
    if p.is_null() {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    // SAFETY: non-NULL output pointer the caller guarantees writable.
    unsafe { p.write(v) };
    Ok(())
}

/// The fd of this process's record whose mapping holds `vaddr`.
pub(crate) fn fd_at(vaddr: u64) -> Result<i32, i32> {
    state().at(vaddr as usize, 0).map(|(fd, _)| fd).ok_or(HB_MEM_ERR_INVALID_VADDR)
}

/// Run an export's body inside the panic guard.
pub(crate) fn call(f: impl FnOnce() -> Result<(), i32>) -> i32 {
    crate::ffi::guard(HB_MEM_ERR_UNKNOWN, || match f() {
        Ok(()) => 0,
        Err(e) => e,
    })
}
