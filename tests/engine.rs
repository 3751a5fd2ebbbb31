//! The engine through its Rust API: allocation, mapping, lookup, pools,
//! coalescing and the consistency checker.

mod common;
use accelmem::engine::{attr, AllocReq, Device, PoolReq, SyncDir};
use accelmem::Error;
use common::TestDevice;

fn req(size: u64, name: &str) -> AllocReq<'_> {
    AllocReq {
        size,
        name,
        ..AllocReq::default()
    }
}

#[test]
fn alloc_map_lookup_free() {
    let t = TestDevice::new("amlf", "anonymous,0,0x44000000,64M");
    let d = t.dev();
    let (a, ma) = d.alloc_mapped(&req(1 << 20, "test")).unwrap();
    let (b, mb) = d
        .alloc_mapped(&AllocReq {
            attrs: attr::CACHED,
            ..req(1 << 20, "test_cache")
        })
        .unwrap();
    // First fit from the bottom of the zone, page granular, in order.
    assert_eq!(a.phys, 0x4400_0000);
    assert_eq!(b.phys, 0x4410_0000);
    assert!(!ma.cached && mb.cached);
    // Bytes are real memory.
    // SAFETY: the mapping is 1 MiB long.
    unsafe { std::ptr::write_bytes(ma.addr as *mut u8, 0xAB, 1 << 20) };
    // A second view of the same physical address sees the same bytes.
    let (found, off) = d.find_phys(a.phys + 4096).unwrap();
    assert_eq!((found.id, off), (a.id, 4096));
    let v = d.map(a.id, 4096, 100, false, 7).unwrap();
    // SAFETY: mapped 100 bytes.
    assert_eq!(unsafe { *(v.addr as *const u8) }, 0xAB);
    let m = d.find_addr(ma.addr + 10).unwrap();
    assert_eq!((m.phys, m.buf), (a.phys + 10, a.id));
    // Only the tag that made a mapping can undo it.
    assert_eq!(d.unmap(v.addr, 8), Err(Error::NotFound));
    d.unmap(v.addr, 7).unwrap();
    assert_eq!(d.unmap(v.addr, 7), Err(Error::NotFound));
    d.sync(b.id, 0, 4096, SyncDir::ToDevice).unwrap();
    assert_eq!(d.sync(b.id, 0, (1 << 20) + 1, SyncDir::Both), Err(Error::InvalidArgument));
    d.check().unwrap();
    d.free(a.id).unwrap();
    assert_eq!(d.free(a.id), Err(Error::NotFound));
    assert_eq!(d.find_addr(ma.addr), Err(Error::NotFound));
    assert_eq!(d.find_phys(a.phys).map(|x| x.0.id), Err(Error::NotFound));
    d.free(b.id).unwrap();
    d.check().unwrap();
    let z = d.zones().unwrap();
    assert_eq!(z[0].used, 0);
    assert_eq!(z[0].largest_free, 64 << 20);
}

#[test]
fn zones_by_name_and_bad_requests() {
    let t = TestDevice::new("zones", "anonymous,0,0x44000000,1M:ive,0,0x50000000,1M");
    let d = t.dev();
    let a = d
        .alloc(&AllocReq {
            zone: Some("ive"),
            ..req(5000, "x")
        })
        .unwrap();
    assert_eq!(a.phys, 0x5000_0000);
    assert_eq!(a.size, 8192);
    assert_eq!(a.requested, 5000);
    assert_eq!(
        d.alloc(&AllocReq {
            zone: Some("nope"),
            ..req(1, "x")
        }),
        Err(Error::NotFound)
    );
    assert_eq!(d.alloc(&req(0, "x")), Err(Error::InvalidArgument));
    assert_eq!(d.alloc(&req(u64::MAX, "x")), Err(Error::OutOfMemory));
    assert_eq!(d.alloc(&req((1 << 20) + 1, "x")), Err(Error::OutOfMemory));
    // The whole zone is allocatable, once.
    let whole = d.alloc(&req(1 << 20, "whole")).unwrap();
    assert_eq!(d.alloc(&req(1, "x")), Err(Error::OutOfMemory));
    d.free(whole.id).unwrap();
    d.free(a.id).unwrap();
    d.check().unwrap();
}

#[test]
fn pools() {
    let t = TestDevice::new("pools", "anonymous,0,0x44000000,8M");
    let d = t.dev();
    let p = d
        .pool_create(&PoolReq {
            blk_size: 1000,
            blk_cnt: 3,
            name: "vb",
            tag: 7,
            ..PoolReq::default()
        })
        .unwrap();
    assert_eq!(p.stride, 4096);
    let b: Vec<_> = (0..3).map(|_| d.pool_get(p.id).unwrap()).collect();
    assert_eq!(d.pool_get(p.id), Err(Error::OutOfMemory));
    assert_eq!(b[1].phys, b[0].phys + 4096);
    assert_eq!(d.pool_block_at(b[2].phys + 10).unwrap(), b[2]);
    assert_eq!(d.pool_add_user(b[0]).unwrap(), 2);
    d.pool_release(b[0]).unwrap();
    assert_eq!(d.pool_users(b[0]).unwrap(), 1);
    assert_eq!(d.pool_destroy(p.id), Err(Error::Busy));
    // The pool's buffer cannot be freed under it.
    assert_eq!(d.free(p.buf.id), Err(Error::Busy));
    for x in &b {
        d.pool_release(*x).unwrap();
    }
    assert_eq!(d.pool_release(b[0]), Err(Error::NotFound));
    d.check().unwrap();
    assert_eq!(d.pool_get_fitting(7, 2000, None), Err(Error::NotFound));
    let got = d.pool_get_fitting(7, 500, None).unwrap();
    d.pool_release(got).unwrap();
    d.pool_destroy(p.id).unwrap();
    assert_eq!(d.pool_destroy(p.id), Err(Error::NotFound));
    assert_eq!(d.pool_get(p.id), Err(Error::NotFound));
    d.check().unwrap();
    assert_eq!(d.zones().unwrap()[0].used, 0);
}

#[test]
fn subpool_carves_chunks_and_trims() {
    use accelmem::engine::{SubPool, SubPoolCfg};
    let t = TestDevice::new("subpool", "anonymous,0,0x44000000,16M");
    let d = t.dev();
    let mut p = SubPool::new(
        d,
        SubPoolCfg {
            zone: None,
            chunk: 1 << 20,
            unit: 256,
            attrs: 0,
            name: "sub".into(),
            tag: 42,
            guard_view: true,
            max_bytes: 4 << 20,
            max_blocks_per_chunk: 1024,
        },
    )
    .unwrap();
    let a = p.alloc(1).unwrap();
    let b = p.alloc(300).unwrap();
    assert_eq!((a.len, b.len), (256, 512));
    assert_eq!(b.offset, 256);
    assert_eq!(p.reserved(), 1 << 20);
    // The handed-out address is a no-access view; the rw view has the bytes.
    assert_ne!(a.addr, a.rw);
    // SAFETY: rw views 512 bytes of b.
    unsafe { std::ptr::write_bytes(b.rw as *mut u8, 9, 512) };
    assert_eq!(d.find_addr(b.addr).unwrap().phys, b.phys);
    assert_eq!(p.find(b.addr + 511), Some(b));
    assert_eq!(p.find(b.addr + 512), None);
    // A block bigger than a chunk gets its own chunk; the limit holds.
    let big = p.alloc(2 << 20).unwrap();
    assert_eq!(p.reserved(), 3 << 20);
    assert_eq!(p.alloc(2 << 20), Err(Error::OutOfMemory));
    p.free(big.addr).unwrap();
    assert_eq!(p.free(big.addr), Err(Error::NotFound));
    p.trim_to(0);
    assert_eq!(p.reserved(), 1 << 20, "the chunk with live blocks stays");
    p.free(a.addr).unwrap();
    p.free(b.addr).unwrap();
    assert_eq!(p.used(), 0);
    p.trim_to(0);
    assert_eq!(p.reserved(), 0);
    assert_eq!(d.zones().unwrap()[0].used, 0);
    d.check().unwrap();
}

/// A pool over a chunk the caller made (`adopt`): it never grows past it,
/// never frees it, reuses small freed blocks at once, still finds room for
/// a block only the binned ones' coalesced space can hold, and catches a
/// double free of a binned block.
#[test]
fn subpool_adopts_a_chunk_and_bins_small_frees() {
    use accelmem::engine::{SubPool, SubPoolCfg};
    let t = TestDevice::new("subadopt", "anonymous,0,0x44000000,16M");
    let d = t.dev();
    let buf = d
        .alloc(&AllocReq {
            size: 64 << 10,
            name: "mine",
            ..AllocReq::default()
        })
        .unwrap();
    let m = d.map(buf.id, 0, buf.size, false, 7).unwrap();
    let mut p = SubPool::new(
        d,
        SubPoolCfg {
            zone: None,
            chunk: buf.size,
            unit: 4096,
            attrs: 0,
            name: "adopting".into(),
            tag: 7,
            guard_view: false,
            max_bytes: buf.size,
            max_blocks_per_chunk: 64,
        },
    )
    .unwrap();
    assert_eq!(p.adopt(buf.clone(), m.addr + 1), Err(Error::InvalidArgument), "unaligned mapping");
    p.adopt(buf.clone(), m.addr).unwrap();
    assert_eq!(p.reserved(), 64 << 10);

    // Fill the chunk with 16 one-page blocks; nothing more fits.
    let blocks: Vec<_> = (0..16).map(|_| p.alloc(1).unwrap()).collect();
    assert_eq!(p.alloc(1), Err(Error::OutOfMemory), "an adopted chunk does not grow");
    assert_eq!((p.used(), p.live_blocks()), (64 << 10, 16));
    // A freed page comes back at once, at the same place.
    p.free(blocks[3].addr).unwrap();
    assert_eq!(p.free(blocks[3].addr), Err(Error::NotFound), "double free");
    assert_eq!(p.find(blocks[3].addr), None);
    assert_eq!(p.alloc(100).unwrap().addr, blocks[3].addr);
    // Free all; a block of the whole chunk needs the binned pages merged.
    for b in &blocks {
        p.free(b.addr).unwrap();
    }
    assert_eq!((p.used(), p.live_blocks()), (0, 0));
    let whole = p.alloc(64 << 10).unwrap();
    assert_eq!((whole.addr, whole.phys), (m.addr, buf.phys));
    assert_eq!(p.find(m.addr + 5000), Some(whole));
    p.free(whole.addr).unwrap();
    p.trim_to(0);
    assert_eq!(p.reserved(), 64 << 10, "trim leaves the caller's chunk");
    drop(p);
    // The buffer and mapping are still the caller's.
    // SAFETY: the mapping is 64 KiB, still mapped.
    unsafe { std::ptr::write_bytes(m.addr as *mut u8, 1, 64 << 10) };
    d.unmap(m.addr, 7).unwrap();
    d.free(buf.id).unwrap();
    d.check().unwrap();
}

/// A state file another accelmem made (another layout version) is
/// replaced, with its leftover buffer objects, when no other process maps
/// it; while one does, opening is refused rather than clobbering it.
#[test]
fn a_state_file_of_another_version_is_replaced_when_unused() {
    use std::os::unix::fs::FileExt;
    let mut t = TestDevice::new("oldver", "anonymous,0,0x44000000,4M");
    let leaked = t.dev().alloc(&AllocReq {
        size: 8192,
        name: "left",
        ..AllocReq::default()
    });
    assert!(leaked.is_ok());
    t.dev.take();
    let state = t.cfg.shm_dir.join(format!("accelmem.{}.state", t.cfg.device));
    let objects = || {
        std::fs::read_dir(&t.cfg.shm_dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&format!("accelmem.{}.", t.cfg.device)))
            .count()
    };
    assert_eq!(objects(), 2, "the state file and the leaked buffer's object");
    // The layout version is the second word of the file.
    let f = std::fs::OpenOptions::new().read(true).write(true).open(&state).unwrap();
    f.write_all_at(&1u64.to_le_bytes(), 8).unwrap();

    // Another process maps the file: refused, and the file is untouched.
    let (mut r, w) = std::io::pipe().unwrap();
    // SAFETY: the child maps the file, waits for the pipe to close, exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        drop(w);
        use std::os::fd::AsRawFd;
        // SAFETY: mapping an open file; the child only waits, then exits.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), 4096, libc::PROT_READ, libc::MAP_SHARED, f.as_raw_fd(), 0) };
        let mut b = [0u8; 1];
        let _ = std::io::Read::read(&mut r, &mut b);
        // SAFETY: leaving the child without the parent's exit handlers.
        unsafe { libc::_exit(if p == libc::MAP_FAILED { 1 } else { 0 }) };
    }
    drop(r);
    // Let the child map it.
    let t0 = std::time::Instant::now();
    while !std::fs::read_to_string(format!("/proc/{pid}/maps"))
        .unwrap()
        .contains(&*state.to_string_lossy())
    {
        assert!(t0.elapsed() < std::time::Duration::from_secs(10), "child mapped the file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert_eq!(Device::open(t.cfg.clone()).map(|_| ()), Err(Error::Corrupt));
    drop(w);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);

    // Nobody maps it now: replaced, and the old objects swept.
    let d = Device::open(t.cfg.clone()).unwrap();
    d.check().unwrap();
    assert_eq!(d.zones().unwrap()[0].blocks.len(), 0, "a fresh table");
    assert_eq!(objects(), 1, "only the new state file");
    let b = d.alloc(&AllocReq {
        size: 4096,
        name: "new",
        ..AllocReq::default()
    });
    assert!(b.is_ok());
    t.dev = Some(d);
}
