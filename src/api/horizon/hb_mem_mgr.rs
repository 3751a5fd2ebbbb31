//! `hb_mem_mgr.h` types (X5 release, libhbmem 3.x): buffers, graphic
//! buffers and groups, queues, pools and share pools, usage flags and pixel
//! formats. The functions are in `hbmem/`; the header is generated from
//! both.
#![allow(non_camel_case_types, non_snake_case, non_upper_case_globals)]

use std::ffi::c_int;

pub const MAX_GRAPHIC_BUF_COMP: usize = 3;
pub const HB_MEM_MAXIMUM_GRAPH_BUF: usize = 8;

/// Usage flags (`mem_usage_t` is a 64-bit enum in the vendor header; the
/// API takes `int64_t flags`).
pub type mem_usage_t = i64;
pub const HB_MEM_USAGE_CPU_READ_NEVER: mem_usage_t = 0x0;
pub const HB_MEM_USAGE_CPU_READ_OFTEN: mem_usage_t = 0x1;
pub const HB_MEM_USAGE_CPU_READ_MASK: mem_usage_t = 0xF;
pub const HB_MEM_USAGE_CPU_WRITE_NEVER: mem_usage_t = 0x0;
pub const HB_MEM_USAGE_CPU_WRITE_OFTEN: mem_usage_t = 0x10;
pub const HB_MEM_USAGE_CPU_WRITE_MASK: mem_usage_t = 0xF0;
pub const HB_MEM_USAGE_HW_CIM: mem_usage_t = 0x100;
pub const HB_MEM_USAGE_HW_PYRAMID: mem_usage_t = 0x200;
pub const HB_MEM_USAGE_HW_GDC: mem_usage_t = 0x400;
pub const HB_MEM_USAGE_HW_STITCH: mem_usage_t = 0x800;
pub const HB_MEM_USAGE_HW_OPTICAL_FLOW: mem_usage_t = 0x1000;
pub const HB_MEM_USAGE_HW_BPU: mem_usage_t = 0x2000;
pub const HB_MEM_USAGE_HW_ISP: mem_usage_t = 0x4000;
pub const HB_MEM_USAGE_HW_DISPLAY: mem_usage_t = 0x8000;
pub const HB_MEM_USAGE_HW_VIDEO_CODEC: mem_usage_t = 0x10000;
pub const HB_MEM_USAGE_HW_JPEG_CODEC: mem_usage_t = 0x20000;
pub const HB_MEM_USAGE_HW_VDSP: mem_usage_t = 0x40000;
pub const HB_MEM_USAGE_HW_GDC_OUT: mem_usage_t = 0x0008_0000;
pub const HB_MEM_USAGE_HW_IPC: mem_usage_t = 0x0010_0000;
pub const HB_MEM_USAGE_HW_PCIE: mem_usage_t = 0x0020_0000;
pub const HB_MEM_USAGE_HW_YNR: mem_usage_t = 0x0040_0000;
pub const HB_MEM_USAGE_HW_MASK: mem_usage_t = 0x00FF_FF00;
pub const HB_MEM_USAGE_MAP_INITIALIZED: mem_usage_t = 0x0100_0000;
pub const HB_MEM_USAGE_MAP_UNINITIALIZED: mem_usage_t = 0x0200_0000;
pub const HB_MEM_USAGE_CACHED: mem_usage_t = 0x0400_0000;
pub const HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF: mem_usage_t = 0x0800_0000;
pub const HB_MEM_USAGE_MEM_POOL: mem_usage_t = 0x1000_0000;
pub const HB_MEM_USAGE_MEM_SHARE_POOL: mem_usage_t = 0x2000_0000;
pub const HB_MEM_USAGE_TRIVIAL_MASK: mem_usage_t = 0xFF00_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_DMA: mem_usage_t = 0x0;
pub const HB_MEM_USAGE_PRIV_HEAP_RESERVERD: mem_usage_t = 0x1_0000_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_RESERVED: mem_usage_t = 0x1_0000_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_SRAM: mem_usage_t = 0x2_0000_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_2_RESERVERD: mem_usage_t = 0x4_0000_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_2_RESERVED: mem_usage_t = 0x4_0000_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_SRAM_LIMIT: mem_usage_t = 0x8_0000_0000;
pub const HB_MEM_USAGE_PRIV_HEAP_INLINE_ECC: mem_usage_t = 0x10_0000_0000;
pub const HB_MEM_USAGE_PRIV_MASK: mem_usage_t = 0xFF_0000_0000;

/// Pixel formats.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mem_pixel_format_t {
    MEM_PIX_FMT_NONE = -1,
    MEM_PIX_FMT_RGB565 = 0,
    MEM_PIX_FMT_RGB24 = 1,
    MEM_PIX_FMT_BGR24 = 2,
    MEM_PIX_FMT_ARGB = 3,
    MEM_PIX_FMT_RGBA = 4,
    MEM_PIX_FMT_ABGR = 5,
    MEM_PIX_FMT_BGRA = 6,
    MEM_PIX_FMT_YUV420P = 7,
    MEM_PIX_FMT_NV12 = 8,
    MEM_PIX_FMT_NV21 = 9,
    MEM_PIX_FMT_YUV422P = 10,
    MEM_PIX_FMT_NV16 = 11,
    MEM_PIX_FMT_NV61 = 12,
    MEM_PIX_FMT_YUYV422 = 13,
    MEM_PIX_FMT_YVYU422 = 14,
    MEM_PIX_FMT_UYVY422 = 15,
    MEM_PIX_FMT_VYUY422 = 16,
    MEM_PIX_FMT_YUV444 = 17,
    MEM_PIX_FMT_YUV444P = 18,
    MEM_PIX_FMT_NV24 = 19,
    MEM_PIX_FMT_NV42 = 20,
    MEM_PIX_FMT_YUV440P = 21,
    MEM_PIX_FMT_YUV400 = 22,
    MEM_PIX_FMT_RAW8 = 23,
    MEM_PIX_FMT_RAW10 = 24,
    MEM_PIX_FMT_RAW12 = 25,
    MEM_PIX_FMT_RAW14 = 26,
    MEM_PIX_FMT_RAW16 = 27,
    MEM_PIX_FMT_RAW20 = 28,
    MEM_PIX_FMT_RAW24 = 29,
    MEM_PIX_FMT_TOTAL = 30,
}

/// What kind of buffer a virtual address belongs to.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum hb_mem_buffer_type_t {
    HB_MEM_BUFFER_TYPE_COMMON = 0,
    HB_MEM_BUFFER_TYPE_GRAPHIC = 1,
    HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP = 2,
    HB_MEM_BUFFER_TYPE_MAX = 3,
}

/// `hb_mem_buffer_type_t` as written by this library into C memory.
pub type hb_mem_buffer_type_raw = c_int;

/// A common (one-piece) buffer (48 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hb_mem_common_buf_t {
    pub fd: i32,
    pub share_id: i32,
    pub flags: i64,
    pub size: u64,
    pub virt_addr: *mut u8,
    pub phys_addr: u64,
    pub offset: u64,
}

/// A graphic buffer of up to three planes (160 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hb_mem_graphic_buf_t {
    pub fd: [i32; MAX_GRAPHIC_BUF_COMP],
    pub plane_cnt: i32,
    pub format: i32,
    pub width: i32,
    pub height: i32,
    pub stride: i32,
    pub vstride: i32,
    pub is_contig: i32,
    pub share_id: [i32; MAX_GRAPHIC_BUF_COMP],
    pub flags: i64,
    pub size: [u64; MAX_GRAPHIC_BUF_COMP],
    pub virt_addr: [*mut u8; MAX_GRAPHIC_BUF_COMP],
    pub phys_addr: [u64; MAX_GRAPHIC_BUF_COMP],
    pub offset: [u64; MAX_GRAPHIC_BUF_COMP],
}

/// Up to eight graphic buffers allocated and shared as one (1288 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct hb_mem_graphic_buf_group_t {
    pub graph_group: [hb_mem_graphic_buf_t; HB_MEM_MAXIMUM_GRAPH_BUF],
    pub group_id: i32,
    pub bit_map: u32,
}

/// A buffer queue (16 bytes): the caller sets `count` and `item_size`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hb_mem_buf_queue_t {
    pub unique_id: u64,
    pub count: u32,
    pub item_size: u32,
}

/// A memory pool (40 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hb_mem_pool_t {
    pub flags: i64,
    pub size: u64,
    pub fd: i32,
    pub page_size: i32,
    pub total_page_cnt: i32,
    pub avail_page_cnt: i32,
    pub cur_client_cnt: i32,
    pub reserved: i32,
}

/// A share pool of equal-size buffers (32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct hb_mem_share_pool_t {
    pub flags: i64,
    pub size: u32,
    pub fd: i32,
    pub total_buf_cnt: i32,
    pub avail_buf_cnt: i32,
    pub reserved: i32,
}
