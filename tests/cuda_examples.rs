//! The CUDA examples in `c-examples/cuda/examples/` (C with `cc`, C++ with
//! `c++`, `-Wall -Wextra -Werror`) link against `libaccelmem.so`, run to
//! exit status 0 on their own device, print what they checked, report no
//! leak on stderr and leave no block on the emulated GPU when `main`
//! returns (listed through the exit probe while the process still lives).
//! The examples verify their own data and exit 1 on any wrong value; these
//! tests also pin the lines a user reads.

mod common;

use common::cprog::{assert_no_blocks, compile_with, cxx, out_dir, root, CudaDev, Finished, Link, Running};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// What `cudaGetDeviceProperties` names emulated GPU 0.
const GPU0_NAME: &str = "accelmem emulated GPU 0 (no kernels)";

/// Each example is built once, however many tests run it at the same time.
fn build(file: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, Arc<OnceLock<PathBuf>>>> = Mutex::new(BTreeMap::new());
    let once = BUILT.lock().unwrap().entry(file.to_string()).or_default().clone();
    once.get_or_init(|| compile_example(file)).clone()
}

fn compile_example(file: &str) -> PathBuf {
    let src = root().join("c-examples/cuda/examples").join(file);
    let (stem, ext) = file.rsplit_once('.').unwrap();
    let exe = out_dir("cuda-examples").join(stem);
    let (compiler, std) = if ext == "cpp" {
        (cxx(), "-std=c++17")
    } else {
        (std::env::var("CC").unwrap_or_else(|_| "cc".into()), "-std=c11")
    };
    compile_with(&compiler, &src, &exe, Link::Shared, &[std, "-O2", "-Wall", "-Wextra", "-Werror"]);
    exe
}

/// Run `file` on a new device with `gpus` emulated GPUs (`env` may set
/// ACCELMEM_CUDA_DEVICES to match); checks exit status, the final line,
/// stderr and the GPUs' listings at exit; returns stdout.
fn run(file: &str, gpus: u32, env: &[(&str, &str)]) -> String {
    let exe = build(file);
    let name = file.rsplit_once('.').unwrap().0;
    let dev = CudaDev::new(&format!("cuda-{name}"), gpus);
    let done: Finished =
        Running::spawn_env(&exe, &dev.dev, env).finish_with(|_| (0..gpus).map(|n| dev.gpu_listing(n)).collect::<Vec<_>>().join("\n"));
    let left = done.assert_success(name);
    let ctx = done.context(name);
    for bad in ["LEAK", "FAILED", "Error:"] {
        assert!(!done.err.contains(bad), "{bad} on stderr: {ctx}");
    }
    assert_eq!(done.out.lines().last(), Some(format!("{name}: all steps passed").as_str()), "{ctx}");
    if gpus > 0 {
        assert_no_blocks(left, &format!("{name} left blocks on its GPUs"));
    }
    done.out.clone()
}

#[track_caller]
fn has_line(out: &str, want: &str) {
    assert!(out.lines().any(|l| l == want), "missing line {want:?} in:\n{out}");
}

/// The line starting with `prefix`.
#[track_caller]
fn line<'a>(out: &'a str, prefix: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{out}"))
}

#[test]
fn device_query_describes_the_configured_gpu() {
    let out = run("device_query.c", 1, &[("ACCELMEM_CUDA_MEM", "256M")]);
    assert!(
        line(&out, "CUDA Driver Version / Runtime Version:").ends_with(" 12.9 / 12.9"),
        "{out}"
    );
    has_line(&out, "Detected 1 CUDA Capable device(s)");
    has_line(&out, &format!("Device 0: \"{GPU0_NAME}\""));
    // ACCELMEM_CUDA_MEM is what the program sees as global memory.
    has_line(
        &out,
        "  Total amount of global memory:                 256 MBytes (268435456 bytes)",
    );
    has_line(&out, "  Support host page-locked memory mapping:       Yes");
    has_line(&out, "  Device supports Unified Addressing (UVA):      Yes");
    has_line(&out, "  Device supports Managed Memory:                Yes");
    has_line(&out, "  Device supports Memory Pools:                  Yes");
    has_line(&out, "  cudaDeviceGetAttribute agrees with cudaDeviceProp: 14 attributes");
    has_line(&out, "  cudaMemGetInfo: free 268435456, total 268435456 bytes");
    has_line(
        &out,
        "  cudaMemGetInfo after cudaMalloc(64 MiB): free 201326592; after cudaFree: free 268435456",
    );
    has_line(&out, "device 1 (one past the last): cudaErrorInvalidDevice, as expected");
}

#[test]
fn device_query_lists_every_gpu() {
    let out = run("device_query.c", 3, &[("ACCELMEM_CUDA_DEVICES", "3")]);
    has_line(&out, "Detected 3 CUDA Capable device(s)");
    for n in 0..3 {
        has_line(&out, &format!("Device {n}: \"accelmem emulated GPU {n} (no kernels)\""));
    }
    assert_eq!(out.matches("cudaDeviceGetAttribute agrees with cudaDeviceProp").count(), 3, "{out}");
    has_line(&out, "device 3 (one past the last): cudaErrorInvalidDevice, as expected");
}

#[test]
fn device_query_without_gpus_says_so() {
    let out = run("device_query.c", 0, &[("ACCELMEM_CUDA_DEVICES", "0")]);
    has_line(&out, "There are no available device(s) that support CUDA (cudaErrorNoDevice)");
    assert!(!out.contains("Device 0"), "{out}");
}

#[test]
fn bandwidth_moves_the_right_bytes() {
    let out = run("bandwidth.c", 1, &[]);
    has_line(
        &out,
        &format!("bandwidth: device 0: {GPU0_NAME}, 32 MiB per copy, 4 copies per measurement"),
    );
    for mem in ["pageable", "pinned"] {
        for dir in ["H2D", "D2H", "D2D"] {
            let l = line(&out, &format!("{mem:<9} {dir:<4} 4 x 32 MiB in "));
            let gbs: f64 = l
                .strip_suffix(" GB/s, verified")
                .and_then(|l| l.rsplit(' ').next())
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("no bandwidth in {l:?}"));
            assert!(gbs > 0.0, "{l}");
        }
        has_line(
            &out,
            &format!("{mem:<9} unaligned H2D of 1048579 bytes at device offset 4093: verified, neighbours untouched"),
        );
    }
    has_line(&out, "cudaMemcpyDefault H2D, D2D, D2H round trip: verified");
}

#[test]
fn pitched_2d_copies_rows_and_leaves_padding() {
    let out = run("pitched_2d.c", 1, &[]);
    let pitch: usize = line(&out, "pitched_2d: cudaMallocPitch(1000 x 37) -> pitch ")
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(pitch >= 1000, "{out}");
    has_line(&out, &format!("cudaMemset2D(0x5a, {pitch} x 37): every byte of the allocation set"));
    has_line(
        &out,
        &format!(
            "cudaMemcpy2D H2D (host pitch {} -> device pitch {pitch}): rows in place, padding untouched",
            pitch + 40
        ),
    );
    has_line(
        &out,
        &format!("cudaMemcpy2D D2H (device pitch {pitch} -> host pitch 1007): rows in place, host padding untouched"),
    );
    has_line(
        &out,
        "cudaMemset2D(0x33) of 300 x 10 at (100, 5): rectangle set, everything else untouched",
    );
    assert!(line(&out, "cudaMemcpy2D D2D of 500 x 6 between pitches").ends_with(": verified, rest untouched"));
    has_line(
        &out,
        "cudaMemcpy2DAsync and cudaMemset2DAsync on a stream: verified; zero width or height: no-op",
    );
    has_line(&out, "cudaMemcpy2D with width > pitch: cudaErrorInvalidPitchValue, as expected");
}

#[test]
fn stream_ordered_allocation_reuses_and_releases() {
    let out = run("stream_ordered.c", 1, &[]);
    assert!(
        line(&out, "stream_ordered: default pool 0x").ends_with(", release threshold 0, reserved 0.0 MiB, used 0.0 MiB"),
        "{out}"
    );
    assert!(line(&out, "threshold max: 64 x (cudaMallocAsync 1 MiB").ends_with(" ms, data verified;"));
    assert!(line(&out, "  reserved stayed ").ends_with(", used 0 after each free"));
    assert!(line(&out, "cudaMemPoolTrimTo(0): reserved ").ends_with(" MiB -> 0"));
    assert!(line(
        &out,
        "threshold 0: 64 x (cudaMallocAsync, cudaMemsetAsync, cudaFreeAsync) without sync: reserved stayed "
    )
    .ends_with(" MiB; after cudaStreamSynchronize: 0"));
    assert!(line(&out, "threshold 0: 4 x 3 MiB in use -> reserved ")
        .ends_with(", used 12.0 MiB; after cudaFreeAsync and cudaStreamSynchronize: reserved 0"));
    assert!(line(&out, "cudaMemPoolTrimTo(0) with 2 MiB in use: reserved ").ends_with(", the live block still works"));
    assert!(line(&out, "high-water marks: reserved ").ends_with("; reset to the current values"));
}

#[test]
fn typed_alloc_cpp_overloads_work() {
    let out = run("typed_alloc.cpp", 1, &[]);
    has_line(
        &out,
        "typed_alloc: cudaMalloc(&float*, 1048576), cudaMallocHost(&float*, 1048576, cudaHostAllocMapped): flags 0x2, \
         device pointer == host pointer",
    );
    assert!(line(
        &out,
        "cudaMemcpyAsync/cudaMemsetAsync/cudaEventRecord on the default stream: 262144 floats verified"
    )
    .ends_with("cudaEventCreate(&e, cudaEventDisableTiming) event cannot be timed"));
    assert!(line(&out, "cudaMallocPitch(&float*, ...): pitch ").ends_with(", 2D round trip verified"));
    has_line(
        &out,
        "cudaMallocManaged(&int*, ...): host writes, device copies and host reads agree",
    );
    has_line(&out, "cudaMallocAsync(&uint16_t*, ...): verified");
}

/// The checks above can fail: a program that forgets a cudaFree gets a
/// LEAK line on stderr and its block in the GPU's listing at exit.
#[test]
fn a_forgotten_cuda_free_is_seen() {
    let dir = out_dir("cuda-examples");
    let src = dir.join("forgets_cuda_free.c");
    std::fs::write(
        &src,
        "#include <cuda_runtime.h>\nint main(void) { void *p; return cudaMalloc(&p, 4096) != cudaSuccess; }\n",
    )
    .unwrap();
    let exe = dir.join("forgets_cuda_free");
    compile_with(
        &std::env::var("CC").unwrap_or_else(|_| "cc".into()),
        &src,
        &exe,
        Link::Shared,
        &["-Wall"],
    );
    let dev = CudaDev::new("cuda-leak", 1);
    let done = Running::spawn(&exe, &dev.dev).finish_with(|_| dev.gpu_listing(0));
    let left = done.assert_success("forgets_cuda_free");
    assert!(
        done.err
            .lines()
            .any(|l| l.contains("LEAK") && l.contains("4096 bytes, 'cudaMalloc'")),
        "{}",
        done.context("forgets_cuda_free")
    );
    assert!(left.contains("name=\"cudaMalloc\""), "{left}");
}
