//! hbmem sharing between real processes: a producer allocates a common
//! buffer and its raw `hb_mem_common_buf_t` bytes travel to a consumer (as
//! X5's fork sample sends the struct by value), which imports it by share
//! id; share counts, consume counts, their waits, the owner freeing first,
//! and a consumer killed while holding an import. Share-pool blocks the
//! same way: an import holds its block out of the pool.
//!
//! The test binary re-executes itself (`--exact child_hbmem`) for each
//! process; `MP_ROLE` tells it to serve. A child reads one command a line
//! on stdin, runs the hbmem call and answers `MP <key> <value>` lines on
//! stdout (every command ends with `MP rc <code>`). The parent relays the
//! struct bytes (hex) from one child's stdout to the other's stdin.

mod common;

use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::pool::*;
use accelmem::api::horizon::hbmem::share::*;
use accelmem::engine::{config::parse_zones, Config, Device};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(10);
const ZONES: &str = "anonymous,0,0x44000000,16M";
const SIZE: u64 = 64 << 10;
const FLAGS: i64 = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN | HB_MEM_USAGE_CACHED;

// ---------------------------------------------------------------- child side

fn to_hex(b: &hb_mem_common_buf_t) -> String {
    // SAFETY: the struct is 48 bytes of plain data with no padding.
    let bytes = unsafe { std::slice::from_raw_parts(b as *const _ as *const u8, std::mem::size_of::<hb_mem_common_buf_t>()) };
    bytes.iter().map(|x| format!("{x:02x}")).collect()
}

fn from_hex(s: &str) -> hb_mem_common_buf_t {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), std::mem::size_of::<hb_mem_common_buf_t>());
    // SAFETY: exactly size_of bytes; every bit pattern is a valid struct.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const hb_mem_common_buf_t) }
}

fn say(k: &str, v: impl std::fmt::Display) {
    println!("MP {k} {v}");
    std::io::stdout().flush().unwrap();
}

/// Run one command; false ends the child.
fn serve(line: &str) -> bool {
    let w: Vec<&str> = line.split_whitespace().collect();
    let n = |i: usize| -> i64 { w[i].parse().unwrap() };
    // SAFETY (all calls below): pointers are to live locals; buffers read are
    // ones this process allocated or imported, at most `size` bytes.
    let rc = unsafe {
        match w[0] {
            "open" => hb_mem_module_open(),
            "close" => hb_mem_module_close(),
            "alloc" => {
                let mut b = std::mem::zeroed();
                let rc = hb_mem_alloc_com_buf(n(1) as u64, FLAGS, &mut b);
                say("buf", to_hex(&b));
                rc
            }
            "import" => {
                let mut inb = from_hex(w[1]);
                let mut b = std::mem::zeroed();
                let rc = hb_mem_import_com_buf(&mut inb, &mut b);
                say("buf", to_hex(&b));
                rc
            }
            // fill <hex>: write a pattern derived from the fd-independent share id.
            "fill" => {
                let b = from_hex(w[1]);
                for i in 0..b.size as usize {
                    *b.virt_addr.add(i) = (i as u8).wrapping_add(b.share_id as u8);
                }
                hb_mem_flush_buf(b.fd, 0, b.size)
            }
            "check" => {
                let b = from_hex(w[1]);
                let rc = hb_mem_invalidate_buf(b.fd, 0, b.size);
                let ok = (0..b.size as usize).all(|i| *b.virt_addr.add(i) == (i as u8).wrapping_add(b.share_id as u8));
                say("pattern", ok);
                rc
            }
            "share" => {
                let mut c = -1;
                let rc = hb_mem_get_share_info(n(1) as i32, &mut c);
                say("n", c);
                rc
            }
            "consume" => {
                let mut c = -1;
                let rc = hb_mem_get_consume_info(n(1) as i32, &mut c);
                say("n", c);
                rc
            }
            "inc" => hb_mem_inc_com_buf_consume_cnt(&mut from_hex(w[1])),
            "dec" => hb_mem_dec_consume_cnt(n(1) as i32),
            "waitc" => hb_mem_wait_consume_status(n(1) as i32, n(2) as i32, n(3)),
            "waits" => hb_mem_wait_share_status(n(1) as i32, n(2) as i32, n(3)),
            "free" => hb_mem_free_buf(n(1) as i32),
            // Share pools: create <num> <size> answers the pool fd.
            "spcreate" => {
                let mut p = hb_mem_share_pool_t::default();
                let rc = hb_mem_share_pool_create(n(1) as u32, n(2) as u64, FLAGS, &mut p);
                say("n", p.fd);
                rc
            }
            "spalloc" => {
                let mut b = std::mem::zeroed();
                let rc = hb_mem_share_pool_alloc_buf(n(1) as i32, &mut b);
                say("buf", to_hex(&b));
                rc
            }
            "spfree" => hb_mem_share_pool_free_buf(from_hex(w[1]).virt_addr as u64),
            "spavail" => {
                let mut p = hb_mem_share_pool_t::default();
                let rc = hb_mem_share_pool_get_info(n(1) as i32, &mut p);
                say("n", p.avail_buf_cnt);
                rc
            }
            "spdestroy" => hb_mem_share_pool_destroy(n(1) as i32),
            // pids <hex>: the processes holding the buffer at its address.
            "pids" => {
                let b = from_hex(w[1]);
                let mut pids = [0i32; 16];
                let mut got = 0;
                let rc = hb_mem_get_buffer_process_info(b.virt_addr as u64, pids.as_mut_ptr(), 16, &mut got);
                let mut v: Vec<i32> = pids[..got.max(0) as usize].to_vec();
                v.sort();
                say("n", format!("{v:?}").replace(' ', ""));
                rc
            }
            "exit" => return false,
            c => panic!("unknown command {c}"),
        }
    };
    say("rc", rc);
    true
}

#[test]
fn child_hbmem() {
    if std::env::var("MP_ROLE").as_deref() != Ok("child_hbmem") {
        return;
    }
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        if !serve(&line) {
            break;
        }
    }
}

// ---------------------------------------------------------------- parent side

/// A uniquely named device, destroyed on drop (declare it before children).
struct Dev {
    cfg: Config,
}

impl Dev {
    fn new(tag: &str) -> Dev {
        let cfg = Config {
            device: common::unique_name(tag),
            zones: parse_zones(ZONES).unwrap(),
            shm_dir: std::env::var_os("ACCELMEM_SHM_DIR").map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from),
            ..Config::default()
        };
        drop(Device::open(cfg.clone()).unwrap());
        Dev { cfg }
    }

    fn command(&self, program: PathBuf) -> Command {
        let mut c = Command::new(program);
        c.env("ACCELMEM_DEVICE", &self.cfg.device)
            .env("ACCELMEM_ZONES", ZONES)
            .env("ACCELMEM_SHM_DIR", &self.cfg.shm_dir)
            .env_remove("MP_ROLE");
        c
    }

    fn spawn(&self, name: &str) -> Child {
        let mut c = self.command(std::env::current_exe().unwrap());
        c.args(["--exact", "child_hbmem", "--nocapture", "--test-threads=1"])
            .env("MP_ROLE", "child_hbmem")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = c.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if let Some(i) = line.find("MP ") {
                    if tx.send(line[i + 3..].to_string()).is_err() {
                        break;
                    }
                }
            }
        });
        let mut c = Child {
            stdin: child.stdin.take(),
            child,
            lines: rx,
            name: name.to_string(),
        };
        assert_eq!(c.call("open"), 0, "{name}: hb_mem_module_open");
        c
    }

    /// The `accelmem media-mem` text listing (listing reaps dead holders).
    fn listing(&self) -> String {
        let o = self
            .command(PathBuf::from(env!("CARGO_BIN_EXE_accelmem")))
            .arg("--device")
            .arg(&self.cfg.device)
            .arg("media-mem")
            .output()
            .unwrap();
        assert!(o.status.success(), "accelmem media-mem: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    fn listed(&self, phys: u64) -> bool {
        self.listing().contains(&format!("|-MMB: phys(0x{phys:08X},"))
    }

    /// The engine's consistency check passes and no block is left.
    fn assert_clean(&self) {
        let d = Device::open(self.cfg.clone()).unwrap();
        d.check().unwrap();
        assert!(
            d.zones().unwrap().iter().all(|z| z.blocks.is_empty()),
            "blocks left:\n{}",
            self.listing()
        );
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let _ = Device::destroy(&self.cfg);
    }
}

/// A serving child, killed and reaped on drop if still running.
struct Child {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    lines: Receiver<String>,
    name: String,
}

impl Child {
    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn send(&mut self, cmd: &str) {
        let w = self.stdin.as_mut().expect("stdin open");
        writeln!(w, "{cmd}").unwrap();
        w.flush().unwrap();
    }

    fn expect(&self, key: &str) -> String {
        match self.lines.recv_timeout(TIMEOUT) {
            Ok(l) => {
                let (k, v) = l.split_once(' ').unwrap_or((&l, ""));
                assert_eq!(k, key, "{}: expected `{key}`, got `{l}`", self.name);
                v.to_string()
            }
            Err(RecvTimeoutError::Timeout) => panic!("{}: no `{key}` within {TIMEOUT:?}", self.name),
            Err(RecvTimeoutError::Disconnected) => panic!("{}: exited before `{key}`", self.name),
        }
    }

    fn rc(&self) -> i32 {
        self.expect("rc").parse().unwrap()
    }

    /// Send a command and return its code (skipping any data it printed).
    fn call(&mut self, cmd: &str) -> i32 {
        self.send(cmd);
        loop {
            let l = self
                .lines
                .recv_timeout(TIMEOUT)
                .unwrap_or_else(|e| panic!("{}: {cmd}: {e:?}", self.name));
            if let Some(v) = l.strip_prefix("rc ") {
                return v.parse().unwrap();
            }
        }
    }

    /// Send a command answering `MP <key>` before its code (which must be 0).
    fn get(&mut self, cmd: &str, key: &str) -> String {
        self.send(cmd);
        let v = self.expect(key);
        assert_eq!(self.rc(), 0, "{}: {cmd}", self.name);
        v
    }

    fn num(&mut self, cmd: &str) -> i32 {
        self.get(cmd, "n").parse().unwrap()
    }

    fn buf(&mut self, cmd: &str) -> (String, hb_mem_common_buf_t) {
        let h = self.get(cmd, "buf");
        let b = from_hex(&h);
        (h, b)
    }

    fn ok(&mut self, cmd: &str) {
        assert_eq!(self.call(cmd), 0, "{}: {cmd}", self.name);
    }

    /// Nothing arrives from this child within `d` (it is blocked).
    fn silent_for(&self, d: Duration) {
        match self.lines.recv_timeout(d) {
            Err(RecvTimeoutError::Timeout) => {}
            other => panic!("{}: expected to be blocked, got {other:?}", self.name),
        }
    }

    fn exit(mut self) {
        self.send("exit");
        self.stdin.take();
        let end = Instant::now() + TIMEOUT;
        while self.child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < end, "{}: did not exit", self.name);
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(self.child.wait().unwrap().success(), "{}: failed", self.name);
    }

    fn sigkill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
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

// ---------------------------------------------------------------- tests

#[test]
fn import_by_value_counts_and_owner_frees_first() {
    let dev = Dev::new("hbshare");
    let mut prod = dev.spawn("producer");
    let mut cons = dev.spawn("consumer");

    let (hex, pb) = prod.buf(&format!("alloc {SIZE}"));
    assert!(pb.share_id > 0 && pb.size == SIZE);
    prod.ok(&format!("fill {hex}"));
    assert_eq!(prod.num(&format!("share {}", pb.fd)), 0);

    // The raw struct bytes go to the consumer, which imports them.
    let (chex, cb) = cons.buf(&format!("import {hex}"));
    assert_eq!(cb.share_id, pb.share_id);
    assert_eq!(cb.phys_addr, pb.phys_addr);
    assert_eq!(cb.size, SIZE);
    assert_eq!(
        cons.get(&format!("check {chex}"), "pattern"),
        "true",
        "the consumer sees the producer's bytes"
    );
    assert_eq!(prod.num(&format!("share {}", pb.fd)), 1, "producer sees one share client");
    assert_eq!(cons.num(&format!("share {}", cb.fd)), 1, "consumer sees one share client");

    // Consume counts: the consumer takes the frame, the producer sees it.
    cons.ok(&format!("inc {chex}"));
    assert_eq!(prod.num(&format!("consume {}", pb.fd)), 1);
    assert_eq!(cons.num(&format!("consume {}", cb.fd)), 1);
    assert_eq!(prod.call(&format!("waitc {} 0 10", pb.fd)), HB_MEM_ERR_TIMEOUT);
    // A wait started before the release returns once the consumer decrements.
    prod.send(&format!("waitc {} 0 5000", pb.fd));
    prod.silent_for(Duration::from_millis(100));
    cons.ok(&format!("dec {}", cb.fd));
    assert_eq!(prod.rc(), 0, "wait_consume_status(0) returns after the consumer's dec");
    assert_eq!(prod.num(&format!("consume {}", pb.fd)), 0);
    assert_eq!(prod.call(&format!("waitc {} 0 0", pb.fd)), 0);

    // The producer frees first: the buffer lives on for the consumer.
    prod.ok(&format!("free {}", pb.fd));
    assert_eq!(
        prod.call(&format!("share {}", pb.fd)),
        HB_MEM_ERR_INVALID_FD,
        "the producer's fd is gone"
    );
    assert!(dev.listed(pb.phys_addr), "freed by the owner but still imported: still listed");
    assert_eq!(cons.get(&format!("check {chex}"), "pattern"), "true", "the consumer still reads it");
    cons.ok(&format!("free {}", cb.fd));
    assert!(!dev.listed(pb.phys_addr), "the last holder freed it: gone");
    assert_eq!(cons.call(&format!("free {}", cb.fd)), HB_MEM_ERR_INVALID_FD, "double free");

    prod.exit();
    cons.exit();
    dev.assert_clean();
}

#[test]
fn wait_share_status_returns_when_the_consumer_frees() {
    let dev = Dev::new("hbwait");
    let mut prod = dev.spawn("producer");
    let mut cons = dev.spawn("consumer");
    let (hex, pb) = prod.buf(&format!("alloc {SIZE}"));
    let (_, cb) = cons.buf(&format!("import {hex}"));
    assert_eq!(prod.call(&format!("waits {} 0 10", pb.fd)), HB_MEM_ERR_TIMEOUT, "one client > 0");
    assert_eq!(prod.call(&format!("waits {} 1 0", pb.fd)), 0, "one client <= 1");
    prod.send(&format!("waits {} 0 5000", pb.fd));
    prod.silent_for(Duration::from_millis(100));
    cons.ok(&format!("free {}", cb.fd));
    assert_eq!(prod.rc(), 0, "wait_share_status(0) returns when the consumer frees");
    assert_eq!(prod.num(&format!("share {}", pb.fd)), 0);
    prod.ok(&format!("free {}", pb.fd));
    prod.exit();
    cons.exit();
    dev.assert_clean();
}

#[test]
fn a_killed_consumer_releases_its_import() {
    let dev = Dev::new("hbkill");
    let mut prod = dev.spawn("producer");

    // The producer keeps its buffer: its share count drops back.
    let (hex, pb) = prod.buf(&format!("alloc {SIZE}"));
    let mut cons = dev.spawn("consumer");
    cons.buf(&format!("import {hex}"));
    assert_eq!(prod.num(&format!("share {}", pb.fd)), 1);
    cons.sigkill();
    // A listing (or opening the device) reaps the dead process.
    assert!(dev.listed(pb.phys_addr));
    assert_eq!(prod.num(&format!("share {}", pb.fd)), 0, "the dead consumer's import was released");

    // The producer frees first, then the only importer dies: gone.
    let mut cons = dev.spawn("consumer 2");
    let (_, cb) = cons.buf(&format!("import {hex}"));
    assert_eq!(cb.phys_addr, pb.phys_addr);
    prod.ok(&format!("free {}", pb.fd));
    assert!(dev.listed(pb.phys_addr), "still imported");
    cons.sigkill();
    assert!(!dev.listed(pb.phys_addr), "freed by its owner and its importer died: gone");

    prod.exit();
    dev.assert_clean();
}

#[test]
fn import_in_the_same_process() {
    let dev = Dev::new("hbself");
    let mut p = dev.spawn("process");
    let (hex, b) = p.buf(&format!("alloc {SIZE}"));
    p.ok(&format!("fill {hex}"));
    let (h1, i1) = p.buf(&format!("import {hex}"));
    let (h2, i2) = p.buf(&format!("import {hex}"));
    for i in [&i1, &i2] {
        assert_eq!(i.phys_addr, b.phys_addr, "same memory");
        assert_eq!(i.share_id, b.share_id);
        assert_ne!(i.fd, b.fd, "a new fd");
        assert_ne!(i.virt_addr, b.virt_addr, "a new virtual address");
    }
    assert_ne!(i1.fd, i2.fd);
    assert_ne!(i1.virt_addr, i2.virt_addr);
    assert_eq!(p.get(&format!("check {h1}"), "pattern"), "true");
    assert_eq!(p.get(&format!("check {h2}"), "pattern"), "true");
    assert_eq!(p.num(&format!("share {}", b.fd)), 2);
    // Each import needs its own free; the owner's free alone does not release it.
    p.ok(&format!("free {}", b.fd));
    assert!(dev.listed(b.phys_addr));
    p.ok(&format!("free {}", i1.fd));
    assert_eq!(p.num(&format!("share {}", i2.fd)), 1);
    assert!(dev.listed(b.phys_addr));
    p.ok(&format!("free {}", i2.fd));
    assert!(!dev.listed(b.phys_addr));
    p.exit();
    dev.assert_clean();
}

/// A share-pool block imported by another process is that process's too:
/// counts are per block, the allocator's free does not return it to the
/// pool (nothing else is handed the memory the importer reads), the pool
/// cannot be destroyed, and the importer's death releases it and wakes a
/// waiter.
#[test]
fn share_pool_blocks_are_held_by_their_imports() {
    let dev = Dev::new("hbspool");
    let mut prod = dev.spawn("producer");
    let pool = prod.num(&format!("spcreate 2 {SIZE}"));
    let (ha, a) = prod.buf(&format!("spalloc {pool}"));
    let (hb, b) = prod.buf(&format!("spalloc {pool}"));
    prod.ok(&format!("fill {ha}"));
    assert_eq!(
        prod.num(&format!("share {}", a.fd)),
        0,
        "a block just allocated has no share clients"
    );

    let mut cons = dev.spawn("consumer");
    let (cah, ca) = cons.buf(&format!("import {ha}"));
    assert_eq!((ca.phys_addr, ca.size), (a.phys_addr, SIZE));
    assert_eq!(
        cons.get(&format!("check {cah}"), "pattern"),
        "true",
        "the consumer sees the block's bytes"
    );
    assert_eq!(prod.num(&format!("share {}", a.fd)), 1, "the producer sees one share client");
    assert_eq!(cons.num(&format!("share {}", ca.fd)), 1);
    assert_eq!(prod.num(&format!("share {}", b.fd)), 0, "counts are per block, not per pool");
    assert_eq!(prod.num(&format!("share {pool}")), 1, "the pool's fd counts every block's imports");
    let mut both = vec![prod.pid(), cons.pid()];
    both.sort();
    assert_eq!(
        prod.get(&format!("pids {ha}"), "n"),
        format!("{both:?}").replace(' ', ""),
        "the block's holders"
    );
    assert_eq!(
        prod.get(&format!("pids {hb}"), "n"),
        format!("[{}]", prod.pid()),
        "the other block's"
    );
    cons.ok(&format!("inc {cah}"));
    assert_eq!(prod.num(&format!("consume {}", a.fd)), 1);
    assert_eq!(prod.num(&format!("consume {}", b.fd)), 0, "consume counts are per block");
    cons.ok(&format!("dec {}", ca.fd));

    // The allocator frees first: the block stays out while imported.
    prod.ok(&format!("spfree {ha}"));
    assert_eq!(prod.num(&format!("spavail {pool}")), 0, "the imported block is not back");
    assert_eq!(prod.call(&format!("spalloc {pool}")), HB_MEM_ERR_INSUFFICIENT_MEM);
    assert_eq!(prod.call(&format!("spdestroy {pool}")), HB_MEM_ERR_POOL_BUSY);
    assert_eq!(cons.get(&format!("check {cah}"), "pattern"), "true", "nobody else wrote it");
    // The importer's free returns it; a stale struct then imports nothing.
    cons.ok(&format!("spfree {cah}"));
    assert_eq!(prod.num(&format!("spavail {pool}")), 1);
    assert_eq!(cons.call(&format!("import {ha}")), HB_MEM_ERR_INVALID_PARAMS, "a freed block");

    // Imported twice, then the importer is killed while the producer waits
    // for the block to have no share clients.
    let (_, cb) = cons.buf(&format!("import {hb}"));
    cons.buf(&format!("import {hb}"));
    assert_eq!(cons.num(&format!("share {}", cb.fd)), 2);
    prod.send(&format!("waits {} 0 10000", b.fd));
    prod.silent_for(Duration::from_millis(200));
    cons.sigkill();
    assert_eq!(prod.rc(), 0, "the dead consumer's imports go and the waiter wakes");
    assert_eq!(prod.num(&format!("share {}", b.fd)), 0);
    prod.ok(&format!("spfree {hb}"));
    assert_eq!(prod.num(&format!("spavail {pool}")), 2);
    prod.ok(&format!("spdestroy {pool}"));
    prod.exit();
    dev.assert_clean();
}

/// The pool's creator dies while another process maps one of its blocks
/// and has allocated another through the block's fd (share pools are
/// allocatable from several processes): the pool lives on, ownerless,
/// for them, and goes when the last block comes back.
#[test]
fn a_share_pool_outlives_its_killed_creator_for_importers() {
    let dev = Dev::new("hbspkill");
    let mut prod = dev.spawn("producer");
    let pool = prod.num(&format!("spcreate 3 {SIZE}"));
    let (ha, a) = prod.buf(&format!("spalloc {pool}"));
    prod.ok(&format!("fill {ha}"));
    let mut cons = dev.spawn("consumer");
    let (cah, ca) = cons.buf(&format!("import {ha}"));
    let (cbh, cb) = cons.buf(&format!("spalloc {}", ca.fd));
    assert_eq!(cb.size, SIZE);
    cons.ok(&format!("fill {cbh}"));
    assert_eq!(cons.num(&format!("spavail {}", ca.fd)), 1);
    prod.sigkill();
    assert!(dev.listed(a.phys_addr), "still imported");
    assert_eq!(cons.get(&format!("check {cah}"), "pattern"), "true");
    assert_eq!(cons.num(&format!("share {}", ca.fd)), 1);
    assert_eq!(
        cons.num(&format!("spavail {}", cb.fd)),
        1,
        "the imported and the allocated block stay out"
    );
    // Nothing else is handed the consumer's block.
    let (_, c2) = cons.buf(&format!("spalloc {}", cb.fd));
    assert!(c2.phys_addr != cb.phys_addr && c2.phys_addr != a.phys_addr);
    cons.ok(&format!("free {}", c2.fd));
    assert_eq!(cons.get(&format!("check {cbh}"), "pattern"), "true");
    cons.ok(&format!("free {}", ca.fd));
    assert!(dev.listed(a.phys_addr), "one block still out: the pool buffer stays");
    cons.ok(&format!("spfree {cbh}"));
    assert!(!dev.listed(a.phys_addr), "the last block back: the ownerless pool is gone");
    cons.exit();
    dev.assert_clean();
}

/// The creator's last module close while another process still holds a
/// block: the pool is given up, and goes with the importer's free.
#[test]
fn a_share_pool_in_use_at_close_goes_with_its_last_block() {
    let dev = Dev::new("hbspclose");
    let mut prod = dev.spawn("producer");
    let pool = prod.num(&format!("spcreate 2 {SIZE}"));
    let (ha, a) = prod.buf(&format!("spalloc {pool}"));
    let mut cons = dev.spawn("consumer");
    let (_, ca) = cons.buf(&format!("import {ha}"));
    prod.ok("close");
    assert!(dev.listed(a.phys_addr), "still imported");
    cons.ok(&format!("free {}", ca.fd));
    assert!(!dev.listed(a.phys_addr), "the pool went with its last block");
    prod.exit();
    cons.exit();
    dev.assert_clean();
}
