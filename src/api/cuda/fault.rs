//! Device pointers are not host memory: they point into no-access views,
//! so a host read or write faults. This `SIGSEGV` handler names the
//! allocation before the process dies, then lets the fault take its course
//! (or passes it to the handler that was installed before ours).
//!
//! The handler may run while any lock is held, so it reads a lock-free
//! table of ranges and formats its message on the stack.

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU8, AtomicUsize, Ordering};
use std::sync::Once;

const SLOTS: usize = 8192;

/// Where a range came from, for the message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Origin {
    Malloc = 1,
    MallocPitch = 2,
    MallocAsync = 3,
    /// A pool chunk: device memory not (or no longer) allocated.
    PoolChunk = 4,
}

impl Origin {
    fn name(v: u8) -> &'static [u8] {
        match v {
            1 => b"cudaMalloc",
            2 => b"cudaMallocPitch",
            3 => b"cudaMallocAsync",
            _ => b"a cudaMallocAsync pool (not allocated now)",
        }
    }
}

struct Slot {
    start: AtomicUsize,
    len: AtomicUsize,
    origin: AtomicU8,
    device: AtomicI32,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    start: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    origin: AtomicU8::new(0),
    device: AtomicI32::new(0),
};
static TABLE: [Slot; SLOTS] = [EMPTY; SLOTS];
static OLD: AtomicPtr<libc::sigaction> = AtomicPtr::new(std::ptr::null_mut());
static INSTALL: Once = Once::new();

/// Remember a device range (best effort: a full table only loses detail).
pub(crate) fn add(start: usize, len: usize, origin: Origin, device: i32) {
    install();
    let h = (start >> 8) % SLOTS;
    for i in 0..SLOTS {
        let s = &TABLE[(h + i) % SLOTS];
        if s.start.compare_exchange(0, usize::MAX, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
            s.len.store(len, Ordering::Relaxed);
            s.origin.store(origin as u8, Ordering::Relaxed);
            s.device.store(device, Ordering::Relaxed);
            s.start.store(start, Ordering::Release);
            return;
        }
    }
}

/// Forget a range added with `start`.
pub(crate) fn remove(start: usize) {
    let h = (start >> 8) % SLOTS;
    for i in 0..SLOTS {
        let s = &TABLE[(h + i) % SLOTS];
        if s.start.load(Ordering::Acquire) == start {
            s.start.store(0, Ordering::Release);
            return;
        }
    }
}

/// The smallest recorded range containing `addr`: (start, len, origin, device).
fn lookup(addr: usize) -> Option<(usize, usize, u8, i32)> {
    let mut best: Option<(usize, usize, u8, i32)> = None;
    for s in &TABLE {
        let start = s.start.load(Ordering::Acquire);
        if start == 0 || start == usize::MAX || addr < start {
            continue;
        }
        let len = s.len.load(Ordering::Relaxed);
        if addr - start < len && best.is_none_or(|b| len < b.1) {
            best = Some((start, len, s.origin.load(Ordering::Relaxed), s.device.load(Ordering::Relaxed)));
        }
    }
    best
}

/// A small stack buffer for building the message without allocating.
struct Msg {
    buf: [u8; 512],
    n: usize,
}

impl Msg {
    fn put(&mut self, b: &[u8]) {
        let k = b.len().min(self.buf.len() - self.n);
        self.buf[self.n..self.n + k].copy_from_slice(&b[..k]);
        self.n += k;
    }
    fn hex(&mut self, v: usize) {
        let mut t = [0u8; 18];
        let mut i = t.len();
        let mut v = v;
        loop {
            i -= 1;
            t[i] = b"0123456789abcdef"[v & 15];
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        self.put(b"0x");
        self.put(&t[i..]);
    }
    fn dec(&mut self, v: usize) {
        let mut t = [0u8; 20];
        let mut i = t.len();
        let mut v = v;
        loop {
            i -= 1;
            t[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&t[i..]);
    }
}

extern "C" fn on_segv(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    if let Some((start, len, origin, device)) = lookup(addr) {
        let mut m = Msg { buf: [0; 512], n: 0 };
        m.put(b"accelmem: host access to CUDA device memory at ");
        m.hex(addr);
        m.put(b": byte ");
        m.dec(addr - start);
        m.put(b" of the ");
        m.dec(len);
        m.put(b"-byte block at ");
        m.hex(start);
        m.put(b" from ");
        m.put(Origin::name(origin));
        m.put(b" on device ");
        m.dec(device.max(0) as usize);
        m.put(b". Device memory is not host memory: copy it with cudaMemcpy, or allocate with cudaMallocManaged.\n");
        // SAFETY: write(2) is async-signal-safe; the buffer is ours.
        unsafe { libc::write(2, m.buf.as_ptr().cast(), m.n) };
    }
    // Hand the fault on: to the previous handler, or to the default action
    // (returning re-executes the access, which then kills the process).
    let old = OLD.load(Ordering::Acquire);
    // SAFETY: OLD is set once before this handler is installed and never freed.
    let prev = unsafe { old.as_ref() };
    match prev {
        Some(p) if p.sa_sigaction != libc::SIG_DFL && p.sa_sigaction != libc::SIG_IGN => {
            if p.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO,
                // so it has this signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) = unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a plain handler takes the signal number only.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(p.sa_sigaction) };
                f(sig);
            }
        }
        _ => {
            // SAFETY: resetting a signal disposition is async-signal-safe.
            unsafe { libc::signal(libc::SIGSEGV, libc::SIG_DFL) };
        }
    }
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sigaction with a zeroed struct and our handler; the old
        // action is kept (leaked) for chaining.
        unsafe {
            let old: &'static mut libc::sigaction = Box::leak(Box::new(std::mem::zeroed()));
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_segv as *const () as usize;
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(libc::SIGSEGV, &sa, old) == 0 {
                OLD.store(old, Ordering::Release);
            }
        }
    });
}
