//! `dnn/hb_sys.h` functions: BPU memory over the engine.
#![allow(non_snake_case)]

use super::hb_sys::*;
use crate::engine::{self, attr, AllocReq, BufId, Device, MapInfo, SyncDir};
use crate::ffi::guard;
use crate::Error;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::Mutex;

/// Tag of mappings `hbSysRegisterMem` makes.
const MAP_REGISTER: u32 = 0x4842_0001;
/// Tag of the mapping of each block `hbSysAllocMem`/`hbSysAllocCachedMem`
/// makes: how `hbSysFreeMem` tells its own blocks from other APIs'.
const MAP_HBSYS: u32 = 0x4842_0002;

fn code(e: Error) -> i32 {
    match e {
        Error::OutOfMemory | Error::LimitReached => HB_SYS_OUT_OF_MEMORY,
        Error::Os(c) if c == libc::ENOMEM || c == libc::ENOSPC || c == libc::EMFILE => HB_SYS_OUT_OF_MEMORY,
        _ => HB_SYS_INVALID_ARGUMENT,
    }
}

/// Ranges registered with `hbSysRegisterMem`: phys to (length, mapping we
/// made for it if any, the buffer it lies in).
type Registrations = HashMap<u64, (u64, Option<usize>, BufId)>;
static REGISTERED: Mutex<Option<Registrations>> = Mutex::new(None);

fn with_registered<T>(f: impl FnOnce(&mut Registrations) -> T) -> T {
    static REG_REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    crate::engine::register_fork_lock_once(&REGISTERED, &REG_REGISTERED);
    let mut g = REGISTERED.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(HashMap::new))
}

/// Whether `phys` is registered. A registration whose buffer has been
/// freed meanwhile (by its owner, without unregistering) is dropped here:
/// it must not block the memory's next user.
fn registered(dev: &Device, phys: u64) -> bool {
    with_registered(|r| match r.get(&phys) {
        Some(&(_, made, buf)) if dev.buffer(buf).is_err() => {
            r.remove(&phys);
            if let Some(a) = made {
                let _ = dev.unmap(a, MAP_REGISTER);
            }
            false
        }
        Some(_) => true,
        None => false,
    })
}

fn alloc(mem: *mut hbSysMem, size: u32, cached: bool) -> i32 {
    // SAFETY: caller passes NULL or a valid struct.
    let Some(m) = (unsafe { mem.as_mut() }) else {
        return HB_SYS_INVALID_ARGUMENT;
    };
    if size == 0 {
        return HB_SYS_INVALID_ARGUMENT;
    }
    let dev = match engine::global() {
        Ok(d) => d,
        Err(e) => return code(e),
    };
    let req = AllocReq {
        zone: None,
        size: size as u64,
        align: 0,
        attrs: if cached { attr::CACHED } else { 0 },
        name: if cached { "hbSysAllocCachedMem" } else { "hbSysAllocMem" },
    };
    let b = match dev.alloc(&req) {
        Ok(b) => b,
        Err(e) => return code(e),
    };
    match dev.map(b.id, 0, b.requested, cached, MAP_HBSYS) {
        Ok(map) => {
            m.phyAddr = b.phys;
            m.virAddr = map.addr as *mut c_void;
            m.memSize = size;
            HB_SYS_SUCCESS
        }
        Err(e) => {
            let _ = dev.free(b.id);
            code(e)
        }
    }
}

/// Allocate `size` bytes of uncached BPU memory, mapped.
///
/// # Safety
/// `mem` must be NULL or point to a writable `hbSysMem`.
#[no_mangle]
pub unsafe extern "C" fn hbSysAllocMem(mem: *mut hbSysMem, size: u32) -> i32 {
    guard(HB_SYS_OUT_OF_MEMORY, || alloc(mem, size, false))
}

/// Allocate `size` bytes of cacheable BPU memory, mapped.
///
/// # Safety
/// `mem` must be NULL or point to a writable `hbSysMem`.
#[no_mangle]
pub unsafe extern "C" fn hbSysAllocCachedMem(mem: *mut hbSysMem, size: u32) -> i32 {
    guard(HB_SYS_OUT_OF_MEMORY, || alloc(mem, size, true))
}

/// The mapping `mem` describes, checked: its virtual address must be ours
/// and agree with its physical address over `memSize` bytes.
fn resolve(dev: &Device, m: &hbSysMem) -> Result<MapInfo, Error> {
    if m.virAddr.is_null() {
        return Err(Error::NullPointer);
    }
    let map = dev.find_addr(m.virAddr as usize)?;
    if map.phys != m.phyAddr || (m.memSize as usize) > map.len {
        return Err(Error::InvalidArgument);
    }
    Ok(map)
}

/// Cache maintenance on a block: `HB_SYS_MEM_CACHE_CLEAN` after CPU
/// writes, `HB_SYS_MEM_CACHE_INVALIDATE` before CPU reads (both bits: both).
/// On uncached memory it succeeds and does nothing.
///
/// # Safety
/// `mem` must be NULL or point to a valid `hbSysMem`.
#[no_mangle]
pub unsafe extern "C" fn hbSysFlushMem(mem: *mut hbSysMem, flag: i32) -> i32 {
    guard(HB_SYS_INVALID_ARGUMENT, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(m) = (unsafe { mem.as_ref() }) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        let dir = match flag as u32 {
            HB_SYS_MEM_CACHE_INVALIDATE => SyncDir::FromDevice,
            HB_SYS_MEM_CACHE_CLEAN => SyncDir::ToDevice,
            3 => SyncDir::Both,
            _ => return HB_SYS_INVALID_ARGUMENT,
        };
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return code(e),
        };
        let r = resolve(dev, m).and_then(|map| dev.sync(map.buf, map.offset, m.memSize as u64, dir));
        match r {
            Ok(()) => HB_SYS_SUCCESS,
            Err(e) => code(e),
        }
    })
}

/// Free a block from `hbSysAllocMem`/`hbSysAllocCachedMem`.
///
/// # Safety
/// `mem` must be NULL or point to a valid `hbSysMem`.
#[no_mangle]
pub unsafe extern "C" fn hbSysFreeMem(mem: *mut hbSysMem) -> i32 {
    guard(HB_SYS_INVALID_ARGUMENT, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(m) = (unsafe { mem.as_ref() }) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return code(e),
        };
        if registered(dev, m.phyAddr) {
            // Registered memory is released with hbSysUnregisterMem.
            return HB_SYS_INVALID_ARGUMENT;
        }
        let map = match resolve(dev, m) {
            Ok(map) if map.offset == 0 && map.tag == MAP_HBSYS => map,
            Ok(_) => return HB_SYS_INVALID_ARGUMENT,
            Err(e) => return code(e),
        };
        match dev.free(map.buf) {
            Ok(()) => HB_SYS_SUCCESS,
            Err(e) => code(e),
        }
    })
}

/// Copy `size` bytes from `src` into the block.
///
/// # Safety
/// `dest` must be NULL or valid; `src` NULL or readable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn hbSysWriteMem(dest: *mut hbSysMem, src: *mut c_char, size: u32) -> i32 {
    guard(HB_SYS_INVALID_ARGUMENT, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(m) = (unsafe { dest.as_ref() }) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        if src.is_null() || size > m.memSize {
            return HB_SYS_INVALID_ARGUMENT;
        }
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return code(e),
        };
        match resolve(dev, m) {
            Ok(map) => {
                // SAFETY: the mapping covers memSize >= size bytes; src is
                // readable for size bytes by contract; distinct memory.
                unsafe { std::ptr::copy(src as *const u8, map.addr as *mut u8, size as usize) };
                HB_SYS_SUCCESS
            }
            Err(e) => code(e),
        }
    })
}

/// Copy `size` bytes of the block into `dest`.
///
/// # Safety
/// `src` must be NULL or valid; `dest` NULL or writable for `size` bytes.
#[no_mangle]
pub unsafe extern "C" fn hbSysReadMem(dest: *mut c_char, src: *mut hbSysMem, size: u32) -> i32 {
    guard(HB_SYS_INVALID_ARGUMENT, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(m) = (unsafe { src.as_ref() }) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        if dest.is_null() || size > m.memSize {
            return HB_SYS_INVALID_ARGUMENT;
        }
        let dev = match engine::global() {
            Ok(d) => d,
            Err(e) => return code(e),
        };
        match resolve(dev, m) {
            Ok(map) => {
                // SAFETY: the mapping covers size bytes; dest is writable by
                // contract.
                unsafe { std::ptr::copy(map.addr as *const u8, dest as *mut u8, size as usize) };
                HB_SYS_SUCCESS
            }
            Err(e) => code(e),
        }
    })
}

/// Register a physical range that lies inside one of this device's
/// buffers (from any API) as BPU memory. A NULL `virAddr` is filled with a
/// new cached mapping; a given one must map that physical address.
///
/// # Safety
/// `mem` must be NULL or point to a writable `hbSysMem`.
#[no_mangle]
pub unsafe extern "C" fn hbSysRegisterMem(mem: *mut hbSysMem) -> i32 {
    guard(HB_SYS_REGISTER_MEM_FAILED, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(m) = (unsafe { mem.as_mut() }) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        if m.memSize == 0 {
            return HB_SYS_INVALID_ARGUMENT;
        }
        let Ok(dev) = engine::global() else {
            return HB_SYS_REGISTER_MEM_FAILED;
        };
        let Ok((b, off)) = dev.find_phys(m.phyAddr) else {
            return HB_SYS_REGISTER_MEM_FAILED;
        };
        if off + m.memSize as u64 > b.size || registered(dev, m.phyAddr) {
            return HB_SYS_REGISTER_MEM_FAILED;
        }
        let made = if m.virAddr.is_null() {
            match dev.map(b.id, off, m.memSize as u64, true, MAP_REGISTER) {
                Ok(map) => {
                    m.virAddr = map.addr as *mut c_void;
                    Some(map.addr)
                }
                Err(_) => return HB_SYS_REGISTER_MEM_FAILED,
            }
        } else {
            match resolve(dev, m) {
                Ok(_) => None,
                Err(_) => return HB_SYS_REGISTER_MEM_FAILED,
            }
        };
        // Checked again as it goes in: of two racing registrations of one
        // range, the second undoes its mapping and fails.
        let won = with_registered(|r| match r.entry(m.phyAddr) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert((m.memSize as u64, made, b.id));
                true
            }
        });
        if !won {
            if let Some(a) = made {
                let _ = dev.unmap(a, MAP_REGISTER);
                m.virAddr = std::ptr::null_mut();
            }
            return HB_SYS_REGISTER_MEM_FAILED;
        }
        HB_SYS_SUCCESS
    })
}

/// Undo `hbSysRegisterMem`.
///
/// # Safety
/// `mem` must be NULL or point to a valid `hbSysMem`.
#[no_mangle]
pub unsafe extern "C" fn hbSysUnregisterMem(mem: *mut hbSysMem) -> i32 {
    guard(HB_SYS_INVALID_ARGUMENT, || {
        // SAFETY: caller passes NULL or a valid struct.
        let Some(m) = (unsafe { mem.as_ref() }) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        let Some((_, made, _)) = with_registered(|r| r.remove(&m.phyAddr)) else {
            return HB_SYS_INVALID_ARGUMENT;
        };
        if let (Some(a), Ok(dev)) = (made, engine::global()) {
            let _ = dev.unmap(a, MAP_REGISTER);
        }
        HB_SYS_SUCCESS
    })
}
