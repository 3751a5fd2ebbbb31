//! `hb_mem_strerror` (declared in `hb_mem_err.h`).
#![allow(clippy::missing_safety_doc)]

use super::super::hb_mem_err::*;
use super::call;
use std::ffi::c_char;

/// The message of an `HB_MEM_ERR_*` code, into `err_buf`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_strerror(err_num: i32, err_buf: *mut c_char, errbuf_size: usize) -> i32 {
    call(|| {
        if err_buf.is_null() || errbuf_size == 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let msg = match err_num {
            0 => "Success",
            HB_MEM_ERR_UNKNOWN => "Unknown error",
            HB_MEM_ERR_INVALID_PARAMS => "Invalid parameters",
            HB_MEM_ERR_INVALID_FD => "Invalid file descriptor",
            HB_MEM_ERR_INVALID_VADDR => "Invalid virtual address",
            HB_MEM_ERR_INSUFFICIENT_MEM => "Insufficient memory",
            HB_MEM_ERR_TOO_MANY_FD => "Too many file descriptors",
            HB_MEM_ERR_TIMEOUT => "Timeout",
            HB_MEM_ERR_MODULE_NOT_FOUND => "Memory module not opened",
            HB_MEM_ERR_MODULE_OPEN_FAIL => "Fail to open memory module",
            HB_MEM_ERR_QUEUE_NOT_FOUND => "Queue not found",
            HB_MEM_ERR_QUEUE_DESTROYED => "Queue destroyed",
            HB_MEM_ERR_QUEUE_WRONG_SLOT => "Wrong queue slot",
            HB_MEM_ERR_QUEUE_NO_AVAILABLE_SLOT => "No available queue slot",
            HB_MEM_ERR_QUEUE_ALREADY_EXIST => "Queue already exists",
            HB_MEM_ERR_POOL_NOT_FOUND => "Memory pool not found",
            HB_MEM_ERR_POOL_DESTROYED => "Memory pool destroyed",
            HB_MEM_ERR_POOL_BUSY => "Memory pool busy",
            HB_MEM_ERR_WAIT_SHARE_FAILURE => "Wait share status failure",
            HB_MEM_ERR_NOT_ALLOW => "Operation not allowed",
            HB_MEM_ERR_CHECK_VER_FAIL => "Version check failure",
            HB_MEM_ERR_REGISTER_FAIL => "Register failure",
            HB_MEM_ERR_INVALID_GROUPID => "Invalid graphic buffer group id",
            _ => return Err(HB_MEM_ERR_INVALID_PARAMS),
        };
        let n = msg.len().min(errbuf_size - 1);
        // SAFETY: the caller's buffer holds errbuf_size bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(msg.as_ptr(), err_buf as *mut u8, n);
            *err_buf.add(n) = 0;
        }
        Ok(())
    })
}
