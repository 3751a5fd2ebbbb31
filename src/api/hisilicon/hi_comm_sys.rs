//! `hi_comm_sys.h`: system-module structs and error codes.
#![allow(non_camel_case_types, non_snake_case)]

use super::hi_type::{HI_BOOL, HI_S32, HI_U32, HI_U64};

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MPP_SYS_CONFIG_S {
    pub u32Align: HI_U32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SYS_VIRMEM_INFO_S {
    pub u64PhyAddr: HI_U64,
    pub bCached: HI_BOOL,
}

pub const HI_ERR_SYS_ILLEGAL_PARAM: HI_S32 = 0xA0028003_u32 as HI_S32;
pub const HI_ERR_SYS_NULL_PTR: HI_S32 = 0xA0028006_u32 as HI_S32;
pub const HI_ERR_SYS_NOT_SUPPORT: HI_S32 = 0xA0028008_u32 as HI_S32;
pub const HI_ERR_SYS_NOT_PERM: HI_S32 = 0xA0028009_u32 as HI_S32;
pub const HI_ERR_SYS_NOMEM: HI_S32 = 0xA002800C_u32 as HI_S32;
pub const HI_ERR_SYS_NOTREADY: HI_S32 = 0xA0028010_u32 as HI_S32;
pub const HI_ERR_SYS_BUSY: HI_S32 = 0xA0028012_u32 as HI_S32;
