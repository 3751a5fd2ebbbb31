//! hbmem buffer queues (`hb_mem_*_buf_queue`, dequeue/queue/request/
//! release/cancel) through the exported C functions: the sample_queue
//! producer/consumer pattern with real common buffers, full-queue
//! behaviour for timeout 0 and > 0, wrong slots, cancel, destroy while a
//! consumer waits, and bad input.
//!
//! The exports open one process-global device, so `init()` points it at a
//! private device and directory once, checks that every queue call fails
//! with MODULE_NOT_FOUND before `hb_mem_module_open`, then opens the module.

mod common;

use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::queue::*;
use accelmem::engine::{self, Device};
use std::ffi::c_void;
use std::ptr::{null, null_mut};
use std::sync::Once;
use std::time::{Duration, Instant};

const ITEM: u32 = std::mem::size_of::<hb_mem_common_buf_t>() as u32;

const DIR_PREFIX: &str = "accelmem-test-hbq-";

static INIT: Once = Once::new();

fn init() -> &'static Device {
    INIT.call_once(|| {
        let pid = std::process::id();
        let dir = common::own_shm_dir(DIR_PREFIX);
        std::env::set_var("ACCELMEM_DEVICE", format!("t-hbq-{pid}"));
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
        not_open_calls_fail();
        // SAFETY: no arguments.
        assert_eq!(unsafe { hb_mem_module_open() }, 0);
    });
    let dev = engine::global().expect("the global device opens");
    assert_eq!(dev.name(), format!("t-hbq-{}", std::process::id()));
    dev
}

/// Before `hb_mem_module_open`, every queue call is MODULE_NOT_FOUND.
fn not_open_calls_fail() {
    let mut q = hb_mem_buf_queue_t {
        unique_id: 0,
        count: 2,
        item_size: 8,
    };
    let (mut slot, mut b) = (0i32, [0u8; 8]);
    let bp = b.as_mut_ptr().cast::<c_void>();
    // SAFETY: valid pointers to locals.
    let got = unsafe {
        [
            hb_mem_create_buf_queue(&mut q),
            hb_mem_destroy_buf_queue(&mut q),
            hb_mem_dequeue_buf(&mut q, &mut slot, bp, 0),
            hb_mem_queue_buf(&mut q, 0, bp),
            hb_mem_request_buf(&mut q, &mut slot, bp, 0),
            hb_mem_release_buf(&mut q, 0),
            hb_mem_cancel_buf(&mut q, 0),
        ]
    };
    assert_eq!(got, [HB_MEM_ERR_MODULE_NOT_FOUND; 7]);
    assert_eq!(q.unique_id, 0, "a failed create fills nothing");
}

fn create(count: u32, item_size: u32) -> hb_mem_buf_queue_t {
    let mut q = hb_mem_buf_queue_t {
        unique_id: 0,
        count,
        item_size,
    };
    // SAFETY: valid struct.
    assert_eq!(unsafe { hb_mem_create_buf_queue(&mut q) }, 0);
    assert_ne!(q.unique_id, 0);
    q
}

fn destroy(mut q: hb_mem_buf_queue_t) {
    // SAFETY: valid struct.
    assert_eq!(unsafe { hb_mem_destroy_buf_queue(&mut q) }, 0);
}

/// (code, slot, item) of a dequeue or request of 8-byte items.
fn deq(q: &mut hb_mem_buf_queue_t, timeout: i64) -> (i32, i32, [u8; 8]) {
    let (mut s, mut b) = (-7, [0xAAu8; 8]);
    // SAFETY: valid pointers; b is item_size bytes.
    let r = unsafe { hb_mem_dequeue_buf(q, &mut s, b.as_mut_ptr().cast(), timeout) };
    (r, s, b)
}

fn req(q: &mut hb_mem_buf_queue_t, timeout: i64) -> (i32, i32, [u8; 8]) {
    let (mut s, mut b) = (-7, [0xAAu8; 8]);
    // SAFETY: valid pointers; b is item_size bytes.
    let r = unsafe { hb_mem_request_buf(q, &mut s, b.as_mut_ptr().cast(), timeout) };
    (r, s, b)
}

fn enq(q: &mut hb_mem_buf_queue_t, slot: i32, item: [u8; 8]) -> i32 {
    // SAFETY: item is item_size bytes.
    unsafe { hb_mem_queue_buf(q, slot, item.as_ptr().cast()) }
}

fn release(q: &mut hb_mem_buf_queue_t, slot: i32) -> i32 {
    // SAFETY: valid struct.
    unsafe { hb_mem_release_buf(q, slot) }
}

fn cancel(q: &mut hb_mem_buf_queue_t, slot: i32) -> i32 {
    // SAFETY: valid struct.
    unsafe { hb_mem_cancel_buf(q, slot) }
}

/// The sample_queue pattern: a producer thread fills common buffers and
/// queues their structs; a consumer thread (which opens the module itself,
/// as the sample does) requests them, checks the buffer bytes and releases
/// the slot. The producer reuses the buffer a dequeued slot hands back, so
/// no more buffers than slots are ever allocated, and all are freed at the
/// end: the process holds no buffer and the device checks clean.
#[test]
fn sample_producer_consumer_with_common_buffers() {
    const N: u32 = 60;
    const SLOTS: u32 = 4;
    let dev = init();
    let q = create(SLOTS, ITEM);
    let consumer = std::thread::spawn(move || {
        let mut q = q;
        // SAFETY: no arguments.
        assert_eq!(unsafe { hb_mem_module_open() }, 0);
        for i in 0..N {
            let mut slot = -1;
            let mut b = zeroed_buf();
            // SAFETY: b is item_size bytes.
            let r = unsafe { hb_mem_request_buf(&mut q, &mut slot, (&mut b as *mut hb_mem_common_buf_t).cast(), 3000) };
            assert_eq!(r, 0, "request {i}");
            assert!((0..SLOTS as i32).contains(&slot));
            assert_eq!(b.size, 4096, "item {i} carries the producer's struct");
            // SAFETY: the struct names a live mapping of b.size bytes in this process.
            let bytes = unsafe { std::slice::from_raw_parts(b.virt_addr as *const u8, b.size as usize) };
            assert!(bytes.iter().all(|&x| x == i as u8), "buffer bytes of item {i}");
            let mut again = zeroed_buf();
            // SAFETY: valid out pointer.
            assert_eq!(unsafe { hb_mem_get_com_buf(b.fd, &mut again) }, 0, "the item's fd is live");
            assert_eq!(again.virt_addr, b.virt_addr);
            assert_eq!(release(&mut q, slot), 0);
        }
        // SAFETY: no arguments.
        assert_eq!(unsafe { hb_mem_module_close() }, 0);
    });
    let producer = std::thread::spawn(move || {
        let mut q = q;
        let mut allocated = 0;
        for i in 0..N {
            let mut slot = -1;
            let mut b = zeroed_buf();
            // SAFETY: b is item_size bytes.
            let r = unsafe { hb_mem_dequeue_buf(&mut q, &mut slot, (&mut b as *mut hb_mem_common_buf_t).cast(), -1) };
            assert_eq!(r, 0, "dequeue {i}");
            if b.size == 0 {
                // A slot never queued hands back zeros: allocate its buffer.
                // SAFETY: valid out pointer.
                assert_eq!(unsafe { hb_mem_alloc_com_buf(4096, 0, &mut b) }, 0);
                allocated += 1;
            }
            // SAFETY: the struct names this process's mapping of b.size bytes.
            unsafe { std::ptr::write_bytes(b.virt_addr, i as u8, b.size as usize) };
            // SAFETY: b is item_size bytes.
            assert_eq!(
                unsafe { hb_mem_queue_buf(&mut q, slot, (&b as *const hb_mem_common_buf_t).cast()) },
                0
            );
        }
        allocated
    });
    let allocated = producer.join().unwrap();
    consumer.join().unwrap();
    let mut q = q;
    assert!((1..=SLOTS).contains(&allocated), "{allocated} buffers for {SLOTS} slots");
    // Drain: every slot is FREE again and hands back its last buffer.
    let mut freed = 0;
    for _ in 0..SLOTS {
        let mut slot = -1;
        let mut b = zeroed_buf();
        // SAFETY: b is item_size bytes.
        let r = unsafe { hb_mem_dequeue_buf(&mut q, &mut slot, (&mut b as *mut hb_mem_common_buf_t).cast(), 0) };
        assert_eq!(r, 0);
        if b.size != 0 {
            // SAFETY: plain fd.
            assert_eq!(unsafe { hb_mem_free_buf(b.fd) }, 0);
            freed += 1;
        }
    }
    assert_eq!(freed, allocated, "each buffer comes back from exactly one slot");
    assert_eq!(deq(&mut q, 0).0, HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT);
    destroy(q);
    assert_eq!(dev.held_by_process().unwrap().len(), 0, "no buffer leaked");
    dev.check().unwrap();
}

/// A full queue (no FREE slot) and an empty one (no QUEUE slot): timeout 0
/// fails at once with NO_AVAILABLE_SLOT, > 0 with TIMEOUT after waiting,
/// < 0 waits until another thread makes a slot available.
#[test]
fn full_and_empty_queue_timeouts() {
    init();
    let mut q = create(2, 8);
    assert_eq!(req(&mut q, 0).0, HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT);
    let t = Instant::now();
    assert_eq!(req(&mut q, 40).0, HB_MEM_ERR_TIMEOUT);
    assert!(t.elapsed() >= Duration::from_millis(40), "{:?}", t.elapsed());
    let (r0, s0, _) = deq(&mut q, 0);
    let (r1, s1, _) = deq(&mut q, 0);
    assert_eq!((r0, r1), (0, 0));
    assert_ne!(s0, s1);
    let t = Instant::now();
    let (r, s, b) = deq(&mut q, 0);
    assert_eq!(r, HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT);
    assert_eq!((s, b), (-7, [0xAA; 8]), "a failed dequeue writes nothing");
    assert!(t.elapsed() < Duration::from_millis(500), "timeout 0 does not wait");
    let t = Instant::now();
    assert_eq!(deq(&mut q, 50).0, HB_MEM_ERR_TIMEOUT);
    assert!(t.elapsed() >= Duration::from_millis(50), "{:?}", t.elapsed());
    // Full queue: the queued items stay, nothing is overwritten.
    assert_eq!(enq(&mut q, s0, [1; 8]), 0);
    assert_eq!(enq(&mut q, s1, [2; 8]), 0);
    assert_eq!(deq(&mut q, 0).0, HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT);
    // A waiting producer (timeout < 0) wakes when the consumer releases.
    let waiter = std::thread::spawn(move || {
        let mut q = q;
        deq(&mut q, -1)
    });
    std::thread::sleep(Duration::from_millis(30));
    let (r, s, b) = req(&mut q, 0);
    assert_eq!((r, s, b), (0, s0, [1; 8]), "FIFO: the first queued comes first");
    assert_eq!(release(&mut q, s), 0);
    let (r, s, b) = waiter.join().unwrap();
    assert_eq!(
        (r, s, b),
        (0, s0, [1; 8]),
        "the woken producer gets the released slot and its last item"
    );
    assert_eq!(req(&mut q, 0).1, s1);
    destroy(q);
}

/// Slot operations in the wrong state, or on a slot that does not exist,
/// are QUEUE_WRONG_SLOT and change nothing.
#[test]
fn wrong_slot_errors() {
    init();
    let mut q = create(2, 8);
    for s in [-1, 2, 1000, i32::MIN, i32::MAX] {
        assert_eq!(enq(&mut q, s, [0; 8]), HB_MEM_ERR_QUEUE_WRONG_SLOT, "queue slot {s}");
        assert_eq!(release(&mut q, s), HB_MEM_ERR_QUEUE_WRONG_SLOT, "release slot {s}");
        assert_eq!(cancel(&mut q, s), HB_MEM_ERR_QUEUE_WRONG_SLOT, "cancel slot {s}");
    }
    // FREE slot.
    assert_eq!(enq(&mut q, 0, [0; 8]), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    assert_eq!(release(&mut q, 0), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    assert_eq!(cancel(&mut q, 0), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    // DEQUEUE slot: only queue or cancel.
    let (_, s, _) = deq(&mut q, 0);
    assert_eq!(release(&mut q, s), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    assert_eq!(enq(&mut q, s, [3; 8]), 0);
    // QUEUE slot: nothing applies until requested.
    assert_eq!(enq(&mut q, s, [4; 8]), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    assert_eq!(release(&mut q, s), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    assert_eq!(cancel(&mut q, s), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    // REQUEST slot: only release or cancel.
    let (r, s2, b) = req(&mut q, 0);
    assert_eq!((r, s2, b), (0, s, [3; 8]), "the rejected second queue did not overwrite the item");
    assert_eq!(enq(&mut q, s, [5; 8]), HB_MEM_ERR_QUEUE_WRONG_SLOT);
    assert_eq!(release(&mut q, s), 0);
    assert_eq!(release(&mut q, s), HB_MEM_ERR_QUEUE_WRONG_SLOT, "double release");
    destroy(q);
}

/// Cancel returns a DEQUEUE slot to FREE (handed out next) and a REQUEST
/// slot to QUEUE (requested next, same item).
#[test]
fn cancel_paths() {
    init();
    let mut q = create(3, 8);
    let (_, a, _) = deq(&mut q, 0);
    assert_eq!(cancel(&mut q, a), 0);
    assert_eq!(enq(&mut q, a, [0; 8]), HB_MEM_ERR_QUEUE_WRONG_SLOT, "a cancelled slot is FREE");
    assert_eq!(deq(&mut q, 0).1, a, "the cancelled slot is handed out next");
    let (_, b, _) = deq(&mut q, 0);
    assert_eq!(enq(&mut q, a, [7; 8]), 0);
    assert_eq!(enq(&mut q, b, [8; 8]), 0);
    assert_eq!(req(&mut q, 0), (0, a, [7; 8]));
    assert_eq!(cancel(&mut q, a), 0);
    assert_eq!(
        release(&mut q, a),
        HB_MEM_ERR_QUEUE_WRONG_SLOT,
        "a cancelled request is QUEUE again"
    );
    assert_eq!(req(&mut q, 0), (0, a, [7; 8]), "and is requested next");
    assert_eq!(req(&mut q, 0), (0, b, [8; 8]));
    assert_eq!(req(&mut q, 0).0, HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT);
    destroy(q);
}

/// Destroying a queue wakes a consumer waiting forever with
/// QUEUE_DESTROYED; every later call on it, a second destroy included,
/// is QUEUE_DESTROYED.
#[test]
fn destroy_while_consumer_waits() {
    init();
    let q = create(2, 8);
    let waiter = std::thread::spawn(move || {
        let mut q = q;
        req(&mut q, -1)
    });
    std::thread::sleep(Duration::from_millis(50));
    let mut q2 = q;
    // SAFETY: valid struct.
    assert_eq!(unsafe { hb_mem_destroy_buf_queue(&mut q2) }, 0);
    let (r, s, b) = waiter.join().unwrap();
    assert_eq!((r, s, b), (HB_MEM_ERR_QUEUE_DESTROYED, -7, [0xAA; 8]));
    let mut q = q2;
    assert_eq!(deq(&mut q, 0).0, HB_MEM_ERR_QUEUE_DESTROYED);
    assert_eq!(deq(&mut q, 20).0, HB_MEM_ERR_QUEUE_DESTROYED);
    assert_eq!(req(&mut q, 0).0, HB_MEM_ERR_QUEUE_DESTROYED);
    assert_eq!(enq(&mut q, 0, [0; 8]), HB_MEM_ERR_QUEUE_DESTROYED);
    assert_eq!(release(&mut q, 0), HB_MEM_ERR_QUEUE_DESTROYED);
    assert_eq!(cancel(&mut q, 0), HB_MEM_ERR_QUEUE_DESTROYED);
    // SAFETY: valid struct.
    assert_eq!(unsafe { hb_mem_destroy_buf_queue(&mut q) }, HB_MEM_ERR_QUEUE_DESTROYED);
}

/// NULL pointers, bad sizes and unknown queues; a rejected call takes no
/// slot.
#[test]
fn bad_inputs() {
    init();
    let (mut s, mut b) = (0i32, [0u8; 8]);
    let bp = b.as_mut_ptr().cast::<c_void>();
    // SAFETY: NULL queues are rejected before any dereference.
    let got = unsafe {
        [
            hb_mem_create_buf_queue(null_mut()),
            hb_mem_destroy_buf_queue(null_mut()),
            hb_mem_dequeue_buf(null_mut(), &mut s, bp, 0),
            hb_mem_queue_buf(null_mut(), 0, bp),
            hb_mem_request_buf(null_mut(), &mut s, bp, 0),
            hb_mem_release_buf(null_mut(), 0),
            hb_mem_cancel_buf(null_mut(), 0),
        ]
    };
    assert_eq!(got, [HB_MEM_ERR_INVALID_PARAMS; 7]);
    for (count, item_size) in [(0, 8), (4, 0), (0, 0), (u32::MAX, 8), (4, u32::MAX), (65536, 1 << 20)] {
        let mut q = hb_mem_buf_queue_t {
            unique_id: 0,
            count,
            item_size,
        };
        // SAFETY: valid struct.
        assert_eq!(
            unsafe { hb_mem_create_buf_queue(&mut q) },
            HB_MEM_ERR_INVALID_PARAMS,
            "count {count} item_size {item_size}"
        );
        assert_eq!(q.unique_id, 0);
    }
    let mut q = create(2, 8);
    // SAFETY: NULL slot/buf are rejected before any write or read.
    unsafe {
        assert_eq!(hb_mem_dequeue_buf(&mut q, null_mut(), bp, 0), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_dequeue_buf(&mut q, &mut s, null_mut(), 0), HB_MEM_ERR_INVALID_PARAMS);
    }
    let (r0, s0, _) = deq(&mut q, 0);
    let (r1, s1, _) = deq(&mut q, 0);
    assert_eq!((r0, r1), (0, 0), "rejected dequeues took no slot");
    // SAFETY: NULL buf rejected before any read.
    assert_eq!(unsafe { hb_mem_queue_buf(&mut q, s0, null()) }, HB_MEM_ERR_INVALID_PARAMS);
    assert_eq!(enq(&mut q, s0, [1; 8]), 0, "the rejected queue left the slot DEQUEUE");
    // SAFETY: NULL slot/buf rejected before any write.
    unsafe {
        assert_eq!(hb_mem_request_buf(&mut q, null_mut(), bp, 0), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_request_buf(&mut q, &mut s, null_mut(), 0), HB_MEM_ERR_INVALID_PARAMS);
    }
    assert_eq!(req(&mut q, 0), (0, s0, [1; 8]), "rejected requests took nothing");
    assert_eq!(cancel(&mut q, s1), 0);
    // Unknown ids.
    for id in [0, u64::MAX, q.unique_id + 1_000_000] {
        let mut u = hb_mem_buf_queue_t {
            unique_id: id,
            count: 2,
            item_size: 8,
        };
        assert_eq!(deq(&mut u, 0).0, HB_MEM_ERR_QUEUE_NOT_FOUND, "id {id:#x}");
        assert_eq!(req(&mut u, 0).0, HB_MEM_ERR_QUEUE_NOT_FOUND);
        assert_eq!(enq(&mut u, 0, [0; 8]), HB_MEM_ERR_QUEUE_NOT_FOUND);
        assert_eq!(release(&mut u, 0), HB_MEM_ERR_QUEUE_NOT_FOUND);
        assert_eq!(cancel(&mut u, 0), HB_MEM_ERR_QUEUE_NOT_FOUND);
        // SAFETY: valid struct.
        assert_eq!(unsafe { hb_mem_destroy_buf_queue(&mut u) }, HB_MEM_ERR_QUEUE_NOT_FOUND);
    }
    // The queue is found by unique_id alone: a copy of the struct works.
    let mut copy = q;
    assert_eq!(release(&mut copy, s0), 0);
    destroy(q);
}

fn zeroed_buf() -> hb_mem_common_buf_t {
    // SAFETY: a C struct of integers; all zeros is valid.
    unsafe { std::mem::zeroed() }
}
