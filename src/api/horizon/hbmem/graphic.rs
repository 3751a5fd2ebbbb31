//! hbmem graphic buffers (planes in separate blocks unless contiguous) and
//! graphic buffer groups.
#![allow(clippy::missing_safety_doc)]
