//! The rknpu DRM backend, driven through the engine over a recording fake
//! of the driver (no machine here has it): the exact ioctl sequence and
//! fields, bytes through several mappings, error mapping, and the uapi
//! layouts against reference/rockchip.md §2.

mod common;
#[path = "common/rknpu_fake.rs"]
mod rknpu_fake;

use accelmem::backend::rknpu::{self, *};
use accelmem::backend::{Backend, BufKey, SyncFlags};
use accelmem::engine::{attr, AllocReq, Config, Device, SyncDir};
use accelmem::Error;
use rknpu_fake::{Call, ObjInfo, Out, RecordingKernel};
use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

/// The fake's DRM fd: any number, it never reaches the real kernel.
const DRM: i32 = 1000;
const RW: i32 = libc::PROT_READ | libc::PROT_WRITE;
const PRIME_FLAGS: u32 = DRM_CLOEXEC | DRM_RDWR;

/// A device on a unique name whose buffers come from `Rknpu` over `fake`.
struct RkDev {
    dev: Option<Device>,
    cfg: Config,
    fake: RecordingKernel,
}

impl RkDev {
    fn new(tag: &str) -> RkDev {
        Self::with_backend(tag, |fake| Box::new(Rknpu::new(fake, DRM)))
    }

    fn with_backend(tag: &str, make: impl FnOnce(RecordingKernel) -> Box<dyn Backend>) -> RkDev {
        let cfg = Config {
            device: common::unique_name(tag),
            zones: accelmem::engine::config::parse_zones("anonymous,0,0x44000000,16M").unwrap(),
            ..Config::default()
        };
        let fake = RecordingKernel::new(DRM);
        let dev = Device::with_backend(cfg.clone(), make(fake.clone())).unwrap();
        RkDev { dev: Some(dev), cfg, fake }
    }

    fn dev(&self) -> &Device {
        self.dev.as_ref().unwrap()
    }

    fn alloc(&self, size: u64, cached: bool) -> accelmem::Result<accelmem::engine::BufInfo> {
        self.dev().alloc(&AllocReq {
            size,
            attrs: if cached { attr::CACHED } else { 0 },
            name: "rk",
            ..Default::default()
        })
    }

    /// The object the last successful MEM_CREATE made.
    fn last_created(&self) -> ObjInfo {
        let h = self
            .fake
            .records()
            .iter()
            .rev()
            .find_map(|r| match r.ret {
                Ok(Out::Created { handle, .. }) => Some(handle),
                _ => None,
            })
            .expect("a MEM_CREATE succeeded");
        self.fake.object(h).expect("live")
    }
}

impl Drop for RkDev {
    fn drop(&mut self) {
        self.dev.take();
        let _ = Device::destroy(&self.cfg);
    }
}

fn create(flags: u32, size: u64) -> Call {
    Call::MemCreate {
        handle: 0,
        flags,
        size,
        sram_size: 0,
        iommu_domain_id: 0,
        core_mask: 0,
    }
}

fn mmap(len: usize, offset: u64) -> Call {
    Call::Mmap {
        fd: DRM,
        len,
        prot: RW,
        offset,
    }
}

fn sync(flags: u32, o: &ObjInfo, offset: u64, size: u64) -> Call {
    Call::MemSync {
        flags,
        obj_addr: o.obj_addr,
        offset,
        size,
    }
}

/// # Safety
/// `addr` is a live mapping of at least `off + 1` bytes.
unsafe fn poke(addr: usize, off: usize, v: u8) {
    // SAFETY: per the function's contract.
    unsafe { *((addr + off) as *mut u8) = v }
}

/// # Safety
/// As [`poke`].
unsafe fn peek(addr: usize, off: usize) -> u8 {
    // SAFETY: per the function's contract.
    unsafe { *((addr + off) as *const u8) }
}

/// Allocate, map twice, write and read through both mappings, sync each
/// way, export, free, drop: every call that reaches the kernel, in order,
/// with its fields.
#[test]
fn engine_over_rknpu_issues_the_driver_sequence() {
    let mut d = RkDev::new("rknpu-seq");
    let cached = d.alloc(5000, true).unwrap();
    assert_eq!(cached.size, 8192, "the engine page-rounds");
    let a = d.last_created();
    let uncached = d.alloc(4097, false).unwrap();
    let b = d.last_created();
    assert_ne!(a.handle, b.handle);

    // The device address is the driver's IOVA, not the zone address.
    assert_eq!(d.dev().device_addr(cached.id).unwrap(), a.dma_addr);
    assert_eq!(d.dev().device_addr(uncached.id).unwrap(), b.dma_addr);
    assert_ne!(a.dma_addr, cached.phys);

    // Two mappings of the cached buffer: the whole of it and its second page.
    let m1 = d.dev().map(cached.id, 0, 8192, true, 1).unwrap();
    let m2 = d.dev().map(cached.id, 4096, 4096, true, 2).unwrap();
    assert_ne!(m1.addr, m2.addr);
    // SAFETY: both mappings are live and long enough.
    unsafe {
        poke(m1.addr, 4096 + 7, 0x5A);
        poke(m2.addr, 100, 0xA5);
        poke(m1.addr, 0, 0x11);
        assert_eq!(peek(m2.addr, 7), 0x5A, "m2 starts at byte 4096 of the object");
        assert_eq!(peek(m1.addr, 4096 + 100), 0xA5);
        assert_eq!(peek(m2.addr, 0), 0, "zeroed; not the object's first page");
    }
    // The uncached buffer, mapped inner page first.
    let u1 = d.dev().map(uncached.id, 4096, 4096, false, 1).unwrap();
    let u2 = d.dev().map(uncached.id, 0, 8192, false, 2).unwrap();
    // SAFETY: both mappings are live and long enough.
    unsafe {
        poke(u1.addr, 4095, 0x77);
        assert_eq!(peek(u2.addr, 8191), 0x77);
    }
    let a = d.fake.object(a.handle).unwrap();
    let b = d.fake.object(b.handle).unwrap();
    let (oa, ob) = (a.map_offset.unwrap(), b.map_offset.unwrap());

    let dev = d.dev();
    dev.sync(cached.id, 0, 8192, SyncDir::ToDevice).unwrap();
    dev.sync(cached.id, 4096, 100, SyncDir::FromDevice).unwrap();
    dev.sync(cached.id, 0, 5000, SyncDir::Both).unwrap();
    for dir in [SyncDir::ToDevice, SyncDir::FromDevice, SyncDir::Both] {
        dev.sync(uncached.id, 0, 8192, dir).unwrap();
    }
    assert_eq!(dev.sync(cached.id, 4096, 8192, SyncDir::Both), Err(Error::InvalidArgument));

    // The exported fd is a dma-buf of the object: it maps the same bytes.
    let fd = dev.export_fd(cached.id).unwrap();
    // SAFETY: a fresh read-only mapping of the exported fd, unmapped below.
    unsafe {
        let p = libc::mmap(std::ptr::null_mut(), 8192, libc::PROT_READ, libc::MAP_SHARED, fd.as_raw_fd(), 0);
        assert_ne!(p, libc::MAP_FAILED);
        assert_eq!(peek(p as usize, 4096 + 7), 0x5A);
        assert_eq!(peek(p as usize, 0), 0x11);
        libc::munmap(p, 8192);
    }
    drop(fd);

    dev.free(cached.id).unwrap();
    dev.free(uncached.id).unwrap();
    dev.check().unwrap();
    assert!(d.fake.objects().is_empty(), "every object destroyed");
    d.dev.take();
    assert!(d.fake.closed());

    let expected = vec![
        create(RKNPU_MEM_CACHEABLE | RKNPU_MEM_ZEROING, 8192),
        Call::PrimeHandleToFd {
            handle: a.handle,
            flags: PRIME_FLAGS,
        },
        create(RKNPU_MEM_WRITE_COMBINE | RKNPU_MEM_ZEROING, 8192),
        Call::PrimeHandleToFd {
            handle: b.handle,
            flags: PRIME_FLAGS,
        },
        Call::MemMap { handle: a.handle },
        mmap(8192, oa),
        // The driver maps from the object's start: offset 4096 is [0, 8192)
        // with the head unmapped, and MEM_MAP is not asked again.
        mmap(8192, oa),
        Call::MemMap { handle: b.handle },
        mmap(8192, ob),
        mmap(8192, ob),
        sync(RKNPU_MEM_SYNC_TO_DEVICE, &a, 0, 8192),
        sync(RKNPU_MEM_SYNC_FROM_DEVICE, &a, 4096, 100),
        sync(RKNPU_MEM_SYNC_TO_DEVICE | RKNPU_MEM_SYNC_FROM_DEVICE, &a, 0, 5000),
        Call::PrimeHandleToFd {
            handle: a.handle,
            flags: PRIME_FLAGS,
        },
        Call::MemDestroy {
            handle: a.handle,
            obj_addr: a.obj_addr,
        },
        Call::MemDestroy {
            handle: b.handle,
            obj_addr: b.obj_addr,
        },
        Call::Close { fd: DRM },
    ];
    assert_eq!(d.fake.calls(), expected);
    let recs = d.fake.records();
    assert!(recs.iter().all(|r| r.ret.is_ok()), "no call failed: {recs:#?}");
    let reqs: Vec<u64> = recs.iter().filter_map(|r| r.req).collect();
    assert_eq!(&reqs[..2], &[0xC030_6442, 0xC00C_642D]);
    assert_eq!(reqs[4], 0xC010_6443);
    assert_eq!(reqs[6], 0xC020_6445);
    assert_eq!(reqs[reqs.len() - 1], 0xC010_6444);
}

/// Kernel failures surface as engine errors and leave no record, block or
/// object behind.
#[test]
fn kernel_failures_map_to_engine_errors_and_roll_back() {
    let d = RkDev::new("rknpu-err");
    let used = |d: &RkDev| d.dev().zones().unwrap()[0].used;

    for (errno, want) in [
        (libc::ENOMEM, Error::OutOfMemory),
        (libc::EINVAL, Error::InvalidArgument),
        (libc::EFAULT, Error::Os(libc::EFAULT)),
    ] {
        d.fake.take();
        d.fake.fail_next(DRM_IOCTL_RKNPU_MEM_CREATE, errno);
        assert_eq!(d.alloc(4096, true).map(|b| b.id), Err(want));
        let recs = d.fake.take();
        assert_eq!(recs.len(), 1, "{recs:#?}");
        assert_eq!(recs[0].call, create(CREATE_FLAGS_CACHED, 4096));
        assert_eq!(recs[0].ret, Err(errno));
        d.dev().check().unwrap();
        assert_eq!(used(&d), 0, "the zone range was returned");
    }

    // Export fails after the object exists: it is destroyed again.
    d.fake.fail_next(DRM_IOCTL_PRIME_HANDLE_TO_FD, libc::EMFILE);
    assert_eq!(d.alloc(4096, false).map(|b| b.id), Err(Error::Os(libc::EMFILE)));
    let recs = d.fake.take();
    let Ok(Out::Created { handle, obj_addr, .. }) = recs[0].ret else {
        panic!("{recs:#?}")
    };
    assert_eq!(
        recs.iter().map(|r| r.call.clone()).collect::<Vec<_>>(),
        vec![
            create(CREATE_FLAGS_UNCACHED, 4096),
            Call::PrimeHandleToFd {
                handle,
                flags: PRIME_FLAGS
            },
            Call::MemDestroy { handle, obj_addr },
        ]
    );
    assert!(d.fake.objects().is_empty());
    d.dev().check().unwrap();
    assert_eq!(used(&d), 0);

    // The engine is usable afterwards; a failed MEM_MAP is asked again.
    let b = d.alloc(4096, true).unwrap();
    let o = d.last_created();
    d.fake.take();
    d.fake.fail_next(DRM_IOCTL_RKNPU_MEM_MAP, libc::ENOMEM);
    assert_eq!(d.dev().map(b.id, 0, 4096, true, 1).map(|m| m.addr), Err(Error::OutOfMemory));
    let m = d.dev().map(b.id, 0, 4096, true, 1).unwrap();
    // SAFETY: a live 4096-byte mapping.
    unsafe { poke(m.addr, 4095, 1) };
    let off = d.fake.object(o.handle).unwrap().map_offset.unwrap();
    assert_eq!(
        d.fake.calls(),
        vec![
            Call::MemMap { handle: o.handle },
            Call::MemMap { handle: o.handle },
            mmap(4096, off)
        ]
    );
    // A failed sync is reported, and the buffer stays.
    d.fake.fail_next(DRM_IOCTL_RKNPU_MEM_SYNC, libc::EIO);
    assert_eq!(d.dev().sync(b.id, 0, 4096, SyncDir::ToDevice), Err(Error::Os(libc::EIO)));
    d.dev().free(b.id).unwrap();
    d.dev().check().unwrap();
    assert_eq!(used(&d), 0);
    assert!(d.fake.objects().is_empty());
}

/// Counts the sync calls that reach the backend.
struct CountSyncs<B> {
    inner: B,
    syncs: std::sync::Arc<AtomicU64>,
}

impl<B: Backend> Backend for CountSyncs<B> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn create(&self, key: BufKey<'_>, size: u64, cached: bool) -> accelmem::Result<OwnedFd> {
        self.inner.create(key, size, cached)
    }
    fn open(&self, key: BufKey<'_>) -> accelmem::Result<OwnedFd> {
        self.inner.open(key)
    }
    fn map(&self, key: BufKey<'_>, offset: u64, len: usize, prot: i32) -> accelmem::Result<*mut u8> {
        self.inner.map(key, offset, len, prot)
    }
    fn release(&self, key: BufKey<'_>) {
        self.inner.release(key)
    }
    fn sync(&self, key: BufKey<'_>, flags: SyncFlags, offset: u64, len: u64) -> accelmem::Result<()> {
        self.syncs.fetch_add(1, Ordering::SeqCst);
        self.inner.sync(key, flags, offset, len)
    }
    fn device_addr(&self, key: BufKey<'_>) -> Option<u64> {
        self.inner.device_addr(key)
    }
    fn sweep(&self, device: &str, live: &dyn Fn(u64) -> bool) {
        self.inner.sweep(device, live)
    }
    fn identify(&self, fd: BorrowedFd<'_>) -> Option<(String, u64)> {
        self.inner.identify(fd)
    }
}

/// The engine never asks the backend to sync an uncached buffer, and the
/// backend on its own sends no MEM_SYNC for one (the driver rejects it).
#[test]
fn uncached_sync_reaches_nothing() {
    let syncs = std::sync::Arc::new(AtomicU64::new(0));
    let s2 = syncs.clone();
    let d = RkDev::with_backend("rknpu-unc", move |fake| {
        Box::new(CountSyncs {
            inner: Rknpu::new(fake, DRM),
            syncs: s2,
        })
    });
    let u = d.alloc(4096, false).unwrap();
    let c = d.alloc(4096, true).unwrap();
    d.fake.take();
    for dir in [SyncDir::ToDevice, SyncDir::FromDevice, SyncDir::Both] {
        d.dev().sync(u.id, 0, 4096, dir).unwrap();
    }
    assert_eq!(syncs.load(Ordering::SeqCst), 0, "Device::sync short-circuits uncached buffers");
    assert!(d.fake.calls().is_empty());
    d.dev().sync(c.id, 0, 4096, SyncDir::ToDevice).unwrap();
    assert_eq!(syncs.load(Ordering::SeqCst), 2, "a START/END pair per engine sync");
    assert_eq!(d.fake.calls().len(), 1, "one MEM_SYNC per pair");
    d.dev().free(u.id).unwrap();
    d.dev().free(c.id).unwrap();

    // The backend alone, with dma-buf flags.
    let fake = RecordingKernel::new(DRM);
    let rk = Rknpu::new(fake.clone(), DRM);
    let (ku, kc) = (BufKey { device: "x", gen: 1 }, BufKey { device: "x", gen: 2 });
    let _fu = rk.create(ku, 4096, false).unwrap();
    let _fc = rk.create(kc, 4096, true).unwrap();
    let oc = fake.objects()[1];
    fake.take();
    for f in [0, 1, 2, 3, 4, 5, 6, 7] {
        if f & SyncFlags::RW != 0 {
            rk.sync(ku, SyncFlags(f), 0, 4096).unwrap();
        }
    }
    assert!(fake.calls().is_empty(), "no MEM_SYNC for an uncached object");
    let mut want = vec![];
    for (f, mode) in [
        (SyncFlags::START | SyncFlags::READ, Some(RKNPU_MEM_SYNC_FROM_DEVICE)),
        (SyncFlags::START | SyncFlags::WRITE, None),
        (SyncFlags::START | SyncFlags::RW, None),
        (SyncFlags::END | SyncFlags::READ, None),
        (SyncFlags::END | SyncFlags::WRITE, Some(RKNPU_MEM_SYNC_TO_DEVICE)),
        (SyncFlags::END | SyncFlags::RW, Some(RKNPU_MEM_SYNC_MASK)),
    ] {
        rk.sync(kc, SyncFlags(f), 4096 - 64, 64).unwrap();
        want.extend(mode.map(|m| sync(m, &oc, 4096 - 64, 64)));
    }
    assert_eq!(fake.calls(), want);
    // Bad flags and ranges are refused before the kernel.
    fake.take();
    for f in [0, 4, 8, 8 | 2] {
        assert_eq!(rk.sync(kc, SyncFlags(f), 0, 4096), Err(Error::InvalidArgument), "flags {f}");
    }
    assert_eq!(
        rk.sync(kc, SyncFlags(SyncFlags::END | SyncFlags::WRITE), 4096, 1),
        Err(Error::InvalidArgument)
    );
    assert_eq!(
        rk.sync(kc, SyncFlags(SyncFlags::END | SyncFlags::WRITE), 1, u64::MAX),
        Err(Error::InvalidArgument)
    );
    assert!(fake.calls().is_empty());

    // And the fake, as the driver, rejects what the backend never sends.
    let ou = fake.objects()[0];
    let mut s = rknpu_mem_sync {
        flags: RKNPU_MEM_SYNC_TO_DEVICE,
        obj_addr: ou.obj_addr,
        size: 4096,
        ..Default::default()
    };
    // SAFETY: the struct the request names.
    let e = unsafe { fake.ioctl(DRM, DRM_IOCTL_RKNPU_MEM_SYNC, (&mut s as *mut rknpu_mem_sync).cast()) };
    assert_eq!(e.unwrap_err().raw_os_error(), Some(libc::EINVAL), "non-cacheable");
    s.obj_addr = 0x1234;
    // SAFETY: as above.
    let e = unsafe { fake.ioctl(DRM, DRM_IOCTL_RKNPU_MEM_SYNC, (&mut s as *mut rknpu_mem_sync).cast()) };
    assert_eq!(e.unwrap_err().raw_os_error(), Some(libc::EINVAL), "unknown cookie");
}

/// Keys this process's DRM file never created cannot be reached.
#[test]
fn foreign_keys_are_not_supported() {
    let fake = RecordingKernel::new(DRM);
    let rk = Rknpu::new(fake.clone(), DRM);
    let k = BufKey { device: "other", gen: 9 };
    assert_eq!(rk.open(k).err(), Some(Error::NotSupported));
    assert_eq!(rk.map(k, 0, 4096, RW).err(), Some(Error::NotSupported));
    assert_eq!(
        rk.sync(k, SyncFlags(SyncFlags::END | SyncFlags::WRITE), 0, 1),
        Err(Error::NotSupported)
    );
    assert_eq!(rk.device_addr(k), None);
    rk.release(k);
    assert!(fake.calls().is_empty());
    // A second export of a known key is a new fd of the same object.
    let k = BufKey { device: "mine", gen: 1 };
    let f1 = rk.create(k, 100, true).unwrap();
    let f2 = rk.open(k).unwrap();
    assert_ne!(f1.as_raw_fd(), f2.as_raw_fd());
    assert_eq!(fake.objects()[0].size, 4096, "the driver page-rounds");
    assert_eq!(rk.map(k, 4096, 4096, RW).err(), Some(Error::InvalidArgument), "past the object");
    assert_eq!(rk.map(k, 100, 1, RW).err(), Some(Error::InvalidArgument), "not page-aligned");
}

/// SRAM sizes come from ACTION; detection reads DRM_IOCTL_VERSION.
#[test]
fn sram_sizes_and_probe() {
    let fake = RecordingKernel::new(DRM).with_sram(0xEF000, 0x80000);
    let rk = Rknpu::new(fake.clone(), DRM);
    assert_eq!(rk.sram_sizes(), Ok((0xEF000, 0x80000)));
    assert_eq!(
        fake.calls(),
        vec![
            Call::Action {
                flags: RKNPU_GET_TOTAL_SRAM_SIZE,
                value: 0
            },
            Call::Action {
                flags: RKNPU_GET_FREE_SRAM_SIZE,
                value: 0
            },
        ]
    );
    assert_eq!(fake.records()[0].req, Some(0xC008_6440));
    fake.fail_next(DRM_IOCTL_RKNPU_ACTION, libc::ENOTTY);
    assert_eq!(rk.sram_sizes(), Err(Error::Os(libc::ENOTTY)));

    fake.take();
    assert!(rknpu::probe(&fake, DRM));
    assert_eq!(fake.records()[0].req, Some(DRM_IOCTL_VERSION));
    assert!(!rknpu::probe(&fake, DRM + 1), "not the DRM fd");
    assert!(!rknpu::probe(&RecordingKernel::new(DRM).with_name("panfrost"), DRM));
    assert!(!rknpu::probe(&RecordingKernel::new(DRM).with_name("rknpu2"), DRM));
    drop(rk);
    assert!(fake.closed(), "the backend closes its DRM fd");
    assert!(!rknpu::probe(&fake, DRM), "closed");

    // This machine: whatever detect finds must really be an rknpu node.
    let any_node = (128..=191).any(|n| std::path::Path::new(&format!("/dev/dri/renderD{n}")).exists());
    match rknpu::detect() {
        Some(r) => assert!(rknpu::probe(&RealKernel, r.drm_fd())),
        None => println!("no rknpu render node here (render nodes present: {any_node})"),
    }
}

/// Layouts and numbers against the reference (§2.2–2.4), at run time too.
#[test]
fn uapi_layout_matches_reference() {
    assert_eq!(size_of::<rknpu_mem_create>(), 48);
    assert_eq!(
        [
            offset_of!(rknpu_mem_create, handle),
            offset_of!(rknpu_mem_create, flags),
            offset_of!(rknpu_mem_create, size),
            offset_of!(rknpu_mem_create, obj_addr),
            offset_of!(rknpu_mem_create, dma_addr),
            offset_of!(rknpu_mem_create, sram_size),
            offset_of!(rknpu_mem_create, iommu_domain_id),
            offset_of!(rknpu_mem_create, core_mask),
        ],
        [0, 4, 8, 16, 24, 32, 40, 44]
    );
    assert_eq!(size_of::<rknpu_mem_map>(), 16);
    assert_eq!(
        [
            offset_of!(rknpu_mem_map, handle),
            offset_of!(rknpu_mem_map, reserved),
            offset_of!(rknpu_mem_map, offset)
        ],
        [0, 4, 8]
    );
    assert_eq!(size_of::<rknpu_mem_destroy>(), 16);
    assert_eq!(
        [
            offset_of!(rknpu_mem_destroy, handle),
            offset_of!(rknpu_mem_destroy, reserved),
            offset_of!(rknpu_mem_destroy, obj_addr)
        ],
        [0, 4, 8]
    );
    assert_eq!(size_of::<rknpu_mem_sync>(), 32);
    assert_eq!(
        [
            offset_of!(rknpu_mem_sync, flags),
            offset_of!(rknpu_mem_sync, reserved),
            offset_of!(rknpu_mem_sync, obj_addr),
            offset_of!(rknpu_mem_sync, offset),
            offset_of!(rknpu_mem_sync, size),
        ],
        [0, 4, 8, 16, 24]
    );
    assert_eq!(size_of::<rknpu_action>(), 8);
    assert_eq!([offset_of!(rknpu_action, flags), offset_of!(rknpu_action, value)], [0, 4]);
    assert_eq!(size_of::<drm_prime_handle>(), 12);
    assert_eq!(
        [
            offset_of!(drm_prime_handle, handle),
            offset_of!(drm_prime_handle, flags),
            offset_of!(drm_prime_handle, fd)
        ],
        [0, 4, 8]
    );
    let w = size_of::<usize>();
    let first = if w == 8 { 16 } else { 12 };
    assert_eq!(size_of::<drm_version>(), first + 6 * w);
    assert_eq!(
        [
            offset_of!(drm_version, version_major),
            offset_of!(drm_version, version_minor),
            offset_of!(drm_version, version_patchlevel),
            offset_of!(drm_version, name_len),
            offset_of!(drm_version, name),
            offset_of!(drm_version, date_len),
            offset_of!(drm_version, date),
            offset_of!(drm_version, desc_len),
            offset_of!(drm_version, desc),
        ],
        [
            0,
            4,
            8,
            first,
            first + w,
            first + 2 * w,
            first + 3 * w,
            first + 4 * w,
            first + 5 * w
        ]
    );

    // §2.2 table, and the generic _IOC encoding it comes from.
    assert_eq!(
        [
            DRM_IOCTL_RKNPU_ACTION,
            DRM_IOCTL_RKNPU_MEM_CREATE,
            DRM_IOCTL_RKNPU_MEM_MAP,
            DRM_IOCTL_RKNPU_MEM_DESTROY,
            DRM_IOCTL_RKNPU_MEM_SYNC
        ],
        [0xC008_6440, 0xC030_6442, 0xC010_6443, 0xC010_6444, 0xC020_6445]
    );
    assert_eq!(drm_iowr(DRM_COMMAND_BASE + RKNPU_SUBMIT, 104), 0xC068_6441);
    assert_eq!(iowr(b'r', RKNPU_MEM_CREATE, 48), 0xC030_7202, "misc-device variant");
    assert_eq!(drm_iowr(DRM_COMMAND_BASE + RKNPU_MEM_CREATE, 40), 0xC028_6442, "0.8.x create");
    assert_eq!(DRM_IOCTL_PRIME_HANDLE_TO_FD, 0xC00C_642D);
    assert_eq!(DRM_IOCTL_VERSION, if w == 8 { 0xC040_6400 } else { 0xC024_6400 });
    assert_eq!((DRM_CLOEXEC, DRM_RDWR), (0o2000000, 2));

    // §2.4 enums.
    assert_eq!(
        [
            RKNPU_MEM_CONTIGUOUS,
            RKNPU_MEM_NON_CONTIGUOUS,
            RKNPU_MEM_NON_CACHEABLE,
            RKNPU_MEM_CACHEABLE,
            RKNPU_MEM_WRITE_COMBINE,
            RKNPU_MEM_KERNEL_MAPPING,
            RKNPU_MEM_IOMMU,
            RKNPU_MEM_ZEROING,
            RKNPU_MEM_SECURE,
            RKNPU_MEM_DMA32,
            RKNPU_MEM_TRY_ALLOC_SRAM,
            RKNPU_MEM_TRY_ALLOC_NBUF,
            RKNPU_MEM_IOMMU_LIMIT_IOVA_ALIGNMENT,
        ],
        [0, 1, 0, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    );
    assert_eq!(RKNPU_MEM_MASK, 0x7FF);
    assert_eq!(
        (RKNPU_MEM_SYNC_TO_DEVICE, RKNPU_MEM_SYNC_FROM_DEVICE, RKNPU_MEM_SYNC_MASK),
        (1, 2, 3)
    );
    let actions = [
        RKNPU_GET_HW_VERSION,
        RKNPU_GET_DRV_VERSION,
        RKNPU_GET_FREQ,
        RKNPU_SET_FREQ,
        RKNPU_GET_VOLT,
        RKNPU_SET_VOLT,
        RKNPU_ACT_RESET,
        RKNPU_GET_BW_PRIORITY,
        RKNPU_SET_BW_PRIORITY,
        RKNPU_GET_BW_EXPECT,
        RKNPU_SET_BW_EXPECT,
        RKNPU_GET_BW_TW,
        RKNPU_SET_BW_TW,
        RKNPU_ACT_CLR_TOTAL_RW_AMOUNT,
        RKNPU_GET_DT_WR_AMOUNT,
        RKNPU_GET_DT_RD_AMOUNT,
        RKNPU_GET_WT_RD_AMOUNT,
        RKNPU_GET_TOTAL_RW_AMOUNT,
        RKNPU_GET_IOMMU_EN,
        RKNPU_SET_PROC_NICE,
        RKNPU_POWER_ON,
        RKNPU_POWER_OFF,
        RKNPU_GET_TOTAL_SRAM_SIZE,
        RKNPU_GET_FREE_SRAM_SIZE,
        RKNPU_GET_IOMMU_DOMAIN_ID,
        RKNPU_SET_IOMMU_DOMAIN_ID,
    ];
    assert_eq!(actions.to_vec(), (0..26).collect::<Vec<u32>>());
}
