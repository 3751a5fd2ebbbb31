//! `hi_common.h`: module ids and the channel triple (memory-related part).
#![allow(non_camel_case_types, non_snake_case)]

use super::hi_type::{HI_S32, HI_U32};

pub type MOD_ID_E = HI_U32;
pub const HI_ID_CMPI: MOD_ID_E = 0;
pub const HI_ID_VB: MOD_ID_E = 1;
pub const HI_ID_SYS: MOD_ID_E = 2;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MPP_CHN_S {
    pub enModId: MOD_ID_E,
    pub s32DevId: HI_S32,
    pub s32ChnId: HI_S32,
}
