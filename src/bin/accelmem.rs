//! `accelmem`: inspect and manage a device from the shell.
//!
//! `accelmem media-mem [--json]` prints the zones and blocks of the device
//! named by `ACCELMEM_DEVICE` (or `--device NAME`) as `/proc/media-mem` does.
//! `accelmem reset` removes a device that no process uses.

use accelmem::engine::{listing, Config, Device};
use accelmem::Error;
use std::io::Write;

const USAGE: &str = "usage: accelmem [--device NAME] media-mem [--json]\n       accelmem [--device NAME] reset\n";

fn usage_error() -> ! {
    eprint!("{USAGE}");
    std::process::exit(2);
}

fn main() {
    let mut device = None;
    let mut json = false;
    let mut cmd = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return;
            }
            "--device" => device = Some(args.next().unwrap_or_else(|| usage_error())),
            "--json" => json = true,
            _ if a.starts_with("--device=") => device = Some(a["--device=".len()..].to_string()),
            "media-mem" | "reset" if cmd.is_none() => cmd = Some(a),
            _ => usage_error(),
        }
    }
    let Some(cmd) = cmd else { usage_error() };
    if json && cmd != "media-mem" {
        usage_error();
    }
    // Only the device's name and directory matter here: the rest of the
    // environment (zones, limits, backend) is the device creator's business,
    // so a malformed value there does not stop a listing or a reset.
    let mut cfg = Config::default();
    if let Some(d) = device.or_else(|| std::env::var("ACCELMEM_DEVICE").ok()) {
        cfg.device = d;
    }
    if let Some(d) = std::env::var_os("ACCELMEM_SHM_DIR") {
        cfg.shm_dir = d.into();
    }
    if cfg.validate().is_err() {
        eprintln!(
            "accelmem: '{}' is not a device name (letters, digits, '-', '_', '.'; at most 64)",
            cfg.device
        );
        std::process::exit(2);
    }
    let name = cfg.device.clone();
    if cmd == "media-mem" {
        let dev = Device::open_existing(cfg).unwrap_or_else(|e| {
            if e == Error::NotFound {
                eprintln!("accelmem: no device '{name}': no process has opened it (set ACCELMEM_DEVICE or --device)");
            } else {
                eprintln!("accelmem: cannot open device '{name}': {e}");
            }
            std::process::exit(1);
        });
        let zones = dev.zones().unwrap_or_else(|e| {
            eprintln!("accelmem: {e}");
            std::process::exit(1);
        });
        let text = if json {
            listing::json(dev.name(), &zones)
        } else {
            listing::media_mem(&zones)
        };
        // A closed pipe (`| head`) is not an error worth a panic.
        let _ = std::io::stdout().write_all(text.as_bytes());
    } else {
        if !cfg.shm_dir.join(format!("accelmem.{name}.state")).exists() {
            // Nothing to remove is not a failure (scripts clean up with it),
            // but a misspelt name should not pass unnoticed.
            eprintln!("accelmem: no device '{name}' in {}: nothing to remove", cfg.shm_dir.display());
        }
        match Device::destroy(&cfg) {
            Ok(()) => {}
            Err(Error::Busy) => {
                eprintln!("accelmem: device '{name}' is in use by a running process; stop it first");
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("accelmem: {e}");
                std::process::exit(1);
            }
        }
    }
}
