//! The emulated backend: each buffer is a file in a shared-memory directory
//! (`/dev/shm` by default) named after its device and generation, so any
//! process of the same user can open it by key, and its fd maps it at 0.

use super::{Backend, BufKey, SyncFlags};
use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// Shared-memory files under one directory.
pub struct Emulated {
    dir: PathBuf,
    /// Completed sync calls, for statistics.
    pub syncs: AtomicU64,
}

impl Emulated {
    pub fn new(dir: PathBuf) -> Emulated {
        Emulated {
            dir,
            syncs: AtomicU64::new(0),
        }
    }

    fn path(&self, key: BufKey<'_>) -> Result<CString> {
        let p = self.dir.join(format!("accelmem.{}.{:x}", key.device, key.gen));
        CString::new(p.into_os_string().into_encoded_bytes()).map_err(|_| Error::InvalidArgument)
    }

    fn open_flags(&self, key: BufKey<'_>, flags: i32) -> Result<OwnedFd> {
        let p = self.path(key)?;
        // SAFETY: p is NUL-terminated; the result is checked.
        let fd = unsafe { libc::open(p.as_ptr(), flags | libc::O_RDWR | libc::O_CLOEXEC | libc::O_NOFOLLOW, 0o600) };
        if fd < 0 {
            return Err(Error::last_os());
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl Backend for Emulated {
    fn name(&self) -> &'static str {
        "emulated"
    }

    fn create(&self, key: BufKey<'_>, size: u64, _cached: bool) -> Result<OwnedFd> {
        let size = libc::off_t::try_from(size).map_err(|_| Error::OutOfMemory)?;
        let fd = self.open_flags(key, libc::O_CREAT | libc::O_EXCL).or_else(|e| {
            // A stale object from a crashed run: replace it.
            if e == Error::Os(libc::EEXIST) {
                self.release(key);
                self.open_flags(key, libc::O_CREAT | libc::O_EXCL)
            } else {
                Err(e)
            }
        })?;
        // SAFETY: valid fd; a sparse file reads as zeros like fresh memory.
        if unsafe { libc::ftruncate(fd.as_raw_fd(), size) } != 0 {
            let e = Error::last_os();
            self.release(key);
            return Err(if e == Error::Os(libc::ENOSPC) { Error::OutOfMemory } else { e });
        }
        Ok(fd)
    }

    fn open(&self, key: BufKey<'_>) -> Result<OwnedFd> {
        self.open_flags(key, 0)
    }

    fn release(&self, key: BufKey<'_>) {
        if let Ok(p) = self.path(key) {
            // SAFETY: p is NUL-terminated.
            unsafe { libc::unlink(p.as_ptr()) };
        }
    }

    fn sync(&self, _key: BufKey<'_>, flags: SyncFlags, _offset: u64, _len: u64) -> Result<()> {
        if flags.0 & !SyncFlags::VALID != 0 || flags.0 & SyncFlags::RW == 0 {
            return Err(Error::InvalidArgument);
        }
        // CPU and "device" share coherent host memory: a full fence is the
        // whole of the maintenance.
        std::sync::atomic::fence(Ordering::SeqCst);
        self.syncs.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn identify(&self, fd: BorrowedFd<'_>) -> Option<(String, u64)> {
        // Our objects are regular files; anything else only looks like one.
        // SAFETY: fstat into a zeroed struct on a borrowed, open fd.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return None;
        }
        let target = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok()?;
        if target.parent()? != self.dir.as_path() {
            return None;
        }
        let name = target.file_name()?.to_str()?;
        let (dev, gen) = name.strip_prefix("accelmem.")?.rsplit_once('.')?;
        Some((dev.to_string(), u64::from_str_radix(gen, 16).ok()?))
    }

    fn sweep(&self, device: &str, live: &dyn Fn(u64) -> bool) {
        let prefix = format!("accelmem.{device}.");
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return };
        for e in rd.flatten() {
            let name = e.file_name();
            let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
                continue;
            };
            if let Ok(gen) = u64::from_str_radix(rest, 16) {
                if !live(gen) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}
