//! hbmem graphic buffers and groups (`hb_mem_alloc_graph_buf`,
//! `hb_mem_*_graph_buf_group`, imports, type queries): plane counts and
//! sizes per format, separate vs contiguous planes, bytes through every
//! view, imports in the same process, and bad input.
//!
//! All tests share one process-global device (set up once in `init()`)
//! and run one at a time under `LOCK`, so each can assert that it leaves
//! no buffer behind and that the engine's table is consistent.

mod common;

use accelmem::api::horizon::hb_mem_err::*;
use accelmem::api::horizon::hb_mem_mgr::mem_pixel_format_t::*;
use accelmem::api::horizon::hb_mem_mgr::*;
use accelmem::api::horizon::hbmem::common::*;
use accelmem::api::horizon::hbmem::graphic::*;
use accelmem::api::horizon::hbmem::pool::*;
use accelmem::api::horizon::hbmem::share::*;
use accelmem::engine::{self, Device};
use std::mem::MaybeUninit;
use std::ptr::null_mut;
use std::sync::{Mutex, MutexGuard, Once};

const DIR_PREFIX: &str = "accelmem-test-hbgraph-";
const CONTIG: i64 = HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF;
const RW: i64 = HB_MEM_USAGE_CPU_READ_OFTEN | HB_MEM_USAGE_CPU_WRITE_OFTEN;

static INIT: Once = Once::new();
static LOCK: Mutex<()> = Mutex::new(());

/// One test at a time, on this file's private device with the module open.
struct Ctx {
    dev: &'static Device,
    held: usize,
    _g: MutexGuard<'static, ()>,
}

fn ctx() -> Ctx {
    let g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    INIT.call_once(|| {
        let dir = common::own_shm_dir(DIR_PREFIX);
        std::fs::create_dir_all(&dir).unwrap();
        std::env::set_var("ACCELMEM_DEVICE", format!("t-hbgraph-{}", std::process::id()));
        std::env::set_var("ACCELMEM_ZONES", "ion_cma,0,0x80000000,64M");
        std::env::set_var("ACCELMEM_SHM_DIR", &dir);
        // SAFETY: plain FFI call.
        assert_eq!(unsafe { hb_mem_module_open() }, 0);
    });
    let dev = engine::global().unwrap();
    assert_eq!(dev.name(), format!("t-hbgraph-{}", std::process::id()));
    Ctx {
        dev,
        held: dev.held_by_process().unwrap().len(),
        _g: g,
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        assert_eq!(self.dev.held_by_process().unwrap().len(), self.held, "buffers left behind");
        self.dev.check().unwrap();
    }
}

fn alloc(w: i32, h: i32, fmt: mem_pixel_format_t, flags: i64, stride: i32, vstride: i32) -> Result<hb_mem_graphic_buf_t, i32> {
    let mut b = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    // SAFETY: valid out pointer.
    let r = unsafe { hb_mem_alloc_graph_buf(w, h, fmt as i32, flags, stride, vstride, b.as_mut_ptr()) };
    // SAFETY: zeroed is a valid value of the struct.
    if r == 0 {
        Ok(unsafe { b.assume_init() })
    } else {
        Err(r)
    }
}

/// Free a graphic buffer (all planes) through the free hook.
fn free(dev: &Device, fd: i32) {
    assert_eq!(free_graphic_if_plane(dev, fd), Some(Ok(())), "fd {fd} is a graphic plane");
}

fn get(fd: i32) -> Result<hb_mem_graphic_buf_t, i32> {
    let mut b = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    // SAFETY: valid out pointer.
    let r = unsafe { hb_mem_get_graph_buf(fd, b.as_mut_ptr()) };
    // SAFETY: zeroed is a valid value.
    (r == 0).then(|| unsafe { b.assume_init() }).ok_or(r)
}

fn get_vaddr(v: u64) -> Result<hb_mem_graphic_buf_t, i32> {
    let mut b = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    // SAFETY: valid out pointer.
    let r = unsafe { hb_mem_get_graph_buf_with_vaddr(v, b.as_mut_ptr()) };
    // SAFETY: zeroed is a valid value.
    (r == 0).then(|| unsafe { b.assume_init() }).ok_or(r)
}

fn com(fd: i32) -> Result<hb_mem_common_buf_t, i32> {
    let mut b = MaybeUninit::<hb_mem_common_buf_t>::zeroed();
    // SAFETY: valid out pointer.
    let r = unsafe { hb_mem_get_com_buf(fd, b.as_mut_ptr()) };
    // SAFETY: zeroed is a valid value.
    (r == 0).then(|| unsafe { b.assume_init() }).ok_or(r)
}

fn plane(b: &hb_mem_graphic_buf_t, i: usize) -> &'static mut [u8] {
    // SAFETY: the plane's mapping is live while the test holds the buffer.
    unsafe { std::slice::from_raw_parts_mut(b.virt_addr[i], b.size[i] as usize) }
}

fn fill(b: &hb_mem_graphic_buf_t, seed: u8) {
    for i in 0..b.plane_cnt as usize {
        for (j, x) in plane(b, i).iter_mut().enumerate() {
            *x = seed ^ (i as u8 * 64) ^ (j % 251) as u8;
        }
    }
}

fn check_fill(b: &hb_mem_graphic_buf_t, seed: u8) {
    for i in 0..b.plane_cnt as usize {
        let bad = plane(b, i)
            .iter()
            .enumerate()
            .position(|(j, x)| *x != seed ^ (i as u8 * 64) ^ (j % 251) as u8);
        assert_eq!(bad, None, "plane {i} differs");
    }
}

/// Expected (bytes per pixel, plane sizes) for a first plane of s x v, written
/// out per format independently of the library's table.
fn expect(fmt: mem_pixel_format_t, s: u64, v: u64) -> (u64, Vec<u64>) {
    let (hs, hv) = (s.div_ceil(2), v.div_ceil(2));
    match fmt {
        MEM_PIX_FMT_RGB565 => (2, vec![s * v]),
        MEM_PIX_FMT_RGB24 | MEM_PIX_FMT_BGR24 => (3, vec![s * v]),
        MEM_PIX_FMT_ARGB | MEM_PIX_FMT_RGBA | MEM_PIX_FMT_ABGR | MEM_PIX_FMT_BGRA => (4, vec![s * v]),
        MEM_PIX_FMT_YUV420P => (1, vec![s * v, hs * hv, hs * hv]),
        MEM_PIX_FMT_NV12 | MEM_PIX_FMT_NV21 => (1, vec![s * v, s * hv]),
        MEM_PIX_FMT_YUV422P => (1, vec![s * v, hs * v, hs * v]),
        MEM_PIX_FMT_NV16 | MEM_PIX_FMT_NV61 => (1, vec![s * v, s * v]),
        MEM_PIX_FMT_YUYV422 | MEM_PIX_FMT_YVYU422 | MEM_PIX_FMT_UYVY422 | MEM_PIX_FMT_VYUY422 => (2, vec![s * v]),
        MEM_PIX_FMT_YUV444 => (3, vec![s * v]),
        MEM_PIX_FMT_YUV444P => (1, vec![s * v, s * v, s * v]),
        MEM_PIX_FMT_NV24 | MEM_PIX_FMT_NV42 => (1, vec![s * v, 2 * s * v]),
        MEM_PIX_FMT_YUV440P => (1, vec![s * v, s * hv, s * hv]),
        MEM_PIX_FMT_YUV400 | MEM_PIX_FMT_RAW8 => (1, vec![s * v]),
        MEM_PIX_FMT_RAW10 | MEM_PIX_FMT_RAW12 | MEM_PIX_FMT_RAW14 | MEM_PIX_FMT_RAW16 => (2, vec![s * v]),
        MEM_PIX_FMT_RAW20 | MEM_PIX_FMT_RAW24 => (3, vec![s * v]),
        MEM_PIX_FMT_NONE | MEM_PIX_FMT_TOTAL => unreachable!(),
    }
}

const ALL: [mem_pixel_format_t; 30] = [
    MEM_PIX_FMT_RGB565,
    MEM_PIX_FMT_RGB24,
    MEM_PIX_FMT_BGR24,
    MEM_PIX_FMT_ARGB,
    MEM_PIX_FMT_RGBA,
    MEM_PIX_FMT_ABGR,
    MEM_PIX_FMT_BGRA,
    MEM_PIX_FMT_YUV420P,
    MEM_PIX_FMT_NV12,
    MEM_PIX_FMT_NV21,
    MEM_PIX_FMT_YUV422P,
    MEM_PIX_FMT_NV16,
    MEM_PIX_FMT_NV61,
    MEM_PIX_FMT_YUYV422,
    MEM_PIX_FMT_YVYU422,
    MEM_PIX_FMT_UYVY422,
    MEM_PIX_FMT_VYUY422,
    MEM_PIX_FMT_YUV444,
    MEM_PIX_FMT_YUV444P,
    MEM_PIX_FMT_NV24,
    MEM_PIX_FMT_NV42,
    MEM_PIX_FMT_YUV440P,
    MEM_PIX_FMT_YUV400,
    MEM_PIX_FMT_RAW8,
    MEM_PIX_FMT_RAW10,
    MEM_PIX_FMT_RAW12,
    MEM_PIX_FMT_RAW14,
    MEM_PIX_FMT_RAW16,
    MEM_PIX_FMT_RAW20,
    MEM_PIX_FMT_RAW24,
];

#[test]
fn nv12_1080p_has_a_full_y_plane_and_a_half_uv_plane() {
    let c = ctx();
    let b = alloc(1920, 1080, MEM_PIX_FMT_NV12, RW, 0, 0).unwrap();
    assert_eq!((b.plane_cnt, b.format, b.width, b.height), (2, MEM_PIX_FMT_NV12 as i32, 1920, 1080));
    assert_eq!((b.stride, b.vstride, b.is_contig, b.flags), (1920, 1080, 0, RW));
    assert_eq!(b.size, [1920 * 1080, 1920 * 540, 0]);
    assert_eq!((b.fd[2], b.share_id[2], b.phys_addr[2]), (0, 0, 0));
    assert!(b.virt_addr[2].is_null());
    for i in 0..2 {
        assert!(b.fd[i] > 0 && b.share_id[i] != 0 && !b.virt_addr[i].is_null() && b.phys_addr[i] >= 0x8000_0000);
        assert_eq!(b.offset[i], 0);
        // Each plane fd is also a common buffer of the plane's size.
        let cb = com(b.fd[i]).unwrap();
        assert_eq!(
            (cb.size, cb.virt_addr, cb.phys_addr, cb.share_id),
            (b.size[i], b.virt_addr[i], b.phys_addr[i], b.share_id[i])
        );
    }
    free(c.dev, b.fd[0]);
}

#[test]
fn every_format_has_its_plane_count_sizes_and_default_strides() {
    let c = ctx();
    for fmt in ALL {
        // An odd size: default stride is width * bpp rounded up to 16 bytes.
        let (w, h) = (101, 51);
        let b = alloc(w, h, fmt, 0, 0, 0).unwrap_or_else(|e| panic!("{fmt:?}: {e}"));
        let (bpp, _) = expect(fmt, 1, 1);
        let s = (w as u64 * bpp).div_ceil(16) * 16;
        let (_, sizes) = expect(fmt, s, h as u64);
        assert_eq!((b.stride as u64, b.vstride), (s, h), "{fmt:?}");
        assert_eq!(b.plane_cnt as usize, sizes.len(), "{fmt:?}");
        assert_eq!(&b.size[..sizes.len()], &sizes[..], "{fmt:?}");
        free(c.dev, b.fd[0]);
        // Explicit strides are kept and size every plane.
        let (st, vst) = ((w as u64 * bpp + 30) as i32, h + 13);
        let b = alloc(w, h, fmt, CONTIG, st, vst).unwrap();
        let (_, sizes) = expect(fmt, st as u64, vst as u64);
        assert_eq!((b.stride, b.vstride), (st, vst), "{fmt:?}");
        assert_eq!(&b.size[..sizes.len()], &sizes[..], "{fmt:?}");
        free(c.dev, b.fd[0]);
    }
}

#[test]
fn separate_planes_are_separate_non_contiguous_blocks() {
    let c = ctx();
    // 64x64 YUV420P has a page-multiple Y plane: the worst case.
    for (w, h, fmt) in [
        (64, 64, MEM_PIX_FMT_YUV420P),
        (1024, 8, MEM_PIX_FMT_NV12),
        (640, 480, MEM_PIX_FMT_YUV444P),
    ] {
        let b = alloc(w, h, fmt, 0, 0, 0).unwrap();
        assert_eq!(b.is_contig, 0);
        let n = b.plane_cnt as usize;
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    assert_ne!(b.fd[i], b.fd[j]);
                    assert_ne!(b.share_id[i], b.share_id[j]);
                    assert_ne!(b.phys_addr[j], b.phys_addr[i] + b.size[i], "{fmt:?}: plane {j} follows plane {i}");
                }
            }
        }
        free(c.dev, b.fd[n - 1]);
        for i in 0..n {
            assert_eq!(com(b.fd[i]).unwrap_err(), HB_MEM_ERR_INVALID_FD, "plane {i} freed with the rest");
            assert!(c.dev.find_share(b.share_id[i]).is_err(), "plane {i}'s buffer freed");
        }
    }
}

#[test]
fn contiguous_flag_puts_all_planes_in_one_buffer() {
    let c = ctx();
    let b = alloc(640, 480, MEM_PIX_FMT_YUV420P, CONTIG | RW, 0, 0).unwrap();
    assert_eq!((b.is_contig, b.plane_cnt), (1, 3));
    assert_eq!(b.size, [640 * 480, 320 * 240, 320 * 240]);
    let mut off = 0;
    for i in 0..3 {
        assert_eq!((b.fd[i], b.share_id[i]), (b.fd[0], b.share_id[0]));
        assert_eq!(b.offset[i], off);
        assert_eq!(b.phys_addr[i], b.phys_addr[0] + off);
        assert_eq!(b.virt_addr[i] as u64, b.virt_addr[0] as u64 + off);
        off += b.size[i];
    }
    assert_eq!(com(b.fd[0]).unwrap().size, off, "one buffer holds every plane");
    fill(&b, 7);
    check_fill(&get(b.fd[0]).unwrap(), 7);
    free(c.dev, b.fd[0]);
    assert!(c.dev.find_share(b.share_id[0]).is_err());
}

#[test]
fn planes_written_read_back_through_lookups_by_fd_and_vaddr() {
    let c = ctx();
    let b = alloc(320, 240, MEM_PIX_FMT_NV21, RW, 0, 0).unwrap();
    fill(&b, 0x5a);
    for i in 0..2 {
        let mid = b.virt_addr[i] as u64 + b.size[i] / 2;
        let g = get_vaddr(mid).unwrap();
        assert_eq!((g.fd, g.virt_addr, g.phys_addr, g.size), (b.fd, b.virt_addr, b.phys_addr, b.size));
        check_fill(&g, 0x5a);
        let g = get(b.fd[i]).unwrap();
        assert_eq!((g.fd, g.share_id, g.stride, g.format), (b.fd, b.share_id, b.stride, b.format));
    }
    free(c.dev, b.fd[1]);
    assert_eq!(get(b.fd[0]).unwrap_err(), HB_MEM_ERR_INVALID_FD);
    assert_eq!(get_vaddr(b.virt_addr[0] as u64).unwrap_err(), HB_MEM_ERR_INVALID_VADDR);
}

fn import(b: &hb_mem_graphic_buf_t) -> Result<hb_mem_graphic_buf_t, i32> {
    let mut inb = *b;
    let mut o = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    // SAFETY: valid pointers.
    let r = unsafe { hb_mem_import_graph_buf(&mut inb, o.as_mut_ptr()) };
    // SAFETY: zeroed is a valid value.
    (r == 0).then(|| unsafe { o.assume_init() }).ok_or(r)
}

fn share_cnt(fd: i32) -> i32 {
    let mut n = -1;
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_get_share_info(fd, &mut n) }, 0);
    n
}

#[test]
fn import_in_the_same_process_gives_new_fds_and_mappings_of_the_same_bytes() {
    let c = ctx();
    for flags in [RW, RW | CONTIG] {
        let b = alloc(128, 96, MEM_PIX_FMT_YUV422P, flags, 0, 0).unwrap();
        fill(&b, 3);
        let m = import(&b).unwrap();
        assert_eq!(
            (m.plane_cnt, m.format, m.width, m.height, m.stride, m.vstride),
            (3, b.format, 128, 96, b.stride, b.vstride)
        );
        assert_eq!(
            (m.is_contig, m.share_id, m.phys_addr, m.size),
            (b.is_contig, b.share_id, b.phys_addr, b.size)
        );
        for i in 0..3 {
            assert!(!b.fd.contains(&m.fd[i]), "new fd");
            assert!(!b.virt_addr.contains(&m.virt_addr[i]), "new mapping");
            assert_eq!(share_cnt(m.fd[i]), 1);
        }
        check_fill(&m, 3);
        // Writes through the import show in the original.
        plane(&m, 2)[5] = 0xEE;
        assert_eq!(plane(&b, 2)[5], 0xEE);
        assert_eq!(get(m.fd[1]).unwrap().fd, m.fd);
        // The import's free drops its references only.
        free(c.dev, m.fd[2]);
        for i in 0..3 {
            assert_eq!(share_cnt(b.fd[i]), 0);
            assert_eq!(com(m.fd[i]).unwrap_err(), HB_MEM_ERR_INVALID_FD);
        }
        assert_eq!(plane(&b, 2)[5], 0xEE);
        free(c.dev, b.fd[0]);
        for i in 0..3 {
            assert!(c.dev.find_share(m.share_id[i]).is_err(), "last reference gone");
        }
    }
}

#[test]
fn graphic_consume_count_lives_on_the_first_plane() {
    let c = ctx();
    let mut b = alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap();
    // SAFETY: valid pointer.
    assert_eq!(unsafe { hb_mem_inc_graph_buf_consume_cnt(&mut b) }, 0);
    let mut n = -1;
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_get_consume_info(b.fd[0], &mut n) }, 0);
    assert_eq!(n, 1);
    // Any plane's fd or address names the graphic buffer's one count.
    // SAFETY: valid out pointer; plain calls.
    unsafe {
        assert_eq!(hb_mem_get_consume_info(b.fd[1], &mut n), 0);
        assert_eq!(n, 1, "the second plane's fd sees the buffer's count");
        assert_eq!(hb_mem_get_consume_info_with_vaddr(b.virt_addr[1] as u64, &mut n), 0);
        assert_eq!(n, 1);
        assert_eq!(hb_mem_wait_consume_status(b.fd[1], 1, 0), 0);
        assert_eq!(hb_mem_dec_consume_cnt(b.fd[1]), 0);
        assert_eq!(hb_mem_get_consume_info(b.fd[0], &mut n), 0);
        assert_eq!(n, 0, "a dec by the second plane's fd counts down the one count");
        assert_eq!(hb_mem_inc_graph_buf_consume_cnt(&mut b), 0);
        assert_eq!(hb_mem_dec_consume_cnt_with_vaddr(b.virt_addr[1] as u64), 0);
        assert_eq!(hb_mem_wait_consume_status(b.fd[0], 0, 0), 0);
        assert_eq!(hb_mem_dec_consume_cnt(b.fd[0]), HB_MEM_ERR_INVALID_PARAMS, "below zero");
        assert_eq!(hb_mem_inc_graph_buf_consume_cnt(null_mut()), HB_MEM_ERR_INVALID_PARAMS);
    }
    free(c.dev, b.fd[0]);
}

/// User consume counts are documented as not supported for graphic buffer
/// groups (a lone graphic buffer's planes take them).
#[test]
fn user_consume_counts_refuse_group_planes() {
    let c = ctx();
    let g = alloc_group(0b1, [MEM_PIX_FMT_NV12; 8], 0).unwrap();
    let b = alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap();
    // SAFETY: plain calls on fds and addresses of this process.
    unsafe {
        let m = &g.graph_group[0];
        assert_eq!(hb_mem_inc_user_consume_cnt(m.fd[0]), HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(
            hb_mem_inc_user_consume_cnt_with_vaddr(m.virt_addr[1] as u64),
            HB_MEM_ERR_INVALID_PARAMS
        );
        assert_eq!(hb_mem_inc_user_consume_cnt(b.fd[0]), 0);
        assert_eq!(hb_mem_dec_user_consume_cnt(b.fd[0]), 0);
    }
    free(c.dev, b.fd[0]);
    free(c.dev, g.graph_group[0].fd[0]);
}

fn alloc_group(bitmap: u32, fmts: [mem_pixel_format_t; 8], flags: i64) -> Result<hb_mem_graphic_buf_group_t, i32> {
    let (mut w, mut h, mut st, mut vst) = ([0i32; 8], [0i32; 8], [0i32; 8], [0i32; 8]);
    let mut f = [0i32; 8];
    let mut fl = [flags; 8];
    for i in 0..8 {
        w[i] = 64 + 16 * i as i32;
        h[i] = 32 + 2 * i as i32;
        f[i] = fmts[i] as i32;
    }
    let mut g = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: eight-entry arrays and a valid out pointer.
    let r = unsafe {
        hb_mem_alloc_graph_buf_group(
            w.as_mut_ptr(),
            h.as_mut_ptr(),
            f.as_mut_ptr(),
            fl.as_mut_ptr(),
            st.as_mut_ptr(),
            vst.as_mut_ptr(),
            g.as_mut_ptr(),
            bitmap,
        )
    };
    // SAFETY: zeroed is a valid value.
    (r == 0).then(|| unsafe { g.assume_init() }).ok_or(r)
}

fn group_of(fd: i32) -> Result<hb_mem_graphic_buf_group_t, i32> {
    let mut g = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: valid out pointer.
    let r = unsafe { hb_mem_get_graph_buf_group(fd, g.as_mut_ptr()) };
    // SAFETY: zeroed is a valid value.
    (r == 0).then(|| unsafe { g.assume_init() }).ok_or(r)
}

#[test]
fn groups_are_allocated_looked_up_imported_and_freed_as_one() {
    let c = ctx();
    let fmts = [
        MEM_PIX_FMT_NV12,
        MEM_PIX_FMT_RGB24,
        MEM_PIX_FMT_YUV420P,
        MEM_PIX_FMT_RAW12,
        MEM_PIX_FMT_NV12,
        MEM_PIX_FMT_NV16,
        MEM_PIX_FMT_NV12,
        MEM_PIX_FMT_BGRA,
    ];
    let bitmap = 0b1000_0101;
    let g = alloc_group(bitmap, fmts, RW).unwrap();
    assert_eq!(g.bit_map, bitmap);
    assert_eq!(g.group_id, g.graph_group[0].share_id[0]);
    for (i, (m, fmt)) in g.graph_group.iter().zip(fmts).enumerate() {
        if bitmap & (1 << i) == 0 {
            assert_eq!((m.plane_cnt, m.fd[0]), (0, 0), "member {i} not allocated");
            continue;
        }
        let (_, sizes) = expect(fmt, (m.width as u64 * expect(fmt, 1, 1).0).div_ceil(16) * 16, m.height as u64);
        assert_eq!((m.format, m.width, m.height), (fmt as i32, 64 + 16 * i as i32, 32 + 2 * i as i32));
        assert_eq!(&m.size[..sizes.len()], &sizes[..]);
        fill(m, i as u8);
    }
    // Any plane fd or address of any member names the group.
    let last = &g.graph_group[7];
    let by_fd = group_of(g.graph_group[2].fd[2]).unwrap();
    assert_eq!(
        (by_fd.group_id, by_fd.bit_map, by_fd.graph_group[7].fd),
        (g.group_id, bitmap, last.fd)
    );
    let mut by_va = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: valid out pointer.
    assert_eq!(
        unsafe { hb_mem_get_graph_buf_group_with_vaddr(last.virt_addr[0] as u64 + 9, by_va.as_mut_ptr()) },
        0
    );
    // SAFETY: written by the call.
    assert_eq!(unsafe { by_va.assume_init() }.graph_group[2].fd, g.graph_group[2].fd);
    // The member type is GRAPHIC_GROUP.
    let mut t = -1;
    let mut gb = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    let mut gg = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: valid pointers.
    let r = unsafe { hb_mem_get_buf_and_type_with_vaddr(last.virt_addr[0] as u64, &mut t, null_mut(), gb.as_mut_ptr(), gg.as_mut_ptr()) };
    assert_eq!((r, t), (0, hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP as i32));
    // SAFETY: written by the call.
    assert_eq!(unsafe { gg.assume_init() }.group_id, g.group_id);
    // SAFETY: written by the call.
    assert_eq!(unsafe { gb.assume_init() }.fd, last.fd);
    // Consume counts of every member.
    let mut gm = g;
    // SAFETY: valid pointer.
    assert_eq!(unsafe { hb_mem_inc_graph_buf_group_consume_cnt(&mut gm) }, 0);
    for i in [0, 2, 7] {
        let mut n = -1;
        // SAFETY: valid out pointer; then undo.
        unsafe {
            assert_eq!(hb_mem_get_consume_info(g.graph_group[i].fd[0], &mut n), 0);
            assert_eq!(n, 1);
            assert_eq!(hb_mem_dec_consume_cnt(g.graph_group[i].fd[0]), 0);
        }
    }
    // Import: same group id and buffers, new fds and mappings.
    let mut inb = g;
    let mut o = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: valid pointers.
    assert_eq!(unsafe { hb_mem_import_graph_buf_group(&mut inb, o.as_mut_ptr()) }, 0);
    // SAFETY: written by the call.
    let m = unsafe { o.assume_init() };
    assert_eq!((m.group_id, m.bit_map), (g.group_id, bitmap));
    for i in [0, 2, 7] {
        let (a, b) = (&g.graph_group[i], &m.graph_group[i]);
        assert_eq!((a.share_id, a.phys_addr, a.size), (b.share_id, b.phys_addr, b.size));
        assert!(!a.fd.contains(&b.fd[0]) && a.virt_addr[0] != b.virt_addr[0]);
        check_fill(b, i as u8);
    }
    assert_eq!(group_of(m.graph_group[7].fd[0]).unwrap().graph_group[0].fd, m.graph_group[0].fd);
    // Freeing one fd of the imported group frees every imported member and
    // leaves the owner's; then one fd of the owner's frees the rest.
    free(c.dev, m.graph_group[2].fd[1]);
    for i in [0, 2, 7] {
        assert_eq!(com(m.graph_group[i].fd[0]).unwrap_err(), HB_MEM_ERR_INVALID_FD);
        assert_eq!(share_cnt(g.graph_group[i].fd[0]), 0);
        check_fill(&g.graph_group[i], i as u8);
    }
    free(c.dev, g.graph_group[0].fd[0]);
    for i in [0, 2, 7] {
        assert_eq!(com(g.graph_group[i].fd[0]).unwrap_err(), HB_MEM_ERR_INVALID_FD);
        assert!(c.dev.find_share(g.graph_group[i].share_id[0]).is_err());
    }
}

#[test]
fn type_queries_tell_common_graphic_and_contiguous_views_apart() {
    let c = ctx();
    let mut cb = MaybeUninit::<hb_mem_common_buf_t>::zeroed();
    // SAFETY: valid out pointer.
    assert_eq!(unsafe { hb_mem_alloc_com_buf(8192, RW, cb.as_mut_ptr()) }, 0);
    // SAFETY: written by the call.
    let cb = unsafe { cb.assume_init() };
    let sep = alloc(64, 64, MEM_PIX_FMT_NV12, RW, 0, 0).unwrap();
    let con = alloc(64, 64, MEM_PIX_FMT_NV12, RW | CONTIG, 0, 0).unwrap();
    let q = |va: *mut u8, want_com: bool, want_graph: bool| {
        let mut t = -1;
        let mut c = MaybeUninit::<hb_mem_common_buf_t>::zeroed();
        let mut g = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
        let cp = if want_com { c.as_mut_ptr() } else { null_mut() };
        let gp = if want_graph { g.as_mut_ptr() } else { null_mut() };
        // SAFETY: valid or NULL pointers.
        let r = unsafe { hb_mem_get_buf_type_and_buf_with_vaddr(va as u64, &mut t, cp, gp) };
        // SAFETY: zeroed is a valid value.
        (r, t, unsafe { c.assume_init() }, unsafe { g.assume_init() })
    };
    let (r, t, c0, g0) = q(cb.virt_addr, true, true);
    assert_eq!((r, t), (0, hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_COMMON as i32));
    assert_eq!((c0.fd, c0.size), (cb.fd, 8192));
    assert_eq!(
        (g0.plane_cnt, g0.fd[0], g0.size[0], g0.virt_addr[0]),
        (1, cb.fd, 8192, cb.virt_addr)
    );
    let (r, t, _, g1) = q(sep.virt_addr[1], false, true);
    assert_eq!((r, t, g1.fd), (0, hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC as i32, sep.fd));
    assert_eq!(
        q(sep.virt_addr[1], true, false).0,
        HB_MEM_ERR_INVALID_PARAMS,
        "separate planes have no common view"
    );
    let (r, _, c2, _) = q(con.virt_addr[1], true, false);
    assert_eq!((r, c2.fd, c2.size), (0, con.fd[0], con.size[0] + con.size[1]));
    assert_eq!(q(cb.virt_addr, false, false).0, HB_MEM_ERR_INVALID_PARAMS);
    assert_eq!(q(null_mut(), true, true).0, HB_MEM_ERR_INVALID_VADDR);
    assert_eq!(type_of_fd(sep.fd[1]), hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC);
    assert_eq!(type_of_fd(cb.fd), hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_COMMON);
    // get_buf_and_type: the struct of the buffer's type must be given.
    let mut t = -1;
    let mut gb = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    // SAFETY: valid or NULL pointers.
    unsafe {
        assert_eq!(
            hb_mem_get_buf_and_type_with_vaddr(sep.virt_addr[0] as u64, &mut t, null_mut(), gb.as_mut_ptr(), null_mut()),
            0
        );
        assert_eq!(t, hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC as i32);
        assert_eq!(gb.assume_init().fd, sep.fd);
        let r = hb_mem_get_buf_and_type_with_vaddr(cb.virt_addr as u64, &mut t, null_mut(), gb.as_mut_ptr(), null_mut());
        assert_eq!(r, HB_MEM_ERR_INVALID_PARAMS, "common buffer without com_buf");
    }
    // Process info by share id: this process holds it.
    let (mut pids, mut n) = ([0i32; 4], -1);
    // SAFETY: four-entry array.
    unsafe {
        assert_eq!(
            hb_mem_get_buffer_process_info_with_share_id(sep.share_id[1], pids.as_mut_ptr(), 4, &mut n),
            0
        );
        assert_eq!(&pids[..n as usize], &[std::process::id() as i32]);
        let r = hb_mem_get_buffer_process_info_with_share_id(-12345, pids.as_mut_ptr(), 4, &mut n);
        assert_eq!(r, HB_MEM_ERR_INVALID_PARAMS);
        assert_eq!(hb_mem_free_buf(cb.fd), 0);
    }
    assert_eq!(free_graphic_if_plane(c.dev, cb.fd), None, "not a graphic fd");
    free(c.dev, sep.fd[0]);
    free(c.dev, con.fd[0]);
}

#[test]
fn bad_input_gets_the_documented_codes_and_leaks_nothing() {
    let c = ctx();
    let p = HB_MEM_ERR_INVALID_PARAMS;
    // SAFETY: NULL out pointer is rejected.
    assert_eq!(
        unsafe { hb_mem_alloc_graph_buf(64, 64, MEM_PIX_FMT_NV12 as i32, 0, 0, 0, null_mut()) },
        p
    );
    for (w, h) in [(0, 64), (64, 0), (-1, 64), (64, -5)] {
        assert_eq!(alloc(w, h, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap_err(), p, "{w}x{h}");
    }
    for f in [-1, 30, 31, 1000, i32::MIN] {
        let mut b = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
        // SAFETY: valid out pointer.
        assert_eq!(
            unsafe { hb_mem_alloc_graph_buf(64, 64, f, 0, 0, 0, b.as_mut_ptr()) },
            p,
            "format {f}"
        );
    }
    assert_eq!(alloc(64, 64, MEM_PIX_FMT_NV12, 0, 63, 0).unwrap_err(), p, "stride < width");
    assert_eq!(
        alloc(64, 64, MEM_PIX_FMT_RGB24, 0, 64 * 3 - 1, 0).unwrap_err(),
        p,
        "stride < row bytes"
    );
    assert_eq!(alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 63).unwrap_err(), p, "vstride < height");
    assert_eq!(alloc(64, 64, MEM_PIX_FMT_NV12, 0, -64, 0).unwrap_err(), p);
    assert_eq!(
        alloc(1 << 20, 1 << 20, MEM_PIX_FMT_ARGB, 0, 0, 0).unwrap_err(),
        HB_MEM_ERR_INSUFFICIENT_MEM
    );
    // Lookups of what is not a graphic buffer.
    assert_eq!(get(-1).unwrap_err(), HB_MEM_ERR_INVALID_FD);
    assert_eq!(get(0).unwrap_err(), HB_MEM_ERR_INVALID_FD);
    assert_eq!(get_vaddr(0).unwrap_err(), HB_MEM_ERR_INVALID_VADDR);
    assert_eq!(group_of(-1).unwrap_err(), HB_MEM_ERR_INVALID_FD);
    let b = alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap();
    assert_eq!(group_of(b.fd[0]).unwrap_err(), HB_MEM_ERR_INVALID_FD, "not a group member");
    // SAFETY: NULL out pointers are rejected.
    unsafe {
        assert_eq!(hb_mem_get_graph_buf(b.fd[0], null_mut()), p);
        assert_eq!(hb_mem_get_graph_buf_with_vaddr(b.virt_addr[0] as u64, null_mut()), p);
        assert_eq!(hb_mem_import_graph_buf(null_mut(), null_mut()), p);
        let mut inb = b;
        assert_eq!(hb_mem_import_graph_buf(&mut inb, null_mut()), p);
    }
    // Imports of broken structs.
    for (what, edit) in [
        (
            "plane_cnt 0",
            Box::new(|x: &mut hb_mem_graphic_buf_t| x.plane_cnt = 0) as Box<dyn Fn(&mut hb_mem_graphic_buf_t)>,
        ),
        ("plane_cnt 4", Box::new(|x| x.plane_cnt = 4)),
        ("unknown share id", Box::new(|x| x.share_id[1] = -777)),
        ("size beyond the buffer", Box::new(|x| x.size[1] += 8192)),
        ("phys outside", Box::new(|x| x.phys_addr[1] = 4096)),
    ] {
        let mut x = b;
        edit(&mut x);
        assert_eq!(import(&x).unwrap_err(), p, "{what}");
        assert_eq!(share_cnt(b.fd[0]), 0, "{what}: no import left behind");
    }
    free(c.dev, b.fd[0]);
    // Groups.
    let f = [MEM_PIX_FMT_NV12; 8];
    assert_eq!(alloc_group(0, f, 0).unwrap_err(), p, "empty bitmap");
    assert_eq!(alloc_group(1 << 8, f, 0).unwrap_err(), p, "bit beyond eight buffers");
    let mut bad = f;
    bad[5] = MEM_PIX_FMT_TOTAL;
    assert_eq!(alloc_group(0b10_0011, bad, 0).unwrap_err(), p, "a bad member fails the group");
    let mut a = [64i32; 8];
    let mut fl = [0i64; 8];
    let mut g = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: NULL arrays are rejected before any read.
    unsafe {
        let r = hb_mem_alloc_graph_buf_group(
            a.as_mut_ptr(),
            null_mut(),
            a.as_mut_ptr(),
            fl.as_mut_ptr(),
            a.as_mut_ptr(),
            a.as_mut_ptr(),
            g.as_mut_ptr(),
            1,
        );
        assert_eq!(r, p);
        let r = hb_mem_alloc_graph_buf_group(
            a.as_mut_ptr(),
            a.as_mut_ptr(),
            a.as_mut_ptr(),
            fl.as_mut_ptr(),
            a.as_mut_ptr(),
            a.as_mut_ptr(),
            null_mut(),
            1,
        );
        assert_eq!(r, p);
        assert_eq!(hb_mem_import_graph_buf_group(null_mut(), g.as_mut_ptr()), p);
        assert_eq!(hb_mem_inc_graph_buf_group_consume_cnt(null_mut()), p);
        assert_eq!(hb_mem_get_graph_buf_group(0, null_mut()), p);
    }
    let g = alloc_group(0b11, f, 0).unwrap();
    let mut wrong = g;
    wrong.group_id ^= 0x5555;
    let mut o = MaybeUninit::<hb_mem_graphic_buf_group_t>::zeroed();
    // SAFETY: valid pointers.
    assert_eq!(
        unsafe { hb_mem_import_graph_buf_group(&mut wrong, o.as_mut_ptr()) },
        HB_MEM_ERR_INVALID_GROUPID
    );
    let mut half_bad = g;
    half_bad.graph_group[1].share_id[0] = -9;
    // SAFETY: valid pointers.
    assert_eq!(unsafe { hb_mem_import_graph_buf_group(&mut half_bad, o.as_mut_ptr()) }, p);
    assert_eq!(share_cnt(g.graph_group[0].fd[0]), 0, "first member's import undone");
    free(c.dev, g.graph_group[0].fd[0]);
}

/// `hb_mem_free_buf` on any plane fd frees the whole graphic buffer. Needs
/// `graphic::free_graphic_if_plane` wired into `common::hb_mem_free_buf`.
#[test]
fn free_buf_on_any_plane_frees_the_whole_graphic_buffer() {
    let c = ctx();
    let b = alloc(64, 64, MEM_PIX_FMT_YUV420P, 0, 0, 0).unwrap();
    // SAFETY: plain call.
    assert_eq!(unsafe { hb_mem_free_buf(b.fd[1]) }, 0);
    for i in 0..3 {
        assert_eq!(com(b.fd[i]).unwrap_err(), HB_MEM_ERR_INVALID_FD);
        assert!(c.dev.find_share(b.share_id[i]).is_err());
    }
    let b = alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap();
    // SAFETY: plain call.
    assert_eq!(unsafe { hb_mem_free_buf_with_vaddr(b.virt_addr[1] as u64) }, 0);
    assert_eq!(com(b.fd[0]).unwrap_err(), HB_MEM_ERR_INVALID_FD);
    let mut t = -1;
    let g = alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap();
    // SAFETY: valid out pointer; then free.
    unsafe {
        assert_eq!(hb_mem_get_buf_type_with_vaddr(g.virt_addr[1] as u64, &mut t), 0);
        assert_eq!(hb_mem_free_buf(g.fd[0]), 0);
    }
    assert_eq!(t, hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC as i32);
}

/// Ownership transfer in one process: the owner frees first and the
/// import keeps its mapping. Fails today: `Device::free` unmaps every
/// mapping this process has of the buffer, the import's included.
#[test]
fn owner_free_first_leaves_a_same_process_import_mapped() {
    let c = ctx();
    let b = alloc(64, 64, MEM_PIX_FMT_NV12, RW, 0, 0).unwrap();
    let m = import(&b).unwrap();
    free(c.dev, b.fd[0]);
    for i in 0..2 {
        // SAFETY: msync only probes whether the range is mapped.
        let r = unsafe { libc::msync(m.virt_addr[i].cast(), m.size[i] as usize, libc::MS_ASYNC) };
        assert_eq!(r, 0, "import plane {i} still mapped");
    }
    free(c.dev, m.fd[0]);
}

/// A share-pool block seen as a graphic buffer (the documented com→graph
/// view) and imported with `hb_mem_import_graph_buf` is held like any
/// import of the block: the allocator's free does not return it to the
/// pool, the pool cannot be destroyed, and the import maps only the block.
#[test]
fn graphic_import_of_a_share_pool_block_holds_the_block() {
    let _c = ctx();
    let mut sp = hb_mem_share_pool_t::default();
    let mut first = MaybeUninit::<hb_mem_common_buf_t>::zeroed();
    let mut blk = MaybeUninit::<hb_mem_common_buf_t>::zeroed();
    let mut gv = MaybeUninit::<hb_mem_graphic_buf_t>::zeroed();
    let mut info = hb_mem_share_pool_t::default();
    let mut t = -1;
    // SAFETY: valid out pointers; zeroed structs are valid values.
    let (first, blk, gv) = unsafe {
        assert_eq!(hb_mem_share_pool_create(3, 8192, 0, &mut sp), 0);
        // The block viewed is the second, not at the pool's start.
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, first.as_mut_ptr()), 0);
        assert_eq!(hb_mem_share_pool_alloc_buf(sp.fd, blk.as_mut_ptr()), 0);
        let blk = blk.assume_init();
        assert_eq!(
            hb_mem_get_buf_type_and_buf_with_vaddr(blk.virt_addr as u64, &mut t, null_mut(), gv.as_mut_ptr()),
            0
        );
        (first.assume_init(), blk, gv.assume_init())
    };
    let m = import(&gv).unwrap();
    assert_eq!(m.phys_addr[0], blk.phys_addr);
    // SAFETY: plain calls with valid pointers.
    unsafe {
        assert_eq!(hb_mem_share_pool_free_buf(blk.virt_addr as u64), 0);
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), 0);
        assert_eq!(info.avail_buf_cnt, 1, "the imported block stays out");
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), HB_MEM_ERR_POOL_BUSY);
        let mut view = MaybeUninit::<hb_mem_common_buf_t>::zeroed();
        assert_eq!(hb_mem_get_com_buf(m.fd[0], view.as_mut_ptr()), 0);
        let view = view.assume_init();
        assert_eq!(
            (view.phys_addr, view.size),
            (blk.phys_addr, 8192),
            "the import maps the block, not the pool before it"
        );
        assert_eq!(hb_mem_free_buf(m.fd[0]), 0);
        assert_eq!(hb_mem_share_pool_free_buf(first.virt_addr as u64), 0);
        assert_eq!(hb_mem_share_pool_get_info(sp.fd, &mut info), 0);
        assert_eq!(info.avail_buf_cnt, 3);
        assert_eq!(hb_mem_share_pool_destroy(sp.fd), 0);
    }
}

/// Two threads freeing two planes of one graphic buffer at once: one frees
/// it, the other is told the fd is no longer valid.
#[test]
fn racing_frees_of_one_graphic_buffer_free_it_once() {
    let c = ctx();
    let before = c.dev.zones().unwrap()[0].blocks.len();
    for _ in 0..200 {
        let b = alloc(64, 64, MEM_PIX_FMT_NV12, 0, 0, 0).unwrap();
        let bar = std::sync::Barrier::new(2);
        let mut r: Vec<i32> = std::thread::scope(|s| {
            let h: Vec<_> = [b.fd[0], b.fd[1]]
                .into_iter()
                .map(|fd| {
                    let bar = &bar;
                    s.spawn(move || {
                        bar.wait();
                        // SAFETY: plain call.
                        unsafe { hb_mem_free_buf(fd) }
                    })
                })
                .collect();
            h.into_iter().map(|h| h.join().unwrap()).collect()
        });
        r.sort();
        assert_eq!(r, vec![HB_MEM_ERR_INVALID_FD, 0]);
    }
    assert_eq!(c.dev.zones().unwrap()[0].blocks.len(), before, "every buffer freed");
}
