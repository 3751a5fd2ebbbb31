//! Bad input through every hbmem export of common buffers and sharing
//! (src/api/horizon/hbmem/{common,share,strerror}.rs): each call returns the
//! vendor's `HB_MEM_ERR_*` code (reference/horizon.md §2.5), and afterwards
//! the engine's `check()` passes and no block is left.
//!
//! The exports use one process-global device and a process-global module
//! open count, so `init()` sets the environment once, and every test holds
//! `LOCK` (module-not-open cases need no other test to have it open; a
//! stale fd or address must not be reused by a concurrent allocation).
#![allow(clippy::missing_safety_doc)]

mod common;

use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::share::*;
use accelmem::api::horizon::hbmem::strerror::hb_mem_strerror;
use accelmem::engine::{self, Device};
use std::ffi::{c_char, CStr};
use std::os::fd::AsRawFd;
use std::ptr::null_mut;
use std::sync::{Mutex, MutexGuard, Once};

const ZONES: &str = "anonymous,0,0x44000000,16M";
const SIZE: u64 = 16 << 10;
const FLAGS: i64 = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;

const P: i32 = HB_MEM_ERR_INVALID_PARAMS;
const FD: i32 = HB_MEM_ERR_INVALID_FD;
const VA: i32 = HB_MEM_ERR_INVALID_VADDR;
const NOT_OPEN: i32 = HB_MEM_ERR_MODULE_NOT_FOUND;

const DIR_PREFIX: &str = "accelmem-test-hbbad-";

static INIT: Once = Once::new();
static LOCK: Mutex<()> = Mutex::new(());

fn dev() -> &'static Device {
    INIT.call_once(|| {
        std::env::set_var("ACCELMEM_DEVICE", format!("t-hbbad-{}", std::process::id()));
        std::env::set_var("ACCELMEM_ZONES", ZONES);
        std::env::set_var("ACCELMEM_SHM_DIR", common::own_shm_dir(DIR_PREFIX));
    });
    let d = engine::global().expect("the global device opens");
    assert_eq!(d.name(), format!("t-hbbad-{}", std::process::id()));
    d
}

/// The module opened for one test; closing checks the engine.
struct Open(#[allow(dead_code)] MutexGuard<'static, ()>);

fn closed() -> MutexGuard<'static, ()> {
    let g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    dev();
    g
}

fn open() -> Open {
    let g = closed();
    // SAFETY: no arguments.
    assert_eq!(unsafe { hb_mem_module_open() }, 0);
    Open(g)
}

impl Drop for Open {
    fn drop(&mut self) {
        // SAFETY: no arguments.
        let rc = unsafe { hb_mem_module_close() };
        if std::thread::panicking() {
            return;
        }
        assert_eq!(rc, 0);
        let d = dev();
        d.check().unwrap();
        let left: usize = d.zones().unwrap().iter().map(|z| z.blocks.len()).sum();
        assert_eq!(left, 0, "a test left blocks behind");
    }
}

fn alloc() -> hb_mem_common_buf_t {
    // SAFETY: an all-zero struct is valid; out pointer to a local.
    unsafe {
        let mut b = std::mem::zeroed();
        assert_eq!(hb_mem_alloc_com_buf(SIZE, FLAGS, &mut b), 0);
        b
    }
}

fn va(b: &hb_mem_common_buf_t) -> u64 {
    b.virt_addr as u64
}

/// Addresses that are in no buffer of this process (with `b` the only one).
fn bad_vaddrs(b: &hb_mem_common_buf_t) -> Vec<u64> {
    let local = 0u64;
    vec![0, 1, &local as *const u64 as u64, va(b) - 1, va(b) + SIZE, u64::MAX]
}

#[test]
fn module_not_open() {
    let _g = closed();
    let (mut u, mut i, mut l, mut c) = (0u32, 0i32, 0u64, 0i64);
    let mut b: hb_mem_common_buf_t = unsafe { std::mem::zeroed() };
    let mut t = 0 as hb_mem_buffer_type_raw;
    let mut e = [0 as c_char; 64];
    // SAFETY (all calls): pointers are to live locals.
    unsafe {
        // Needs no open module.
        assert_eq!(hb_mem_get_version(&mut u, &mut u, &mut u), 0);
        assert_eq!(hb_mem_strerror(P, e.as_mut_ptr(), e.len()), 0);
        let calls: Vec<(&str, i32)> = vec![
            ("module_close", hb_mem_module_close()),
            ("alloc_com_buf", hb_mem_alloc_com_buf(SIZE, FLAGS, &mut b)),
            ("get_com_buf", hb_mem_get_com_buf(3, &mut b)),
            ("free_buf", hb_mem_free_buf(3)),
            ("invalidate_buf", hb_mem_invalidate_buf(3, 0, 1)),
            ("flush_buf", hb_mem_flush_buf(3, 0, 1)),
            ("invalidate_buf_with_vaddr", hb_mem_invalidate_buf_with_vaddr(0x1000, 1)),
            ("flush_buf_with_vaddr", hb_mem_flush_buf_with_vaddr(0x1000, 1)),
            ("is_valid_buf", hb_mem_is_valid_buf(0x1000, 1, &mut i)),
            ("get_phys_addr", hb_mem_get_phys_addr(0x1000, &mut l)),
            ("get_buf_info", hb_mem_get_buf_info(0x1000, &mut l, &mut l, &mut c)),
            ("get_com_buf_with_vaddr", hb_mem_get_com_buf_with_vaddr(0x1000, &mut b)),
            ("free_buf_with_vaddr", hb_mem_free_buf_with_vaddr(0x1000)),
            ("dma_copy", hb_mem_dma_copy(0x1000, 0x2000, 1)),
            ("get_buffer_process_info", hb_mem_get_buffer_process_info(0x1000, &mut i, 1, &mut i)),
            ("get_buf_type_with_vaddr", hb_mem_get_buf_type_with_vaddr(0x1000, &mut t)),
            ("import_com_buf", hb_mem_import_com_buf(&mut b.clone(), &mut b)),
            (
                "import_com_buf_with_paddr",
                hb_mem_import_com_buf_with_paddr(0x4400_0000, 1, 0, &mut b),
            ),
            ("get_share_info", hb_mem_get_share_info(3, &mut i)),
            ("get_share_info_with_vaddr", hb_mem_get_share_info_with_vaddr(0x1000, &mut i)),
            ("get_consume_info", hb_mem_get_consume_info(3, &mut i)),
            ("get_consume_info_with_vaddr", hb_mem_get_consume_info_with_vaddr(0x1000, &mut i)),
            ("inc_com_buf_consume_cnt", hb_mem_inc_com_buf_consume_cnt(&mut b)),
            ("inc_user_consume_cnt", hb_mem_inc_user_consume_cnt(3)),
            ("dec_user_consume_cnt", hb_mem_dec_user_consume_cnt(3)),
            ("inc_user_consume_cnt_with_vaddr", hb_mem_inc_user_consume_cnt_with_vaddr(0x1000)),
            ("dec_user_consume_cnt_with_vaddr", hb_mem_dec_user_consume_cnt_with_vaddr(0x1000)),
        ];
        let wrong: Vec<&(&str, i32)> = calls.iter().filter(|(_, rc)| *rc != NOT_OPEN).collect();
        assert!(
            wrong.is_empty(),
            "not HB_MEM_ERR_MODULE_NOT_FOUND without hb_mem_module_open: {wrong:?}"
        );
    }
    // Open/close pairs are counted: a second close fails again.
    unsafe {
        assert_eq!(hb_mem_module_open(), 0);
        assert_eq!(hb_mem_module_open(), 0);
        assert_eq!(hb_mem_module_close(), 0);
        let b = alloc();
        assert_eq!(hb_mem_module_close(), 0, "last close");
        assert_eq!(hb_mem_get_com_buf(b.fd, &mut b.clone()), NOT_OPEN);
        assert_eq!(hb_mem_module_close(), NOT_OPEN);
    }
    // The last close freed what the process held.
    let left: usize = dev().zones().unwrap().iter().map(|z| z.blocks.len()).sum();
    assert_eq!(left, 0, "module close left the buffer allocated");
    dev().check().unwrap();
}

/// Front bug (share.rs): these look the fd or address up before checking
/// that the module is open, so they answer INVALID_FD / INVALID_VADDR.
#[test]
fn module_not_open_waits_and_dec() {
    let _g = closed();
    // SAFETY: no pointers.
    let calls: Vec<(&str, i32)> = unsafe {
        vec![
            ("wait_share_status", hb_mem_wait_share_status(3, 0, 0)),
            ("wait_share_status_with_vaddr", hb_mem_wait_share_status_with_vaddr(0x1000, 0, 0)),
            ("wait_consume_status", hb_mem_wait_consume_status(3, 0, 0)),
            (
                "wait_consume_status_with_vaddr",
                hb_mem_wait_consume_status_with_vaddr(0x1000, 0, 0),
            ),
            ("dec_consume_cnt", hb_mem_dec_consume_cnt(3)),
            ("dec_consume_cnt_with_vaddr", hb_mem_dec_consume_cnt_with_vaddr(0x1000)),
        ]
    };
    let wrong: Vec<&(&str, i32)> = calls.iter().filter(|(_, rc)| *rc != NOT_OPEN).collect();
    assert!(
        wrong.is_empty(),
        "not HB_MEM_ERR_MODULE_NOT_FOUND without hb_mem_module_open: {wrong:?}"
    );
}

/// Front bug (share.rs): a negative consume target can never be reached,
/// yet it is waited for (TIMEOUT after the full timeout; forever with -1).
#[test]
fn negative_consume_target() {
    let _o = open();
    let b = alloc();
    // SAFETY: no pointers.
    unsafe {
        assert_eq!(hb_mem_wait_consume_status(b.fd, -1, 0), P, "negative consume target");
        assert_eq!(hb_mem_wait_consume_status_with_vaddr(va(&b), -1, 0), P);
        assert_eq!(hb_mem_free_buf(b.fd), 0);
    }
}

#[test]
fn null_out_pointers() {
    let _o = open();
    let b = alloc();
    let v = va(&b);
    let (mut u, mut i, mut l, mut c) = (0u32, 0i32, 0u64, 0i64);
    let n32: *mut i32 = null_mut();
    let n64: *mut u64 = null_mut();
    let nb: *mut hb_mem_common_buf_t = null_mut();
    // SAFETY (all calls): NULL or pointers to live locals.
    unsafe {
        let calls: Vec<(&str, i32)> = vec![
            ("get_version major", hb_mem_get_version(null_mut(), &mut u, &mut u)),
            ("get_version patch", hb_mem_get_version(&mut u, &mut u, null_mut())),
            ("alloc_com_buf", hb_mem_alloc_com_buf(SIZE, FLAGS, nb)),
            ("get_com_buf", hb_mem_get_com_buf(b.fd, nb)),
            ("is_valid_buf", hb_mem_is_valid_buf(v, 1, n32)),
            ("get_phys_addr", hb_mem_get_phys_addr(v, n64)),
            ("get_buf_info start", hb_mem_get_buf_info(v, n64, &mut l, &mut c)),
            ("get_buf_info size", hb_mem_get_buf_info(v, &mut l, n64, &mut c)),
            ("get_buf_info flags", hb_mem_get_buf_info(v, &mut l, &mut l, null_mut())),
            ("get_com_buf_with_vaddr", hb_mem_get_com_buf_with_vaddr(v, nb)),
            ("get_buffer_process_info pid", hb_mem_get_buffer_process_info(v, n32, 4, &mut i)),
            ("get_buffer_process_info ret", hb_mem_get_buffer_process_info(v, &mut i, 1, n32)),
            ("get_buf_type_with_vaddr", hb_mem_get_buf_type_with_vaddr(v, null_mut())),
            ("import_com_buf in", hb_mem_import_com_buf(nb, &mut b.clone())),
            ("import_com_buf out", hb_mem_import_com_buf(&mut b.clone(), nb)),
            (
                "import_com_buf_with_paddr",
                hb_mem_import_com_buf_with_paddr(b.phys_addr, SIZE, 0, nb),
            ),
            ("get_share_info", hb_mem_get_share_info(b.fd, n32)),
            ("get_share_info_with_vaddr", hb_mem_get_share_info_with_vaddr(v, n32)),
            ("get_consume_info", hb_mem_get_consume_info(b.fd, n32)),
            ("get_consume_info_with_vaddr", hb_mem_get_consume_info_with_vaddr(v, n32)),
            ("inc_com_buf_consume_cnt", hb_mem_inc_com_buf_consume_cnt(nb)),
            ("strerror", hb_mem_strerror(P, null_mut(), 16)),
        ];
        let wrong: Vec<&(&str, i32)> = calls.iter().filter(|(_, rc)| *rc != P).collect();
        assert!(wrong.is_empty(), "NULL pointers not HB_MEM_ERR_INVALID_PARAMS: {wrong:?}");
        // Nothing was imported or counted by the failed calls.
        assert_eq!(hb_mem_get_share_info(b.fd, &mut i), 0);
        assert_eq!(i, 0);
        assert_eq!(hb_mem_get_consume_info(b.fd, &mut i), 0);
        assert_eq!(i, 0);
        assert_eq!(hb_mem_free_buf(b.fd), 0);
    }
}

#[test]
fn zero_sizes_and_ranges_past_the_end() {
    let _o = open();
    let b = alloc();
    let v = va(&b);
    let mut out: hb_mem_common_buf_t = unsafe { std::mem::zeroed() };
    // SAFETY (all calls): pointers to live locals; ranges are checked by the callee.
    unsafe {
        let calls: Vec<(&str, i32, i32)> = vec![
            ("alloc_com_buf(0)", hb_mem_alloc_com_buf(0, FLAGS, &mut out), P),
            ("flush_buf size 0", hb_mem_flush_buf(b.fd, 0, 0), P),
            ("invalidate_buf size 0", hb_mem_invalidate_buf(b.fd, 0, 0), P),
            ("flush_buf one past", hb_mem_flush_buf(b.fd, 0, SIZE + 1), P),
            ("invalidate_buf one past", hb_mem_invalidate_buf(b.fd, 1, SIZE), P),
            ("flush_buf offset at end", hb_mem_flush_buf(b.fd, SIZE, 1), P),
            ("flush_buf offset overflow", hb_mem_flush_buf(b.fd, u64::MAX, 2), P),
            ("invalidate_buf size overflow", hb_mem_invalidate_buf(b.fd, 8, u64::MAX), P),
            ("flush_buf_with_vaddr size 0", hb_mem_flush_buf_with_vaddr(v, 0), P),
            ("invalidate_buf_with_vaddr past", hb_mem_invalidate_buf_with_vaddr(v + 16, SIZE), VA),
            ("flush_buf_with_vaddr past", hb_mem_flush_buf_with_vaddr(v, SIZE + 1), VA),
            ("dma_copy 0", hb_mem_dma_copy(v, v + 8, 0), P),
            ("dma_copy past", hb_mem_dma_copy(v, v + 8, SIZE), VA),
            (
                "import_com_buf_with_paddr size 0",
                hb_mem_import_com_buf_with_paddr(b.phys_addr, 0, 0, &mut out),
                P,
            ),
            (
                "import_com_buf_with_paddr past",
                hb_mem_import_com_buf_with_paddr(b.phys_addr, SIZE + 1, 0, &mut out),
                P,
            ),
            (
                "import_com_buf_with_paddr nowhere",
                hb_mem_import_com_buf_with_paddr(0x1000, 1, 0, &mut out),
                P,
            ),
        ];
        let wrong: Vec<&(&str, i32, i32)> = calls.iter().filter(|(_, rc, want)| rc != want).collect();
        assert!(wrong.is_empty(), "(call, got, want): {wrong:?}");
        // The exact whole range and the last byte are fine.
        assert_eq!(hb_mem_flush_buf(b.fd, 0, SIZE), 0);
        assert_eq!(hb_mem_invalidate_buf(b.fd, SIZE - 1, 1), 0);
        assert_eq!(hb_mem_flush_buf_with_vaddr(v + SIZE - 1, 1), 0);
        let mut valid = 7;
        assert_eq!(hb_mem_is_valid_buf(v, SIZE + 1, &mut valid), 0);
        assert_eq!(valid, 0, "a range past the end is not valid");
        // Imports naming part of the buffer: size 0 and past the end.
        for (phys, size) in [
            (b.phys_addr, 0),
            (b.phys_addr, SIZE + 1),
            (b.phys_addr + 4096, SIZE),
            (b.phys_addr - 4096, 4096),
        ] {
            let mut inb = hb_mem_common_buf_t {
                phys_addr: phys,
                size,
                ..b
            };
            assert_eq!(hb_mem_import_com_buf(&mut inb, &mut out), P, "import phys {phys:#x} size {size}");
        }
        let mut i = -1;
        assert_eq!(hb_mem_get_share_info(b.fd, &mut i), 0);
        assert_eq!(i, 0, "no failed import counted");
        assert_eq!(hb_mem_free_buf(b.fd), 0);
    }
}

#[test]
fn unknown_fds() {
    let _o = open();
    let b = alloc();
    let not_ours = std::fs::File::open("/dev/null").unwrap();
    let (mut i, mut out) = (0i32, unsafe { std::mem::zeroed::<hb_mem_common_buf_t>() });
    for fd in [-1, 0, 1, not_ours.as_raw_fd(), b.fd + 1000, i32::MAX, i32::MIN] {
        // SAFETY (all calls): pointers to live locals.
        unsafe {
            let calls: Vec<(&str, i32)> = vec![
                ("get_com_buf", hb_mem_get_com_buf(fd, &mut out)),
                ("free_buf", hb_mem_free_buf(fd)),
                ("invalidate_buf", hb_mem_invalidate_buf(fd, 0, 1)),
                ("flush_buf", hb_mem_flush_buf(fd, 0, 1)),
                ("get_share_info", hb_mem_get_share_info(fd, &mut i)),
                ("wait_share_status", hb_mem_wait_share_status(fd, 0, 0)),
                ("get_consume_info", hb_mem_get_consume_info(fd, &mut i)),
                ("wait_consume_status", hb_mem_wait_consume_status(fd, 0, 0)),
                ("dec_consume_cnt", hb_mem_dec_consume_cnt(fd)),
                ("inc_user_consume_cnt", hb_mem_inc_user_consume_cnt(fd)),
                ("dec_user_consume_cnt", hb_mem_dec_user_consume_cnt(fd)),
            ];
            let wrong: Vec<&(&str, i32)> = calls.iter().filter(|(_, rc)| *rc != FD).collect();
            assert!(wrong.is_empty(), "fd {fd}: not HB_MEM_ERR_INVALID_FD: {wrong:?}");
        }
    }
    // The buffer itself is untouched.
    unsafe {
        assert_eq!(hb_mem_get_com_buf(b.fd, &mut out), 0);
        assert_eq!(out.phys_addr, b.phys_addr);
        assert_eq!(hb_mem_free_buf(b.fd), 0);
    }
}

#[test]
fn unknown_vaddrs() {
    let _o = open();
    let b = alloc();
    let (mut i, mut l, mut c) = (0i32, 0u64, 0i64);
    let mut out: hb_mem_common_buf_t = unsafe { std::mem::zeroed() };
    let mut t = 0 as hb_mem_buffer_type_raw;
    for v in bad_vaddrs(&b) {
        // SAFETY (all calls): pointers to live locals; no memory at `v` is touched on failure.
        unsafe {
            let calls: Vec<(&str, i32)> = vec![
                ("invalidate_buf_with_vaddr", hb_mem_invalidate_buf_with_vaddr(v, 1)),
                ("flush_buf_with_vaddr", hb_mem_flush_buf_with_vaddr(v, 1)),
                ("get_phys_addr", hb_mem_get_phys_addr(v, &mut l)),
                ("get_buf_info", hb_mem_get_buf_info(v, &mut l, &mut l, &mut c)),
                ("get_com_buf_with_vaddr", hb_mem_get_com_buf_with_vaddr(v, &mut out)),
                ("free_buf_with_vaddr", hb_mem_free_buf_with_vaddr(v)),
                ("dma_copy dst", hb_mem_dma_copy(v, va(&b), 1)),
                ("dma_copy src", hb_mem_dma_copy(va(&b), v, 1)),
                ("get_buffer_process_info", hb_mem_get_buffer_process_info(v, &mut i, 1, &mut i)),
                ("get_buf_type_with_vaddr", hb_mem_get_buf_type_with_vaddr(v, &mut t)),
                ("get_share_info_with_vaddr", hb_mem_get_share_info_with_vaddr(v, &mut i)),
                ("wait_share_status_with_vaddr", hb_mem_wait_share_status_with_vaddr(v, 0, 0)),
                ("get_consume_info_with_vaddr", hb_mem_get_consume_info_with_vaddr(v, &mut i)),
                ("wait_consume_status_with_vaddr", hb_mem_wait_consume_status_with_vaddr(v, 0, 0)),
                ("dec_consume_cnt_with_vaddr", hb_mem_dec_consume_cnt_with_vaddr(v)),
                ("inc_user_consume_cnt_with_vaddr", hb_mem_inc_user_consume_cnt_with_vaddr(v)),
                ("dec_user_consume_cnt_with_vaddr", hb_mem_dec_user_consume_cnt_with_vaddr(v)),
            ];
            let wrong: Vec<&(&str, i32)> = calls.iter().filter(|(_, rc)| *rc != VA).collect();
            assert!(wrong.is_empty(), "vaddr {v:#x}: not HB_MEM_ERR_INVALID_VADDR: {wrong:?}");
            let mut valid = 7;
            assert_eq!(hb_mem_is_valid_buf(v, 1, &mut valid), 0);
            assert_eq!(valid, 0, "vaddr {v:#x} reported valid");
        }
    }
    unsafe { assert_eq!(hb_mem_free_buf(b.fd), 0) };
}

#[test]
fn double_free_and_stale_handles() {
    let _o = open();
    let mut out: hb_mem_common_buf_t = unsafe { std::mem::zeroed() };
    let mut i = 0;
    // SAFETY (all calls): pointers to live locals; freed addresses are only passed, never touched.
    unsafe {
        let a = alloc();
        assert_eq!(hb_mem_free_buf(a.fd), 0);
        assert_eq!(hb_mem_free_buf(a.fd), FD, "double free by fd");
        assert_eq!(hb_mem_free_buf_with_vaddr(va(&a)), VA, "free by the freed address");
        assert_eq!(hb_mem_get_share_info(a.fd, &mut i), FD);

        let b = alloc();
        assert_eq!(hb_mem_free_buf_with_vaddr(va(&b)), 0);
        assert_eq!(hb_mem_free_buf_with_vaddr(va(&b)), VA, "double free by vaddr");
        assert_eq!(hb_mem_free_buf(b.fd), FD);

        // The share ids of freed buffers name nothing.
        for stale in [a, b] {
            let mut s = stale;
            assert_eq!(hb_mem_import_com_buf(&mut s, &mut out), P, "import of a stale share id");
            assert_eq!(hb_mem_inc_com_buf_consume_cnt(&mut s), P, "consume count of a stale share id");
        }
        // Share ids never handed out.
        let c = alloc();
        for sid in [0, -1, i32::MAX, c.share_id ^ 0x4000_0000, c.share_id + 1] {
            let mut s = hb_mem_common_buf_t { share_id: sid, ..c };
            assert_eq!(hb_mem_import_com_buf(&mut s, &mut out), P, "import of share id {sid:#x}");
        }
        // A stale share id must not import the new buffer even at the same place.
        if c.phys_addr == a.phys_addr {
            let mut s = a;
            assert_eq!(hb_mem_import_com_buf(&mut s, &mut out), P, "old share id at a reused address");
        }
        // An import freed twice, and the owner still fine.
        let mut cc = c;
        assert_eq!(hb_mem_import_com_buf(&mut cc, &mut out), 0);
        assert_eq!(hb_mem_free_buf(out.fd), 0);
        assert_eq!(hb_mem_free_buf(out.fd), FD, "double free of an import");
        assert_eq!(hb_mem_get_share_info(c.fd, &mut i), 0);
        assert_eq!(i, 0);
        assert_eq!(hb_mem_free_buf(c.fd), 0);
    }
}

#[test]
fn negative_counts() {
    let _o = open();
    let b = alloc();
    let v = va(&b);
    let mut i = -1;
    // SAFETY (all calls): pointers to live locals.
    unsafe {
        assert_eq!(hb_mem_dec_consume_cnt(b.fd), P, "consume count below zero");
        assert_eq!(hb_mem_dec_consume_cnt_with_vaddr(v), P, "consume count below zero (vaddr)");
        assert_eq!(hb_mem_get_consume_info(b.fd, &mut i), 0);
        assert_eq!(i, 0, "a failed dec changed the count");
        assert_eq!(hb_mem_dec_user_consume_cnt(b.fd), P, "user consume count below zero");
        assert_eq!(hb_mem_dec_user_consume_cnt_with_vaddr(v), P);
        assert_eq!(hb_mem_inc_user_consume_cnt(b.fd), 0);
        assert_eq!(hb_mem_dec_user_consume_cnt_with_vaddr(v), 0);
        assert_eq!(hb_mem_dec_user_consume_cnt(b.fd), P);
        assert_eq!(hb_mem_wait_share_status(b.fd, -1, 0), P, "negative share target");
        assert_eq!(hb_mem_wait_share_status_with_vaddr(v, -1, 0), P);
        // Timeouts too long for the clock are waits without end, not
        // errors: these are met at once.
        assert_eq!(hb_mem_wait_share_status(b.fd, 0, i64::MAX), 0, "huge timeout");
        assert_eq!(hb_mem_wait_consume_status(b.fd, 0, i64::MAX), 0, "huge timeout");
        for num in [0, -1, i32::MIN] {
            assert_eq!(hb_mem_get_buffer_process_info(v, &mut i, num, &mut i), P, "process info num {num}");
        }
        assert_eq!(hb_mem_free_buf(b.fd), 0);
    }
}

#[test]
fn strerror_bad_input() {
    let _g = closed();
    let mut e = [0x55 as c_char; 64];
    // SAFETY (all calls): the buffer holds e.len() bytes.
    unsafe {
        assert_eq!(hb_mem_strerror(P, e.as_mut_ptr(), 0), P, "size 0");
        assert_eq!(e[0], 0x55, "size 0 wrote");
        assert_eq!(hb_mem_strerror(1, e.as_mut_ptr(), e.len()), P, "not an error code");
        assert_eq!(hb_mem_strerror(HB_MEM_ERR_INVALID_GROUPID + 1, e.as_mut_ptr(), e.len()), P);
        assert_eq!(hb_mem_strerror(i32::MIN, e.as_mut_ptr(), e.len()), P);
        // Truncated, NUL-terminated inside the given size.
        assert_eq!(hb_mem_strerror(HB_MEM_ERR_TIMEOUT, e.as_mut_ptr(), 4), 0);
        assert_eq!(CStr::from_ptr(e.as_ptr()).to_bytes().len(), 3);
        assert_eq!(e[4], 0x55, "wrote past the size");
        for code in HB_MEM_ERR_UNKNOWN..=HB_MEM_ERR_INVALID_GROUPID {
            assert_eq!(hb_mem_strerror(code, e.as_mut_ptr(), e.len()), 0, "code {code}");
            assert!(!CStr::from_ptr(e.as_ptr()).to_bytes().is_empty());
        }
    }
    dev().check().unwrap();
}
