//! A two-level segregated-fit (TLSF) range allocator whose metadata lives
//! outside the memory it manages.
//!
//! Blocks are described by [`Desc`] records in a caller-provided array and are
//! linked by index, not by pointer, so the whole structure can sit in a
//! shared-memory region mapped at different addresses in different processes.
//! Allocation and free are O(1): two bitmap lookups, no scan over blocks.
//! Freed ranges are coalesced with both physical neighbours at once, so a zone
//! whose blocks are all freed is again one free block.
//!
//! Sizes and offsets are in *units* (a zone uses pages; a pool's slot space
//! uses slots). The allocator never touches the managed range itself.

use crate::error::{Error, Result};

/// "No descriptor".
pub const NIL: u32 = u32::MAX;

const SL_LOG2: u32 = 4;
const SL: usize = 1 << SL_LOG2;
/// First-level classes: enough for ranges of 2^40 units.
const FL: usize = 40;

/// Descriptor states.
pub const D_UNUSED: u32 = 0;
pub const D_FREE: u32 = 1;
pub const D_USED: u32 = 2;

/// One block: a free or used range of the managed space.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Desc {
    pub off: u64,
    pub len: u64,
    pub prev_phys: u32,
    pub next_phys: u32,
    pub prev_free: u32,
    pub next_free: u32,
    pub state: u32,
    /// Owner tag of a used block (the engine stores a buffer index here).
    pub user: u32,
}

/// The descriptor array's free list (shared by every allocator of a device).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct DescPool {
    pub free_head: u32,
    /// Descriptors at or above this index have never been used.
    pub high: u32,
}

/// Descriptors plus their free list: what one operation may touch.
pub struct Arena<'a> {
    pub descs: &'a mut [Desc],
    pub pool: &'a mut DescPool,
}

impl Arena<'_> {
    fn new_desc(&mut self) -> Result<u32> {
        let i = if self.pool.free_head != NIL {
            let i = self.pool.free_head;
            self.pool.free_head = self.descs[i as usize].next_free;
            i
        } else if (self.pool.high as usize) < self.descs.len() {
            self.pool.high += 1;
            self.pool.high - 1
        } else {
            return Err(Error::LimitReached);
        };
        self.descs[i as usize] = Desc {
            prev_phys: NIL,
            next_phys: NIL,
            prev_free: NIL,
            next_free: NIL,
            ..Desc::default()
        };
        Ok(i)
    }

    fn drop_desc(&mut self, i: u32) {
        let d = &mut self.descs[i as usize];
        d.state = D_UNUSED;
        d.next_free = self.pool.free_head;
        self.pool.free_head = i;
    }

    fn has_spare(&self, n: usize) -> bool {
        let mut room = self.descs.len() - self.pool.high as usize;
        let mut i = self.pool.free_head;
        while room < n && i != NIL {
            room += 1;
            i = self.descs[i as usize].next_free;
        }
        room >= n
    }

    /// Reset to "no descriptor in use".
    pub fn reset(&mut self) {
        self.pool.free_head = NIL;
        self.pool.high = 0;
    }
}

/// Allocator state for one managed range.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Tlsf {
    /// Length of the managed range in units (offsets run from 0).
    pub len: u64,
    /// Units in used blocks.
    pub used: u64,
    /// Number of used blocks.
    pub nused: u64,
    /// Descriptor of the block at offset 0. It never changes: splits keep
    /// the lower part and merges keep the lower block.
    pub first: u32,
    pub _pad: u32,
    pub fl_bitmap: u64,
    pub sl_bitmap: [u32; FL],
    pub heads: [[u32; SL]; FL],
}

impl Default for Tlsf {
    fn default() -> Self {
        Tlsf {
            len: 0,
            used: 0,
            nused: 0,
            first: NIL,
            _pad: 0,
            fl_bitmap: 0,
            sl_bitmap: [0; FL],
            heads: [[NIL; SL]; FL],
        }
    }
}

fn mapping(len: u64) -> (usize, usize) {
    if len < SL as u64 {
        (0, len as usize)
    } else {
        let f = 63 - len.leading_zeros();
        let fl = (f - SL_LOG2 + 1) as usize;
        let sl = ((len >> (f - SL_LOG2)) as usize) ^ SL;
        (fl, sl)
    }
}

/// Class whose every block is at least `len` long.
fn mapping_search(len: u64) -> Option<(usize, usize)> {
    if len < SL as u64 {
        return Some((0, len as usize));
    }
    let f = 63 - len.leading_zeros();
    let rounded = len.checked_add((1u64 << (f - SL_LOG2)) - 1)?;
    let (fl, sl) = mapping(rounded);
    (fl < FL).then_some((fl, sl))
}

impl Tlsf {
    /// Make the whole range `[0, len)` one free block.
    pub fn init(&mut self, ar: &mut Arena, len: u64) -> Result<()> {
        *self = Tlsf::default();
        self.len = len;
        if len == 0 {
            return Ok(());
        }
        if mapping(len).0 >= FL {
            return Err(Error::InvalidArgument);
        }
        let d = ar.new_desc()?;
        ar.descs[d as usize].off = 0;
        ar.descs[d as usize].len = len;
        self.first = d;
        self.insert_free(ar, d);
        Ok(())
    }

    fn insert_free(&mut self, ar: &mut Arena, d: u32) {
        let (fl, sl) = mapping(ar.descs[d as usize].len);
        let head = self.heads[fl][sl];
        {
            let b = &mut ar.descs[d as usize];
            b.state = D_FREE;
            b.prev_free = NIL;
            b.next_free = head;
        }
        if head != NIL {
            ar.descs[head as usize].prev_free = d;
        }
        self.heads[fl][sl] = d;
        self.fl_bitmap |= 1 << fl;
        self.sl_bitmap[fl] |= 1 << sl;
    }

    fn remove_free(&mut self, ar: &mut Arena, d: u32) {
        let (fl, sl) = mapping(ar.descs[d as usize].len);
        let (p, n) = {
            let b = &ar.descs[d as usize];
            (b.prev_free, b.next_free)
        };
        if p != NIL {
            ar.descs[p as usize].next_free = n;
        } else {
            self.heads[fl][sl] = n;
            if n == NIL {
                self.sl_bitmap[fl] &= !(1 << sl);
                if self.sl_bitmap[fl] == 0 {
                    self.fl_bitmap &= !(1 << fl);
                }
            }
        }
        if n != NIL {
            ar.descs[n as usize].prev_free = p;
        }
    }

    fn find_free(&self, ar: &Arena, len: u64) -> Option<u32> {
        if let Some(d) = self.find_free_class(len) {
            return Some(d);
        }
        // The good-fit search rounds up to the next class; the class holding
        // `len` itself may still have a block long enough (e.g. the whole
        // range, free, asked for whole). Walk that one list only on a miss.
        let (fl, sl) = mapping(len);
        let mut i = if fl < FL { self.heads[fl][sl] } else { NIL };
        while i != NIL {
            if ar.descs[i as usize].len >= len {
                return Some(i);
            }
            i = ar.descs[i as usize].next_free;
        }
        None
    }

    fn find_free_class(&self, len: u64) -> Option<u32> {
        let (mut fl, sl) = mapping_search(len)?;
        let mut sl_map = self.sl_bitmap[fl] & (!0u32 << sl);
        if sl_map == 0 {
            let fl_map = self.fl_bitmap & (!0u64).checked_shl(fl as u32 + 1).unwrap_or(0);
            if fl_map == 0 {
                return None;
            }
            fl = fl_map.trailing_zeros() as usize;
            sl_map = self.sl_bitmap[fl];
        }
        let sl = sl_map.trailing_zeros() as usize;
        let d = self.heads[fl][sl];
        (d != NIL).then_some(d)
    }

    /// Split `d` so that it is `len` long; the tail becomes a free block.
    fn split_tail(&mut self, ar: &mut Arena, d: u32, len: u64) -> Result<()> {
        let (off, total, next) = {
            let b = &ar.descs[d as usize];
            (b.off, b.len, b.next_phys)
        };
        if total == len {
            return Ok(());
        }
        let t = ar.new_desc()?;
        {
            let tb = &mut ar.descs[t as usize];
            tb.off = off + len;
            tb.len = total - len;
            tb.prev_phys = d;
            tb.next_phys = next;
        }
        if next != NIL {
            ar.descs[next as usize].prev_phys = t;
        }
        let b = &mut ar.descs[d as usize];
        b.len = len;
        b.next_phys = t;
        self.insert_free(ar, t);
        Ok(())
    }

    /// Allocate `len` units aligned to `align` units (a power of two, or 0/1
    /// for none). Returns the descriptor of the used block; its `off` is the
    /// offset. `user` is stored in the descriptor.
    pub fn alloc(&mut self, ar: &mut Arena, len: u64, align: u64, user: u32) -> Result<u32> {
        if len == 0 {
            return Err(Error::InvalidArgument);
        }
        let align = align.max(1);
        if !align.is_power_of_two() {
            return Err(Error::InvalidArgument);
        }
        if len > self.len {
            return Err(Error::OutOfMemory);
        }
        // Any block of len+align-1 has an aligned start with len after it.
        let search = len.checked_add(align - 1).ok_or(Error::OutOfMemory)?;
        let d = self.find_free(ar, search).ok_or(Error::OutOfMemory)?;
        // Reserve descriptors for both splits before changing anything, so
        // a full descriptor table fails cleanly.
        let (off0, blen) = (ar.descs[d as usize].off, ar.descs[d as usize].len);
        let lead0 = off0.next_multiple_of(align) - off0;
        let need = usize::from(lead0 > 0) + usize::from(blen - lead0 > len);
        if !ar.has_spare(need) {
            return Err(Error::LimitReached);
        }
        self.remove_free(ar, d);
        let off = ar.descs[d as usize].off;
        let lead = off.next_multiple_of(align) - off;
        let d = if lead > 0 {
            // Keep the leading part free; the aligned rest is the candidate.
            self.split_tail(ar, d, lead)?;
            let rest = ar.descs[d as usize].next_phys;
            self.remove_free(ar, rest);
            self.insert_free(ar, d);
            rest
        } else {
            d
        };
        self.split_tail(ar, d, len)?;
        let b = &mut ar.descs[d as usize];
        b.state = D_USED;
        b.user = user;
        b.prev_free = NIL;
        b.next_free = NIL;
        self.used += len;
        self.nused += 1;
        Ok(d)
    }

    /// Free a used block, coalescing it with free neighbours.
    pub fn free(&mut self, ar: &mut Arena, d: u32) -> Result<()> {
        if d as usize >= ar.descs.len() || ar.descs[d as usize].state != D_USED {
            return Err(Error::NotFound);
        }
        let len = ar.descs[d as usize].len;
        self.used -= len;
        self.nused -= 1;
        let mut d = d;
        let prev = ar.descs[d as usize].prev_phys;
        if prev != NIL && ar.descs[prev as usize].state == D_FREE {
            self.remove_free(ar, prev);
            self.absorb_next(ar, prev);
            d = prev;
        }
        let next = ar.descs[d as usize].next_phys;
        if next != NIL && ar.descs[next as usize].state == D_FREE {
            self.remove_free(ar, next);
            self.absorb_next(ar, d);
        }
        self.insert_free(ar, d);
        Ok(())
    }

    /// Merge `d`'s physical successor into `d`.
    fn absorb_next(&mut self, ar: &mut Arena, d: u32) {
        let n = ar.descs[d as usize].next_phys;
        let (nlen, nn) = {
            let b = &ar.descs[n as usize];
            (b.len, b.next_phys)
        };
        ar.descs[d as usize].len += nlen;
        ar.descs[d as usize].next_phys = nn;
        if nn != NIL {
            ar.descs[nn as usize].prev_phys = d;
        }
        ar.drop_desc(n);
    }

    /// Rebuild from a list of used ranges `(off, len, user)`, which must be
    /// sorted, disjoint and inside the range. Returns the descriptor of each
    /// used range in the same order. Used after a crash to repair state from
    /// the buffer table, which is the source of truth.
    pub fn rebuild(&mut self, ar: &mut Arena, len: u64, used: &[(u64, u64, u32)]) -> Result<Vec<u32>> {
        *self = Tlsf::default();
        self.len = len;
        let mut out = Vec::with_capacity(used.len());
        let mut prev = NIL;
        let mut cursor = 0u64;
        let mut link = |ar: &mut Arena, t: &mut Tlsf, off: u64, l: u64, free: bool, user: u32| -> Result<u32> {
            let d = ar.new_desc()?;
            {
                let b = &mut ar.descs[d as usize];
                b.off = off;
                b.len = l;
                b.prev_phys = prev;
                b.user = user;
            }
            if prev != NIL {
                ar.descs[prev as usize].next_phys = d;
            } else {
                t.first = d;
            }
            prev = d;
            if free {
                t.insert_free(ar, d);
            } else {
                ar.descs[d as usize].state = D_USED;
                t.used += l;
                t.nused += 1;
            }
            Ok(d)
        };
        for &(off, l, user) in used {
            if off < cursor || l == 0 || off.checked_add(l).is_none_or(|e| e > len) {
                return Err(Error::Corrupt);
            }
            if off > cursor {
                link(ar, self, cursor, off - cursor, true, 0)?;
            }
            out.push(link(ar, self, off, l, false, user)?);
            cursor = off + l;
        }
        if cursor < len {
            link(ar, self, cursor, len - cursor, true, 0)?;
        }
        Ok(out)
    }

    /// Largest free block, in units (O(1): the highest non-empty class's head
    /// is not necessarily the largest, so this walks that one list).
    pub fn largest_free(&self, ar: &Arena) -> u64 {
        if self.fl_bitmap == 0 {
            return 0;
        }
        let fl = 63 - self.fl_bitmap.leading_zeros() as usize;
        let sl = 31 - self.sl_bitmap[fl].leading_zeros() as usize;
        let mut best = 0;
        let mut i = self.heads[fl][sl];
        while i != NIL {
            best = best.max(ar.descs[i as usize].len);
            i = ar.descs[i as usize].next_free;
        }
        best
    }

    /// Check every invariant; for tests and the repair path. Walks all
    /// blocks starting from the one at offset `first`.
    pub fn check(&self, ar: &Arena) -> std::result::Result<(), String> {
        let first = self.first;
        let mut off = 0;
        let mut used = 0;
        let mut nused = 0;
        let mut prev = NIL;
        let mut i = first;
        let mut prev_free = false;
        while i != NIL {
            let b = &ar.descs[i as usize];
            if b.off != off {
                return Err(format!("block {i} at {} expected {off}", b.off));
            }
            if b.prev_phys != prev {
                return Err(format!("block {i} bad prev link"));
            }
            if b.len == 0 {
                return Err(format!("block {i} empty"));
            }
            match b.state {
                D_USED => {
                    used += b.len;
                    nused += 1;
                    prev_free = false;
                }
                D_FREE => {
                    if prev_free {
                        return Err(format!("adjacent free blocks at {off}"));
                    }
                    let (fl, sl) = mapping(b.len);
                    let mut j = self.heads[fl][sl];
                    while j != NIL && j != i {
                        j = ar.descs[j as usize].next_free;
                    }
                    if j != i {
                        return Err(format!("free block {i} not in its class list"));
                    }
                    prev_free = true;
                }
                s => return Err(format!("block {i} in state {s}")),
            }
            off += b.len;
            prev = i;
            i = b.next_phys;
        }
        if off != self.len {
            return Err(format!("blocks cover {off} of {}", self.len));
        }
        if used != self.used || nused != self.nused {
            return Err(format!("used {used}/{nused} recorded {}/{}", self.used, self.nused));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fix {
        descs: Vec<Desc>,
        pool: DescPool,
        t: Tlsf,
    }

    impl Fix {
        fn new(len: u64, cap: usize) -> Fix {
            let mut f = Fix {
                descs: vec![Desc::default(); cap],
                pool: DescPool { free_head: NIL, high: 0 },
                t: Tlsf::default(),
            };
            let mut ar = Arena {
                descs: &mut f.descs,
                pool: &mut f.pool,
            };
            f.t.init(&mut ar, len).unwrap();
            f
        }
        fn ar(&mut self) -> (Arena<'_>, &mut Tlsf) {
            (
                Arena {
                    descs: &mut self.descs,
                    pool: &mut self.pool,
                },
                &mut self.t,
            )
        }
        fn check(&mut self) {
            let (ar, t) = self.ar();
            t.check(&ar).unwrap();
        }
    }

    #[test]
    fn sequential_then_full_coalesce() {
        let mut f = Fix::new(1000, 64);
        let mut ds = vec![];
        for i in 0..10 {
            let (mut ar, t) = f.ar();
            let d = t.alloc(&mut ar, 10 + i, 1, i as u32).unwrap();
            ds.push(d);
        }
        // First-fit from a single free block places blocks in address order.
        let offs: Vec<u64> = ds.iter().map(|&d| f.descs[d as usize].off).collect();
        let mut sorted = offs.clone();
        sorted.sort();
        assert_eq!(offs, sorted);
        assert_eq!(offs[0], 0);
        f.check();
        for &d in ds.iter().rev().step_by(2) {
            let (mut ar, t) = f.ar();
            t.free(&mut ar, d).unwrap();
        }
        f.check();
        for &d in ds.iter().step_by(2) {
            let (mut ar, t) = f.ar();
            t.free(&mut ar, d).unwrap();
        }
        f.check();
        let (ar, t) = f.ar();
        assert_eq!(t.largest_free(&ar), 1000);
        assert_eq!(t.used, 0);
    }

    #[test]
    fn double_free_and_bad_index() {
        let mut f = Fix::new(100, 8);
        let (mut ar, t) = f.ar();
        let d = t.alloc(&mut ar, 5, 1, 0).unwrap();
        t.free(&mut ar, d).unwrap();
        assert_eq!(t.free(&mut ar, d), Err(Error::NotFound));
        assert_eq!(t.free(&mut ar, 99), Err(Error::NotFound));
        assert_eq!(t.alloc(&mut ar, 0, 1, 0), Err(Error::InvalidArgument));
        assert_eq!(t.alloc(&mut ar, 101, 1, 0), Err(Error::OutOfMemory));
        assert_eq!(t.alloc(&mut ar, 5, 3, 0), Err(Error::InvalidArgument));
        assert_eq!(t.alloc(&mut ar, u64::MAX, 1, 0), Err(Error::OutOfMemory));
    }

    #[test]
    fn alignment() {
        let mut f = Fix::new(1 << 12, 64);
        let (mut ar, t) = f.ar();
        let a = t.alloc(&mut ar, 3, 1, 0).unwrap();
        let b = t.alloc(&mut ar, 16, 64, 0).unwrap();
        assert_eq!(ar.descs[a as usize].off, 0);
        assert_eq!(ar.descs[b as usize].off % 64, 0);
        f.check();
    }

    #[test]
    fn descriptor_exhaustion_is_clean() {
        // One descriptor for the initial block, then splits need more.
        let mut f = Fix::new(100, 2);
        let (mut ar, t) = f.ar();
        let a = t.alloc(&mut ar, 10, 1, 0).unwrap();
        assert_eq!(t.alloc(&mut ar, 10, 1, 0), Err(Error::LimitReached));
        t.free(&mut ar, a).unwrap();
        assert_eq!(t.used, 0);
        f.check();
    }

    #[test]
    fn rebuild_matches() {
        let mut f = Fix::new(100, 16);
        let (mut ar, t) = f.ar();
        ar.reset();
        let ds = t.rebuild(&mut ar, 100, &[(0, 10, 7), (20, 5, 8), (90, 10, 9)]).unwrap();
        assert_eq!(ds.len(), 3);
        assert_eq!(t.used, 25);
        f.check();
        let (mut ar, t) = f.ar();
        let d = t.alloc(&mut ar, 60, 1, 0).unwrap();
        assert_eq!(ar.descs[d as usize].off, 25);
        assert!(t.rebuild(&mut ar, 100, &[(0, 10, 0), (5, 10, 0)]).is_err());
    }
}
