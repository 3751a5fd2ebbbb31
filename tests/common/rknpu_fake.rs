//! A recording fake of the rknpu DRM driver behind the `Kernel` seam of
//! `accelmem::backend::rknpu`, for tests on machines without the driver.
//! Include it with `#[path = "common/rknpu_fake.rs"] mod rknpu_fake;`.
//!
//! It emulates the 0.9.8 driver as reference/rockchip.md §2.5 and
//! `drivers/rknpu/rknpu_gem.c` describe it: GEM handles from 1, `obj_addr`
//! kernel-pointer cookies, `dma_addr` IOVAs, DRM fake mmap offsets from
//! 4 GiB; sizes page-rounded; `size == 0` → EINVAL; `MEM_MAP` of an
//! unknown handle → ENOENT; `MEM_DESTROY` looks up by handle only (EINVAL
//! if unknown); `MEM_SYNC` rejects unknown cookies and non-CACHEABLE
//! objects with EINVAL (and, unlike the driver, ranges past the object);
//! `mmap` maps the whole object from its start whatever page of its range
//! is asked (`vm_pgoff = 0`) and fails with EINVAL past the object.
//! Objects are memfds, so bytes persist across mappings and
//! `PRIME_HANDLE_TO_FD` returns a real fd (a dup) that maps the object at 0.
//!
//! Every call is recorded with its request number, the decoded input
//! fields and the result.
#![allow(dead_code)]

use accelmem::backend::rknpu::*;
use std::collections::HashMap;
use std::ffi::c_void;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

const PAGE: u64 = 4096;
/// `DRM_FILE_PAGE_OFFSET_START` on 64-bit kernels, in bytes.
pub const FAKE_OFFSET_BASE: u64 = 0x1_0000_0000;
/// Where the fake's IOVAs start.
pub const IOVA_BASE: u64 = 0xE000_0000;
/// First `obj_addr` cookie (a kernel heap address).
pub const OBJ_ADDR_BASE: u64 = 0xFFFF_FF80_4000_0000;

/// A decoded call (input fields as the caller passed them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    MemCreate {
        handle: u32,
        flags: u32,
        size: u64,
        sram_size: u64,
        iommu_domain_id: i32,
        core_mask: u32,
    },
    MemMap {
        handle: u32,
    },
    MemDestroy {
        handle: u32,
        obj_addr: u64,
    },
    MemSync {
        flags: u32,
        obj_addr: u64,
        offset: u64,
        size: u64,
    },
    Action {
        flags: u32,
        value: u32,
    },
    PrimeHandleToFd {
        handle: u32,
        flags: u32,
    },
    Version {
        name_len: usize,
    },
    Unknown,
    Mmap {
        fd: RawFd,
        len: usize,
        prot: i32,
        offset: u64,
    },
    Close {
        fd: RawFd,
    },
}

/// What a successful call gave back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Out {
    None,
    Created {
        handle: u32,
        size: u64,
        obj_addr: u64,
        dma_addr: u64,
    },
    Offset(u64),
    Fd(RawFd),
    Value(u32),
    Addr(usize),
}

/// One recorded call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The ioctl request number; `None` for mmap and close.
    pub req: Option<u64>,
    pub call: Call,
    /// `Err(errno)` on failure.
    pub ret: Result<Out, i32>,
}

/// A live object, as the fake's driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObjInfo {
    pub handle: u32,
    pub flags: u32,
    pub size: u64,
    pub obj_addr: u64,
    pub dma_addr: u64,
    pub map_offset: Option<u64>,
}

struct Obj {
    info: ObjInfo,
    mem: OwnedFd,
}

struct State {
    drm: RawFd,
    closed: bool,
    name: String,
    sram: (u32, u32),
    objs: HashMap<u32, Obj>,
    next_handle: u32,
    next_cookie: u64,
    next_iova: u64,
    next_offset: u64,
    fail: Vec<(u64, i32)>,
    records: Vec<Record>,
}

/// The fake driver on one fake DRM fd. Clones share state, so a test can
/// keep one while the backend owns another.
#[derive(Clone)]
pub struct RecordingKernel(Arc<Mutex<State>>);

fn err(e: i32) -> std::io::Error {
    std::io::Error::from_raw_os_error(e)
}

impl RecordingKernel {
    /// A driver named "rknpu" answering on `drm_fd` (any number: the fake
    /// never passes it to the real kernel), with no SRAM.
    pub fn new(drm_fd: RawFd) -> RecordingKernel {
        RecordingKernel(Arc::new(Mutex::new(State {
            drm: drm_fd,
            closed: false,
            name: "rknpu".into(),
            sram: (0, 0),
            objs: HashMap::new(),
            next_handle: 1,
            next_cookie: OBJ_ADDR_BASE,
            next_iova: IOVA_BASE,
            next_offset: FAKE_OFFSET_BASE,
            fail: Vec::new(),
            records: Vec::new(),
        })))
    }

    fn st(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Report another driver name to `DRM_IOCTL_VERSION`.
    pub fn with_name(self, name: &str) -> Self {
        self.st().name = name.into();
        self
    }

    /// NPU SRAM total and free bytes reported by `ACTION`.
    pub fn with_sram(self, total: u32, free: u32) -> Self {
        self.st().sram = (total, free);
        self
    }

    /// Fail the next ioctl with request `req` with `errno`.
    pub fn fail_next(&self, req: u64, errno: i32) {
        self.st().fail.push((req, errno));
    }

    /// Everything recorded so far.
    pub fn records(&self) -> Vec<Record> {
        self.st().records.clone()
    }

    /// The recorded calls, without results.
    pub fn calls(&self) -> Vec<Call> {
        self.st().records.iter().map(|r| r.call.clone()).collect()
    }

    /// Return and forget the records.
    pub fn take(&self) -> Vec<Record> {
        std::mem::take(&mut self.st().records)
    }

    /// A live object by handle.
    pub fn object(&self, handle: u32) -> Option<ObjInfo> {
        self.st().objs.get(&handle).map(|o| o.info)
    }

    /// Live objects, by handle.
    pub fn objects(&self) -> Vec<ObjInfo> {
        let mut v: Vec<ObjInfo> = self.st().objs.values().map(|o| o.info).collect();
        v.sort_by_key(|o| o.handle);
        v
    }

    /// Whether the DRM fd was closed.
    pub fn closed(&self) -> bool {
        self.st().closed
    }
}

/// Read the struct the caller passed.
///
/// # Safety
/// `arg` points to a live `T` (the size encoded in the request).
unsafe fn rd<T: Copy>(arg: *mut c_void) -> T {
    // SAFETY: per the function's contract.
    unsafe { *(arg as *const T) }
}

/// # Safety
/// As [`rd`].
unsafe fn wr<T>(arg: *mut c_void, v: T) {
    // SAFETY: per the function's contract.
    unsafe { *(arg as *mut T) = v }
}

/// Copy `s` to a user buffer as `drm_copy_field` does: at most `*len`
/// bytes, then `*len` = the full length.
///
/// # Safety
/// `buf` is NULL or holds `*len` bytes.
unsafe fn copy_field(len: &mut usize, buf: *mut libc::c_char, s: &str) {
    let n = (*len).min(s.len());
    if n > 0 && !buf.is_null() {
        // SAFETY: per the function's contract, n <= *len.
        unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast(), n) };
    }
    *len = s.len();
}

impl State {
    fn create(&mut self, mut c: rknpu_mem_create) -> Result<rknpu_mem_create, i32> {
        if let Some(o) = self.objs.get(&c.handle) {
            // An existing handle is looked up, not allocated.
            let i = o.info;
            (c.size, c.obj_addr, c.dma_addr, c.sram_size) = (i.size, i.obj_addr, i.dma_addr, 0);
            return Ok(c);
        }
        if c.size == 0 {
            return Err(libc::EINVAL);
        }
        let size = c.size.checked_add(PAGE - 1).ok_or(libc::ENOMEM)? / PAGE * PAGE;
        // SAFETY: a NUL-terminated name; the result is checked.
        let fd = unsafe { libc::memfd_create(c"rknpu-fake".as_ptr(), libc::MFD_CLOEXEC) };
        if fd < 0 {
            return Err(libc::ENOMEM);
        }
        // SAFETY: a descriptor we just made.
        let mem = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: valid fd; a sparse memfd reads as zeros (ZEROING).
        if unsafe { libc::ftruncate(mem.as_raw_fd(), size as libc::off_t) } != 0 {
            return Err(libc::ENOMEM);
        }
        let info = ObjInfo {
            handle: self.next_handle,
            flags: c.flags,
            size,
            obj_addr: self.next_cookie,
            dma_addr: self.next_iova,
            map_offset: None,
        };
        self.next_handle += 1;
        self.next_cookie += 0x400;
        self.next_iova += size;
        self.objs.insert(info.handle, Obj { info, mem });
        (c.handle, c.size, c.obj_addr, c.dma_addr, c.sram_size) = (info.handle, size, info.obj_addr, info.dma_addr, 0);
        Ok(c)
    }

    fn by_cookie(&self, obj_addr: u64) -> Option<&Obj> {
        self.objs.values().find(|o| o.info.obj_addr == obj_addr)
    }

    /// Run one ioctl.
    ///
    /// # Safety
    /// `arg` points to a live struct of the size encoded in `req`.
    unsafe fn ioctl(&mut self, req: u64, arg: *mut c_void) -> Result<Out, i32> {
        // SAFETY (all reads and writes below): per the function's contract,
        // `arg` is the struct `req` names.
        match req {
            DRM_IOCTL_RKNPU_MEM_CREATE => {
                let c = self.create(unsafe { rd(arg) })?;
                unsafe { wr(arg, c) };
                Ok(Out::Created {
                    handle: c.handle,
                    size: c.size,
                    obj_addr: c.obj_addr,
                    dma_addr: c.dma_addr,
                })
            }
            DRM_IOCTL_RKNPU_MEM_MAP => {
                let mut m: rknpu_mem_map = unsafe { rd(arg) };
                let next = &mut self.next_offset;
                let o = self.objs.get_mut(&m.handle).ok_or(libc::ENOENT)?;
                // drm_gem_create_mmap_offset: one offset per object.
                m.offset = *o.info.map_offset.get_or_insert_with(|| {
                    let v = *next;
                    *next += o.info.size;
                    v
                });
                unsafe { wr(arg, m) };
                Ok(Out::Offset(m.offset))
            }
            DRM_IOCTL_RKNPU_MEM_DESTROY => {
                let d: rknpu_mem_destroy = unsafe { rd(arg) };
                // By handle only; obj_addr is ignored, as in the driver.
                self.objs.remove(&d.handle).map(|_| Out::None).ok_or(libc::EINVAL)
            }
            DRM_IOCTL_RKNPU_MEM_SYNC => {
                let s: rknpu_mem_sync = unsafe { rd(arg) };
                let o = self.by_cookie(s.obj_addr).ok_or(libc::EINVAL)?;
                if o.info.flags & RKNPU_MEM_CACHEABLE == 0 || s.offset.checked_add(s.size).is_none_or(|e| e > o.info.size) {
                    return Err(libc::EINVAL);
                }
                Ok(Out::None)
            }
            DRM_IOCTL_RKNPU_ACTION => {
                let mut a: rknpu_action = unsafe { rd(arg) };
                a.value = match a.flags {
                    RKNPU_GET_TOTAL_SRAM_SIZE => self.sram.0,
                    RKNPU_GET_FREE_SRAM_SIZE => self.sram.1,
                    RKNPU_GET_DRV_VERSION => 908,
                    RKNPU_GET_IOMMU_EN => 1,
                    _ => return Err(libc::EINVAL),
                };
                unsafe { wr(arg, a) };
                Ok(Out::Value(a.value))
            }
            DRM_IOCTL_PRIME_HANDLE_TO_FD => {
                let mut p: drm_prime_handle = unsafe { rd(arg) };
                if p.flags & !(DRM_CLOEXEC | DRM_RDWR) != 0 {
                    return Err(libc::EINVAL);
                }
                let o = self.objs.get(&p.handle).ok_or(libc::ENOENT)?;
                // SAFETY: dup of a descriptor we own; checked below.
                p.fd = unsafe { libc::fcntl(o.mem.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 0) };
                if p.fd < 0 {
                    return Err(libc::EMFILE);
                }
                unsafe { wr(arg, p) };
                Ok(Out::Fd(p.fd))
            }
            DRM_IOCTL_VERSION => {
                let mut v: drm_version = unsafe { rd(arg) };
                (v.version_major, v.version_minor, v.version_patchlevel) = (0, 9, 8);
                unsafe {
                    copy_field(&mut v.name_len, v.name, &self.name);
                    copy_field(&mut v.date_len, v.date, "20240828");
                    copy_field(&mut v.desc_len, v.desc, "RKNPU driver");
                    wr(arg, v);
                }
                Ok(Out::None)
            }
            _ => Err(libc::EINVAL),
        }
    }

    fn mmap(&self, len: usize, prot: i32, offset: u64) -> Result<Out, i32> {
        let o = self
            .objs
            .values()
            .find(|o| o.info.map_offset.is_some_and(|m| offset >= m && offset - m < o.info.size))
            .ok_or(libc::EINVAL)?;
        let inner = offset - o.info.map_offset.unwrap_or(0);
        let pages = (len as u64).div_ceil(PAGE);
        // drm_vma_offset_lookup: the range must lie inside the object ...
        if len == 0 || inner / PAGE + pages > o.info.size / PAGE {
            return Err(libc::EINVAL);
        }
        // ... and rknpu_gem_mmap_buffer then maps from the object's start.
        // SAFETY: a fresh shared mapping of our memfd; checked below.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, o.mem.as_raw_fd(), 0) };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::ENOMEM));
        }
        Ok(Out::Addr(p as usize))
    }
}

/// The call's input fields.
///
/// # Safety
/// `arg` points to a live struct of the size encoded in `req`.
unsafe fn decode(req: u64, arg: *mut c_void) -> Call {
    // SAFETY (every read): per the function's contract.
    match req {
        DRM_IOCTL_RKNPU_MEM_CREATE => {
            let c: rknpu_mem_create = unsafe { rd(arg) };
            Call::MemCreate {
                handle: c.handle,
                flags: c.flags,
                size: c.size,
                sram_size: c.sram_size,
                iommu_domain_id: c.iommu_domain_id,
                core_mask: c.core_mask,
            }
        }
        DRM_IOCTL_RKNPU_MEM_MAP => Call::MemMap {
            handle: unsafe { rd::<rknpu_mem_map>(arg) }.handle,
        },
        DRM_IOCTL_RKNPU_MEM_DESTROY => {
            let d: rknpu_mem_destroy = unsafe { rd(arg) };
            Call::MemDestroy {
                handle: d.handle,
                obj_addr: d.obj_addr,
            }
        }
        DRM_IOCTL_RKNPU_MEM_SYNC => {
            let s: rknpu_mem_sync = unsafe { rd(arg) };
            Call::MemSync {
                flags: s.flags,
                obj_addr: s.obj_addr,
                offset: s.offset,
                size: s.size,
            }
        }
        DRM_IOCTL_RKNPU_ACTION => {
            let a: rknpu_action = unsafe { rd(arg) };
            Call::Action {
                flags: a.flags,
                value: a.value,
            }
        }
        DRM_IOCTL_PRIME_HANDLE_TO_FD => {
            let p: drm_prime_handle = unsafe { rd(arg) };
            Call::PrimeHandleToFd {
                handle: p.handle,
                flags: p.flags,
            }
        }
        DRM_IOCTL_VERSION => Call::Version {
            name_len: unsafe { rd::<drm_version>(arg) }.name_len,
        },
        _ => Call::Unknown,
    }
}

impl Kernel for RecordingKernel {
    unsafe fn ioctl(&self, fd: RawFd, req: u64, arg: *mut c_void) -> std::io::Result<i32> {
        let mut st = self.st();
        // SAFETY: the Kernel contract: `arg` is the struct `req` names.
        let call = unsafe { decode(req, arg) };
        let ret = if fd != st.drm || st.closed {
            Err(libc::EBADF)
        } else if let Some(i) = st.fail.iter().position(|f| f.0 == req) {
            // An injected failure happens before any effect.
            Err(st.fail.remove(i).1)
        } else {
            // SAFETY: as above.
            unsafe { st.ioctl(req, arg) }
        };
        st.records.push(Record { req: Some(req), call, ret });
        ret.map(|_| 0).map_err(err)
    }

    fn mmap(&self, fd: RawFd, len: usize, prot: i32, offset: u64) -> std::io::Result<*mut u8> {
        let mut st = self.st();
        let ret = if fd != st.drm || st.closed {
            Err(libc::EBADF)
        } else {
            st.mmap(len, prot, offset)
        };
        st.records.push(Record {
            req: None,
            call: Call::Mmap { fd, len, prot, offset },
            ret,
        });
        match ret {
            Ok(Out::Addr(a)) => Ok(a as *mut u8),
            Ok(_) => Err(err(libc::EIO)),
            Err(e) => Err(err(e)),
        }
    }

    fn close(&self, fd: RawFd) {
        let mut st = self.st();
        let ret = if fd == st.drm && !st.closed {
            // Closing the DRM file drops every handle.
            st.closed = true;
            st.objs.clear();
            Ok(Out::None)
        } else {
            Err(libc::EBADF)
        };
        st.records.push(Record {
            req: None,
            call: Call::Close { fd },
            ret,
        });
    }
}
