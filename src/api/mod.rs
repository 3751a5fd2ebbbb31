//! Vendor fronts: thin C exports that decode arguments, call the engine and
//! map its errors to the vendor's codes.

pub mod cuda;
pub mod hisilicon;
pub mod horizon;
pub mod rockchip;
