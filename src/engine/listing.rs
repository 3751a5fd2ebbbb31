//! The block listing: zones and blocks in the format of the MMZ driver's
//! `/proc/media-mem`, or as JSON for tools.

use super::config::GRAIN;
use super::device::{attr, ZoneInfo};
use std::fmt::Write;

/// Render zones as `/proc/media-mem` prints them (V4 format strings).
pub fn media_mem(zones: &[ZoneInfo]) -> String {
    let mut s = String::new();
    let (mut total, mut used, mut blocks) = (0u64, 0u64, 0usize);
    for z in zones {
        let _ = writeln!(
            s,
            "+---ZONE: PHYS(0x{:08X}, 0x{:08X}), GFP={}, nBYTES={}KB,    NAME=\"{}\"",
            z.base,
            z.base + z.size - 1,
            z.gfp,
            z.size / 1024,
            z.name
        );
        for b in &z.blocks {
            let end = (b.phys + b.size).next_multiple_of(GRAIN) - 1;
            let _ = writeln!(
                s,
                "   |-MMB: phys(0x{:08X}, 0x{:08X}), kvirt=0x{:08X}, flags=0x{:08X}, length={}KB,    name=\"{}\"",
                b.phys,
                end,
                0,
                0,
                b.size / 1024,
                b.name
            );
        }
        total += z.size;
        used += z.used;
        blocks += z.blocks.len();
    }
    if total != 0 {
        let kb = |v: u64| v / 1024;
        let remain = total - used;
        let _ = write!(
            s,
            "\n---MMZ_USE_INFO:\n total size={}KB({}MB),used={}KB({}MB + {}KB),remain={}KB({}MB + {}KB),zone_number={},block_number={}\n",
            kb(total),
            kb(total) / 1024,
            kb(used),
            kb(used) / 1024,
            kb(used) % 1024,
            kb(remain),
            kb(remain) / 1024,
            kb(remain) % 1024,
            zones.len(),
            blocks
        );
    }
    s
}

fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// Render zones as JSON: `{"device":…, "zones":[{…, "blocks":[…]}]}`.
pub fn json(device: &str, zones: &[ZoneInfo]) -> String {
    let mut s = String::new();
    let _ = write!(s, "{{\"device\":{},\"zones\":[", json_str(device));
    for (i, z) in zones.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            "{{\"name\":{},\"gfp\":{},\"phys\":{},\"size\":{},\"used\":{},\"largest_free\":{},\"blocks\":[",
            json_str(&z.name),
            z.gfp,
            z.base,
            z.size,
            z.used,
            z.largest_free
        );
        for (j, b) in z.blocks.iter().enumerate() {
            if j > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"phys\":{},\"size\":{},\"requested\":{},\"name\":{},\"cached\":{},\"pool\":{},\"pid\":{}}}",
                b.phys,
                b.size,
                b.requested,
                json_str(&b.name),
                b.attrs & attr::CACHED != 0,
                b.attrs & attr::POOL != 0,
                b.owner_pid
            );
        }
        s.push_str("]}");
    }
    s.push_str("]}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::device::{BufId, BufInfo};

    #[test]
    fn matches_driver_format() {
        let z = ZoneInfo {
            name: "anonymous".into(),
            gfp: 0,
            base: 0x4400_0000,
            size: 64 << 20,
            used: 1 << 20,
            largest_free: 63 << 20,
            blocks: vec![BufInfo {
                id: BufId { index: 0, gen: 1 },
                phys: 0x4422_6000,
                size: 1 << 20,
                requested: 1 << 20,
                attrs: 0,
                name: "test".into(),
                zone: "anonymous".into(),
                owner_pid: 1,
            }],
        };
        let s = media_mem(std::slice::from_ref(&z));
        assert_eq!(
            s,
            "+---ZONE: PHYS(0x44000000, 0x47FFFFFF), GFP=0, nBYTES=65536KB,    NAME=\"anonymous\"\n\
             \x20  |-MMB: phys(0x44226000, 0x44325FFF), kvirt=0x00000000, flags=0x00000000, length=1024KB,    name=\"test\"\n\
             \n---MMZ_USE_INFO:\n total size=65536KB(64MB),used=1024KB(1MB + 0KB),remain=64512KB(63MB + 0KB),zone_number=1,block_number=1\n"
        );
        let j = json("d\"x", &[z]);
        assert!(j.starts_with("{\"device\":\"d\\\"x\",\"zones\":[{\"name\":\"anonymous\""));
        assert!(j.contains("\"name\":\"test\",\"cached\":false"));
    }
}
