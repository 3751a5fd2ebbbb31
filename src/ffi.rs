//! The C boundary: one guard every export goes through.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Run `f`, turning a panic into `fail` so that no unwind crosses into C.
pub(crate) fn guard<T>(fail: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fail)
}

/// An optional C string: `None` for NULL or empty, `Err` for invalid UTF-8.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn opt_str<'a>(p: *const c_char) -> Result<Option<&'a str>, ()> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: caller guarantees NUL termination.
    let s = unsafe { CStr::from_ptr(p) }.to_str().map_err(|_| ())?;
    Ok((!s.is_empty()).then_some(s))
}

/// A C string as text, invalid UTF-8 replaced; NULL is empty.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string.
pub(crate) unsafe fn lossy_str(p: *const c_char) -> String {
    if p.is_null() {
        return String::new();
    }
    // SAFETY: caller guarantees NUL termination.
    unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
