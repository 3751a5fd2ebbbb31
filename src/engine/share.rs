//! Sharing a buffer between processes: share ids, imports counted per
//! holder, consume counts, and waiting for either to reach a value.
//!
//! A buffer lives while its owner or any importer holds it: when the owner
//! frees a buffer that others imported, it becomes an orphan that the last
//! importer's release (or death) frees. Waits sleep on a per-buffer futex
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

/// Largest buffer table a share id can index.
pub const MAX_SHARED_INDEX: u32 = (1 << INDEX_BITS) - 1;

pub(crate) fn share_id_of(bi: u32, gen: u64) -> i32 {
    ((((gen & 0x3FF) as u32) << INDEX_BITS) | (bi + 1)) as i32
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

    /// Add one import of `bi` by `me`.
    pub(crate) fn add_import(&mut self, bi: u32, me: ProcId) -> Result<()> {
        let mut r = self.v.bufs[bi as usize].ref_head;
        while r != NIL {
            let rec = &mut self.v.refs[r as usize];
            if rec.pid == me.pid && rec.start == me.start {
                rec.count += 1;
                self.v.bufs[bi as usize].imports += 1;
                return Ok(());
            }
            r = rec.next;
        }
        let r = self.new_ref()?;
        self.v.refs[r as usize] = RefRec {
            next: self.v.bufs[bi as usize].ref_head,
            count: 1,
            pid: me.pid,
            _pad: 0,
            start: me.start,
        };
        let b = &mut self.v.bufs[bi as usize];
        b.ref_head = r;
        b.imports += 1;
        Ok(())
    }

    /// Drop `n` imports of `bi` by `who` (all of them if `n` is None).
    /// Frees an orphan whose last import goes. Returns the imports dropped.
    pub(crate) fn drop_imports(&mut self, bi: u32, who: ProcId, n: Option<u32>) -> u32 {
        let mut prev = NIL;
        let mut r = self.v.bufs[bi as usize].ref_head;
        let mut dropped = 0;
        while r != NIL {
            let rec = self.v.refs[r as usize];
            if rec.pid == who.pid && rec.start == who.start {
                dropped = n.unwrap_or(rec.count).min(rec.count);
                let left = rec.count - dropped;
                if left == 0 {
                    if prev == NIL {
                        self.v.bufs[bi as usize].ref_head = rec.next;
                    } else {
                        self.v.refs[prev as usize].next = rec.next;
                    }
                    self.v.refs[r as usize].next = self.v.meta.ref_free;
                    self.v.meta.ref_free = r;
                } else {
                    self.v.refs[r as usize].count = left;
                }
                break;
            }
            prev = r;
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

    fn share_info(&self, bi: u32) -> ShareInfo {
        let b = &self.v.bufs[bi as usize];
        ShareInfo {
            share_id: share_id_of(bi, b.gen),
            imports: b.imports,
            consume: b.consume,
            orphan: b.orphan != 0,
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

    /// Import a buffer by share id: one more holder (this process) keeps
    /// it alive until `unimport`.
    pub fn import_share(&self, share_id: i32) -> Result<BufInfo> {
        let me = process::current();
        let mut g = self.lock()?;
        g.register_me(me)?;
        let bi = g.by_share(share_id)?;
        g.add_import(bi, me)?;
        g.bump(bi);
        Ok(g.info(bi))
    }

    /// The live buffer a share id names, without importing it.
    pub fn find_share(&self, share_id: i32) -> Result<BufInfo> {
        let g = self.lock()?;
        let bi = g.by_share(share_id)?;
        Ok(g.info(bi))
    }

    /// Drop one import of this process.
    pub fn unimport(&self, id: BufId) -> Result<()> {
        let me = process::current();
        let mut g = self.lock()?;
        let bi = g.live(id)?;
        if g.drop_imports(bi, me, Some(1)) == 0 {
            return Err(Error::NotFound);
        }
        g.bump(bi);
        drop(g);
        Ok(())
    }

    /// Sharing state of a buffer.
    pub fn share_info(&self, id: BufId) -> Result<ShareInfo> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        Ok(g.share_info(bi))
    }

    /// Processes holding a buffer: the owner (unless it freed it) and every
    /// importer.
    pub fn holders(&self, id: BufId) -> Result<Vec<i32>> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        let b = &g.v.bufs[bi as usize];
        let mut out = Vec::new();
        if b.orphan == 0 {
            out.push(b.owner_pid);
        }
        let mut r = b.ref_head;
        while r != NIL {
            let rec = &g.v.refs[r as usize];
            if !out.contains(&rec.pid) {
                out.push(rec.pid);
            }
            r = rec.next;
        }
        Ok(out)
    }

    /// Add `delta` to the consume count; it may not go below zero. Returns
    /// the new count.
    pub fn consume_add(&self, id: BufId, delta: i32) -> Result<i32> {
        let g = self.lock()?;
        let bi = g.live(id)?;
        let b = &mut g.v.bufs[bi as usize];
        let v = b.consume.checked_add(delta).filter(|v| *v >= 0).ok_or(Error::InvalidArgument)?;
        b.consume = v;
        g.bump(bi);
        Ok(v)
    }

    /// Wait until `done` holds for the buffer's sharing state, or the
    /// timeout passes (`Timeout`); `None` waits forever. A buffer that goes
    /// away while waited on is `NotFound`.
    pub fn wait_share(&self, id: BufId, timeout: Option<Duration>, done: impl Fn(&ShareInfo) -> bool) -> Result<ShareInfo> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            let (seen, info, word) = {
                let g = self.lock()?;
                let bi = g.live(id)?;
                let w = g.dev_shared().word(bi).ok_or(Error::Corrupt)?;
                let seen = w.load(Ordering::Acquire);
                (seen, g.share_info(bi), w as *const std::sync::atomic::AtomicU32)
            };
            if done(&info) {
                return Ok(info);
            }
            let left = match deadline {
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(l) if !l.is_zero() => Some(l),
                    _ => return Err(Error::Timeout),
                },
                None => None,
            };
            let ts = left.map(|l| libc::timespec {
                tv_sec: l.as_secs() as libc::time_t,
                tv_nsec: l.subsec_nanos() as libc::c_long,
            });
            let tsp = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: the word lives in our shared mapping for the device's
            // lifetime; FUTEX_WAIT returns at once if it changed since `seen`.
            unsafe { libc::syscall(libc::SYS_futex, (*word).as_ptr(), libc::FUTEX_WAIT, seen, tsp, 0usize, 0u32) };
        }
    }
}
