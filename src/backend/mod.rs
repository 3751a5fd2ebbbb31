//! Where a buffer's bytes come from.
//!
//! The engine decides *where* in a zone a buffer lives; a backend provides
//! the bytes as a file descriptor that behaves like a dma-buf: `mmap(fd, 0)`
//! maps the buffer, passing the fd shares it, and cache maintenance is a
//! `DMA_BUF_IOCTL_SYNC`-shaped call on it. The emulated backend is the
//! default; a Linux dma-buf heap backend (`DMA_HEAP_IOCTL_ALLOC`) and the
//! Rockchip NPU's DRM backend fit the same trait.

pub mod emulated;
pub mod rknpu;

use crate::error::Result;
use std::os::fd::{BorrowedFd, OwnedFd};

pub use emulated::Emulated;

/// Identifies a buffer's backing object across processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BufKey<'a> {
    pub device: &'a str,
    /// The buffer's device-unique generation number.
    pub gen: u64,
}

/// Direction and phase of a CPU-access bracket, as `struct dma_buf_sync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncFlags(pub u64);

impl SyncFlags {
    pub const READ: u64 = 1;
    pub const WRITE: u64 = 2;
    pub const RW: u64 = 3;
    pub const START: u64 = 0;
    pub const END: u64 = 4;
    /// `DMA_BUF_SYNC_VALID_FLAGS_MASK`.
    pub const VALID: u64 = 7;
}

/// A provider of buffer memory.
pub trait Backend: Send + Sync {
    /// Short name for listings.
    fn name(&self) -> &'static str;
    /// Create the backing object of a new buffer; the fd maps it at offset 0.
    /// `cached`: CPU mappings may be cached (the owner syncs).
    fn create(&self, key: BufKey<'_>, size: u64, cached: bool) -> Result<OwnedFd>;
    /// Open an existing buffer's object from any process.
    fn open(&self, key: BufKey<'_>) -> Result<OwnedFd>;
    /// Map `len` bytes at `offset` of a buffer. The default maps the fd
    /// `open` gives; a DRM backend maps its device node at the object's
    /// fake offset instead.
    fn map(&self, key: BufKey<'_>, offset: u64, len: usize, prot: i32) -> Result<*mut u8> {
        use std::os::fd::AsRawFd;
        let fd = self.open(key)?;
        // SAFETY: mapping an object we just opened; the result is checked.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                offset as libc::off_t,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(crate::Error::last_os());
        }
        Ok(p.cast())
    }
    /// Drop the object when the buffer is freed (mappings stay valid).
    fn release(&self, key: BufKey<'_>);
    /// Cache maintenance on `len` bytes at `offset`: `START`/`END` with
    /// `READ`/`WRITE`, as `struct dma_buf_sync` brackets CPU access.
    fn sync(&self, key: BufKey<'_>, flags: SyncFlags, offset: u64, len: u64) -> Result<()>;
    /// The address the device itself uses for the buffer (an IOVA), when the
    /// backend's hardware assigns one; `None`: the engine's zone address.
    fn device_addr(&self, key: BufKey<'_>) -> Option<u64> {
        let _ = key;
        None
    }
    /// Remove objects of `device` that no buffer record names (after a crash).
    fn sweep(&self, device: &str, live: &dyn Fn(u64) -> bool);
    /// If `fd` is one of this backend's buffer objects: its device and
    /// generation.
    fn identify(&self, fd: BorrowedFd<'_>) -> Option<(String, u64)>;
}
