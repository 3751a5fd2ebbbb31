//! hbmem memory pools and share pools, used the way the RDK `sample_pool.c`
//! and `sample_share_pool.c` use them: create, allocate, write and read,
//! pool info, `HB_MEM_ERR_POOL_BUSY`, free, destroy, errors afterwards; a
//! memory pool's alloc/free enter no system call (counted with strace);
//! a share-pool block imported and freed by a forked process.
//!
//! The exports open one process-global device from the environment, so
//! `init()` points it at a private directory once; tests take `LOCK`
//! because pool counts and the zone's block list are process-wide.

mod common;

use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::pool::*;
use accelmem::api::horizon::hbmem::share::*;
use accelmem::engine::{self, Device};
use std::path::Path;
use std::process::Command;
use std::sync::{Mutex, MutexGuard, Once};

const DIR_PREFIX: &str = "accelmem-test-hbpool-";
const PAGE: u64 = 4096;

/// ion_cma serves the default heap, carveout `HB_MEM_USAGE_PRIV_HEAP_RESERVED`.
const ZONES: &str = "ion_cma,0,0x44000000,64M:carveout,0,0x48000000,16M";
const ION_CMA: std::ops::Range<u64> = 0x4400_0000..0x4800_0000;
const CARVEOUT: std::ops::Range<u64> = 0x4800_0000..0x4900_0000;

static INIT: Once = Once::new();
static LOCK: Mutex<()> = Mutex::new(());

/// Private device for this process, module opened once.
fn init() -> (&'static Device, MutexGuard<'static, ()>) {
    INIT.call_once(|| {
        let pid = std::process::id();
        let dir = common::own_shm_dir(DIR_PREFIX);
        std::env::set_var("ACCELMEM_DEVICE", format!("t-hbpool-{pid}"));
        std::env::set_var("ACCELMEM_ZONES", ZONES);
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
        // SAFETY: plain FFI call.
        assert_eq!(unsafe { hb_mem_module_open() }, 0);
    });
    let dev = engine::global().expect("the global device opens");
    assert_eq!(dev.name(), format!("t-hbpool-{}", std::process::id()));
    (dev, LOCK.lock().unwrap_or_else(|p| p.into_inner()))
}

fn blocks(dev: &Device) -> usize {
    dev.zones().unwrap().iter().map(|z| z.blocks.len()).sum()
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

fn pool_info(fd: i32) -> hb_mem_pool_t {
    let mut p = hb_mem_pool_t::default();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_pool_get_info(fd, &mut p) }, 0);
    p
}

fn pool_alloc(fd: i32, size: u64) -> hb_mem_common_buf_t {
    let mut b = zero_buf();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_pool_alloc_buf(fd, size, &mut b) }, 0, "alloc {size}");
    b
}

#[test]
fn memory_pool_like_sample_pool() {
    let (dev, _l) = init();
    let before = blocks(dev);
    let mut pool = hb_mem_pool_t::default();
    // SAFETY: valid out pointer.
    assert_eq!(
        unsafe { hb_mem_pool_create(1 << 20, HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN, &mut pool) },
        0
    );
    assert_eq!(
        (pool.size, pool.page_size, pool.total_page_cnt, pool.avail_page_cnt),
        (1 << 20, 4096, 256, 256)
    );
    assert_eq!(pool.cur_client_cnt, 0);
    assert_eq!(blocks(dev), before + 1, "a pool is one engine buffer");

    // The pool fd is a common buffer.
    let mut whole = zero_buf();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_get_com_buf(pool.fd, &mut whole) }, 0);
    assert_eq!(whole.size, 1 << 20);
    let base = whole.virt_addr as u64;

    let sizes = [1u64, 100, 4096, 4097, 3 * 4096 + 5, 64 << 10];
    let mut got = Vec::new();
    for (i, &s) in sizes.iter().enumerate() {
        let b = pool_alloc(pool.fd, s);
        assert_eq!(b.size, s);
        assert_eq!(b.fd, pool.fd);
        assert_eq!(b.share_id, whole.share_id);
        assert_eq!(b.virt_addr as u64 % PAGE, 0, "page aligned");
        assert_eq!(b.virt_addr as u64, base + b.offset, "inside the pool buffer at its offset");
        assert_eq!(b.phys_addr, whole.phys_addr + b.offset);
        assert!(b.offset + s <= 1 << 20);
        // SAFETY: the block is `s` writable bytes.
        unsafe { std::ptr::write_bytes(b.virt_addr, 0x40 + i as u8, s as usize) };
        got.push(b);
    }
    // No two blocks overlap: each still holds its own pattern.
    for (i, b) in got.iter().enumerate() {
        // SAFETY: the block is `size` readable bytes.
        let s = unsafe { std::slice::from_raw_parts(b.virt_addr, b.size as usize) };
        assert!(s.iter().all(|&x| x == 0x40 + i as u8), "block {i} intact");
    }
    let pages: u64 = sizes.iter().map(|s| s.div_ceil(PAGE)).sum();
    let p = pool_info(pool.fd);
    assert_eq!(p.avail_page_cnt as u64, 256 - pages);
    assert_eq!(p.cur_client_cnt, sizes.len() as i32);
    assert_eq!(blocks(dev), before + 1, "blocks are not engine buffers");

    // SAFETY: plain FFI calls.
    unsafe {
        assert_eq!(hb_mem_pool_destroy(pool.fd), HB_MEM_ERR_POOL_BUSY);
        // Inside a block but not its start; past the buffer; a stack address.
        assert_eq!(hb_mem_pool_free_buf(got[5].virt_addr as u64 + 4096), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_pool_free_buf(base + (1 << 20)), HB_MEM_ERR_INVALID_VADDR);
        let x = 0u8;
        assert_eq!(hb_mem_pool_free_buf(&x as *const u8 as u64), HB_MEM_ERR_INVALID_VADDR);
        for b in &got {
            assert_eq!(hb_mem_pool_free_buf(b.virt_addr as u64), 0);
        }
        assert_eq!(
            hb_mem_pool_free_buf(got[0].virt_addr as u64),
            HB_MEM_ERR_INVALID_VADDR,
            "double free"
        );
    }
    let p = pool_info(pool.fd);
    assert_eq!((p.avail_page_cnt, p.cur_client_cnt), (256, 0));

    // Too big, then exactly everything.
    let mut b = zero_buf();
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, (1 << 20) + 1, &mut b), HB_MEM_ERR_INSUFFICIENT_MEM);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 1 << 20, &mut b), 0);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 1, &mut b), HB_MEM_ERR_INSUFFICIENT_MEM, "pool full");
        assert_eq!(hb_mem_pool_free_buf(base), 0);
        assert_eq!(hb_mem_pool_destroy(pool.fd), 0);
        assert_eq!(hb_mem_pool_destroy(pool.fd), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 1, &mut b), HB_MEM_ERR_POOL_DESTROYED);
        let mut p = hb_mem_pool_t::default();
        assert_eq!(hb_mem_pool_get_info(pool.fd, &mut p), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_get_com_buf(pool.fd, &mut whole), HB_MEM_ERR_INVALID_FD);
    }
    assert_eq!(blocks(dev), before, "destroy frees the pool's buffer");
    dev.check().unwrap();
}

#[test]
fn free_buf_on_the_pool_fd_destroys_it() {
    let (dev, _l) = init();
    let before = blocks(dev);
    let mut pool = hb_mem_pool_t::default();
    let mut b = zero_buf();
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_pool_create(64 << 10, 0, &mut pool), 0);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 10, &mut b), 0);
        assert_eq!(hb_mem_free_buf(pool.fd), 0);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 10, &mut b), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_pool_free_buf(b.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_pool_destroy(pool.fd), HB_MEM_ERR_POOL_DESTROYED);
    }
    assert_eq!(blocks(dev), before);
}

#[test]
fn pool_bad_inputs() {
    let (_dev, _l) = init();
    let mut pool = hb_mem_pool_t::default();
    let mut b = zero_buf();
    let mut c = zero_buf();
    // SAFETY: NULL and valid pointers only.
    unsafe {
        assert_eq!(hb_mem_pool_create(0, 0, &mut pool), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_pool_create(4096, 0, std::ptr::null_mut()), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_pool_create(1 << 40, 0, &mut pool), HB_MEM_ERR_INSUFFICIENT_MEM);
        assert_eq!(hb_mem_pool_alloc_buf(-1, 10, &mut b), HB_MEM_ERR_POOL_NOT_FOUND);
        assert_eq!(hb_mem_pool_destroy(-1), HB_MEM_ERR_INVALID_FD);
        assert_eq!(hb_mem_pool_get_info(-1, &mut pool), HB_MEM_ERR_INVALID_FD);
        assert_eq!(hb_mem_pool_free_buf(0), HB_MEM_ERR_INVALID_VADDR);
        // A common buffer is not a pool.
        assert_eq!(hb_mem_alloc_com_buf(4096, 0, &mut c), 0);
        assert_eq!(hb_mem_pool_alloc_buf(c.fd, 10, &mut b), HB_MEM_ERR_POOL_NOT_FOUND);
        assert_eq!(hb_mem_pool_destroy(c.fd), HB_MEM_ERR_INVALID_FD);
        assert_eq!(hb_mem_pool_free_buf(c.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_free_buf(c.fd), 0);

        assert_eq!(hb_mem_pool_create(4096, 0, &mut pool), 0);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 0, &mut b), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 10, std::ptr::null_mut()), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_pool_get_info(pool.fd, std::ptr::null_mut()), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_pool_destroy(pool.fd), 0);

        assert_eq!(
            hb_mem_share_pool_create(0, 4096, 0, std::ptr::null_mut()),
            HB_MEM_ERR_INVALID_PARAMS
        );
        let mut sp = hb_mem_share_pool_t::default();
        assert_eq!(hb_mem_share_pool_create(0, 4096, 0, &mut sp), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_share_pool_create(4, 0, 0, &mut sp), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(
            hb_mem_share_pool_create(4, 1 << 33, 0, &mut sp),
            HB_MEM_ERR_INVALID_PARAMS,
            "size beyond uint32 pool.size"
        );
        assert_eq!(hb_mem_share_pool_create(1 << 20, 1 << 20, 0, &mut sp), HB_MEM_ERR_INSUFFICIENT_MEM);
        assert_eq!(hb_mem_share_pool_alloc_buf(-1, &mut b), HB_MEM_ERR_POOL_NOT_FOUND);
        assert_eq!(hb_mem_share_pool_destroy(-1), HB_MEM_ERR_INVALID_FD);
        assert_eq!(hb_mem_share_pool_get_info(-1, &mut sp), HB_MEM_ERR_INVALID_FD);
        assert_eq!(hb_mem_share_pool_free_buf(0), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_alloc_com_buf(4096, 0, &mut c), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(c.fd, &mut b), HB_MEM_ERR_POOL_NOT_FOUND);
        assert_eq!(hb_mem_share_pool_free_buf(c.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_free_buf(c.fd), 0);
    }
}

// ------------------------------------------------ no system call per block

const STRACE_CHILD: &str = "ACCELMEM_TEST_POOL_STRACE_CHILD";

fn marker() {
    // SAFETY: getppid has no preconditions; it brackets the measured calls.
    unsafe { libc::syscall(libc::SYS_getppid) };
}

/// Run under strace by `pool_alloc_free_enter_no_system_call`: 200 pool
/// alloc/free pairs between the first two markers, 5 common-buffer
/// alloc/free pairs between the next two (the control: those do enter
/// the kernel). Does nothing in a normal run.
#[test]
fn strace_child() {
    if std::env::var_os(STRACE_CHILD).is_none() {
        return;
    }
    let (_dev, _l) = init();
    let mut pool = hb_mem_pool_t::default();
    let mut b = zero_buf();
    // SAFETY: valid out pointers; blocks freed by their address.
    unsafe {
        assert_eq!(hb_mem_pool_create(1 << 20, 0, &mut pool), 0);
        // Warm up (first-use allocations of the pool tables).
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 8192, &mut b), 0);
        assert_eq!(hb_mem_pool_free_buf(b.virt_addr as u64), 0);
        marker();
        for i in 0..200u64 {
            assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 1 + i * 97, &mut b), 0);
            assert_eq!(hb_mem_pool_free_buf(b.virt_addr as u64), 0);
        }
        marker();
        marker();
        for _ in 0..5 {
            assert_eq!(hb_mem_alloc_com_buf(4096, 0, &mut b), 0);
            assert_eq!(hb_mem_free_buf(b.fd), 0);
        }
        marker();
        assert_eq!(hb_mem_pool_destroy(pool.fd), 0);
    }
}

/// System calls the marking thread made between marker pairs, from an
/// `strace -f` log.
fn between_markers(log: &str) -> Vec<Vec<String>> {
    let tid = log
        .lines()
        .find(|l| l.contains("getppid("))
        .and_then(|l| l.split_whitespace().next())
        .expect("the marker thread's getppid in the log")
        .to_string();
    let mut spans = Vec::new();
    let mut cur: Option<Vec<String>> = None;
    for l in log.lines().filter(|l| l.split_whitespace().next() == Some(tid.as_str())) {
        if l.contains("getppid(") {
            match cur.take() {
                Some(v) => spans.push(v),
                None => cur = Some(Vec::new()),
            }
        } else if let Some(v) = cur.as_mut() {
            v.push(l.to_string());
        }
    }
    spans
}

#[test]
fn pool_alloc_free_enter_no_system_call() {
    if std::env::var_os(STRACE_CHILD).is_some() {
        return;
    }
    let strace = ["/usr/bin/strace", "/bin/strace"].into_iter().find(|p| Path::new(p).exists());
    let Some(strace) = strace else {
        println!("skipped: strace not installed");
        return;
    };
    let log = std::env::temp_dir().join(format!("accelmem-hbpool-strace-{}.log", std::process::id()));
    let exe = std::env::current_exe().unwrap();
    let st = Command::new(strace)
        .args(["-f", "-qq", "-o"])
        .arg(&log)
        .arg(&exe)
        .args(["--exact", "strace_child", "--test-threads=1", "--nocapture"])
        .env(STRACE_CHILD, "1")
        .status()
        .expect("run strace");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    if !st.success() && text.contains("PTRACE_TRACEME") {
        println!("skipped: ptrace not permitted here");
        return;
    }
    assert!(st.success(), "child under strace failed");
    let spans = between_markers(&text);
    assert_eq!(spans.len(), 2, "two marker pairs in the log");
    assert!(spans[0].is_empty(), "pool alloc/free made system calls: {:?}", spans[0]);
    assert!(
        spans[1].len() >= 5,
        "the control (common buffers) shows system calls: {:?}",
        spans[1]
    );
}

// ----------------------------------------------------------- share pools

#[test]
fn share_pool_across_processes() {
    let (dev, _l) = init();
    let before = blocks(dev);
    let mut sp = hb_mem_share_pool_t::default();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_share_pool_create(4, 10000, 0, &mut sp) }, 0);
    assert_eq!((sp.size, sp.total_buf_cnt, sp.avail_buf_cnt), (10000, 4, 4));
    assert_eq!(blocks(dev), before + 1, "one engine buffer holds every block");

    let mut a = zero_buf();
    let mut b = zero_buf();
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut a), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut b), 0);
    }
    assert_eq!(a.size, 10000);
    assert_ne!(a.phys_addr, b.phys_addr);
    assert!(a.phys_addr.abs_diff(b.phys_addr) >= 10000, "blocks do not overlap");
    let mut info = hb_mem_share_pool_t::default();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_share_pool_get_info(sp.fd, &mut info) }, 0);
    assert_eq!((info.total_buf_cnt, info.avail_buf_cnt, info.size), (4, 2, 10000));
    // SAFETY: the block is 10000 writable bytes.
    unsafe { std::ptr::write_bytes(a.virt_addr, 0x5A, 10000) };

    // SAFETY: the child only calls hbmem exports and _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let mut blk = a;
        let code = std::panic::catch_unwind(move || {
            let mut imp = zero_buf();
            let mut mine = zero_buf();
            // SAFETY: valid pointers; the import is 10000 bytes.
            unsafe {
                if hb_mem_import_com_buf(&mut blk, &mut imp) != 0 || imp.size != 10000 {
                    return 1;
                }
                let s = std::slice::from_raw_parts_mut(imp.virt_addr, 10000);
                if s.iter().any(|&x| x != 0x5A) {
                    return 2;
                }
                s[9999] = 0xC3;
                if hb_mem_share_pool_free_buf(imp.virt_addr as u64) != 0 {
                    return 3;
                }
                // Allocate from the pool here too, then give it back.
                if hb_mem_share_pool_alloc_buf(sp.fd, &mut mine) != 0 {
                    return 4;
                }
                let mut i = hb_mem_share_pool_t::default();
                if hb_mem_share_pool_get_info(sp.fd, &mut i) != 0 || i.avail_buf_cnt != 1 {
                    return 5;
                }
                if hb_mem_share_pool_free_buf(mine.virt_addr as u64) != 0 {
                    return 6;
                }
            }
            0
        })
        .unwrap_or(99);
        // SAFETY: leave the forked child without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status), "child exited normally");
    assert_eq!(libc::WEXITSTATUS(status), 0, "child's checks (see return codes)");
    // SAFETY: the block is 10000 readable bytes.
    assert_eq!(unsafe { *a.virt_addr.add(9999) }, 0xC3, "the child's write is visible here");

    // SAFETY: valid pointers and fds.
    unsafe {
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), 0);
        assert_eq!(info.avail_buf_cnt, 2, "the child's import and its own block are back");
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), HB_MEM_ERR_POOL_BUSY);
        // The pool's own fd is not a block.
        let mut whole = zero_buf();
        assert_eq!(hb_mem_get_com_buf(sp.fd, &mut whole), 0);
        assert_eq!(hb_mem_share_pool_free_buf(whole.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_share_pool_free_buf(a.virt_addr as u64 + 1), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_share_pool_free_buf(a.virt_addr as u64), 0);
        assert_eq!(
            hb_mem_share_pool_free_buf(a.virt_addr as u64),
            HB_MEM_ERR_INVALID_VADDR,
            "double free"
        );
        assert_eq!(hb_mem_share_pool_free_buf(b.virt_addr as u64), 0);
        // All four blocks, then no more.
        let mut all = [zero_buf(); 4];
        for x in all.iter_mut() {
            assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, x), 0);
        }
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut a), HB_MEM_ERR_INSUFFICIENT_MEM);
        for x in &all {
            assert_eq!(hb_mem_share_pool_free_buf(x.virt_addr as u64), 0);
        }
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut a), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), HB_MEM_ERR_POOL_DESTROYED);
    }
    assert_eq!(blocks(dev), before, "destroy frees the pool's buffer");
    dev.check().unwrap();
}

/// `hb_mem_free_buf_with_vaddr` on a block's address frees that block, not
/// the pool it came from.
#[test]
fn free_with_vaddr_frees_one_block() {
    let (dev, _g) = init();
    let before = blocks(dev);
    let mut pool = hb_mem_pool_t::default();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_pool_create(64 * 1024, 0, &mut pool) }, 0);
    let a = pool_alloc(pool.fd, 4096);
    let b = pool_alloc(pool.fd, 4096);
    // SAFETY: plain calls of the exports.
    unsafe {
        assert_eq!(hb_mem_free_buf_with_vaddr(b.virt_addr as u64), 0);
        assert_eq!(pool_info(pool.fd).cur_client_cnt, 1, "only the one block was freed");
        assert_eq!(hb_mem_pool_free_buf(a.virt_addr as u64), 0);
        assert_eq!(hb_mem_pool_destroy(pool.fd), 0);
    }
    assert_eq!(blocks(dev), before);
    dev.check().unwrap();
}

#[test]
fn buffers_and_pools_take_their_memory_from_the_heap_the_flags_name() {
    let (dev, _l) = init();
    let before = blocks(dev);
    for (flags, zone) in [(0, ION_CMA), (HB_MEM_USAGE_PRIV_HEAP_RESERVED, CARVEOUT)] {
        let mut pool = hb_mem_pool_t::default();
        let mut sp = hb_mem_share_pool_t::default();
        let mut b = zero_buf();
        // SAFETY: valid out pointers.
        unsafe {
            assert_eq!(hb_mem_alloc_com_buf(4096, flags, &mut b), 0);
            assert!(zone.contains(&b.phys_addr), "common buffer {flags:#x} at {:#x}", b.phys_addr);
            assert_eq!(hb_mem_free_buf(b.fd), 0);
            assert_eq!(hb_mem_pool_create(64 << 10, flags, &mut pool), 0);
            assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 100, &mut b), 0);
            assert!(zone.contains(&b.phys_addr), "memory pool {flags:#x} block at {:#x}", b.phys_addr);
            assert_eq!(hb_mem_pool_free_buf(b.virt_addr as u64), 0);
            assert_eq!(hb_mem_pool_destroy(pool.fd), 0);
            assert_eq!(hb_mem_share_pool_create(2, 4096, flags, &mut sp), 0);
            assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut b), 0);
            assert!(zone.contains(&b.phys_addr), "share pool {flags:#x} block at {:#x}", b.phys_addr);
            assert_eq!(hb_mem_share_pool_free_buf(b.virt_addr as u64), 0);
            assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
        }
    }
    assert_eq!(blocks(dev), before);
    dev.check().unwrap();
}

/// In a one-block share pool the block has the pool buffer's address and
/// size: an import of it must still free as a block, not be taken for the
/// pool's own fd.
#[test]
fn one_block_share_pool_import_frees() {
    let (dev, _l) = init();
    let before = blocks(dev);
    let mut sp = hb_mem_share_pool_t::default();
    let mut b = zero_buf();
    let mut imp = zero_buf();
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_create(1, 4096, 0, &mut sp), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut b), 0);
        assert_eq!(hb_mem_import_com_buf(&mut b, &mut imp), 0);
        assert_eq!(hb_mem_share_pool_free_buf(imp.virt_addr as u64), 0, "the import frees");
        assert_eq!(hb_mem_share_pool_free_buf(b.virt_addr as u64), 0);
        let mut info = hb_mem_share_pool_t::default();
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), 0);
        assert_eq!(info.avail_buf_cnt, 1);
        // The pool's own fd is not a block.
        let mut pb = zero_buf();
        assert_eq!(hb_mem_get_com_buf(sp.fd, &mut pb), 0);
        assert_eq!(hb_mem_share_pool_free_buf(pb.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
    }
    assert_eq!(blocks(dev), before);
}

/// `hb_mem_free_buf` works on share-pool fds too: a block's fd returns the
/// block, the pool's fd destroys an idle pool (and is busy otherwise).
#[test]
fn free_buf_on_share_pool_fds() {
    let (dev, _l) = init();
    let before = blocks(dev);
    let mut sp = hb_mem_share_pool_t::default();
    let mut b = zero_buf();
    let mut info = hb_mem_share_pool_t::default();
    // SAFETY: valid pointers and fds.
    unsafe {
        assert_eq!(hb_mem_share_pool_create(2, 4096, 0, &mut sp), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut b), 0);
        assert_eq!(hb_mem_free_buf(sp.fd), HB_MEM_ERR_POOL_BUSY, "a block is out");
        assert_eq!(hb_mem_free_buf(b.fd), 0);
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), 0);
        assert_eq!(info.avail_buf_cnt, 2, "the block is back");
        assert_eq!(
            hb_mem_share_pool_free_buf(b.virt_addr as u64),
            HB_MEM_ERR_INVALID_VADDR,
            "already freed"
        );
        assert_eq!(hb_mem_free_buf(sp.fd), 0);
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), HB_MEM_ERR_POOL_DESTROYED);
    }
    assert_eq!(blocks(dev), before, "the pool's buffer is gone");
    dev.check().unwrap();
}

/// An import names one block of a share pool: a struct stretched over two
/// blocks, or naming a block nobody holds, imports nothing; a common
/// buffer's fd is no share pool to destroy.
#[test]
fn share_pool_imports_name_one_held_block() {
    let (dev, _l) = init();
    let mut sp = hb_mem_share_pool_t::default();
    let mut b = zero_buf();
    let mut imp = zero_buf();
    let mut c = zero_buf();
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_create(3, 4096, 0, &mut sp), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut b), 0);
        let mut two = b;
        two.size = 8192;
        assert_eq!(hb_mem_import_com_buf(&mut two, &mut imp), HB_MEM_ERR_INVALID_PARAMS);
        let mut free_blk = b;
        free_blk.phys_addr += 4096;
        assert_eq!(hb_mem_import_com_buf(&mut free_blk, &mut imp), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(
            hb_mem_import_com_buf_with_paddr(b.phys_addr, 8192, 0, &mut imp),
            HB_MEM_ERR_INVALID_PARAMS
        );
        assert_eq!(hb_mem_import_com_buf_with_paddr(b.phys_addr + 16, 64, 0, &mut imp), 0);
        let mut n = -1;
        assert_eq!(hb_mem_get_share_info(b.fd, &mut n), 0);
        assert_eq!(n, 1, "the import by physical address holds the block");
        assert_eq!(hb_mem_share_pool_destroy(b.fd), HB_MEM_ERR_POOL_BUSY);
        assert_eq!(hb_mem_alloc_com_buf(4096, 0, &mut c), 0);
        assert_eq!(hb_mem_share_pool_destroy(c.fd), HB_MEM_ERR_INVALID_FD);
        assert_eq!(hb_mem_free_buf(c.fd), 0);
        assert_eq!(hb_mem_share_pool_free_buf(b.virt_addr as u64), 0);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), HB_MEM_ERR_POOL_BUSY, "still imported");
        assert_eq!(hb_mem_free_buf(imp.fd), 0);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
    }
    dev.check().unwrap();
}

/// Four threads at once on one memory pool and one share pool: allocate,
/// fill with a thread-own byte, import (share-pool blocks), check the
/// bytes, free. Every call succeeds, no thread sees another's bytes, and
/// both pools end with everything back.
#[test]
fn threads_share_the_pools() {
    let (dev, _l) = init();
    let mut mp = hb_mem_pool_t::default();
    let mut sp = hb_mem_share_pool_t::default();
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_pool_create(1 << 20, 0, &mut mp), 0);
        assert_eq!(hb_mem_share_pool_create(8, 8192, 0, &mut sp), 0);
    }
    let (mfd, sfd) = (mp.fd, sp.fd);
    std::thread::scope(|s| {
        for th in 0..4u8 {
            s.spawn(move || {
                for i in 0..300usize {
                    let fill = th * 64 + (i % 64) as u8;
                    let (mut a, mut b, mut imp) = (zero_buf(), zero_buf(), zero_buf());
                    let size = 4096 * (1 + (i % 5) as u64);
                    // SAFETY: valid pointers; each block is `size` (a) or
                    // 8192 (b) writable bytes this thread holds.
                    unsafe {
                        assert_eq!(hb_mem_pool_alloc_buf(mfd, size, &mut a), 0, "thread {th} iter {i}: pool alloc");
                        std::ptr::write_bytes(a.virt_addr, fill, size as usize);
                        assert_eq!(hb_mem_share_pool_alloc_buf(sfd, &mut b), 0, "thread {th} iter {i}: share alloc");
                        std::ptr::write_bytes(b.virt_addr, fill, 8192);
                        assert_eq!(hb_mem_import_com_buf(&mut b, &mut imp), 0);
                        let seen = std::slice::from_raw_parts(imp.virt_addr, 8192);
                        assert!(seen.iter().all(|&x| x == fill), "thread {th} iter {i}: import sees the block");
                        // The allocator frees first; the import still holds it.
                        assert_eq!(hb_mem_share_pool_free_buf(b.virt_addr as u64), 0);
                        assert!(seen.iter().all(|&x| x == fill), "thread {th} iter {i}: nobody took it");
                        assert_eq!(hb_mem_free_buf(imp.fd), 0);
                        let mine = std::slice::from_raw_parts(a.virt_addr, size as usize);
                        assert!(mine.iter().all(|&x| x == fill), "thread {th} iter {i}: pool block intact");
                        assert_eq!(hb_mem_pool_free_buf(a.virt_addr as u64), 0);
                    }
                }
            });
        }
    });
    let mut info = hb_mem_pool_t::default();
    let mut sinfo = hb_mem_share_pool_t::default();
    // SAFETY: valid pointers and fds.
    unsafe {
        assert_eq!(hb_mem_pool_get_info(mfd, &mut info), 0);
        assert_eq!((info.avail_page_cnt, info.cur_client_cnt), (info.total_page_cnt, 0));
        assert_eq!(hb_mem_share_pool_get_info(sfd, &mut sinfo), 0);
        assert_eq!(sinfo.avail_buf_cnt, 8);
        assert_eq!(hb_mem_pool_destroy(mfd), 0);
        assert_eq!(hb_mem_share_pool_destroy(sfd), 0);
    }
    dev.check().unwrap();
}

/// `hb_mem_free_buf_with_vaddr` in a memory pool frees the block holding
/// the address (any address inside it); a second free, or an address in no
/// block, is `HB_MEM_ERR_INVALID_VADDR` and leaves the pool and its other
/// blocks alone.
#[test]
fn free_with_vaddr_in_a_pool_frees_only_the_block_holding_it() {
    let (_dev, _l) = init();
    let mut mp = hb_mem_pool_t::default();
    let (mut a, mut b) = (zero_buf(), zero_buf());
    let mut info = hb_mem_pool_t::default();
    // SAFETY: valid pointers; b's 8192 bytes are written while it is held.
    unsafe {
        assert_eq!(hb_mem_pool_create(64 << 10, 0, &mut mp), 0);
        assert_eq!(hb_mem_pool_alloc_buf(mp.fd, 4096, &mut a), 0);
        assert_eq!(hb_mem_pool_alloc_buf(mp.fd, 8192, &mut b), 0);
        assert_eq!(hb_mem_free_buf_with_vaddr(b.virt_addr as u64 + 5000), 0, "an address inside b");
        assert_eq!(hb_mem_free_buf_with_vaddr(b.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR, "b again");
        assert_eq!(hb_mem_free_buf_with_vaddr(a.virt_addr as u64), 0);
        assert_eq!(hb_mem_free_buf_with_vaddr(a.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR, "a again");
        assert_eq!(hb_mem_pool_get_info(mp.fd, &mut info), 0, "the pool lives");
        assert_eq!((info.cur_client_cnt, info.avail_page_cnt), (0, 16));
        assert_eq!(hb_mem_pool_alloc_buf(mp.fd, 8192, &mut b), 0);
        std::ptr::write_bytes(b.virt_addr, 7, 8192);
        assert_eq!(hb_mem_free_buf_with_vaddr(mp.fd as u64), HB_MEM_ERR_INVALID_VADDR, "not an address");
        assert_eq!(hb_mem_pool_free_buf(b.virt_addr as u64), 0);
        assert_eq!(hb_mem_pool_destroy(mp.fd), 0);
    }
}

/// User consume counts are documented as not supported for pool and
/// share-pool buffers.
#[test]
fn user_consume_counts_refuse_pool_buffers() {
    let (_dev, _l) = init();
    let mut mp = hb_mem_pool_t::default();
    let mut sp = hb_mem_share_pool_t::default();
    let (mut m, mut s, mut imp) = (zero_buf(), zero_buf(), zero_buf());
    // SAFETY: valid pointers and fds.
    unsafe {
        assert_eq!(hb_mem_pool_create(1 << 16, 0, &mut mp), 0);
        assert_eq!(hb_mem_pool_alloc_buf(mp.fd, 4096, &mut m), 0);
        assert_eq!(hb_mem_share_pool_create(2, 4096, 0, &mut sp), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut s), 0);
        assert_eq!(hb_mem_import_com_buf(&mut s, &mut imp), 0);
        for (what, r) in [
            ("pool fd", hb_mem_inc_user_consume_cnt(mp.fd)),
            ("pool block address", hb_mem_inc_user_consume_cnt_with_vaddr(m.virt_addr as u64)),
            ("share pool fd", hb_mem_inc_user_consume_cnt(sp.fd)),
            ("share-pool block", hb_mem_inc_user_consume_cnt(s.fd)),
            (
                "share-pool block address",
                hb_mem_dec_user_consume_cnt_with_vaddr(s.virt_addr as u64),
            ),
            ("imported share-pool block", hb_mem_inc_user_consume_cnt(imp.fd)),
        ] {
            assert_eq!(r, HB_MEM_ERR_INVALID_PARAMS, "{what}");
        }
        assert_eq!(hb_mem_free_buf(imp.fd), 0);
        assert_eq!(hb_mem_share_pool_free_buf(s.virt_addr as u64), 0);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
        assert_eq!(hb_mem_pool_free_buf(m.virt_addr as u64), 0);
        assert_eq!(hb_mem_pool_destroy(mp.fd), 0);
    }
}

/// VB calls do not take another API's pool blocks for VB blocks: an hbmem
/// share-pool block has no VB handle, and releasing a made-up handle for it
/// changes nothing.
#[test]
fn vb_calls_leave_share_pool_blocks_alone() {
    use accelmem::api::hisilicon::hi_comm_vb::VB_INVALID_HANDLE;
    use accelmem::api::hisilicon::mpi_vb::{HI_MPI_VB_Handle2PhysAddr, HI_MPI_VB_PhysAddr2Handle, HI_MPI_VB_ReleaseBlock};
    let (dev, _l) = init();
    let mut sp = hb_mem_share_pool_t::default();
    let mut b = zero_buf();
    let mut info = hb_mem_share_pool_t::default();
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_create(1, 4096, 0, &mut sp), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut b), 0);
    }
    assert_eq!(HI_MPI_VB_PhysAddr2Handle(b.phys_addr), VB_INVALID_HANDLE);
    // The handle a VB pool at the same table slot would have.
    let blk = dev.pool_block_at(b.phys_addr).unwrap();
    let forged = ((blk.pool.gen & 0x7F) << 24) | ((blk.pool.index & 0xFF) << 16) | (blk.index & 0xFFFF);
    assert_ne!(HI_MPI_VB_ReleaseBlock(forged), 0, "not a VB block");
    assert_eq!(HI_MPI_VB_Handle2PhysAddr(forged), 0);
    // SAFETY: valid pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), 0);
        assert_eq!(info.avail_buf_cnt, 0, "the block is still out");
        assert_eq!(hb_mem_share_pool_free_buf(b.virt_addr as u64), 0);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
    }
}
