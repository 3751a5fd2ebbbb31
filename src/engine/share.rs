//! Sharing a buffer between processes: share ids, imports counted per
//! holder, consume counts, and waiting for either to reach a value.
//!
//! A buffer lives while its owner or any importer holds it: when the owner
//! frees a buffer that others imported, it becomes an orphan that the last
//! importer's release (or death) frees. An import of a pool buffer holds
//! one block (`Part::Block`): the block stays out of its pool until its
//! allocator and every importer have let go. Waits sleep on a per-buffer futex
//! word in the shared table, bumped on every change.

use super::device::{BufId, BufInfo, Device, Guard};
use super::process::{self, ProcId};
use super::shared::{RefRec, R_LIVE};
use super::tlsf::NIL;
use crate::error::{Error, Result};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Share ids carry 10 bits of the buffer's generation so a stale id of a
/// reused table slot does not name the new buffer.
const INDEX_BITS: u32 = 21;

/// How often a share wait checks for dead holders.
const REAP_EVERY: Duration = Duration::from_millis(100);

/// Largest buffer table a share id can index.
pub const MAX_SHARED_INDEX: u32 = (1 << INDEX_BITS) - 1;

pub(crate) fn share_id_of(bi: u32, gen: u64) -> i32 {
    ((((gen & 0x3FF) as u32) << INDEX_BITS) | (bi + 1)) as i32
}

/// What an import holds: a whole buffer, or one block of a pool buffer
/// (which then stays out of its pool while imported).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Part {
    #[default]
    Whole,
    Block(u32),
}

impl Part {
    /// As stored in an import record.
    fn code(self) -> u32 {
        match self {
            Part::Whole => 0,
            Part::Block(k) => k.saturating_add(1),
        }
    }
}

/// Sharing state of a buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShareInfo {
    pub share_id: i32,
    /// Live imports (by any process).
    pub imports: u32,
    pub consume: i32,
    /// The owner has freed it.
    pub orphan: bool,
}

impl Guard<'_> {
    fn by_share(&self, share_id: i32) -> Result<u32> {
        if share_id <= 0 {
            return Err(Error::InvalidArgument);
        }
        let s = share_id as u32;
        let bi = (s & MAX_SHARED_INDEX).checked_sub(1).ok_or(Error::NotFound)?;
        let b = self.v.bufs.get(bi as usize).ok_or(Error::NotFound)?;
        if bi >= self.v.meta.buf_high || b.state != R_LIVE || share_id_of(bi, b.gen) != share_id {
            return Err(Error::NotFound);
        }
        Ok(bi)
    }

    fn new_ref(&mut self) -> Result<u32> {
        let m = &mut *self.v.meta;
        if m.ref_free != NIL {
            let r = m.ref_free;
            m.ref_free = self.v.refs[r as usize].next;
            Ok(r)
        } else if (m.ref_high as usize) < self.v.refs.len() {
            m.ref_high += 1;
            Ok(m.ref_high - 1)
        } else {
            Err(Error::LimitReached)
        }
    }

    /// The pool and slot of block `k` of pool buffer `bi`, while its pool
    /// lives.
    pub(crate) fn block_slot(&self, bi: u32, k: u32) -> Option<(usize, usize)> {
        let b = &self.v.bufs[bi as usize];
        let p = self.v.pools.get(b.pool as usize)?;
        (p.state == R_LIVE && p.buf == bi && k < p.blk_cnt).then_some((b.pool as usize, (p.slot_first + k) as usize))
    }

    /// What `[off, off + len)` of buffer `bi` names: the whole buffer, or
    /// for a pool buffer the block it lies in, which must be out (a freed
    /// block is `NotFound`). A range over several blocks is invalid.
    fn part_at(&self, bi: u32, off: u64, len: u64) -> Result<Part> {
        let b = &self.v.bufs[bi as usize];
        if len == 0 || off.checked_add(len).is_none_or(|e| e > b.size) {
            return Err(Error::InvalidArgument);
        }
        let Some(p) = self.v.pools.get(b.pool as usize).filter(|p| p.state == R_LIVE && p.buf == bi) else {
            return Ok(Part::Whole);
        };
        let k = off / p.stride;
        if off % p.stride + len > p.blk_size {
            return Err(Error::InvalidArgument);
        }
        let (_, si) = self.block_slot(bi, k as u32).ok_or(Error::InvalidArgument)?;
        let sl = &self.v.slots[si];
        if sl.users == 0 && sl.imports == 0 {
            return Err(Error::NotFound);
        }
        Ok(Part::Block(k as u32))
    }

    /// Add one import of `part` of `bi` by `me`.
    pub(crate) fn add_import(&mut self, bi: u32, me: ProcId, part: Part) -> Result<()> {
        let code = part.code();
        let slot = match part {
            Part::Whole => None,
            Part::Block(k) => Some(self.block_slot(bi, k).ok_or(Error::NotFound)?.1),
        };
        let mut r = self.v.bufs[bi as usize].ref_head;
        let mut found = None;
        while r != NIL {
            let rec = &self.v.refs[r as usize];
            if rec.pid == me.pid && rec.start == me.start && rec.block == code {
                found = Some(r);
                break;
            }
            r = rec.next;
        }
        match found {
            Some(r) => {
                let c = &mut self.v.refs[r as usize].count;
                *c = c.checked_add(1).ok_or(Error::LimitReached)?;
            }
            None => {
                let r = self.new_ref()?;
                self.v.refs[r as usize] = RefRec {
                    next: self.v.bufs[bi as usize].ref_head,
                    count: 1,
                    pid: me.pid,
                    block: code,
                    start: me.start,
                };
                self.v.bufs[bi as usize].ref_head = r;
            }
        }
        self.v.bufs[bi as usize].imports += 1;
        if let Some(si) = slot {
            self.v.slots[si].imports += 1;
        }
        Ok(())
    }

    /// Drop `n` imports of `part` of `bi` by `who` (all of them if `n` is
    /// None; of every part if `part` is None). A block whose last hold goes
    /// returns to its pool; an orphan whose last import goes is freed.
    /// Returns the imports dropped.
    pub(crate) fn drop_imports(&mut self, bi: u32, who: ProcId, n: Option<u32>, part: Option<Part>) -> u32 {
        if self.v.bufs[bi as usize].state != R_LIVE {
            return 0;
        }
        let mut prev = NIL;
        let mut r = self.v.bufs[bi as usize].ref_head;
        let mut dropped = 0;
        while r != NIL {
            let rec = self.v.refs[r as usize];
            if rec.pid != who.pid || rec.start != who.start || part.is_some_and(|p| p.code() != rec.block) {
                prev = r;
                r = rec.next;
                continue;
            }
            let d = n.unwrap_or(rec.count).min(rec.count);
            if d == rec.count {
                if prev == NIL {
                    self.v.bufs[bi as usize].ref_head = rec.next;
                } else {
                    self.v.refs[prev as usize].next = rec.next;
                }
                self.v.refs[r as usize].next = self.v.meta.ref_free;
                self.v.meta.ref_free = r;
            } else {
                self.v.refs[r as usize].count -= d;
                prev = r;
            }
            if rec.block != 0 {
                if let Some((pi, si)) = self.block_slot(bi, rec.block - 1) {
                    let sl = &mut self.v.slots[si];
                    sl.imports -= d.min(sl.imports);
                    if sl.imports == 0 && sl.users == 0 {
                        self.block_freed(pi, rec.block - 1);
                    }
                }
            }
            dropped += d;
            if part.is_some() {
                break;
            }
            r = rec.next;
        }
        let b = &mut self.v.bufs[bi as usize];
        b.imports -= dropped.min(b.imports);
        if b.orphan != 0 && b.imports == 0 {
            self.release_buf(bi);
        }
        dropped
    }

    pub(crate) fn bump(&self, bi: u32) {
        if let Some(w) = self.dev_shared().word(bi) {
            w.fetch_add(1, Ordering::Release);
            // SAFETY: FUTEX_WAKE on a word inside our shared mapping.
            unsafe { libc::syscall(libc::SYS_futex, w.as_ptr(), libc::FUTEX_WAKE, i32::MAX, 0usize, 0usize, 0u32) };
        }
    }

    fn share_info(&self, bi: u32, part: Part) -> Result<ShareInfo> {
        let b = &self.v.bufs[bi as usize];
        let share_id = share_id_of(bi, b.gen);
        Ok(match part {
            Part::Whole => ShareInfo {
                share_id,
                imports: b.imports,
                consume: b.consume,
                orphan: b.orphan != 0,
            },
            // The pool went first (its creator died): the buffer lives on
            // for the imports of its blocks alone.
            Part::Block(_) if b.pool == NIL => self.share_info(bi, Part::Whole)?,
            Part::Block(k) => {
                let sl = &self.v.slots[self.block_slot(bi, k).ok_or(Error::NotFound)?.1];
                if sl.users == 0 && sl.imports == 0 {
                    return Err(Error::NotFound);
                }
                ShareInfo {
                    share_id,
                    imports: sl.imports,
                    consume: sl.consume,
                    orphan: sl.users == 0,
                }
            }
        })
    }

    /// The consume count of `part` of `bi`.
    fn consume_mut(&mut self, bi: u32, part: Part) -> Result<&mut i32> {
        match part {
            Part::Block(_) if self.v.bufs[bi as usize].pool == NIL => Ok(&mut self.v.bufs[bi as usize].consume),
            Part::Whole => Ok(&mut self.v.bufs[bi as usize].consume),
            Part::Block(k) => {
                let si = self.block_slot(bi, k).ok_or(Error::NotFound)?.1;
                Ok(&mut self.v.slots[si].consume)
            }
        }
    }
}

impl Device {
    /// A buffer's share id: what another process passes to `import_share`.
    pub fn share_id(&self, id: BufId) -> Result<i32> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        Ok(share_id_of(bi, id.gen))
    }

    /// Import a whole buffer by share id: one more holder (this process)
    /// keeps it alive until `unimport`.
    pub fn import_share(&self, share_id: i32) -> Result<BufInfo> {
        let me = process::current();
        let mut g = self.lock()?;
        g.register_me(me)?;
        let bi = g.by_share(share_id)?;
        g.add_import(bi, me, Part::Whole)?;
        g.bump(bi);
        Ok(g.info(bi))
    }

    /// Import `[off, off + len)` of a buffer by share id. In a pool buffer
    /// the range must lie in one block that is out, and the import holds
    /// that block (it does not return to the pool while imported);
    /// elsewhere it holds the whole buffer. Returns what it holds.
    pub fn import_share_range(&self, share_id: i32, off: u64, len: u64) -> Result<(BufInfo, Part)> {
        let me = process::current();
        let mut g = self.lock()?;
        g.register_me(me)?;
        let bi = g.by_share(share_id)?;
        let part = g.part_at(bi, off, len)?;
        g.add_import(bi, me, part)?;
        g.bump(bi);
        Ok((g.info(bi), part))
    }

    /// The live buffer a share id names, without importing it.
    pub fn find_share(&self, share_id: i32) -> Result<BufInfo> {
        let g = self.lock()?;
        let bi = g.by_share(share_id)?;
        Ok(g.info(bi))
    }

    /// `find_share` for `[off, off + len)` of the buffer, and what an
    /// import of that range would hold (see `import_share_range`).
    pub fn find_share_range(&self, share_id: i32, off: u64, len: u64) -> Result<(BufInfo, Part)> {
        let g = self.lock()?;
        let bi = g.by_share(share_id)?;
        let part = g.part_at(bi, off, len)?;
        Ok((g.info(bi), part))
    }

    /// Drop one import of `part` by this process.
    pub fn unimport(&self, id: BufId, part: Part) -> Result<()> {
        let me = process::current();
        let mut g = self.lock()?;
        let bi = g.live(id)?;
        if g.drop_imports(bi, me, Some(1), Some(part)) == 0 {
            return Err(Error::NotFound);
        }
        g.bump(bi);
        drop(g);
        Ok(())
    }

    /// Sharing state of `part` of a buffer. For a block, `imports` counts
    /// its imports and `orphan` says its allocator has freed it.
    pub fn share_info(&self, id: BufId, part: Part) -> Result<ShareInfo> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        g.share_info(bi, part)
    }

    /// Processes holding `part` of a buffer: for the whole buffer its
    /// owner (unless it freed it) and every importer; for a pool block its
    /// allocator (while it holds it) and that block's importers.
    pub fn holders(&self, id: BufId, part: Part) -> Result<Vec<i32>> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        let b = &g.v.bufs[bi as usize];
        let mut out = Vec::new();
        match part {
            Part::Block(k) if b.pool != NIL => {
                let sl = &g.v.slots[g.block_slot(bi, k).ok_or(Error::NotFound)?.1];
                if sl.users == 0 && sl.imports == 0 {
                    return Err(Error::NotFound);
                }
                if sl.users > 0 {
                    out.push(sl.owner_pid);
                }
            }
            _ if b.orphan == 0 => out.push(b.owner_pid),
            _ => {}
        }
        let code = match part {
            Part::Block(_) if b.pool != NIL => Some(part.code()),
            _ => None,
        };
        let mut r = b.ref_head;
        while r != NIL {
            let rec = &g.v.refs[r as usize];
            if code.is_none_or(|c| rec.block == c) && !out.contains(&rec.pid) {
                out.push(rec.pid);
            }
            r = rec.next;
        }
        Ok(out)
    }

    /// Add `delta` to the consume count of `part`; it may not go below
    /// zero. Returns the new count.
    pub fn consume_add(&self, id: BufId, part: Part, delta: i32) -> Result<i32> {
        let mut g = self.lock()?;
        let bi = g.live(id)?;
        g.share_info(bi, part)?;
        let c = g.consume_mut(bi, part)?;
        let v = c.checked_add(delta).filter(|v| *v >= 0).ok_or(Error::InvalidArgument)?;
        *c = v;
        g.bump(bi);
        Ok(v)
    }

    /// Wait until `done` holds for the sharing state of `part`, or the
    /// timeout passes (`Timeout`); `None` waits forever. A buffer (or
    /// block) that goes away while waited on is `NotFound`.
    pub fn wait_share(&self, id: BufId, part: Part, timeout: Option<Duration>, done: impl Fn(&ShareInfo) -> bool) -> Result<ShareInfo> {
        // A timeout past what Instant can hold is forever.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        loop {
            let (seen, info, word) = {
                let g = self.lock()?;
                let bi = g.live(id)?;
                let w = g.dev_shared().word(bi).ok_or(Error::Corrupt)?;
                let seen = w.load(Ordering::Acquire);
                (seen, g.share_info(bi, part)?, w as *const std::sync::atomic::AtomicU32)
            };
            if done(&info) {
                return Ok(info);
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(l) if !l.is_zero() => l,
                    _ => return Err(Error::Timeout),
                },
                None => REAP_EVERY,
            };
            // A holder that dies wakes nobody: sleep in slices and reap
            // between them, so its imports go and the wait can end.
            let slice = left.min(REAP_EVERY);
            let ts = libc::timespec {
                tv_sec: slice.as_secs() as libc::time_t,
                tv_nsec: slice.subsec_nanos() as libc::c_long,
            };
            // SAFETY: the word lives in our shared mapping for the device's
            // lifetime; FUTEX_WAIT returns at once if it changed since `seen`.
            let r = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    (*word).as_ptr(),
                    libc::FUTEX_WAIT,
                    seen,
                    &ts as *const libc::timespec,
                    0usize,
                    0u32,
                )
            };
            if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT) && slice == REAP_EVERY {
                self.lock()?.reap()?;
            }
        }
    }
}
