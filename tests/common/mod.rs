//! Helpers shared by the integration tests.
#![allow(dead_code)]
pub mod cprog;
pub mod facts;

use accelmem::engine::{Config, Device};
use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

/// A device name no other test or user shares.
pub fn unique_name(tag: &str) -> String {
    format!("t-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A private device that is removed when dropped.
pub struct TestDevice {
    pub dev: Option<Device>,
    pub cfg: Config,
}

impl TestDevice {
    pub fn new(tag: &str, zones: &str) -> TestDevice {
        let cfg = Config {
            device: unique_name(tag),
            zones: accelmem::engine::config::parse_zones(zones).unwrap(),
            ..Config::default()
        };
        let dev = Device::open(cfg.clone()).unwrap();
        TestDevice { dev: Some(dev), cfg }
    }

    pub fn dev(&self) -> &Device {
        self.dev.as_ref().unwrap()
    }
}

impl Drop for TestDevice {
    fn drop(&mut self) {
        self.dev.take();
        let _ = Device::destroy(&self.cfg);
    }
}

/// The directory holding the `libaccelmem.so` and `.a` built with this test:
/// `cargo test` leaves them in deps/ next to the test executable (and does
/// not refresh the copies `cargo build` puts one level up), so deps/ first.
pub fn lib_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|d| d.join("libaccelmem.so").is_file() && d.join("libaccelmem.a").is_file())
        .map(std::path::Path::to_path_buf);
    found.unwrap_or_else(|| panic!("libaccelmem.so and .a not built next to {}", exe.display()))
}

/// Compile a C program from source text against our headers and the shared
/// library; returns the executable's path.
pub fn compile_c(name: &str, source: &str, extra_flags: &[&str]) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("c-programs");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join(format!("{name}.c"));
    let exe = dir.join(name);
    std::fs::write(&src, source).unwrap();
    let lib = lib_dir();
    let o = std::process::Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(extra_flags)
        .arg("-I")
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .arg("-laccelmem")
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", lib.display()))
        .output()
        .expect("run cc");
    assert!(o.status.success(), "cc failed:\n{}", String::from_utf8_lossy(&o.stderr));
    exe
}

/// Remove `/dev/shm/<prefix><pid>[-<n>]` directories whose process is gone
/// (a run killed before its exit handler).
pub fn sweep_stale_dirs(prefix: &str) {
    let Ok(rd) = std::fs::read_dir("/dev/shm") else { return };
    for e in rd.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// `/dev/shm/<prefix><pid>`: this test process's private state directory,
/// made on first use (sweeping stale ones) and removed when the process
/// exits (not when a forked child does).
pub fn own_shm_dir(prefix: &str) -> std::path::PathBuf {
    static OWN: std::sync::OnceLock<(u32, std::path::PathBuf)> = std::sync::OnceLock::new();
    extern "C" fn remove_own() {
        if let Some((pid, d)) = OWN.get() {
            if *pid == std::process::id() {
                let _ = std::fs::remove_dir_all(d);
            }
        }
    }
    let (_, d) = OWN.get_or_init(|| {
        sweep_stale_dirs(prefix);
        let pid = std::process::id();
        let d = std::path::Path::new("/dev/shm").join(format!("{prefix}{pid}"));
        std::fs::create_dir_all(&d).expect("create the test's shm directory");
        // SAFETY: registers a plain extern "C" function with no captures.
        unsafe { libc::atexit(remove_own) };
        (pid, d)
    });
    assert!(
        d.file_name().is_some_and(|n| n.to_string_lossy().starts_with(prefix)),
        "one prefix per test binary"
    );
    d.clone()
}

/// Fork a child that runs `f` and exits 0 if it returned Some (it may also
/// leave by `_exit` itself); wait for it and assert it exited 0.
pub fn in_child<T>(f: impl FnOnce() -> Option<T>) {
    // SAFETY: the child runs `f` and leaves with _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = f().is_some();
        // SAFETY: leaving the child without the parent's exit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut st = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0, "child's steps");
}
