//! `hi_errno.h`: the error-code scheme built by `HI_DEF_ERR`.
#![allow(non_camel_case_types)]

use super::hi_type::HI_U32;

pub const HI_ERR_APPID: HI_U32 = 0xA000_0000;

pub type ERR_LEVEL_E = HI_U32;
pub const EN_ERR_LEVEL_DEBUG: ERR_LEVEL_E = 0;
pub const EN_ERR_LEVEL_INFO: ERR_LEVEL_E = 1;
pub const EN_ERR_LEVEL_NOTICE: ERR_LEVEL_E = 2;
pub const EN_ERR_LEVEL_WARNING: ERR_LEVEL_E = 3;
pub const EN_ERR_LEVEL_ERROR: ERR_LEVEL_E = 4;
pub const EN_ERR_LEVEL_CRIT: ERR_LEVEL_E = 5;
pub const EN_ERR_LEVEL_ALERT: ERR_LEVEL_E = 6;
pub const EN_ERR_LEVEL_FATAL: ERR_LEVEL_E = 7;
pub const EN_ERR_LEVEL_BUTT: ERR_LEVEL_E = 30;

pub type EN_ERR_CODE_E = HI_U32;
pub const EN_ERR_INVALID_DEVID: EN_ERR_CODE_E = 1;
pub const EN_ERR_INVALID_CHNID: EN_ERR_CODE_E = 2;
pub const EN_ERR_ILLEGAL_PARAM: EN_ERR_CODE_E = 3;
pub const EN_ERR_EXIST: EN_ERR_CODE_E = 4;
pub const EN_ERR_UNEXIST: EN_ERR_CODE_E = 5;
pub const EN_ERR_NULL_PTR: EN_ERR_CODE_E = 6;
pub const EN_ERR_NOT_CONFIG: EN_ERR_CODE_E = 7;
pub const EN_ERR_NOT_SUPPORT: EN_ERR_CODE_E = 8;
pub const EN_ERR_NOT_PERM: EN_ERR_CODE_E = 9;
pub const EN_ERR_INVALID_PIPEID: EN_ERR_CODE_E = 10;
pub const EN_ERR_INVALID_STITCHGRPID: EN_ERR_CODE_E = 11;
pub const EN_ERR_NOMEM: EN_ERR_CODE_E = 12;
pub const EN_ERR_NOBUF: EN_ERR_CODE_E = 13;
pub const EN_ERR_BUF_EMPTY: EN_ERR_CODE_E = 14;
pub const EN_ERR_BUF_FULL: EN_ERR_CODE_E = 15;
pub const EN_ERR_SYS_NOTREADY: EN_ERR_CODE_E = 16;
pub const EN_ERR_BADADDR: EN_ERR_CODE_E = 17;
pub const EN_ERR_BUSY: EN_ERR_CODE_E = 18;
pub const EN_ERR_SIZE_NOT_ENOUGH: EN_ERR_CODE_E = 19;
pub const EN_ERR_BUTT: EN_ERR_CODE_E = 63;
