//! The C programs in `c-examples/` build with `-Wall -Wextra -Werror`
//! against our headers, link against `libaccelmem.so` and, separately,
//! statically against `libaccelmem.a`, run to exit status 0 on a private
//! device, print what they claim, and leave no block behind when `main`
//! returns (checked while the process is still alive, through
//! `c-examples/support/exit_probe.c`: a dead process's blocks are reclaimed
//! by the next reader of the device, which would hide a missing free).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const ZONES: &str = "anonymous,0,0x44000000,64M";
const PROBE_LINE: &str = "accelmem-exit-probe";
const TIMEOUT: Duration = Duration::from_secs(20);

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding the `libaccelmem.so` and `.a` built with this
/// test: `cargo test` leaves them in deps/ next to the test exe (and does not
/// refresh the copies `cargo build` puts one level up), so deps/ comes first.
fn lib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|d| d.join("libaccelmem.so").is_file() && d.join("libaccelmem.a").is_file())
        .map(Path::to_path_buf);
    found.unwrap_or_else(|| panic!("libaccelmem.so and .a not built next to {}", exe.display()))
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-examples");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cc() -> String {
    std::env::var("CC").unwrap_or_else(|_| "cc".into())
}

#[derive(Clone, Copy, Debug)]
enum Link {
    Shared,
    Static,
}

/// Compile `src` (plus the exit probe) into `out`; panics with cc's output on failure.
fn compile(src: &Path, out: &Path, link: Link) {
    let lib = lib_dir();
    let mut cmd = Command::new(cc());
    cmd.args(["-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root().join("include"))
        .arg(src)
        .arg(root().join("c-examples/support/exit_probe.c"))
        .arg("-o")
        .arg(out);
    match link {
        Link::Shared => {
            cmd.arg(format!("-L{}", lib.display()))
                .arg("-laccelmem")
                .arg(format!("-Wl,-rpath,{}", lib.display()));
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
struct Dev(String);

impl Dev {
    fn new(tag: &str) -> Dev {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        Dev(format!("t-cex-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)))
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_accelmem"))
            .env("ACCELMEM_ZONES", ZONES)
            .arg("--device")
            .arg(&self.0)
            .args(args)
            .output()
            .expect("run accelmem")
    }

    fn media_mem(&self) -> String {
        let o = self.cli(&["media-mem"]);
        assert!(o.status.success(), "accelmem media-mem: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    }
}

impl Drop for Dev {
    fn drop(&mut self) {
        let o = self.cli(&["reset"]);
        if !std::thread::panicking() {
            assert!(o.status.success(), "accelmem reset: {}", String::from_utf8_lossy(&o.stderr));
        }
    }
}

/// A program running with piped stdio; stderr arrives line by line.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Receiver<String>,
    stderr_seen: Vec<String>,
    stdout: Option<JoinHandle<String>>,
}

impl Running {
    fn spawn(exe: &Path, dev: &Dev) -> Running {
        let mut child = Command::new(exe)
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
            stdin: child.stdin.take(),
            child,
            stderr: rx,
            stderr_seen: vec![],
            stdout: Some(stdout),
        }
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

    fn send_line(&mut self) {
        let i = self.stdin.as_mut().expect("stdin open");
        i.write_all(b"\n").and_then(|_| i.flush()).expect("write to the program's stdin");
    }

    /// Close stdin, wait for exit (killing it after the timeout); returns
    /// status, stdout, stderr.
    fn finish(mut self) -> (ExitStatus, String, String) {
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
        (status, out, self.stderr_seen.join("\n"))
    }
}

/// Number after `key` in `line` (`0x…` hex or decimal).
fn num_after(text: &str, line_prefix: &str, key: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(line_prefix))
        .unwrap_or_else(|| panic!("no line starting {line_prefix:?} in:\n{text}"));
    let v = line.split(key).nth(1).unwrap_or_else(|| panic!("no {key:?} in {line:?}"));
    let v: String = v.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => v.parse().unwrap(),
    }
}

fn has_line(text: &str, want: &str) {
    assert!(text.lines().any(|l| l == want), "missing line {want:?} in:\n{text}");
}

/// What each example must print besides its final "<name>: all steps passed".
fn check_output(name: &str, out: &str) {
    match name {
        "hisilicon_mmz" => {
            let cached = num_after(out, "MmzAlloc_Cached:", "phys=");
            let plain = num_after(out, "MmzAlloc:", "phys=");
            assert_ne!(cached, plain);
            has_line(out, &format!("GetVirMemInfo(vir_cached + 100): phys={:#x} cached=1", cached + 100));
            has_line(out, &format!("GetVirMemInfo(vir): phys={plain:#x} cached=0"));
            has_line(
                out,
                "Mmap(phys_cached): a second mapping reads \"hello from the CPU, written through a cached mapping\"",
            );
            has_line(out, "MmzFree(phys_cached): ok");
            has_line(out, "MmzFree(phys): ok");
        }
        "hisilicon_vb" => {
            let phys = num_after(out, "common GetBlock(", "phys=");
            assert_ne!(phys, 0);
            assert_eq!(num_after(out, "private GetBlock:", "users="), 1);
            has_line(out, "common block mapped, wrote and read back \"frame 1\"");
            has_line(out, "Mmap(phys) of the private block reads \"private pool block\"");
            has_line(out, "MunmapPool, ReleaseBlock, DestroyPool: ok");
            has_line(out, "VB_Exit: ok");
        }
        "horizon_hbsys" => {
            // The registered range is the MMZ block allocated through the other API.
            assert_eq!(
                num_after(out, "HI_MPI_SYS_MmzAlloc:", "phys="),
                num_after(out, "hbSysRegisterMem:", "phys=")
            );
            has_line(
                out,
                "hbSysFlushMem(INVALIDATE) + hbSysReadMem: read back \"tensor data for the BPU\"",
            );
            has_line(
                out,
                "registered memory reads \"tensor data for the BPU\" (same bytes as the MMZ block)",
            );
            has_line(
                out,
                "hbSysRegisterMem(range not ours): HB_SYS_REGISTER_MEM_FAILED (-6000131), as expected",
            );
            has_line(out, "hbSysFreeMem: ok");
        }
        _ => {}
    }
}

fn examples() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(root().join("c-examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "c"))
        .collect();
    v.sort();
    v
}

fn build_and_run(src: &Path, link: Link) {
    let name = src.file_stem().unwrap().to_str().unwrap();
    let exe = out_dir().join(format!("{name}-{link:?}").to_lowercase());
    compile(src, &exe, link);

    let dev = Dev::new(name);
    let mut run = Running::spawn(&exe, &dev);
    let probed = run.wait_stderr(PROBE_LINE);
    // main() has returned; the process still holds whatever it did not free.
    let left = probed.then(|| dev.media_mem());
    if probed {
        run.send_line();
    }
    let (status, out, err) = run.finish();
    let ctx = format!("{name} ({link:?})\n--- stdout\n{out}--- stderr\n{err}");
    assert!(status.success(), "exit status {status}: {ctx}");
    assert!(probed, "the exit probe never ran: {ctx}");
    assert!(!err.contains("FAILED"), "{ctx}");
    assert_eq!(out.lines().last(), Some(format!("{name}: all steps passed").as_str()), "{ctx}");
    check_output(name, &out);

    let left = left.unwrap();
    assert!(
        !left.contains("|-MMB:") && left.contains("block_number=0"),
        "{name} left blocks behind:\n{left}"
    );
}

#[test]
fn the_three_examples_exist() {
    let names: Vec<String> = examples()
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["hisilicon_mmz", "hisilicon_vb", "horizon_hbsys"] {
        assert!(names.iter().any(|n| n == want), "c-examples/{want}.c missing; have {names:?}");
    }
}

#[test]
fn examples_run_linked_against_the_shared_library() {
    for src in examples() {
        build_and_run(&src, Link::Shared);
    }
}

#[test]
fn examples_run_linked_statically() {
    for src in examples() {
        build_and_run(&src, Link::Static);
    }
}
