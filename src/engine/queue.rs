//! Buffer queues: fixed slots cycling FREE, DEQUEUE, QUEUE, REQUEST between
//! a producer and a consumer (one process), with timed waits.
//!
//! Each slot holds one opaque `item_size`-byte item. The producer takes a
//! free slot ([`Queue::dequeue`], which hands back the item the slot last
//! held so a recycled buffer can be reused), fills it ([`Queue::queue`]);
//! the consumer takes queued slots in FIFO order ([`Queue::request`]) and
//! gives them back ([`Queue::release`]). Waits sleep on a condition
//! variable.

use crate::error::{Error, Result};
use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Most slots a queue may have.
pub const MAX_COUNT: usize = 65536;
/// Largest item.
pub const MAX_ITEM_SIZE: usize = 1 << 20;
/// Most item bytes a queue may hold in all.
pub const MAX_BYTES: usize = 64 << 20;

/// Where a slot is in its cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotState {
    /// The producer may take it.
    Free,
    /// Held by the producer.
    Dequeued,
    /// Filled, waiting for the consumer.
    Queued,
    /// Held by the consumer.
    Requested,
}

struct Inner {
    states: Vec<SlotState>,
    items: Vec<u8>,
    /// Free slots, next to hand out first.
    free: VecDeque<usize>,
    /// Queued slots, oldest first.
    queued: VecDeque<usize>,
    destroyed: bool,
}

/// A process-local buffer queue.
pub struct Queue {
    item_size: usize,
    inner: Mutex<Inner>,
    cv: Condvar,
}

impl std::fmt::Debug for Queue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("count", &self.count())
            .field("item_size", &self.item_size)
            .finish()
    }
}

impl Queue {
    /// `count` free slots of `item_size` zeroed bytes each.
    pub fn new(count: usize, item_size: usize) -> Result<Queue> {
        if count == 0 || count > MAX_COUNT || item_size == 0 || item_size > MAX_ITEM_SIZE {
            return Err(Error::InvalidArgument);
        }
        let bytes = count
            .checked_mul(item_size)
            .filter(|&b| b <= MAX_BYTES)
            .ok_or(Error::InvalidArgument)?;
        Ok(Queue {
            item_size,
            inner: Mutex::new(Inner {
                states: vec![SlotState::Free; count],
                items: vec![0; bytes],
                free: (0..count).collect(),
                queued: VecDeque::new(),
                destroyed: false,
            }),
            cv: Condvar::new(),
        })
    }

    /// Number of slots.
    pub fn count(&self) -> usize {
        self.lock().states.len()
    }

    /// Bytes per item.
    pub fn item_size(&self) -> usize {
        self.item_size
    }

    /// The state of `slot` (`NotFound` once destroyed, `InvalidArgument`
    /// for a slot out of range).
    pub fn state(&self, slot: usize) -> Result<SlotState> {
        let g = self.live()?;
        g.states.get(slot).copied().ok_or(Error::InvalidArgument)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic never leaves Inner half-updated (no panicking code runs
        // between related updates), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn live(&self) -> Result<MutexGuard<'_, Inner>> {
        let g = self.lock();
        if g.destroyed {
            return Err(Error::NotFound);
        }
        Ok(g)
    }

    /// Wait until `pick` yields a slot. `timeout`: `None` waits forever,
    /// zero fails at once with `Busy`, otherwise `Timeout` after that long.
    /// A destroyed queue gives `NotFound`, also to waiters.
    fn wait(&self, timeout: Option<Duration>, pick: impl Fn(&mut Inner) -> Option<usize>) -> Result<(MutexGuard<'_, Inner>, usize)> {
        // A timeout too long to represent waits forever.
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut g = self.live()?;
        loop {
            if g.destroyed {
                return Err(Error::NotFound);
            }
            if let Some(s) = pick(&mut g) {
                return Ok((g, s));
            }
            match (timeout, deadline) {
                (Some(t), _) if t.is_zero() => return Err(Error::Busy),
                (_, Some(d)) => {
                    let now = Instant::now();
                    if now >= d {
                        return Err(Error::Timeout);
                    }
                    g = self.cv.wait_timeout(g, d - now).unwrap_or_else(|p| p.into_inner()).0;
                }
                _ => g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner()),
            }
        }
    }

    fn item<'a>(&self, g: &'a mut Inner, slot: usize) -> &'a mut [u8] {
        &mut g.items[slot * self.item_size..(slot + 1) * self.item_size]
    }

    /// Producer: take a free slot (FREE → DEQUEUE) and copy the item it
    /// last held (zeros if never queued) into `out`, which must be
    /// `item_size` bytes.
    pub fn dequeue(&self, timeout: Option<Duration>, out: &mut [u8]) -> Result<usize> {
        if out.len() != self.item_size {
            return Err(Error::InvalidArgument);
        }
        let (mut g, s) = self.wait(timeout, |g| g.free.pop_front())?;
        g.states[s] = SlotState::Dequeued;
        out.copy_from_slice(self.item(&mut g, s));
        Ok(s)
    }

    /// Producer: fill a dequeued slot with `data` (`item_size` bytes) and
    /// queue it for the consumer (DEQUEUE → QUEUE). `NotPermitted` if the
    /// slot is out of range or not dequeued.
    pub fn queue(&self, slot: usize, data: &[u8]) -> Result<()> {
        if data.len() != self.item_size {
            return Err(Error::InvalidArgument);
        }
        let mut g = self.live()?;
        if g.states.get(slot) != Some(&SlotState::Dequeued) {
            return Err(Error::NotPermitted);
        }
        self.item(&mut g, slot).copy_from_slice(data);
        g.states[slot] = SlotState::Queued;
        g.queued.push_back(slot);
        drop(g);
        self.cv.notify_all();
        Ok(())
    }

    /// Consumer: take the oldest queued slot (QUEUE → REQUEST) and copy
    /// its item into `out` (`item_size` bytes).
    pub fn request(&self, timeout: Option<Duration>, out: &mut [u8]) -> Result<usize> {
        if out.len() != self.item_size {
            return Err(Error::InvalidArgument);
        }
        let (mut g, s) = self.wait(timeout, |g| g.queued.pop_front())?;
        g.states[s] = SlotState::Requested;
        out.copy_from_slice(self.item(&mut g, s));
        Ok(s)
    }

    /// Consumer: give a requested slot back to the producer (REQUEST →
    /// FREE). `NotPermitted` if it is not requested.
    pub fn release(&self, slot: usize) -> Result<()> {
        let mut g = self.live()?;
        if g.states.get(slot) != Some(&SlotState::Requested) {
            return Err(Error::NotPermitted);
        }
        g.states[slot] = SlotState::Free;
        g.free.push_back(slot);
        drop(g);
        self.cv.notify_all();
        Ok(())
    }

    /// Undo a dequeue (DEQUEUE → FREE, handed out next) or a request
    /// (REQUEST → QUEUE, requested next). `NotPermitted` for other states.
    pub fn cancel(&self, slot: usize) -> Result<()> {
        let mut g = self.live()?;
        match g.states.get(slot) {
            Some(SlotState::Dequeued) => {
                g.states[slot] = SlotState::Free;
                g.free.push_front(slot);
            }
            Some(SlotState::Requested) => {
                g.states[slot] = SlotState::Queued;
                g.queued.push_front(slot);
            }
            _ => return Err(Error::NotPermitted),
        }
        drop(g);
        self.cv.notify_all();
        Ok(())
    }

    /// Destroy the queue: every later call, and every waiter now, gets
    /// `NotFound`. Destroying twice gives `NotFound`.
    pub fn destroy(&self) -> Result<()> {
        let mut g = self.live()?;
        g.destroyed = true;
        g.free.clear();
        g.queued.clear();
        drop(g);
        self.cv.notify_all();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const Z: Option<Duration> = Some(Duration::ZERO);

    fn ms(n: u64) -> Option<Duration> {
        Some(Duration::from_millis(n))
    }

    #[test]
    fn bad_sizes() {
        assert_eq!(Queue::new(0, 4).err(), Some(Error::InvalidArgument));
        assert_eq!(Queue::new(4, 0).err(), Some(Error::InvalidArgument));
        assert_eq!(Queue::new(MAX_COUNT + 1, 1).err(), Some(Error::InvalidArgument));
        assert_eq!(Queue::new(1, MAX_ITEM_SIZE + 1).err(), Some(Error::InvalidArgument));
        assert_eq!(Queue::new(MAX_COUNT, MAX_ITEM_SIZE).err(), Some(Error::InvalidArgument));
        let q = Queue::new(MAX_COUNT, 8).unwrap();
        assert_eq!((q.count(), q.item_size()), (MAX_COUNT, 8));
    }

    #[test]
    fn cycle_fifo_and_states() {
        let q = Queue::new(3, 4).unwrap();
        let mut b = [9u8; 4];
        let s0 = q.dequeue(Z, &mut b).unwrap();
        assert_eq!(b, [0; 4], "a fresh slot's item is zeroed");
        assert_eq!(q.state(s0), Ok(SlotState::Dequeued));
        let s1 = q.dequeue(Z, &mut b).unwrap();
        assert_ne!(s0, s1);
        q.queue(s1, &[1, 1, 1, 1]).unwrap();
        q.queue(s0, &[2, 2, 2, 2]).unwrap();
        assert_eq!(q.state(s0), Ok(SlotState::Queued));
        // FIFO by queue order, not slot number.
        assert_eq!(q.request(Z, &mut b), Ok(s1));
        assert_eq!(b, [1; 4]);
        assert_eq!(q.state(s1), Ok(SlotState::Requested));
        assert_eq!(q.request(Z, &mut b), Ok(s0));
        assert_eq!(b, [2; 4]);
        assert_eq!(q.request(Z, &mut b), Err(Error::Busy));
        q.release(s1).unwrap();
        q.release(s0).unwrap();
        assert_eq!(q.state(s0), Ok(SlotState::Free));
        // Dequeue hands back what the slot held last.
        let mut seen = vec![];
        for _ in 0..3 {
            let s = q.dequeue(Z, &mut b).unwrap();
            seen.push((s, b));
        }
        assert!(seen.contains(&(s1, [1; 4])) && seen.contains(&(s0, [2; 4])), "{seen:?}");
        assert_eq!(q.dequeue(Z, &mut b), Err(Error::Busy));
        assert_eq!(q.state(3), Err(Error::InvalidArgument));
    }

    #[test]
    fn wrong_states_and_sizes() {
        let q = Queue::new(2, 2).unwrap();
        let mut b = [0u8; 2];
        // Free slot: nothing but dequeue applies.
        assert_eq!(q.queue(0, &[0, 0]), Err(Error::NotPermitted));
        assert_eq!(q.release(0), Err(Error::NotPermitted));
        assert_eq!(q.cancel(0), Err(Error::NotPermitted));
        assert_eq!(q.queue(2, &[0, 0]), Err(Error::NotPermitted));
        assert_eq!(q.release(usize::MAX), Err(Error::NotPermitted));
        let s = q.dequeue(Z, &mut b).unwrap();
        assert_eq!(q.release(s), Err(Error::NotPermitted));
        assert_eq!(q.queue(s, &[0]), Err(Error::InvalidArgument));
        assert_eq!(q.dequeue(Z, &mut [0u8; 3]), Err(Error::InvalidArgument));
        q.queue(s, &[5, 6]).unwrap();
        assert_eq!(q.queue(s, &[5, 6]), Err(Error::NotPermitted));
        assert_eq!(q.release(s), Err(Error::NotPermitted));
        assert_eq!(q.cancel(s), Err(Error::NotPermitted));
        q.request(Z, &mut b).unwrap();
        assert_eq!(q.queue(s, &[5, 6]), Err(Error::NotPermitted));
        q.release(s).unwrap();
        assert_eq!(q.release(s), Err(Error::NotPermitted));
    }

    #[test]
    fn cancel_paths() {
        let q = Queue::new(2, 1).unwrap();
        let mut b = [0u8; 1];
        let a = q.dequeue(Z, &mut b).unwrap();
        q.cancel(a).unwrap();
        assert_eq!(q.state(a), Ok(SlotState::Free));
        assert_eq!(q.dequeue(Z, &mut b), Ok(a), "a cancelled slot is handed out next");
        let c = q.dequeue(Z, &mut b).unwrap();
        q.queue(a, &[1]).unwrap();
        q.queue(c, &[2]).unwrap();
        assert_eq!(q.request(Z, &mut b), Ok(a));
        q.cancel(a).unwrap();
        assert_eq!(q.state(a), Ok(SlotState::Queued));
        assert_eq!(q.request(Z, &mut b), Ok(a), "a cancelled request goes back to the front");
        assert_eq!(b, [1]);
        assert_eq!(q.request(Z, &mut b), Ok(c));
    }

    #[test]
    fn timeouts() {
        let q = Queue::new(1, 1).unwrap();
        let mut b = [0u8; 1];
        let t = Instant::now();
        assert_eq!(q.request(ms(60), &mut b), Err(Error::Timeout));
        assert!(t.elapsed() >= Duration::from_millis(60), "{:?}", t.elapsed());
        q.dequeue(Z, &mut b).unwrap();
        let t = Instant::now();
        assert_eq!(q.dequeue(Z, &mut b), Err(Error::Busy));
        assert!(t.elapsed() < Duration::from_millis(500), "timeout 0 does not wait");
        let t = Instant::now();
        assert_eq!(q.dequeue(ms(40), &mut b), Err(Error::Timeout));
        assert!(t.elapsed() >= Duration::from_millis(40));
        // A huge timeout does not overflow.
        q.cancel(0).unwrap();
        assert_eq!(q.dequeue(Some(Duration::MAX), &mut b), Ok(0));
    }

    #[test]
    fn producer_consumer_threads() {
        const N: u32 = 500;
        let q = Arc::new(Queue::new(4, 4).unwrap());
        let p = {
            let q = q.clone();
            std::thread::spawn(move || {
                let mut b = [0u8; 4];
                for i in 0..N {
                    let s = q.dequeue(None, &mut b).unwrap();
                    q.queue(s, &i.to_le_bytes()).unwrap();
                }
            })
        };
        let mut b = [0u8; 4];
        for i in 0..N {
            let s = q.request(ms(5000), &mut b).unwrap();
            assert_eq!(u32::from_le_bytes(b), i, "items arrive in order");
            q.release(s).unwrap();
        }
        p.join().unwrap();
        assert_eq!(q.request(Z, &mut b), Err(Error::Busy));
    }

    #[test]
    fn destroy_wakes_waiters() {
        let q = Arc::new(Queue::new(1, 1).unwrap());
        let w = {
            let q = q.clone();
            std::thread::spawn(move || q.request(None, &mut [0u8; 1]))
        };
        std::thread::sleep(Duration::from_millis(50));
        q.destroy().unwrap();
        assert_eq!(w.join().unwrap(), Err(Error::NotFound));
        assert_eq!(q.destroy(), Err(Error::NotFound));
        assert_eq!(q.dequeue(Z, &mut [0u8; 1]), Err(Error::NotFound));
        assert_eq!(q.release(0), Err(Error::NotFound));
        assert_eq!(q.state(0), Err(Error::NotFound));
    }
}
