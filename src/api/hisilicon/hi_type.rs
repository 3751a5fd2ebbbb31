//! `hi_type.h`: MPP V4 base types.
#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_double, c_float, c_int, c_long, c_longlong, c_schar, c_short, c_uchar, c_uint, c_ulong, c_ulonglong, c_ushort};

pub type HI_UCHAR = c_uchar;
pub type HI_U8 = c_uchar;
pub type HI_U16 = c_ushort;
pub type HI_U32 = c_uint;
pub type HI_UL = c_ulong;
pub type HI_ULONG = HI_UL;
pub type HI_UINTPTR_T = usize;
pub type HI_CHAR = c_char;
pub type HI_S8 = c_schar;
pub type HI_S16 = c_short;
pub type HI_S32 = c_int;
pub type HI_SL = c_long;
pub type HI_FLOAT = c_float;
pub type HI_DOUBLE = c_double;
pub type HI_U64 = c_ulonglong;
pub type HI_S64 = c_longlong;
pub type HI_SIZE_T = c_ulong;
pub type HI_LENGTH_T = c_ulong;
pub type HI_PHYS_ADDR_T = c_ulong;
pub type HI_HANDLE = c_uint;

/// An enum in the vendor header; GCC gives it `unsigned int`, as here.
pub type HI_BOOL = c_uint;
pub const HI_FALSE: HI_BOOL = 0;
pub const HI_TRUE: HI_BOOL = 1;

pub const HI_SUCCESS: HI_S32 = 0;
pub const HI_FAILURE: HI_S32 = -1;
