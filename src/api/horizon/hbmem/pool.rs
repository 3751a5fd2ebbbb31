//! hbmem memory pools (sub-allocated in user space) and share pools
//! (fixed-size buffers other processes import).
#![allow(clippy::missing_safety_doc)]
