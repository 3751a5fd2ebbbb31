//! Horizon Robotics: the BPU system-memory API (`dnn/hb_sys.h`, libdnn)
//! and hbmem (`hb_mem_mgr.h`, `hb_mem_err.h`, libhbmem).

pub mod hb_mem_err;
pub mod hb_mem_mgr;
pub mod hb_sys;
pub mod hb_sys_api;
pub mod hbmem;
