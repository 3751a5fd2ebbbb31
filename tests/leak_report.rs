//! A program that exits holding blocks gets them listed on stderr, in the
//! MMZ driver's words, and the blocks return to the zone once it is gone.

mod common;
use accelmem::engine::Device;
use std::process::Command;

const LEAKY: &str = r#"
#include <stdio.h>
#include "hi_type.h"
#include "mpi_sys.h"
#include "dnn/hb_sys.h"
int main(void) {
    HI_U64 phys; HI_VOID *vir; hbSysMem m;
    if (HI_MPI_SYS_MmzAlloc(&phys, &vir, "leaky", NULL, 5000) != HI_SUCCESS) return 1;
    if (HI_MPI_SYS_MmzAlloc(&phys, &vir, "freed", NULL, 4096) != HI_SUCCESS) return 1;
    if (HI_MPI_SYS_MmzFree(phys, vir) != HI_SUCCESS) return 1;
    if (hbSysAllocMem(&m, 100) != HB_SYS_SUCCESS) return 1;
    printf("done\n");
    return 0;
}
"#;

#[test]
fn leaks_are_reported_at_exit_and_reclaimed() {
    let exe = common::compile_c("leaky", LEAKY, &["-Wall", "-Werror"]);
    let t = common::TestDevice::new("leak", "anonymous,0,0x44000000,64M");
    let run = |report: Option<&str>| {
        let mut c = Command::new(&exe);
        c.env("ACCELMEM_DEVICE", &t.cfg.device)
            .env("ACCELMEM_ZONES", "anonymous,0,0x44000000,64M");
        if let Some(v) = report {
            c.env("ACCELMEM_LEAK_REPORT", v);
        }
        let o = c.output().unwrap();
        assert!(o.status.success());
        String::from_utf8(o.stderr).unwrap()
    };
    let err = run(None);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("MMB LEAK")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert!(lines.iter().any(|l| l.ends_with("0x44000000, 8192 bytes, 'leaky'")), "{err}");
    assert!(lines.iter().any(|l| l.ends_with("4096 bytes, 'hbSysAllocMem'")), "{err}");
    assert!(!err.contains("'freed'"));
    // The dead process's blocks come back: the next run gets the same address.
    let dev = Device::open(t.cfg.clone()).unwrap();
    assert_eq!(dev.zones().unwrap()[0].blocks.len(), 0);
    drop(dev);
    assert!(!run(Some("0")).contains("MMB LEAK"));
}
