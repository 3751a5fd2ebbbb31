//! `rknn_api.h` functions: contexts, tensor memory, cache sync and the
//! bindings of memory to a context. Model execution answers
//! `RKNN_ERR_MODEL_INVALID`: no model runs here.
#![allow(non_snake_case, clippy::missing_safety_doc)]

use super::rknn_api::*;
use super::{log, state, Backing, Ctx, Mapping, Mem, MAP_RKNN};
use crate::engine::{self, attr, AllocReq, Device, SyncDir};
use crate::ffi::guard;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::{AsRawFd, BorrowedFd};

const FLAGS_ALLOC_INSIDE: u32 = rknn_tensor_mem_flags::RKNN_TENSOR_MEMORY_FLAGS_ALLOC_INSIDE as u32;
const FLAGS_FROM_FD: u32 = rknn_tensor_mem_flags::RKNN_TENSOR_MEMORY_FLAGS_FROM_FD as u32;
const FLAGS_FROM_PHYS: u32 = rknn_tensor_mem_flags::RKNN_TENSOR_MEMORY_FLAGS_FROM_PHYS as u32;

const INIT_FLAGS: u32 = 0x0003_FFFF;

fn ctx_ok(ctx: rknn_context) -> Result<(), c_int> {
    if state().ctxs.contains_key(&ctx) {
        Ok(())
    } else {
        Err(RKNN_ERR_CTX_INVALID)
    }
}

/// Allocate a DMA buffer, map it and export its fd; returns the memory
/// struct. `sram`: from the NPU's SRAM, `sram_fallback`: DDR if SRAM is
/// short.
fn create_inside(
    ctx: rknn_context,
    size: u64,
    cached: bool,
    sram: bool,
    no_context: bool,
    name: &str,
) -> Result<*mut rknn_tensor_mem, String> {
    if size == 0 || size > u32::MAX as u64 {
        return Err(format!("invalid size {size}"));
    }
    let ddr =
        || -> Result<(&'static Device, Option<String>), String> { Ok((engine::global().map_err(|e| e.to_string())?, super::dma_zone())) };
    let mut choices = Vec::new();
    if sram {
        if let Ok(npu) = super::npu() {
            choices.push((npu, Some("sram".to_string())));
        }
    }
    choices.push(ddr()?);
    let mut last = String::from("no memory");
    for (dev, zone) in choices {
        let req = AllocReq {
            zone: zone.as_deref(),
            size,
            align: 0,
            attrs: if cached { attr::CACHED } else { 0 },
            name,
        };
        let b = match dev.alloc(&req) {
            Ok(b) => b,
            Err(e) => {
                last = format!("allocating {size} bytes: {e}");
                continue;
            }
        };
        let res = (|| {
            let m = dev.map(b.id, 0, size, cached, MAP_RKNN)?;
            let fd = dev.export_fd(b.id)?;
            Ok::<_, crate::Error>((m, fd))
        })();
        let (m, fd) = match res {
            Ok(x) => x,
            Err(e) => {
                let _ = dev.free(b.id);
                return Err(e.to_string());
            }
        };
        let phys = dev.device_addr(b.id).unwrap_or(b.phys);
        let mem = Box::into_raw(Box::new(rknn_tensor_mem {
            virt_addr: m.addr as *mut c_void,
            phys_addr: phys,
            fd: fd.as_raw_fd(),
            offset: 0,
            size: size as u32,
            flags: FLAGS_ALLOC_INSIDE,
            priv_data: std::ptr::null_mut(),
        }));
        state().mems.insert(
            mem as usize,
            Mem {
                ctx,
                no_context,
                backing: Backing::Inside {
                    dev,
                    buf: b.id,
                    _fd: fd,
                    cached,
                },
            },
        );
        return Ok(mem);
    }
    Err(last)
}

/// Allocate `size` bytes of cacheable NPU memory, mapped, with a dma-buf
/// fd. NULL on failure.
#[no_mangle]
pub unsafe extern "C" fn rknn_create_mem(ctx: rknn_context, size: u32) -> *mut rknn_tensor_mem {
    guard(std::ptr::null_mut(), || {
        if ctx_ok(ctx).is_err() {
            log("rknn_create_mem: invalid context");
            return std::ptr::null_mut();
        }
        create_inside(ctx, size as u64, true, false, false, "rknn_mem").unwrap_or_else(|e| {
            log(&format!("rknn_create_mem: {e}"));
            std::ptr::null_mut()
        })
    })
}

/// Allocate with `RKNN_FLAG_MEMORY_*` flags: cacheable (default),
/// non-cacheable, try SRAM first; `RKNN_MEM_FLAG_ALLOC_NO_CONTEXT` allows
/// `ctx` 0.
#[no_mangle]
pub unsafe extern "C" fn rknn_create_mem2(ctx: rknn_context, size: u64, alloc_flags: u64) -> *mut rknn_tensor_mem {
    guard(std::ptr::null_mut(), || {
        let no_context = alloc_flags & RKNN_MEM_FLAG_ALLOC_NO_CONTEXT as u64 != 0;
        if !no_context && ctx_ok(ctx).is_err() {
            log("rknn_create_mem2: invalid context");
            return std::ptr::null_mut();
        }
        let known = 0x7 | RKNN_MEM_FLAG_ALLOC_NO_CONTEXT as u64;
        let cacheable = alloc_flags & 1 != 0;
        let non_cacheable = alloc_flags & 2 != 0;
        if alloc_flags & !known != 0 || (cacheable && non_cacheable) {
            log(&format!("rknn_create_mem2: invalid flags {alloc_flags:#x}"));
            return std::ptr::null_mut();
        }
        let sram = alloc_flags & 4 != 0;
        let name = if sram { "rknn_mem_sram" } else { "rknn_mem" };
        create_inside(ctx, size, !non_cacheable, sram, no_context, name).unwrap_or_else(|e| {
            log(&format!("rknn_create_mem2: {e}"));
            std::ptr::null_mut()
        })
    })
}

/// Size of what `fd` refers to, if it can be told (files, memfds).
fn fd_size(fd: BorrowedFd<'_>) -> Option<u64> {
    // SAFETY: fstat into a zeroed struct on a borrowed, open fd.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return None;
    }
    Some(st.st_size as u64)
}

/// Wrap `size` bytes at `offset` of a dma-buf-like fd (one of this
/// library's buffers from any API, or any mappable fd such as a memfd).
/// `virt_addr` is the fd's start in this process; NULL maps it here.
#[no_mangle]
pub unsafe extern "C" fn rknn_create_mem_from_fd(
    ctx: rknn_context,
    fd: i32,
    virt_addr: *mut c_void,
    size: u32,
    offset: i32,
) -> *mut rknn_tensor_mem {
    guard(std::ptr::null_mut(), || {
        let fail = |m: &str| {
            log(&format!("rknn_create_mem_from_fd: {m}"));
            std::ptr::null_mut()
        };
        if ctx_ok(ctx).is_err() {
            return fail("invalid context");
        }
        if fd < 0 || size == 0 || offset < 0 {
            return fail("invalid fd, size or offset");
        }
        // SAFETY: fd >= 0 and is only borrowed for this call.
        let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
        let Some(total) = fd_size(bfd) else { return fail("fd is not open") };
        let end = offset as u64 + size as u64;
        let Ok(dev) = engine::global() else { return fail("no device") };
        let ours = dev.find_fd(bfd).ok();
        let limit = ours.as_ref().map_or(total, |b| b.size);
        if end > limit {
            return fail(&format!("offset {offset} + size {size} past the end ({limit} bytes)"));
        }
        if ours.is_none() {
            // Only memory that can be mapped is memory the NPU can import.
            // SAFETY: a one-page probe mapping of the caller's fd, undone at once.
            let p = unsafe { libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ, libc::MAP_SHARED, fd, 0) };
            if p == libc::MAP_FAILED {
                return fail("fd cannot be mapped: not a dma-buf or shared-memory fd");
            }
            // SAFETY: the probe mapping just made.
            unsafe { libc::munmap(p, 4096) };
        }
        let Ok(dup) = bfd.try_clone_to_owned() else {
            return fail("cannot duplicate fd");
        };
        // Device address: our buffer's own, or an IOVA for foreign memory.
        let (phys, iova) = match &ours {
            Some(b) => (b.phys, None),
            None => {
                let npu = match super::npu() {
                    Ok(n) => n,
                    Err(e) => return fail(&e.to_string()),
                };
                match npu.reserve(&AllocReq {
                    zone: Some("iova"),
                    size: end,
                    name: "rknn_import",
                    ..AllocReq::default()
                }) {
                    Ok(r) => (r.phys, Some(r)),
                    Err(e) => return fail(&e.to_string()),
                }
            }
        };
        let undo_iova = |iova: &Option<engine::BufInfo>| {
            if let (Some(r), Ok(npu)) = (iova, super::npu()) {
                let _ = npu.free(r.id);
            }
        };
        let (virt, map) = if !virt_addr.is_null() {
            (virt_addr, None)
        } else if let Some(b) = &ours {
            match dev.map(b.id, 0, end, b.attrs & attr::CACHED != 0, MAP_RKNN) {
                Ok(m) => (m.addr as *mut c_void, Some(Mapping::Engine { addr: m.addr, buf: b.id })),
                Err(e) => {
                    undo_iova(&iova);
                    return fail(&e.to_string());
                }
            }
        } else {
            // SAFETY: mapping `end` bytes of a file the caller says has them
            // (checked against its size above).
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    end as usize,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_SHARED,
                    fd,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                undo_iova(&iova);
                return fail(&format!("mmap: {}", std::io::Error::last_os_error()));
            }
            (
                p,
                Some(Mapping::Raw {
                    addr: p as usize,
                    len: end as usize,
                }),
            )
        };
        let mem = Box::into_raw(Box::new(rknn_tensor_mem {
            virt_addr: virt,
            phys_addr: phys,
            fd: dup.as_raw_fd(),
            offset,
            size,
            flags: FLAGS_FROM_FD,
            priv_data: std::ptr::null_mut(),
        }));
        state().mems.insert(
            mem as usize,
            Mem {
                ctx,
                no_context: false,
                backing: Backing::FromFd {
                    _fd: dup,
                    map,
                    iova: iova.map(|r| r.id),
                    src: ours.map(|b| b.id),
                },
            },
        );
        mem
    })
}

/// Wrap `size` bytes at a physical address inside a buffer of the shared
/// device (an MMZ block, say). `virt_addr` NULL maps it here.
#[no_mangle]
pub unsafe extern "C" fn rknn_create_mem_from_phys(
    ctx: rknn_context,
    phys_addr: u64,
    virt_addr: *mut c_void,
    size: u32,
) -> *mut rknn_tensor_mem {
    guard(std::ptr::null_mut(), || {
        let fail = |m: &str| {
            log(&format!("rknn_create_mem_from_phys: {m}"));
            std::ptr::null_mut()
        };
        if ctx_ok(ctx).is_err() {
            return fail("invalid context");
        }
        if size == 0 {
            return fail("invalid size");
        }
        let Ok(dev) = engine::global() else { return fail("no device") };
        let Ok((b, off)) = dev.find_phys(phys_addr) else {
            return fail(&format!("{phys_addr:#x} is not device memory"));
        };
        if off + size as u64 > b.size || b.attrs & attr::FOREIGN != 0 {
            return fail("range runs past its buffer");
        }
        let (virt, map) = if virt_addr.is_null() {
            match dev.map(b.id, off, size as u64, b.attrs & attr::CACHED != 0, MAP_RKNN) {
                Ok(m) => (m.addr as *mut c_void, Some(Mapping::Engine { addr: m.addr, buf: b.id })),
                Err(e) => return fail(&e.to_string()),
            }
        } else {
            if dev.find_addr(virt_addr as usize).is_ok_and(|m| m.phys != phys_addr) {
                return fail("virt_addr maps another physical address");
            }
            (virt_addr, None)
        };
        let mem = Box::into_raw(Box::new(rknn_tensor_mem {
            virt_addr: virt,
            phys_addr,
            fd: -1,
            offset: 0,
            size,
            flags: FLAGS_FROM_PHYS,
            priv_data: std::ptr::null_mut(),
        }));
        state().mems.insert(
            mem as usize,
            Mem {
                ctx,
                no_context: false,
                backing: Backing::FromPhys { map },
            },
        );
        mem
    })
}

/// Rockchip MPP `MB_BLK` memory is not emulated: NULL.
#[no_mangle]
pub unsafe extern "C" fn rknn_create_mem_from_mb_blk(ctx: rknn_context, mb_blk: *mut c_void, offset: i32) -> *mut rknn_tensor_mem {
    guard(std::ptr::null_mut(), || {
        let _ = (ctx, mb_blk, offset);
        log("rknn_create_mem_from_mb_blk: MPP buffers are not supported by accelmem");
        std::ptr::null_mut()
    })
}

fn unmap(m: Option<Mapping>) {
    match m {
        Some(Mapping::Engine { addr, buf }) => {
            if let Ok(d) = engine::global() {
                // Only if the address still maps that buffer: a freed
                // buffer's mapping is gone and the address may be reused.
                if d.mapping_at(addr).is_ok_and(|m| m.buf == buf) {
                    let _ = d.unmap(addr, MAP_RKNN);
                }
            }
        }
        Some(Mapping::Raw { addr, len }) => {
            // SAFETY: a mapping this front made and nothing else owns.
            unsafe { libc::munmap(addr as *mut c_void, len) };
        }
        None => {}
    }
}

/// Undo what a memory's backing holds: buffers made inside are freed;
/// wrapped memory is only unwrapped.
fn release(b: Backing) {
    match b {
        Backing::Inside { dev, buf, .. } => {
            // Freeing the buffer drops our mapping; the fd closes on drop.
            let _ = dev.free(buf);
        }
        Backing::FromFd { map, iova, .. } => {
            unmap(map);
            if let (Some(r), Ok(npu)) = (iova, super::npu()) {
                let _ = npu.free(r);
            }
        }
        Backing::FromPhys { map } => unmap(map),
    }
}

/// Destroy a tensor memory made by any `rknn_create_mem*`, through any
/// context (or any context value for `RKNN_MEM_FLAG_ALLOC_NO_CONTEXT`
/// memory).
#[no_mangle]
pub unsafe extern "C" fn rknn_destroy_mem(ctx: rknn_context, mem: *mut rknn_tensor_mem) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if mem.is_null() {
            return RKNN_ERR_PARAM_INVALID;
        }
        let mut st = state();
        let Some(m) = st.mems.get(&(mem as usize)) else {
            drop(st);
            log("rknn_destroy_mem: not a tensor memory of this runtime (double destroy?)");
            return RKNN_ERR_PARAM_INVALID;
        };
        if !m.no_context && !st.ctxs.contains_key(&ctx) {
            return RKNN_ERR_CTX_INVALID;
        }
        if st.ctxs.values().any(|c| c.own.contains(&(mem as usize))) {
            // The runtime's own weight/internal memory goes with rknn_destroy.
            return RKNN_ERR_PARAM_INVALID;
        }
        let now = st.take(mem as usize);
        let later = st.reap_zombies();
        drop(st);
        now.into_iter().chain(later).for_each(release);
        // SAFETY: the struct was made by Box::into_raw in a create call and
        // is removed from the table, so this is its only release.
        drop(unsafe { Box::from_raw(mem) });
        RKNN_SUCC
    })
}

/// Cache maintenance: `RKNN_MEMORY_SYNC_TO_DEVICE` after CPU writes,
/// `_FROM_DEVICE` before CPU reads of device output, or both. Memory
/// wrapped from another allocator has no NPU cache object here:
/// `RKNN_ERR_FAIL`, as the kernel refuses to sync objects it did not
/// allocate cacheable; a view (`rknn_create_mem_from_fd`) of this
/// runtime's own cacheable memory syncs.
#[no_mangle]
pub unsafe extern "C" fn rknn_mem_sync(context: rknn_context, mem: *mut rknn_tensor_mem, mode: rknn_mem_sync_mode_t) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if mem.is_null() || !(1..=3).contains(&mode) {
            return RKNN_ERR_PARAM_INVALID;
        }
        let st = state();
        let Some(m) = st.mems.get(&(mem as usize)) else {
            return RKNN_ERR_PARAM_INVALID;
        };
        if !m.no_context && !st.ctxs.contains_key(&context) {
            return RKNN_ERR_CTX_INVALID;
        }
        let inside = |id: crate::engine::BufId| {
            st.mems.values().find_map(|m| match &m.backing {
                Backing::Inside { dev, buf, cached, .. } if *buf == id => Some((*dev, *buf, *cached)),
                _ => None,
            })
        };
        // A view (from its fd) of memory this runtime made is that same
        // NPU object, and syncs like it.
        let found = match &m.backing {
            Backing::Inside { dev, buf, cached, .. } => Some((*dev, *buf, *cached)),
            Backing::FromFd { src: Some(id), .. } => inside(*id),
            _ => None,
        };
        let Some((dev, buf, cached)) = found else {
            drop(st);
            log("rknn_mem_sync: wrapped memory has no NPU cache object to sync");
            return RKNN_ERR_FAIL;
        };
        drop(st);
        if !cached {
            log("rknn_mem_sync: memory is not cacheable");
            return RKNN_ERR_FAIL;
        }
        // SAFETY: the struct is live (it is in the table).
        let (off, len) = unsafe { ((*mem).offset.max(0) as u64, (*mem).size as u64) };
        let dir = match mode {
            1 => SyncDir::ToDevice,
            2 => SyncDir::FromDevice,
            _ => SyncDir::Both,
        };
        match dev.sync(buf, off, len, dir) {
            Ok(()) => RKNN_SUCC,
            Err(_) => RKNN_ERR_PARAM_INVALID,
        }
    })
}

/// The usable length of a memory (size; offset lies inside it).
fn mem_len(mem: *mut rknn_tensor_mem) -> Option<u64> {
    if mem.is_null() || !state().mems.contains_key(&(mem as usize)) {
        return None;
    }
    // SAFETY: the struct is live (it is in the table).
    Some(unsafe { (*mem).size as u64 })
}

/// Bind memory as an input or output tensor (by `attr->index`). It must
/// hold `attr->size_with_stride` (or `attr->size`) bytes.
#[no_mangle]
pub unsafe extern "C" fn rknn_set_io_mem(ctx: rknn_context, mem: *mut rknn_tensor_mem, attr: *mut rknn_tensor_attr) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if let Err(e) = ctx_ok(ctx) {
            return e;
        }
        // SAFETY: caller passes NULL or a valid attr.
        let Some(a) = (unsafe { attr.as_ref() }) else {
            return RKNN_ERR_PARAM_INVALID;
        };
        let Some(len) = mem_len(mem) else { return RKNN_ERR_PARAM_INVALID };
        let need = if a.size_with_stride != 0 { a.size_with_stride } else { a.size };
        if (need as u64) > len {
            log(&format!("rknn_set_io_mem: tensor {} needs {need} bytes, memory has {len}", a.index));
            return RKNN_ERR_PARAM_INVALID;
        }
        if let Some(c) = state().ctxs.get_mut(&ctx) {
            c.bound.insert((0, a.index), mem as usize);
        }
        RKNN_SUCC
    })
}

fn set_model_mem(ctx: rknn_context, mem: *mut rknn_tensor_mem, weight: bool) -> c_int {
    let what = if weight { "weight" } else { "internal" };
    let (flags, need, model) = match state().ctxs.get(&ctx) {
        Some(c) => (
            c.flags,
            if weight { c.weight_size } else { c.internal_size },
            weight.then(|| c.model.clone()),
        ),
        None => return RKNN_ERR_CTX_INVALID,
    };
    let outside = RKNN_FLAG_MEM_ALLOC_OUTSIDE | if weight { 0 } else { RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE };
    if flags & outside == 0 {
        log(&format!(
            "You must set RKNN_FLAG_MEM_ALLOC_OUTSIDE on rknn_init() if you want to call rknn_set_{what}_mem!"
        ));
        return RKNN_ERR_FAIL;
    }
    let Some(len) = mem_len(mem) else { return RKNN_ERR_PARAM_INVALID };
    if len < need as u64 {
        log(&format!(
            "rknn_set_{what}_mem: needs {need} bytes (RKNN_QUERY_MEM_SIZE), memory has {len}"
        ));
        return RKNN_ERR_PARAM_INVALID;
    }
    if let Some(m) = model {
        // The runtime loads the weights into the weight memory.
        // SAFETY: the memory is live and at least weight_size bytes long
        // from virt_addr + offset, which is where clients address it.
        unsafe {
            let dst = ((*mem).virt_addr as *mut u8).add((*mem).offset.max(0) as usize);
            std::ptr::copy_nonoverlapping(m.as_ptr(), dst, m.len().min(need as usize));
        }
    }
    if let Some(c) = state().ctxs.get_mut(&ctx) {
        c.bound.insert((if weight { 1 } else { 2 }, 0), mem as usize);
    }
    RKNN_SUCC
}

/// Bind the weight memory of a context made with
/// `RKNN_FLAG_MEM_ALLOC_OUTSIDE`; the model's weights are copied into it.
#[no_mangle]
pub unsafe extern "C" fn rknn_set_weight_mem(ctx: rknn_context, mem: *mut rknn_tensor_mem) -> c_int {
    guard(RKNN_ERR_FAIL, || set_model_mem(ctx, mem, true))
}

/// Bind the internal (intermediate) memory of a context made with
/// `RKNN_FLAG_MEM_ALLOC_OUTSIDE` or `RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE`.
#[no_mangle]
pub unsafe extern "C" fn rknn_set_internal_mem(ctx: rknn_context, mem: *mut rknn_tensor_mem) -> c_int {
    guard(RKNN_ERR_FAIL, || set_model_mem(ctx, mem, false))
}

/// Create a memory-only context. `size` > 0: `model` is the model data;
/// `size` == 0: `model` is a file path. The model is kept as the context's
/// weights (not parsed). Unless `RKNN_FLAG_MEM_ALLOC_OUTSIDE`, weight and
/// internal memory are allocated now (internal in SRAM first with
/// `RKNN_FLAG_ENABLE_SRAM`).
#[no_mangle]
pub unsafe extern "C" fn rknn_init(
    context: *mut rknn_context,
    model: *mut c_void,
    size: u32,
    flag: u32,
    extend: *mut rknn_init_extend,
) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = extend;
        if context.is_null() || model.is_null() || flag & !INIT_FLAGS != 0 {
            return RKNN_ERR_PARAM_INVALID;
        }
        let blob = if size > 0 {
            // SAFETY: caller passes `size` readable bytes.
            unsafe { std::slice::from_raw_parts(model as *const u8, size as usize) }.to_vec()
        } else {
            // SAFETY: with size 0, `model` is a NUL-terminated path.
            let path = unsafe { CStr::from_ptr(model as *const c_char) };
            match std::fs::read(std::ffi::OsStr::new(&*path.to_string_lossy())) {
                Ok(b) if !b.is_empty() => b,
                _ => {
                    log(&format!("rknn_init: cannot read model file {path:?}"));
                    return RKNN_ERR_MODEL_INVALID;
                }
            }
        };
        let Ok(weight_size) = u32::try_from(blob.len()) else {
            return RKNN_ERR_MODEL_INVALID;
        };
        let ctx = super::next_ctx();
        let mut c = Ctx {
            flags: flag,
            model: blob,
            weight_size,
            internal_size: super::internal_size(),
            own: Vec::new(),
            bound: Default::default(),
        };
        let outside = flag & RKNN_FLAG_MEM_ALLOC_OUTSIDE != 0;
        let info_only = flag & RKNN_FLAG_COLLECT_MODEL_INFO_ONLY != 0;
        let mut made = Vec::new();
        if !outside && !info_only {
            let sram = flag & RKNN_FLAG_ENABLE_SRAM != 0;
            let weights = match create_inside(ctx, weight_size as u64, true, false, false, "rknn_weight") {
                Ok(m) => m,
                Err(e) => {
                    log(&format!("rknn_init: {e}"));
                    return RKNN_ERR_MALLOC_FAIL;
                }
            };
            made.push(weights);
            if flag & RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE == 0 && c.internal_size > 0 {
                match create_inside(ctx, c.internal_size as u64, true, sram, false, "rknn_internal") {
                    Ok(m) => made.push(m),
                    Err(e) => {
                        log(&format!("rknn_init: {e}"));
                        if let Some(mm) = state().mems.remove(&(weights as usize)) {
                            release(mm.backing);
                            // SAFETY: made by create_inside just now.
                            drop(unsafe { Box::from_raw(weights) });
                        }
                        return RKNN_ERR_MALLOC_FAIL;
                    }
                }
            }
            // SAFETY: the weight memory is weight_size bytes, just mapped.
            unsafe { std::ptr::copy_nonoverlapping(c.model.as_ptr(), (*made[0]).virt_addr as *mut u8, c.model.len()) };
            c.own = made.iter().map(|&m| m as usize).collect();
        }
        state().ctxs.insert(ctx, c);
        // SAFETY: checked non-NULL.
        unsafe { *context = ctx };
        RKNN_SUCC
    })
}

/// A second context over the same model: it shares the first one's
/// weights and gets internal memory of its own (unless the first was made
/// with `RKNN_FLAG_MEM_ALLOC_OUTSIDE`).
#[no_mangle]
pub unsafe extern "C" fn rknn_dup_context(context_in: *mut rknn_context, context_out: *mut rknn_context) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if context_in.is_null() || context_out.is_null() {
            return RKNN_ERR_PARAM_INVALID;
        }
        // SAFETY: checked non-NULL.
        let src = unsafe { *context_in };
        let (flags, model, internal_size) = match state().ctxs.get(&src) {
            Some(c) => (c.flags, c.model.clone(), c.internal_size),
            None => return RKNN_ERR_CTX_INVALID,
        };
        let ctx = super::next_ctx();
        let mut own = Vec::new();
        if flags & (RKNN_FLAG_MEM_ALLOC_OUTSIDE | RKNN_FLAG_INTERNAL_ALLOC_OUTSIDE | RKNN_FLAG_COLLECT_MODEL_INFO_ONLY) == 0
            && internal_size > 0
        {
            let sram = flags & RKNN_FLAG_ENABLE_SRAM != 0;
            match create_inside(ctx, internal_size as u64, true, sram, false, "rknn_internal") {
                Ok(m) => own.push(m as usize),
                Err(e) => {
                    log(&format!("rknn_dup_context: {e}"));
                    return RKNN_ERR_MALLOC_FAIL;
                }
            }
        }
        let weight_size = model.len() as u32;
        state().ctxs.insert(
            ctx,
            Ctx {
                flags,
                model,
                weight_size,
                internal_size,
                own,
                bound: Default::default(),
            },
        );
        // SAFETY: checked non-NULL.
        unsafe { *context_out = ctx };
        RKNN_SUCC
    })
}

/// Destroy a context and the memory the runtime allocated for it.
/// Memory the caller created with `rknn_create_mem*` stays until
/// `rknn_destroy_mem`.
#[no_mangle]
pub unsafe extern "C" fn rknn_destroy(context: rknn_context) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let Some(c) = state().ctxs.remove(&context) else {
            return RKNN_ERR_CTX_INVALID;
        };
        for m in c.own {
            let mut st = state();
            if st.mems.contains_key(&m) {
                let now = st.take(m);
                let later = st.reap_zombies();
                drop(st);
                now.into_iter().chain(later).for_each(release);
                // SAFETY: made by create_inside in rknn_init.
                drop(unsafe { Box::from_raw(m as *mut rknn_tensor_mem) });
            }
        }
        RKNN_SUCC
    })
}

fn put_str(dst: &mut [c_char], s: &str) {
    dst.fill(0);
    let n = dst.len() - 1;
    for (d, b) in dst.iter_mut().zip(s.bytes().take(n)) {
        *d = b as c_char;
    }
}

/// `RKNN_QUERY_MEM_SIZE` and `RKNN_QUERY_SDK_VERSION`; model queries answer
/// `RKNN_ERR_MODEL_INVALID` (no model is loaded).
#[no_mangle]
pub unsafe extern "C" fn rknn_query(context: rknn_context, cmd: rknn_query_cmd_t, info: *mut c_void, size: u32) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if let Err(e) = ctx_ok(context) {
            return e;
        }
        if info.is_null() {
            return RKNN_ERR_PARAM_INVALID;
        }
        match cmd {
            6 => {
                if (size as usize) < size_of::<rknn_mem_size>() {
                    log(&format!(
                        "rknn_query, info_len({size}) < sizeof(rknn_mem_size)({})!",
                        size_of::<rknn_mem_size>()
                    ));
                    return RKNN_ERR_PARAM_INVALID;
                }
                let st = state();
                let c = st.ctxs.get(&context).expect("checked");
                let dma: u64 = st
                    .mems
                    .iter()
                    .filter(|(_, m)| m.ctx == context)
                    .filter(|(_, m)| matches!(m.backing, Backing::Inside { .. }))
                    // SAFETY: live memories in the table.
                    .map(|(&p, _)| unsafe { (*(p as *const rknn_tensor_mem)).size as u64 })
                    .sum();
                let (w, i) = (c.weight_size, c.internal_size);
                drop(st);
                let (total_sram, free_sram) = super::sram_sizes();
                let v = rknn_mem_size {
                    total_weight_size: w,
                    total_internal_size: i,
                    total_dma_allocated_size: dma,
                    total_sram_size: total_sram,
                    free_sram_size: free_sram,
                    reserved: [0; 10],
                };
                // SAFETY: the caller's buffer holds at least sizeof(v).
                unsafe { (info as *mut rknn_mem_size).write_unaligned(v) };
                RKNN_SUCC
            }
            5 => {
                if (size as usize) < size_of::<rknn_sdk_version>() {
                    log(&format!(
                        "rknn_query, info_len({size}) < sizeof(rknn_sdk_version)({})!",
                        size_of::<rknn_sdk_version>()
                    ));
                    return RKNN_ERR_PARAM_INVALID;
                }
                let mut v = rknn_sdk_version {
                    api_version: [0; 256],
                    drv_version: [0; 256],
                };
                put_str(
                    &mut v.api_version,
                    &format!("2.3.2 (accelmem {} emulation)", env!("CARGO_PKG_VERSION")),
                );
                put_str(&mut v.drv_version, "0.9.8 (emulated)");
                // SAFETY: the caller's buffer holds at least sizeof(v).
                unsafe { (info as *mut rknn_sdk_version).write_unaligned(v) };
                RKNN_SUCC
            }
            c if c < rknn_query_cmd::RKNN_QUERY_CMD_MAX as u32 => RKNN_ERR_MODEL_INVALID,
            _ => RKNN_ERR_PARAM_INVALID,
        }
    })
}

fn model_call(context: rknn_context) -> c_int {
    match ctx_ok(context) {
        Ok(()) => {
            log("accelmem runs no models: memory-only context");
            RKNN_ERR_MODEL_INVALID
        }
        Err(e) => e,
    }
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_inputs_set(context: rknn_context, n_inputs: u32, inputs: *mut rknn_input) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = (n_inputs, inputs);
        model_call(context)
    })
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_run(context: rknn_context, extend: *mut rknn_run_extend) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = extend;
        model_call(context)
    })
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_wait(context: rknn_context, extend: *mut rknn_run_extend) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = extend;
        model_call(context)
    })
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_outputs_get(
    context: rknn_context,
    n_outputs: u32,
    outputs: *mut rknn_output,
    extend: *mut rknn_output_extend,
) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = (n_outputs, outputs, extend);
        model_call(context)
    })
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_outputs_release(context: rknn_context, n_ouputs: u32, outputs: *mut rknn_output) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = (n_ouputs, outputs);
        model_call(context)
    })
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_set_input_shape(ctx: rknn_context, attr: *mut rknn_tensor_attr) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = attr;
        model_call(ctx)
    })
}

/// Not run here: `RKNN_ERR_MODEL_INVALID`.
#[no_mangle]
pub unsafe extern "C" fn rknn_set_input_shapes(ctx: rknn_context, n_inputs: u32, attr: *mut rknn_tensor_attr) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        let _ = (n_inputs, attr);
        model_call(ctx)
    })
}

/// Record the core mask (no cores run here).
#[no_mangle]
pub unsafe extern "C" fn rknn_set_core_mask(context: rknn_context, core_mask: rknn_core_mask_t) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if let Err(e) = ctx_ok(context) {
            return e;
        }
        if !matches!(core_mask, 0 | 1 | 2 | 3 | 4 | 7 | 0xffff) {
            return RKNN_ERR_PARAM_INVALID;
        }
        RKNN_SUCC
    })
}

/// Record the batch core count (no cores run here).
#[no_mangle]
pub unsafe extern "C" fn rknn_set_batch_core_num(context: rknn_context, core_num: c_int) -> c_int {
    guard(RKNN_ERR_FAIL, || {
        if let Err(e) = ctx_ok(context) {
            return e;
        }
        if !(1..=3).contains(&core_num) {
            return RKNN_ERR_PARAM_INVALID;
        }
        RKNN_SUCC
    })
}
