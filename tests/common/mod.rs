//! Helpers shared by the integration tests.
#![allow(dead_code)]

use accelmem::engine::{Config, Device};
use std::sync::atomic::{AtomicU32, Ordering};

static N: AtomicU32 = AtomicU32::new(0);

/// A device name no other test or user shares.
pub fn unique_name(tag: &str) -> String {
    format!("t-{tag}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// A private device that is removed when dropped.
pub struct TestDevice {
    pub dev: Option<Device>,
    pub cfg: Config,
}

impl TestDevice {
    pub fn new(tag: &str, zones: &str) -> TestDevice {
        let cfg = Config {
            device: unique_name(tag),
            zones: accelmem::engine::config::parse_zones(zones).unwrap(),
            ..Config::default()
        };
        let dev = Device::open(cfg.clone()).unwrap();
        TestDevice { dev: Some(dev), cfg }
    }

    pub fn dev(&self) -> &Device {
        self.dev.as_ref().unwrap()
    }
}

impl Drop for TestDevice {
    fn drop(&mut self) {
        self.dev.take();
        let _ = Device::destroy(&self.cfg);
    }
}
