//! Process identity that survives pid reuse: pid plus start time.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

/// A process: its pid and its start time in clock ticks since boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcId {
    pub pid: i32,
    pub start: u64,
}

/// Start time of `pid` (field 22 of `/proc/<pid>/stat`), if it exists.
pub fn start_time(pid: i32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses: skip past the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

static CACHED_PID: AtomicI32 = AtomicI32::new(0);
static CACHED_START: AtomicU64 = AtomicU64::new(0);

/// This process (recomputed after a fork).
pub fn current() -> ProcId {
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    if CACHED_PID.load(Ordering::Acquire) == pid {
        return ProcId {
            pid,
            start: CACHED_START.load(Ordering::Relaxed),
        };
    }
    let start = start_time(pid).unwrap_or(0);
    CACHED_START.store(start, Ordering::Relaxed);
    CACHED_PID.store(pid, Ordering::Release);
    ProcId { pid, start }
}

/// Whether the process still runs (a zombie counts as dead: it holds no
/// memory any more).
pub fn alive(p: ProcId) -> bool {
    // SAFETY: signal 0 only checks existence and permission.
    let r = unsafe { libc::kill(p.pid, 0) };
    if r != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH) {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{}/stat", p.pid)) {
        Ok(s) => {
            let Some(close) = s.rfind(')') else { return true };
            let mut f = s[close + 2..].split_ascii_whitespace();
            if f.next() == Some("Z") {
                return false;
            }
            match f.nth(18).and_then(|v| v.parse::<u64>().ok()) {
                Some(st) => st == p.start || p.start == 0,
                None => true,
            }
        }
        // No procfs: trust kill().
        Err(_) => r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn me_alive_and_bogus_dead() {
        let me = current();
        assert!(me.start > 0);
        assert!(alive(me));
        assert!(!alive(ProcId {
            pid: me.pid,
            start: me.start + 1
        }));
        assert!(!alive(ProcId { pid: i32::MAX, start: 1 }));
    }
}
