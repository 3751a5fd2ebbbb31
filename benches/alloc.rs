//! Allocation speed, as ratios against plain baselines measured in the same
//! run (absolute numbers depend on the machine; ratios travel better).
//!
//! `cargo bench --bench alloc` prints a markdown table. Nothing here asserts
//! a time: the numbers are for reading.

use accelmem::api::hisilicon::hi_type::HI_SUCCESS;
use accelmem::api::hisilicon::mpi_sys::{HI_MPI_SYS_Init, HI_MPI_SYS_MmzAlloc, HI_MPI_SYS_MmzFree};
use accelmem::backend::{Backend, BufKey, SyncFlags};
use accelmem::engine::config::parse_zones;
use accelmem::engine::tlsf::{Arena, Desc, DescPool, Tlsf, NIL};
use accelmem::engine::{AllocReq, BufId, Config, Device};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::c_void;
use std::hint::black_box;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Instant;

const ROUNDS: usize = 7;
const PAGE: usize = 4096;

/// splitmix64, so every run and both sides of a comparison see the same
/// sequence of sizes and victims.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Nanoseconds per call of `f`, `iters` calls per round.
fn ns_per_op(iters: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_nanos() as f64 / iters as f64
}

/// Median ns/op of `a` and `b`, alternating rounds so drift hits both.
fn compare(iters: usize, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> (f64, f64) {
    // Warm up both (page cache, first-use paths).
    ns_per_op(iters / 10 + 1, a);
    ns_per_op(iters / 10 + 1, b);
    let (mut ra, mut rb) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        ra.push(ns_per_op(iters, a));
        rb.push(ns_per_op(iters, b));
    }
    (median(ra), median(rb))
}

fn touch(p: *mut u8, len: usize) {
    for off in (0..len).step_by(PAGE) {
        // SAFETY: off < len inside a fresh writable mapping of len bytes.
        unsafe { p.add(off).write_volatile(1) };
    }
}

fn mmz_pair(size: u32, touch_pages: bool) {
    let (mut phys, mut vir) = (0u64, std::ptr::null_mut::<c_void>());
    // SAFETY: valid out-pointers and a NUL-terminated name; NULL zone.
    let r = unsafe { HI_MPI_SYS_MmzAlloc(&mut phys, &mut vir, c"bench".as_ptr(), std::ptr::null(), size) };
    assert_eq!(r, HI_SUCCESS, "HI_MPI_SYS_MmzAlloc({size})");
    if touch_pages {
        touch(vir.cast(), size as usize);
    }
    assert_eq!(HI_MPI_SYS_MmzFree(phys, vir), HI_SUCCESS);
}

/// What a buffer costs without accelmem: a shared-memory object, sized,
/// mapped, unmapped and closed.
fn memfd_pair(size: u32, touch_pages: bool) {
    // SAFETY: NUL-terminated name; results checked; the mapping is
    // size bytes of a file of size bytes and unmapped before close.
    unsafe {
        let fd = libc::memfd_create(c"bench".as_ptr(), libc::MFD_CLOEXEC);
        assert!(fd >= 0);
        assert_eq!(libc::ftruncate(fd, size as libc::off_t), 0);
        let p = libc::mmap(
            std::ptr::null_mut(),
            size as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            fd,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        if touch_pages {
            touch(p.cast(), size as usize);
        }
        libc::munmap(p, size as usize);
        libc::close(fd);
    }
}

/// Free + alloc pairs per second over one round, after growing or
/// shrinking the device to `live` blocks.
fn device_round(dev: &Device, ids: &mut Vec<BufId>, live: usize, rng: &mut Rng, pairs: usize) -> f64 {
    let req = |pages: u64| AllocReq {
        size: pages * PAGE as u64,
        name: "bench",
        ..AllocReq::default()
    };
    while ids.len() > live {
        dev.free(ids.pop().unwrap()).unwrap();
    }
    while ids.len() < live {
        ids.push(dev.alloc(&req(1 + rng.below(16))).unwrap().id);
    }
    let t = Instant::now();
    for _ in 0..pairs {
        let i = rng.below(ids.len() as u64) as usize;
        dev.free(ids[i]).unwrap();
        ids[i] = dev.alloc(&req(1 + rng.below(16))).unwrap().id;
    }
    pairs as f64 / t.elapsed().as_secs_f64()
}

/// A backend that makes no objects, so a device measures the engine alone
/// (shared-table lock, buffer records, TLSF, page map).
struct NoBytes(OwnedFd);

impl Backend for NoBytes {
    fn name(&self) -> &'static str {
        "none"
    }
    fn create(&self, _: BufKey<'_>, _: u64, _: bool) -> accelmem::Result<OwnedFd> {
        Ok(self.0.as_fd().try_clone_to_owned()?)
    }
    fn open(&self, _: BufKey<'_>) -> accelmem::Result<OwnedFd> {
        Ok(self.0.as_fd().try_clone_to_owned()?)
    }
    fn release(&self, _: BufKey<'_>) {}
    fn sync(&self, _: BufKey<'_>, _: SyncFlags, _: u64, _: u64) -> accelmem::Result<()> {
        Ok(())
    }
    fn sweep(&self, _: &str, _: &dyn Fn(u64) -> bool) {}
    fn identify(&self, _: BorrowedFd<'_>) -> Option<(String, u64)> {
        None
    }
}

/// Free + alloc pairs per second at 10,000 and at 100 live blocks on one
/// device, alternating rounds so load changes hit both.
fn device_scaling(dev: &Device, pairs: usize) -> (f64, f64) {
    let mut ids = vec![];
    let mut rng = Rng(42);
    let (mut many, mut few) = (vec![], vec![]);
    for _ in 0..ROUNDS {
        many.push(device_round(dev, &mut ids, 10_000, &mut rng, pairs));
        few.push(device_round(dev, &mut ids, 100, &mut rng, pairs));
    }
    for id in ids.drain(..) {
        dev.free(id).unwrap();
    }
    dev.check().unwrap();
    (median(many), median(few))
}

/// Best fit over ordered maps: the obvious O(log n) design, as a yardstick.
#[derive(Default)]
struct BestFit {
    by_size: BTreeSet<(u64, u64)>,
    by_off: BTreeMap<u64, u64>,
}

impl BestFit {
    fn new(len: u64) -> BestFit {
        let mut b = BestFit::default();
        b.put(0, len);
        b
    }
    fn put(&mut self, off: u64, len: u64) {
        self.by_size.insert((len, off));
        self.by_off.insert(off, len);
    }
    fn take(&mut self, off: u64, len: u64) {
        self.by_size.remove(&(len, off));
        self.by_off.remove(&off);
    }
    fn alloc(&mut self, len: u64) -> Option<u64> {
        let &(l, off) = self.by_size.range((len, 0)..).next()?;
        self.take(off, l);
        if l > len {
            self.put(off + len, l - len);
        }
        Some(off)
    }
    fn free(&mut self, mut off: u64, mut len: u64) {
        if let Some(&nl) = self.by_off.get(&(off + len)) {
            self.take(off + len, nl);
            len += nl;
        }
        if let Some((&po, &pl)) = self.by_off.range(..off).next_back() {
            if po + pl == off {
                self.take(po, pl);
                off = po;
                len += pl;
            }
        }
        self.put(off, len);
    }
}

/// Free + alloc pairs per second: pure TLSF, and the best-fit yardstick,
/// both with `live` blocks of 1..=256 units in a range of 2^24 units.
fn range_allocators(live: usize, pairs: usize) -> (f64, f64) {
    const LEN: u64 = 1 << 24;
    let mut descs = vec![Desc::default(); 2 * live + 8];
    let mut pool = DescPool { free_head: NIL, high: 0 };
    let mut t = Tlsf::default();
    let mut ar = Arena {
        descs: &mut descs,
        pool: &mut pool,
    };
    t.init(&mut ar, LEN).unwrap();
    let mut rng = Rng(7);
    let mut tl: Vec<u32> = (0..live).map(|_| t.alloc(&mut ar, 1 + rng.below(256), 1, 0).unwrap()).collect();
    let mut bf = BestFit::new(LEN);
    let mut rng = Rng(7);
    let mut bl: Vec<(u64, u64)> = (0..live)
        .map(|_| {
            let l = 1 + rng.below(256);
            (bf.alloc(l).unwrap(), l)
        })
        .collect();
    let (mut rt, mut rb) = (vec![], vec![]);
    for round in 0..ROUNDS {
        let seed = 100 + round as u64;
        let mut rng = Rng(seed);
        let s = Instant::now();
        for _ in 0..pairs {
            let i = rng.below(live as u64) as usize;
            t.free(&mut ar, tl[i]).unwrap();
            tl[i] = t.alloc(&mut ar, 1 + rng.below(256), 1, 0).unwrap();
        }
        rt.push(pairs as f64 / s.elapsed().as_secs_f64());
        let mut rng = Rng(seed);
        let s = Instant::now();
        for _ in 0..pairs {
            let i = rng.below(live as u64) as usize;
            bf.free(bl[i].0, bl[i].1);
            let l = 1 + rng.below(256);
            bl[i] = (bf.alloc(l).unwrap(), l);
        }
        rb.push(pairs as f64 / s.elapsed().as_secs_f64());
    }
    black_box((&tl, &bl));
    (median(rt), median(rb))
}

/// Removes the benchmark's devices however main ends.
struct Cleanup(Vec<Config>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.0 {
            let _ = Device::destroy(c);
        }
    }
}

fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2} M/s", r / 1e6)
    } else {
        format!("{:.0} k/s", r / 1e3)
    }
}

fn main() {
    // Before anything opens the global device: a name of our own.
    let name = format!("bench-{}", std::process::id());
    std::env::set_var("ACCELMEM_DEVICE", &name);
    std::env::set_var("ACCELMEM_ZONES", "anonymous,0,0x44000000,64M");
    let engine_cfg = Config {
        device: format!("{name}-engine"),
        zones: parse_zones("anonymous,0,0x10000000,1G").unwrap(),
        ..Config::default()
    };
    let bare_cfg = Config {
        device: format!("{name}-bare"),
        ..engine_cfg.clone()
    };
    let _cleanup = Cleanup(vec![Config::from_env().unwrap(), engine_cfg.clone(), bare_cfg.clone()]);
    let started = Instant::now();
    assert_eq!(HI_MPI_SYS_Init(), HI_SUCCESS);

    let mut rows = vec![];
    for (size, label, iters) in [(4u32 << 10, "4 KiB", 4000), (64 << 10, "64 KiB", 2000), (1 << 20, "1 MiB", 400)] {
        for touch_pages in [false, true] {
            let (a, b) = compare(iters, &mut || mmz_pair(size, touch_pages), &mut || memfd_pair(size, touch_pages));
            let what = if touch_pages { ", one byte per page" } else { "" };
            rows.push(format!(
                "| `HI_MPI_SYS_MmzAlloc`+`MmzFree`, {label}{what} | {:.1} µs | memfd+ftruncate+mmap+munmap+close: {:.1} µs | {:.2}× |",
                a / 1e3,
                b / 1e3,
                a / b
            ));
        }
    }

    let (many, few) = device_scaling(&Device::open(engine_cfg).unwrap(), 3000);
    rows.push(format!(
        "| `Device::alloc`+`free` pairs, 10,000 live blocks | {} | same at 100 live blocks: {} | {:.2}× |",
        fmt_rate(many),
        fmt_rate(few),
        many / few
    ));
    let null = std::fs::File::open("/dev/null").unwrap();
    let (many, few) = device_scaling(&Device::with_backend(bare_cfg, Box::new(NoBytes(null.into()))).unwrap(), 50_000);
    rows.push(format!(
        "| same, engine alone (no-op backend), 10,000 live blocks | {} | same at 100 live blocks: {} | {:.2}× |",
        fmt_rate(many),
        fmt_rate(few),
        many / few
    ));

    let (tlsf, bestfit) = range_allocators(10_000, 500_000);
    rows.push(format!(
        "| `Tlsf` alloc+free pairs, 10,000 live blocks | {} | `BTreeMap` best fit: {} | {:.2}× |",
        fmt_rate(tlsf),
        fmt_rate(bestfit),
        tlsf / bestfit
    ));

    println!();
    println!("| benchmark | accelmem | baseline | accelmem / baseline |");
    println!("|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    println!();
    println!(
        "Medians of {ROUNDS} rounds; times are per alloc+free pair, rates are pairs per second \
         (for rates, a ratio above 1 is faster). Total {:.1} s.",
        started.elapsed().as_secs_f64()
    );
}
