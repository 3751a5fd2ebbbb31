//! Cross-process sharing and crash recovery with real processes.
//!
//! The test binary re-executes itself as the child (`--exact child_*`); the
//! environment tells a child its role (`MP_ROLE`), device and parameters, and
//! every `child_*` test returns at once unless `MP_ROLE` names it. Children
//! talk on stdout with lines `MP <key> <value>` and read commands from stdin;
//! a child whose parent vanishes sees EOF and exits.

mod common;

use accelmem::api::hisilicon::hi_comm_sys::{HI_ERR_SYS_NOT_PERM, MPP_SYS_CONFIG_S};
use accelmem::api::hisilicon::hi_comm_vb::{VB_INVALID_HANDLE, VB_INVALID_POOLID, VB_POOL_CONFIG_S, VB_REMAP_MODE_NONE};
use accelmem::api::hisilicon::hi_type::HI_SUCCESS;
use accelmem::api::hisilicon::mpi_sys::{
    HI_MPI_SYS_GetConfig, HI_MPI_SYS_Init, HI_MPI_SYS_Mmap, HI_MPI_SYS_MmzAlloc, HI_MPI_SYS_MmzFree, HI_MPI_SYS_Munmap,
};
use accelmem::api::hisilicon::mpi_vb::{
    HI_MPI_VB_CreatePool, HI_MPI_VB_DestroyPool, HI_MPI_VB_GetBlock, HI_MPI_VB_GetBlockVirAddr, HI_MPI_VB_Handle2PhysAddr,
    HI_MPI_VB_InquireUserCnt, HI_MPI_VB_MmapPool, HI_MPI_VB_MunmapPool, HI_MPI_VB_PhysAddr2Handle, HI_MPI_VB_ReleaseBlock,
};
use accelmem::engine::{config::parse_zones, AllocReq, Config, Device};
use std::ffi::CString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest any single wait may take, so a bug fails instead of hanging CI.
const TIMEOUT: Duration = Duration::from_secs(10);
const ZONES: &str = "anonymous,0,0x44000000,16M";
const BASE: u64 = 0x4400_0000;
const ZONE_SIZE: u64 = 16 << 20;

// ---------------------------------------------------------------- parent side

/// A uniquely named device, created at once and destroyed on drop. Declare
/// it before any child so the children are killed first.
struct Dev {
    cfg: Config,
    zones: &'static str,
}

impl Dev {
    fn new(tag: &str, zones: &'static str) -> Dev {
        let cfg = Config {
            device: common::unique_name(tag),
            zones: parse_zones(zones).unwrap(),
            // Children and the CLI read ACCELMEM_SHM_DIR; agree with them.
            shm_dir: std::env::var_os("ACCELMEM_SHM_DIR").map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from),
            ..Config::default()
        };
        // Create the state here, with this configuration.
        drop(Device::open(cfg.clone()).unwrap());
        Dev { cfg, zones }
    }

    fn open(&self) -> Device {
        Device::open(self.cfg.clone()).unwrap()
    }

    /// Names of this device's files in the shm dir, without the prefix.
    fn files(&self) -> Vec<String> {
        let prefix = format!("accelmem.{}.", self.cfg.device);
        let mut v: Vec<String> = std::fs::read_dir(&self.cfg.shm_dir)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_prefix(&prefix)).map(str::to_string))
            .collect();
        v.sort();
        v
    }

    fn command(&self, program: PathBuf) -> Command {
        let mut c = Command::new(program);
        c.env("ACCELMEM_DEVICE", &self.cfg.device)
            .env("ACCELMEM_ZONES", self.zones)
            .env("ACCELMEM_SHM_DIR", &self.cfg.shm_dir)
            .env_remove("ACCELMEM_MAX_BUFFERS")
            .env_remove("MP_ROLE");
        c
    }

    /// Start the child test `role` with extra environment.
    fn spawn(&self, role: &str, env: &[(&str, String)]) -> Child {
        let mut c = self.command(std::env::current_exe().unwrap());
        c.args(["--exact", role, "--nocapture", "--test-threads=1"])
            .env("MP_ROLE", role)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                // The harness may have printed `test name ... ` first.
                if let Some(i) = line.find("MP ") {
                    if tx.send(line[i + 3..].to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        Child {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            role: role.to_string(),
        }
    }

    /// Run the `accelmem` CLI on this device; its stdout.
    fn cli(&self, args: &[&str]) -> String {
        let mut c = self.command(PathBuf::from(env!("CARGO_BIN_EXE_accelmem")));
        c.arg("--device").arg(&self.cfg.device).args(args);
        c.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = c.spawn().unwrap();
        let mut out = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = String::new();
            out.read_to_string(&mut s).map(|_| s)
        });
        let mut g = Child {
            stdin: None,
            child,
            lines: channel().1,
            role: format!("accelmem {args:?}"),
        };
        assert!(g.wait().success(), "{} failed", g.role);
        reader.join().unwrap().unwrap()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = Device::destroy(&self.cfg);
    }
}

/// A child process, killed (SIGKILL) and reaped on drop if still running.
struct Child {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: Receiver<String>,
    role: String,
}

impl Child {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The value of the next line `MP <key> <value>`; other keys before it
    /// are a protocol error.
    fn expect(&self, key: &str) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(l) => {
                let (k, v) = l.split_once(' ').unwrap_or((&l, ""));
                assert_eq!(k, key, "{}: expected `{key}`, got `{l}`", self.role);
                v.to_string()
            }
            Err(RecvTimeoutError::Timeout) => panic!("{}: no `{key}` within {TIMEOUT:?}", self.role),
            Err(RecvTimeoutError::Disconnected) => panic!("{}: exited before `{key}`", self.role),
        }
    }

    fn expect_num(&self, key: &str) -> u64 {
        let v = self.expect(key);
        v.parse().unwrap_or_else(|_| panic!("{}: `{key}` is not a number: {v}", self.role))
    }

    fn send(&mut self, cmd: &str) {
        let w = self.stdin.as_mut().expect("stdin open");
        writeln!(w, "{cmd}").unwrap();
        w.flush().unwrap();
    }

    /// Wait for exit, at most [`TIMEOUT`].
    fn wait(&mut self) -> ExitStatus {
        let end = Instant::now() + TIMEOUT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("{}: did not exit within {TIMEOUT:?}", self.role);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait_ok(&mut self) {
        let s = self.wait();
        assert!(s.success(), "{}: {s}", self.role);
    }

    /// SIGKILL and reap.
    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        let s = self.wait();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&s), Some(libc::SIGKILL));
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Block until `pid` has exited but leave it a zombie (not waited for).
fn wait_zombie(pid: i32) {
    let end = Instant::now() + TIMEOUT;
    loop {
        // SAFETY: an all-zero siginfo_t is valid for waitid to fill.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: info is writable; WNOWAIT leaves the child waitable.
        let r = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT | libc::WNOHANG,
            )
        };
        assert_eq!(r, 0, "waitid: {}", std::io::Error::last_os_error());
        // SAFETY: waitid filled info (si_pid stays 0 while the child runs).
        if unsafe { info.si_pid() } == pid {
            return;
        }
        assert!(Instant::now() < end, "pid {pid} did not exit");
        std::thread::sleep(Duration::from_millis(5));
    }
}

// ------------------------------------------------------------- minimal JSON

#[derive(Debug)]
enum Json {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(s: &str) -> Json {
        let mut p = JsonParser { s: s.as_bytes(), i: 0 };
        let v = p.value();
        p.ws();
        assert_eq!(p.i, p.s.len(), "trailing bytes in JSON");
        v
    }

    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => m
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no key {k}")),
            _ => panic!("not an object looking up {k}"),
        }
    }

    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }

    fn bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            _ => panic!("not a bool"),
        }
    }

    fn num(&self) -> i64 {
        match self {
            Json::Num(n) => n.parse().unwrap(),
            _ => panic!("not a number"),
        }
    }
}

struct JsonParser<'a> {
    s: &'a [u8],
    i: usize,
}

impl JsonParser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s.get(self.i), Some(&c), "JSON: expected `{}` at {}", c as char, self.i);
        self.i += 1;
    }

    fn peek(&mut self) -> u8 {
        self.ws();
        *self.s.get(self.i).expect("JSON ends early")
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).unwrap(),
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'u' => {
                            let h = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            self.i += 4;
                            let ch = char::from_u32(u32::from_str_radix(h, 16).unwrap()).unwrap();
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
    }

    fn value(&mut self) -> Json {
        match self.peek() {
            b'{' => {
                self.eat(b'{');
                let mut m = Vec::new();
                if self.peek() == b'}' {
                    self.i += 1;
                    return Json::Obj(m);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    m.push((k, self.value()));
                    if self.peek() == b',' {
                        self.i += 1;
                    } else {
                        self.eat(b'}');
                        return Json::Obj(m);
                    }
                }
            }
            b'[' => {
                self.eat(b'[');
                let mut a = Vec::new();
                if self.peek() == b']' {
                    self.i += 1;
                    return Json::Arr(a);
                }
                loop {
                    a.push(self.value());
                    if self.peek() == b',' {
                        self.i += 1;
                    } else {
                        self.eat(b']');
                        return Json::Arr(a);
                    }
                }
            }
            b'"' => Json::Str(self.string()),
            _ => {
                let start = self.i;
                while self.i < self.s.len() && !b",]} \n\r\t".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                match &self.s[start..self.i] {
                    b"true" => Json::Bool(true),
                    b"false" => Json::Bool(false),
                    b"null" => Json::Null,
                    n => Json::Num(String::from_utf8(n.to_vec()).unwrap()),
                }
            }
        }
    }
}

// ----------------------------------------------------------------- child side

fn role_is(name: &str) -> bool {
    std::env::var("MP_ROLE").is_ok_and(|r| r == name)
}

fn say(key: &str, val: impl std::fmt::Display) {
    let mut o = std::io::stdout().lock();
    writeln!(o, "MP {key} {val}").unwrap();
    o.flush().unwrap();
}

/// The next command on stdin; `None` at EOF (the parent is gone).
fn command() -> Option<String> {
    let mut l = String::new();
    match std::io::stdin().read_line(&mut l) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(l.trim().to_string()),
    }
}

fn env_num(name: &str) -> u64 {
    std::env::var(name).unwrap().parse().unwrap()
}

/// Byte `i` of the test pattern with `seed`.
fn pat(seed: u64, i: usize) -> u8 {
    ((i as u64).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as u8
}

/// # Safety
/// `p` must be valid for writing `len` bytes.
unsafe fn fill(p: *mut u8, len: usize, seed: u64) {
    // SAFETY: caller's contract.
    let s = unsafe { std::slice::from_raw_parts_mut(p, len) };
    for (i, b) in s.iter_mut().enumerate() {
        *b = pat(seed, i);
    }
}

/// Bytes in `[p, p+len)` that differ from the pattern.
///
/// # Safety
/// `p` must be valid for reading `len` bytes.
unsafe fn mismatches(p: *const u8, len: usize, seed: u64) -> usize {
    // SAFETY: caller's contract.
    let s = unsafe { std::slice::from_raw_parts(p, len) };
    s.iter().enumerate().filter(|&(i, &b)| b != pat(seed, i)).count()
}

/// `HI_MPI_SYS_MmzAlloc`; the return code, phys and virtual address.
fn mmz_alloc(name: &str, zone: Option<&str>, len: u32) -> (i32, u64, *mut u8) {
    let n = CString::new(name).unwrap();
    let z = zone.map(|z| CString::new(z).unwrap());
    let (mut phys, mut vir) = (0u64, std::ptr::null_mut());
    // SAFETY: out-pointers are locals; the strings are NUL-terminated and
    // outlive the call.
    let rc = unsafe {
        HI_MPI_SYS_MmzAlloc(
            &mut phys,
            &mut vir,
            n.as_ptr(),
            z.as_ref().map_or(std::ptr::null(), |z| z.as_ptr()),
            len,
        )
    };
    (rc, phys, vir.cast())
}

fn mmz_alloc_ok(name: &str, zone: Option<&str>, len: u32) -> (u64, *mut u8) {
    let (rc, phys, vir) = mmz_alloc(name, zone, len);
    assert_eq!(rc, HI_SUCCESS, "HI_MPI_SYS_MmzAlloc({name}, {len})");
    (phys, vir)
}

/// A private VB pool of `cnt` blocks of `size` bytes in the default zone.
fn vb_pool(size: u64, cnt: u32) -> u32 {
    let mut c = VB_POOL_CONFIG_S {
        u64BlkSize: size,
        u32BlkCnt: cnt,
        enRemapMode: VB_REMAP_MODE_NONE,
        acMmzName: [0; 32],
    };
    // SAFETY: c is a valid config.
    let pool = unsafe { HI_MPI_VB_CreatePool(&mut c) };
    assert_ne!(pool, VB_INVALID_POOLID);
    pool
}

fn vb_get(pool: u32, size: u64) -> u32 {
    // SAFETY: a NULL zone name is allowed.
    let blk = unsafe { HI_MPI_VB_GetBlock(pool, size, std::ptr::null()) };
    assert_ne!(blk, VB_INVALID_HANDLE);
    blk
}

// ------------------------------------------------ 1. sharing by phys address

const SHARE_LEN: u32 = 3 * 4096;
const SHARE_SEED: u64 = 0x51;
const REPLY_SEED: u64 = 0xA7;
const VB_BLK_SIZE: u64 = 64 << 10;

#[test]
fn share_by_phys_and_vb_handle() {
    let d = Dev::new("share", ZONES);
    let mut a = d.spawn("child_share_a", &[]);
    let phys = a.expect_num("phys");
    let blk = a.expect_num("blk");
    let blk_phys = a.expect_num("blk_phys");
    assert!((BASE..BASE + ZONE_SIZE).contains(&phys));
    assert!((BASE..BASE + ZONE_SIZE).contains(&blk_phys));

    let mut b = d.spawn(
        "child_share_b",
        &[
            ("MP_PHYS", phys.to_string()),
            ("MP_BLK", blk.to_string()),
            ("MP_BLK_PHYS", blk_phys.to_string()),
        ],
    );
    assert_eq!(b.expect_num("pattern_mismatches"), 0, "B reads A's bytes at A's phys");
    assert_eq!(
        b.expect_num("sub_mismatches"),
        0,
        "a mapping from inside the block starts at that byte"
    );
    // Only the owner may free an MMB (the driver's -EPERM).
    assert_eq!(b.expect("free_foreign"), HI_ERR_SYS_NOT_PERM.to_string());
    assert_eq!(b.expect_num("vb_phys"), blk_phys, "VB handle resolves to A's block in B");
    assert_eq!(b.expect_num("vb_users"), 1);
    assert_eq!(b.expect_num("vb_handle"), blk, "phys resolves back to A's handle in B");
    b.wait_ok();

    a.send("check");
    assert_eq!(a.expect_num("reply_mismatches"), 0, "A sees B's reply at offset 4096");
    assert_eq!(a.expect_num("tail_zero"), 1, "bytes nobody wrote stay zero");
    assert_eq!(a.expect("release"), "0 0 0");
    a.wait_ok();

    let dev = d.open();
    dev.check().unwrap();
    let z = dev.zones().unwrap();
    assert!(z[0].blocks.is_empty(), "{:?}", z[0].blocks);
    assert_eq!(z[0].used, 0);
}

#[test]
fn child_share_a() {
    if !role_is("child_share_a") {
        return;
    }
    assert_eq!(HI_MPI_SYS_Init(), HI_SUCCESS);
    let (phys, vir) = mmz_alloc_ok("shared", None, SHARE_LEN);
    // SAFETY: the block is SHARE_LEN bytes; the first page gets the pattern.
    unsafe { fill(vir, 4096, SHARE_SEED) };
    let pool = vb_pool(VB_BLK_SIZE, 2);
    let blk = vb_get(pool, VB_BLK_SIZE);
    say("phys", phys);
    say("blk", blk);
    say("blk_phys", HI_MPI_VB_Handle2PhysAddr(blk));
    assert_eq!(command().as_deref(), Some("check"));
    // SAFETY: offsets 4096..12288 are inside the block.
    unsafe {
        say("reply_mismatches", mismatches(vir.add(4096), 4096, REPLY_SEED));
        let tail = std::slice::from_raw_parts(vir.add(8192), 4096);
        say("tail_zero", u8::from(tail.iter().all(|&b| b == 0)));
    }
    let r = HI_MPI_VB_ReleaseBlock(blk);
    let p = HI_MPI_VB_DestroyPool(pool);
    let f = HI_MPI_SYS_MmzFree(phys, vir.cast());
    say("release", format!("{r} {p} {f}"));
}

#[test]
fn child_share_b() {
    if !role_is("child_share_b") {
        return;
    }
    let phys = env_num("MP_PHYS");
    let blk = env_num("MP_BLK") as u32;
    let v = HI_MPI_SYS_Mmap(phys, SHARE_LEN).cast::<u8>();
    assert!(!v.is_null(), "HI_MPI_SYS_Mmap of another process's block");
    // SAFETY: v maps SHARE_LEN bytes.
    unsafe {
        say("pattern_mismatches", mismatches(v, 4096, SHARE_SEED));
        fill(v.add(4096), 4096, REPLY_SEED);
    }
    // A mapping of phys+100 starts at byte 100 of the block.
    let sub = HI_MPI_SYS_Mmap(phys + 100, 200).cast::<u8>();
    assert!(!sub.is_null());
    // SAFETY: sub maps 200 bytes, which are bytes 100..300 of the block.
    let subm = unsafe { std::slice::from_raw_parts(sub, 200) }
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b != pat(SHARE_SEED, 100 + i))
        .count();
    say("sub_mismatches", subm);
    assert_eq!(HI_MPI_SYS_Munmap(sub.cast(), 200), HI_SUCCESS);
    say("free_foreign", HI_MPI_SYS_MmzFree(phys, std::ptr::null_mut()));
    assert_eq!(HI_MPI_SYS_Munmap(v.cast(), SHARE_LEN), HI_SUCCESS);
    say("vb_phys", HI_MPI_VB_Handle2PhysAddr(blk));
    say("vb_users", HI_MPI_VB_InquireUserCnt(blk));
    say("vb_handle", HI_MPI_VB_PhysAddr2Handle(env_num("MP_BLK_PHYS")));
}

// ------------------------------------------------- generic holder of a block

/// Allocates `MP_LEN` bytes named `MP_NAME` in `MP_ZONE` (if set), fills it
/// with pattern `MP_SEED`, says `phys`, then obeys: `verify` (own mapping
/// and a fresh `HI_MPI_SYS_Mmap`), `exit` (free, say `free`, return),
/// `leak` (return holding the block). EOF returns too.
#[test]
fn child_hold() {
    if !role_is("child_hold") {
        return;
    }
    let name = std::env::var("MP_NAME").unwrap();
    let zone = std::env::var("MP_ZONE").ok();
    let len = env_num("MP_LEN") as u32;
    let seed = env_num("MP_SEED");
    let (phys, vir) = mmz_alloc_ok(&name, zone.as_deref(), len);
    // SAFETY: the mapping is len bytes.
    unsafe { fill(vir, len as usize, seed) };
    say("phys", phys);
    while let Some(c) = command() {
        match c.as_str() {
            "verify" => {
                let fresh = HI_MPI_SYS_Mmap(phys, len).cast::<u8>();
                assert!(!fresh.is_null(), "HI_MPI_SYS_Mmap of my own block");
                // SAFETY: both map len bytes.
                let n = unsafe { mismatches(vir, len as usize, seed) + mismatches(fresh, len as usize, seed) };
                assert_eq!(HI_MPI_SYS_Munmap(fresh.cast(), len), HI_SUCCESS);
                say("mismatches", n);
            }
            "exit" => {
                say("free", HI_MPI_SYS_MmzFree(phys, vir.cast()));
                return;
            }
            "leak" => return,
            other => panic!("unknown command {other}"),
        }
    }
}

fn hold_env(name: &str, zone: Option<&str>, len: u64, seed: u64) -> Vec<(&'static str, String)> {
    let mut v = vec![
        ("MP_NAME", name.to_string()),
        ("MP_LEN", len.to_string()),
        ("MP_SEED", seed.to_string()),
    ];
    if let Some(z) = zone {
        v.push(("MP_ZONE", z.to_string()));
    }
    v
}

// ----------------------------------------- 2. the listing shows every process

#[test]
fn listing_shows_every_process() {
    let d = Dev::new("list", "anonymous,0,0x44000000,16M:ive,0,0x50000000,4M");
    let mut a = d.spawn("child_hold", &hold_env("mp_alpha", None, 12288, 1));
    let mut b = d.spawn("child_hold", &hold_env("mp_beta", Some("ive"), 100_000, 2));
    let pa = a.expect_num("phys");
    let pb = b.expect_num("phys");
    assert!((0x4400_0000..0x4500_0000).contains(&pa));
    assert!((0x5000_0000..0x5040_0000).contains(&pb), "zone ive");

    // Text, as /proc/media-mem: each MMB under its zone's header.
    let text = d.cli(&["media-mem"]);
    let mut zone = String::new();
    let mut seen = Vec::new();
    for l in text.lines() {
        if let Some(i) = l.find("NAME=\"") {
            zone = l[i + 6..].trim_end_matches('"').to_string();
        } else if let Some(i) = l.find("|-MMB: phys(0x") {
            let phys = u64::from_str_radix(&l[i + 14..i + 22], 16).unwrap();
            let len = l.split("length=").nth(1).unwrap().split("KB").next().unwrap().to_string();
            let name = l.split("name=\"").nth(1).unwrap().trim_end_matches('"').to_string();
            seen.push((zone.clone(), name, len, phys));
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("anonymous".to_string(), "mp_alpha".to_string(), "12".to_string(), pa),
            ("ive".to_string(), "mp_beta".to_string(), "100".to_string(), pb),
        ],
        "{text}"
    );
    assert!(text.contains("block_number=2"), "{text}");

    // JSON: the same blocks, with their owners' pids.
    let j = Json::parse(&d.cli(&["media-mem", "--json"]));
    assert_eq!(j.get("device").str(), d.cfg.device);
    let mut blocks = Vec::new();
    for z in j.get("zones").arr() {
        for bl in z.get("blocks").arr() {
            assert!(!bl.get("cached").bool() && !bl.get("pool").bool());
            blocks.push((
                z.get("name").str().to_string(),
                bl.get("name").str().to_string(),
                bl.get("size").num(),
                bl.get("requested").num(),
                bl.get("phys").num() as u64,
                bl.get("pid").num() as i32,
            ));
        }
    }
    blocks.sort();
    assert_eq!(
        blocks,
        vec![
            ("anonymous".to_string(), "mp_alpha".to_string(), 12288, 12288, pa, a.pid()),
            ("ive".to_string(), "mp_beta".to_string(), 102_400, 100_000, pb, b.pid()),
        ]
    );

    for c in [&mut a, &mut b] {
        c.send("exit");
        assert_eq!(c.expect("free"), "0");
        c.wait_ok();
    }
}

// --------------------------------------------------- 3. SIGKILL of a holder

#[test]
fn sigkill_of_holder_is_reaped() {
    let d = Dev::new("kill", ZONES);
    let mut c = d.spawn("child_crash_holder", &[]);
    assert_eq!(c.expect("ready"), "");
    {
        // Before: 3 MMBs and the pool's buffer, owned by the child, with
        // their files. The pool has a block out.
        let dev = d.open();
        let z = dev.zones().unwrap();
        assert_eq!(z[0].blocks.len(), 4);
        assert!(z[0].blocks.iter().all(|b| b.owner_pid == c.pid()));
        assert_eq!(dev.pools(None).unwrap().len(), 1);
        assert_eq!(d.files().len(), 5, "{:?}", d.files());
    }
    c.sigkill();

    // Opening reaps: no listing or free is needed for the memory to return.
    let dev = d.open();
    assert_eq!(d.files(), vec!["state".to_string()], "buffer files of the dead process");
    let (_, reaped) = dev.stats().unwrap();
    assert!(reaped >= 1);
    dev.check().unwrap();
    let z = dev.zones().unwrap();
    assert!(z[0].blocks.is_empty(), "{:?}", z[0].blocks);
    assert_eq!(z[0].used, 0);
    assert!(dev.pools(None).unwrap().is_empty());
    // The whole zone is one free range again.
    let whole = dev
        .alloc(&AllocReq {
            size: ZONE_SIZE,
            name: "whole",
            ..AllocReq::default()
        })
        .unwrap();
    assert_eq!((whole.phys, whole.size), (BASE, ZONE_SIZE));
    dev.free(whole.id).unwrap();
    dev.check().unwrap();
    assert_eq!(d.files(), vec!["state".to_string()]);
}

#[test]
fn child_crash_holder() {
    if !role_is("child_crash_holder") {
        return;
    }
    for (i, len) in [4096u32, 100_000, 1 << 20].into_iter().enumerate() {
        let (_, vir) = mmz_alloc_ok(&format!("k{i}"), None, len);
        // SAFETY: the mapping is len bytes.
        unsafe { fill(vir, len as usize, i as u64) };
    }
    let pool = vb_pool(VB_BLK_SIZE, 4);
    vb_get(pool, VB_BLK_SIZE);
    say("ready", "");
    // Wait to be killed (EOF if the parent goes first).
    while command().is_some() {}
}

// -------------------------------------------- 4. SIGKILL while holding lock

#[test]
fn sigkill_inside_lock_is_repaired() {
    let d = Dev::new("lock", ZONES);
    let dev = d.open();
    let (repairs0, _) = dev.stats().unwrap();
    let mut keep = d.spawn("child_hold", &hold_env("survivor", None, 64 << 10, 9));
    let keep_phys = keep.expect_num("phys");
    let mut victim = d.spawn("child_lock_victim", &[]);
    assert_eq!(victim.expect("locked"), "");
    victim.sigkill();

    // The next locker finds the owner dead and repairs the table once.
    let dev2 = Device::open(d.cfg.clone()).unwrap();
    dev2.check().unwrap();
    assert_eq!(dev.stats().unwrap().0, repairs0 + 1);
    let z = dev2.zones().unwrap();
    let blocks: Vec<_> = z[0].blocks.iter().map(|b| (b.name.as_str(), b.phys, b.owner_pid)).collect();
    assert_eq!(
        blocks,
        vec![("survivor", keep_phys, keep.pid())],
        "the victim's blocks are reaped, the survivor's stay"
    );
    assert_eq!(z[0].used, 64 << 10);
    assert_eq!(d.files().len(), 2, "state and the survivor's buffer: {:?}", d.files());
    // New allocations do not overlap the survivor.
    let n = dev2
        .alloc(&AllocReq {
            size: 1 << 20,
            name: "after",
            ..AllocReq::default()
        })
        .unwrap();
    assert!(n.phys + n.size <= keep_phys || n.phys >= keep_phys + (64 << 10));
    dev2.free(n.id).unwrap();

    keep.send("verify");
    assert_eq!(keep.expect_num("mismatches"), 0, "the survivor's bytes are intact");
    keep.send("exit");
    assert_eq!(keep.expect("free"), "0");
    keep.wait_ok();
    dev2.check().unwrap();
    assert_eq!(dev2.zones().unwrap()[0].used, 0);
    assert_eq!(d.files(), vec!["state".to_string()]);
}

#[test]
fn child_lock_victim() {
    if !role_is("child_lock_victim") {
        return;
    }
    mmz_alloc_ok("victim0", None, 8192);
    mmz_alloc_ok("victim1", None, 1 << 20);
    let dev = accelmem::engine::global().unwrap();
    dev.with_lock_held(|| {
        say("locked", "");
        while command().is_some() {}
    })
    .unwrap();
}

// ---------------------------------------- 5. live owners are never reaped

#[test]
fn live_owner_never_reaped_zombie_is() {
    let d = Dev::new("live", ZONES);
    let dev = d.open();
    let mut env = hold_env("alive", None, 20000, 5);
    // It leaks on purpose below; keep its exit report out of the test log.
    env.push(("ACCELMEM_LEAK_REPORT", "0".to_string()));
    let mut c = d.spawn("child_hold", &env);
    let phys = c.expect_num("phys");
    let (_, reaped0) = dev.stats().unwrap();
    for _ in 0..200 {
        assert_eq!(dev.reap(), Ok(0));
    }
    // Another process's open reaps too.
    drop(d.open());
    assert!(d.cli(&["media-mem"]).contains("name=\"alive\""));
    assert_eq!(dev.stats().unwrap().1, reaped0);
    let (b, _) = dev.find_phys(phys).unwrap();
    assert_eq!((b.name.as_str(), b.owner_pid), ("alive", c.pid()));
    c.send("verify");
    assert_eq!(c.expect_num("mismatches"), 0);

    // Once it has exited it holds nothing, even while still a zombie.
    c.send("leak");
    wait_zombie(c.pid());
    assert_eq!(dev.reap(), Ok(1));
    assert!(dev.find_phys(phys).is_err());
    assert_eq!(dev.stats().unwrap().1, reaped0 + 1);
    c.wait_ok();
    dev.check().unwrap();
    assert_eq!(d.files(), vec!["state".to_string()]);
}

// --------------------------------------- 6. fork() while another thread works

const FORKS: usize = 100;
/// A forked child doing two allocations takes milliseconds; well inside
/// [`TIMEOUT`], so a hang is reported, not lost.
const FORK_TIMEOUT: Duration = Duration::from_secs(2);

#[test]
fn fork_child_does_not_deadlock() {
    let d = Dev::new("fork", ZONES);
    let mut c = d.spawn("child_fork_hammer", &[]);
    assert_eq!(c.expect("failures"), "", "forked children that failed or hung");
    assert_eq!(c.expect_num("forked"), FORKS as u64);
    assert_eq!(c.expect_num("hammer_errors"), 0);
    assert!(c.expect_num("hammer_iters") > 0);
    c.wait_ok();
    let dev = d.open();
    dev.check().unwrap();
    assert_eq!(dev.zones().unwrap()[0].used, 0, "every process freed what it allocated");
}

/// What the fork test's process set up before forking: a live mapped MMB
/// and a mapped VB pool with a block out.
#[derive(Clone, Copy)]
struct ForkSetup {
    live_phys: u64,
    live_vir: *mut u8,
    pool: u32,
    blk_phys: u64,
    blk_vir: usize,
}

// SAFETY: plain addresses; every thread of the process may use the mapping.
unsafe impl Send for ForkSetup {}

fn blk_vir(pool: u32, phys: u64) -> Option<usize> {
    let mut v = std::ptr::null_mut();
    // SAFETY: v is a writable local.
    (unsafe { HI_MPI_VB_GetBlockVirAddr(pool, phys, &mut v) } == HI_SUCCESS).then_some(v as usize)
}

/// Calls that take the SYS and VB front locks besides the engine's.
fn front_locks(f: &ForkSetup) -> bool {
    sys_get_config();
    blk_vir(f.pool, f.blk_phys) == Some(f.blk_vir)
}

/// What a forked child does: MPI calls only, then `_exit`. Returns the exit
/// code (0 success).
fn forked_child(f: &ForkSetup) -> i32 {
    let (rc, phys, vir) = mmz_alloc("forked", None, 8192);
    if rc != HI_SUCCESS {
        return 2;
    }
    // SAFETY: vir maps 8192 bytes; live_vir is the parent's mapping of
    // 64 KiB, inherited by fork.
    unsafe {
        fill(vir, 8192, 3);
        if mismatches(f.live_vir, 64 << 10, 7) != 0 {
            return 3;
        }
    }
    let v = HI_MPI_SYS_Mmap(f.live_phys, 64 << 10).cast::<u8>();
    // SAFETY: v maps 64 KiB when not NULL.
    if v.is_null() || unsafe { mismatches(v, 64 << 10, 7) } != 0 {
        return 4;
    }
    if HI_MPI_SYS_Munmap(v.cast(), 64 << 10) != HI_SUCCESS {
        return 5;
    }
    if HI_MPI_SYS_MmzFree(phys, vir.cast()) != HI_SUCCESS {
        return 6;
    }
    if !front_locks(f) {
        return 7;
    }
    0
}

/// Fork; the child runs `f` and leaves with `_exit(f())`. The child's exit
/// code, or `hung` if it did not finish within `timeout` (then it is killed).
fn fork_run(timeout: Duration, f: impl FnOnce() -> i32) -> Result<(), String> {
    // SAFETY: getpid has no preconditions.
    let me = unsafe { libc::getpid() };
    // SAFETY: the child only runs `f` (MPI calls) and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        // Die with this process, so a hung child never outlives the test.
        // SAFETY: prctl and getppid have no memory preconditions.
        let code = if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } != 0 || unsafe { libc::getppid() } != me {
            1
        } else {
            f()
        };
        // SAFETY: _exit skips atexit handlers and the harness's threads.
        unsafe { libc::_exit(code) };
    }
    let end = Instant::now() + timeout;
    let mut status = 0;
    loop {
        // SAFETY: status is writable; pid is our child.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else {
                Err(format!("status={status:#x}"))
            };
        }
        if Instant::now() > end {
            // SAFETY: signalling and reaping our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err("hung".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn child_fork_hammer() {
    if !role_is("child_fork_hammer") {
        return;
    }
    // As programs do: initialise first, so this test is about forks in the
    // steady state (first use racing a fork is the next test).
    assert_eq!(HI_MPI_SYS_Init(), HI_SUCCESS);
    let (live_phys, live_vir) = mmz_alloc_ok("live", None, 64 << 10);
    // SAFETY: the mapping is 64 KiB.
    unsafe { fill(live_vir, 64 << 10, 7) };
    let pool = vb_pool(VB_BLK_SIZE, 2);
    let blk = vb_get(pool, VB_BLK_SIZE);
    assert_eq!(HI_MPI_VB_MmapPool(pool), HI_SUCCESS);
    let blk_phys = HI_MPI_VB_Handle2PhysAddr(blk);
    let setup = ForkSetup {
        live_phys,
        live_vir,
        pool,
        blk_phys,
        blk_vir: blk_vir(pool, blk_phys).expect("HI_MPI_VB_GetBlockVirAddr"),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let iters = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    // Two threads: one in the engine (alloc/free), one in the front locks.
    let hammers: Vec<_> = [false, true]
        .into_iter()
        .map(|fronts| {
            let (stop, iters, errors) = (stop.clone(), iters.clone(), errors.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let ok = if fronts {
                        front_locks(&setup)
                    } else {
                        let (rc, phys, vir) = mmz_alloc("hammer", None, 4096 * (1 + iters.load(Ordering::Relaxed) % 7) as u32);
                        rc == HI_SUCCESS && HI_MPI_SYS_MmzFree(phys, vir.cast()) == HI_SUCCESS
                    };
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    iters.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while iters.load(Ordering::Relaxed) == 0 {
        std::thread::yield_now();
    }
    let mut failures = Vec::new();
    let mut forked = 0;
    for i in 0..FORKS {
        forked += 1;
        if let Err(e) = fork_run(FORK_TIMEOUT, || forked_child(&setup)) {
            failures.push(format!("fork{i}:{e}"));
            if e == "hung" {
                break;
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    for h in hammers {
        h.join().unwrap();
    }
    say("failures", failures.join(","));
    say("forked", forked);
    say("hammer_errors", errors.load(Ordering::Relaxed));
    say("hammer_iters", iters.load(Ordering::Relaxed));
    assert_eq!(HI_MPI_VB_MunmapPool(pool), HI_SUCCESS);
    assert_eq!(HI_MPI_VB_ReleaseBlock(blk), HI_SUCCESS);
    assert_eq!(HI_MPI_VB_DestroyPool(pool), HI_SUCCESS);
    assert_eq!(HI_MPI_SYS_MmzFree(live_phys, live_vir.cast()), HI_SUCCESS);
}

/// Fork trials racing a first SYS call; each is a fresh process (a fork of
/// one that never used the SYS front) and takes about a millisecond.
const FIRST_CALL_TRIALS: u64 = 200;

#[test]
fn fork_racing_first_front_call() {
    let d = Dev::new("fork1st", ZONES);
    let mut c = d.spawn("child_fork_first_call", &[]);
    assert_eq!(c.expect("failures"), "", "trials (delay in µs) whose forked child failed or hung");
    assert_eq!(c.expect_num("trials"), FIRST_CALL_TRIALS);
    c.wait_ok();
    let dev = d.open();
    dev.check().unwrap();
    assert_eq!(dev.zones().unwrap()[0].used, 0);
}

/// One trial: thread T makes this process's first SYS call `delay` after
/// the main thread starts to fork; the forked child then makes its own.
fn first_call_trial(delay: Duration) -> i32 {
    let go = Arc::new(std::sync::Barrier::new(2));
    let t = {
        let go = go.clone();
        std::thread::spawn(move || {
            go.wait();
            let t0 = Instant::now();
            while t0.elapsed() < delay {
                std::hint::spin_loop();
            }
            sys_get_config();
        })
    };
    go.wait();
    let r = fork_run(FORK_TIMEOUT / 2, || {
        sys_get_config();
        let (rc, p, v) = mmz_alloc("forked", None, 4096);
        if rc != HI_SUCCESS || HI_MPI_SYS_MmzFree(p, v.cast()) != HI_SUCCESS {
            return 2;
        }
        0
    });
    t.join().unwrap();
    match r {
        Ok(()) => 0,
        Err(e) if e == "hung" => 10,
        Err(_) => 11,
    }
}

/// `HI_MPI_SYS_GetConfig`, for the locks it takes; an unset configuration
/// is an error code, which does not matter here.
fn sys_get_config() {
    // SAFETY: an all-zero config is a valid out-parameter.
    let mut c: MPP_SYS_CONFIG_S = unsafe { std::mem::zeroed() };
    // SAFETY: c is writable.
    unsafe { HI_MPI_SYS_GetConfig(&mut c) };
}

#[test]
fn child_fork_first_call() {
    if !role_is("child_fork_first_call") {
        return;
    }
    // The engine is initialised with a live mapping; the SYS front is never
    // used in this process, only in its forks.
    let (phys, vir) = mmz_alloc_ok("live", None, 4096);
    let mut failures = Vec::new();
    let mut trials = 0;
    for i in 0..FIRST_CALL_TRIALS {
        trials += 1;
        let delay = Duration::from_micros(i % 100);
        if let Err(e) = fork_run(FORK_TIMEOUT, || first_call_trial(delay)) {
            failures.push(format!("{}us:{e}", i % 100));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    say("failures", failures.join(","));
    say("trials", trials);
    assert_eq!(HI_MPI_SYS_MmzFree(phys, vir.cast()), HI_SUCCESS);
}

// ------------------------------------- VB pool views across a pool index reuse

/// A process maps a pool with `HI_MPI_VB_MmapPool`; another destroys that
/// pool and creates one that gets the same index: the first process's
/// `MmapPool` + `GetBlockVirAddr` on the new pool reach the new pool's
/// bytes, not the old pool's view.
#[test]
fn vb_views_follow_a_reused_pool_index() {
    let d = Dev::new("vbreuse", ZONES);
    let mut mapper = d.spawn("child_vb_mapper", &[]);
    let pool = mapper.expect_num("pool");
    let mut other = d.spawn("child_vb_recreate", &[("POOL", pool.to_string())]);
    let q = other.expect_num("pool");
    let phys = other.expect_num("phys");
    assert_eq!(q, pool, "the new pool reuses the index");
    mapper.send(&format!("read {q} {phys}"));
    assert_eq!(mapper.expect_num("first"), 0xAB, "block 0 of the new pool");
    assert_eq!(mapper.expect_num("last"), 0xCD, "block 3 of the new pool");
    mapper.send("exit");
    other.send("exit");
}

#[test]
fn child_vb_mapper() {
    if !role_is("child_vb_mapper") {
        return;
    }
    let pool = vb_pool(4096, 1);
    assert_eq!(HI_MPI_VB_MmapPool(pool), HI_SUCCESS);
    say("pool", pool);
    while let Some(cmd) = command() {
        let w: Vec<&str> = cmd.split_whitespace().collect();
        if w.first() != Some(&"read") {
            break;
        }
        let (q, phys): (u32, u64) = (w[1].parse().unwrap(), w[2].parse().unwrap());
        assert_eq!(HI_MPI_VB_MmapPool(q), HI_SUCCESS);
        let first = blk_vir(q, phys).expect("GetBlockVirAddr of block 0");
        let last = blk_vir(q, phys + 3 * (64 << 10)).expect("GetBlockVirAddr of block 3");
        // SAFETY: both addresses are in this process's view of the pool.
        unsafe {
            say("first", *(first as *const u8));
            say("last", *(last as *const u8));
        }
    }
}

#[test]
fn child_vb_recreate() {
    if !role_is("child_vb_recreate") {
        return;
    }
    let pool = env_num("POOL") as u32;
    assert_eq!(HI_MPI_VB_DestroyPool(pool), HI_SUCCESS);
    let q = vb_pool(64 << 10, 4);
    let blks: Vec<u32> = (0..4).map(|_| vb_get(q, 64 << 10)).collect();
    let phys = HI_MPI_VB_Handle2PhysAddr(blks[0]);
    for (i, seed) in [(0u64, 0xABu8), (3, 0xCD)] {
        let v = HI_MPI_SYS_Mmap(phys + i * (64 << 10), 4096);
        assert!(!v.is_null());
        // SAFETY: a fresh 4 KiB view of the block.
        unsafe { std::ptr::write_bytes(v as *mut u8, seed, 4096) };
    }
    say("pool", q);
    say("phys", phys);
    // Keep the pool until told to go.
    while command().is_some_and(|c| c != "exit") {}
}

// ------------------------------------------------------------ accelmem reset

/// `accelmem reset` removes a device only when no process uses it, and
/// says why it did nothing otherwise; bad arguments are usage errors.
#[test]
fn reset_refuses_a_device_in_use() {
    let d = Dev::new("reset", ZONES);
    let run = |args: &[&str]| {
        let o = d
            .command(PathBuf::from(env!("CARGO_BIN_EXE_accelmem")))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let dev = d.cfg.device.clone();
    let mut keep = d.spawn("child_hold", &hold_env("inuse", None, 64 << 10, 3));
    keep.expect_num("phys");
    let (code, err) = run(&["--device", &dev, "reset"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("in use"), "{err}");
    assert!(d.files().contains(&"state".to_string()), "the device is untouched: {:?}", d.files());
    keep.send("exit");
    assert_eq!(keep.expect("free"), "0");
    keep.wait();
    assert_eq!(run(&[&format!("--device={dev}"), "reset"]).0, Some(0));
    assert!(d.files().is_empty(), "state and objects gone: {:?}", d.files());
    let (code, err) = run(&["--device", &dev, "reset"]);
    assert_eq!(code, Some(0), "nothing to remove is no failure");
    assert!(err.contains("no device"), "but it is said: {err}");
    for bad in [&["reset", "extra"][..], &["reset", "--json"], &["--device"], &[]] {
        assert_eq!(run(bad).0, Some(2), "{bad:?}");
    }
    for name in ["", "a b", "../x"] {
        assert_eq!(run(&["--device", name, "reset"]).0, Some(2), "reset of {name:?}");
    }
    assert_eq!(run(&["--help"]).0, Some(0));
    // Settings that only the device's creator uses do not stop the CLI.
    let o = d
        .command(PathBuf::from(env!("CARGO_BIN_EXE_accelmem")))
        .args(["--device", &dev, "reset"])
        .env("ACCELMEM_ZONES", "not zones")
        .env("ACCELMEM_BACKEND", "typo")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
}
