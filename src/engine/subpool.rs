//! Sub-allocating pools: engine buffers ("chunks") carved up in user space
//! by a process-local TLSF, so an allocation or free is a few instructions
//! with no system call. A pool grows by whole chunks and gives back chunks
//! that are entirely free when trimmed. CUDA's stream-ordered memory pools
//! are a front over this. (hbmem's memory pools still carve their one
//! buffer with their own TLSF in `api/horizon/hbmem/pool.rs`; they should
//! move here once a pool can be given a caller-made chunk.)
//!
//! A pool belongs to one process and is not itself synchronised: a front
//! keeps it behind its own lock.

use super::device::{AllocReq, BufInfo, Device, Prot};
use super::tlsf::{Arena, Desc, DescPool, Tlsf, NIL};
use crate::error::{Error, Result};
use std::collections::BTreeMap;

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

struct Chunk {
    buf: BufInfo,
    rw: usize,
    view: Option<usize>,
    tlsf: Tlsf,
    descs: Vec<Desc>,
    dpool: DescPool,
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
    /// Live blocks by handed-out address: (chunk, descriptor).
    live: BTreeMap<usize, (usize, u32)>,
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
        Ok(SubPool {
            dev,
            cfg,
            chunks: Vec::new(),
            live: BTreeMap::new(),
            reserved: 0,
            used: 0,
            used_high: 0,
            reserved_high: 0,
        })
    }

    pub fn device(&self) -> &'d Device {
        self.dev
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
        let undo = |dev: &Device, maps: &[usize]| {
            for &m in maps {
                let _ = dev.unmap(m, self.cfg.tag);
            }
            let _ = dev.free(buf.id);
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
        let mut c = Chunk {
            rw,
            view,
            tlsf: Tlsf::default(),
            descs: vec![Desc::default(); self.cfg.max_blocks_per_chunk],
            dpool: DescPool { free_head: NIL, high: 0 },
            buf,
        };
        let units = c.buf.size / self.cfg.unit;
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

    fn block(&self, ci: usize, d: u32) -> SubBlock {
        let c = self.chunks[ci].as_ref().expect("live chunk");
        let desc = c.descs[d as usize];
        let offset = desc.off * self.cfg.unit;
        SubBlock {
            addr: c.view.unwrap_or(c.rw) + offset as usize,
            rw: c.rw + offset as usize,
            len: desc.len * self.cfg.unit,
            phys: c.buf.phys + offset,
            buf: c.buf.id,
            offset,
        }
    }

    /// Allocate `size` bytes (rounded up to the unit).
    pub fn alloc(&mut self, size: u64) -> Result<SubBlock> {
        if size == 0 {
            return Err(Error::InvalidArgument);
        }
        let units = size.checked_next_multiple_of(self.cfg.unit).ok_or(Error::OutOfMemory)? / self.cfg.unit;
        let mut found = None;
        for (ci, c) in self.chunks.iter_mut().enumerate() {
            let Some(c) = c else { continue };
            let mut ar = Arena {
                descs: &mut c.descs,
                pool: &mut c.dpool,
            };
            if let Ok(d) = c.tlsf.alloc(&mut ar, units, 1, 0) {
                found = Some((ci, d));
                break;
            }
        }
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
        self.live.insert(b.addr, (ci, d));
        self.used += b.len;
        self.used_high = self.used_high.max(self.used);
        Ok(b)
    }

    /// Free the block handed out at `addr`.
    pub fn free(&mut self, addr: usize) -> Result<SubBlock> {
        let (ci, d) = self.live.remove(&addr).ok_or(Error::NotFound)?;
        let b = self.block(ci, d);
        let c = self.chunks[ci].as_mut().expect("live chunk");
        c.tlsf.free(
            &mut Arena {
                descs: &mut c.descs,
                pool: &mut c.dpool,
            },
            d,
        )?;
        self.used -= b.len;
        Ok(b)
    }

    /// The live block containing `addr`, if any.
    pub fn find(&self, addr: usize) -> Option<SubBlock> {
        let (&start, &(ci, d)) = self.live.range(..=addr).next_back()?;
        let b = self.block(ci, d);
        (addr < start + b.len as usize).then_some(b)
    }

    /// Whether `addr` lies in one of the pool's chunks (live or not).
    pub fn owns(&self, addr: usize) -> bool {
        self.chunks.iter().flatten().any(|c| {
            let base = c.view.unwrap_or(c.rw);
            addr >= base && addr < base + c.buf.size as usize
        })
    }

    /// Give back whole free chunks until at most `keep` bytes are reserved.
    /// Returns the released chunks' handed-out ranges (address, length).
    pub fn trim_to(&mut self, keep: u64) -> Vec<(usize, u64)> {
        let mut gone = Vec::new();
        for ci in 0..self.chunks.len() {
            if self.reserved <= keep {
                break;
            }
            let free = self.chunks[ci].as_ref().is_some_and(|c| c.tlsf.used == 0);
            if free {
                let c = self.chunks[ci].take().expect("checked");
                gone.push(self.release_chunk(c));
            }
        }
        gone
    }

    fn release_chunk(&mut self, c: Chunk) -> (usize, u64) {
        let range = (c.view.unwrap_or(c.rw), c.buf.size);
        let _ = self.dev.unmap(c.rw, self.cfg.tag);
        if let Some(v) = c.view {
            let _ = self.dev.unmap(v, self.cfg.tag);
        }
        let _ = self.dev.free(c.buf.id);
        self.reserved -= c.buf.size;
        range
    }

    /// Free every block and chunk; returns the chunks' handed-out ranges.
    pub fn clear(&mut self) -> Vec<(usize, u64)> {
        self.live.clear();
        self.used = 0;
        let mut gone = Vec::new();
        for ci in 0..self.chunks.len() {
            if let Some(c) = self.chunks[ci].take() {
                gone.push(self.release_chunk(c));
            }
        }
        gone
    }

    /// Handed-out addresses of the live blocks.
    pub fn live_addrs(&self) -> Vec<usize> {
        self.live.keys().copied().collect()
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

    /// Reset the high-water marks to the current values.
    pub fn reset_high(&mut self) {
        self.reserved_high = self.reserved;
        self.used_high = self.used;
    }

    /// Number of live blocks.
    pub fn live_blocks(&self) -> usize {
        self.live.len()
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
