//! Property tests of the allocator against shadow models.
//!
//! A seeded PRNG drives long random sequences of operations; after every
//! operation the allocator must agree with a plain model of what is live.
//! A failure prints the seed and operation index; rerun one seed with
//! `ACCELMEM_MODEL_SEED=<seed> cargo test --test allocator_model`.

mod common;

use accelmem::engine::tlsf::{Arena, Desc, DescPool, Tlsf, D_USED, NIL};
use accelmem::engine::{attr, AllocReq, BufId, BufInfo, Device, PoolId, PoolReq, GRAIN};
use accelmem::Error;
use common::TestDevice;
use std::collections::BTreeMap;

/// splitmix64: tiny, deterministic, well mixed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pct(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

fn seeds(default: &[u64]) -> Vec<u64> {
    match std::env::var("ACCELMEM_MODEL_SEED") {
        Ok(s) => {
            let s = s.trim();
            let v = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            };
            vec![v.expect("ACCELMEM_MODEL_SEED is a number")]
        }
        Err(_) => default.to_vec(),
    }
}

/// Says where a failing run was when it panicked, so it can be replayed.
struct Where {
    test: &'static str,
    seed: u64,
    op: usize,
}

impl Drop for Where {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "FAILED {} at seed {:#x}, op {}; replay: ACCELMEM_MODEL_SEED={:#x} cargo test --test allocator_model {}",
                self.test, self.seed, self.op, self.seed, self.test
            );
        }
    }
}

/// Smallest free block TLSF is guaranteed to find for a search of `s`
/// units: `s` itself. The good-fit search rounds up to the next class, and
/// on a miss the allocator walks the class holding `s`, so any free block of
/// at least `s` units is found.
fn search_floor(s: u64) -> u64 {
    s
}

// ---------------------------------------------------------------------------
// Level a: the pure TLSF allocator.

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
        let (mut ar, t) = f.parts();
        t.init(&mut ar, len).unwrap();
        f
    }

    fn parts(&mut self) -> (Arena<'_>, &mut Tlsf) {
        (
            Arena {
                descs: &mut self.descs,
                pool: &mut self.pool,
            },
            &mut self.t,
        )
    }

    /// Descriptors neither unused nor on the descriptor free list.
    fn descs_in_use(&self) -> usize {
        let mut n = self.pool.high as usize;
        let mut i = self.pool.free_head;
        while i != NIL {
            assert!(n > 0, "descriptor free list longer than the high mark");
            n -= 1;
            i = self.descs[i as usize].next_free;
        }
        n
    }
}

/// Live blocks by offset: (len, descriptor, user tag).
#[derive(Default, Clone, PartialEq, Debug)]
struct Model {
    len: u64,
    live: BTreeMap<u64, (u64, u32, u32)>,
}

impl Model {
    fn used(&self) -> u64 {
        self.live.values().map(|v| v.0).sum()
    }
    fn gaps(&self) -> Vec<u64> {
        let mut out = vec![];
        let mut cur = 0;
        for (&o, &(l, _, _)) in &self.live {
            if o > cur {
                out.push(o - cur);
            }
            cur = o + l;
        }
        if cur < self.len {
            out.push(self.len - cur);
        }
        out
    }
    fn overlaps(&self, off: u64, len: u64) -> bool {
        let before = self.live.range(..off + len).next_back();
        before.is_some_and(|(&o, &(l, _, _))| o + l > off)
    }
}

/// Every invariant that must hold between operations.
fn check_tlsf(f: &mut Fix, m: &Model) {
    let in_use = f.descs_in_use();
    let (ar, t) = f.parts();
    t.check(&ar).unwrap();
    assert_eq!(t.used, m.used(), "used units");
    assert_eq!(t.nused, m.live.len() as u64, "used block count");
    let gaps = m.gaps();
    assert_eq!(t.largest_free(&ar), gaps.iter().copied().max().unwrap_or(0), "largest free block");
    // Fully coalesced, and no descriptor leaked: one per block.
    assert_eq!(in_use, m.live.len() + gaps.len(), "descriptors in use");
    for (&o, &(l, d, u)) in &m.live {
        let b = &ar.descs[d as usize];
        assert_eq!((b.off, b.len, b.state, b.user), (o, l, D_USED, u), "descriptor {d}");
    }
}

fn gen_len(r: &mut Rng, total: u64) -> u64 {
    match r.below(12) {
        0 => 1,
        1..=3 => 1 << r.below(total.ilog2() as u64 + 1),
        4..=6 => r.below(64) | 1,
        7 | 8 => 1 + r.below((total / 64).max(1)),
        9 | 10 => r.below((total / 8).max(1)) | 1,
        _ => total / 2 + r.below(total),
    }
}

enum Outcome {
    Ok,
    Oom,
    Limit,
}

/// One alloc checked against the model. `cap_tight` allows LimitReached.
fn tlsf_alloc(f: &mut Fix, m: &mut Model, len: u64, align: u64, user: u32, cap_tight: bool) -> Outcome {
    let before = m.clone();
    let in_use = f.descs_in_use();
    let cap = f.descs.len();
    let (mut ar, t) = f.parts();
    match t.alloc(&mut ar, len, align, user) {
        Ok(d) => {
            let b = ar.descs[d as usize];
            assert_eq!(b.len, len, "allocated length");
            assert_eq!(b.off % align, 0, "alignment {align} of offset {}", b.off);
            assert!(b.off + len <= m.len, "block [{}, +{len}) outside [0, {})", b.off, m.len);
            assert!(!m.overlaps(b.off, len), "block [{}, +{len}) overlaps a live block", b.off);
            m.live.insert(b.off, (len, d, user));
            Outcome::Ok
        }
        Err(Error::OutOfMemory) => {
            let largest = m.gaps().into_iter().max().unwrap_or(0);
            if let Some(s) = len.checked_add(align - 1) {
                assert!(
                    len > m.len || largest < search_floor(s),
                    "OutOfMemory for {len} aligned {align} with a free gap of {largest} (guaranteed from {})",
                    search_floor(s)
                );
            }
            assert_eq!(*m, before);
            Outcome::Oom
        }
        Err(Error::LimitReached) => {
            // Needs at most two new descriptors, so at most one was spare.
            assert!(
                cap_tight && in_use + 1 >= cap,
                "LimitReached with {in_use} of {cap} descriptors in use"
            );
            Outcome::Limit
        }
        Err(e) => panic!("alloc({len}, {align}): unexpected {e:?}"),
    }
}

fn tlsf_free(f: &mut Fix, m: &mut Model, r: &mut Rng) {
    let k = r.below(m.live.len() as u64) as usize;
    let (&off, &(_, d, _)) = m.live.iter().nth(k).unwrap();
    let (mut ar, t) = f.parts();
    t.free(&mut ar, d).unwrap();
    // The descriptor is now free, merged or unused: a second free must fail
    // and change nothing.
    assert_eq!(t.free(&mut ar, d), Err(Error::NotFound), "double free");
    m.live.remove(&off);
}

/// Free everything; the range must be one free block again.
fn tlsf_drain(f: &mut Fix, m: &mut Model, r: &mut Rng) {
    while !m.live.is_empty() {
        tlsf_free(f, m, r);
    }
    check_tlsf(f, m);
    let total = m.len;
    let (mut ar, t) = f.parts();
    assert_eq!(t.largest_free(&ar), total, "not fully coalesced");
    // The largest request TLSF guarantees from one block of `total` (all
    // of it when `total` is a class boundary; see whole_range_allocates).
    let mut s = total;
    while search_floor(s) > total {
        s -= 1;
    }
    let d = t
        .alloc(&mut ar, s, 1, 1)
        .expect("largest guaranteed request after freeing everything");
    assert_eq!(ar.descs[d as usize].off, 0);
    t.free(&mut ar, d).unwrap();
}

#[test]
fn tlsf_against_model() {
    for seed in seeds(&[1, 2, 3, 0xC0FFEE, 0x5EED_0005_F00D, 0xDEAD_BEEF]) {
        let mut w = Where {
            test: "tlsf_against_model",
            seed,
            op: 0,
        };
        let mut r = Rng(seed);
        let total = [1 << 20, 1_000_003, 4096 + 17, 1 << 34, 97][r.below(5) as usize];
        // Live blocks stay below 400, so 2 * 400 + 1 descriptors always do.
        let mut f = Fix::new(total, 1024);
        let mut m = Model {
            len: total,
            ..Model::default()
        };
        let (mut oom, mut rebuilds) = (0, 0);
        let mut target = 64;
        for op in 0..4000 {
            w.op = op;
            if op % 500 == 0 {
                target = [4, 64, 300][r.below(3) as usize];
            }
            let alloc = m.live.is_empty() || (m.live.len() < 399 && r.pct(if m.live.len() < target { 65 } else { 35 }));
            if op % 997 == 996 {
                // Rebuild from the model, as crash repair does.
                let used: Vec<(u64, u64, u32)> = m.live.iter().map(|(&o, &(l, _, u))| (o, l, u)).collect();
                let (mut ar, t) = f.parts();
                ar.reset();
                let ds = t.rebuild(&mut ar, total, &used).unwrap();
                for (v, d) in m.live.values_mut().zip(ds) {
                    v.1 = d;
                }
                rebuilds += 1;
            } else if alloc {
                let len = gen_len(&mut r, total);
                let align = 1 << r.below(7);
                if let Outcome::Oom = tlsf_alloc(&mut f, &mut m, len, align, op as u32, false) {
                    oom += 1;
                }
            } else {
                tlsf_free(&mut f, &mut m, &mut r);
            }
            check_tlsf(&mut f, &m);
        }
        assert!(oom > 0 && rebuilds > 0, "seed {seed:#x} never hit OutOfMemory or rebuild");
        w.op = usize::MAX;
        tlsf_drain(&mut f, &mut m, &mut r);
    }
}

#[test]
fn tlsf_descriptor_limit_keeps_state() {
    let mut limits = 0;
    for seed in seeds(&[11, 12, 13, 14]) {
        let mut w = Where {
            test: "tlsf_descriptor_limit_keeps_state",
            seed,
            op: 0,
        };
        let mut r = Rng(seed);
        let cap = 2 + r.below(10) as usize;
        let total = 1000;
        let mut f = Fix::new(total, cap);
        let mut m = Model {
            len: total,
            ..Model::default()
        };
        for op in 0..2000 {
            w.op = op;
            if m.live.is_empty() || r.pct(60) {
                let before = (m.clone(), f.t.used, f.descs_in_use());
                let len = gen_len(&mut r, total / 4);
                let align = 1 << r.below(7);
                if let Outcome::Limit = tlsf_alloc(&mut f, &mut m, len, align, op as u32, true) {
                    limits += 1;
                    assert_eq!((m.clone(), f.t.used, f.descs_in_use()), before, "LimitReached changed state");
                }
            } else {
                tlsf_free(&mut f, &mut m, &mut r);
            }
            check_tlsf(&mut f, &m);
        }
        w.op = usize::MAX;
        tlsf_drain(&mut f, &mut m, &mut r);
    }
    if std::env::var("ACCELMEM_MODEL_SEED").is_err() {
        assert!(limits > 0, "no run reached the descriptor limit");
    }
}

#[test]
fn search_floor_matches_tlsf_classes() {
    // The model's bound is only as good as this helper: a gap of exactly
    // search_floor(s) must satisfy a search of s, on a fresh range.
    for s in (1..5000).chain([1 << 20, (1 << 20) + 1, (1 << 33) - 1]) {
        let floor = search_floor(s);
        assert!(floor >= s);
        let mut f = Fix::new(floor, 4);
        let (mut ar, t) = f.parts();
        assert!(t.alloc(&mut ar, s, 1, 0).is_ok(), "search {s} in a range of {floor}");
    }
}

/// A free block of exactly the requested length must satisfy the request:
/// a whole zone of any size is allocatable once everything is freed (as
/// with the MMZ driver's list allocator).
#[test]
fn whole_range_allocates() {
    for total in [97u64, 1000, 4096 + 17, 1_000_003, 1 << 20] {
        let mut f = Fix::new(total, 8);
        let (mut ar, t) = f.parts();
        let a = t.alloc(&mut ar, total / 3, 1, 0).unwrap();
        t.free(&mut ar, a).unwrap();
        assert_eq!(t.largest_free(&ar), total);
        assert!(
            t.alloc(&mut ar, total, 1, 0).is_ok(),
            "whole range of {total} units after freeing everything"
        );
    }
    // The same through a device: a zone of 1000 pages, allocated whole.
    let td = TestDevice::new("whole", "anonymous,0,0x44000000,0x3E8000");
    let d = td.dev();
    let req = AllocReq {
        size: 0x3E8000,
        name: "whole",
        ..AllocReq::default()
    };
    let b = d.alloc(&req).expect("a whole 1000-page zone");
    assert_eq!(b.phys, 0x4400_0000);
    d.free(b.id).unwrap();
}

// ---------------------------------------------------------------------------
// Level b: a device (zones, buffers, mappings, pools).

const ZONES: [(&str, u64, u64); 2] = [("anonymous", 0x4400_0000, 16 << 20), ("ive", 0x5000_0000, 2 << 20)];

struct MBuf {
    id: BufId,
    zone: usize,
    size: u64,
    /// Index into `pools` when this is a pool's backing buffer.
    pool: Option<PoolId>,
    /// Bytes written through a mapping: offset -> value.
    bytes: BTreeMap<u64, u8>,
}

struct MMap {
    buf_phys: u64,
    id: BufId,
    offset: u64,
    len: usize,
    cached: bool,
    /// Which front made it; only that tag unmaps it.
    tag: u32,
    refs: u32,
}

struct MPool {
    id: PoolId,
    buf_phys: u64,
    blk_size: u64,
    stride: u64,
    users: Vec<u32>,
}

#[derive(Default)]
struct DevModel {
    bufs: BTreeMap<u64, MBuf>,
    maps: BTreeMap<usize, MMap>,
    pools: Vec<MPool>,
    /// How often each kind of outcome happened, so a run that stops
    /// exercising something fails instead of passing vacuously.
    seen: BTreeMap<&'static str, u32>,
}

impl DevModel {
    fn saw(&mut self, what: &'static str) {
        *self.seen.entry(what).or_default() += 1;
    }
    fn buf_at(&self, phys: u64) -> Option<(u64, &MBuf)> {
        let (&p, b) = self.bufs.range(..=phys).next_back()?;
        (phys < p + b.size).then_some((p, b))
    }
    fn map_at(&self, addr: usize) -> Option<(usize, &MMap)> {
        let (&a, m) = self.maps.range(..=addr).next_back()?;
        (addr < a + m.len).then_some((a, m))
    }
    fn zone_gaps(&self, zi: usize) -> (u64, u64) {
        let (_, base, size) = ZONES[zi];
        let (mut cur, mut used, mut largest) = (base, 0, 0);
        for (&p, b) in self.bufs.range(base..base + size) {
            largest = largest.max(p - cur);
            cur = p + b.size;
            used += b.size;
        }
        (used, largest.max(base + size - cur))
    }
    fn random_buf(&self, r: &mut Rng) -> Option<u64> {
        let n = self.bufs.len() as u64;
        (n > 0).then(|| *self.bufs.keys().nth(r.below(n) as usize).unwrap())
    }
}

fn check_device(d: &Device, m: &DevModel) {
    d.check().unwrap();
    let zones = d.zones().unwrap();
    assert_eq!(zones.len(), ZONES.len());
    for (zi, z) in zones.iter().enumerate() {
        let (used, largest) = m.zone_gaps(zi);
        assert_eq!((z.used, z.largest_free), (used, largest), "zone {} usage", z.name);
        let listed: Vec<(u64, BufId, u64)> = z.blocks.iter().map(|b| (b.phys, b.id, b.size)).collect();
        let (_, base, size) = ZONES[zi];
        let model: Vec<(u64, BufId, u64)> = m.bufs.range(base..base + size).map(|(&p, b)| (p, b.id, b.size)).collect();
        assert_eq!(listed, model, "zone {} blocks", z.name);
    }
    assert_eq!(d.local_mappings(), m.maps.len());
}

/// `find_phys` and `pool_block_at` answer exactly what the model says.
/// Returns what kind of address it was.
fn probe_phys(d: &Device, m: &DevModel, phys: u64) -> &'static str {
    let got = d.find_phys(phys).map(|(b, off)| (b.id, off, b.zone));
    let want = m
        .buf_at(phys)
        .map(|(p, b)| (b.id, phys - p, ZONES[b.zone].0.to_string()))
        .ok_or(Error::NotFound);
    assert_eq!(got, want, "find_phys({phys:#x})");
    let want_blk = m.buf_at(phys).and_then(|(p, b)| {
        let pl = m.pools.iter().find(|pl| Some(pl.id) == b.pool)?;
        let off = phys - p;
        (off % pl.stride < pl.blk_size).then_some((pl.id, (off / pl.stride) as u32, p + off / pl.stride * pl.stride))
    });
    let got_blk = d.pool_block_at(phys).map(|b| (b.pool, b.index, b.phys));
    assert_eq!(got_blk, want_blk.ok_or(Error::NotFound), "pool_block_at({phys:#x})");
    match (want, want_blk) {
        (_, Some(_)) => "probe pool block",
        (Ok(_), None) => "probe buffer",
        (Err(_), _) => "probe hole",
    }
}

fn probe_addr(d: &Device, m: &DevModel, addr: usize) {
    let got = d.find_addr(addr).map(|i| (i.buf, i.offset, i.phys, i.tag));
    let want = m
        .map_at(addr)
        .map(|(a, mm)| {
            let off = mm.offset + (addr - a) as u64;
            (mm.id, off, mm.buf_phys + off, mm.tag)
        })
        .ok_or(Error::NotFound);
    assert_eq!(got, want, "find_addr({addr:#x})");
}

/// Drop the model's mappings of a buffer the engine just freed or destroyed.
fn forget_buf(d: &Device, m: &mut DevModel, phys: u64) {
    let b = m.bufs.remove(&phys).unwrap();
    let gone: Vec<usize> = m.maps.iter().filter(|(_, mm)| mm.id == b.id).map(|(&a, _)| a).collect();
    for a in gone {
        m.maps.remove(&a);
        assert_eq!(d.mapping_at(a), Err(Error::NotFound), "mapping of a freed buffer survives");
    }
    assert_eq!(d.find_phys(phys).map(|x| x.0.id), Err(Error::NotFound));
    assert_eq!(d.buffer(b.id).map(|x| x.id), Err(Error::NotFound));
}

fn dev_alloc(d: &Device, m: &mut DevModel, r: &mut Rng) {
    let zi = usize::from(r.pct(25));
    let size = match r.below(8) {
        0 => 1 + r.below(GRAIN),
        1 => GRAIN * (1 + r.below(64)),
        2 => ZONES[zi].2 - GRAIN * r.below(4),
        3 => ZONES[zi].2 + 1,
        _ => 1 + r.below(400_000),
    };
    let align = match r.below(4) {
        0 => 1 << r.below(12),
        1 => 1 << (12 + r.below(10)),
        _ => 0,
    };
    let req = AllocReq {
        zone: Some(ZONES[zi].0),
        size,
        align,
        attrs: if r.pct(50) { attr::CACHED } else { 0 },
        name: "model",
    };
    let units = size.div_ceil(GRAIN);
    let align_units = if align <= GRAIN { 1 } else { align / GRAIN };
    match d.alloc(&req) {
        Ok(b) => {
            let (name, base, zsize) = ZONES[zi];
            assert_eq!(b.zone, name);
            assert_eq!((b.size, b.requested, b.attrs), (units * GRAIN, size, req.attrs));
            assert!(b.phys >= base && b.phys + b.size <= base + zsize, "{b:?} outside its zone");
            assert_eq!(b.phys % (align_units * GRAIN), 0, "{b:?} not aligned to {align}");
            assert!(
                m.buf_at(b.phys).is_none() && m.buf_at(b.phys + b.size - 1).is_none(),
                "{b:?} overlaps"
            );
            assert!(m.bufs.range(b.phys..b.phys + b.size).next().is_none(), "{b:?} overlaps");
            assert_eq!(d.buffer(b.id).as_ref(), Ok(&b));
            m.saw("alloc");
            m.bufs.insert(
                b.phys,
                MBuf {
                    id: b.id,
                    zone: zi,
                    size: b.size,
                    pool: None,
                    bytes: BTreeMap::new(),
                },
            );
        }
        Err(Error::OutOfMemory) => {
            let (_, largest) = m.zone_gaps(zi);
            assert!(
                largest / GRAIN < search_floor(units + align_units - 1),
                "OutOfMemory for {size} aligned {align} in zone {zi} with a free gap of {largest}"
            );
            m.saw("alloc out of memory");
        }
        Err(e) => panic!("alloc {req:?}: unexpected {e:?}"),
    }
}

fn dev_map(d: &Device, m: &mut DevModel, r: &mut Rng) {
    // Sometimes repeat an existing mapping: same address, one more ref.
    if !m.maps.is_empty() && r.pct(20) {
        let a = *m.maps.keys().nth(r.below(m.maps.len() as u64) as usize).unwrap();
        let mm = m.maps.get_mut(&a).unwrap();
        let got = d.map(mm.id, mm.offset, mm.len as u64, mm.cached, mm.tag).unwrap();
        assert_eq!(got.addr, a, "same range mapped twice gets a new address");
        mm.refs += 1;
        m.saw("map again");
        return;
    }
    let Some(phys) = m.random_buf(r) else { return };
    let b = m.bufs.get_mut(&phys).unwrap();
    if r.pct(5) {
        assert_eq!(d.map(b.id, b.size, 1, false, 1).map(|x| x.addr), Err(Error::InvalidArgument));
        return;
    }
    let offset = r.below(b.size);
    let len = 1 + r.below((b.size - offset).min(3 * GRAIN));
    let cached = r.pct(50);
    let tag = r.below(3) as u32;
    let mi = d.map(b.id, offset, len, cached, tag).unwrap();
    assert_eq!(
        (mi.buf, mi.offset, mi.len, mi.phys, mi.cached, mi.tag),
        (b.id, offset, len as usize, phys + offset, cached, tag)
    );
    // Bytes: every value written earlier through any mapping reads back
    // here; bytes never written read zero (a reused physical range does
    // not leak a freed buffer's contents).
    for (&o, &v) in b.bytes.range(offset..offset + len) {
        // SAFETY: o is inside the mapping just made.
        let got = unsafe { *((mi.addr + (o - offset) as usize) as *const u8) };
        assert_eq!(got, v, "byte {o} of buffer at {phys:#x}");
    }
    let p = r.below(len);
    let want = b.bytes.get(&(offset + p)).copied().unwrap_or(0);
    // SAFETY: p < len, inside the mapping.
    let got = unsafe { *((mi.addr + p as usize) as *const u8) };
    assert_eq!(got, want, "byte {} of buffer at {phys:#x}", offset + p);
    let v = 1 + r.below(255) as u8;
    // SAFETY: p < len, inside a writable shared mapping.
    unsafe { *((mi.addr + p as usize) as *mut u8) = v };
    b.bytes.insert(offset + p, v);
    assert!(
        m.map_at(mi.addr).is_none() && m.map_at(mi.addr + len as usize - 1).is_none(),
        "mappings overlap"
    );
    m.saw("map");
    m.maps.insert(
        mi.addr,
        MMap {
            buf_phys: phys,
            id: mi.buf,
            offset,
            len: len as usize,
            cached,
            tag,
            refs: 1,
        },
    );
}

fn dev_unmap(d: &Device, m: &mut DevModel, r: &mut Rng) {
    if m.maps.is_empty() {
        return;
    }
    let a = *m.maps.keys().nth(r.below(m.maps.len() as u64) as usize).unwrap();
    let mm = m.maps.get_mut(&a).unwrap();
    if mm.len > 1 && r.pct(10) {
        // Only the address handed out unmaps.
        assert_eq!(d.unmap(a + 1, mm.tag), Err(Error::NotFound));
        return;
    }
    if r.pct(10) {
        // And only by the front that made it.
        assert_eq!(d.unmap(a, mm.tag + 1), Err(Error::NotFound));
        assert_eq!(d.mapping_at(a).map(|x| x.addr), Ok(a));
        m.saw("unmap wrong tag");
        return;
    }
    d.unmap(a, mm.tag).unwrap();
    mm.refs -= 1;
    if mm.refs == 0 {
        m.maps.remove(&a);
        assert_eq!(d.mapping_at(a), Err(Error::NotFound));
    } else {
        assert_eq!(d.mapping_at(a).map(|x| x.addr), Ok(a));
    }
}

fn dev_free(d: &Device, m: &mut DevModel, r: &mut Rng) {
    let Some(phys) = m.random_buf(r) else { return };
    let b = &m.bufs[&phys];
    if b.pool.is_some() {
        assert_eq!(d.free(b.id), Err(Error::Busy), "freeing a pool's buffer");
        return;
    }
    let id = b.id;
    d.free(id).unwrap();
    m.saw("free");
    forget_buf(d, m, phys);
    assert_eq!(d.free(id), Err(Error::NotFound), "double free");
}

fn dev_pool(d: &Device, m: &mut DevModel, r: &mut Rng) {
    match r.below(10) {
        0..=2 => {
            let zi = usize::from(r.pct(25));
            let (blk_size, blk_cnt) = (1 + r.below(20_000), 1 + r.below(6) as u32);
            let res = d.pool_create(&PoolReq {
                zone: Some(ZONES[zi].0),
                blk_size,
                blk_cnt,
                name: "mpool",
                tag: 3,
                ..PoolReq::default()
            });
            let stride = blk_size.div_ceil(GRAIN) * GRAIN;
            match res {
                Ok(p) => {
                    assert_eq!((p.blk_size, p.stride, p.blk_cnt, p.free_cnt), (blk_size, stride, blk_cnt, blk_cnt));
                    assert_eq!(p.buf.size, stride * blk_cnt as u64);
                    assert!(p.buf.attrs & attr::POOL != 0);
                    assert!(m.bufs.range(p.buf.phys..p.buf.phys + p.buf.size).next().is_none() && m.buf_at(p.buf.phys).is_none());
                    m.bufs.insert(
                        p.buf.phys,
                        MBuf {
                            id: p.buf.id,
                            zone: zi,
                            size: p.buf.size,
                            pool: Some(p.id),
                            bytes: BTreeMap::new(),
                        },
                    );
                    m.saw("pool create");
                    m.pools.push(MPool {
                        id: p.id,
                        buf_phys: p.buf.phys,
                        blk_size,
                        stride,
                        users: vec![0; blk_cnt as usize],
                    });
                }
                Err(Error::OutOfMemory) => {
                    let (_, largest) = m.zone_gaps(zi);
                    assert!(
                        largest / GRAIN < search_floor(blk_cnt as u64 * stride / GRAIN),
                        "pool OutOfMemory with room"
                    );
                }
                Err(e) => panic!("pool_create: unexpected {e:?}"),
            }
        }
        3..=5 if !m.pools.is_empty() => {
            let k = r.below(m.pools.len() as u64) as usize;
            let pl = &mut m.pools[k];
            match d.pool_get(pl.id) {
                Ok(b) => {
                    let i = b.index as usize;
                    assert_eq!(pl.users.get(i), Some(&0), "pool_get handed out a busy block");
                    assert_eq!(b.phys, pl.buf_phys + b.index as u64 * pl.stride);
                    pl.users[i] = 1;
                    m.saw("pool get");
                }
                Err(Error::OutOfMemory) => assert!(pl.users.iter().all(|&u| u > 0), "pool_get failed with a free block"),
                Err(e) => panic!("pool_get: unexpected {e:?}"),
            }
        }
        6..=8 if !m.pools.is_empty() => {
            let k = r.below(m.pools.len() as u64) as usize;
            let pl = &mut m.pools[k];
            let i = r.below(pl.users.len() as u64) as usize;
            let b = d.pool_block(pl.id, i as u32).unwrap();
            if pl.users[i] == 0 {
                assert_eq!(d.pool_release(b), Err(Error::NotFound), "release of a free block");
            } else if r.pct(30) {
                pl.users[i] += 1;
                assert_eq!(d.pool_add_user(b), Ok(pl.users[i]));
            } else {
                d.pool_release(b).unwrap();
                pl.users[i] -= 1;
            }
            assert_eq!(d.pool_users(b), Ok(pl.users[i]));
        }
        9 if !m.pools.is_empty() => {
            let k = r.below(m.pools.len() as u64) as usize;
            let pl = &m.pools[k];
            if pl.users.iter().any(|&u| u > 0) {
                assert_eq!(d.pool_destroy(pl.id), Err(Error::Busy));
            } else {
                let (id, phys) = (pl.id, pl.buf_phys);
                d.pool_destroy(id).unwrap();
                m.saw("pool destroy");
                m.pools.remove(k);
                forget_buf(d, m, phys);
                assert_eq!(d.pool_get(id), Err(Error::NotFound));
            }
        }
        _ => {}
    }
}

fn dev_probe(d: &Device, m: &mut DevModel, r: &mut Rng) {
    for _ in 0..4 {
        let phys = match (r.below(4), m.random_buf(r)) {
            (0 | 1, Some(p)) => p + r.below(m.bufs[&p].size + GRAIN),
            (2, _) => {
                let (_, base, size) = ZONES[r.below(2) as usize];
                base + r.below(size)
            }
            _ => [0, 1, 0x4400_0000 - 1, 0x4500_0000, 0x5020_0000, u64::MAX][r.below(6) as usize],
        };
        let what = probe_phys(d, m, phys);
        m.saw(what);
    }
    if !m.maps.is_empty() {
        let (&a, mm) = m.maps.iter().nth(r.below(m.maps.len() as u64) as usize).unwrap();
        probe_addr(d, m, a + r.below(mm.len as u64) as usize);
        probe_addr(d, m, a + mm.len);
        probe_addr(d, m, a.wrapping_sub(1));
    }
}

fn device_run(seed: u64, ops: usize) {
    let mut w = Where {
        test: "device_against_model",
        seed,
        op: 0,
    };
    let spec = ZONES.map(|(n, b, s)| format!("{n},0,{b:#x},{s}")).join(":");
    let t = TestDevice::new("model", &spec);
    let d = t.dev();
    let mut m = DevModel::default();
    let mut r = Rng(seed);
    for op in 0..ops {
        w.op = op;
        // Keep the live set moderate: free more once it grows.
        let n = m.bufs.len() as u64;
        match r.below(100) {
            x if x < 30u64.saturating_sub(n / 4) + 5 => dev_alloc(d, &mut m, &mut r),
            x if x < 50 => dev_free(d, &mut m, &mut r),
            x if x < 65 => dev_map(d, &mut m, &mut r),
            x if x < 75 => dev_unmap(d, &mut m, &mut r),
            x if x < 88 => dev_pool(d, &mut m, &mut r),
            _ => dev_probe(d, &mut m, &mut r),
        }
        if op % 20 == 19 {
            check_device(d, &m);
        }
    }
    check_device(d, &m);
    for what in [
        "alloc",
        "alloc out of memory",
        "map",
        "map again",
        "unmap wrong tag",
        "free",
        "pool create",
        "pool get",
        "pool destroy",
        "probe pool block",
        "probe buffer",
        "probe hole",
    ] {
        assert!(m.seen.contains_key(what), "seed {seed:#x}: no {what} in {:?}", m.seen);
    }
    w.op = usize::MAX;
    // Tear down in a random order of kinds; the zones must be whole again.
    while let Some((&a, mm)) = m.maps.iter().next() {
        d.unmap(a, mm.tag).unwrap();
        let mm = m.maps.get_mut(&a).unwrap();
        mm.refs -= 1;
        if mm.refs == 0 {
            m.maps.remove(&a);
        }
    }
    for pl in std::mem::take(&mut m.pools) {
        for (i, &u) in pl.users.iter().enumerate() {
            let b = d.pool_block(pl.id, i as u32).unwrap();
            for _ in 0..u {
                d.pool_release(b).unwrap();
            }
        }
        d.pool_destroy(pl.id).unwrap();
        m.bufs.remove(&pl.buf_phys);
    }
    let ids: Vec<BufId> = m.bufs.values().map(|b| b.id).collect();
    for id in ids {
        d.free(id).unwrap();
    }
    m.bufs.clear();
    check_device(d, &m);
    for (zi, z) in d.zones().unwrap().iter().enumerate() {
        assert_eq!(
            (z.used, z.largest_free),
            (0, ZONES[zi].2),
            "zone {} not whole after freeing all",
            z.name
        );
    }
    let whole: BufInfo = d
        .alloc(&AllocReq {
            size: ZONES[0].2,
            name: "whole",
            ..AllocReq::default()
        })
        .unwrap();
    assert_eq!(whole.phys, ZONES[0].1);
    d.free(whole.id).unwrap();
}

#[test]
fn device_against_model() {
    for seed in seeds(&[21, 22, 0xB0A7]) {
        device_run(seed, 700);
    }
}
