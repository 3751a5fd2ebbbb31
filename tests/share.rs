//! Sharing through the engine: share ids, imports counted per holder,
//! orphans that live until the last import goes, consume counts, waits,
//! and imports of a process that dies.

mod common;
use accelmem::engine::{AllocReq, Device, Part, PoolReq};
use accelmem::Error;
use common::TestDevice;
use std::time::Duration;

fn req(name: &str) -> AllocReq<'_> {
    AllocReq {
        size: 8192,
        name,
        ..AllocReq::default()
    }
}

#[test]
fn import_orphan_and_last_release() {
    let t = TestDevice::new("share", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let b = d.alloc(&req("shared")).unwrap();
    let sid = d.share_id(b.id).unwrap();
    assert!(sid > 0);
    assert_eq!(d.find_share(sid).unwrap().id, b.id);
    assert_eq!(d.import_share(sid).unwrap().id, b.id);
    assert_eq!(d.import_share(sid).unwrap().id, b.id);
    assert_eq!(d.share_info(b.id, Part::Whole).unwrap().imports, 2);
    d.check().unwrap();
    // The owner frees: the buffer lives on for its importers.
    d.free(b.id).unwrap();
    assert_eq!(d.free(b.id), Err(Error::NotPermitted), "the owner's reference is gone");
    let info = d.share_info(b.id, Part::Whole).unwrap();
    assert!(info.orphan);
    assert_eq!(d.zones().unwrap()[0].blocks.len(), 1);
    d.unimport(b.id, Part::Whole).unwrap();
    assert_eq!(d.zones().unwrap()[0].blocks.len(), 1);
    d.check().unwrap();
    // The last import frees it.
    d.unimport(b.id, Part::Whole).unwrap();
    assert_eq!(d.zones().unwrap()[0].used, 0);
    assert_eq!(d.import_share(sid).map(|_| ()), Err(Error::NotFound), "stale share id");
    assert_eq!(d.unimport(b.id, Part::Whole), Err(Error::NotFound));
    assert_eq!(d.import_share(0).map(|_| ()), Err(Error::InvalidArgument));
    d.check().unwrap();
}

#[test]
fn consume_counts_and_waits() {
    let t = TestDevice::new("consume", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let b = d.alloc(&req("consumed")).unwrap();
    assert_eq!(d.consume_add(b.id, Part::Whole, 1).unwrap(), 1);
    assert_eq!(d.consume_add(b.id, Part::Whole, -2), Err(Error::InvalidArgument));
    // Not at zero: the wait times out.
    let r = d.wait_share(b.id, Part::Whole, Some(Duration::from_millis(20)), |s| s.consume == 0);
    assert_eq!(r.map(|_| ()), Err(Error::Timeout));
    // Another thread brings it to zero while we wait.
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(30));
            d.consume_add(b.id, Part::Whole, -1).unwrap();
        });
        let got = d
            .wait_share(b.id, Part::Whole, Some(Duration::from_secs(5)), |s| s.consume == 0)
            .unwrap();
        assert_eq!(got.consume, 0);
    });
    d.free(b.id).unwrap();
}

#[test]
fn dead_importer_releases_its_imports() {
    let t = TestDevice::new("deadimp", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let b = d.alloc(&req("held")).unwrap();
    let sid = d.share_id(b.id).unwrap();
    let cfg = t.cfg.clone();
    // SAFETY: the child only opens the device, imports twice and exits
    // without running destructors or atexit handlers.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let ok = (|| {
            let c = Device::open(cfg).ok()?;
            c.import_share(sid).ok()?;
            c.import_share(sid).ok()?;
            Some(())
        })()
        .is_some();
        // SAFETY: leaving the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    // The dead child's imports count until it is reaped.
    assert_eq!(d.holders(b.id, Part::Whole).unwrap().len(), 2);
    d.reap().unwrap();
    assert_eq!(d.share_info(b.id, Part::Whole).unwrap().imports, 0);
    assert_eq!(d.holders(b.id, Part::Whole).unwrap(), vec![std::process::id() as i32]);
    d.check().unwrap();
    // And an orphan whose importer dies is freed.
    let sid2 = sid;
    let cfg = t.cfg.clone();
    // SAFETY: as above.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = Device::open(cfg).ok().and_then(|c| c.import_share(sid2).ok()).is_some();
        // SAFETY: leaving the child at once.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    d.free(b.id).unwrap();
    assert!(d.share_info(b.id, Part::Whole).unwrap().orphan);
    d.reap().unwrap();
    assert_eq!(d.zones().unwrap()[0].used, 0);
    d.check().unwrap();
}

/// An import of a range inside a pool buffer holds that block: the
/// allocator's release does not return it, the pool cannot be destroyed,
/// and the last unimport gives it back. Ranges over two blocks or inside a
/// free block are refused.
#[test]
fn an_import_holds_its_pool_block() {
    let t = TestDevice::new("shareblk", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let p = d
        .pool_create(&PoolReq {
            blk_size: 4096,
            blk_cnt: 2,
            name: "blocks",
            ..PoolReq::default()
        })
        .unwrap();
    let sid = d.share_id(p.buf.id).unwrap();
    let b0 = d.pool_get(p.id).unwrap();
    let off = b0.phys - p.buf.phys;
    assert_eq!(
        d.import_share_range(sid, 0, 8192).map(|_| ()),
        Err(Error::InvalidArgument),
        "two blocks"
    );
    assert_eq!(
        d.import_share_range(sid, 4096 - off, 4096).map(|_| ()),
        Err(Error::NotFound),
        "a free block"
    );
    let (got, part) = d.import_share_range(sid, off + 16, 64).unwrap();
    assert_eq!((got.id, part), (p.buf.id, Part::Block(b0.index)));
    let info = d.share_info(p.buf.id, part).unwrap();
    assert_eq!((info.imports, info.orphan), (1, false));
    assert_eq!(d.consume_add(p.buf.id, part, 1).unwrap(), 1);
    assert_eq!(d.share_info(p.buf.id, Part::Whole).unwrap().consume, 0, "per block");

    d.pool_release(b0).unwrap();
    assert_eq!(d.pool_info(p.id).unwrap().free_cnt, 1, "still imported");
    assert!(d.share_info(p.buf.id, part).unwrap().orphan, "its allocator let go");
    assert_eq!(d.pool_destroy(p.id), Err(Error::Busy));
    d.check().unwrap();
    assert_eq!(d.unimport(p.buf.id, Part::Whole), Err(Error::NotFound), "not a whole-buffer import");
    d.unimport(p.buf.id, part).unwrap();
    assert_eq!(d.pool_info(p.id).unwrap().free_cnt, 2);
    assert_eq!(d.share_info(p.buf.id, part).map(|_| ()), Err(Error::NotFound));
    d.check().unwrap();
    d.pool_destroy(p.id).unwrap();
}

/// Crash repair recounts block imports from the import records: a block
/// held only by imports stays out, and the imports still release it.
#[test]
fn block_imports_survive_repair() {
    let t = TestDevice::new("shareblkrep", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let p = d
        .pool_create(&PoolReq {
            blk_size: 4096,
            blk_cnt: 3,
            name: "blocks",
            ..PoolReq::default()
        })
        .unwrap();
    let sid = d.share_id(p.buf.id).unwrap();
    let b0 = d.pool_get(p.id).unwrap();
    let b1 = d.pool_get(p.id).unwrap();
    let off = b0.phys - p.buf.phys;
    let (_, part) = d.import_share_range(sid, off, 4096).unwrap();
    d.import_share_range(sid, off, 4096).unwrap();
    d.pool_release(b0).unwrap();
    let (repairs, _) = d.stats().unwrap();

    // The child takes the device lock and exits holding it.
    // SAFETY: leaving the child at once, without unwinding or exit handlers.
    common::in_child(|| d.with_lock_held(|| unsafe { libc::_exit(0) }).ok());

    assert_eq!(d.pool_info(p.id).unwrap().free_cnt, 1, "b0 imported, b1 allocated");
    assert_eq!(d.stats().unwrap().0, repairs + 1, "the dead locker's table was repaired");
    d.check().unwrap();
    assert_eq!(d.share_info(p.buf.id, part).unwrap().imports, 2);
    d.unimport(p.buf.id, part).unwrap();
    assert_eq!(d.pool_info(p.id).unwrap().free_cnt, 1);
    d.unimport(p.buf.id, part).unwrap();
    assert_eq!(d.pool_info(p.id).unwrap().free_cnt, 2);
    d.pool_release(b1).unwrap();
    d.check().unwrap();
    d.pool_destroy(p.id).unwrap();
}

/// One reap of several dead processes, where the first was an orphan's
/// last importer: the orphan is freed once, and its table record is not
/// handed out twice (it was released again for the next dead process).
#[test]
fn a_reap_of_several_dead_frees_an_orphan_once() {
    let t = TestDevice::new("shareorph2", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let x = d.alloc(&req("x")).unwrap();
    let sid = d.share_id(x.id).unwrap();
    let (r, w) = std::io::pipe().unwrap();
    let cfg = t.cfg.clone();
    // B imports x and lives until the pipe closes.
    // SAFETY: the child imports, waits on the pipe, and leaves with _exit.
    let b_pid = unsafe { libc::fork() };
    assert!(b_pid >= 0);
    if b_pid == 0 {
        drop(w);
        let ok = Device::open(cfg).ok().and_then(|c| c.import_share(sid).ok()).is_some();
        let _ = std::io::Read::read(&mut &r, &mut [0u8; 1]);
        // SAFETY: as above.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    drop(r);
    let t0 = std::time::Instant::now();
    while d.share_info(x.id, Part::Whole).unwrap().imports == 0 {
        assert!(t0.elapsed() < Duration::from_secs(10), "B imported");
        std::thread::sleep(Duration::from_millis(5));
    }
    d.free(x.id).unwrap();
    // C registers after B, then dies; then B dies: one reap sees both.
    let cfg = t.cfg.clone();
    common::in_child(|| Device::open(cfg).ok()?.alloc(&req("y")).ok().map(|_| ()));
    drop(w);
    let mut st = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(b_pid, &mut st, 0) }, b_pid);
    d.reap().unwrap();
    d.check().unwrap();
    assert_eq!(d.find_share(sid).map(|_| ()), Err(Error::NotFound), "the orphan is gone");
    let ids: Vec<_> = (0..3).map(|i| d.alloc(&req(["a", "b", "c"][i])).unwrap().id.index).collect();
    assert!(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        "distinct records: {ids:?}"
    );
    d.check().unwrap();
}

/// A process that only takes pool blocks (never allocates a buffer) is
/// still reaped: its blocks come back when it dies.
#[test]
fn a_process_that_only_takes_blocks_is_reaped() {
    let t = TestDevice::new("shareblkreap", "anonymous,0,0x44000000,4M");
    let d = t.dev();
    let p = d
        .pool_create(&PoolReq {
            blk_size: 4096,
            blk_cnt: 2,
            name: "p",
            ..PoolReq::default()
        })
        .unwrap();
    let (cfg, id) = (t.cfg.clone(), p.id);
    common::in_child(|| Device::open(cfg).ok()?.pool_get(id).ok().map(|_| ()));
    common::in_child({
        let cfg = t.cfg.clone();
        move || Device::open(cfg).ok()?.pool_get_fitting(0, 4096, None).ok().map(|_| ())
    });
    d.reap().unwrap();
    assert_eq!(d.pool_info(p.id).unwrap().free_cnt, 2, "the dead children's blocks are back");
    d.check().unwrap();
    d.pool_destroy(p.id).unwrap();
}
