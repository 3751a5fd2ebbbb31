//! hbmem buffer queues over the engine queue.
//!
//! Queues are process-local (as documented: single process) and live in a
//! table keyed by `unique_id`. Ids count up from 1 and are never reused, so
//! an id that was handed out but is no longer in the table names a
//! destroyed queue (`HB_MEM_ERR_QUEUE_DESTROYED`); any other id is
//! `HB_MEM_ERR_QUEUE_NOT_FOUND`.
//!
//! Items are opaque `item_size`-byte blobs copied in and out through `buf`.
//! `hb_mem_dequeue_buf` copies into `buf` the item the slot held when it
//! was last queued (zeros for a slot never queued), so a producer that
//! recycles buffers gets back the one the consumer released.
//! Timeouts are in milliseconds: 0 fails at once with
//! `HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT`, > 0 waits that long and then fails
//! with `HB_MEM_ERR_TIMEOUT`, < 0 waits forever. Destroying a queue wakes
//! its waiters with `HB_MEM_ERR_QUEUE_DESTROYED`.
#![allow(clippy::missing_safety_doc)]

use super::super::hb_mem_err::*;
use super::super::hb_mem_mgr::*;
use super::{call, open_device};
use crate::engine;
use crate::engine::queue::Queue;
use crate::Error;
use std::collections::BTreeMap;
use std::ffi::c_void;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

struct Table {
    /// The id the next queue gets (ids below it were handed out).
    next: u64,
    live: BTreeMap<u64, Arc<Queue>>,
}

static QUEUES: Mutex<Table> = Mutex::new(Table {
    next: 1,
    live: BTreeMap::new(),
});

/// Only ever held briefly (never while waiting on a queue).
fn table() -> MutexGuard<'static, Table> {
    static REG: AtomicBool = AtomicBool::new(false);
    engine::register_fork_lock_once(&QUEUES, &REG);
    QUEUES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Destroy every queue of this process (the module's last close): waiters
/// wake with `HB_MEM_ERR_QUEUE_DESTROYED`.
pub(crate) fn destroy_all() {
    let all: Vec<Arc<Queue>> = std::mem::take(&mut table().live).into_values().collect();
    for q in all {
        let _ = q.destroy();
    }
}

/// The live queue `queue` names.
fn find(queue: *const hb_mem_buf_queue_t) -> Result<Arc<Queue>, i32> {
    // SAFETY: caller passes NULL or a valid struct.
    let Some(q) = (unsafe { queue.as_ref() }) else {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    };
    let t = table();
    match t.live.get(&q.unique_id) {
        Some(x) => Ok(x.clone()),
        None if q.unique_id != 0 && q.unique_id < t.next => Err(HB_MEM_ERR_QUEUE_DESTROYED),
        None => Err(HB_MEM_ERR_QUEUE_NOT_FOUND),
    }
}

/// Engine queue errors as `HB_MEM_ERR_*`.
fn qcode(e: Error) -> i32 {
    match e {
        Error::Busy => HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT,
        Error::Timeout => HB_MEM_ERR_TIMEOUT,
        Error::NotPermitted => HB_MEM_ERR_QUEUE_WRONG_SLOT,
        Error::NotFound => HB_MEM_ERR_QUEUE_DESTROYED,
        Error::InvalidArgument | Error::NullPointer => HB_MEM_ERR_INVALID_PARAMS,
        _ => HB_MEM_ERR_UNKNOWN,
    }
}

fn wait_for(timeout_ms: i64) -> Option<Duration> {
    u64::try_from(timeout_ms).ok().map(Duration::from_millis)
}

/// A slot number as the engine's index (negative ones are wrong slots).
fn slot_index(slot: i32) -> Result<usize, i32> {
    usize::try_from(slot).map_err(|_| HB_MEM_ERR_QUEUE_WRONG_SLOT)
}

/// Create a queue of `queue->count` slots of `queue->item_size` bytes
/// each; fills `queue->unique_id`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_create_buf_queue(queue: *mut hb_mem_buf_queue_t) -> i32 {
    call(|| {
        open_device()?;
        // SAFETY: caller passes NULL or a valid, writable struct.
        let Some(q) = (unsafe { queue.as_mut() }) else {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        };
        let made = Queue::new(q.count as usize, q.item_size as usize).map_err(qcode)?;
        let mut t = table();
        let id = t.next;
        t.next += 1;
        t.live.insert(id, Arc::new(made));
        q.unique_id = id;
        Ok(())
    })
}

/// Destroy a queue; threads waiting on it return
/// `HB_MEM_ERR_QUEUE_DESTROYED`, as does any later use (also a second
/// destroy).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_destroy_buf_queue(queue: *mut hb_mem_buf_queue_t) -> i32 {
    call(|| {
        open_device()?;
        let q = find(queue)?;
        // SAFETY: find() checked it is non-NULL and readable.
        let id = unsafe { (*queue).unique_id };
        table().live.remove(&id);
        q.destroy().map_err(qcode)
    })
}

/// Producer: take a FREE slot (now DEQUEUE) into `*slot`, copying the item
/// it last held into `buf` (`item_size` bytes).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_dequeue_buf(queue: *mut hb_mem_buf_queue_t, slot: *mut i32, buf: *mut c_void, timeout: i64) -> i32 {
    call(|| {
        open_device()?;
        let q = find(queue)?;
        if slot.is_null() || buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let mut item = vec![0u8; q.item_size()];
        let s = q.dequeue(wait_for(timeout), &mut item).map_err(qcode)?;
        // SAFETY: non-NULL; the caller provides item_size writable bytes
        // at buf and a writable int at slot.
        unsafe {
            std::ptr::copy_nonoverlapping(item.as_ptr(), buf.cast::<u8>(), item.len());
            slot.write(s as i32);
        }
        Ok(())
    })
}

/// Producer: copy `item_size` bytes from `buf` into a DEQUEUE slot and
/// queue it (now QUEUE) for the consumer.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_queue_buf(queue: *mut hb_mem_buf_queue_t, slot: i32, buf: *const c_void) -> i32 {
    call(|| {
        open_device()?;
        let q = find(queue)?;
        if buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        // SAFETY: non-NULL; the caller provides item_size readable bytes.
        let data = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), q.item_size()) };
        q.queue(slot_index(slot)?, data).map_err(qcode)
    })
}

/// Consumer: take the oldest QUEUE slot (now REQUEST) into `*slot`,
/// copying its item into `buf` (`item_size` bytes).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_request_buf(queue: *mut hb_mem_buf_queue_t, slot: *mut i32, buf: *mut c_void, timeout: i64) -> i32 {
    call(|| {
        open_device()?;
        let q = find(queue)?;
        if slot.is_null() || buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let mut item = vec![0u8; q.item_size()];
        let s = q.request(wait_for(timeout), &mut item).map_err(qcode)?;
        // SAFETY: non-NULL; the caller provides item_size writable bytes
        // at buf and a writable int at slot.
        unsafe {
            std::ptr::copy_nonoverlapping(item.as_ptr(), buf.cast::<u8>(), item.len());
            slot.write(s as i32);
        }
        Ok(())
    })
}

/// Consumer: give a REQUEST slot back (now FREE).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_release_buf(queue: *mut hb_mem_buf_queue_t, slot: i32) -> i32 {
    call(|| {
        open_device()?;
        find(queue)?.release(slot_index(slot)?).map_err(qcode)
    })
}

/// Cancel a DEQUEUE slot (back to FREE) or a REQUEST slot (back to QUEUE,
/// requested next).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_cancel_buf(queue: *mut hb_mem_buf_queue_t, slot: i32) -> i32 {
    call(|| {
        open_device()?;
        find(queue)?.cancel(slot_index(slot)?).map_err(qcode)
    })
}
