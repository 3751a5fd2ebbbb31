//! Fixed-block pools: one buffer carved into equal blocks, each with a
//! user count, handed out and returned in O(1) through a free list in shared
//! state. Every vendor's block-pool API (HiSilicon VB, hbmem shared pools)
//! is a front over these.

use super::config::GRAIN;
use super::device::{attr, AllocReq, BufInfo, Device};
use super::process;
use super::shared::{put_name, SlotRec, R_INIT, R_LIVE};
use super::tlsf::{Arena, NIL};
use crate::error::{Error, Result};

/// A pool handle: table index plus generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PoolId {
    pub index: u32,
    pub gen: u32,
}

/// A block of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockRef {
    pub pool: PoolId,
    pub index: u32,
    /// Physical address of the block's first byte.
    pub phys: u64,
}

/// A pool request.
#[derive(Clone, Debug, Default)]
pub struct PoolReq<'a> {
    pub zone: Option<&'a str>,
    pub blk_size: u64,
    pub blk_cnt: u32,
    pub attrs: u32,
    pub name: &'a str,
    /// Front-defined kind (e.g. common or private), for finding pools.
    pub tag: u32,
}

/// A pool's state.
#[derive(Clone, Debug)]
pub struct PoolInfo {
    pub id: PoolId,
    pub blk_size: u64,
    /// Distance between blocks (block size rounded to a page).
    pub stride: u64,
    pub blk_cnt: u32,
    pub free_cnt: u32,
    pub tag: u32,
    pub owner_pid: i32,
    /// The buffer holding all blocks.
    pub buf: BufInfo,
}

impl Device {
    /// Create a pool of `blk_cnt` blocks of `blk_size` bytes.
    pub fn pool_create(&self, req: &PoolReq) -> Result<PoolInfo> {
        if req.blk_size == 0 || req.blk_cnt == 0 {
            return Err(Error::InvalidArgument);
        }
        let stride = req.blk_size.checked_next_multiple_of(GRAIN).ok_or(Error::OutOfMemory)?;
        let total = stride.checked_mul(req.blk_cnt as u64).ok_or(Error::OutOfMemory)?;
        let buf = self.alloc(&AllocReq {
            zone: req.zone,
            size: total,
            align: 0,
            attrs: req.attrs | attr::POOL,
            name: req.name,
        })?;
        let me = process::current();
        let res = (|| {
            let g = self.lock()?;
            let bi = g.live(buf.id)?;
            let pi =
                g.v.pools
                    .iter()
                    .position(|p| p.state != R_LIVE && p.state != R_INIT)
                    .ok_or(Error::LimitReached)?;
            let sd = {
                let mut ar = Arena {
                    descs: g.v.descs,
                    pool: &mut g.v.meta.desc_pool,
                };
                g.v.meta.slot_tlsf.alloc(&mut ar, req.blk_cnt as u64, 1, pi as u32)?
            };
            let first = g.v.descs[sd as usize].off as u32;
            for s in 0..req.blk_cnt {
                g.v.slots[(first + s) as usize] = SlotRec {
                    users: 0,
                    next_free: if s + 1 < req.blk_cnt { s + 1 } else { NIL },
                    owner_pid: 0,
                    imports: 0,
                    owner_start: 0,
                    consume: 0,
                    _pad: 0,
                };
            }
            let gen = g.v.pools[pi].gen.wrapping_add(1).max(1);
            let p = &mut g.v.pools[pi];
            p.state = R_INIT;
            p.gen = gen;
            p.tag = req.tag;
            p.attrs = req.attrs;
            p.owner_pid = me.pid;
            p.owner_start = me.start;
            p.blk_cnt = req.blk_cnt;
            p.blk_size = req.blk_size;
            p.stride = stride;
            p.free_cnt = req.blk_cnt;
            p.free_head = 0;
            p.slot_desc = sd;
            p.slot_first = first;
            p.buf = bi;
            p.buf_gen = buf.id.gen;
            put_name(&mut p.name, req.name);
            g.v.bufs[bi as usize].pool = pi as u32;
            g.v.pools[pi].state = R_LIVE;
            Ok(PoolId { index: pi as u32, gen })
        })();
        match res {
            Ok(id) => self.pool_info(id),
            Err(e) => {
                let _ = self.free(buf.id);
                Err(e)
            }
        }
    }

    fn pool_index(g: &super::device::Guard, id: PoolId) -> Result<usize> {
        let p = g.v.pools.get(id.index as usize).ok_or(Error::NotFound)?;
        if p.state != R_LIVE || p.gen != id.gen {
            return Err(Error::NotFound);
        }
        Ok(id.index as usize)
    }

    /// A pool's state.
    pub fn pool_info(&self, id: PoolId) -> Result<PoolInfo> {
        let g = self.lock()?;
        let pi = Self::pool_index(&g, id)?;
        let p = g.v.pools[pi];
        Ok(PoolInfo {
            id,
            blk_size: p.blk_size,
            stride: p.stride,
            blk_cnt: p.blk_cnt,
            free_cnt: p.free_cnt,
            tag: p.tag,
            owner_pid: p.owner_pid,
            buf: g.info(p.buf),
        })
    }

    /// Every live pool, optionally only those with `tag`.
    pub fn pools(&self, tag: Option<u32>) -> Result<Vec<PoolId>> {
        let g = self.lock()?;
        Ok(g.v
            .pools
            .iter()
            .enumerate()
            .filter(|(_, p)| p.state == R_LIVE && tag.is_none_or(|t| p.tag == t))
            .map(|(i, p)| PoolId {
                index: i as u32,
                gen: p.gen,
            })
            .collect())
    }

    /// Destroy a pool. Fails with `Busy` while any block is out (held by
    /// its allocator or imported).
    pub fn pool_destroy(&self, id: PoolId) -> Result<()> {
        let mut g = self.lock()?;
        let pi = Self::pool_index(&g, id)?;
        let p = g.v.pools[pi];
        if p.free_cnt != p.blk_cnt {
            return Err(Error::Busy);
        }
        let buf = g.info(p.buf).id;
        g.pool_teardown(pi);
        drop(g);
        self.forget_maps(buf);
        Ok(())
    }

    /// Give a pool up: it has no owner from now on, and goes (with its
    /// buffer) when its last block is free, which may be at once.
    pub fn pool_disown(&self, id: PoolId) -> Result<()> {
        let mut g = self.lock()?;
        let pi = Self::pool_index(&g, id)?;
        let p = &mut g.v.pools[pi];
        p.owner_pid = 0;
        p.owner_start = 0;
        let (buf, all_free) = (p.buf, p.free_cnt == p.blk_cnt);
        let buf = g.info(buf).id;
        if all_free {
            g.pool_teardown(pi);
            drop(g);
            self.forget_maps(buf);
        }
        Ok(())
    }

    /// Take a free block; it starts with one user. `OutOfMemory` if none.
    pub fn pool_get(&self, id: PoolId) -> Result<BlockRef> {
        let me = process::current();
        let mut g = self.lock()?;
        // Registered, so its blocks come back when it dies.
        self.register(&mut g, me)?;
        let pi = Self::pool_index(&g, id)?;
        Self::take(&mut g, pi, me)
    }

    fn take(g: &mut super::device::Guard, pi: usize, me: process::ProcId) -> Result<BlockRef> {
        let p = g.v.pools[pi];
        if p.free_head == NIL {
            return Err(Error::OutOfMemory);
        }
        let s = p.free_head;
        let sl = &mut g.v.slots[(p.slot_first + s) as usize];
        let next = sl.next_free;
        sl.users = 1;
        sl.owner_pid = me.pid;
        sl.owner_start = me.start;
        sl.next_free = NIL;
        sl.consume = 0;
        let pr = &mut g.v.pools[pi];
        pr.free_head = next;
        pr.free_cnt -= 1;
        let base = g.v.bufs[p.buf as usize].phys;
        Ok(BlockRef {
            pool: PoolId {
                index: pi as u32,
                gen: p.gen,
            },
            index: s,
            phys: base + s as u64 * p.stride,
        })
    }

    /// Take a block of at least `size` bytes from the pool with `tag` (and,
    /// if given, in `zone`) whose blocks are smallest among those that fit
    /// and have one free.
    pub fn pool_get_fitting(&self, tag: u32, size: u64, zone: Option<&str>) -> Result<BlockRef> {
        let me = process::current();
        let mut g = self.lock()?;
        self.register(&mut g, me)?;
        let zi = match zone {
            Some(z) => Some(g.zone_index(Some(z))? as u32),
            None => None,
        };
        let mut best: Option<(u64, usize)> = None;
        let mut fits = false;
        for (i, p) in g.v.pools.iter().enumerate() {
            let in_zone = zi.is_none_or(|z| g.v.bufs[p.buf as usize].zone == z);
            if p.state == R_LIVE && p.tag == tag && p.blk_size >= size && in_zone {
                fits = true;
                if p.free_cnt > 0 && best.is_none_or(|(b, _)| p.blk_size < b) {
                    best = Some((p.blk_size, i));
                }
            }
        }
        match best {
            Some((_, pi)) => Self::take(&mut g, pi, me),
            None if fits => Err(Error::OutOfMemory),
            None => Err(Error::NotFound),
        }
    }

    fn slot_index(g: &super::device::Guard, b: BlockRef) -> Result<(usize, usize)> {
        let pi = Self::pool_index(g, b.pool)?;
        let p = &g.v.pools[pi];
        if b.index >= p.blk_cnt {
            return Err(Error::NotFound);
        }
        Ok((pi, (p.slot_first + b.index) as usize))
    }

    /// Drop one user of a block; at zero (and no imports, see
    /// `import_share_range`) it returns to the pool.
    pub fn pool_release(&self, b: BlockRef) -> Result<()> {
        let mut g = self.lock()?;
        let (pi, si) = Self::slot_index(&g, b)?;
        if g.v.slots[si].users == 0 {
            return Err(Error::NotFound);
        }
        g.v.slots[si].users -= 1;
        if g.v.slots[si].users == 0 {
            if g.v.slots[si].imports == 0 {
                g.block_freed(pi, b.index);
            } else {
                // Importers wait on the buffer's word for the allocator's free.
                let bi = g.v.pools[pi].buf;
                g.bump(bi);
            }
        }
        Ok(())
    }

    /// Add one user to a block that is out.
    pub fn pool_add_user(&self, b: BlockRef) -> Result<u32> {
        let g = self.lock()?;
        let (_, si) = Self::slot_index(&g, b)?;
        let sl = &mut g.v.slots[si];
        if sl.users == 0 {
            return Err(Error::NotFound);
        }
        sl.users = sl.users.checked_add(1).ok_or(Error::LimitReached)?;
        Ok(sl.users)
    }

    /// Users of a block (0 if it is free).
    pub fn pool_users(&self, b: BlockRef) -> Result<u32> {
        let g = self.lock()?;
        let (_, si) = Self::slot_index(&g, b)?;
        Ok(g.v.slots[si].users)
    }

    /// The pool block starting at or containing `phys`.
    pub fn pool_block_at(&self, phys: u64) -> Result<BlockRef> {
        let g = self.lock()?;
        let bi = g.by_phys(phys)?;
        let b = g.v.bufs[bi as usize];
        if b.pool == NIL {
            return Err(Error::NotFound);
        }
        let p = g.v.pools[b.pool as usize];
        let idx = (phys - b.phys) / p.stride;
        if idx >= p.blk_cnt as u64 || (phys - b.phys) % p.stride >= p.blk_size {
            return Err(Error::NotFound);
        }
        Ok(BlockRef {
            pool: PoolId { index: b.pool, gen: p.gen },
            index: idx as u32,
            phys: b.phys + idx * p.stride,
        })
    }
}

impl Device {
    /// The live pool at table index `index`.
    pub fn pool_at(&self, index: u32) -> Result<PoolId> {
        let g = self.lock()?;
        let p = g.v.pools.get(index as usize).ok_or(Error::NotFound)?;
        if p.state != R_LIVE {
            return Err(Error::NotFound);
        }
        Ok(PoolId { index, gen: p.gen })
    }

    /// Block `index` of a pool (whether or not it is out).
    pub fn pool_block(&self, id: PoolId, index: u32) -> Result<BlockRef> {
        let g = self.lock()?;
        let pi = Self::pool_index(&g, id)?;
        let p = g.v.pools[pi];
        if index >= p.blk_cnt {
            return Err(Error::NotFound);
        }
        Ok(BlockRef {
            pool: id,
            index,
            phys: g.v.bufs[p.buf as usize].phys + index as u64 * p.stride,
        })
    }
}
