//! hbmem graphic buffers (planes in separate blocks unless contiguous) and
//! graphic buffer groups.
//!
//! Layout choices (the vendor documents none):
//! - `stride` is the byte length of a row of the first plane (luma, or the
//!   only plane); 0 means `width * bytes_per_pixel` rounded up to 16 bytes.
//!   `vstride` is the row count of the first plane; 0 means `height`.
//! - Bytes per pixel of the first plane: RGB565 2, RGB24/BGR24 3, ARGB,
//!   RGBA, ABGR, BGRA 4, packed YUYV/YVYU/UYVY/VYUY 2, packed YUV444 3,
//!   Y planes 1, RAW8 1, RAW10..RAW16 2, RAW20/RAW24 3.
//! - Chroma planes: NV12/NV21 `stride * ceil(vstride/2)`; NV16/NV61
//!   `stride * vstride`; NV24/NV42 `2 * stride * vstride`; YUV420P two of
//!   `ceil(stride/2) * ceil(vstride/2)`; YUV422P two of
//!   `ceil(stride/2) * vstride`; YUV444P two of `stride * vstride`; YUV440P
//!   two of `stride * ceil(vstride/2)`.
//! - Without `HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF` every plane of a
//!   multi-plane buffer is its own engine buffer, one byte longer than the
//!   plane, so no other plane can start right where one ends (the document:
//!   "physical addresses of individual components are non-contiguous").
//!   With the flag one buffer holds all planes back to back: `is_contig` 1,
//!   equal fds and share ids, `offset[i]` the plane's offset in it.
//! - Unused plane slots are zero. Freeing any fd of a graphic buffer frees
//!   all its planes; any fd of a group member frees the whole group.
//! - The consume count of a graphic buffer lives on its first plane's
//!   buffer: `hb_mem_dec_consume_cnt(fd[0])` undoes one increment.
#![allow(clippy::missing_safety_doc)]

use super::super::hb_mem_err::*;
use super::super::hb_mem_mgr::mem_pixel_format_t::*;
use super::super::hb_mem_mgr::*;
use super::common::{alloc_buf, describe, hold, release};
use super::{call, code, fd_at, open_device, out, state, Hold};
use crate::engine::{self, BufId, Device, Part};
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

const NPLANE: usize = MAX_GRAPHIC_BUF_COMP;
const NGROUP: usize = HB_MEM_MAXIMUM_GRAPH_BUF;

/// One plane: the record (fd) holding it, checked by buffer and mapping
/// tag so a reused fd number is never mistaken for it.
#[derive(Clone, Copy)]
struct Plane {
    fd: i32,
    /// Offset of the plane in the record's mapping.
    off: u64,
    size: u64,
    buf: BufId,
    tag: u32,
}

#[derive(Clone)]
struct Graph {
    format: i32,
    width: i32,
    height: i32,
    stride: i32,
    vstride: i32,
    contig: bool,
    flags: i64,
    planes: Vec<Plane>,
    group: Option<u32>,
}

struct Group {
    id: i32,
    bitmap: u32,
    members: [Option<u32>; NGROUP],
}

#[derive(Default)]
struct Table {
    next: u32,
    graphs: HashMap<u32, Graph>,
    by_fd: HashMap<i32, u32>,
    groups: HashMap<u32, Group>,
}

impl Table {
    fn key(&mut self) -> u32 {
        self.next = self.next.wrapping_add(1);
        self.next
    }

    fn insert(&mut self, g: Graph) -> u32 {
        let k = self.key();
        for p in &g.planes {
            self.by_fd.insert(p.fd, k);
        }
        self.graphs.insert(k, g);
        k
    }

    fn remove(&mut self, k: u32) -> Option<Graph> {
        let g = self.graphs.remove(&k)?;
        for p in &g.planes {
            if self.by_fd.get(&p.fd) == Some(&k) {
                self.by_fd.remove(&p.fd);
            }
        }
        Some(g)
    }

    /// Remove a graphic and, if it is a group member, its whole group.
    fn remove_all(&mut self, k: u32) -> Vec<Graph> {
        let Some(gk) = self.graphs.get(&k).map(|g| g.group) else {
            return Vec::new();
        };
        match gk.and_then(|gk| self.groups.remove(&gk)) {
            Some(grp) => grp.members.iter().flatten().filter_map(|m| self.remove(*m)).collect(),
            None => self.remove(k).into_iter().collect(),
        }
    }
}

/// Never held while taking `state()` or calling the engine.
static TABLE: Mutex<Option<Table>> = Mutex::new(None);

fn with_table<T>(f: impl FnOnce(&mut Table) -> T) -> T {
    static REG: AtomicBool = AtomicBool::new(false);
    engine::register_fork_lock_once(&TABLE, &REG);
    let mut g = TABLE.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Table::default))
}

/// Whether every plane's record is still the one the graphic was made with.
fn live(g: &Graph) -> bool {
    let st = state();
    g.planes
        .iter()
        .all(|p| st.recs.get(&p.fd).is_some_and(|r| r.buf == p.buf && r.tag == p.tag))
}

/// The graphic buffer an fd of this process belongs to (dropping stale
/// entries, e.g. after `hb_mem_module_close` released every record).
fn lookup(fd: i32) -> Option<(u32, Graph)> {
    let (k, g) = with_table(|t| t.by_fd.get(&fd).and_then(|k| t.graphs.get(k).map(|g| (*k, g.clone()))))?;
    if live(&g) {
        return Some((k, g));
    }
    with_table(|t| t.remove_all(k));
    None
}

fn zero_graph() -> hb_mem_graphic_buf_t {
    hb_mem_graphic_buf_t {
        fd: [0; NPLANE],
        plane_cnt: 0,
        format: 0,
        width: 0,
        height: 0,
        stride: 0,
        vstride: 0,
        is_contig: 0,
        share_id: [0; NPLANE],
        flags: 0,
        size: [0; NPLANE],
        virt_addr: [std::ptr::null_mut(); NPLANE],
        phys_addr: [0; NPLANE],
        offset: [0; NPLANE],
    }
}

fn zero_group() -> hb_mem_graphic_buf_group_t {
    hb_mem_graphic_buf_group_t {
        graph_group: [zero_graph(); NGROUP],
        group_id: 0,
        bit_map: 0,
    }
}

/// Fill the vendor struct from a graphic's planes and their records.
fn describe_graph(g: &Graph) -> Result<hb_mem_graphic_buf_t, i32> {
    let mut d = zero_graph();
    d.plane_cnt = g.planes.len() as i32;
    d.format = g.format;
    d.width = g.width;
    d.height = g.height;
    d.stride = g.stride;
    d.vstride = g.vstride;
    d.is_contig = g.contig as i32;
    d.flags = g.flags;
    let st = state();
    for (i, p) in g.planes.iter().enumerate() {
        let r = st
            .recs
            .get(&p.fd)
            .filter(|r| r.buf == p.buf && r.tag == p.tag)
            .ok_or(HB_MEM_ERR_INVALID_FD)?;
        d.fd[i] = p.fd;
        d.share_id[i] = r.share_id;
        d.size[i] = p.size;
        d.virt_addr[i] = (r.addr + p.off as usize) as *mut u8;
        d.phys_addr[i] = r.phys + p.off;
        d.offset[i] = p.off;
    }
    Ok(d)
}

fn describe_group(k: u32) -> Result<hb_mem_graphic_buf_group_t, i32> {
    let (id, bitmap, members) = with_table(|t| {
        let grp = t.groups.get(&k)?;
        let ms: Vec<(usize, Graph)> = grp
            .members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((i, t.graphs.get(&(*m)?)?.clone())))
            .collect();
        Some((grp.id, grp.bitmap, ms))
    })
    .ok_or(HB_MEM_ERR_INVALID_GROUPID)?;
    let mut out = zero_group();
    out.group_id = id;
    out.bit_map = bitmap;
    for (i, g) in members {
        out.graph_group[i] = describe_graph(&g)?;
    }
    Ok(out)
}

/// Row bytes per pixel of the first plane and the chroma plane sizes for
/// a first plane of `stride` x `vstride`; None for an unknown format.
fn layout(format: i32, stride: u64, vstride: u64) -> Option<(u64, Vec<u64>)> {
    let y = stride * vstride;
    let half_h = vstride.div_ceil(2);
    let half_w = stride.div_ceil(2);
    let f = |v: mem_pixel_format_t| v as i32 == format;
    let r = if f(MEM_PIX_FMT_RGB565)
        || [MEM_PIX_FMT_YUYV422, MEM_PIX_FMT_YVYU422, MEM_PIX_FMT_UYVY422, MEM_PIX_FMT_VYUY422]
            .into_iter()
            .any(f)
    {
        (2, vec![y])
    } else if f(MEM_PIX_FMT_RGB24) || f(MEM_PIX_FMT_BGR24) || f(MEM_PIX_FMT_YUV444) {
        (3, vec![y])
    } else if [MEM_PIX_FMT_ARGB, MEM_PIX_FMT_RGBA, MEM_PIX_FMT_ABGR, MEM_PIX_FMT_BGRA]
        .into_iter()
        .any(f)
    {
        (4, vec![y])
    } else if f(MEM_PIX_FMT_YUV400) || f(MEM_PIX_FMT_RAW8) {
        (1, vec![y])
    } else if [MEM_PIX_FMT_RAW10, MEM_PIX_FMT_RAW12, MEM_PIX_FMT_RAW14, MEM_PIX_FMT_RAW16]
        .into_iter()
        .any(f)
    {
        (2, vec![y])
    } else if f(MEM_PIX_FMT_RAW20) || f(MEM_PIX_FMT_RAW24) {
        (3, vec![y])
    } else if f(MEM_PIX_FMT_NV12) || f(MEM_PIX_FMT_NV21) {
        (1, vec![y, stride * half_h])
    } else if f(MEM_PIX_FMT_NV16) || f(MEM_PIX_FMT_NV61) {
        (1, vec![y, y])
    } else if f(MEM_PIX_FMT_NV24) || f(MEM_PIX_FMT_NV42) {
        (1, vec![y, 2 * y])
    } else if f(MEM_PIX_FMT_YUV420P) {
        (1, vec![y, half_w * half_h, half_w * half_h])
    } else if f(MEM_PIX_FMT_YUV422P) {
        (1, vec![y, half_w * vstride, half_w * vstride])
    } else if f(MEM_PIX_FMT_YUV444P) {
        (1, vec![y, y, y])
    } else if f(MEM_PIX_FMT_YUV440P) {
        (1, vec![y, stride * half_h, stride * half_h])
    } else {
        return None;
    };
    Some(r)
}

fn tag_of(fd: i32) -> u32 {
    state().recs.get(&fd).map_or(0, |r| r.tag)
}

/// Allocate one graphic buffer and register it; returns its table key.
fn alloc_graph(dev: &Device, w: i32, h: i32, format: i32, flags: i64, stride: i32, vstride: i32) -> Result<u32, i32> {
    if w <= 0 || h <= 0 || stride < 0 || vstride < 0 {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let (bpp, _) = layout(format, 1, 1).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
    let row = w as u64 * bpp;
    let stride = if stride == 0 { row.div_ceil(16) * 16 } else { stride as u64 };
    let vstride = if vstride == 0 { h as u64 } else { vstride as u64 };
    if stride < row || vstride < h as u64 || stride > i32::MAX as u64 {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let (_, sizes) = layout(format, stride, vstride).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
    let contig = flags & HB_MEM_USAGE_GRAPHIC_CONTIGUOUS_BUF != 0;
    let mut planes = Vec::with_capacity(sizes.len());
    let undo = |planes: &[Plane]| {
        for p in planes {
            let _ = release(dev, p.fd);
        }
    };
    if contig {
        let total: u64 = sizes.iter().sum();
        let b = alloc_buf(dev, total, flags, "hb_mem_graph_buf")?;
        let fd = hold(dev, &b, 0, total, flags, Hold::Owner).inspect_err(|_| {
            let _ = dev.free(b.id);
        })?;
        let tag = tag_of(fd);
        let mut off = 0;
        for s in &sizes {
            planes.push(Plane {
                fd,
                off,
                size: *s,
                buf: b.id,
                tag,
            });
            off += s;
        }
    } else {
        let pad = (sizes.len() > 1) as u64;
        for s in &sizes {
            let b = alloc_buf(dev, s + pad, flags, "hb_mem_graph_buf").inspect_err(|_| undo(&planes))?;
            let fd = hold(dev, &b, 0, *s, flags, Hold::Owner).inspect_err(|_| {
                let _ = dev.free(b.id);
                undo(&planes);
            })?;
            planes.push(Plane {
                fd,
                off: 0,
                size: *s,
                buf: b.id,
                tag: tag_of(fd),
            });
        }
    }
    let g = Graph {
        format,
        width: w,
        height: h,
        stride: stride as i32,
        vstride: vstride as i32,
        contig,
        flags,
        planes,
        group: None,
    };
    mark_planes(&g);
    Ok(with_table(|t| t.insert(g)))
}

/// Release the records of graphics already taken out of the table.
fn release_graphs(dev: &Device, gs: Vec<Graph>) -> Result<(), i32> {
    let mut res = Ok(());
    for g in gs {
        let mut done: Vec<i32> = Vec::new();
        for p in &g.planes {
            if done.contains(&p.fd) {
                continue;
            }
            done.push(p.fd);
            let ours = state().recs.get(&p.fd).is_some_and(|r| r.buf == p.buf && r.tag == p.tag);
            if ours {
                if let Err(e) = release(dev, p.fd) {
                    res = Err(e);
                }
            }
        }
    }
    res
}

/// Mark a graphic's plane records as planes (before the graphic goes into
/// the table: the table lock is never held while taking `state()`).
fn mark_planes(g: &Graph) {
    let mut st = state();
    for p in &g.planes {
        if let Some(r) = st.recs.get_mut(&p.fd) {
            r.plane = true;
        }
    }
}

/// Free hook for `hb_mem_free_buf` / `hb_mem_free_buf_with_vaddr`: if `fd`
/// is a plane of a graphic buffer, free every plane (and, for a group
/// member, every buffer of the group) and return the result; None for any
/// other fd, which the common path frees.
pub fn free_graphic_if_plane(dev: &Device, fd: i32) -> Option<Result<(), i32>> {
    let (k, _) = lookup(fd)?;
    let gs = with_table(|t| t.remove_all(k));
    if gs.is_empty() {
        // Another thread freed it between the lookup and here.
        return Some(Err(HB_MEM_ERR_INVALID_FD));
    }
    Some(release_graphs(dev, gs))
}

/// The buffer holding the consume count of the graphic buffer an fd of
/// this process is a plane of (its first plane's), if it is one.
pub(crate) fn consume_buf_of_fd(fd: i32) -> Option<BufId> {
    lookup(fd).map(|(_, g)| g.planes[0].buf)
}

/// The buffer type of an fd of this process (COMMON for any fd that is not
/// a plane of a graphic buffer): the hook for `hb_mem_get_buf_type_with_vaddr`.
pub fn type_of_fd(fd: i32) -> hb_mem_buffer_type_t {
    match lookup(fd) {
        Some((_, g)) if g.group.is_some() => hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP,
        Some(_) => hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC,
        None => hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_COMMON,
    }
}

/// Allocate a graphic buffer of `w` x `h` pixels in `format` (see the
/// layout notes at the top of hbmem/graphic.rs for strides and plane sizes).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_alloc_graph_buf(
    w: i32,
    h: i32,
    format: i32,
    flags: i64,
    stride: i32,
    vstride: i32,
    buf: *mut hb_mem_graphic_buf_t,
) -> i32 {
    call(|| {
        let dev = open_device()?;
        if buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let k = alloc_graph(dev, w, h, format, flags, stride, vstride)?;
        let g = with_table(|t| t.graphs.get(&k).cloned()).ok_or(HB_MEM_ERR_UNKNOWN)?;
        out(buf, describe_graph(&g)?)
    })
}

/// The graphic buffer any of whose plane fds is `fd`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_graph_buf(fd: i32, buf: *mut hb_mem_graphic_buf_t) -> i32 {
    call(|| {
        open_device()?;
        let (_, g) = lookup(fd).ok_or(HB_MEM_ERR_INVALID_FD)?;
        out(buf, describe_graph(&g)?)
    })
}

/// The graphic buffer one of whose planes holds `virt_addr`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_graph_buf_with_vaddr(virt_addr: u64, buf: *mut hb_mem_graphic_buf_t) -> i32 {
    call(|| {
        open_device()?;
        let (_, g) = lookup(fd_at(virt_addr)?).ok_or(HB_MEM_ERR_INVALID_VADDR)?;
        out(buf, describe_graph(&g)?)
    })
}

/// Import one graphic buffer passed by value; returns its table key.
fn import_graph(dev: &Device, inb: &hb_mem_graphic_buf_t) -> Result<u32, i32> {
    let n = inb.plane_cnt;
    if !(1..=NPLANE as i32).contains(&n) {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let n = n as usize;
    let contig = inb.is_contig != 0;
    let mut planes: Vec<Plane> = Vec::with_capacity(n);
    let undo = |planes: &[Plane]| {
        let mut seen = Vec::new();
        for p in planes {
            if !seen.contains(&p.fd) {
                seen.push(p.fd);
                let _ = release(dev, p.fd);
            }
        }
    };
    let share = |sid: i32| dev.find_share(sid).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS));
    if contig {
        let b = share(inb.share_id[0])?;
        let mut offs = Vec::with_capacity(n);
        let (mut start, mut end) = (u64::MAX, 0);
        for i in 0..n {
            let off = inb.phys_addr[i].checked_sub(b.phys).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
            let e = off.checked_add(inb.size[i]).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
            if inb.share_id[i] != inb.share_id[0] || inb.size[i] == 0 || e > b.size {
                return Err(HB_MEM_ERR_INVALID_PARAMS);
            }
            offs.push(off);
            start = start.min(off);
            end = end.max(e);
        }
        // Only the planes' range: in a share pool that is one block, which
        // the import then holds out of the pool.
        let (b, part) = dev
            .import_share_range(inb.share_id[0], start, end - start)
            .map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let fd = hold(dev, &b, start, end - start, inb.flags, Hold::Import(part)).inspect_err(|_| {
            let _ = dev.unimport(b.id, part);
        })?;
        let tag = tag_of(fd);
        for (off, size) in offs.into_iter().zip(inb.size) {
            planes.push(Plane {
                fd,
                off: off - start,
                size,
                buf: b.id,
                tag,
            });
        }
    } else {
        for i in 0..n {
            let res = (|| {
                let b = share(inb.share_id[i])?;
                let off = inb.phys_addr[i].checked_sub(b.phys).ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
                if inb.size[i] == 0 || off.checked_add(inb.size[i]).is_none_or(|e| e > b.size) {
                    return Err(HB_MEM_ERR_INVALID_PARAMS);
                }
                let (b, part) = dev
                    .import_share_range(inb.share_id[i], off, inb.size[i])
                    .map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
                let fd = hold(dev, &b, off, inb.size[i], inb.flags, Hold::Import(part)).inspect_err(|_| {
                    let _ = dev.unimport(b.id, part);
                })?;
                Ok(Plane {
                    fd,
                    off: 0,
                    size: inb.size[i],
                    buf: b.id,
                    tag: tag_of(fd),
                })
            })();
            match res {
                Ok(p) => planes.push(p),
                Err(e) => {
                    undo(&planes);
                    return Err(e);
                }
            }
        }
    }
    let g = Graph {
        format: inb.format,
        width: inb.width,
        height: inb.height,
        stride: inb.stride,
        vstride: inb.vstride,
        contig,
        flags: inb.flags,
        planes,
        group: None,
    };
    mark_planes(&g);
    Ok(with_table(|t| t.insert(g)))
}

/// Import a graphic buffer another thread or process passed by value: new
/// fds and mappings for each plane, one more reference to each (free with
/// `hb_mem_free_buf` on any of its fds).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_import_graph_buf(buf: *mut hb_mem_graphic_buf_t, out_buf: *mut hb_mem_graphic_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        // SAFETY: caller passes NULL or a valid struct.
        let Some(inb) = (unsafe { buf.as_ref() }) else {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        };
        if out_buf.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let k = import_graph(dev, inb)?;
        let g = with_table(|t| t.graphs.get(&k).cloned()).ok_or(HB_MEM_ERR_UNKNOWN)?;
        let mut d = describe_graph(&g)?;
        if !g.contig {
            // Offsets are user metadata for separate planes: carried over.
            d.offset = inb.offset;
        }
        out(out_buf, d)
    })
}

fn inc_consume(dev: &Device, b: &hb_mem_graphic_buf_t) -> Result<(), i32> {
    if !(1..=NPLANE as i32).contains(&b.plane_cnt) {
        return Err(HB_MEM_ERR_INVALID_PARAMS);
    }
    let id = dev.find_share(b.share_id[0]).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?.id;
    dev.consume_add(id, Part::Whole, 1)
        .map(|_| ())
        .map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))
}

/// Add one to a graphic buffer's consume count (kept on its first plane).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_inc_graph_buf_consume_cnt(buf: *mut hb_mem_graphic_buf_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        // SAFETY: caller passes NULL or a valid struct.
        let b = unsafe { buf.as_ref() }.ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
        inc_consume(dev, b)
    })
}

/// Register graphics as one group; returns the group's key.
fn make_group(members: [Option<u32>; NGROUP], bitmap: u32, id: i32) -> u32 {
    with_table(|t| {
        let gk = t.key();
        for m in members.iter().flatten() {
            if let Some(g) = t.graphs.get_mut(m) {
                g.group = Some(gk);
            }
        }
        t.groups.insert(gk, Group { id, bitmap, members });
        gk
    })
}

fn drop_members(dev: &Device, members: &[Option<u32>]) {
    let gs: Vec<Graph> = with_table(|t| members.iter().flatten().filter_map(|k| t.remove(*k)).collect());
    let _ = release_graphs(dev, gs);
}

/// The share id of a group's first member's first plane: unique on the
/// device while the group lives, and the same in every importer.
fn first_share_id(members: &[Option<u32>]) -> Result<i32, i32> {
    let k = members.iter().flatten().next().ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
    let fd = with_table(|t| t.graphs.get(k).map(|g| g.planes[0].fd)).ok_or(HB_MEM_ERR_UNKNOWN)?;
    state().recs.get(&fd).map(|r| r.share_id).ok_or(HB_MEM_ERR_UNKNOWN)
}

/// Allocate the graphic buffers whose bit is set in `bitmap` as one group;
/// the parameter arrays are indexed by bit position (eight entries).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_alloc_graph_buf_group(
    w: *mut i32,
    h: *mut i32,
    format: *mut i32,
    flags: *mut i64,
    stride: *mut i32,
    vstride: *mut i32,
    buf_group: *mut hb_mem_graphic_buf_group_t,
    bitmap: u32,
) -> i32 {
    call(|| {
        let dev = open_device()?;
        if w.is_null() || h.is_null() || format.is_null() || flags.is_null() || stride.is_null() || vstride.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        if buf_group.is_null() || bitmap == 0 || bitmap >> NGROUP != 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let mut members = [None; NGROUP];
        for (i, m) in members.iter_mut().enumerate() {
            if bitmap & (1 << i) == 0 {
                continue;
            }
            // SAFETY: the caller's arrays hold an entry per bit of `bitmap`.
            let args = unsafe { (*w.add(i), *h.add(i), *format.add(i), *flags.add(i), *stride.add(i), *vstride.add(i)) };
            match alloc_graph(dev, args.0, args.1, args.2, args.3, args.4, args.5) {
                Ok(k) => *m = Some(k),
                Err(e) => {
                    drop_members(dev, &members);
                    return Err(e);
                }
            }
        }
        let id = first_share_id(&members).inspect_err(|_| drop_members(dev, &members))?;
        let gk = make_group(members, bitmap, id);
        out(buf_group, describe_group(gk)?)
    })
}

/// Import a whole group passed by value: each member as
/// `hb_mem_import_graph_buf` does; freeing any fd frees the imported group.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_import_graph_buf_group(
    in_group: *mut hb_mem_graphic_buf_group_t,
    out_group: *mut hb_mem_graphic_buf_group_t,
) -> i32 {
    call(|| {
        let dev = open_device()?;
        // SAFETY: caller passes NULL or a valid struct.
        let Some(inb) = (unsafe { in_group.as_ref() }) else {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        };
        if out_group.is_null() || inb.bit_map == 0 || inb.bit_map >> NGROUP != 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let first = inb.bit_map.trailing_zeros() as usize;
        if inb.graph_group[first].share_id[0] != inb.group_id {
            return Err(HB_MEM_ERR_INVALID_GROUPID);
        }
        let mut members = [None; NGROUP];
        for (i, m) in members.iter_mut().enumerate() {
            if inb.bit_map & (1 << i) == 0 {
                continue;
            }
            match import_graph(dev, &inb.graph_group[i]) {
                Ok(k) => *m = Some(k),
                Err(e) => {
                    drop_members(dev, &members);
                    return Err(e);
                }
            }
        }
        let gk = make_group(members, inb.bit_map, inb.group_id);
        out(out_group, describe_group(gk)?)
    })
}

fn group_of_fd(fd: i32, not_found: i32) -> Result<u32, i32> {
    lookup(fd).and_then(|(_, g)| g.group).ok_or(not_found)
}

/// The group any of whose members' plane fds is `fd`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_graph_buf_group(fd: i32, buf_group: *mut hb_mem_graphic_buf_group_t) -> i32 {
    call(|| {
        open_device()?;
        if buf_group.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        out(buf_group, describe_group(group_of_fd(fd, HB_MEM_ERR_INVALID_FD)?)?)
    })
}

/// The group one of whose planes holds `virt_addr`.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_graph_buf_group_with_vaddr(virt_addr: u64, buf_group: *mut hb_mem_graphic_buf_group_t) -> i32 {
    call(|| {
        open_device()?;
        if buf_group.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let gk = group_of_fd(fd_at(virt_addr)?, HB_MEM_ERR_INVALID_VADDR)?;
        out(buf_group, describe_group(gk)?)
    })
}

/// Add one to the consume count of every member of a group.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_inc_graph_buf_group_consume_cnt(buf_group: *mut hb_mem_graphic_buf_group_t) -> i32 {
    call(|| {
        let dev = open_device()?;
        // SAFETY: caller passes NULL or a valid struct.
        let g = unsafe { buf_group.as_ref() }.ok_or(HB_MEM_ERR_INVALID_PARAMS)?;
        if g.bit_map == 0 || g.bit_map >> NGROUP != 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let members: Vec<_> = (0..NGROUP).filter(|i| g.bit_map & (1 << i) != 0).collect();
        // Check every member first so a bad one changes nothing.
        for &i in &members {
            let b = &g.graph_group[i];
            if !(1..=NPLANE as i32).contains(&b.plane_cnt) || dev.find_share(b.share_id[0]).is_err() {
                return Err(HB_MEM_ERR_INVALID_PARAMS);
            }
        }
        for &i in &members {
            inc_consume(dev, &g.graph_group[i])?;
        }
        Ok(())
    })
}

/// What a virtual address of this process holds.
enum Found {
    Common(hb_mem_common_buf_t),
    Graphic(Graph, Option<u32>, hb_mem_common_buf_t),
}

fn find(vaddr: u64) -> Result<Found, i32> {
    let fd = fd_at(vaddr)?;
    let com = {
        let st = state();
        describe(fd, st.recs.get(&fd).ok_or(HB_MEM_ERR_INVALID_VADDR)?)
    };
    Ok(match lookup(fd) {
        Some((_, g)) => {
            let grp = g.group;
            Found::Graphic(g, grp, com)
        }
        None => Found::Common(com),
    })
}

/// A common buffer seen as a one-plane graphic buffer of no format.
fn com_as_graph(c: &hb_mem_common_buf_t) -> hb_mem_graphic_buf_t {
    let mut d = zero_graph();
    d.fd[0] = c.fd;
    d.plane_cnt = 1;
    d.format = MEM_PIX_FMT_NONE as i32;
    d.is_contig = 1;
    d.share_id[0] = c.share_id;
    d.flags = c.flags;
    d.size[0] = c.size;
    d.virt_addr[0] = c.virt_addr;
    d.phys_addr[0] = c.phys_addr;
    d
}

fn type_raw(t: hb_mem_buffer_type_t) -> hb_mem_buffer_type_raw {
    t as hb_mem_buffer_type_raw
}

/// The type of the buffer at `virt_addr` and a view of it: a common buffer
/// may be viewed as a one-plane graphic buffer, a graphic buffer as a
/// common buffer only when its planes are contiguous.
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_buf_type_and_buf_with_vaddr(
    virt_addr: u64,
    r#type: *mut hb_mem_buffer_type_raw,
    com_buf: *mut hb_mem_common_buf_t,
    graph_buf: *mut hb_mem_graphic_buf_t,
) -> i32 {
    call(|| {
        open_device()?;
        if r#type.is_null() || (com_buf.is_null() && graph_buf.is_null()) {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        match find(virt_addr)? {
            Found::Common(c) => {
                if !com_buf.is_null() {
                    out(com_buf, c)?;
                }
                if !graph_buf.is_null() {
                    out(graph_buf, com_as_graph(&c))?;
                }
                out(r#type, type_raw(hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_COMMON))
            }
            Found::Graphic(g, grp, c) => {
                if !com_buf.is_null() && !g.contig {
                    return Err(HB_MEM_ERR_INVALID_PARAMS);
                }
                let d = describe_graph(&g)?;
                if !com_buf.is_null() {
                    out(com_buf, c)?;
                }
                if !graph_buf.is_null() {
                    out(graph_buf, d)?;
                }
                let t = match grp {
                    Some(_) => hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP,
                    None => hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC,
                };
                out(r#type, type_raw(t))
            }
        }
    })
}

/// The type of the buffer at `virt_addr`, filling the struct of that type
/// (which must be non-NULL): common, graphic, or a group member's group
/// (and the member itself when `graph_buf` is given).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_buf_and_type_with_vaddr(
    virt_addr: u64,
    r#type: *mut hb_mem_buffer_type_raw,
    com_buf: *mut hb_mem_common_buf_t,
    graph_buf: *mut hb_mem_graphic_buf_t,
    graph_group: *mut hb_mem_graphic_buf_group_t,
) -> i32 {
    call(|| {
        open_device()?;
        if r#type.is_null() {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        match find(virt_addr)? {
            Found::Common(c) => {
                out(com_buf, c)?;
                out(r#type, type_raw(hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_COMMON))
            }
            Found::Graphic(g, None, _) => {
                out(graph_buf, describe_graph(&g)?)?;
                out(r#type, type_raw(hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC))
            }
            Found::Graphic(g, Some(gk), _) => {
                if graph_group.is_null() {
                    return Err(HB_MEM_ERR_INVALID_PARAMS);
                }
                let grp = describe_group(gk)?;
                if !graph_buf.is_null() {
                    out(graph_buf, describe_graph(&g)?)?;
                }
                out(graph_group, grp)?;
                out(r#type, type_raw(hb_mem_buffer_type_t::HB_MEM_BUFFER_TYPE_GRAPHIC_GROUP))
            }
        }
    })
}

/// Processes holding the buffer a share id names (up to `num`).
#[no_mangle]
pub unsafe extern "C" fn hb_mem_get_buffer_process_info_with_share_id(share_id: i32, pid: *mut i32, num: i32, ret_num: *mut i32) -> i32 {
    call(|| {
        let dev = open_device()?;
        if pid.is_null() || ret_num.is_null() || num <= 0 {
            return Err(HB_MEM_ERR_INVALID_PARAMS);
        }
        let b = dev.find_share(share_id).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let pids = dev.holders(b.id, Part::Whole).map_err(|e| code(e, HB_MEM_ERR_INVALID_PARAMS))?;
        let n = pids.len().min(num as usize);
        for (i, p) in pids.iter().take(n).enumerate() {
            // SAFETY: the caller's array holds `num` entries.
            unsafe { pid.add(i).write(*p) };
        }
        out(ret_num, n as i32)
    })
}
