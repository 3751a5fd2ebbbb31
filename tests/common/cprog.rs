//! Building and running C programs against libaccelmem on a private device,
//! and reading that device's `accelmem media-mem` listing.
//!
//! Programs are linked with `c-examples/support/exit_probe.c` and run with
//! `ACCELMEM_EXIT_PROBE=1`, so the device can be listed after `main` returns
//! but while the process still lives: once it is gone, the next reader of
//! the device reclaims its blocks, which would hide a missing free.

use super::{lib_dir, unique_name};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub const ZONES: &str = "anonymous,0,0x44000000,64M";
pub const TIMEOUT: Duration = Duration::from_secs(20);
const PROBE_LINE: &str = "accelmem-exit-probe";

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `CARGO_TARGET_TMPDIR/<sub>`, created.
pub fn out_dir(sub: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(sub);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[derive(Clone, Copy, Debug)]
pub enum Link {
    Shared,
    Static,
}

/// Compile `src` plus the exit probe into `out` with `flags`; panics with
/// cc's output on failure.
pub fn compile(src: &Path, out: &Path, link: Link, flags: &[&str]) {
    compile_with(&std::env::var("CC").unwrap_or_else(|_| "cc".into()), src, out, link, flags);
}

/// `$CXX` or `c++`.
pub fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

/// [`compile`] with another compiler driver (`c++` for C++ sources; the
/// probe is then compiled as C++ too, which it is valid as).
pub fn compile_with(compiler: &str, src: &Path, out: &Path, link: Link, flags: &[&str]) {
    let lib = lib_dir();
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .arg("-I")
        .arg(root().join("include"))
        .arg(src)
        .arg(root().join("c-examples/support/exit_probe.c"))
        .arg("-o")
        .arg(out);
    match link {
        Link::Shared => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-laccelmem")
                .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()));
        }
        Link::Static => {
            // The native libraries rustc lists for this staticlib.
            cmd.arg(lib.join("libaccelmem.a"))
                .args(["-lgcc_s", "-lutil", "-lrt", "-lpthread", "-lm", "-ldl"]);
        }
    }
    let o = cmd.output().expect("run cc");
    assert!(
        o.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A uniquely named device, reset (its files removed) when dropped.
pub struct Dev(pub String);

impl Dev {
    pub fn new(tag: &str) -> Dev {
        Dev(unique_name(tag))
    }

    fn cli(&self, args: &[&str]) -> Output {
        self.cli_on(&self.0, args)
    }

    /// The listing, or `None` while no process has created the device.
    pub fn try_listing(&self, json: bool) -> Option<String> {
        let o = self.cli(if json { &["media-mem", "--json"] } else { &["media-mem"] });
        if !o.status.success() && String::from_utf8_lossy(&o.stderr).contains("no device") {
            return None;
        }
        assert!(o.status.success(), "accelmem media-mem: {}", String::from_utf8_lossy(&o.stderr));
        Some(String::from_utf8(o.stdout).unwrap())
    }

    /// `accelmem media-mem`, as text or (`json`) JSON.
    pub fn listing(&self, json: bool) -> String {
        let o = self.cli(if json { &["media-mem", "--json"] } else { &["media-mem"] });
        assert!(o.status.success(), "accelmem media-mem: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }

    /// Engine device name of the RKNN front's NPU (SRAM and the IOVA of
    /// imported fds), made next to this device by programs using rknn_api.h.
    pub fn npu_name(&self) -> String {
        format!("{}-npu", self.0)
    }

    /// The text listing of the NPU device, if a program made it (listing a
    /// missing device is an error, so its state file is looked for first).
    pub fn npu_listing(&self) -> Option<String> {
        let name = self.npu_name();
        device_exists(&name).then(|| {
            let o = self.cli_on(&name, &["media-mem"]);
            assert!(
                o.status.success(),
                "accelmem media-mem of {name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            String::from_utf8(o.stdout).unwrap()
        })
    }

    /// The text listing, followed by the NPU device's if there is one, so
    /// that a block left on either shows.
    pub fn listing_with_npu(&self) -> String {
        let mut l = self.listing(false);
        if let Some(npu) = self.npu_listing() {
            l.push_str(&npu);
        }
        l
    }
}

/// Whether engine device `name` exists: its state file in
/// `ACCELMEM_SHM_DIR` (default /dev/shm).
fn device_exists(name: &str) -> bool {
    let dir = std::env::var_os("ACCELMEM_SHM_DIR").map_or_else(|| PathBuf::from("/dev/shm"), PathBuf::from);
    dir.join(format!("accelmem.{name}.state")).exists()
}

/// A [`Dev`] used through the CUDA front: its emulated GPUs
/// (`<name>-gpu<N>`, N < `gpus`) are reset too when dropped.
pub struct CudaDev {
    pub dev: Dev,
    pub gpus: u32,
}

impl CudaDev {
    pub fn new(tag: &str, gpus: u32) -> CudaDev {
        CudaDev { dev: Dev::new(tag), gpus }
    }

    /// Engine device name of GPU `n`.
    pub fn gpu_name(&self, n: u32) -> String {
        format!("{}-gpu{n}", self.dev.0)
    }

    /// `accelmem media-mem` (text) of GPU `n`.
    pub fn gpu_listing(&self, n: u32) -> String {
        let o = self.dev.cli_on(&self.gpu_name(n), &["media-mem"]);
        assert!(
            o.status.success(),
            "accelmem media-mem of GPU {n}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
}

impl Drop for CudaDev {
    fn drop(&mut self) {
        for n in 0..self.gpus {
            let o = self.dev.cli_on(&self.gpu_name(n), &["reset"]);
            if !std::thread::panicking() {
                assert!(
                    o.status.success(),
                    "accelmem reset of GPU {n}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
        // `dev` resets itself when dropped after this.
    }
}

impl Dev {
    /// The CLI on another device name (`args` after `--device NAME`).
    fn cli_on(&self, name: &str, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_accelmem"))
            .env("ACCELMEM_ZONES", ZONES)
            .arg("--device")
            .arg(name)
            .args(args)
            .output()
            .expect("run accelmem")
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let o = self.cli(&["reset"]);
        // The NPU device, if a program using rknn_api.h made one.
        let npu = self.npu_name();
        let o_npu = device_exists(&npu).then(|| self.cli_on(&npu, &["reset"]));
        if !std::thread::panicking() {
            assert!(o.status.success(), "accelmem reset: {}", String::from_utf8_lossy(&o.stderr));
            if let Some(o) = o_npu {
                assert!(
                    o.status.success(),
                    "accelmem reset of {npu}: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
        }
    }
}

/// An MMB line of the text listing: zone, name, start, length in KB.
#[derive(Debug)]
pub struct Mmb {
    pub zone: String,
    pub name: String,
    pub phys: u64,
    pub kb: u64,
}

fn quoted_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(key).nth(1)?.strip_prefix('"')?.split('"').next()
}

/// The MMB lines of a text listing.
pub fn parse_listing(text: &str) -> Vec<Mmb> {
    let mut zone = String::new();
    let mut out = vec![];
    for l in text.lines() {
        if l.starts_with("+---ZONE:") {
            zone = quoted_after(l, "NAME=").expect("zone name").to_string();
        } else if let Some(rest) = l.trim_start().strip_prefix("|-MMB: phys(0x") {
            let hex: String = rest.chars().take_while(char::is_ascii_hexdigit).collect();
            let kb = l.split("length=").nth(1).and_then(|s| s.split("KB").next()).expect("length");
            out.push(Mmb {
                zone: zone.clone(),
                name: quoted_after(l, "name=").expect("mmb name").to_string(),
                phys: u64::from_str_radix(&hex, 16).unwrap(),
                kb: kb.parse().unwrap(),
            });
        }
    }
    out
}

/// Panics unless the text listing shows no block at all.
#[track_caller]
pub fn assert_no_blocks(listing: &str, what: &str) {
    assert!(
        !listing.contains("|-MMB:") && listing.contains("block_number=0"),
        "{what}:\n{listing}"
    );
}

/// What a program run through [`Running::finish`] left.
pub struct Finished {
    pub status: ExitStatus,
    pub out: String,
    pub err: String,
    /// The text listing taken when the exit probe ran (after `main`
    /// returned, before the process was gone); None if it never ran.
    /// [`Running::finish`] appends the NPU device's listing, if any.
    pub at_exit: Option<String>,
}

/// A program running with piped stdio on `dev`; stderr arrives line by line.
pub struct Running<'d> {
    dev: &'d Dev,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Receiver<String>,
    stderr_seen: Vec<String>,
    stdout: Option<JoinHandle<String>>,
}

impl<'d> Running<'d> {
    pub fn spawn(exe: &Path, dev: &'d Dev) -> Running<'d> {
        Running::spawn_env(exe, dev, &[])
    }

    /// [`Running::spawn`] with extra environment variables.
    pub fn spawn_env(exe: &Path, dev: &'d Dev, env: &[(&str, &str)]) -> Running<'d> {
        let mut child = Command::new(exe)
            .envs(env.iter().copied())
            .env("ACCELMEM_DEVICE", &dev.0)
            .env("ACCELMEM_ZONES", ZONES)
            .env("ACCELMEM_EXIT_PROBE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", exe.display()));
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        let err = child.stderr.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            dev,
            stdin: child.stdin.take(),
            child,
            stderr: rx,
            stderr_seen: vec![],
            stdout: Some(stdout),
        }
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Wait for a stderr line equal to `want`; false if the program closed
    /// stderr (exited) or the time ran out first.
    fn wait_stderr(&mut self, want: &str) -> bool {
        let end = Instant::now() + TIMEOUT;
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.stderr.recv_timeout(left) {
                Ok(l) => {
                    let hit = l == want;
                    self.stderr_seen.push(l);
                    if hit {
                        return true;
                    }
                }
                Err(_) => return false,
            }
        }
        false
    }

    /// Write one line to the program's stdin (answers a getchar()).
    pub fn send_line(&mut self) {
        let i = self.stdin.as_mut().expect("stdin open");
        i.write_all(b"\n").and_then(|_| i.flush()).expect("write to the program's stdin");
    }

    /// Wait for the exit probe and list the device (and its NPU device, if
    /// any) while the process still lives, then let it go: close stdin,
    /// wait for exit (killing it after the timeout) and collect its output.
    pub fn finish(self) -> Finished {
        self.finish_with(Dev::listing_with_npu)
    }

    /// [`Running::finish`], with `list` taking the listing at exit (of
    /// other devices, such as the GPUs of a [`CudaDev`]).
    pub fn finish_with(mut self, list: impl FnOnce(&Dev) -> String) -> Finished {
        let probed = self.wait_stderr(PROBE_LINE);
        let at_exit = probed.then(|| list(self.dev));
        if let (true, Some(i)) = (probed, self.stdin.as_mut()) {
            // Ignored: a program that died meanwhile fails on its status.
            let _ = i.write_all(b"\n").and_then(|_| i.flush());
        }
        self.stdin.take();
        let end = Instant::now() + TIMEOUT;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("program did not exit within {TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let out = self.stdout.take().unwrap().join().unwrap();
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            self.stderr_seen.push(l);
        }
        Finished {
            status,
            out,
            err: self.stderr_seen.join("\n"),
            at_exit,
        }
    }
}

impl Finished {
    /// `what`, exit status, stdout and stderr, for assertion messages.
    pub fn context(&self, what: &str) -> String {
        format!(
            "{what}: exit status {}\n--- stdout\n{}--- stderr\n{}",
            self.status, self.out, self.err
        )
    }

    /// Panics unless the program exited with status 0 after the exit probe
    /// ran; returns the listing taken then.
    #[track_caller]
    pub fn assert_success(&self, what: &str) -> &str {
        let ctx = self.context(what);
        assert!(self.status.success(), "{ctx}");
        self.at_exit.as_deref().unwrap_or_else(|| panic!("the exit probe never ran: {ctx}"))
    }
}
