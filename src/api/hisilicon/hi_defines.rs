//! `hi_defines.h`: the limits the memory headers use (V4, Hi3516DV300).

/// Zone-name length in `VB_POOL_CONFIG_S` (V4-OH; 16 in older releases).
pub const MAX_MMZ_NAME_LEN: usize = 32;
