//! Seed 000 (Horizon's hbSys documentation): its 8 prototypes, written
//! verbatim after `#include "dnn/hb_sys.h"`, compile without conflict and
//! link against libaccelmem.so, and the program runs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The seed 000 file, or None when ../shared is absent and seeds are not
/// required (ACCELMEM_REQUIRE_SEEDS=1 makes a missing seed a failure).
fn seed_000() -> Option<PathBuf> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let required = std::env::var("ACCELMEM_REQUIRE_SEEDS").is_ok_and(|v| v == "1");
    if !shared.is_dir() {
        assert!(!required, "ACCELMEM_REQUIRE_SEEDS=1 but {} is missing", shared.display());
        println!("seed_prototypes: skipped, {} not found", shared.display());
        return None;
    }
    let seeds = shared.join("seeds");
    let found = std::fs::read_dir(&seeds)
        .unwrap_or_else(|e| panic!("{}: {e}", seeds.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("000_") && n.ends_with(".txt"))
        });
    Some(found.unwrap_or_else(|| panic!("no 000_*.txt seed in {}", seeds.display())))
}

/// Every ``...`` span on a line that starts with `int32_t hbSys`.
fn prototypes(text: &str) -> Vec<String> {
    text.lines()
        .flat_map(|l| l.split("``").skip(1).step_by(2))
        .map(str::trim)
        .filter(|s| s.starts_with("int32_t hbSys"))
        .map(str::to_string)
        .collect()
}

fn name_of(proto: &str) -> &str {
    let head = &proto[..proto.find('(').expect("a prototype has a parameter list")];
    head.rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("")
}

#[test]
fn seed_000_prototypes_compile_and_link() {
    let Some(seed) = seed_000() else { return };
    let text = std::fs::read_to_string(&seed).expect("read seed 000");
    let protos = prototypes(&text);
    assert_eq!(protos.len(), 8, "seed 000 should give 8 hbSys prototypes, found {protos:#?}");
    let mut names: Vec<&str> = protos.iter().map(|p| name_of(p)).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 8, "prototype names not distinct: {names:?}");

    let mut c = String::from("#include \"dnn/hb_sys.h\"\n#include <stdint.h>\n#include <stdio.h>\n\n");
    for p in &protos {
        c.push_str(p);
        c.push_str(";\n");
    }
    // Taking each address makes the linker and the loader resolve it.
    c.push_str("\nint main(void)\n{\n    const uintptr_t addrs[] = {\n");
    for n in &names {
        c.push_str(&format!("        (uintptr_t)&{n},\n"));
    }
    c.push_str(concat!(
        "    };\n",
        "    size_t n = sizeof addrs / sizeof addrs[0];\n",
        "    for (size_t i = 0; i < n; i++) {\n",
        "        if (addrs[i] == 0)\n",
        "            return 1;\n",
        "        for (size_t j = 0; j < i; j++)\n",
        "            if (addrs[i] == addrs[j])\n",
        "                return 1;\n",
        "    }\n",
        "    printf(\"seed_prototypes: %zu functions resolved\\n\", n);\n",
        "    return 0;\n",
        "}\n",
    ));

    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("seed_prototypes");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let src = dir.join("seed000.c");
    let exe = dir.join("seed000");
    std::fs::write(&src, &c).expect("write seed000.c");

    // `cargo test` leaves the library in deps/ next to this exe; `cargo
    // build` also copies it one level up.
    let exe_path = std::env::current_exe().expect("current_exe");
    let deps = exe_path.parent().expect("test exe has a directory");
    let libdir = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .find(|d| d.join("libaccelmem.so").exists())
        .unwrap_or_else(|| panic!("libaccelmem.so not built next to {}", exe_path.display()));
    let cc = std::env::var("CC").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "cc".into());
    let out = Command::new(cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(libdir)
        .arg("-l:libaccelmem.so")
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", libdir.display()))
        .output()
        .expect("run the compiler");
    assert!(
        out.status.success(),
        "seed 000 prototypes do not build against dnn/hb_sys.h:\n{c}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The program calls nothing, but keep it off any real device anyway.
    let run = Command::new(&exe)
        .env("ACCELMEM_DEVICE", format!("t-seed000-{}", std::process::id()))
        .env("ACCELMEM_SHM_DIR", &dir)
        .output()
        .expect("run seed000");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "seed000 failed ({}): {stdout}{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("8 functions resolved"), "unexpected output: {stdout}");
}
