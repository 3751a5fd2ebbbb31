//! Seed 004 (a Chinese write-up of RKNPU2 memory management and zero copy):
//! every `rknn_*` prototype in its C blocks, written verbatim after
//! `#include "rknn_api.h"`, redeclares our header's functions cleanly in C
//! and in C++, and each links against libaccelmem; its SRAM snippet
//! compiles unchanged inside a function body and, after an `rknn_init`,
//! reports the configured NPU SRAM (956 KiB by default, as on RK3588).
//!
//! Skipped when ../shared is missing, unless ACCELMEM_REQUIRE_SEEDS=1.

mod common;

use common::cprog::{compile, compile_with, cxx, out_dir, Dev, Link};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The prototypes seed 004 prints, counted by hand in its ```c blocks:
/// rknn_create_mem, rknn_create_mem2, rknn_create_mem_from_fd (two lines),
/// rknn_create_mem_from_phys (two lines), rknn_create_mem_from_mb_blk (two
/// lines), rknn_destroy_mem, rknn_mem_sync, rknn_set_io_mem,
/// rknn_set_weight_mem, rknn_set_internal_mem. (The SRAM block's
/// `rknn_query(ctx, ...)` is a call, not a prototype.)
const SEED_PROTOTYPES: usize = 10;

/// Seed 004, or None (after saying so) when the test is skipped.
fn seed_004() -> Option<String> {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if !shared.is_dir() {
        assert!(
            !std::env::var("ACCELMEM_REQUIRE_SEEDS").is_ok_and(|v| v == "1"),
            "ACCELMEM_REQUIRE_SEEDS=1 but {} is missing",
            shared.display()
        );
        println!("rknn_seed: skipped, {} is missing", shared.display());
        return None;
    }
    let seeds = shared.join("seeds");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&seeds)
        .unwrap_or_else(|e| panic!("{}: {e}", seeds.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("004_") && n.ends_with(".txt")
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one 004_*.txt in {}: {found:?}", seeds.display());
    Some(std::fs::read_to_string(found.pop().unwrap()).expect("read seed 004"))
}

/// The contents of every ```c fenced block, verbatim.
fn c_blocks(doc: &str) -> Vec<String> {
    let mut out = vec![];
    let mut cur: Option<String> = None;
    for l in doc.lines() {
        match &mut cur {
            None if l.trim() == "```c" => cur = Some(String::new()),
            Some(b) if l.trim_start().starts_with("```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(l);
                b.push('\n');
            }
            None => {}
        }
    }
    assert!(cur.is_none(), "unterminated ```c block");
    out
}

/// If `line` starts a declaration of an `rknn_*` function (a return type,
/// then `rknn_name(`), the function's name.
fn declared_fn(line: &str) -> Option<&str> {
    let head = line[..line.find('(')?].trim_end();
    let name_at = head.rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))? + 1;
    let (ret, name) = (head[..name_at].trim(), &head[name_at..]);
    // A type: identifiers, blanks and `*` only (a call has no type, an
    // assignment has `=`, a comment `/`).
    let is_type = !ret.is_empty() && ret.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '*');
    (is_type && name.starts_with("rknn_")).then_some(name)
}

/// (name, verbatim text) of each `rknn_*` prototype in the C blocks; a
/// prototype runs from its first line to the line ending in `;`.
fn prototypes(doc: &str) -> Vec<(String, String)> {
    let mut out = vec![];
    for block in c_blocks(doc) {
        let mut lines = block.lines();
        while let Some(l) = lines.next() {
            let Some(name) = declared_fn(l) else { continue };
            let mut text = format!("{l}\n");
            while !text.trim_end().ends_with(';') {
                let more = lines
                    .next()
                    .unwrap_or_else(|| panic!("prototype of {name} does not end with ';':\n{text}"));
                text.push_str(more);
                text.push('\n');
            }
            out.push((name.to_string(), text));
        }
    }
    out
}

/// The SRAM snippet: the paragraph of the C block that queries
/// RKNN_QUERY_MEM_SIZE, verbatim (the block's second paragraph is the
/// driver's ioctl, which needs the kernel's rknpu header).
fn sram_snippet(doc: &str) -> String {
    let block = c_blocks(doc)
        .into_iter()
        .find(|b| b.contains("RKNN_QUERY_MEM_SIZE"))
        .expect("a C block querying RKNN_QUERY_MEM_SIZE");
    let para = block.split("\n\n").next().unwrap().to_string();
    assert!(
        para.contains("rknn_mem_size mem_size;") && para.contains("rknn_query(ctx, RKNN_QUERY_MEM_SIZE, &mem_size, sizeof(mem_size));"),
        "unexpected SRAM snippet:\n{para}"
    );
    para
}

/// A program declaring `protos` after the header (inside `extern "C"` for
/// C++) whose main takes each function's address.
fn prototype_program(protos: &[(String, String)], cplusplus: bool) -> String {
    let mut s = String::from("#include \"rknn_api.h\"\n#include <stdint.h>\n#include <stdio.h>\n\n");
    s.push_str("/* The rknn_* prototypes of seed 004, verbatim. */\n");
    if cplusplus {
        s.push_str("extern \"C\" {\n");
    }
    for (_, text) in protos {
        s.push_str(text);
    }
    if cplusplus {
        s.push_str("}\n");
    }
    // Taking each address makes the linker and the loader resolve it.
    s.push_str("\nint main(void)\n{\n    const uintptr_t addrs[] = {\n");
    for (name, _) in protos {
        s.push_str(&format!("        (uintptr_t)&{name},\n"));
    }
    s.push_str(concat!(
        "    };\n",
        "    size_t n = sizeof addrs / sizeof addrs[0];\n",
        "    for (size_t i = 0; i < n; i++) {\n",
        "        if (addrs[i] == 0)\n",
        "            return 1;\n",
        "        for (size_t j = 0; j < i; j++)\n",
        "            if (addrs[i] == addrs[j])\n",
        "                return 1;\n",
        "    }\n",
        "    printf(\"rknn_seed: %zu functions resolved\\n\", n);\n",
        "    return 0;\n",
        "}\n",
    ));
    s
}

/// Compile `src` as `file` (C or C++ by its extension) against our headers
/// and the shared library; returns the executable.
fn build(file: &str, src: &str, cplusplus: bool) -> PathBuf {
    let dir = out_dir("rknn_seed");
    let path = dir.join(file);
    std::fs::write(&path, src).unwrap();
    let exe = dir.join(Path::new(file).file_stem().unwrap());
    let flags = ["-Wall", "-Wextra", "-Werror"];
    if cplusplus {
        compile_with(&cxx(), &path, &exe, Link::Shared, &flags);
    } else {
        compile(&path, &exe, Link::Shared, &flags);
    }
    exe
}

#[test]
fn seed_004_prototypes_redeclare_cleanly_in_c_and_cplusplus() {
    let Some(doc) = seed_004() else { return };
    let protos = prototypes(&doc);
    let names: Vec<&str> = protos.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(protos.len(), SEED_PROTOTYPES, "prototypes found in seed 004: {names:?}");
    let mut distinct = names.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), SEED_PROTOTYPES, "prototype names not distinct: {names:?}");
    assert!(
        protos.iter().any(|(n, t)| n == "rknn_create_mem_from_fd" && t.lines().count() == 2),
        "the two-line prototype of rknn_create_mem_from_fd was not taken whole: {protos:#?}"
    );

    for (file, cplusplus) in [("seed004_protos.c", false), ("seed004_protos.cpp", true)] {
        let exe = build(file, &prototype_program(&protos, cplusplus), cplusplus);
        // It calls nothing; a private device all the same.
        let dev = Dev::new("rknn-seed-protos");
        let o = Command::new(&exe)
            .env("ACCELMEM_DEVICE", &dev.0)
            .output()
            .expect("run the prototype program");
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success(),
            "{file}: {}\n{out}{}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(out.trim_end(), format!("rknn_seed: {SEED_PROTOTYPES} functions resolved"), "{file}");
    }
}

/// The SRAM snippet in a function of its own, and a main that runs it
/// after `rknn_init(flags = argv[1])` and checks it against its own query.
fn sram_program(snippet: &str) -> String {
    format!(
        r#"#include <stdio.h>
#include <stdlib.h>
#include "rknn_api.h"

/* Seed 004's SRAM snippet, verbatim. */
static rknn_mem_size seed_sram_query(rknn_context ctx)
{{
{snippet}
    return mem_size;
}}

int main(int argc, char **argv)
{{
    static char model[] = "seed 004 SRAM query (accelmem keeps this as weight memory)";
    uint32_t flags = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 0) : 0;
    rknn_context ctx = 0;
    rknn_mem_size seen, checked;
    int ret = rknn_init(&ctx, model, sizeof(model), flags, NULL);
    if (ret != RKNN_SUCC) {{
        fprintf(stderr, "FAILED: rknn_init returned %d\n", ret);
        return 1;
    }}
    seen = seed_sram_query(ctx);
    /* The snippet ignores rknn_query's result: query again, checked. */
    ret = rknn_query(ctx, RKNN_QUERY_MEM_SIZE, &checked, sizeof(checked));
    if (ret != RKNN_SUCC || seen.total_sram_size != checked.total_sram_size ||
        seen.free_sram_size != checked.free_sram_size) {{
        fprintf(stderr, "FAILED: rknn_query returned %d; snippet saw %u/%u, checked query %u/%u\n", ret,
                seen.total_sram_size, seen.free_sram_size, checked.total_sram_size, checked.free_sram_size);
        rknn_destroy(ctx);
        return 1;
    }}
    printf("total_sram_size=%u free_sram_size=%u\n", seen.total_sram_size, seen.free_sram_size);
    ret = rknn_destroy(ctx);
    if (ret != RKNN_SUCC) {{
        fprintf(stderr, "FAILED: rknn_destroy returned %d\n", ret);
        return 1;
    }}
    return 0;
}}
"#
    )
}

/// Run the SRAM program on a private device with `env` (the RKNN size
/// variables are otherwise unset) and `rknn_init` flags; (total, free).
fn sram_sizes(exe: &Path, flags: u32, env: &[(&str, &str)]) -> (u64, u64) {
    let dev = Dev::new("rknn-seed-sram");
    let o = Command::new(exe)
        .arg(flags.to_string())
        .env_remove("ACCELMEM_RKNN_SRAM")
        .env_remove("ACCELMEM_RKNN_INTERNAL_SIZE")
        .env_remove("ACCELMEM_RKNN_ZONE")
        .envs(env.iter().copied())
        .env("ACCELMEM_DEVICE", &dev.0)
        .env("ACCELMEM_ZONES", common::cprog::ZONES)
        .output()
        .expect("run the SRAM program");
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(
        o.status.success(),
        "SRAM program (flags {flags:#x}, {env:?}): {}\n{out}{err}",
        o.status
    );
    let num = |key: &str| -> u64 {
        out.split(key)
            .nth(1)
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {out:?}"))
    };
    (num("total_sram_size="), num("free_sram_size="))
}

#[test]
fn seed_004_sram_snippet_reports_the_npu_sram() {
    let Some(doc) = seed_004() else { return };
    let exe = build("seed004_sram.c", &sram_program(&sram_snippet(&doc)), false);

    // By default the SRAM is RK3588's 956 KiB, all free.
    let (total, free) = sram_sizes(&exe, 0, &[]);
    assert_eq!(total, 956 * 1024);
    assert!(free <= total);
    assert_eq!(free, total, "nothing asked for SRAM");

    // With RKNN_FLAG_ENABLE_SRAM the context's internal memory goes to SRAM.
    let flag = 2048; // RKNN_FLAG_ENABLE_SRAM
    let (total, free) = sram_sizes(&exe, flag, &[("ACCELMEM_RKNN_INTERNAL_SIZE", "256K")]);
    assert_eq!((total, free), (956 * 1024, 700 * 1024));

    // The size is configured, not hard-coded.
    assert_eq!(sram_sizes(&exe, 0, &[("ACCELMEM_RKNN_SRAM", "512K")]), (512 * 1024, 512 * 1024));
}
