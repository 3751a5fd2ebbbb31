//! A host dereference of a CUDA device pointer kills the process with
//! SIGSEGV after a message on stderr naming the allocation (address, size,
//! the call that made it, the device); faults that are not ours pass through
//! without a message; an application's own SIGSEGV handler still runs.
//!
//! The test binary re-executes itself as the child (`--exact child_*`,
//! role in `CF_ROLE`); every `child_*` test returns at once in the parent.
//! A child reports what it allocated on stderr as `CF key=value` lines
//! before it faults.

mod common;

use accelmem::api::cuda::cuda_runtime_api::*;
use std::collections::HashMap;
use std::ffi::c_void;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const DIR_PREFIX: &str = "accelmem-test-cudafault-";
const TIMEOUT: Duration = Duration::from_secs(30);
/// Exit code of the application's own handler in `child_chained`.
const OWN_HANDLER_EXIT: i32 = 42;

// ---------------------------------------------------------------- parent side

static N: AtomicU32 = AtomicU32::new(0);

/// What a child did: how it ended, its stderr, its `CF` values.
struct Run {
    status: ExitStatus,
    stderr: String,
    info: HashMap<String, String>,
}

impl Run {
    fn hex(&self, key: &str) -> usize {
        let v = self
            .info
            .get(key)
            .unwrap_or_else(|| panic!("child did not report {key}:\n{}", self.stderr));
        usize::from_str_radix(v.trim_start_matches("0x"), 16).unwrap()
    }

    fn num(&self, key: &str) -> usize {
        self.info
            .get(key)
            .unwrap_or_else(|| panic!("child did not report {key}:\n{}", self.stderr))
            .parse()
            .unwrap()
    }

    /// The lines of our fault message.
    fn messages(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| l.contains("accelmem: host access")).collect()
    }

    #[track_caller]
    fn died_by_sigsegv(&self) {
        assert_eq!(
            self.status.signal(),
            Some(libc::SIGSEGV),
            "child should die by SIGSEGV, ended with {:?}; stderr:\n{}",
            self.status,
            self.stderr
        );
        assert!(!self.stderr.contains("CF survived"), "the access did not fault:\n{}", self.stderr);
    }

    /// Exactly one message, naming the faulting address and the block.
    #[track_caller]
    fn names_block(&self, addr: usize, base: usize, size: usize, origin: &str) {
        let m = self.messages();
        assert_eq!(m.len(), 1, "want one fault message; stderr:\n{}", self.stderr);
        let m = m[0];
        for want in [
            format!(" at {addr:#x}"),
            format!("byte {} of the {size}-byte block at {base:#x}", addr - base),
            format!(" from {origin} on device 0"),
        ] {
            assert!(m.contains(&want), "message lacks {want:?}: {m}");
        }
    }
}

/// Run the child test `role` on a private device and directory.
fn run_child(role: &str) -> Run {
    common::sweep_stale_dirs(DIR_PREFIX);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new("/dev/shm").join(format!("{DIR_PREFIX}{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", role, "--nocapture", "--test-threads=1"])
        .env("CF_ROLE", role)
        .env("ACCELMEM_DEVICE", format!("t-cudafault-{}-{n}", std::process::id()))
        .env("ACCELMEM_SHM_DIR", &dir)
        .env("ACCELMEM_CUDA_MEM", "64M")
        .env("ACCELMEM_CUDA_DEVICES", "1")
        .env_remove("ACCELMEM_ZONES")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let _ = std::fs::remove_dir_all(&dir);
            panic!("child {role} hung");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = reader.join().unwrap();
    // A child killed by a signal runs no exit handlers: its files stay.
    let _ = std::fs::remove_dir_all(&dir);
    let info = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("CF "))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Run { status, stderr, info }
}

#[test]
fn read_of_device_memory_names_the_allocation() {
    let r = run_child("child_read");
    r.died_by_sigsegv();
    r.names_block(r.hex("addr"), r.hex("base"), 4096, "cudaMalloc");
}

#[test]
fn write_to_device_memory_names_the_allocation() {
    let r = run_child("child_write");
    r.died_by_sigsegv();
    r.names_block(r.hex("addr"), r.hex("base"), 4096, "cudaMalloc");
}

#[test]
fn interior_address_names_the_allocation() {
    let r = run_child("child_interior");
    r.died_by_sigsegv();
    let (addr, base) = (r.hex("addr"), r.hex("base"));
    assert_eq!(addr - base, 3000);
    r.names_block(addr, base, 4096, "cudaMalloc");
}

#[test]
fn malloc_async_block_names_the_allocation() {
    let r = run_child("child_async");
    r.died_by_sigsegv();
    r.names_block(r.hex("addr"), r.hex("base"), 4096, "cudaMallocAsync");
}

#[test]
fn malloc_pitch_block_names_the_allocation() {
    let r = run_child("child_pitch");
    r.died_by_sigsegv();
    let size = r.num("size");
    assert!(size >= 100 * 7, "pitched size {size}");
    r.names_block(r.hex("addr"), r.hex("base"), size, "cudaMallocPitch");
}

#[test]
fn other_faults_pass_through_without_a_message() {
    let r = run_child("child_null");
    r.died_by_sigsegv();
    assert!(r.info.contains_key("base"), "child did not get as far as cudaMalloc:\n{}", r.stderr);
    assert_eq!(r.messages(), Vec::<&str>::new(), "a NULL dereference is not a device access");
}

#[test]
fn an_earlier_sigsegv_handler_still_runs() {
    let r = run_child("child_chained");
    assert_eq!(
        r.status.code(),
        Some(OWN_HANDLER_EXIT),
        "the application's own handler should end the child; ended with {:?}; stderr:\n{}",
        r.status,
        r.stderr
    );
    r.names_block(r.hex("addr"), r.hex("base"), 4096, "cudaMalloc");
    let msg = r.stderr.find("accelmem: host access").unwrap();
    let own = r.stderr.find("CF own handler ran").expect("the application's handler ran");
    assert!(msg < own, "our message comes before the application's handler:\n{}", r.stderr);
}

// ---------------------------------------------------------------- child side

fn is_role(name: &str) -> bool {
    std::env::var("CF_ROLE").is_ok_and(|r| r == name)
}

/// No core file for the deliberate crash.
fn no_core() {
    let lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: setrlimit with a valid struct.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &lim) };
}

fn cuda_malloc(n: usize) -> *mut c_void {
    let mut p: *mut c_void = null_mut();
    // SAFETY: `p` is a writable out-pointer.
    let r = unsafe { cudaMalloc(&mut p, n) };
    assert_eq!(r, 0, "cudaMalloc");
    p
}

/// Report, then read a device address on the host: this must not return.
fn read_at(base: *mut c_void, off: usize) -> ! {
    let addr = base as usize + off;
    eprintln!("CF base={base:p} addr={addr:#x}");
    // SAFETY: deliberately invalid: the address is device memory, which the
    // host may not touch; the fault is what the test checks.
    let v = unsafe { std::ptr::read_volatile(addr as *const i32) };
    eprintln!("CF survived value={v}");
    std::process::exit(0)
}

#[test]
fn child_read() {
    if !is_role("child_read") {
        return;
    }
    no_core();
    read_at(cuda_malloc(4096), 0);
}

#[test]
fn child_write() {
    if !is_role("child_write") {
        return;
    }
    no_core();
    let base = cuda_malloc(4096);
    let addr = base as usize + 64;
    eprintln!("CF base={base:p} addr={addr:#x}");
    // SAFETY: deliberately invalid, as in `read_at`.
    unsafe { std::ptr::write_volatile(addr as *mut i32, 1) };
    eprintln!("CF survived");
    std::process::exit(0)
}

#[test]
fn child_interior() {
    if !is_role("child_interior") {
        return;
    }
    no_core();
    read_at(cuda_malloc(4096), 3000);
}

#[test]
fn child_async() {
    if !is_role("child_async") {
        return;
    }
    no_core();
    let mut p: *mut c_void = null_mut();
    // SAFETY: `p` is a writable out-pointer; stream 0 is the legacy stream.
    let r = unsafe { cudaMallocAsync(&mut p, 4096, null_mut()) };
    assert_eq!(r, 0, "cudaMallocAsync");
    read_at(p, 100);
}

#[test]
fn child_pitch() {
    if !is_role("child_pitch") {
        return;
    }
    no_core();
    let (mut p, mut pitch): (*mut c_void, usize) = (null_mut(), 0);
    // SAFETY: both out-pointers are writable.
    let r = unsafe { cudaMallocPitch(&mut p, &mut pitch, 100, 7) };
    assert_eq!(r, 0, "cudaMallocPitch");
    eprintln!("CF size={}", pitch * 7);
    read_at(p, pitch * 2 + 8);
}

#[test]
fn child_null() {
    if !is_role("child_null") {
        return;
    }
    no_core();
    let p = cuda_malloc(4096);
    eprintln!("CF base={p:p}");
    // A genuine NULL dereference, in C code (Rust's own checks would catch
    // one in Rust first).
    let null = std::hint::black_box(std::ptr::null::<libc::c_char>());
    // SAFETY: deliberately invalid: strlen reads address 0 and faults.
    let n = unsafe { libc::strlen(null) };
    eprintln!("CF survived n={n}");
    std::process::exit(0)
}

extern "C" fn own_handler(_sig: libc::c_int, _info: *mut libc::siginfo_t, _ctx: *mut c_void) {
    let msg = b"CF own handler ran\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(OWN_HANDLER_EXIT);
    }
}

#[test]
fn child_chained() {
    if !is_role("child_chained") {
        return;
    }
    no_core();
    // The application's handler, installed before the first CUDA call.
    // SAFETY: a zeroed sigaction with our handler; the old action is not needed.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = own_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGSEGV, &sa, null_mut()), 0);
    }
    read_at(cuda_malloc(4096), 8);
}
