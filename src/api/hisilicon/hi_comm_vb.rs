//! `hi_comm_vb.h`: video-buffer pool types and error codes (V4).
#![allow(non_camel_case_types, non_snake_case)]

use super::hi_defines::MAX_MMZ_NAME_LEN;
use super::hi_type::{HI_CHAR, HI_S32, HI_U32, HI_U64};

pub const VB_INVALID_POOLID: HI_U32 = 0xFFFF_FFFF;
pub const VB_INVALID_HANDLE: HI_U32 = 0xFFFF_FFFF;
pub const VB_MAX_COMM_POOLS: usize = 16;
pub const VB_MAX_MOD_COMM_POOLS: usize = 16;

pub type VB_UID_E = HI_U32;
pub const VB_UID_VI: VB_UID_E = 0;
pub const VB_UID_VO: VB_UID_E = 1;
pub const VB_UID_VGS: VB_UID_E = 2;
pub const VB_UID_VENC: VB_UID_E = 3;
pub const VB_UID_VDEC: VB_UID_E = 4;
pub const VB_UID_H265E: VB_UID_E = 5;
pub const VB_UID_H264E: VB_UID_E = 6;
pub const VB_UID_JPEGE: VB_UID_E = 7;
pub const VB_UID_H264D: VB_UID_E = 8;
pub const VB_UID_JPEGD: VB_UID_E = 9;
pub const VB_UID_VPSS: VB_UID_E = 10;
pub const VB_UID_DIS: VB_UID_E = 11;
pub const VB_UID_USER: VB_UID_E = 12;
pub const VB_UID_PCIV: VB_UID_E = 13;
pub const VB_UID_AI: VB_UID_E = 14;
pub const VB_UID_AENC: VB_UID_E = 15;
pub const VB_UID_RC: VB_UID_E = 16;
pub const VB_UID_VFMW: VB_UID_E = 17;
pub const VB_UID_GDC: VB_UID_E = 18;
pub const VB_UID_AVS: VB_UID_E = 19;
pub const VB_UID_DPU_RECT: VB_UID_E = 20;
pub const VB_UID_DPU_MATCH: VB_UID_E = 21;
pub const VB_UID_MCF: VB_UID_E = 22;
pub const VB_UID_BUTT: VB_UID_E = 23;
pub const VB_MAX_USER: VB_UID_E = VB_UID_BUTT;

pub const POOL_OWNER_COMMON: HI_S32 = -1;
pub const POOL_OWNER_PRIVATE: HI_S32 = -2;

pub type VB_POOL = HI_U32;
pub type VB_BLK = HI_U32;

pub const RESERVE_MMZ_NAME: &str = "window";

pub type VB_REMAP_MODE_E = HI_U32;
pub const VB_REMAP_MODE_NONE: VB_REMAP_MODE_E = 0;
pub const VB_REMAP_MODE_NOCACHE: VB_REMAP_MODE_E = 1;
pub const VB_REMAP_MODE_CACHED: VB_REMAP_MODE_E = 2;
pub const VB_REMAP_MODE_BUTT: VB_REMAP_MODE_E = 3;

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VB_POOL_CONFIG_S {
    pub u64BlkSize: HI_U64,
    pub u32BlkCnt: HI_U32,
    pub enRemapMode: VB_REMAP_MODE_E,
    pub acMmzName: [HI_CHAR; MAX_MMZ_NAME_LEN],
}

#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct VB_CONFIG_S {
    pub u32MaxPoolCnt: HI_U32,
    pub astCommPool: [VB_POOL_CONFIG_S; VB_MAX_COMM_POOLS],
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VB_POOL_STATUS_S {
    pub bIsCommPool: HI_U32,
    pub u32BlkCnt: HI_U32,
    pub u32FreeBlkCnt: HI_U32,
}

pub const VB_SUPPLEMENT_JPEG_MASK: HI_U32 = 0x1;
pub const VB_SUPPLEMENT_ISPINFO_MASK: HI_U32 = 0x2;
pub const VB_SUPPLEMENT_MOTION_DATA_MASK: HI_U32 = 0x4;
pub const VB_SUPPLEMENT_DNG_MASK: HI_U32 = 0x8;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct VB_SUPPLEMENT_CONFIG_S {
    pub u32SupplementConfig: HI_U32,
}

pub const HI_ERR_VB_ILLEGAL_PARAM: HI_S32 = 0xA0018003_u32 as HI_S32;
pub const HI_ERR_VB_EXIST: HI_S32 = 0xA0018004_u32 as HI_S32;
pub const HI_ERR_VB_UNEXIST: HI_S32 = 0xA0018005_u32 as HI_S32;
pub const HI_ERR_VB_NULL_PTR: HI_S32 = 0xA0018006_u32 as HI_S32;
pub const HI_ERR_VB_NOT_PERM: HI_S32 = 0xA0018009_u32 as HI_S32;
pub const HI_ERR_VB_NOMEM: HI_S32 = 0xA001800C_u32 as HI_S32;
pub const HI_ERR_VB_NOBUF: HI_S32 = 0xA001800D_u32 as HI_S32;
pub const HI_ERR_VB_NOTREADY: HI_S32 = 0xA0018010_u32 as HI_S32;
pub const HI_ERR_VB_BUSY: HI_S32 = 0xA0018012_u32 as HI_S32;
pub const HI_ERR_VB_SIZE_NOT_ENOUGH: HI_S32 = 0xA0018013_u32 as HI_S32;
pub const HI_ERR_VB_2MPOOLS: HI_S32 = 0xA0018040_u32 as HI_S32;
