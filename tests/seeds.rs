//! Seed 001 (a HiSilicon MMZ tutorial): its C code, copied verbatim and
//! wrapped only in the includes and `main` it needs, compiles against our
//! headers, links against libaccelmem.so and behaves as the document shows:
//! while it waits on getchar() the `/proc/media-mem`-style listing shows
//! its two 1024KB blocks "test" and "test_cache" in zone "anonymous"; it
//! prints their physical addresses and that the cached one is cached; and
//! its MmzFree calls really free them (checked after `main` returns but
//! before the process is gone, via `c-examples/support/exit_probe.c`: once
//! it is gone, the next reader of the device reclaims its blocks anyway).
//!
//! Skipped when ../shared is missing, unless ACCELMEM_REQUIRE_SEEDS=1.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const ZONES: &str = "anonymous,0,0x44000000,64M";
const PROBE_LINE: &str = "accelmem-exit-probe";
const TIMEOUT: Duration = Duration::from_secs(20);

/// The text placed around the seed's code: includes only, then `main`.
const PROLOGUE: &str = "#include <stdio.h>\n#include <stdlib.h>\n#include \"hi_type.h\"\n#include \"hi_comm_sys.h\"\n#include \"mpi_sys.h\"\n\nint main(void) {\n";
const EPILOGUE: &str = "return 0; }\n";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The seeds directory, or None (after saying so) when the test is skipped.
fn seeds_dir() -> Option<PathBuf> {
    let shared = root().join("../shared");
    if shared.is_dir() {
        return Some(shared.join("seeds"));
    }
    if std::env::var("ACCELMEM_REQUIRE_SEEDS").is_ok_and(|v| v == "1") {
        panic!("ACCELMEM_REQUIRE_SEEDS=1 but {} is missing", shared.display());
    }
    println!(
        "skipped: {} is missing (set ACCELMEM_REQUIRE_SEEDS=1 to make this a failure)",
        shared.display()
    );
    None
}

/// The one `<prefix>_*.txt` file in `dir`.
fn seed_file(dir: &Path, prefix: &str) -> PathBuf {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with(&format!("{prefix}_")) && n.ends_with(".txt")
        })
        .collect();
    v.sort();
    assert_eq!(v.len(), 1, "expected one {prefix}_*.txt in {}: {v:?}", dir.display());
    v.pop().unwrap()
}

/// The lines of the first ```c fenced block, verbatim.
fn first_c_block(doc: &str) -> Option<String> {
    let mut lines = doc.lines();
    lines.by_ref().find(|l| l.trim() == "```c")?;
    let mut out = String::new();
    for l in lines {
        if l.trim_start().starts_with("```") {
            return Some(out);
        }
        out.push_str(l);
        out.push('\n');
    }
    None
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

/// A uniquely named device, reset (its files removed) when dropped.
struct Dev(String);

impl Dev {
    fn new(tag: &str) -> Dev {
        Dev(format!("t-seed-{tag}-{}", std::process::id()))
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

    fn listing(&self, json: bool) -> String {
        let o = self.cli(if json { &["media-mem", "--json"] } else { &["media-mem"] });
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

    fn running(&mut self) -> bool {
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

/// An MMB line of the text listing: zone, name, start, length in KB.
#[derive(Debug)]
struct Mmb {
    zone: String,
    name: String,
    phys: u64,
    kb: u64,
}

fn quoted_after<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split(key).nth(1)?.strip_prefix('"')?.split('"').next()
}

fn parse_listing(text: &str) -> Vec<Mmb> {
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

/// The value of a `<key>0x…` line of the program's output.
fn hex_line(out: &str, key: &str) -> u64 {
    let l = out
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no line starting {key:?} in:\n{out}"));
    u64::from_str_radix(l.trim().trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{key}{l}: {e}"))
}

#[test]
fn seed_001_mmz_example_runs_as_documented() {
    let Some(seeds) = seeds_dir() else { return };
    let doc = std::fs::read_to_string(seed_file(&seeds, "001")).unwrap();
    let code = first_c_block(&doc).expect("seed 001 has a ```c block");
    assert!(code.contains("HI_MPI_SYS_MmzAlloc_Cached"), "unexpected first C block:\n{code}");

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seeds");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("seed001.c");
    let exe = dir.join("seed001");
    std::fs::write(&src, format!("{PROLOGUE}{code}{EPILOGUE}")).unwrap();

    // No -Werror: the document prints pointers with %#x.
    let lib = lib_dir();
    let o = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-I")
        .arg(root().join("include"))
        .arg(&src)
        .arg(root().join("c-examples/support/exit_probe.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-laccelmem")
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .output()
        .expect("run cc");
    assert!(
        o.status.success(),
        "seed 001 does not compile:\n{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let dev = Dev::new("001");
    let mut run = Running::spawn(&exe, &dev);

    // Its stdout is a pipe (fully buffered), so watch the device instead:
    // both blocks exist once it waits on getchar().
    let end = Instant::now() + TIMEOUT;
    loop {
        let j = dev.listing(true);
        if j.contains("\"name\":\"test\",") && j.contains("\"name\":\"test_cache\",") {
            break;
        }
        if !run.running() {
            panic!("seed 001 exited before allocating both blocks: {:?}", run.finish());
        }
        assert!(Instant::now() < end, "blocks never appeared:\n{j}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let during = dev.listing(false);
    let blocks = parse_listing(&during);
    let find = |name: &str| {
        blocks
            .iter()
            .find(|b| b.name == name)
            .unwrap_or_else(|| panic!("no MMB named {name:?} in:\n{during}"))
    };
    let (test, test_cache) = (find("test"), find("test_cache"));
    for b in [test, test_cache] {
        assert_eq!((b.zone.as_str(), b.kb), ("anonymous", 1024), "{b:?} in:\n{during}");
    }
    assert_eq!(blocks.len(), 2, "{during}");

    // Answer getchar(); the program frees both blocks and returns from main.
    run.send_line();
    let probed = run.wait_stderr(PROBE_LINE);
    let after = probed.then(|| dev.listing(false));
    if probed {
        run.send_line();
    }
    let (status, out, err) = run.finish();
    let ctx = format!("--- stdout\n{out}--- stderr\n{err}");
    assert!(status.success(), "exit status {status}\n{ctx}");
    assert!(probed, "the exit probe never ran\n{ctx}");

    // It printed the addresses the listing showed.
    let phy = hex_line(&out, "phy: ");
    let phy_cache = hex_line(&out, "phy_cache: ");
    assert_eq!((phy, phy_cache), (test.phys, test_cache.phys), "{ctx}\n--- listing\n{during}");
    assert!(
        out.lines().any(|l| l.starts_with("vir: ")) && out.lines().any(|l| l.starts_with("vir_cache: ")),
        "{ctx}"
    );
    let want = format!("phy_addr: {phy_cache:#x} cache: 1");
    assert!(out.lines().any(|l| l == want), "missing {want:?}\n{ctx}");

    // MmzFree worked: nothing left while the process still lives.
    let after = after.unwrap();
    assert!(
        parse_listing(&after).is_empty() && after.contains("block_number=0"),
        "blocks left after MmzFree:\n{after}"
    );
}

#[test]
fn first_c_block_is_taken_verbatim() {
    let doc = "text\n```\nnot c\n```\n```c\n    int a = 1;\n\tfoo(a);\n```\n```c\nsecond\n```\n";
    assert_eq!(first_c_block(doc).as_deref(), Some("    int a = 1;\n\tfoo(a);\n"));
    assert_eq!(first_c_block("```c\nunterminated\n"), None);
    assert_eq!(first_c_block("no code"), None);
}
