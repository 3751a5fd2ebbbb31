//! The drop-in compat libraries made by `scripts/build-compat` from this
//! test's own `libaccelmem.a`:
//! - `libcudart.so.12` has that SONAME, exports exactly the CUDA names
//!   `libaccelmem.so` exports, each as `NAME@@libcudart.so.12`, and nothing
//!   else; `dlvsym(h, "cudaMalloc", "libcudart.so.12")` finds it (and does
//!   not on the unversioned rustc cdylib, the case the script exists for);
//! - `libmpi.so`, `libdnn.so`, `librknnrt.so` and `libhbmem.so.1` carry
//!   their SONAMEs and export only `HI_MPI_*` / `hbSys*` / `rknn_*` /
//!   `hb_mem_*`, unversioned as the vendors' are; a program linked
//!   `-lhbmem` records `libhbmem.so.1` and runs on it;
//! - a C program compiled with NVIDIA's own headers and linked against
//!   NVIDIA's `libcudart.so.12` runs on ours via LD_LIBRARY_PATH alone,
//!   correctly and silently, while NVIDIA's library on this GPU-less machine
//!   fails it. Needs PyPI `nvidia-cuda-runtime-cu12`: skipped when absent,
//!   unless ACCELMEM_REQUIRE_NVIDIA=1.

mod common;

use accelmem::engine::{Config, Device};
use common::cprog::{out_dir, root};
use common::{lib_dir, unique_name};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const CUDART: &str = "libcudart.so.12";

/// The compat libraries, built once per test process.
fn compat_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = out_dir("compat");
        let o = Command::new(root().join("scripts/build-compat"))
            .arg("--lib")
            .arg(lib_dir().join("libaccelmem.a"))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run scripts/build-compat");
        assert!(
            o.status.success(),
            "scripts/build-compat failed:\n{}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    })
}

fn stdout_of(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(o.status.success(), "{cmd:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Defined dynamic symbols as `nm -D` prints them (`name@@version` when
/// versioned), without the absolute symbol naming a version definition.
fn dyn_syms(lib: &Path) -> Vec<String> {
    stdout_of(Command::new("nm").args(["-D", "--defined-only"]).arg(lib))
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() == 3 && f[1] != "A").then(|| f[2].to_string())
        })
        .collect()
}

fn names_with_prefix(syms: &[String], prefixes: &[&str]) -> BTreeSet<String> {
    syms.iter()
        .map(|s| s.split('@').next().unwrap().to_string())
        .filter(|s| prefixes.iter().any(|p| s.starts_with(p)))
        .collect()
}

fn soname(lib: &Path) -> String {
    let d = stdout_of(Command::new("readelf").arg("-d").arg(lib));
    let line = d
        .lines()
        .find(|l| l.contains("(SONAME)"))
        .unwrap_or_else(|| panic!("{} has no SONAME", lib.display()));
    line.split('[').nth(1).unwrap().trim_end_matches(']').to_string()
}

/// Compile `src` with `flags`, then link with `libs` (after the source, so
/// --as-needed keeps them).
fn cc(src_name: &str, src: &str, exe_name: &str, flags: &[&str], libs: &[&str]) -> PathBuf {
    let dir = out_dir("compat-programs");
    let c = dir.join(src_name);
    std::fs::write(&c, src).unwrap();
    let exe = dir.join(exe_name);
    let o = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-Wall", "-Wextra", "-Werror", "-std=c11"])
        .args(flags)
        .arg(&c)
        .arg("-o")
        .arg(&exe)
        .args(libs)
        .output()
        .expect("run cc");
    assert!(o.status.success(), "cc {src_name} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    exe
}

/// A private emulated GPU: its name for ACCELMEM_DEVICE, and both engine
/// devices it creates (`<name>`, `<name>-gpu0`) removed on drop.
struct Gpu(String);

impl Gpu {
    fn new() -> Gpu {
        Gpu(unique_name("compat"))
    }

    fn command(&self, exe: &Path, ld_library_path: &Path) -> Command {
        let mut c = Command::new(exe);
        c.env("ACCELMEM_DEVICE", &self.0)
            .env("ACCELMEM_CUDA_MEM", "64M")
            .env("ACCELMEM_CUDA_DEVICES", "1")
            .env("LD_LIBRARY_PATH", ld_library_path)
            .env_remove("LD_PRELOAD")
            .env_remove("LD_DEBUG");
        c
    }
}

impl Drop for Gpu {
    fn drop(&mut self) {
        for d in [self.0.clone(), format!("{}-gpu0", self.0)] {
            let _ = Device::destroy(&Config {
                device: d,
                ..Config::default()
            });
        }
    }
}

#[test]
fn cudart_has_soname_and_every_export_versioned() {
    let lib = compat_dir().join(CUDART);
    assert_eq!(soname(&lib), CUDART);
    let needed = stdout_of(Command::new("readelf").arg("-d").arg(&lib));
    assert!(!needed.contains("accelmem"), "{CUDART} must be self-contained:\n{needed}");

    let syms = dyn_syms(&lib);
    let unversioned: Vec<&String> = syms.iter().filter(|s| !s.ends_with("@@libcudart.so.12")).collect();
    assert!(unversioned.is_empty(), "exports without @@libcudart.so.12: {unversioned:?}");
    let foreign: Vec<&String> = syms.iter().filter(|s| !s.starts_with("cuda") && !s.starts_with("__cuda")).collect();
    assert!(foreign.is_empty(), "non-CUDA exports (Rust, other vendors): {foreign:?}");
    for want in [
        "cudaMalloc",
        "cudaGetDeviceProperties_v2",
        "cudaMemcpy_ptds",
        "cudaMemcpyAsync_ptsz",
    ] {
        assert!(
            syms.contains(&format!("{want}@@libcudart.so.12")),
            "{want}@@libcudart.so.12 missing"
        );
    }
    // Nothing lost on the way: the same CUDA names as the cdylib.
    let ours = names_with_prefix(&dyn_syms(&lib_dir().join("libaccelmem.so")), &["cuda", "__cuda"]);
    assert_eq!(names_with_prefix(&syms, &["cuda", "__cuda"]), ours);
}

#[test]
fn mpi_dnn_rknnrt_and_hbmem_have_sonames_and_only_their_vendor_symbols() {
    let all = dyn_syms(&lib_dir().join("libaccelmem.so"));
    for (file, prefix) in [
        ("libmpi.so", "HI_MPI_"),
        ("libdnn.so", "hbSys"),
        ("librknnrt.so", "rknn_"),
        ("libhbmem.so.1", "hb_mem_"),
    ] {
        let lib = compat_dir().join(file);
        assert_eq!(soname(&lib), file);
        let syms = dyn_syms(&lib);
        let odd: Vec<&String> = syms.iter().filter(|s| !s.starts_with(prefix) || s.contains('@')).collect();
        assert!(odd.is_empty(), "{file}: exports that are versioned or not {prefix}*: {odd:?}");
        // What the vendor's library does not export stays out of its
        // drop-in: rknn_create_mem_from_mb_blk is only declared by
        // rknn_api.h (no librknnrt exports it).
        let absent: &[&str] = if file == "librknnrt.so" {
            &["rknn_create_mem_from_mb_blk"]
        } else {
            &[]
        };
        let mut want = names_with_prefix(&all, &[prefix]);
        for a in absent {
            assert!(want.remove(*a), "libaccelmem exports {a}");
        }
        assert_eq!(names_with_prefix(&syms, &[prefix]), want, "{file}");
        let v = stdout_of(Command::new("readelf").arg("-V").arg(&lib));
        assert!(!v.contains("Version definition"), "{file} must define no symbol version:\n{v}");
    }
}

const HBMEM_C: &str = r#"
#include <stdio.h>
#include <string.h>
#include <hb_mem_mgr.h>

int main(void) {
    hb_mem_common_buf_t b;
    memset(&b, 0, sizeof b);
    int r = hb_mem_module_open();
    if (r == 0) r = hb_mem_alloc_com_buf(4096, HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN, &b);
    if (r == 0) {
        memset(b.virt_addr, 0x5a, 4096);
        r = hb_mem_free_buf(b.fd);
    }
    if (r == 0) r = hb_mem_module_close();
    printf("hbmem: %d\n", r);
    return r != 0;
}
"#;

#[test]
fn a_program_linked_with_lhbmem_needs_libhbmem_so_1_and_runs_on_it() {
    let dir = compat_dir();
    assert_eq!(
        std::fs::read_link(dir.join("libhbmem.so")).unwrap(),
        Path::new("libhbmem.so.1"),
        "libhbmem.so is the link-time name of libhbmem.so.1"
    );
    let inc = format!("-I{}", root().join("include").display());
    let libdir = format!("-L{}", dir.display());
    let exe = cc("hbmem_compat.c", HBMEM_C, "hbmem_compat", &[&inc, &libdir], &["-lhbmem"]);
    let needed = stdout_of(Command::new("readelf").arg("-d").arg(&exe));
    assert!(needed.contains("Shared library: [libhbmem.so.1]"), "{needed}");
    let gpu = Gpu::new();
    let (o, out, err) = run(&mut gpu.command(&exe, dir));
    assert!(o.status.success(), "stdout:\n{out}\nstderr:\n{err}");
    assert_eq!(out, "hbmem: 0\n");
    assert!(err.is_empty(), "silent: {err}");
}

const DLVSYM_C: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>

typedef int (*malloc_fn)(void **, size_t);
typedef int (*free_fn)(void *);

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) { printf("dlopen: %s\n", dlerror()); return 1; }
    void *v = dlvsym(h, "cudaMalloc", "libcudart.so.12");
    printf("dlvsym(cudaMalloc, libcudart.so.12): %s\n", v ? "found" : "NULL");
    printf("dlsym(cudaMalloc) is the same: %s\n", v && v == dlsym(h, "cudaMalloc") ? "yes" : "no");
    printf("dlvsym(cudaMalloc, libcudart.so.11.0): %s\n", dlvsym(h, "cudaMalloc", "libcudart.so.11.0") ? "found" : "NULL");
    void *f = dlvsym(h, "cudaFree", "libcudart.so.12");
    if (v && f) {
        void *d = NULL;
        int e = ((malloc_fn)v)(&d, 4096);
        printf("cudaMalloc: %d, cudaFree: %d\n", e, d ? ((free_fn)f)(d) : -1);
    }
    return 0;
}
"#;

#[test]
fn dlvsym_finds_cudamalloc_at_version_libcudart_so_12() {
    let exe = cc("dlvsym.c", DLVSYM_C, "dlvsym", &[], &["-ldl"]);
    let gpu = Gpu::new();
    let lib = compat_dir().join(CUDART);
    let out = stdout_of(gpu.command(&exe, compat_dir()).arg(&lib));
    assert_eq!(
        out,
        "dlvsym(cudaMalloc, libcudart.so.12): found\n\
         dlsym(cudaMalloc) is the same: yes\n\
         dlvsym(cudaMalloc, libcudart.so.11.0): NULL\n\
         cudaMalloc: 0, cudaFree: 0\n"
    );
    // The rustc cdylib, unversioned, is what this guards against.
    let out = stdout_of(gpu.command(&exe, compat_dir()).arg(lib_dir().join("libaccelmem.so")));
    assert!(out.starts_with("dlvsym(cudaMalloc, libcudart.so.12): NULL\n"), "{out}");
}

/// NVIDIA's package directory (`…/site-packages/nvidia/cuda_runtime`).
fn nvidia_dir() -> Option<PathBuf> {
    let found = Command::new("python3")
        .args(["-c", "import nvidia.cuda_runtime as m; print(list(m.__path__)[0])"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
        .filter(|d| d.join("include/cuda_runtime_api.h").is_file() && d.join("lib").join(CUDART).is_file());
    if found.is_none() {
        if std::env::var("ACCELMEM_REQUIRE_NVIDIA").is_ok_and(|v| v == "1") {
            panic!(
                "ACCELMEM_REQUIRE_NVIDIA=1 but python3 cannot import nvidia.cuda_runtime (pip install nvidia-cuda-runtime-cu12==12.9.79)"
            );
        }
        println!("skipped: NVIDIA's nvidia-cuda-runtime-cu12 is not installed (set ACCELMEM_REQUIRE_NVIDIA=1 to make this a failure)");
    }
    found
}

/// NVIDIA's headers include `crt/host_defines.h`, which the wheel does not
/// ship (it comes with nvcc); for host-only C these expand to nothing.
const HOST_DEFINES_H: &str = "\
#ifndef ACCELMEM_TEST_HOST_DEFINES_H
#define ACCELMEM_TEST_HOST_DEFINES_H
#define __host__
#define __device__
#define __device_builtin__
#define __cudart_builtin__
#define CUDARTAPI
#define CUDART_CB
#define __dv(v)
#define __align__(n) __attribute__((aligned(n)))
#define __builtin_align__(a) __align__(a)
#endif
";

/// Error strings first (they need no GPU, so both libraries print them),
/// then the memory work.
const DROPIN_C: &str = r#"
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The file libcudart.so.12 was mapped from, read from our own mappings. */
static void print_mapped_cudart(void) {
    char line[4096];
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        char *path = strchr(line, '/');
        if (path && strstr(path, "libcudart.so.12")) {
            path[strcspn(path, "\n")] = 0;
            printf("mapped: %s\n", path);
            break;
        }
    }
    fclose(f);
}

#define CHECK(call)                                                            \
    do {                                                                       \
        cudaError_t e_ = (call);                                               \
        if (e_ != cudaSuccess) {                                               \
            printf("%s -> %d\n", #call, (int)e_);                              \
            return 2;                                                          \
        }                                                                      \
    } while (0)

int main(void) {
    print_mapped_cudart();
    const cudaError_t codes[] = {cudaSuccess, cudaErrorInvalidValue, cudaErrorMemoryAllocation,
                                 cudaErrorInsufficientDriver, cudaErrorNoDevice};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        printf("error %d: %s: %s\n", (int)codes[i], cudaGetErrorName(codes[i]), cudaGetErrorString(codes[i]));

    int n = -1;
    CHECK(cudaGetDeviceCount(&n));
    printf("devices: %d\n", n);
    struct cudaDeviceProp prop;
    memset(&prop, 0, sizeof prop);
    CHECK(cudaGetDeviceProperties(&prop, 0));
    printf("sizeof(struct cudaDeviceProp): %zu\n", sizeof prop);
    printf("totalGlobalMem: %zu\n", prop.totalGlobalMem);

    enum { N = 1 << 20 };
    unsigned char *src = malloc(N), *back = malloc(N), *pinned = NULL;
    void *dev = NULL;
    if (!src || !back) return 3;
    for (size_t i = 0; i < N; i++) src[i] = (unsigned char)(i * 7 + 3);
    memset(back, 0, N);
    CHECK(cudaMalloc(&dev, N));
    CHECK(cudaMemcpy(dev, src, N, cudaMemcpyHostToDevice));
    CHECK(cudaMemcpy(back, dev, N, cudaMemcpyDeviceToHost));
    printf("cudaMemcpy round trip of %d bytes: %s\n", N, memcmp(src, back, N) ? "MISMATCH" : "ok");

    CHECK(cudaMallocHost((void **)&pinned, N));
    memset(pinned, 0, N);
    CHECK(cudaMemcpyAsync(pinned, dev, N, cudaMemcpyDeviceToHost, 0));
    CHECK(cudaStreamSynchronize(0));
    printf("cudaMemcpyAsync into pinned memory: %s\n", memcmp(src, pinned, N) ? "MISMATCH" : "ok");
    CHECK(cudaFreeHost(pinned));
    CHECK(cudaFree(dev));
    free(src);
    free(back);
    return 0;
}
"#;

fn run(cmd: &mut Command) -> (Output, String, String) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o, out, err)
}

#[test]
fn nvidia_built_program_runs_on_ours_by_ld_library_path() {
    let Some(nv) = nvidia_dir() else { return };
    let ours = compat_dir();
    let nv_lib = nv.join("lib");

    // Drop-in means no invented names: each export is NVIDIA's, same version.
    let theirs: BTreeSet<String> = dyn_syms(&nv_lib.join(CUDART)).into_iter().collect();
    let extra: Vec<String> = dyn_syms(&ours.join(CUDART)).into_iter().filter(|s| !theirs.contains(s)).collect();
    assert!(extra.is_empty(), "exported by ours but not by NVIDIA's {CUDART}: {extra:?}");

    let stub = out_dir("compat-nvidia-stub");
    std::fs::create_dir_all(stub.join("crt")).unwrap();
    std::fs::write(stub.join("crt/host_defines.h"), HOST_DEFINES_H).unwrap();
    let (inc_stub, inc_nv, link) = (
        format!("-I{}", stub.display()),
        format!("-I{}", nv.join("include").display()),
        format!("-L{}", nv_lib.display()),
    );
    // Default build, and a per-thread-default-stream build (the `_ptds`/`_ptsz` names).
    for (exe_name, define, names) in [
        ("dropin", None, ["cudaGetDeviceProperties_v2", "cudaMemcpy", "cudaMemcpyAsync"]),
        (
            "dropin-ptds",
            Some("-DCUDA_API_PER_THREAD_DEFAULT_STREAM"),
            ["cudaGetDeviceProperties_v2", "cudaMemcpy_ptds", "cudaMemcpyAsync_ptsz"],
        ),
    ] {
        let mut flags = vec![inc_stub.as_str(), inc_nv.as_str()];
        flags.extend(define);
        let exe = cc("dropin.c", DROPIN_C, exe_name, &flags, &[link.as_str(), "-l:libcudart.so.12"]);

        // Linked against NVIDIA's library: it needs libcudart.so.12, version libcudart.so.12.
        let undef = stdout_of(Command::new("nm").args(["-D", "--undefined-only"]).arg(&exe));
        for n in names {
            assert!(
                undef.lines().any(|l| l.trim().ends_with(&format!(" {n}@libcudart.so.12"))),
                "{exe_name} does not import {n}@libcudart.so.12:\n{undef}"
            );
        }
        let v = stdout_of(Command::new("readelf").arg("-V").arg(&exe));
        let need = v
            .split("Version needs")
            .nth(1)
            .unwrap_or_else(|| panic!("no version needs in {exe_name}:\n{v}"));
        assert!(
            need.contains("File: libcudart.so.12") && need.contains("Name: libcudart.so.12"),
            "{need}"
        );

        let gpu = Gpu::new();
        let (o, out, err) = run(&mut gpu.command(&exe, ours));
        assert!(
            o.status.success(),
            "{exe_name} on ours: {:?}\nstdout:\n{out}\nstderr:\n{err}",
            o.status
        );
        assert_eq!(err, "", "{exe_name} on ours must be silent on stderr");
        let mapped = format!("mapped: {}\n", ours.join(CUDART).display());
        let rest = out
            .strip_prefix(&mapped)
            .unwrap_or_else(|| panic!("ours was not the library mapped:\n{out}"));
        let (errors, work) = rest.split_at(rest.find("devices:").unwrap_or_else(|| panic!("{out}")));
        assert_eq!(
            work,
            "devices: 1\n\
             sizeof(struct cudaDeviceProp): 1032\n\
             totalGlobalMem: 67108864\n\
             cudaMemcpy round trip of 1048576 bytes: ok\n\
             cudaMemcpyAsync into pinned memory: ok\n"
        );

        // NVIDIA's own library on this GPU-less machine: same error table,
        // but no device, so the program stops at cudaGetDeviceCount.
        let (o, out, err) = run(&mut gpu.command(&exe, &nv_lib));
        assert!(
            !o.status.success(),
            "{exe_name} succeeded on NVIDIA's library (is there a GPU?):\n{out}"
        );
        let mapped = format!("mapped: {}\n", nv_lib.join(CUDART).display());
        let rest = out
            .strip_prefix(&mapped)
            .unwrap_or_else(|| panic!("NVIDIA's was not the library mapped:\n{out}\n{err}"));
        let (nv_errors, tail) = rest.split_at(rest.find("cudaGetDeviceCount").unwrap_or_else(|| panic!("{out}")));
        assert!(
            ["cudaGetDeviceCount(&n) -> 35\n", "cudaGetDeviceCount(&n) -> 100\n"].contains(&tail),
            "{tail}"
        );
        assert_eq!(errors, nv_errors, "cudaGetErrorName/String differ from NVIDIA's");
    }

    // The stderr check can fail: the unversioned rustc cdylib under the
    // same file name makes ld.so warn.
    let plain = out_dir("compat-plain-cdylib");
    std::fs::copy(lib_dir().join("libaccelmem.so"), plain.join(CUDART)).unwrap();
    let exe = out_dir("compat-programs").join("dropin");
    let gpu = Gpu::new();
    let (_, _, err) = run(&mut gpu.command(&exe, &plain));
    assert!(err.contains("no version information available"), "{err}");
}
