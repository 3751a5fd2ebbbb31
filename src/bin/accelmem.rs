//! `accelmem`: inspect and manage a device from the shell.
//!
//! `accelmem media-mem [--json]` prints the zones and blocks of the device
//! named by `ACCELMEM_DEVICE` (or `--device NAME`) as `/proc/media-mem` does.
//! `accelmem reset` removes a device that no process uses.

use accelmem::engine::{listing, Config, Device};
use std::io::Write;

const USAGE: &str = "usage: accelmem [--device NAME] media-mem [--json]\n       accelmem [--device NAME] reset\n";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("accelmem: bad configuration: {e}");
            std::process::exit(2);
        }
    };
    if let Some(i) = args.iter().position(|a| a == "--device") {
        if i + 1 >= args.len() {
            eprint!("{USAGE}");
            std::process::exit(2);
        }
        cfg.device = args.remove(i + 1);
        args.remove(i);
    }
    let json = args.iter().any(|a| a == "--json");
    args.retain(|a| a != "--json");
    match args.first().map(String::as_str) {
        Some("media-mem") => {
            let name = cfg.device.clone();
            let dev = Device::open_existing(cfg).unwrap_or_else(|e| {
                if e == accelmem::Error::NotFound {
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
        }
        Some("reset") => {
            if let Err(e) = Device::destroy(&cfg) {
                eprintln!("accelmem: {e}");
                std::process::exit(1);
            }
        }
        _ => {
            eprint!("{USAGE}");
            std::process::exit(2);
        }
    }
}
