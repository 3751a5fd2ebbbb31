//! The engine's error type. Each vendor front maps it to its own codes in
//! one table; the engine never knows a vendor's codes.

use std::fmt;

/// What went wrong in the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// An argument is out of range or malformed (zero size, bad flags, ...).
    InvalidArgument,
    /// A required pointer was NULL.
    NullPointer,
    /// The zone or pool has no room for the request.
    OutOfMemory,
    /// No buffer, zone, pool or mapping matches the handle or address.
    NotFound,
    /// The object is in use (mapped, referenced, has blocks out).
    Busy,
    /// The caller does not own the object.
    NotPermitted,
    /// The object exists already.
    AlreadyExists,
    /// The operation is not supported by this backend or build.
    NotSupported,
    /// The module was not initialised or configured first.
    NotReady,
    /// A fixed table (buffers, descriptors, pools, processes) is full.
    LimitReached,
    /// Shared state failed its consistency checks.
    Corrupt,
    /// A wait ran out of time.
    Timeout,
    /// A system call failed with this errno.
    Os(i32),
}

/// Engine result.
pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument => f.write_str("invalid argument"),
            Error::NullPointer => f.write_str("null pointer"),
            Error::OutOfMemory => f.write_str("out of memory"),
            Error::NotFound => f.write_str("no such buffer, zone, pool or mapping"),
            Error::Busy => f.write_str("busy"),
            Error::NotPermitted => f.write_str("not permitted"),
            Error::AlreadyExists => f.write_str("already exists"),
            Error::NotSupported => f.write_str("not supported"),
            Error::NotReady => f.write_str("not initialised"),
            Error::LimitReached => f.write_str("table full"),
            Error::Corrupt => f.write_str("shared state corrupt"),
            Error::Timeout => f.write_str("timed out"),
            Error::Os(e) => write!(f, "{}", std::io::Error::from_raw_os_error(*e)),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// The current `errno` as an error.
    pub fn last_os() -> Error {
        Error::Os(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::Os(e.raw_os_error().unwrap_or(libc::EIO))
    }
}
