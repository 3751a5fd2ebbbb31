//! `cuda_runtime_api.h`: the CUDA runtime's memory, device, stream, event
//! and error functions, with every name the linker sees (`_v2`, `_ptds`,
//! `_ptsz`).
#![allow(non_snake_case, non_camel_case_types, clippy::missing_safety_doc)]

use super::driver_types::cudaError::*;
use super::driver_types::*;
use super::{call, cuda_err, fault, gpu, state, Event, Kind, Stream, R};
use std::ffi::{c_char, c_float, c_int, c_uint, c_void};
use std::time::Instant;

/// `enum cudaMemcpyKind` as passed by C (any value may arrive).
pub type cudaMemcpyKind_t = c_uint;
/// `enum cudaDeviceAttr` as passed by C.
pub type cudaDeviceAttr_t = c_uint;
/// `enum cudaMemPoolAttr` as passed by C.
pub type cudaMemPoolAttr_t = c_uint;

fn out<T>(p: *mut T, v: T) -> R {
    if p.is_null() {
        return Err(cudaErrorInvalidValue);
    }
    // SAFETY: non-NULL output pointer from the caller, who guarantees it is
    // writable as the API requires.
    unsafe { p.write(v) };
    Ok(())
}

// ---- device memory ----------------------------------------------------

/// Allocate `size` bytes of device memory (256-byte aligned, not cleared).
/// The pointer is not host memory: dereferencing it on the host faults.
#[no_mangle]
pub unsafe extern "C" fn cudaMalloc(devPtr: *mut *mut c_void, size: usize) -> cudaError_t {
    call(|| {
        let g = super::current()?;
        if devPtr.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        if size == 0 {
            return out(devPtr, std::ptr::null_mut());
        }
        let a = super::allocate(g, size, Kind::Device, 0)?;
        out(devPtr, a as *mut c_void)
    })
}

/// Free memory from `cudaMalloc`, `cudaMallocPitch`, `cudaMallocManaged`
/// or `cudaMallocAsync`. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn cudaFree(devPtr: *mut c_void) -> cudaError_t {
    call(|| {
        super::current()?;
        if devPtr.is_null() {
            return Ok(());
        }
        super::release(devPtr as usize, |a| a.kind != Kind::Host)
    })
}

/// Allocate `height` rows of `width` bytes, each row padded to `*pitch`
/// (a multiple of 512 bytes).
#[no_mangle]
pub unsafe extern "C" fn cudaMallocPitch(devPtr: *mut *mut c_void, pitch: *mut usize, width: usize, height: usize) -> cudaError_t {
    call(|| {
        let g = super::current()?;
        if devPtr.is_null() || pitch.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let p = width
            .checked_next_multiple_of(super::PITCH_ALIGN)
            .ok_or(cudaErrorMemoryAllocation)?;
        let size = p.checked_mul(height).ok_or(cudaErrorMemoryAllocation)?;
        if size == 0 {
            out(pitch, p)?;
            return out(devPtr, std::ptr::null_mut());
        }
        let a = super::allocate(g, size, Kind::Pitch, 0)?;
        out(pitch, p)?;
        out(devPtr, a as *mut c_void)
    })
}

/// Allocate managed memory, usable from host and device alike.
#[no_mangle]
pub unsafe extern "C" fn cudaMallocManaged(devPtr: *mut *mut c_void, size: usize, flags: c_uint) -> cudaError_t {
    call(|| {
        let g = super::current()?;
        if devPtr.is_null() || size == 0 || (flags != cudaMemAttachGlobal && flags != cudaMemAttachHost) {
            return Err(cudaErrorInvalidValue);
        }
        let a = super::allocate(g, size, Kind::Managed, flags)?;
        out(devPtr, a as *mut c_void)
    })
}

/// Free and total device memory of the current device.
#[no_mangle]
pub unsafe extern "C" fn cudaMemGetInfo(free: *mut usize, total: *mut usize) -> cudaError_t {
    call(|| {
        let g = super::current()?;
        if free.is_null() || total.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let zones = g.dev.zones().map_err(cuda_err)?;
        let z = zones.iter().find(|z| z.name == "vram").ok_or(cudaErrorInitializationError)?;
        out(free, (z.size - z.used) as usize)?;
        out(total, z.size as usize)
    })
}

// ---- host memory ------------------------------------------------------

fn host_alloc(ptr: *mut *mut c_void, size: usize, flags: c_uint) -> R {
    let g = super::current()?;
    if ptr.is_null() || flags & !(cudaHostAllocPortable | cudaHostAllocMapped | cudaHostAllocWriteCombined) != 0 {
        return Err(cudaErrorInvalidValue);
    }
    if size == 0 {
        return out(ptr, std::ptr::null_mut());
    }
    let a = super::allocate(g, size, Kind::Host, flags)?;
    out(ptr, a as *mut c_void)
}

/// Allocate page-locked host memory.
#[no_mangle]
pub unsafe extern "C" fn cudaMallocHost(ptr: *mut *mut c_void, size: usize) -> cudaError_t {
    call(|| host_alloc(ptr, size, cudaHostAllocDefault))
}

/// Allocate page-locked host memory with `cudaHostAlloc*` flags.
#[no_mangle]
pub unsafe extern "C" fn cudaHostAlloc(pHost: *mut *mut c_void, size: usize, flags: c_uint) -> cudaError_t {
    call(|| host_alloc(pHost, size, flags))
}

/// Free memory from `cudaMallocHost`/`cudaHostAlloc`. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn cudaFreeHost(ptr: *mut c_void) -> cudaError_t {
    call(|| {
        super::current()?;
        if ptr.is_null() {
            return Ok(());
        }
        super::release(ptr as usize, |a| a.kind == Kind::Host)
    })
}

/// The device pointer of mapped host memory (the same address: unified
/// addressing).
#[no_mangle]
pub unsafe extern "C" fn cudaHostGetDevicePointer(pDevice: *mut *mut c_void, pHost: *mut c_void, flags: c_uint) -> cudaError_t {
    call(|| {
        super::current()?;
        if pDevice.is_null() || pHost.is_null() || flags != 0 {
            return Err(cudaErrorInvalidValue);
        }
        let st = state();
        let ok =
            matches!(st.containing(pHost as usize), Some((_, a)) if a.kind == Kind::Host) || st.registered_at(pHost as usize).is_some();
        drop(st);
        if !ok {
            return Err(cudaErrorInvalidValue);
        }
        out(pDevice, pHost)
    })
}

/// The flags `pHost`'s allocation or registration was made with.
#[no_mangle]
pub unsafe extern "C" fn cudaHostGetFlags(pFlags: *mut c_uint, pHost: *mut c_void) -> cudaError_t {
    call(|| {
        super::current()?;
        if pFlags.is_null() || pHost.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        // Only memory from cudaHostAlloc/cudaMallocHost has host-alloc flags.
        let f = match state().containing(pHost as usize) {
            Some((_, a)) if a.kind == Kind::Host => a.flags,
            _ => return Err(cudaErrorInvalidValue),
        };
        out(pFlags, f)
    })
}

/// Page-lock a range of ordinary host memory.
#[no_mangle]
pub unsafe extern "C" fn cudaHostRegister(ptr: *mut c_void, size: usize, flags: c_uint) -> cudaError_t {
    call(|| {
        super::current()?;
        let valid = cudaHostRegisterPortable | cudaHostRegisterMapped | cudaHostRegisterIoMemory | cudaHostRegisterReadOnly;
        if ptr.is_null() || size == 0 || flags & !valid != 0 || (ptr as usize).checked_add(size).is_none() {
            return Err(cudaErrorInvalidValue);
        }
        let (p, end) = (ptr as usize, ptr as usize + size);
        let mut st = state();
        // Allocations the range touches: pinned host memory counts as
        // registered already; device memory is not host memory at all.
        let first = st.containing(p).map(|(s, _)| s).unwrap_or(p);
        if let Some((_, a)) = st.allocs.range(first..end).next() {
            return Err(if a.kind == Kind::Host {
                cudaErrorHostMemoryAlreadyRegistered
            } else {
                cudaErrorInvalidValue
            });
        }
        let overlaps = st.registered.range(..end).next_back().is_some_and(|(&s, &(l, _))| s + l > p);
        if overlaps {
            return Err(cudaErrorHostMemoryAlreadyRegistered);
        }
        st.registered.insert(p, (size, flags));
        Ok(())
    })
}

/// Undo `cudaHostRegister` (by the start address it was given).
#[no_mangle]
pub unsafe extern "C" fn cudaHostUnregister(ptr: *mut c_void) -> cudaError_t {
    call(|| {
        super::current()?;
        if ptr.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        match state().registered.remove(&(ptr as usize)) {
            Some(_) => Ok(()),
            None => Err(cudaErrorHostMemoryNotRegistered),
        }
    })
}

/// What `ptr` points at. Plain host memory succeeds as unregistered.
#[no_mangle]
pub unsafe extern "C" fn cudaPointerGetAttributes(attributes: *mut cudaPointerAttributes, ptr: *const c_void) -> cudaError_t {
    call(|| {
        super::current()?;
        if attributes.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let p = ptr as *mut c_void;
        let st = state();
        let a = match st.containing(ptr as usize) {
            Some((_, a)) => {
                let (t, d, h) = match a.kind {
                    Kind::Device | Kind::Pitch | Kind::Async => (cudaMemoryType::cudaMemoryTypeDevice, p, std::ptr::null_mut()),
                    Kind::Managed => (cudaMemoryType::cudaMemoryTypeManaged, p, p),
                    Kind::Host => (cudaMemoryType::cudaMemoryTypeHost, p, p),
                };
                cudaPointerAttributes {
                    r#type: t as c_uint,
                    device: a.device,
                    devicePointer: d,
                    hostPointer: h,
                }
            }
            None if !ptr.is_null() && st.registered_at(ptr as usize).is_some() => cudaPointerAttributes {
                r#type: cudaMemoryType::cudaMemoryTypeHost as c_uint,
                device: super::CURRENT.with(std::cell::Cell::get),
                devicePointer: p,
                hostPointer: p,
            },
            // No pageable-memory access (pageableMemoryAccess = 0): CUDA
            // reports neither pointer for unregistered memory.
            None => cudaPointerAttributes {
                r#type: cudaMemoryType::cudaMemoryTypeUnregistered as c_uint,
                device: cudaInvalidDeviceId,
                devicePointer: std::ptr::null_mut(),
                hostPointer: std::ptr::null_mut(),
            },
        };
        drop(st);
        out(attributes, a)
    })
}

// ---- copies and fills -------------------------------------------------

/// A pointer resolved for `count` bytes: the CPU address to use, whether
/// only the device may touch it, and whether the device may.
struct View {
    cpu: usize,
    device_only: bool,
    device_ok: bool,
}

fn view(p: usize, count: usize) -> R<View> {
    if p == 0 {
        return Err(cudaErrorInvalidValue);
    }
    // The record lock is let go before the pools are asked.
    let (found, registered) = {
        let st = state();
        (st.containing(p), st.registered_at(p).is_some())
    };
    match found {
        Some((start, a)) => {
            let off = p - start;
            if count > a.len - off {
                return Err(cudaErrorInvalidValue);
            }
            let device_only = matches!(a.kind, Kind::Device | Kind::Pitch | Kind::Async);
            Ok(View {
                cpu: a.rw + off,
                device_only,
                device_ok: true,
            })
        }
        // Device memory of a pool but no live block (freed, or never
        // handed out): an invalid pointer, not host memory to copy into.
        None if super::in_pool_chunk(p) => Err(cudaErrorInvalidValue),
        None => Ok(View {
            cpu: p,
            device_only: false,
            device_ok: registered,
        }),
    }
}

/// Check the direction against where the pointers really are.
fn check_kind(kind: cudaMemcpyKind_t, dst: &View, src: &View) -> R {
    let ok = match kind {
        0 => !dst.device_only && !src.device_only,
        1 => dst.device_ok && !src.device_only,
        2 => src.device_ok && !dst.device_only,
        3 => dst.device_ok && src.device_ok,
        4 => true,
        _ => return Err(cudaErrorInvalidMemcpyDirection),
    };
    if ok {
        Ok(())
    } else {
        Err(cudaErrorInvalidValue)
    }
}

fn memcpy(dst: *mut c_void, src: *const c_void, count: usize, kind: cudaMemcpyKind_t) -> R {
    super::current()?;
    if kind > cudaMemcpyKind::cudaMemcpyDefault as c_uint {
        return Err(cudaErrorInvalidMemcpyDirection);
    }
    if count == 0 {
        return Ok(());
    }
    let d = view(dst as usize, count)?;
    let s = view(src as usize, count)?;
    check_kind(kind, &d, &s)?;
    // SAFETY: device-side ranges were checked against their allocations;
    // host-side ranges are the caller's promise, as with CUDA. Overlap is
    // allowed (memmove).
    unsafe { std::ptr::copy(s.cpu as *const u8, d.cpu as *mut u8, count) };
    Ok(())
}

fn memcpy2d(dst: *mut c_void, dpitch: usize, src: *const c_void, spitch: usize, width: usize, height: usize, kind: cudaMemcpyKind_t) -> R {
    super::current()?;
    if kind > cudaMemcpyKind::cudaMemcpyDefault as c_uint {
        return Err(cudaErrorInvalidMemcpyDirection);
    }
    if width > dpitch || width > spitch || dpitch > super::props::MEM_PITCH || spitch > super::props::MEM_PITCH {
        return Err(cudaErrorInvalidPitchValue);
    }
    if width == 0 || height == 0 {
        return Ok(());
    }
    let span = |pitch: usize| {
        pitch
            .checked_mul(height - 1)
            .and_then(|v| v.checked_add(width))
            .ok_or(cudaErrorInvalidValue)
    };
    let d = view(dst as usize, span(dpitch)?)?;
    let s = view(src as usize, span(spitch)?)?;
    check_kind(kind, &d, &s)?;
    for row in 0..height {
        // SAFETY: each row lies inside the spans checked above.
        unsafe { std::ptr::copy((s.cpu + row * spitch) as *const u8, (d.cpu + row * dpitch) as *mut u8, width) };
    }
    Ok(())
}

fn memset2d(p: *mut c_void, pitch: usize, value: c_int, width: usize, height: usize) -> R {
    super::current()?;
    // One row (cudaMemset) has no pitch to check.
    if width > pitch || (height > 1 && pitch > super::props::MEM_PITCH) {
        return Err(cudaErrorInvalidPitchValue);
    }
    if width == 0 || height == 0 {
        return Ok(());
    }
    let span = pitch
        .checked_mul(height - 1)
        .and_then(|v| v.checked_add(width))
        .ok_or(cudaErrorInvalidValue)?;
    let v = view(p as usize, span)?;
    if !v.device_ok {
        return Err(cudaErrorInvalidValue);
    }
    for row in 0..height {
        // SAFETY: the rows lie in the allocation's span checked above.
        unsafe { std::ptr::write_bytes((v.cpu + row * pitch) as *mut u8, value as u8, width) };
    }
    Ok(())
}

/// Copy `count` bytes; `kind` must match where the pointers are
/// (`cudaMemcpyDefault` infers it).
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpy(dst: *mut c_void, src: *const c_void, count: usize, kind: cudaMemcpyKind_t) -> cudaError_t {
    call(|| memcpy(dst, src, count, kind))
}

/// Copy a 2D region of `height` rows of `width` bytes between pitched
/// buffers.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpy2D(
    dst: *mut c_void,
    dpitch: usize,
    src: *const c_void,
    spitch: usize,
    width: usize,
    height: usize,
    kind: cudaMemcpyKind_t,
) -> cudaError_t {
    call(|| memcpy2d(dst, dpitch, src, spitch, width, height, kind))
}

/// Fill `count` bytes of device memory with `value`.
#[no_mangle]
pub unsafe extern "C" fn cudaMemset(devPtr: *mut c_void, value: c_int, count: usize) -> cudaError_t {
    call(|| {
        if count == 0 {
            return super::current().map(|_| ());
        }
        memset2d(devPtr, count, value, count, 1)
    })
}

/// Fill a pitched 2D region of device memory.
#[no_mangle]
pub unsafe extern "C" fn cudaMemset2D(devPtr: *mut c_void, pitch: usize, value: c_int, width: usize, height: usize) -> cudaError_t {
    call(|| memset2d(devPtr, pitch, value, width, height))
}

/// `cudaMemcpy` on a stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpyAsync(
    dst: *mut c_void,
    src: *const c_void,
    count: usize,
    kind: cudaMemcpyKind_t,
    stream: cudaStream_t,
) -> cudaError_t {
    call(|| {
        super::check_stream(stream)?;
        memcpy(dst, src, count, kind)
    })
}

/// `cudaMemcpy2D` on a stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpy2DAsync(
    dst: *mut c_void,
    dpitch: usize,
    src: *const c_void,
    spitch: usize,
    width: usize,
    height: usize,
    kind: cudaMemcpyKind_t,
    stream: cudaStream_t,
) -> cudaError_t {
    call(|| {
        super::check_stream(stream)?;
        memcpy2d(dst, dpitch, src, spitch, width, height, kind)
    })
}

/// `cudaMemset` on a stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemsetAsync(devPtr: *mut c_void, value: c_int, count: usize, stream: cudaStream_t) -> cudaError_t {
    call(|| {
        super::check_stream(stream)?;
        if count == 0 {
            return super::current().map(|_| ());
        }
        memset2d(devPtr, count, value, count, 1)
    })
}

/// `cudaMemset2D` on a stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemset2DAsync(
    devPtr: *mut c_void,
    pitch: usize,
    value: c_int,
    width: usize,
    height: usize,
    stream: cudaStream_t,
) -> cudaError_t {
    call(|| {
        super::check_stream(stream)?;
        memset2d(devPtr, pitch, value, width, height)
    })
}

// ---- stream-ordered allocation and pools ------------------------------

/// Allocate from the current device's memory pool, in stream order.
#[no_mangle]
pub unsafe extern "C" fn cudaMallocAsync(devPtr: *mut *mut c_void, size: usize, hStream: cudaStream_t) -> cudaError_t {
    call(|| {
        let g = super::current()?;
        super::check_stream(hStream)?;
        if devPtr.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        if size == 0 {
            return out(devPtr, std::ptr::null_mut());
        }
        let a = super::allocate_async(g, size)?;
        out(devPtr, a as *mut c_void)
    })
}

/// Allocate from `memPool` (the device's pool), in stream order.
#[no_mangle]
pub unsafe extern "C" fn cudaMallocFromPoolAsync(
    ptr: *mut *mut c_void,
    size: usize,
    memPool: cudaMemPool_t,
    stream: cudaStream_t,
) -> cudaError_t {
    call(|| {
        let g = super::gpu_of_pool(memPool)?;
        super::check_stream(stream)?;
        if ptr.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        if size == 0 {
            return out(ptr, std::ptr::null_mut());
        }
        let a = super::allocate_async(g, size)?;
        out(ptr, a as *mut c_void)
    })
}

/// Return memory to its pool, in stream order; the pool keeps it for
/// reuse until synchronisation trims it to the release threshold.
#[no_mangle]
pub unsafe extern "C" fn cudaFreeAsync(devPtr: *mut c_void, hStream: cudaStream_t) -> cudaError_t {
    call(|| {
        super::current()?;
        super::check_stream(hStream)?;
        if devPtr.is_null() {
            return Ok(());
        }
        super::release(devPtr as usize, |a| a.kind != Kind::Host)
    })
}

/// The default memory pool of `device`.
#[no_mangle]
pub unsafe extern "C" fn cudaDeviceGetDefaultMemPool(memPool: *mut cudaMemPool_t, device: c_int) -> cudaError_t {
    call(|| {
        let g = gpu(device)?;
        out(memPool, g.pool_handle())
    })
}

/// The current memory pool of `device` (always its default pool here).
#[no_mangle]
pub unsafe extern "C" fn cudaDeviceGetMemPool(memPool: *mut cudaMemPool_t, device: c_int) -> cudaError_t {
    call(|| {
        let g = gpu(device)?;
        out(memPool, g.pool_handle())
    })
}

/// Set a pool attribute: the release threshold (`cuuint64_t`), the reuse
/// policies (`int`), or reset a high-water mark (to 0).
#[no_mangle]
pub unsafe extern "C" fn cudaMemPoolSetAttribute(memPool: cudaMemPool_t, attr: cudaMemPoolAttr_t, value: *mut c_void) -> cudaError_t {
    call(|| {
        let g = super::gpu_of_pool(memPool)?;
        if value.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let mut p = g.pool();
        match attr {
            1..=3 => {
                // SAFETY: int-valued attribute; caller passes an int.
                let v = unsafe { *(value as *const c_int) };
                p.reuse[attr as usize - 1] = (v != 0) as c_int;
            }
            4 => {
                // SAFETY: cuuint64_t-valued attribute.
                p.threshold = unsafe { *(value as *const cuuint64_t) };
            }
            6 | 8 => {
                // SAFETY: cuuint64_t-valued attribute; only 0 may be set.
                if unsafe { *(value as *const cuuint64_t) } != 0 {
                    return Err(cudaErrorInvalidValue);
                }
                // Each mark resets alone.
                if attr == 6 {
                    p.sub.reset_reserved_high();
                } else {
                    p.sub.reset_used_high();
                }
            }
            _ => return Err(cudaErrorInvalidValue),
        }
        Ok(())
    })
}

/// Read a pool attribute.
#[no_mangle]
pub unsafe extern "C" fn cudaMemPoolGetAttribute(memPool: cudaMemPool_t, attr: cudaMemPoolAttr_t, value: *mut c_void) -> cudaError_t {
    call(|| {
        let g = super::gpu_of_pool(memPool)?;
        if value.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let p = g.pool();
        let (rh, uh) = p.sub.high();
        let v64 = match attr {
            1..=3 => return out(value as *mut c_int, p.reuse[attr as usize - 1]),
            4 => p.threshold,
            5 => p.sub.reserved(),
            6 => rh,
            7 => p.sub.used(),
            8 => uh,
            _ => return Err(cudaErrorInvalidValue),
        };
        out(value as *mut cuuint64_t, v64)
    })
}

/// Release pool memory until at most `minBytesToKeep` stay reserved
/// (memory in use always stays).
#[no_mangle]
pub unsafe extern "C" fn cudaMemPoolTrimTo(memPool: cudaMemPool_t, minBytesToKeep: usize) -> cudaError_t {
    call(|| {
        let g = super::gpu_of_pool(memPool)?;
        for (a, _) in g.pool().sub.trim_to(minBytesToKeep as u64) {
            fault::remove(a);
        }
        Ok(())
    })
}

// ---- devices ------------------------------------------------------------

/// Number of emulated GPUs.
#[no_mangle]
pub unsafe extern "C" fn cudaGetDeviceCount(count: *mut c_int) -> cudaError_t {
    call(|| {
        if super::device_count() == 0 {
            return Err(cudaErrorNoDevice);
        }
        out(count, super::device_count())
    })
}

/// Make `device` current for the calling thread.
#[no_mangle]
pub unsafe extern "C" fn cudaSetDevice(device: c_int) -> cudaError_t {
    call(|| super::set_current(device))
}

/// Flags for the current device: one scheduling policy
/// (`cudaDeviceScheduleAuto`/`Spin`/`Yield`/`BlockingSync`), optionally
/// `cudaDeviceMapHost` and `cudaDeviceLmemResizeToMax`. Host memory is
/// always mappable and there is nothing to schedule here, so valid flags
/// change nothing; others are `cudaErrorInvalidValue`.
#[no_mangle]
pub unsafe extern "C" fn cudaSetDeviceFlags(flags: c_uint) -> cudaError_t {
    call(|| {
        super::current()?;
        let sched = flags & cudaDeviceScheduleMask;
        let known = cudaDeviceScheduleMask | cudaDeviceMapHost | cudaDeviceLmemResizeToMax;
        if flags & !known != 0 || !matches!(sched, 0 | 1 | 2 | 4) {
            return Err(cudaErrorInvalidValue);
        }
        Ok(())
    })
}

/// The calling thread's current device.
#[no_mangle]
pub unsafe extern "C" fn cudaGetDevice(device: *mut c_int) -> cudaError_t {
    call(|| {
        super::current()?;
        out(device, super::CURRENT.with(std::cell::Cell::get))
    })
}

/// Properties of `device` (the 1032-byte CUDA 12 struct).
#[no_mangle]
pub unsafe extern "C" fn cudaGetDeviceProperties_v2(prop: *mut cudaDeviceProp, device: c_int) -> cudaError_t {
    call(|| {
        let g = gpu(device)?;
        out(prop, super::props::properties(g))
    })
}

/// Properties of `device` for binaries built against CUDA 11 headers, whose
/// struct ends after `reservedSharedMemPerBlock` (728 bytes): only those
/// bytes are written.
#[no_mangle]
pub unsafe extern "C" fn cudaGetDeviceProperties(prop: *mut cudaDeviceProp, device: c_int) -> cudaError_t {
    call(|| {
        let g = gpu(device)?;
        if prop.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let full = super::props::properties(g);
        // SAFETY: the caller's struct is at least the CUDA 11 size; both
        // regions are valid and distinct.
        unsafe {
            std::ptr::copy_nonoverlapping(
                &full as *const cudaDeviceProp as *const u8,
                prop as *mut u8,
                super::props::CUDA11_PROP_SIZE,
            )
        };
        Ok(())
    })
}

/// One device attribute.
#[no_mangle]
pub unsafe extern "C" fn cudaDeviceGetAttribute(value: *mut c_int, attr: cudaDeviceAttr_t, device: c_int) -> cudaError_t {
    call(|| {
        let g = gpu(device)?;
        if value.is_null() {
            return Err(cudaErrorInvalidValue);
        }
        let v = super::props::attribute(g, attr).ok_or(cudaErrorInvalidValue)?;
        out(value, v)
    })
}

/// Wait for all work on the device (all of it is done already) and trim
/// its pools to their release thresholds.
#[no_mangle]
pub unsafe extern "C" fn cudaDeviceSynchronize() -> cudaError_t {
    call(|| {
        super::current()?;
        super::trim_pools();
        Ok(())
    })
}

/// Destroy the current device's context in this process: every allocation,
/// stream and event on it goes, and errors are cleared.
#[no_mangle]
pub unsafe extern "C" fn cudaDeviceReset() -> cudaError_t {
    crate::ffi::guard(cudaErrorUnknown as cudaError_t, || {
        let g = match super::current() {
            Ok(g) => g,
            Err(e) => {
                super::record(e as u32);
                return e as u32;
            }
        };
        let mine: Vec<usize> = state()
            .allocs
            .iter()
            .filter(|(_, a)| a.device == g.ordinal)
            .map(|(&p, _)| p)
            .collect();
        for p in mine {
            let _ = super::release(p, |a| a.device == g.ordinal);
        }
        for (a, _) in g.pool().sub.clear() {
            fault::remove(a);
        }
        {
            let mut st = state();
            let streams: Vec<usize> = st.streams.iter().filter(|(_, s)| s.device == g.ordinal).map(|(&k, _)| k).collect();
            for s in streams {
                st.streams.remove(&s);
                // SAFETY: stream handles are boxes made by cudaStreamCreate.
                drop(unsafe { Box::from_raw(s as *mut u8) });
            }
            // Events and registrations belong to the context too.
            for (e, _) in std::mem::take(&mut st.events) {
                // SAFETY: event handles are boxes made by event_create.
                drop(unsafe { Box::from_raw(e as *mut u8) });
            }
            st.registered.clear();
        }
        super::STICKY.store(0, std::sync::atomic::Ordering::Relaxed);
        super::LAST_ERROR.with(|c| c.set(0));
        0
    })
}

/// The runtime version this library implements (12.9).
#[no_mangle]
pub unsafe extern "C" fn cudaRuntimeGetVersion(runtimeVersion: *mut c_int) -> cudaError_t {
    call(|| out(runtimeVersion, super::RUNTIME_VERSION))
}

/// The emulated driver's version (the same as the runtime's).
#[no_mangle]
pub unsafe extern "C" fn cudaDriverGetVersion(driverVersion: *mut c_int) -> cudaError_t {
    call(|| out(driverVersion, super::RUNTIME_VERSION))
}

// ---- streams --------------------------------------------------------------

fn stream_create(p: *mut cudaStream_t, flags: c_uint) -> R {
    let g = super::current()?;
    if p.is_null() || flags & !cudaStreamNonBlocking != 0 {
        return Err(cudaErrorInvalidValue);
    }
    let h = Box::into_raw(Box::new(0u8)) as usize;
    state().streams.insert(h, Stream { device: g.ordinal });
    out(p, h as cudaStream_t)
}

/// Create a stream.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamCreate(pStream: *mut cudaStream_t) -> cudaError_t {
    call(|| stream_create(pStream, cudaStreamDefault))
}

/// Create a stream with `cudaStream*` flags.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamCreateWithFlags(pStream: *mut cudaStream_t, flags: c_uint) -> cudaError_t {
    call(|| stream_create(pStream, flags))
}

/// Destroy a stream.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamDestroy(stream: cudaStream_t) -> cudaError_t {
    call(|| {
        super::current()?;
        match state().streams.remove(&(stream as usize)) {
            Some(_) => {
                // SAFETY: the handle is a box made by stream_create.
                drop(unsafe { Box::from_raw(stream as *mut u8) });
                Ok(())
            }
            None => Err(cudaErrorInvalidResourceHandle),
        }
    })
}

/// Wait for a stream's work (done already) and trim pools.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamSynchronize(stream: cudaStream_t) -> cudaError_t {
    call(|| {
        super::current()?;
        super::check_stream(stream)?;
        super::trim_pools();
        Ok(())
    })
}

/// Whether a stream is idle: it always is.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamQuery(stream: cudaStream_t) -> cudaError_t {
    call(|| {
        super::current()?;
        super::check_stream(stream)
    })
}

// ---- events ---------------------------------------------------------------

fn event_create(p: *mut cudaEvent_t, flags: c_uint) -> R {
    super::current()?;
    let valid = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
    if p.is_null() || flags & !valid != 0 || (flags & cudaEventInterprocess != 0 && flags & cudaEventDisableTiming == 0) {
        return Err(cudaErrorInvalidValue);
    }
    let h = Box::into_raw(Box::new(0u8)) as usize;
    state().events.insert(h, Event { flags, at: None });
    out(p, h as cudaEvent_t)
}

/// Create an event.
#[no_mangle]
pub unsafe extern "C" fn cudaEventCreate(event: *mut cudaEvent_t) -> cudaError_t {
    call(|| event_create(event, cudaEventDefault))
}

/// Create an event with `cudaEvent*` flags.
#[no_mangle]
pub unsafe extern "C" fn cudaEventCreateWithFlags(event: *mut cudaEvent_t, flags: c_uint) -> cudaError_t {
    call(|| event_create(event, flags))
}

/// Record an event on a stream: it is reached now.
#[no_mangle]
pub unsafe extern "C" fn cudaEventRecord(event: cudaEvent_t, stream: cudaStream_t) -> cudaError_t {
    call(|| {
        super::current()?;
        super::check_stream(stream)?;
        match state().events.get_mut(&(event as usize)) {
            Some(e) => {
                e.at = Some(Instant::now());
                Ok(())
            }
            None => Err(cudaErrorInvalidResourceHandle),
        }
    })
}

fn event_known(event: cudaEvent_t) -> R {
    super::current()?;
    if state().events.contains_key(&(event as usize)) {
        Ok(())
    } else {
        Err(cudaErrorInvalidResourceHandle)
    }
}

/// Wait for an event (reached already).
#[no_mangle]
pub unsafe extern "C" fn cudaEventSynchronize(event: cudaEvent_t) -> cudaError_t {
    call(|| {
        event_known(event)?;
        super::trim_pools();
        Ok(())
    })
}

/// Whether an event has been reached: recorded events always have.
#[no_mangle]
pub unsafe extern "C" fn cudaEventQuery(event: cudaEvent_t) -> cudaError_t {
    call(|| event_known(event))
}

fn elapsed(ms: *mut c_float, start: cudaEvent_t, end: cudaEvent_t) -> R {
    super::current()?;
    if ms.is_null() {
        return Err(cudaErrorInvalidValue);
    }
    let st = state();
    let (s, e) = match (st.events.get(&(start as usize)), st.events.get(&(end as usize))) {
        (Some(s), Some(e)) => (s, e),
        _ => return Err(cudaErrorInvalidResourceHandle),
    };
    if (s.flags | e.flags) & cudaEventDisableTiming != 0 {
        return Err(cudaErrorInvalidResourceHandle);
    }
    let (Some(a), Some(b)) = (s.at, e.at) else {
        return Err(cudaErrorInvalidResourceHandle);
    };
    let v = if b >= a {
        b.duration_since(a).as_secs_f64() * 1e3
    } else {
        -(a.duration_since(b).as_secs_f64() * 1e3)
    };
    drop(st);
    out(ms, v as c_float)
}

/// Milliseconds between two recorded events.
#[no_mangle]
pub unsafe extern "C" fn cudaEventElapsedTime(ms: *mut c_float, start: cudaEvent_t, end: cudaEvent_t) -> cudaError_t {
    call(|| elapsed(ms, start, end))
}

/// The 12.8+ name of `cudaEventElapsedTime`.
#[no_mangle]
pub unsafe extern "C" fn cudaEventElapsedTime_v2(ms: *mut c_float, start: cudaEvent_t, end: cudaEvent_t) -> cudaError_t {
    call(|| elapsed(ms, start, end))
}

/// Destroy an event.
#[no_mangle]
pub unsafe extern "C" fn cudaEventDestroy(event: cudaEvent_t) -> cudaError_t {
    call(|| {
        super::current()?;
        match state().events.remove(&(event as usize)) {
            Some(_) => {
                // SAFETY: the handle is a box made by event_create.
                drop(unsafe { Box::from_raw(event as *mut u8) });
                Ok(())
            }
            None => Err(cudaErrorInvalidResourceHandle),
        }
    })
}

// ---- errors ---------------------------------------------------------------

/// The last error of this thread's runtime calls, reset to `cudaSuccess`
/// (a sticky error is never reset).
#[no_mangle]
pub unsafe extern "C" fn cudaGetLastError() -> cudaError_t {
    crate::ffi::guard(cudaErrorUnknown as cudaError_t, || super::last_error(true))
}

/// The last error, not reset.
#[no_mangle]
pub unsafe extern "C" fn cudaPeekAtLastError() -> cudaError_t {
    crate::ffi::guard(cudaErrorUnknown as cudaError_t, || super::last_error(false))
}

/// The message of an error code.
#[no_mangle]
pub unsafe extern "C" fn cudaGetErrorString(error: cudaError_t) -> *const c_char {
    crate::ffi::guard(std::ptr::null(), || super::errors::lookup(error).1.as_ptr())
}

/// The enumerator name of an error code.
#[no_mangle]
pub unsafe extern "C" fn cudaGetErrorName(error: cudaError_t) -> *const c_char {
    crate::ffi::guard(std::ptr::null(), || super::errors::lookup(error).0.as_ptr())
}

// ---- per-thread default stream names ----------------------------------

/// `cudaMemcpy` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpy_ptds(dst: *mut c_void, src: *const c_void, count: usize, kind: cudaMemcpyKind_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemcpy(dst, src, count, kind) }
}

/// `cudaMemcpy2D` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpy2D_ptds(
    dst: *mut c_void,
    dpitch: usize,
    src: *const c_void,
    spitch: usize,
    width: usize,
    height: usize,
    kind: cudaMemcpyKind_t,
) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemcpy2D(dst, dpitch, src, spitch, width, height, kind) }
}

/// `cudaMemset` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemset_ptds(devPtr: *mut c_void, value: c_int, count: usize) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemset(devPtr, value, count) }
}

/// `cudaMemset2D` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemset2D_ptds(devPtr: *mut c_void, pitch: usize, value: c_int, width: usize, height: usize) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemset2D(devPtr, pitch, value, width, height) }
}

/// `cudaMemcpyAsync` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpyAsync_ptsz(
    dst: *mut c_void,
    src: *const c_void,
    count: usize,
    kind: cudaMemcpyKind_t,
    stream: cudaStream_t,
) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemcpyAsync(dst, src, count, kind, stream) }
}

/// `cudaMemcpy2DAsync` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemcpy2DAsync_ptsz(
    dst: *mut c_void,
    dpitch: usize,
    src: *const c_void,
    spitch: usize,
    width: usize,
    height: usize,
    kind: cudaMemcpyKind_t,
    stream: cudaStream_t,
) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, stream) }
}

/// `cudaMemsetAsync` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemsetAsync_ptsz(devPtr: *mut c_void, value: c_int, count: usize, stream: cudaStream_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemsetAsync(devPtr, value, count, stream) }
}

/// `cudaMemset2DAsync` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMemset2DAsync_ptsz(
    devPtr: *mut c_void,
    pitch: usize,
    value: c_int,
    width: usize,
    height: usize,
    stream: cudaStream_t,
) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMemset2DAsync(devPtr, pitch, value, width, height, stream) }
}

/// `cudaStreamQuery` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamQuery_ptsz(stream: cudaStream_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaStreamQuery(stream) }
}

/// `cudaStreamSynchronize` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaStreamSynchronize_ptsz(stream: cudaStream_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaStreamSynchronize(stream) }
}

/// `cudaEventRecord` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaEventRecord_ptsz(event: cudaEvent_t, stream: cudaStream_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaEventRecord(event, stream) }
}

/// `cudaMallocAsync` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaMallocAsync_ptsz(devPtr: *mut *mut c_void, size: usize, hStream: cudaStream_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaMallocAsync(devPtr, size, hStream) }
}

/// `cudaFreeAsync` as compiled with a per-thread default stream.
#[no_mangle]
pub unsafe extern "C" fn cudaFreeAsync_ptsz(devPtr: *mut c_void, hStream: cudaStream_t) -> cudaError_t {
    // SAFETY: same contract.
    unsafe { cudaFreeAsync(devPtr, hStream) }
}
