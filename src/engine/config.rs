//! Device configuration: zones in the MMZ module's own syntax, limits and
//! where shared state lives, read from the environment with plain defaults.

use crate::error::{Error, Result};
use std::path::PathBuf;

/// Page granularity of every zone (the MMZ driver's `MMZ_GRAIN`).
pub const GRAIN: u64 = 4096;
/// Longest zone or buffer name, without the terminating NUL.
pub const NAME_MAX: usize = 31;
/// Most zones a device can have.
pub const MAX_ZONES: usize = 16;

/// Default zones when `ACCELMEM_ZONES` is unset: the HiSilicon default.
pub const DEFAULT_ZONES: &str = "anonymous,0,0x44000000,64M";

/// One named device-address range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZoneSpec {
    pub name: String,
    pub gfp: u64,
    pub base: u64,
    pub size: u64,
}

/// Where buffer bytes come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BackendKind {
    /// Shared-memory objects (works anywhere).
    #[default]
    Emulated,
    /// The Rockchip NPU's DRM driver (a board with `rknpu`).
    Rknpu,
    /// The NPU driver if a render node has it, else emulated.
    Auto,
}

/// Everything needed to open a device.
#[derive(Clone, Debug)]
pub struct Config {
    /// Device name; processes that use the same name share one device.
    pub device: String,
    pub zones: Vec<ZoneSpec>,
    /// Directory for the state file and buffer objects (`/dev/shm`).
    pub shm_dir: PathBuf,
    /// Capacity of the buffer table.
    pub max_buffers: u32,
    /// Most pools (fixed-block and sub-allocating).
    pub max_pools: u32,
    /// Total pool blocks across all pools.
    pub max_pool_blocks: u32,
    /// Backend of the process's main device (`ACCELMEM_BACKEND`); second
    /// devices (GPUs, NPU SRAM) are always emulated.
    pub backend: BackendKind,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            device: "default".into(),
            zones: parse_zones(DEFAULT_ZONES).expect("default zones parse"),
            shm_dir: PathBuf::from("/dev/shm"),
            max_buffers: 65536,
            max_pools: 256,
            max_pool_blocks: 65536,
            backend: BackendKind::Emulated,
        }
    }
}

impl Config {
    /// Read `ACCELMEM_DEVICE`, `ACCELMEM_ZONES`, `ACCELMEM_SHM_DIR`,
    /// `ACCELMEM_MAX_BUFFERS` and `ACCELMEM_BACKEND`; anything unset keeps
    /// its default.
    pub fn from_env() -> Result<Config> {
        let mut c = Config::default();
        if let Ok(d) = std::env::var("ACCELMEM_DEVICE") {
            c.device = d;
        }
        if let Ok(z) = std::env::var("ACCELMEM_ZONES") {
            c.zones = parse_zones(&z)?;
        }
        if let Ok(d) = std::env::var("ACCELMEM_SHM_DIR") {
            c.shm_dir = PathBuf::from(d);
        }
        if let Ok(n) = std::env::var("ACCELMEM_MAX_BUFFERS") {
            c.max_buffers = parse_num(&n)
                .and_then(|v| u32::try_from(v).ok())
                .filter(|&v| (16..=1 << 22).contains(&v))
                .ok_or(Error::InvalidArgument)?;
        }
        if let Ok(b) = std::env::var("ACCELMEM_BACKEND") {
            c.backend = match b.as_str() {
                "" | "emulated" => BackendKind::Emulated,
                "rknpu" => BackendKind::Rknpu,
                "auto" => BackendKind::Auto,
                // A typo must not quietly emulate.
                _ => return Err(Error::InvalidArgument),
            };
        }
        c.validate()?;
        Ok(c)
    }

    /// Check names and zones.
    pub fn validate(&self) -> Result<()> {
        let ok_dev = !self.device.is_empty()
            && self.device.len() <= 64
            && self.device.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && !self.device.starts_with('.');
        if !ok_dev || self.zones.is_empty() || self.zones.len() > MAX_ZONES {
            return Err(Error::InvalidArgument);
        }
        for (i, z) in self.zones.iter().enumerate() {
            for o in &self.zones[..i] {
                if o.name == z.name || (z.base < o.base + o.size && o.base < z.base + z.size) {
                    return Err(Error::InvalidArgument);
                }
            }
        }
        Ok(())
    }
}

/// Parse a number: decimal or `0x` hex, with an optional `K`, `M` or `G`
/// suffix (binary multiples, as the MMZ driver's `_strtoul_ex`).
pub fn parse_num(s: &str) -> Option<u64> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'k' | b'K' => (&s[..s.len() - 1], 1u64 << 10),
        b'm' | b'M' => (&s[..s.len() - 1], 1 << 20),
        b'g' | b'G' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let v = if let Some(h) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()?
    } else {
        digits.parse::<u64>().ok()?
    };
    v.checked_mul(mult)
}

/// Parse zones: `name,gfp,phys_start,size[,alloc_type,block_align]`,
/// separated by `:`, optionally prefixed by `mmz=` as on the insmod line.
pub fn parse_zones(spec: &str) -> Result<Vec<ZoneSpec>> {
    let spec = spec.trim();
    let spec = spec.strip_prefix("mmz=").unwrap_or(spec);
    let mut zones = Vec::new();
    for part in spec.split(':').filter(|p| !p.trim().is_empty()) {
        let f: Vec<&str> = part.split(',').map(str::trim).collect();
        if f.len() != 4 && f.len() != 6 {
            return Err(Error::InvalidArgument);
        }
        let name = f[0];
        if name.is_empty() || name.len() > NAME_MAX || !name.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::InvalidArgument);
        }
        let gfp = parse_num(f[1]).ok_or(Error::InvalidArgument)?;
        let base = parse_num(f[2]).ok_or(Error::InvalidArgument)?;
        let size = parse_num(f[3]).ok_or(Error::InvalidArgument)?;
        // Physical address 0 is "no address" to every API, and zones are
        // page-granular.
        if base == 0 || base % GRAIN != 0 || size == 0 || size % GRAIN != 0 || base.checked_add(size).is_none() {
            return Err(Error::InvalidArgument);
        }
        zones.push(ZoneSpec {
            name: name.to_string(),
            gfp,
            base,
            size,
        });
    }
    if zones.is_empty() || zones.len() > MAX_ZONES {
        return Err(Error::InvalidArgument);
    }
    Ok(zones)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mmz_syntax() {
        let z = parse_zones("mmz=anonymous,0,0x44000000,64M:ive,0,0x48000000,16M,0,0").unwrap();
        assert_eq!(z.len(), 2);
        assert_eq!(z[0].name, "anonymous");
        assert_eq!(z[0].base, 0x4400_0000);
        assert_eq!(z[0].size, 64 << 20);
        assert_eq!(z[1].name, "ive");
        assert_eq!(z[1].size, 16 << 20);
        assert_eq!(parse_num("384M"), Some(384 << 20));
        assert_eq!(parse_num("4096"), Some(4096));
        assert_eq!(parse_num("0x1000K"), Some(0x1000 << 10));
    }

    #[test]
    fn bad_zones() {
        for s in [
            "",
            "a,0,0x1000",
            "a,0,0,4K",
            "a,0,0x1001,4K",
            "a,0,0x1000,100",
            "a,0,zz,4K",
            "a,0,0xfffffffffffff000,1G",
            "thisnameiswaytoolongforanmmzzonename,0,0x1000,4K",
        ] {
            assert!(parse_zones(s).is_err(), "{s}");
        }
        let mut c = Config {
            zones: parse_zones("a,0,0x1000,8K:b,0,0x2000,4K").unwrap(),
            ..Config::default()
        };
        assert!(c.validate().is_err(), "overlap");
        c.zones = parse_zones("a,0,0x1000,4K:a,0,0x2000,4K").unwrap();
        assert!(c.validate().is_err(), "duplicate name");
        c.zones = parse_zones("a,0,0x1000,4K").unwrap();
        c.device = "../x".into();
        assert!(c.validate().is_err(), "device name");
    }
}
