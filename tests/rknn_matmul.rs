//! Memory-only matmul contexts (`rknn_matmul_api.h`): `rknn_matmul_create`
//! reports the A/B/C attributes the SDK's types imply, the context is
//! accepted by every memory call (`rknn_create_mem`, `rknn_mem_sync`,
//! `rknn_destroy_mem`) like an `rknn_init` context, memory made through it
//! can be destroyed through another context, bad input gets the SDK's
//! codes, the engine stays consistent, and our header redeclares the SDK
//! 2.3.x prototypes cleanly in C11 and C++11.

mod common;

use accelmem::api::rockchip::rknn_api::*;
use accelmem::api::rockchip::rknn_api_fns::*;
use accelmem::api::rockchip::rknn_matmul_api::*;
use accelmem::api::rockchip::rknn_matmul_fns::*;
use accelmem::engine::{self, Device};
use std::ffi::c_void;
use std::mem::{offset_of, size_of};
use std::path::Path;
use std::process::Command;
use std::ptr::null_mut;
use std::sync::{Mutex, MutexGuard, Once};

use rknn_matmul_type::*;

const F32: u32 = 0;
const F16: u32 = 1;
const I8: u32 = 2;
const I16: u32 = 4;
const I32: u32 = 6;
const I4: u32 = 10;
const TO_DEV: u32 = 1;
const FROM_DEV: u32 = 2;

const DIR_PREFIX: &str = "accelmem-test-rkmm-";

static INIT: Once = Once::new();
static SERIAL: Mutex<()> = Mutex::new(());

/// Point the process-global device at a private directory and name before
/// any export runs; the tests then run one at a time.
fn init() -> (MutexGuard<'static, ()>, &'static Device) {
    INIT.call_once(|| {
        std::env::set_var("ACCELMEM_DEVICE", format!("t-rkmm-{}", std::process::id()));
        std::env::set_var("ACCELMEM_ZONES", "anonymous,0,0x44000000,16M");
        std::env::set_var("ACCELMEM_SHM_DIR", common::own_shm_dir(DIR_PREFIX));
        std::env::set_var("ACCELMEM_RKNN_INTERNAL_SIZE", "64K");
        std::env::remove_var("ACCELMEM_RKNN_ZONE");
        std::env::remove_var("ACCELMEM_BACKEND");
        std::env::set_var("RKNN_LOG_LEVEL", "0");
    });
    let g = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    let dev = engine::global().expect("the global device opens");
    assert_eq!(dev.name(), format!("t-rkmm-{}", std::process::id()));
    (g, dev)
}

fn used(dev: &Device) -> u64 {
    dev.zones().expect("zones").iter().map(|z| z.used).sum()
}

fn info(t: rknn_matmul_type, m: i32, k: i32, n: i32) -> rknn_matmul_info {
    rknn_matmul_info {
        M: m,
        K: k,
        N: n,
        r#type: t as u32,
        B_layout: 0,
        B_quant_type: 0,
        AC_layout: 0,
        AC_quant_type: 0,
        iommu_domain_id: 0,
        group_size: 0,
        reserved: [0; 34],
    }
}

fn zeroed_io() -> rknn_matmul_io_attr {
    // SAFETY: plain C data; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// Create; returns (code, ctx, io_attr).
fn create(mut i: rknn_matmul_info) -> (i32, rknn_matmul_ctx, rknn_matmul_io_attr) {
    let mut ctx = 0;
    let mut io = zeroed_io();
    // SAFETY: valid pointers to locals.
    let r = unsafe { rknn_matmul_create(&mut ctx, &mut i, &mut io) };
    (r, ctx, io)
}

fn create_ok(i: rknn_matmul_info) -> (rknn_matmul_ctx, rknn_matmul_io_attr) {
    let (r, ctx, io) = create(i);
    assert_eq!(r, RKNN_SUCC, "rknn_matmul_create({i:?})");
    assert_ne!(ctx, 0);
    (ctx, io)
}

fn name(a: &rknn_matmul_tensor_attr) -> String {
    a.name.iter().take_while(|&&c| c != 0).map(|&c| c as u8 as char).collect()
}

/// (name, dims, size, tensor type) of one tensor.
fn desc(a: &rknn_matmul_tensor_attr) -> (String, Vec<u32>, u32, u32) {
    (name(a), a.dims[..a.n_dims as usize].to_vec(), a.size, a.r#type)
}

fn d(n: &str, dims: &[u32], size: u32, ty: u32) -> (String, Vec<u32>, u32, u32) {
    (n.to_string(), dims.to_vec(), size, ty)
}

fn destroy(ctx: rknn_matmul_ctx) {
    // SAFETY: plain handle call.
    assert_eq!(unsafe { rknn_matmul_destroy(ctx) }, RKNN_SUCC);
}

/// A normal rknn context over a small blob (its weight/internal memory
/// goes with rknn_destroy).
fn rknn_ctx() -> rknn_context {
    let mut blob = vec![7u8; 256];
    let mut ctx = 0;
    // SAFETY: blob is 256 readable bytes; ctx is a local.
    let r = unsafe { rknn_init(&mut ctx, blob.as_mut_ptr() as *mut c_void, 256, 0, null_mut()) };
    assert_eq!(r, RKNN_SUCC, "rknn_init");
    ctx
}

#[test]
fn io_attr_follows_type_and_shape() {
    let (_g, dev) = init();
    let cases = [
        // fp16 x fp16 -> fp32: 2-byte inputs, 4-byte output.
        (
            info(RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, 4, 64, 32),
            [(512, F16), (4096, F16), (512, F32)],
        ),
        (
            info(RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16, 4, 64, 32),
            [(512, F16), (4096, F16), (256, F16)],
        ),
        (info(RKNN_INT8_MM_INT8_TO_INT32, 4, 64, 32), [(256, I8), (2048, I8), (512, I32)]),
        (info(RKNN_INT8_MM_INT8_TO_INT8, 4, 64, 32), [(256, I8), (2048, I8), (128, I8)]),
        (info(RKNN_INT8_MM_INT8_TO_FLOAT32, 4, 64, 32), [(256, I8), (2048, I8), (512, F32)]),
        (
            info(RKNN_FLOAT16_MM_INT8_TO_FLOAT32, 4, 64, 32),
            [(512, F16), (2048, I8), (512, F32)],
        ),
        (
            info(RKNN_FLOAT16_MM_INT4_TO_FLOAT16, 4, 64, 32),
            [(512, F16), (1024, I4), (256, F16)],
        ),
        (info(RKNN_INT8_MM_INT4_TO_INT32, 4, 64, 32), [(256, I8), (1024, I4), (512, I32)]),
        // int4: two per byte, an odd count rounded up (3x5 = 15 -> 8 bytes).
        (info(RKNN_INT4_MM_INT4_TO_INT16, 3, 5, 7), [(8, I4), (18, I4), (42, I16)]),
    ];
    for (i, want) in cases {
        let (ctx, io) = create_ok(i);
        let (m, k, n) = (i.M as u32, i.K as u32, i.N as u32);
        assert_eq!(desc(&io.A), d("A", &[m, k], want[0].0, want[0].1), "A of {i:?}");
        assert_eq!(desc(&io.B), d("B", &[k, n], want[1].0, want[1].1), "B of {i:?}");
        assert_eq!(desc(&io.C), d("C", &[m, n], want[2].0, want[2].1), "C of {i:?}");
        destroy(ctx);
    }
    // B stored transposed: N x K, same bytes.
    let mut tp = info(RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, 4, 64, 32);
    tp.B_layout = rknn_matmul_layout::RKNN_MM_LAYOUT_TP_NORM as i16;
    let (ctx, io) = create_ok(tp);
    assert_eq!(desc(&io.B), d("B", &[32, 64], 4096, F16));
    destroy(ctx);
    // Native layouts hold the same elements: same byte counts.
    let mut nat = info(RKNN_INT8_MM_INT8_TO_INT32, 4, 64, 32);
    nat.B_layout = 1;
    nat.AC_layout = 1;
    let (ctx, io) = create_ok(nat);
    assert_eq!((io.A.size, io.B.size, io.C.size), (256, 2048, 512));
    destroy(ctx);
    dev.check().expect("engine consistent");
}

#[test]
fn matmul_context_works_with_every_memory_call() {
    let (_g, dev) = init();
    let before = used(dev);
    let (ctx, mut io) = create_ok(info(RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32, 8, 64, 32));
    // SAFETY: plain handle calls.
    let (a, b, c) = unsafe {
        (
            rknn_create_mem(ctx, io.A.size),
            rknn_create_mem(ctx, io.B.size),
            rknn_create_mem(ctx, io.C.size),
        )
    };
    for (m, want) in [(a, io.A.size), (b, io.B.size), (c, io.C.size)] {
        assert!(!m.is_null(), "rknn_create_mem through a matmul context");
        // SAFETY: live memory struct.
        let mm = unsafe { &*m };
        assert!(mm.size >= want && !mm.virt_addr.is_null() && mm.fd >= 0, "{mm:?}");
    }
    assert!(
        used(dev) >= before + (io.A.size + io.B.size + io.C.size) as u64,
        "memory comes from the shared device"
    );
    // SAFETY: live handles, memories and attrs made above.
    unsafe {
        assert_eq!(rknn_matmul_set_io_mem(ctx, a, &mut io.A), RKNN_SUCC);
        assert_eq!(rknn_matmul_set_io_mem(ctx, b, &mut io.B), RKNN_SUCC);
        assert_eq!(rknn_matmul_set_io_mem(ctx, c, &mut io.C), RKNN_SUCC);
        // A too small for B: refused.
        assert_eq!(rknn_matmul_set_io_mem(ctx, a, &mut io.B), RKNN_ERR_PARAM_INVALID);
    }
    // Write A, sync, read back.
    let len = io.A.size as usize;
    let pattern: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
    // SAFETY: `a` is live and maps at least `len` bytes; `back` holds `len`.
    unsafe {
        std::ptr::copy_nonoverlapping(pattern.as_ptr(), (*a).virt_addr as *mut u8, len);
        assert_eq!(rknn_mem_sync(ctx, a, TO_DEV), RKNN_SUCC);
        assert_eq!(rknn_mem_sync(ctx, a, FROM_DEV), RKNN_SUCC);
        assert_eq!(std::slice::from_raw_parts((*a).virt_addr as *const u8, len), &pattern[..]);
        // The same bytes through the memory's dma-buf fd.
        let mut back = vec![0u8; len];
        let n = libc::pread((*a).fd, back.as_mut_ptr() as *mut c_void, len, (*a).offset as i64);
        assert_eq!(n, len as isize, "pread of the memory's fd");
        assert_eq!(back, pattern, "fd view differs from virt_addr");
        assert_eq!(rknn_matmul_set_core_mask(ctx, 1), RKNN_SUCC);
        assert_eq!(rknn_matmul_set_core_mask(ctx, 5), RKNN_ERR_PARAM_INVALID);
        assert_eq!(rknn_matmul_run(ctx), RKNN_ERR_DEVICE_UNAVAILABLE, "no NPU computes here");
    }
    // Destroy through the matmul context and through a normal one.
    let other = rknn_ctx();
    // SAFETY: handles and memories made above, each destroyed once.
    unsafe {
        assert_eq!(rknn_destroy_mem(ctx, a), RKNN_SUCC);
        assert_eq!(rknn_mem_sync(other, b, TO_DEV), RKNN_SUCC);
        assert_eq!(rknn_destroy_mem(other, b), RKNN_SUCC);
        assert_eq!(rknn_destroy_mem(ctx, b), RKNN_ERR_PARAM_INVALID, "double destroy");
        assert_eq!(rknn_matmul_destroy(ctx), RKNN_SUCC);
        // C outlives its context and goes through the other one.
        assert_eq!(rknn_destroy_mem(ctx, c), RKNN_ERR_CTX_INVALID);
        assert_eq!(rknn_destroy_mem(other, c), RKNN_SUCC);
        assert_eq!(rknn_destroy(other), RKNN_SUCC);
    }
    assert_eq!(used(dev), before, "everything made here is freed");
    dev.check().expect("engine consistent");
}

#[test]
fn bad_input_gets_the_sdk_codes() {
    let (_g, dev) = init();
    let before = used(dev);
    let good = info(RKNN_INT8_MM_INT8_TO_INT32, 4, 64, 32);
    let mut i = good;
    let mut io = zeroed_io();
    let mut ctx: rknn_matmul_ctx = 0;
    // SAFETY: NULL or pointers to locals.
    unsafe {
        assert_eq!(rknn_matmul_create(null_mut(), &mut i, &mut io), RKNN_ERR_PARAM_INVALID);
        assert_eq!(rknn_matmul_create(&mut ctx, null_mut(), &mut io), RKNN_ERR_PARAM_INVALID);
        assert_eq!(rknn_matmul_create(&mut ctx, &mut i, null_mut()), RKNN_ERR_PARAM_INVALID);
    }
    let mut bad = Vec::new();
    for (m, k, n) in [(0, 64, 32), (4, 0, 32), (4, 64, 0), (-1, 64, 32)] {
        bad.push(rknn_matmul_info { M: m, K: k, N: n, ..good });
    }
    for t in [0, 13, 15, 0xffff_ffff] {
        bad.push(rknn_matmul_info { r#type: t, ..good });
    }
    bad.push(rknn_matmul_info { B_layout: 3, ..good });
    bad.push(rknn_matmul_info { AC_layout: 2, ..good });
    bad.push(rknn_matmul_info { AC_quant_type: 1, ..good });
    // 65536 x 65536 int32 outputs do not fit a 32-bit size.
    bad.push(rknn_matmul_info {
        M: 65536,
        N: 65536,
        ..good
    });
    // 2^30 x 2^30 fp16 inputs: 2^64 bits, past u64 before the byte count.
    bad.push(rknn_matmul_info {
        M: 1 << 30,
        K: 1 << 30,
        N: 1,
        r#type: RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT16 as u32,
        ..good
    });
    for b in bad {
        let (r, ctx, _) = create(b);
        assert_eq!((r, ctx), (RKNN_ERR_PARAM_INVALID, 0), "{b:?}");
    }
    // Calls on contexts that are not live matmul contexts.
    let normal = rknn_ctx();
    let (mm, mut io) = create_ok(good);
    // SAFETY: plain handle call.
    let mem = unsafe { rknn_create_mem(mm, io.C.size) };
    assert!(!mem.is_null());
    // SAFETY: `mem` is live until destroyed at the end; attrs are locals.
    unsafe {
        for c in [0, normal] {
            assert_eq!(rknn_matmul_run(c), RKNN_ERR_CTX_INVALID, "ctx {c:#x}");
            assert_eq!(rknn_matmul_set_core_mask(c, 0), RKNN_ERR_CTX_INVALID);
            assert_eq!(rknn_matmul_set_io_mem(c, mem, &mut io.C), RKNN_ERR_CTX_INVALID);
            assert_eq!(rknn_matmul_destroy(c), RKNN_ERR_CTX_INVALID);
        }
        // NULL or foreign memory and attrs.
        assert_eq!(rknn_matmul_set_io_mem(mm, null_mut(), &mut io.C), RKNN_ERR_PARAM_INVALID);
        assert_eq!(rknn_matmul_set_io_mem(mm, mem, null_mut()), RKNN_ERR_PARAM_INVALID);
        let mut fake: rknn_tensor_mem = *mem;
        assert_eq!(rknn_matmul_set_io_mem(mm, &mut fake, &mut io.C), RKNN_ERR_PARAM_INVALID);
        let mut renamed = io.C;
        renamed.name[0] = b'X' as _;
        assert_eq!(rknn_matmul_set_io_mem(mm, mem, &mut renamed), RKNN_ERR_PARAM_INVALID);
        // A context destroyed with rknn_destroy is gone for matmul calls too.
        assert_eq!(rknn_destroy(mm), RKNN_SUCC);
        assert_eq!(rknn_matmul_run(mm), RKNN_ERR_CTX_INVALID);
        assert_eq!(rknn_matmul_set_io_mem(mm, mem, &mut io.C), RKNN_ERR_CTX_INVALID);
        assert_eq!(rknn_matmul_destroy(mm), RKNN_ERR_CTX_INVALID);
        assert!(rknn_create_mem(mm, 64).is_null(), "create_mem on a destroyed context");
        assert_eq!(rknn_destroy_mem(normal, mem), RKNN_SUCC);
        assert_eq!(rknn_destroy(normal), RKNN_SUCC);
    }
    assert_eq!(used(dev), before);
    dev.check().expect("engine consistent");
}

#[test]
fn rust_types_have_the_sdk_layout() {
    assert_eq!(size_of::<rknn_matmul_ctx>(), 8);
    assert_eq!(size_of::<rknn_matmul_tensor_attr>(), 332);
    assert_eq!(offset_of!(rknn_matmul_tensor_attr, n_dims), 256);
    assert_eq!(offset_of!(rknn_matmul_tensor_attr, dims), 260);
    assert_eq!(offset_of!(rknn_matmul_tensor_attr, size), 324);
    assert_eq!(offset_of!(rknn_matmul_tensor_attr, r#type), 328);
    assert_eq!(size_of::<rknn_matmul_io_attr>(), 996);
    assert_eq!(offset_of!(rknn_matmul_io_attr, C), 664);
    assert_eq!(size_of::<rknn_matmul_info>(), 64);
    assert_eq!(offset_of!(rknn_matmul_info, r#type), 12);
    assert_eq!(offset_of!(rknn_matmul_info, B_layout), 16);
    assert_eq!(offset_of!(rknn_matmul_info, B_quant_type), 18);
    assert_eq!(offset_of!(rknn_matmul_info, AC_layout), 20);
    assert_eq!(offset_of!(rknn_matmul_info, AC_quant_type), 22);
    assert_eq!(offset_of!(rknn_matmul_info, iommu_domain_id), 24);
    assert_eq!(offset_of!(rknn_matmul_info, group_size), 28);
    assert_eq!(offset_of!(rknn_matmul_info, reserved), 30);
    assert_eq!(size_of::<rknn_matmul_shape>(), 12);
    assert_eq!(size_of::<rknn_quant_params>(), 288);
    assert_eq!(offset_of!(rknn_quant_params, zp), 272);
}

/// The SDK 2.3.x prototypes of what we export, redeclared after our
/// header, plus its struct layouts and enum values as the SDK has them.
const C_SRC: &str = r#"
#include "rknn_matmul_api.h"
#include <stddef.h>
#ifdef __cplusplus
#define SA(e) static_assert(e, #e)
extern "C" {
#else
#define SA(e) _Static_assert(e, #e)
#endif
int rknn_matmul_create(rknn_matmul_ctx* ctx, rknn_matmul_info* info, rknn_matmul_io_attr* io_attr);
int rknn_matmul_set_io_mem(rknn_matmul_ctx ctx, rknn_tensor_mem* mem, rknn_matmul_tensor_attr* attr);
int rknn_matmul_set_core_mask(rknn_matmul_ctx context, rknn_core_mask core_mask);
int rknn_matmul_run(rknn_matmul_ctx ctx);
int rknn_matmul_destroy(rknn_matmul_ctx ctx);
rknn_tensor_mem* rknn_create_mem(rknn_context ctx, uint32_t size);
int rknn_destroy_mem(rknn_context ctx, rknn_tensor_mem* mem);
#ifdef __cplusplus
}
#endif
SA(sizeof(rknn_matmul_ctx) == sizeof(rknn_context));
SA(sizeof(struct _rknn_matmul_tensor_attr) == 332);
SA(offsetof(rknn_matmul_tensor_attr, size) == 324);
SA(offsetof(rknn_matmul_tensor_attr, type) == 328);
SA(sizeof(struct _rknn_matmul_io_attr) == 996);
SA(sizeof(struct rknn_matmul_info_t) == 64);
SA(offsetof(rknn_matmul_info, B_layout) == 16);
SA(offsetof(rknn_matmul_info, AC_layout) == 20);
SA(offsetof(rknn_matmul_info, iommu_domain_id) == 24);
SA(offsetof(rknn_matmul_info, group_size) == 28);
SA(offsetof(rknn_matmul_info, reserved) == 30);
SA(sizeof(struct _rknn_matmul_shape) == 12);
SA(sizeof(struct _rknn_quant_params) == 288);
SA(RKNN_FLOAT16_MM_FLOAT16_TO_FLOAT32 == 1 && RKNN_INT8_MM_INT8_TO_INT32 == 2 && RKNN_INT4_MM_INT4_TO_INT16 == 10);
SA(RKNN_FLOAT16_MM_INT4_TO_BFLOAT16 == 12 && RKNN_MM_LAYOUT_TP_NORM == 2 && RKNN_QUANT_TYPE_PER_GROUP_ASYM == 5);
int main(void) {
    enum _rknn_matmul_type t = RKNN_INT8_MM_INT8_TO_INT32;
    rknn_matmul_info info = {4, 64, 32, t, RKNN_MM_LAYOUT_NORM, 0, RKNN_MM_LAYOUT_NORM, 0, 0, 0, {0}};
    return info.M == 4 ? 0 : 1;
}
"#;

fn compile(cxx: bool) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rknn_matmul");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let src = dir.join("matmul_protos.c");
    std::fs::write(&src, C_SRC).expect("write C source");
    let var = if cxx { "CXX" } else { "CC" };
    let cc = std::env::var(var).ok().filter(|s| !s.is_empty());
    let mut cmd = Command::new(cc.unwrap_or_else(|| if cxx { "c++" } else { "cc" }.into()));
    if cxx {
        cmd.args(["-x", "c++", "-std=c++11"]);
    } else {
        cmd.arg("-std=c11");
    }
    let out = cmd
        .args(["-Wall", "-Wextra", "-Werror", "-Wpedantic", "-fsyntax-only", "-I"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("include"))
        .arg(&src)
        .output()
        .expect("run the compiler");
    assert!(out.status.success(), "{var} failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn header_redeclares_the_sdk_prototypes_in_c11() {
    compile(false);
}

#[test]
fn header_redeclares_the_sdk_prototypes_in_cxx11() {
    compile(true);
}
