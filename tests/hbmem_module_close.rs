//! The module's last `hb_mem_module_close` frees what the process still
//! holds through hbmem and destroys its queues (a waiting consumer wakes),
//! memory pools and share pools.
//! Its own test binary: closing the module is process-wide.

use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::pool::*;
use accelmem::api::horizon::hbmem::queue::*;
use accelmem::engine::{Config, Device};

#[test]
fn last_close_frees_buffers_and_destroys_queues() {
    let dir = std::path::PathBuf::from(format!("/dev/shm/accelmem-test-hbclose-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let name = format!("t-hbclose-{}", std::process::id());
    // SAFETY: set before any other thread exists or any export is called.
    unsafe {
        std::env::set_var("ACCELMEM_DEVICE", &name);
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
        std::env::remove_var("ACCELMEM_BACKEND");
    }
    let mut b = hb_mem_common_buf_t {
        fd: -1,
        share_id: 0,
        flags: 0,
        size: 0,
        virt_addr: std::ptr::null_mut(),
        phys_addr: 0,
        offset: 0,
    };
    let mut q = hb_mem_buf_queue_t {
        unique_id: 0,
        count: 2,
        item_size: 8,
    };
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_module_open(), 0);
        assert_eq!(hb_mem_module_open(), 0);
        assert_eq!(hb_mem_alloc_com_buf(8192, 0, &mut b), 0);
        assert_eq!(hb_mem_create_buf_queue(&mut q), 0);
    }
    let mut pool = hb_mem_pool_t::default();
    let mut pb = b;
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_pool_create(64 << 10, 0, &mut pool), 0);
        // Alloc and free twice: the second pair runs the pool's fast path.
        for _ in 0..2 {
            assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 100, &mut pb), 0);
            assert_eq!(hb_mem_pool_free_buf(pb.virt_addr as u64), 0);
        }
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 100, &mut pb), 0);
    }
    // A share pool with a block out: the close returns the block, then
    // destroys the pool.
    let mut sp = hb_mem_share_pool_t::default();
    let mut sb = b;
    // SAFETY: valid out pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_create(2, 4096, 0, &mut sp), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, &mut sb), 0);
    }
    let qq = q;
    let waiter = std::thread::spawn(move || {
        let mut q = qq;
        let mut slot = -1;
        let mut item = [0u8; 8];
        // SAFETY: valid pointers; waits until the queue goes.
        unsafe { hb_mem_request_buf(&mut q, &mut slot, item.as_mut_ptr().cast(), -1) }
    });
    std::thread::sleep(std::time::Duration::from_millis(30));
    let dev = Device::open_existing(Config {
        device: name.clone(),
        shm_dir: dir.clone(),
        ..Config::default()
    })
    .unwrap();
    // SAFETY: plain calls.
    unsafe {
        // Two opens: the first close keeps everything.
        assert_eq!(hb_mem_module_close(), 0);
        assert_eq!(dev.zones().unwrap()[0].blocks.len(), 3);
        assert_eq!(hb_mem_pool_free_buf(pb.virt_addr as u64), 0, "the pool survives the first close");
        assert_eq!(hb_mem_module_close(), 0);
    }
    assert_eq!(waiter.join().unwrap(), HB_MEM_ERR_QUEUE_DESTROYED);
    assert_eq!(dev.zones().unwrap()[0].blocks.len(), 0, "the last close frees the buffer");
    // SAFETY: plain calls.
    unsafe {
        assert_eq!(hb_mem_free_buf(b.fd), HB_MEM_ERR_MODULE_NOT_FOUND);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 100, &mut pb), HB_MEM_ERR_MODULE_NOT_FOUND);
        assert_eq!(hb_mem_pool_free_buf(pb.virt_addr as u64), HB_MEM_ERR_MODULE_NOT_FOUND);
        assert_eq!(hb_mem_module_open(), 0);
        assert_eq!(hb_mem_destroy_buf_queue(&mut q), HB_MEM_ERR_QUEUE_DESTROYED);
        assert_eq!(hb_mem_pool_alloc_buf(pool.fd, 100, &mut pb), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_pool_free_buf(pb.virt_addr as u64), HB_MEM_ERR_INVALID_VADDR);
        let mut info = hb_mem_share_pool_t::default();
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), HB_MEM_ERR_POOL_DESTROYED);
        assert_eq!(hb_mem_module_close(), 0);
    }
    // Two threads racing to close the last open: one closes, the other is
    // told the module is not open (the count never goes below zero).
    for _ in 0..2000 {
        // SAFETY: plain calls.
        assert_eq!(unsafe { hb_mem_module_open() }, 0);
        let bar = std::sync::Barrier::new(2);
        let mut r: Vec<i32> = std::thread::scope(|s| {
            let h: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        bar.wait();
                        // SAFETY: plain call.
                        unsafe { hb_mem_module_close() }
                    })
                })
                .collect();
            h.into_iter().map(|h| h.join().unwrap()).collect()
        });
        r.sort();
        assert_eq!(r, vec![HB_MEM_ERR_MODULE_NOT_FOUND, 0]);
    }
    dev.check().unwrap();
    drop(dev);
    let _ = Device::destroy(&Config {
        device: name,
        shm_dir: dir.clone(),
        ..Config::default()
    });
    let _ = std::fs::remove_dir_all(&dir);
}
