//! Sub-allocating pools: engine buffers ("chunks") carved up in user space
//! by a process-local TLSF, so an allocation or free is a few instructions
//! with no system call. A pool grows by whole chunks (or is given one the
//! caller made, `adopt`) and gives back chunks that are entirely free when
//! trimmed. CUDA's stream-ordered memory pools and hbmem's memory pools are
//! fronts over this.
//!
//! Frees of small blocks go to per-size bins first (up to `BIN_DEPTH`
//! blocks of each length up to `BIN_UNITS` units), and allocations of
//! those lengths take from the bins, as malloc's per-thread caches do: the
//! common alloc/free pair then costs no split and no coalescing. Binned
//! blocks count as free; they go back to the TLSF before the pool reports
//! it is out of room, trims or clears.
//!
//! A pool belongs to one process and is not itself synchronised: a front
//! keeps it behind its own lock.

use super::device::{AllocReq, BufInfo, Device, Prot};
use super::tlsf::{Arena, Desc, DescPool, Tlsf, NIL};
use crate::error::{Error, Result};

/// Longest block (in units) the bins keep.
const BIN_UNITS: u64 = 16;
/// Most blocks each bin keeps.
const BIN_DEPTH: usize = 16;
/// Entries per leaf of a chunk's block-start table.
const LEAF: u64 = 1024;

/// How a sub-allocating pool gets and carves its chunks.
#[derive(Clone, Debug)]
pub struct SubPoolCfg {
    pub zone: Option<String>,
    /// Smallest chunk to request from the zone, in bytes.
    pub chunk: u64,
    /// Allocation granularity and alignment in bytes (a power of two).
    pub unit: u64,
    /// Chunk attributes (`attr::CACHED`, ...).
    pub attrs: u32,
    pub name: String,
    /// Mapping tag for the chunks' mappings.
    pub tag: u32,
    /// Also map each chunk with no CPU access, and hand out addresses in
    /// that view (device pointers that fault when the CPU touches them).
    pub guard_view: bool,
    /// Most bytes the pool may reserve; 0 for no limit but the zone.
    pub max_bytes: u64,
    /// Descriptors per chunk: at most about half as many live blocks.
    pub max_blocks_per_chunk: usize,
}

/// A chunk's live blocks by starting unit: a two-level table whose leaves
/// appear on first use, so a huge chunk costs a directory, not a slot per
/// unit, and a free finds its block in O(1).
struct Starts {
    dir: Vec<Option<Box<[u32; LEAF as usize]>>>,
}

impl Starts {
    fn new(units: u64) -> Starts {
        Starts {
            dir: (0..units.div_ceil(LEAF)).map(|_| None).collect(),
        }
    }

    fn get(&self, u: u64) -> u32 {
        match self.dir.get((u / LEAF) as usize) {
            Some(Some(l)) => l[(u % LEAF) as usize],
            _ => NIL,
        }
    }

    fn set(&mut self, u: u64, d: u32) {
        let leaf = self.dir[(u / LEAF) as usize].get_or_insert_with(|| Box::new([NIL; LEAF as usize]));
        leaf[(u % LEAF) as usize] = d;
    }

    /// The nearest start at or below `u`.
    fn at_or_below(&self, u: u64) -> Option<(u64, u32)> {
        let mut u = u as i64;
        while u >= 0 {
            let li = (u as u64 / LEAF) as usize;
            match self.dir.get(li) {
                Some(Some(l)) => {
                    let d = l[(u as u64 % LEAF) as usize];
                    if d != NIL {
                        return Some((u as u64, d));
                    }
                    u -= 1;
                }
                // An empty leaf: skip to the end of the one before.
                _ => u = li as i64 * LEAF as i64 - 1,
            }
        }
        None
    }
}

struct Chunk {
    buf: BufInfo,
    rw: usize,
    view: Option<usize>,
    /// Made (and so released) by the pool, not adopted.
    owned: bool,
    tlsf: Tlsf,
    descs: Vec<Desc>,
    dpool: DescPool,
    starts: Starts,
}

impl Chunk {
    fn base(&self) -> usize {
        self.view.unwrap_or(self.rw)
    }

    fn contains(&self, addr: usize) -> bool {
        addr >= self.base() && addr - self.base() < self.buf.size as usize
    }
}

/// One sub-allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubBlock {
    /// The address handed out (in the guard view if the pool has one).
    pub addr: usize,
    /// A CPU-accessible address of the same bytes.
    pub rw: usize,
    /// Length in bytes (rounded up to the unit).
    pub len: u64,
    /// Device (physical) address.
    pub phys: u64,
    /// The chunk's buffer and the block's offset in it.
    pub buf: super::device::BufId,
    pub offset: u64,
}

/// A process-local sub-allocating pool over engine buffers.
pub struct SubPool<'d> {
    dev: &'d Device,
    cfg: SubPoolCfg,
    chunks: Vec<Option<Chunk>>,
    /// Freed small blocks by length in units (index `units - 1`): chunk
    /// and descriptor, still allocated in the chunk's TLSF.
    bins: Vec<Vec<(u32, u32)>>,
    /// log2 of the unit.
    shift: u32,
    live: usize,
    reserved: u64,
    used: u64,
    used_high: u64,
    reserved_high: u64,
}

impl<'d> SubPool<'d> {
    /// A pool with no chunks yet.
    pub fn new(dev: &'d Device, cfg: SubPoolCfg) -> Result<SubPool<'d>> {
        if !cfg.unit.is_power_of_two() || cfg.chunk == 0 || cfg.max_blocks_per_chunk < 2 {
            return Err(Error::InvalidArgument);
        }
        let unit_shift = cfg.unit.trailing_zeros();
        Ok(SubPool {
            dev,
            cfg,
            chunks: Vec::new(),
            bins: (0..BIN_UNITS).map(|_| Vec::with_capacity(BIN_DEPTH)).collect(),
            shift: unit_shift,
            live: 0,
            reserved: 0,
            used: 0,
            used_high: 0,
            reserved_high: 0,
        })
    }

    pub fn device(&self) -> &'d Device {
        self.dev
    }

    /// Carve `buf`, which the caller made and maps read-write at `rw`: the
    /// pool never unmaps or frees it (a pool with a guard view cannot
    /// adopt). Counts against `max_bytes`.
    pub fn adopt(&mut self, buf: BufInfo, rw: usize) -> Result<()> {
        if self.cfg.guard_view || buf.size % self.cfg.unit != 0 || rw % self.cfg.unit as usize != 0 {
            return Err(Error::InvalidArgument);
        }
        if self.cfg.max_bytes != 0 && self.reserved + buf.size > self.cfg.max_bytes {
            return Err(Error::OutOfMemory);
        }
        self.install(buf, rw, None, false).map(|_| ())
    }

    fn install(&mut self, buf: BufInfo, rw: usize, view: Option<usize>, owned: bool) -> Result<usize> {
        let units = buf.size / self.cfg.unit;
        let mut c = Chunk {
            buf,
            rw,
            view,
            owned,
            tlsf: Tlsf::default(),
            descs: vec![Desc::default(); self.cfg.max_blocks_per_chunk],
            dpool: DescPool { free_head: NIL, high: 0 },
            starts: Starts::new(units),
        };
        c.tlsf.init(
            &mut Arena {
                descs: &mut c.descs,
                pool: &mut c.dpool,
            },
            units,
        )?;
        self.reserved += c.buf.size;
        self.reserved_high = self.reserved_high.max(self.reserved);
        let slot = self.chunks.iter().position(Option::is_none).unwrap_or(self.chunks.len());
        if slot == self.chunks.len() {
            self.chunks.push(Some(c));
        } else {
            self.chunks[slot] = Some(c);
        }
        Ok(slot)
    }

    fn add_chunk(&mut self, min: u64) -> Result<usize> {
        let size = self.cfg.chunk.max(min);
        if self.cfg.max_bytes != 0 && self.reserved + size > self.cfg.max_bytes {
            return Err(Error::OutOfMemory);
        }
        let buf = self.dev.alloc(&AllocReq {
            zone: self.cfg.zone.as_deref(),
            size,
            align: 0,
            attrs: self.cfg.attrs,
            name: &self.cfg.name,
        })?;
        let cached = self.cfg.attrs & super::device::attr::CACHED != 0;
        let (tag, id) = (self.cfg.tag, buf.id);
        let undo = move |dev: &Device, maps: &[usize]| {
            for &m in maps {
                let _ = dev.unmap(m, tag);
            }
            let _ = dev.free(id);
        };
        let rw = match self.dev.map(buf.id, 0, buf.size, cached, self.cfg.tag) {
            Ok(m) => m.addr,
            Err(e) => {
                undo(self.dev, &[]);
                return Err(e);
            }
        };
        let view = if self.cfg.guard_view {
            match self.dev.map_prot(buf.id, 0, buf.size, cached, self.cfg.tag, Prot::None) {
                Ok(m) => Some(m.addr),
                Err(e) => {
                    undo(self.dev, &[rw]);
                    return Err(e);
                }
            }
        } else {
            None
        };
        self.install(buf, rw, view, true).inspect_err(|_| {
            let maps: Vec<usize> = std::iter::once(rw).chain(view).collect();
            undo(self.dev, &maps);
        })
    }

    fn block(&self, ci: usize, d: u32) -> SubBlock {
        let c = self.chunks[ci].as_ref().expect("live chunk");
        let desc = c.descs[d as usize];
        let offset = desc.off << self.shift;
        SubBlock {
            addr: c.base() + offset as usize,
            rw: c.rw + offset as usize,
            len: desc.len << self.shift,
            phys: c.buf.phys + offset,
            buf: c.buf.id,
            offset,
        }
    }

    /// A TLSF block of `units` in some chunk.
    fn carve(&mut self, units: u64) -> Option<(usize, u32)> {
        self.chunks.iter_mut().enumerate().find_map(|(ci, c)| {
            let c = c.as_mut()?;
            let mut ar = Arena {
                descs: &mut c.descs,
                pool: &mut c.dpool,
            };
            c.tlsf.alloc(&mut ar, units, 1, 0).ok().map(|d| (ci, d))
        })
    }

    /// Return every binned block to its chunk's TLSF. Whether any was.
    fn flush_bins(&mut self) -> bool {
        let mut any = false;
        for bin in &mut self.bins {
            for (ci, d) in bin.drain(..) {
                if let Some(c) = self.chunks[ci as usize].as_mut() {
                    let _ = c.tlsf.free(
                        &mut Arena {
                            descs: &mut c.descs,
                            pool: &mut c.dpool,
                        },
                        d,
                    );
                }
                any = true;
            }
        }
        any
    }

    /// Allocate `size` bytes (rounded up to the unit).
    pub fn alloc(&mut self, size: u64) -> Result<SubBlock> {
        if size == 0 {
            return Err(Error::InvalidArgument);
        }
        // Shifts, not divisions: a 64-bit divide costs as much as the rest.
        let units = size.checked_add(self.cfg.unit - 1).ok_or(Error::OutOfMemory)? >> self.shift;
        let binned = if units <= BIN_UNITS {
            self.bins[units as usize - 1].pop().map(|(ci, d)| (ci as usize, d))
        } else {
            None
        };
        let found = match binned {
            Some(x) => Some(x),
            None => match self.carve(units) {
                Some(x) => Some(x),
                None if self.flush_bins() => self.carve(units),
                None => None,
            },
        };
        let (ci, d) = match found {
            Some(x) => x,
            None => {
                let bytes = units.checked_mul(self.cfg.unit).ok_or(Error::OutOfMemory)?;
                let ci = self.add_chunk(bytes)?;
                let c = self.chunks[ci].as_mut().expect("just added");
                let mut ar = Arena {
                    descs: &mut c.descs,
                    pool: &mut c.dpool,
                };
                (ci, c.tlsf.alloc(&mut ar, units, 1, 0)?)
            }
        };
        let b = self.block(ci, d);
        let c = self.chunks[ci].as_mut().expect("live chunk");
        c.starts.set(c.descs[d as usize].off, d);
        self.live += 1;
        self.used += b.len;
        self.used_high = self.used_high.max(self.used);
        Ok(b)
    }

    /// Free the block handed out at `addr`.
    pub fn free(&mut self, addr: usize) -> Result<SubBlock> {
        let (mask, shift) = (self.cfg.unit - 1, self.shift);
        let ci = self
            .chunks
            .iter()
            .position(|c| c.as_ref().is_some_and(|c| c.contains(addr)))
            .ok_or(Error::NotFound)?;
        let c = self.chunks[ci].as_mut().expect("found just now");
        let off = (addr - c.base()) as u64;
        let d = if off & mask == 0 { c.starts.get(off >> shift) } else { NIL };
        if d == NIL {
            return Err(Error::NotFound);
        }
        c.starts.set(off >> shift, NIL);
        let units = c.descs[d as usize].len;
        let b = self.block(ci, d);
        self.live -= 1;
        self.used -= b.len;
        if units <= BIN_UNITS && self.bins[units as usize - 1].len() < BIN_DEPTH {
            self.bins[units as usize - 1].push((ci as u32, d));
            return Ok(b);
        }
        let c = self.chunks[ci].as_mut().expect("live chunk");
        c.tlsf.free(
            &mut Arena {
                descs: &mut c.descs,
                pool: &mut c.dpool,
            },
            d,
        )?;
        Ok(b)
    }

    /// The live block containing `addr`, if any (a walk back over the
    /// chunk's table: for lookups, not hot paths).
    pub fn find(&self, addr: usize) -> Option<SubBlock> {
        let (ci, c) = self
            .chunks
            .iter()
            .enumerate()
            .find_map(|(ci, c)| c.as_ref().filter(|c| c.contains(addr)).map(|c| (ci, c)))?;
        let off = (addr - c.base()) as u64;
        let (_, d) = c.starts.at_or_below(off / self.cfg.unit)?;
        let b = self.block(ci, d);
        (addr < b.addr + b.len as usize).then_some(b)
    }

    /// Whether `addr` lies in one of the pool's chunks (live or not).
    pub fn owns(&self, addr: usize) -> bool {
        self.chunks.iter().flatten().any(|c| c.contains(addr))
    }

    /// Give back whole free chunks the pool made while at least `keep`
    /// bytes stay reserved. Returns the released chunks' handed-out ranges
    /// (address, length).
    pub fn trim_to(&mut self, keep: u64) -> Vec<(usize, u64)> {
        self.flush_bins();
        let mut gone = Vec::new();
        for ci in 0..self.chunks.len() {
            let free = self.chunks[ci]
                .as_ref()
                .is_some_and(|c| c.owned && c.tlsf.used == 0 && self.reserved - c.buf.size >= keep);
            if free {
                let c = self.chunks[ci].take().expect("checked");
                gone.push(self.release_chunk(c));
            }
        }
        gone
    }

    /// Give back whole free chunks the pool made until at most `limit`
    /// bytes are reserved (or none is left to give): a release threshold,
    /// which may end below `limit`. Returns the released ranges.
    pub fn shrink_to(&mut self, limit: u64) -> Vec<(usize, u64)> {
        self.flush_bins();
        let mut gone = Vec::new();
        for ci in 0..self.chunks.len() {
            if self.reserved <= limit {
                break;
            }
            let free = self.chunks[ci].as_ref().is_some_and(|c| c.owned && c.tlsf.used == 0);
            if free {
                let c = self.chunks[ci].take().expect("checked");
                gone.push(self.release_chunk(c));
            }
        }
        gone
    }

    fn release_chunk(&mut self, c: Chunk) -> (usize, u64) {
        let range = (c.base(), c.buf.size);
        if c.owned {
            let _ = self.dev.unmap(c.rw, self.cfg.tag);
            if let Some(v) = c.view {
                let _ = self.dev.unmap(v, self.cfg.tag);
            }
            let _ = self.dev.free(c.buf.id);
        }
        self.reserved -= c.buf.size;
        range
    }

    /// Free every block and chunk (adopted chunks are only forgotten);
    /// returns the chunks' handed-out ranges.
    pub fn clear(&mut self) -> Vec<(usize, u64)> {
        for bin in &mut self.bins {
            bin.clear();
        }
        self.live = 0;
        self.used = 0;
        let mut gone = Vec::new();
        for ci in 0..self.chunks.len() {
            if let Some(c) = self.chunks[ci].take() {
                gone.push(self.release_chunk(c));
            }
        }
        gone
    }

    /// Bytes reserved from the zone.
    pub fn reserved(&self) -> u64 {
        self.reserved
    }

    /// Bytes in live blocks.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// High-water marks of reserved and used bytes.
    pub fn high(&self) -> (u64, u64) {
        (self.reserved_high, self.used_high)
    }

    /// Reset the reserved high-water mark to the current value.
    pub fn reset_reserved_high(&mut self) {
        self.reserved_high = self.reserved;
    }

    /// Reset the used high-water mark to the current value.
    pub fn reset_used_high(&mut self) {
        self.used_high = self.used;
    }

    /// Number of live blocks.
    pub fn live_blocks(&self) -> usize {
        self.live
    }

    pub fn config(&self) -> &SubPoolCfg {
        &self.cfg
    }
}

impl Drop for SubPool<'_> {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_fill_leaves_lazily_and_find_the_nearest_start() {
        let mut s = Starts::new(5 * LEAF + 3);
        assert_eq!(s.dir.len(), 6);
        assert!(s.dir.iter().all(Option::is_none), "no leaf until used");
        assert_eq!(s.get(17), NIL);
        assert_eq!(s.get(100 * LEAF), NIL, "past the end reads empty");
        s.set(3, 30);
        s.set(4 * LEAF + 9, 49);
        assert_eq!(s.dir.iter().filter(|l| l.is_some()).count(), 2);
        assert_eq!((s.get(3), s.get(4 * LEAF + 9)), (30, 49));
        assert_eq!(s.at_or_below(3), Some((3, 30)));
        assert_eq!(s.at_or_below(4 * LEAF + 8), Some((3, 30)), "skips empty leaves");
        assert_eq!(s.at_or_below(5 * LEAF + 2), Some((4 * LEAF + 9, 49)));
        assert_eq!(s.at_or_below(2), None);
        s.set(3, NIL);
        assert_eq!(s.at_or_below(LEAF), None);
    }
}
