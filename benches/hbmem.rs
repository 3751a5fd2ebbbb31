//! hbmem memory-pool speed: `hb_mem_pool_alloc_buf` + `hb_mem_pool_free_buf`
//! pairs against malloc+free (aim: within 2x) and against
//! `hb_mem_alloc_com_buf` + `hb_mem_free_buf` (aim: the pool at least 20x
//! faster). Ratios come from alternating rounds in one run (medians), so
//! they travel better than the absolute numbers.
//!
//! `cargo bench --bench hbmem` prints a markdown table; nothing here asserts
//! a time.

use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::pool::*;
use accelmem::engine::{Config, Device};
use std::hint::black_box;
use std::time::Instant;

const ROUNDS: usize = 11;
const SIZES: [u64; 3] = [64, 4096, 64 << 10];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Seconds per call of `f`, `iters` calls.
fn secs_per_op(iters: usize, f: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    for _ in 0..iters {
        f();
    }
    t.elapsed().as_secs_f64() / iters as f64
}

/// Median seconds per call of `a` and of `b`, alternating rounds (and
/// which goes first) so drift on the 2 cores hits both.
fn compare(iters: usize, a: &mut dyn FnMut(), b: &mut dyn FnMut()) -> (f64, f64) {
    secs_per_op(iters.div_ceil(4), a);
    secs_per_op(iters.div_ceil(4), b);
    let (mut ra, mut rb) = (vec![], vec![]);
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            ra.push(secs_per_op(iters, a));
            rb.push(secs_per_op(iters, b));
        } else {
            rb.push(secs_per_op(iters, b));
            ra.push(secs_per_op(iters, a));
        }
    }
    (median(ra), median(rb))
}

fn ok(r: i32, what: &str) {
    assert_eq!(r, 0, "{what} failed");
}

fn zero_buf() -> hb_mem_common_buf_t {
    hb_mem_common_buf_t {
        fd: -1,
        share_id: 0,
        flags: 0,
        size: 0,
        virt_addr: std::ptr::null_mut(),
        phys_addr: 0,
        offset: 0,
    }
}

struct Cleanup(Config);

impl Drop for Cleanup {
    fn drop(&mut self) {
        // SAFETY: no argument; frees what this process still holds.
        unsafe { hb_mem_module_close() };
        let _ = Device::destroy(&self.0);
    }
}

fn ns(s: f64) -> String {
    format!("{:.0} ns", s * 1e9)
}

fn main() {
    // Before any call opens a device: a name of our own.
    std::env::set_var("ACCELMEM_DEVICE", format!("bench-hbmem-{}", std::process::id()));
    std::env::set_var("ACCELMEM_ZONES", "anonymous,0,0x44000000,64M");
    let _cleanup = Cleanup(Config::from_env().unwrap());
    let started = Instant::now();
    let mut pool = hb_mem_pool_t::default();
    // SAFETY: plain calls with valid out pointers.
    unsafe {
        ok(hb_mem_module_open(), "hb_mem_module_open");
        ok(hb_mem_pool_create(16 << 20, 0, &mut pool), "hb_mem_pool_create");
    }
    let fd = pool.fd;
    let mut b = zero_buf();

    println!("| size | pool alloc+free | malloc+free | pool / malloc | com_buf alloc+free | com_buf / pool |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for size in SIZES {
        let mut pool_pair = || {
            // SAFETY: valid out pointer; the block is freed by its address.
            unsafe {
                ok(hb_mem_pool_alloc_buf(fd, size, &mut b), "hb_mem_pool_alloc_buf");
                ok(hb_mem_pool_free_buf(black_box(b.virt_addr as u64)), "hb_mem_pool_free_buf");
            }
        };
        let mut malloc_pair = || {
            // SAFETY: malloc/free pair on the C heap.
            unsafe {
                let p = libc::malloc(black_box(size as usize));
                assert!(!p.is_null());
                libc::free(black_box(p));
            }
        };
        let (pool_s, malloc_s) = compare(100_000, &mut pool_pair, &mut malloc_pair);
        let mut c = zero_buf();
        let mut com_pair = || {
            // SAFETY: valid out pointer; the buffer is freed by its fd.
            unsafe {
                ok(hb_mem_alloc_com_buf(size, 0, &mut c), "hb_mem_alloc_com_buf");
                ok(hb_mem_free_buf(c.fd), "hb_mem_free_buf");
            }
        };
        let (com_s, pool_s2) = compare(300, &mut com_pair, &mut pool_pair);
        println!(
            "| {size} | {} | {} | {:.2}x | {} | {:.0}x |",
            ns(pool_s),
            ns(malloc_s),
            pool_s / malloc_s,
            ns(com_s),
            com_s / pool_s2
        );
    }
    // SAFETY: no blocks are out.
    unsafe { ok(hb_mem_pool_destroy(fd), "hb_mem_pool_destroy") };
    eprintln!("(rounds: {ROUNDS}, medians; {:.1} s)", started.elapsed().as_secs_f64());
}
