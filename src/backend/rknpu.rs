//! The Rockchip NPU backend: buffers are GEM objects of the vendor `rknpu`
//! DRM driver (RK3588/RK356x/RK3576 BSP kernels), driven through its render
//! node with `DRM_IOCTL_RKNPU_MEM_CREATE/MAP/SYNC/DESTROY` and `ACTION`.
//! Facts: reference/rockchip.md §2 (uapi 0.9.8).
//!
//! Every system call on the DRM fd goes through the [`Kernel`] seam, so the
//! ioctl sequence can be recorded and checked on machines without the driver.
//!
//! How the [`Backend`] contract maps onto the driver:
//! - `create`: `MEM_CREATE` (page-rounded size; `CACHEABLE|ZEROING` when
//!   cached, else `WRITE_COMBINE|ZEROING`), then `PRIME_HANDLE_TO_FD` for a
//!   real dma-buf fd, which the caller owns.
//! - `open`: another `PRIME_HANDLE_TO_FD` of the same object (a new fd of one
//!   dma-buf). GEM handles belong to this process's DRM file, so a buffer
//!   made by another process cannot be reached by key: `NotSupported` (pass
//!   its dma-buf fd instead).
//! - `map`: `MEM_MAP` once per object (the fake offset is cached), then
//!   `mmap(drm_fd, fake_offset)`. The driver maps every VMA from the start
//!   of the object (`rknpu_gem_mmap_buffer` sets `vm_pgoff = 0`), so an inner
//!   range is mapped as `[0, offset + len)` with the head unmapped again.
//! - `sync`: one `MEM_SYNC` per START/END pair (table at `Rknpu::sync_obj`).
//! - `release`: `MEM_DESTROY {handle, obj_addr}`; existing mappings and
//!   exported fds keep the object alive, as the Backend contract wants.
//! - `device_addr`: the object's `dma_addr` (the NPU IOVA).
//! - `identify`: `None`; `sweep`: nothing (the kernel frees a dead
//!   process's objects when its DRM file closes).

use super::{Backend, BufKey, SyncFlags};
use crate::error::{Error, Result};
use std::collections::HashMap;
use std::ffi::c_void;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Mutex, MutexGuard};

// ---------------------------------------------------------------------------
// ioctl encoding (asm-generic `_IOC`: arm, arm64, x86, riscv)

const IOC_NRSHIFT: u32 = 0;
const IOC_TYPESHIFT: u32 = 8;
const IOC_SIZESHIFT: u32 = 16;
const IOC_DIRSHIFT: u32 = 30;
const IOC_SIZEMASK: usize = (1 << 14) - 1;
/// `_IOC_WRITE`: userspace writes the argument.
pub const IOC_WRITE: u32 = 1;
/// `_IOC_READ`: userspace reads the argument back.
pub const IOC_READ: u32 = 2;

/// `_IOC(dir, type, nr, size)`. A size that does not fit the 14-bit field
/// fails at compile time where the value is a constant.
pub const fn ioc(dir: u32, ty: u8, nr: u32, size: usize) -> u64 {
    assert!(size <= IOC_SIZEMASK && nr <= 0xff && dir <= 3);
    ((dir as u64) << IOC_DIRSHIFT) | ((ty as u64) << IOC_TYPESHIFT) | ((nr as u64) << IOC_NRSHIFT) | ((size as u64) << IOC_SIZESHIFT)
}

/// `_IOWR(type, nr, size)`.
pub const fn iowr(ty: u8, nr: u32, size: usize) -> u64 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// `DRM_IOCTL_BASE`.
pub const DRM_IOCTL_BASE: u8 = b'd';
/// `DRM_COMMAND_BASE`: first driver-private DRM ioctl number.
pub const DRM_COMMAND_BASE: u32 = 0x40;

/// `DRM_IOWR(nr, size)`.
pub const fn drm_iowr(nr: u32, size: usize) -> u64 {
    iowr(DRM_IOCTL_BASE, nr, size)
}

// ---------------------------------------------------------------------------
// uapi structs (rknpu_ioctl.h 0.9.8 and drm.h)

/// `struct rknpu_mem_create` (0.9.x, 48 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rknpu_mem_create {
    /// Out: GEM handle (in: an existing handle to look up).
    pub handle: u32,
    /// `RKNPU_MEM_*`.
    pub flags: u32,
    /// Page-rounded by the kernel and written back.
    pub size: u64,
    /// Out: kernel address of the object, an opaque cookie for `MEM_SYNC`.
    pub obj_addr: u64,
    /// Out: NPU (IOMMU) address.
    pub dma_addr: u64,
    pub sram_size: u64,
    pub iommu_domain_id: i32,
    pub core_mask: u32,
}

/// `struct rknpu_mem_map` (16 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rknpu_mem_map {
    pub handle: u32,
    pub reserved: u32,
    /// Out: fake mmap offset of the object on the DRM fd.
    pub offset: u64,
}

/// `struct rknpu_mem_destroy` (16 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rknpu_mem_destroy {
    pub handle: u32,
    pub reserved: u32,
    pub obj_addr: u64,
}

/// `struct rknpu_mem_sync` (32 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rknpu_mem_sync {
    /// `RKNPU_MEM_SYNC_*`.
    pub flags: u32,
    pub reserved: u32,
    pub obj_addr: u64,
    pub offset: u64,
    pub size: u64,
}

/// `struct rknpu_action` (8 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct rknpu_action {
    /// `RKNPU_GET_*` / `RKNPU_SET_*` / `RKNPU_ACT_*`.
    pub flags: u32,
    pub value: u32,
}

/// `struct drm_prime_handle` (12 bytes).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct drm_prime_handle {
    pub handle: u32,
    /// `DRM_CLOEXEC | DRM_RDWR`.
    pub flags: u32,
    /// Out: the dma-buf fd.
    pub fd: i32,
}

/// `struct drm_version` (64 bytes on LP64, 36 on ILP32).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct drm_version {
    pub version_major: i32,
    pub version_minor: i32,
    pub version_patchlevel: i32,
    /// In: buffer length; out: the name's full length.
    pub name_len: usize,
    pub name: *mut libc::c_char,
    pub date_len: usize,
    pub date: *mut libc::c_char,
    pub desc_len: usize,
    pub desc: *mut libc::c_char,
}

// ---------------------------------------------------------------------------
// ioctl numbers

pub const RKNPU_ACTION: u32 = 0x00;
pub const RKNPU_SUBMIT: u32 = 0x01;
pub const RKNPU_MEM_CREATE: u32 = 0x02;
pub const RKNPU_MEM_MAP: u32 = 0x03;
pub const RKNPU_MEM_DESTROY: u32 = 0x04;
pub const RKNPU_MEM_SYNC: u32 = 0x05;

pub const DRM_IOCTL_RKNPU_ACTION: u64 = drm_iowr(DRM_COMMAND_BASE + RKNPU_ACTION, size_of::<rknpu_action>());
pub const DRM_IOCTL_RKNPU_MEM_CREATE: u64 = drm_iowr(DRM_COMMAND_BASE + RKNPU_MEM_CREATE, size_of::<rknpu_mem_create>());
pub const DRM_IOCTL_RKNPU_MEM_MAP: u64 = drm_iowr(DRM_COMMAND_BASE + RKNPU_MEM_MAP, size_of::<rknpu_mem_map>());
pub const DRM_IOCTL_RKNPU_MEM_DESTROY: u64 = drm_iowr(DRM_COMMAND_BASE + RKNPU_MEM_DESTROY, size_of::<rknpu_mem_destroy>());
pub const DRM_IOCTL_RKNPU_MEM_SYNC: u64 = drm_iowr(DRM_COMMAND_BASE + RKNPU_MEM_SYNC, size_of::<rknpu_mem_sync>());
/// `DRM_IOWR(0x00, struct drm_version)`.
pub const DRM_IOCTL_VERSION: u64 = drm_iowr(0x00, size_of::<drm_version>());
/// `DRM_IOWR(0x2d, struct drm_prime_handle)`.
pub const DRM_IOCTL_PRIME_HANDLE_TO_FD: u64 = drm_iowr(0x2d, size_of::<drm_prime_handle>());

/// `DRM_CLOEXEC` (= `O_CLOEXEC`).
pub const DRM_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
/// `DRM_RDWR` (= `O_RDWR`).
pub const DRM_RDWR: u32 = libc::O_RDWR as u32;

// The reference's table (§2.2) and drm.h, checked at compile time.
const _: () = assert!(size_of::<rknpu_mem_create>() == 48);
const _: () = assert!(size_of::<rknpu_mem_map>() == 16);
const _: () = assert!(size_of::<rknpu_mem_destroy>() == 16);
const _: () = assert!(size_of::<rknpu_mem_sync>() == 32);
const _: () = assert!(size_of::<rknpu_action>() == 8);
const _: () = assert!(size_of::<drm_prime_handle>() == 12);
const _: () = assert!(DRM_IOCTL_RKNPU_ACTION == 0xC008_6440);
const _: () = assert!(DRM_IOCTL_RKNPU_MEM_CREATE == 0xC030_6442);
const _: () = assert!(DRM_IOCTL_RKNPU_MEM_MAP == 0xC010_6443);
const _: () = assert!(DRM_IOCTL_RKNPU_MEM_DESTROY == 0xC010_6444);
const _: () = assert!(DRM_IOCTL_RKNPU_MEM_SYNC == 0xC020_6445);
const _: () = assert!(DRM_IOCTL_PRIME_HANDLE_TO_FD == 0xC00C_642D);
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<drm_version>() == 64 && DRM_IOCTL_VERSION == 0xC040_6400);
#[cfg(target_pointer_width = "32")]
const _: () = assert!(size_of::<drm_version>() == 36 && DRM_IOCTL_VERSION == 0xC024_6400);

// ---------------------------------------------------------------------------
// flag values (§2.4)

/// `enum e_rknpu_mem_type`.
pub const RKNPU_MEM_CONTIGUOUS: u32 = 0;
pub const RKNPU_MEM_NON_CONTIGUOUS: u32 = 1 << 0;
pub const RKNPU_MEM_NON_CACHEABLE: u32 = 0;
pub const RKNPU_MEM_CACHEABLE: u32 = 1 << 1;
pub const RKNPU_MEM_WRITE_COMBINE: u32 = 1 << 2;
pub const RKNPU_MEM_KERNEL_MAPPING: u32 = 1 << 3;
pub const RKNPU_MEM_IOMMU: u32 = 1 << 4;
pub const RKNPU_MEM_ZEROING: u32 = 1 << 5;
pub const RKNPU_MEM_SECURE: u32 = 1 << 6;
pub const RKNPU_MEM_DMA32: u32 = 1 << 7;
pub const RKNPU_MEM_TRY_ALLOC_SRAM: u32 = 1 << 8;
pub const RKNPU_MEM_TRY_ALLOC_NBUF: u32 = 1 << 9;
pub const RKNPU_MEM_IOMMU_LIMIT_IOVA_ALIGNMENT: u32 = 1 << 10;
pub const RKNPU_MEM_MASK: u32 = RKNPU_MEM_NON_CONTIGUOUS
    | RKNPU_MEM_CACHEABLE
    | RKNPU_MEM_WRITE_COMBINE
    | RKNPU_MEM_KERNEL_MAPPING
    | RKNPU_MEM_IOMMU
    | RKNPU_MEM_ZEROING
    | RKNPU_MEM_SECURE
    | RKNPU_MEM_DMA32
    | RKNPU_MEM_TRY_ALLOC_SRAM
    | RKNPU_MEM_TRY_ALLOC_NBUF
    | RKNPU_MEM_IOMMU_LIMIT_IOVA_ALIGNMENT;

/// `enum e_rknpu_mem_sync_mode`.
pub const RKNPU_MEM_SYNC_TO_DEVICE: u32 = 1 << 0;
pub const RKNPU_MEM_SYNC_FROM_DEVICE: u32 = 1 << 1;
pub const RKNPU_MEM_SYNC_MASK: u32 = RKNPU_MEM_SYNC_TO_DEVICE | RKNPU_MEM_SYNC_FROM_DEVICE;

/// `enum e_rknpu_action`.
pub const RKNPU_GET_HW_VERSION: u32 = 0;
pub const RKNPU_GET_DRV_VERSION: u32 = 1;
pub const RKNPU_GET_FREQ: u32 = 2;
pub const RKNPU_SET_FREQ: u32 = 3;
pub const RKNPU_GET_VOLT: u32 = 4;
pub const RKNPU_SET_VOLT: u32 = 5;
pub const RKNPU_ACT_RESET: u32 = 6;
pub const RKNPU_GET_BW_PRIORITY: u32 = 7;
pub const RKNPU_SET_BW_PRIORITY: u32 = 8;
pub const RKNPU_GET_BW_EXPECT: u32 = 9;
pub const RKNPU_SET_BW_EXPECT: u32 = 10;
pub const RKNPU_GET_BW_TW: u32 = 11;
pub const RKNPU_SET_BW_TW: u32 = 12;
pub const RKNPU_ACT_CLR_TOTAL_RW_AMOUNT: u32 = 13;
pub const RKNPU_GET_DT_WR_AMOUNT: u32 = 14;
pub const RKNPU_GET_DT_RD_AMOUNT: u32 = 15;
pub const RKNPU_GET_WT_RD_AMOUNT: u32 = 16;
pub const RKNPU_GET_TOTAL_RW_AMOUNT: u32 = 17;
pub const RKNPU_GET_IOMMU_EN: u32 = 18;
pub const RKNPU_SET_PROC_NICE: u32 = 19;
pub const RKNPU_POWER_ON: u32 = 20;
pub const RKNPU_POWER_OFF: u32 = 21;
pub const RKNPU_GET_TOTAL_SRAM_SIZE: u32 = 22;
pub const RKNPU_GET_FREE_SRAM_SIZE: u32 = 23;
pub const RKNPU_GET_IOMMU_DOMAIN_ID: u32 = 24;
pub const RKNPU_SET_IOMMU_DOMAIN_ID: u32 = 25;

/// Flags for a CPU-cached buffer: cacheable CPU mappings (the owner syncs),
/// zeroed like every fresh emulated buffer so programs see the same bytes
/// on both backends and no stale data of another process.
pub const CREATE_FLAGS_CACHED: u32 = RKNPU_MEM_CACHEABLE | RKNPU_MEM_ZEROING;
/// Flags for an uncached buffer. Without CACHEABLE or WRITE_COMBINE the
/// driver maps with `pgprot_noncached` (Device memory on arm64, where an
/// unaligned `memcpy` faults); write-combine is normal non-cacheable memory
/// and needs no maintenance either. No KERNEL_MAPPING: that vmaps the
/// buffer for the driver's own use (task arrays), which data buffers never
/// need.
pub const CREATE_FLAGS_UNCACHED: u32 = RKNPU_MEM_WRITE_COMBINE | RKNPU_MEM_ZEROING;

// ---------------------------------------------------------------------------
// the seam

/// The system calls the backend makes on the DRM fd. [`RealKernel`] issues
/// them; tests substitute a recorder that emulates the driver.
///
/// Contract for substitutes: `DRM_IOCTL_PRIME_HANDLE_TO_FD` must return a
/// real descriptor the caller owns (it is handed to the engine as an
/// `OwnedFd`), and `mmap` real memory (the engine `munmap`s it).
pub trait Kernel: Send + Sync {
    /// `ioctl(fd, req, arg)`; `Err` carries the errno.
    ///
    /// # Safety
    /// `arg` points to a live, writable struct of the size `req` encodes
    /// (the kernel reads and writes it).
    unsafe fn ioctl(&self, fd: RawFd, req: u64, arg: *mut c_void) -> std::io::Result<i32>;
    /// `mmap(NULL, len, prot, MAP_SHARED, fd, offset)`.
    fn mmap(&self, fd: RawFd, len: usize, prot: i32, offset: u64) -> std::io::Result<*mut u8>;
    /// `close(fd)`.
    fn close(&self, fd: RawFd);
}

/// The real system calls.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealKernel;

impl Kernel for RealKernel {
    unsafe fn ioctl(&self, fd: RawFd, req: u64, arg: *mut c_void) -> std::io::Result<i32> {
        loop {
            // SAFETY: the caller passes a live struct of the size in `req`.
            let r = unsafe { libc::ioctl(fd, req as _, arg) };
            if r >= 0 {
                return Ok(r);
            }
            let e = std::io::Error::last_os_error();
            // As libdrm's drmIoctl: interrupted calls are restarted.
            if !matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN)) {
                return Err(e);
            }
        }
    }

    fn mmap(&self, fd: RawFd, len: usize, prot: i32, offset: u64) -> std::io::Result<*mut u8> {
        // DRM fake offsets start at 4 GiB on 64-bit kernels; a 32-bit off_t
        // cannot carry them.
        let off = libc::off_t::try_from(offset).map_err(|_| std::io::Error::from_raw_os_error(libc::EOVERFLOW))?;
        // SAFETY: a fresh shared mapping chosen by the kernel; checked below.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, off) };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(p.cast())
    }

    fn close(&self, fd: RawFd) {
        // SAFETY: closing a descriptor the caller owns.
        unsafe { libc::close(fd) };
    }
}

/// The engine error for a failed driver call.
pub fn kernel_error(e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::ENOMEM) => Error::OutOfMemory,
        Some(libc::EINVAL) => Error::InvalidArgument,
        Some(n) => Error::Os(n),
        None => Error::Os(libc::EIO),
    }
}

/// `ioctl` with a typed argument whose size must be the one `req` encodes.
fn call<K: Kernel, T>(k: &K, fd: RawFd, req: u64, arg: &mut T) -> Result<()> {
    if (req >> IOC_SIZESHIFT) as usize & IOC_SIZEMASK != size_of::<T>() {
        return Err(Error::InvalidArgument);
    }
    // SAFETY: `arg` is a live, exclusive T of the size `req` encodes.
    unsafe { k.ioctl(fd, req, (arg as *mut T).cast()) }
        .map(|_| ())
        .map_err(kernel_error)
}

// ---------------------------------------------------------------------------
// the backend

#[derive(Clone, Copy, Debug)]
struct Obj {
    handle: u32,
    obj_addr: u64,
    dma_addr: u64,
    size: u64,
    cached: bool,
    /// Fake mmap offset, once `MEM_MAP` has been asked.
    map_offset: Option<u64>,
}

/// Buffers as rknpu GEM objects on one DRM fd.
pub struct Rknpu<K: Kernel> {
    kernel: K,
    drm: RawFd,
    /// Host page size: mappings start on page boundaries.
    page: u64,
    objs: Mutex<HashMap<(String, u64), Obj>>,
}

impl<K: Kernel> Rknpu<K> {
    /// A backend on `drm_fd` (an rknpu render node), which it owns and
    /// closes through `kernel` when dropped; closing it frees every object
    /// still held.
    pub fn new(kernel: K, drm_fd: RawFd) -> Rknpu<K> {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        Rknpu {
            kernel,
            drm: drm_fd,
            page: if page > 0 { page as u64 } else { 4096 },
            objs: Mutex::new(HashMap::new()),
        }
    }

    /// The DRM fd.
    pub fn drm_fd(&self) -> RawFd {
        self.drm
    }

    /// The seam, for tests.
    pub fn kernel(&self) -> &K {
        &self.kernel
    }

    fn objs(&self) -> MutexGuard<'_, HashMap<(String, u64), Obj>> {
        // The map is only ever updated by single inserts and removes.
        self.objs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn obj(&self, key: BufKey<'_>) -> Result<Obj> {
        self.objs()
            .get(&(key.device.to_string(), key.gen))
            .copied()
            // Not made by this process's DRM file: its handles are not ours.
            .ok_or(Error::NotSupported)
    }

    fn ioctl<T>(&self, req: u64, arg: &mut T) -> Result<()> {
        call(&self.kernel, self.drm, req, arg)
    }

    fn export(&self, handle: u32) -> Result<OwnedFd> {
        let mut p = drm_prime_handle {
            handle,
            flags: DRM_CLOEXEC | DRM_RDWR,
            fd: -1,
        };
        self.ioctl(DRM_IOCTL_PRIME_HANDLE_TO_FD, &mut p)?;
        if p.fd < 0 {
            return Err(Error::Os(libc::EBADF));
        }
        // SAFETY: the kernel just installed this descriptor for us.
        Ok(unsafe { OwnedFd::from_raw_fd(p.fd) })
    }

    fn destroy(&self, o: &Obj) {
        let mut d = rknpu_mem_destroy {
            handle: o.handle,
            reserved: 0,
            obj_addr: o.obj_addr,
        };
        // Nothing to do on failure: the handle goes with the DRM file anyway.
        let _ = self.ioctl(DRM_IOCTL_RKNPU_MEM_DESTROY, &mut d);
    }

    fn action(&self, flags: u32) -> Result<u32> {
        let mut a = rknpu_action { flags, value: 0 };
        self.ioctl(DRM_IOCTL_RKNPU_ACTION, &mut a)?;
        Ok(a.value)
    }

    /// NPU SRAM (total, free) in bytes, both 0 when the SoC has none.
    pub fn sram_sizes(&self) -> Result<(u64, u64)> {
        let total = self.action(RKNPU_GET_TOTAL_SRAM_SIZE)?;
        let free = self.action(RKNPU_GET_FREE_SRAM_SIZE)?;
        Ok((u64::from(total), u64::from(free)))
    }

    /// Cache maintenance. The driver's `MEM_SYNC` is one-shot (TO_DEVICE
    /// cleans, FROM_DEVICE invalidates, both clean then invalidate) while
    /// the Backend contract brackets CPU access as `dma_buf_sync`:
    ///
    /// | dma-buf flags | rknpu |
    /// |---|---|
    /// | START\|READ   | FROM_DEVICE: invalidate before the CPU reads |
    /// | END\|WRITE    | TO_DEVICE: clean after the CPU wrote |
    /// | END\|RW       | TO_DEVICE\|FROM_DEVICE: clean, then invalidate |
    /// | START\|WRITE, START\|RW, END\|READ | nothing |
    ///
    /// So each direction costs one ioctl per START/END pair. RW is not
    /// invalidated at START: that would discard CPU writes not yet cleaned
    /// when the pair is a one-shot flush (the engine's `SyncDir::Both`).
    /// Uncached (write-combined) objects need no maintenance and the driver
    /// rejects them with EINVAL, so they succeed without a call.
    fn sync_obj(&self, o: &Obj, flags: SyncFlags, offset: u64, len: u64) -> Result<()> {
        let f = flags.0;
        if f & !SyncFlags::VALID != 0 || f & SyncFlags::RW == 0 {
            return Err(Error::InvalidArgument);
        }
        // The driver does not bound-check (it trusts the range), so we do.
        if offset.checked_add(len).is_none_or(|e| e > o.size) {
            return Err(Error::InvalidArgument);
        }
        let end = f & SyncFlags::END != 0;
        let mode = match (end, f & SyncFlags::RW) {
            (false, SyncFlags::READ) => RKNPU_MEM_SYNC_FROM_DEVICE,
            (true, SyncFlags::WRITE) => RKNPU_MEM_SYNC_TO_DEVICE,
            (true, SyncFlags::RW) => RKNPU_MEM_SYNC_TO_DEVICE | RKNPU_MEM_SYNC_FROM_DEVICE,
            _ => return Ok(()),
        };
        if !o.cached || len == 0 {
            return Ok(());
        }
        let mut s = rknpu_mem_sync {
            flags: mode,
            reserved: 0,
            obj_addr: o.obj_addr,
            offset,
            size: len,
        };
        self.ioctl(DRM_IOCTL_RKNPU_MEM_SYNC, &mut s)
    }
}

impl<K: Kernel> Drop for Rknpu<K> {
    fn drop(&mut self) {
        self.kernel.close(self.drm);
    }
}

/// Whether `fd` is a DRM node of the rknpu driver (`DRM_IOCTL_VERSION`
/// names it "rknpu").
pub fn probe<K: Kernel>(k: &K, fd: RawFd) -> bool {
    let mut name = [0u8; 32];
    let mut v = drm_version {
        version_major: 0,
        version_minor: 0,
        version_patchlevel: 0,
        name_len: name.len(),
        name: name.as_mut_ptr().cast(),
        date_len: 0,
        date: std::ptr::null_mut(),
        desc_len: 0,
        desc: std::ptr::null_mut(),
    };
    if call(k, fd, DRM_IOCTL_VERSION, &mut v).is_err() {
        return false;
    }
    // name_len comes back as the full length, which may exceed our buffer.
    v.name_len <= name.len() && &name[..v.name_len] == b"rknpu"
}

/// The rknpu render node of this machine, if any: `/dev/dri/renderD128`
/// through `renderD191`, the first whose driver is "rknpu".
pub fn detect() -> Option<Rknpu<RealKernel>> {
    for n in 128..=191 {
        let path = format!("/dev/dri/renderD{n}\0");
        // SAFETY: path is NUL-terminated; the result is checked.
        let fd = unsafe { libc::open(path.as_ptr().cast(), libc::O_RDWR | libc::O_CLOEXEC) };
        if fd < 0 {
            continue;
        }
        if probe(&RealKernel, fd) {
            return Some(Rknpu::new(RealKernel, fd));
        }
        RealKernel.close(fd);
    }
    None
}

impl<K: Kernel> Backend for Rknpu<K> {
    fn name(&self) -> &'static str {
        "rknpu"
    }

    fn create(&self, key: BufKey<'_>, size: u64, cached: bool) -> Result<OwnedFd> {
        if size == 0 {
            return Err(Error::InvalidArgument);
        }
        let mut c = rknpu_mem_create {
            flags: if cached { CREATE_FLAGS_CACHED } else { CREATE_FLAGS_UNCACHED },
            size,
            ..Default::default()
        };
        self.ioctl(DRM_IOCTL_RKNPU_MEM_CREATE, &mut c)?;
        let o = Obj {
            handle: c.handle,
            obj_addr: c.obj_addr,
            dma_addr: c.dma_addr,
            size: c.size,
            cached,
            map_offset: None,
        };
        // The kernel only ever rounds up; anything else is not our object.
        if c.size < size {
            self.destroy(&o);
            return Err(Error::Os(libc::EPROTO));
        }
        let fd = match self.export(o.handle) {
            Ok(fd) => fd,
            Err(e) => {
                self.destroy(&o);
                return Err(e);
            }
        };
        let stale = self.objs().insert((key.device.to_string(), key.gen), o);
        if let Some(old) = stale {
            self.destroy(&old);
        }
        Ok(fd)
    }

    fn open(&self, key: BufKey<'_>) -> Result<OwnedFd> {
        let o = self.obj(key)?;
        self.export(o.handle)
    }

    fn map(&self, key: BufKey<'_>, offset: u64, len: usize, prot: i32) -> Result<*mut u8> {
        let o = self.obj(key)?;
        let end = offset.checked_add(len as u64).ok_or(Error::InvalidArgument)?;
        if len == 0 || end > o.size || offset % self.page != 0 {
            return Err(Error::InvalidArgument);
        }
        let fake = match o.map_offset {
            Some(f) => f,
            None => {
                let mut m = rknpu_mem_map {
                    handle: o.handle,
                    ..Default::default()
                };
                self.ioctl(DRM_IOCTL_RKNPU_MEM_MAP, &mut m)?;
                // The kernel hands out one offset per object; keep it.
                if let Some(e) = self.objs().get_mut(&(key.device.to_string(), key.gen)) {
                    e.map_offset = Some(m.offset);
                }
                m.offset
            }
        };
        let head = offset as usize;
        let p = self.kernel.mmap(self.drm, head + len, prot, fake).map_err(kernel_error)?;
        if head > 0 {
            // SAFETY: the first `head` bytes of the mapping just made.
            unsafe { libc::munmap(p.cast(), head) };
        }
        // SAFETY: head < head + len, inside the mapping.
        Ok(unsafe { p.add(head) })
    }

    fn release(&self, key: BufKey<'_>) {
        // Unknown keys are buffers of other processes (reaped after they
        // died): the kernel freed those with their DRM file.
        let o = self.objs().remove(&(key.device.to_string(), key.gen));
        if let Some(o) = o {
            self.destroy(&o);
        }
    }

    fn sync(&self, key: BufKey<'_>, flags: SyncFlags, offset: u64, len: u64) -> Result<()> {
        let o = self.obj(key)?;
        self.sync_obj(&o, flags, offset, len)
    }

    fn device_addr(&self, key: BufKey<'_>) -> Option<u64> {
        self.obj(key).ok().map(|o| o.dma_addr)
    }

    fn sweep(&self, _device: &str, _live: &dyn Fn(u64) -> bool) {}

    fn identify(&self, _fd: BorrowedFd<'_>) -> Option<(String, u64)> {
        None
    }
}
