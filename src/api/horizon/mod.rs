//! Horizon Robotics: the BPU system-memory API (`dnn/hb_sys.h`, libdnn).

pub mod hb_sys;
pub mod hb_sys_api;
