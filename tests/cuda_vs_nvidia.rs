//! Our CUDA headers against NVIDIA's own (PyPI `nvidia-cuda-runtime-cu12`
//! 12.9): the same generated programs, compiled once against each include
//! dir, must print the same facts (struct sizes and every field offset,
//! every enumerator and flag macro we declare, field and typedef types);
//! every prototype we declare must redeclare cleanly over NVIDIA's; and
//! code built with NVIDIA's headers that calls every function we export
//! links against libaccelmem alone.
//!
//! The lists come from parsing OUR headers, so everything we declare is
//! checked. NVIDIA's headers need nvcc's `crt/host_defines.h`; a stub that
//! empties its attributes is written to a scratch dir at test time.
//! Skipped when the package is not installed, unless ACCELMEM_REQUIRE_NVIDIA=1.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn ours() -> PathBuf {
    root().join("include")
}

fn scratch(sub: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("cuda_vs_nvidia").join(sub);
    std::fs::create_dir_all(&d).expect("create scratch dir");
    d
}

/// NVIDIA's include dir (with the stub dir to put before it), or None
/// when the package is absent and not required.
struct Nvidia {
    include: PathBuf,
    stub: PathBuf,
}

fn nvidia(test: &str) -> Option<Nvidia> {
    let required = std::env::var("ACCELMEM_REQUIRE_NVIDIA").is_ok_and(|v| v == "1");
    // `nvidia.cuda_runtime` is a namespace package (no __init__.py, so no
    // __file__): its directory is in __path__.
    let found = Command::new("python3")
        .args(["-c", "import nvidia.cuda_runtime as m; print(list(m.__path__)[0])"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()).join("include"))
        .filter(|d| d.join("cuda_runtime_api.h").is_file());
    let Some(include) = found else {
        assert!(
            !required,
            "ACCELMEM_REQUIRE_NVIDIA=1 but python3 cannot import nvidia.cuda_runtime (pip install nvidia-cuda-runtime-cu12==12.9.79)"
        );
        println!("{test}: skipped, NVIDIA's headers (pip package nvidia-cuda-runtime-cu12) not installed");
        return None;
    };
    let api = std::fs::read_to_string(include.join("cuda_runtime_api.h")).expect("read NVIDIA's cuda_runtime_api.h");
    let version = api
        .lines()
        .find_map(|l| l.strip_prefix("#define CUDART_VERSION"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    assert_eq!(
        version,
        "12090",
        "NVIDIA's headers in {} are not CUDA 12.9; install nvidia-cuda-runtime-cu12==12.9.79",
        include.display()
    );
    let stub = scratch(&format!("stub-{test}"));
    std::fs::create_dir_all(stub.join("crt")).expect("create stub/crt");
    std::fs::write(stub.join("crt/host_defines.h"), HOST_DEFINES_STUB).expect("write stub");
    std::fs::write(
        stub.join("crt/host_config.h"),
        "/* stub: nothing to configure for a host compiler */\n",
    )
    .expect("write stub");
    Some(Nvidia { include, stub })
}

/// nvcc's crt/host_defines.h, reduced to what a host compiler needs: the
/// CUDA attributes and calling-convention macros, empty.
const HOST_DEFINES_STUB: &str = r#"/* Stand-in for nvcc's crt/host_defines.h (not in the PyPI wheel). */
#ifndef ACCELMEM_TEST_HOST_DEFINES_H
#define ACCELMEM_TEST_HOST_DEFINES_H
#define __host__
#define __device__
#define __global__
#define __shared__
#define __constant__
#define __managed__
#define __noinline__ __attribute__((noinline))
#define __forceinline__ inline __attribute__((always_inline))
#define __inline__ inline
#define __align__(n) __attribute__((aligned(n)))
#define __builtin_align__(n) __attribute__((aligned(n)))
#define __thread__ __thread
#define __device_builtin__
#define __device_builtin_texture_type__
#define __device_builtin_surface_type__
#define __cudart_builtin__
#define __CUDA_ALIGN__(n) __attribute__((aligned(n)))
#define CUDARTAPI
#define CUDARTAPI_CDECL
#define CUDART_CB
#if defined(__cplusplus)
#define __dv(v) = v
#else
#define __dv(v)
#endif
#endif
"#;

// ---- reading our headers ------------------------------------------------

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `text` without /* */ and // comments.
fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(a) = rest.find("/*") {
        out.push_str(&rest[..a]);
        rest = rest[a..].find("*/").map_or("", |b| &rest[a + b + 2..]);
    }
    out.push_str(rest);
    out.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier `s` ends with (after an optional `[N]`).
fn last_ident(s: &str) -> &str {
    let s = s.trim_end();
    let s = s.find('[').map_or(s, |i| s[..i].trim_end());
    let start = s.rfind(|c: char| !is_ident_char(c)).map_or(0, |i| i + 1);
    &s[start..]
}

/// Bodies of `<kind> NAME { ... }` (typedef'd or not) in a comment-free
/// header.
fn bodies<'a>(text: &'a str, kind: &str) -> Vec<(String, &'a str)> {
    let mut found = Vec::new();
    let open = format!("{kind} ");
    let mut rest = text;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let whole_word = i == 0 || !rest[..i].ends_with(is_ident_char);
        let name: String = after.chars().take_while(|&c| is_ident_char(c)).collect();
        let head = after[name.len()..].trim_start();
        if let (true, false, Some(body)) = (whole_word, name.is_empty(), head.strip_prefix('{')) {
            let end = body.find('}').expect("closing brace");
            found.push((name, &body[..end]));
            rest = &body[end..];
        } else {
            rest = after;
        }
    }
    found
}

/// Each enum we declare: its name and enumerators.
fn our_enums() -> Vec<(String, Vec<String>)> {
    let text = strip_comments(&read(&ours().join("driver_types.h")));
    bodies(&text, "enum")
        .into_iter()
        .map(|(name, body)| {
            let items = body
                .split(',')
                .map(|e| e.split('=').next().unwrap_or("").trim().to_string())
                .filter(|e| !e.is_empty())
                .collect();
            (name, items)
        })
        .collect()
}

/// Each (non-opaque) struct we declare: its name and field names.
fn our_structs() -> Vec<(String, Vec<String>)> {
    let text = strip_comments(&read(&ours().join("driver_types.h")));
    bodies(&text, "struct")
        .into_iter()
        .map(|(name, body)| {
            let fields = body
                .split(';')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| last_ident(f).to_string())
                .collect();
            (name, fields)
        })
        .collect()
}

/// Every name our driver_types.h typedefs (in C++, NVIDIA's tags are
/// types too, so each must name the same type there).
fn our_typedefs() -> Vec<String> {
    // Bodies out first: their fields end in `;` too.
    let mut text = strip_comments(&read(&ours().join("driver_types.h")));
    while let (Some(a), Some(b)) = (text.find('{'), text.find('}')) {
        text.replace_range(a..=b, "");
    }
    text.split(';')
        .map(|stmt| {
            stmt.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|stmt| stmt.trim_start().starts_with("typedef "))
        .map(|stmt| last_ident(&stmt).to_string())
        .collect()
}

/// Our value macros (`#define cudaX <number or cast>`) and CUDART_VERSION;
/// `true` for the pointer-valued ones (cudaStreamLegacy, ...).
fn our_macros() -> Vec<(String, bool)> {
    let mut found = Vec::new();
    for (file, prefix) in [("driver_types.h", "cuda"), ("cuda_runtime_api.h", "CUDART_")] {
        for line in strip_comments(&read(&ours().join(file))).lines() {
            let Some(def) = line.trim().strip_prefix("#define ") else {
                continue;
            };
            let (name, value) = def.split_once(char::is_whitespace).unwrap_or((def, ""));
            let value = value.trim();
            let is_value = value.starts_with(|c: char| c.is_ascii_digit() || c == '(' || c == '-');
            if name.starts_with(prefix) && is_value {
                found.push((name.to_string(), value.contains("cudaStream_t")));
            }
        }
    }
    found
}

/// One prototype of our cuda_runtime_api.h.
struct Proto {
    name: String,
    /// As written, without `__dv(...)` defaults.
    text: String,
    /// Each parameter's type (empty for `(void)`).
    param_types: Vec<String>,
}

fn drop_defaults(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("__dv(") {
        out.push_str(rest[..i].trim_end());
        let close = rest[i..].find(')').expect("__dv(...) closes");
        rest = &rest[i + close + 1..];
    }
    out.push_str(rest);
    out
}

fn our_prototypes() -> Vec<Proto> {
    let text = strip_comments(&read(&ours().join("cuda_runtime_api.h")));
    let start = text.find("extern \"C\" {").expect("extern \"C\" block");
    let body = &text[start..];
    let body = &body[body.find("#endif").expect("#endif after extern \"C\"") + "#endif".len()..];
    let body = &body[..body.find("#ifdef __cplusplus").expect("closing #ifdef __cplusplus")];
    body.split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .map(|s| {
            let text = drop_defaults(&s);
            let open = text.find('(').expect("prototype has (");
            let name = last_ident(&text[..open]).to_string();
            let params = &text[open + 1..text.rfind(')').expect("prototype has )")];
            let param_types = if params.trim() == "void" {
                Vec::new()
            } else {
                params
                    .split(',')
                    .map(|p| {
                        let p = p.trim();
                        p[..p.len() - last_ident(p).len()].trim().to_string()
                    })
                    .collect()
            };
            Proto { name, text, param_types }
        })
        .collect()
}

/// `text` with each bare use of a struct or enum tag we typedef (say
/// `cudaDeviceProp *`) spelled `struct cudaDeviceProp *`: NVIDIA's C
/// headers have the tags only.
fn tagged(text: &str) -> String {
    let mut tags: Vec<(String, &str)> = our_structs().into_iter().map(|(n, _)| (n, "struct")).collect();
    tags.extend(our_enums().into_iter().map(|(n, _)| (n, "enum")));
    let mut out = String::new();
    let mut prev_word = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_ident_char(c) {
            out.push(c);
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, d)) = chars.peek() {
            if !is_ident_char(d) {
                break;
            }
            end = j + d.len_utf8();
            chars.next();
        }
        let word = &text[i..end];
        if let Some((_, kw)) = tags.iter().find(|(n, _)| n == word) {
            if prev_word != "struct" && prev_word != "enum" {
                out.push_str(kw);
                out.push(' ');
            }
        }
        out.push_str(word);
        prev_word = word.to_string();
    }
    out
}

// ---- compiling ------------------------------------------------------------

fn compiler(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// A compile command for C11 or C++11 with the include dirs of one side.
fn cc(cxx: bool, includes: &[&Path]) -> Command {
    let mut cmd = if cxx {
        let mut c = Command::new(compiler("CXX", "c++"));
        c.args(["-x", "c++", "-std=c++11"]);
        c
    } else {
        let mut c = Command::new(compiler("CC", "cc"));
        c.arg("-std=c11");
        c
    };
    for i in includes {
        cmd.arg("-I").arg(i);
    }
    cmd
}

/// Run `cmd` on `src` (written to `dir/file`) with `extra` args; panic
/// with the compiler's output on failure.
fn compile(mut cmd: Command, dir: &Path, file: &str, src: &str, extra: &[&str], what: &str) {
    let path = dir.join(file);
    std::fs::write(&path, src).expect("write generated source");
    let out = cmd.arg(&path).args(extra).output().expect("run the compiler");
    assert!(
        out.status.success(),
        "{what}: compiling {} failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(exe: &Path) -> String {
    let out = Command::new(exe).output().expect("run generated program");
    assert!(out.status.success(), "{} failed: {}", exe.display(), out.status);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Build and run `src` against each side's headers; assert both print the
/// same lines (`key = value`), listing every difference.
fn same_output(nv: &Nvidia, cxx: bool, src: &str, tag: &str) -> usize {
    let dir = scratch(tag);
    let mut outputs = Vec::new();
    for side in ["ours", "nvidia"] {
        let cmd = if side == "ours" {
            cc(cxx, &[&ours()])
        } else {
            cc(cxx, &[&nv.stub, &nv.include])
        };
        let exe = dir.join(format!("{tag}_{side}"));
        let file = format!("{tag}_{side}.{}", if cxx { "cpp" } else { "c" });
        let exe_arg = exe.to_str().expect("utf-8 path").to_string();
        compile(cmd, &dir, &file, src, &["-o", &exe_arg], &format!("{tag} against {side} headers"));
        outputs.push(run(&exe));
    }
    let (a, b) = (outputs[0].lines().collect::<Vec<_>>(), outputs[1].lines().collect::<Vec<_>>());
    assert_eq!(a.len(), b.len(), "{tag}: different line counts");
    let diffs: Vec<String> = a
        .iter()
        .zip(&b)
        .filter(|(x, y)| x != y)
        .map(|(x, y)| format!("  ours: {x}\n  NVIDIA: {y}"))
        .collect();
    assert!(
        diffs.is_empty(),
        "{tag}: {} of {} facts differ from NVIDIA's headers:\n{}",
        diffs.len(),
        a.len(),
        diffs.join("\n")
    );
    a.len()
}

// ---- the tests ------------------------------------------------------------

/// sizeof/alignof of each struct, offset and size of each field, each
/// enumerator of each enum, each value macro.
#[test]
fn layouts_enumerators_and_macros_match_nvidia() {
    let Some(nv) = nvidia("layouts_enumerators_and_macros_match_nvidia") else {
        return;
    };
    let mut src = String::from(concat!(
        "#include <cuda_runtime_api.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n",
        "#define P(e) printf(\"%s = %lld\\n\", #e, (long long)(e))\n",
        "int main(void) {\n",
    ));
    let structs = our_structs();
    let enums = our_enums();
    let macros = our_macros();
    for (s, fields) in &structs {
        src.push_str(&format!("    P(sizeof(struct {s}));\n    P(_Alignof(struct {s}));\n"));
        for f in fields {
            src.push_str(&format!(
                "    P(offsetof(struct {s}, {f}));\n    P(sizeof(((struct {s} *)0)->{f}));\n"
            ));
        }
    }
    for (e, items) in &enums {
        src.push_str(&format!("    P(sizeof(enum {e}));\n    P((enum {e})-1 > 0);\n"));
        for i in items {
            src.push_str(&format!("    P({i});\n"));
        }
    }
    for (m, pointer) in &macros {
        let cast = if *pointer { "(uintptr_t)" } else { "" };
        src.push_str(&format!("    P({cast}{m});\n"));
    }
    src.push_str("    return 0;\n}\n");

    // What we must be checking, whatever the parser finds besides.
    let names: BTreeSet<&str> = structs.iter().chain(&enums).map(|(n, _)| n.as_str()).collect();
    for want in [
        "cudaDeviceProp",
        "cudaPointerAttributes",
        "cudaMemPoolProps",
        "cudaMemLocation",
        "cudaError",
        "cudaMemcpyKind",
        "cudaMemoryType",
        "cudaDeviceAttr",
        "cudaMemPoolAttr",
    ] {
        assert!(names.contains(want), "header parser missed {want}: {names:?}");
    }
    let prop = &structs.iter().find(|(n, _)| n == "cudaDeviceProp").expect("cudaDeviceProp").1;
    assert_eq!(prop.len(), 94, "cudaDeviceProp fields read: {prop:?}");
    let errors = &enums.iter().find(|(n, _)| n == "cudaError").expect("cudaError").1;
    assert_eq!(errors.len(), 134, "cudaError enumerators read");
    for m in [
        "cudaHostAllocMapped",
        "cudaStreamLegacy",
        "cudaStreamPerThread",
        "cudaCpuDeviceId",
        "CUDART_VERSION",
    ] {
        assert!(macros.iter().any(|(n, _)| n == m), "macro reader missed {m}: {macros:?}");
    }

    let n = same_output(&nv, false, &src, "layout");
    println!("{n} layout, enumerator and macro facts identical to NVIDIA's 12.9 headers");
}

/// Each enum we declare has every enumerator NVIDIA's has: a program
/// written with NVIDIA's headers must find each name in ours.
#[test]
fn our_enums_have_every_nvidia_enumerator() {
    let Some(nv) = nvidia("our_enums_have_every_nvidia_enumerator") else {
        return;
    };
    let theirs = strip_comments(&read(&nv.include.join("driver_types.h")));
    let mut missing = Vec::new();
    for (e, ours) in our_enums() {
        let open = format!("enum __device_builtin__ {e}");
        let at = theirs
            .match_indices(&open)
            .map(|(i, _)| &theirs[i + open.len()..])
            .find(|rest| rest.trim_start().starts_with('{'))
            .unwrap_or_else(|| panic!("NVIDIA's driver_types.h has no enum {e}"));
        let body = &at[at.find('{').expect("{") + 1..at.find('}').expect("}")];
        for item in body
            .split(',')
            .map(|i| i.split('=').next().unwrap_or("").trim())
            .filter(|i| !i.is_empty())
        {
            if !ours.iter().any(|o| o == item) {
                missing.push(format!("{e}::{item}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "enumerators NVIDIA's headers declare and ours lack: {missing:?}"
    );
}

/// C++ only: the exact type of every struct field and of the typedefs
/// (C cannot tell an enum from unsigned int; `typeid` can).
#[test]
fn field_and_typedef_types_match_nvidia() {
    let Some(nv) = nvidia("field_and_typedef_types_match_nvidia") else {
        return;
    };
    let mut src = String::from(concat!(
        "#include <cuda_runtime_api.h>\n#include <stdio.h>\n#include <typeinfo>\n",
        "#define T(e) printf(\"%s : %s\\n\", #e, typeid(e).name())\n",
        "int main() {\n",
    ));
    for (s, fields) in our_structs() {
        for f in fields {
            src.push_str(&format!("    T((({s} *)0)->{f});\n"));
        }
    }
    let typedefs = our_typedefs();
    for want in ["cudaError_t", "cudaStream_t", "cudaEvent_t", "cudaMemPool_t", "cudaUUID_t"] {
        assert!(typedefs.iter().any(|t| t == want), "typedef reader missed {want}: {typedefs:?}");
    }
    for t in &typedefs {
        src.push_str(&format!("    T({t});\n"));
    }
    src.push_str("    return 0;\n}\n");
    let n = same_output(&nv, true, &src, "types");
    println!("{n} field and typedef types identical to NVIDIA's");
}

/// Every prototype of our cuda_runtime_api.h, redeclared after NVIDIA's
/// header, in C and C++, with and without per-thread default streams. In
/// C++ each name must also be declared by NVIDIA first (decltype), so no
/// prototype passes just by being new.
#[test]
fn our_prototypes_redeclare_over_nvidia() {
    let Some(nv) = nvidia("our_prototypes_redeclare_over_nvidia") else {
        return;
    };
    let protos = our_prototypes();
    for want in [
        "cudaMalloc",
        "cudaMemcpy2DAsync",
        "cudaGetErrorName",
        "cudaMemcpy_ptds",
        "cudaFreeAsync_ptsz",
    ] {
        assert!(protos.iter().any(|p| p.name == want), "prototype reader missed {want}");
    }
    let dir = scratch("protos");
    for ptds in [false, true] {
        // Per-thread builds rename the base names; the rest only exist then.
        let checked: Vec<&Proto> = protos
            .iter()
            .filter(|p| ptds || !(p.name.ends_with("_ptds") || p.name.ends_with("_ptsz")))
            .collect();
        for cxx in [false, true] {
            let mut src = String::from("#include <cuda_runtime_api.h>\n");
            if cxx {
                src.push_str("#include <type_traits>\n");
                for (i, p) in checked.iter().enumerate() {
                    src.push_str(&format!("typedef decltype(&{}) nvidia_{i};\n", p.name));
                }
                src.push_str("extern \"C\" {\n");
            }
            for p in &checked {
                src.push_str(&tagged(&p.text));
                src.push_str(";\n");
            }
            if cxx {
                src.push_str("}\n");
                for (i, p) in checked.iter().enumerate() {
                    src.push_str(&format!(
                        "static_assert(std::is_same<decltype(&{0}), nvidia_{i}>::value, \"{0}\");\n",
                        p.name
                    ));
                }
            }
            let mut flags = vec!["-fsyntax-only", "-Wall", "-Werror"];
            if ptds {
                flags.push("-DCUDA_API_PER_THREAD_DEFAULT_STREAM");
            }
            let file = format!("protos{}.{}", if ptds { "_ptds" } else { "" }, if cxx { "cpp" } else { "c" });
            compile(
                cc(cxx, &[&nv.stub, &nv.include]),
                &dir,
                &file,
                &src,
                &flags,
                &format!("our prototypes over NVIDIA's ({file})"),
            );
        }
    }
    println!("{} prototypes redeclare cleanly over NVIDIA's", protos.len());
}

/// The libaccelmem.so built with this test.
fn built_library() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test exe has a directory");
    let found = [Some(deps), deps.parent()]
        .into_iter()
        .flatten()
        .map(|d| d.join("libaccelmem.so"))
        .find(|p| p.exists());
    found.unwrap_or_else(|| panic!("libaccelmem.so not built next to {}", exe.display()))
}

/// `cuda*` symbols an object file leaves undefined.
fn undefined_cuda_symbols(obj: &Path) -> BTreeSet<String> {
    let out = Command::new("nm").arg("-u").arg(obj).output().expect("run nm");
    assert!(out.status.success(), "nm {} failed", obj.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last())
        .filter(|s| s.starts_with("cuda"))
        .map(str::to_string)
        .collect()
}

/// Seed-style code (NVIDIA's `<cuda_runtime.h>`, C++) calls every function
/// we declare; per-thread-stream code (C) calls the ones it renames; and
/// the undecorated `cudaGetDeviceProperties` of pre-12 binaries is called
/// too. The objects must reference exactly our functions, and link
/// against libaccelmem with no NVIDIA library.
#[test]
fn nvidia_built_calls_link_against_libaccelmem() {
    let Some(nv) = nvidia("nvidia_built_calls_link_against_libaccelmem") else {
        return;
    };
    let protos = our_prototypes();
    let renamed = |p: &&Proto| p.name.ends_with("_ptds") || p.name.ends_with("_ptsz");
    let call = |name: &str, p: &Proto| {
        let args: Vec<String> = p.param_types.iter().map(|t| format!("({})0", tagged(t))).collect();
        format!("    (void){name}({});\n", args.join(", "))
    };
    let dir = scratch("link");

    // Never run: the calls exist so that the linker must resolve them.
    let mut seed = String::from(concat!(
        "#include <cuda_runtime.h>\n",
        "#undef cudaGetDeviceProperties\n",
        "extern \"C\" cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device);\n",
        "void every_call() {\n",
    ));
    for p in protos.iter().filter(|p| !renamed(p)) {
        seed.push_str(&call(&p.name, p));
    }
    seed.push_str("}\nint main() { return 0; }\n");
    let seed_obj = dir.join("seed.o");
    compile(
        cc(true, &[&nv.stub, &nv.include]),
        &dir,
        "seed.cpp",
        &seed,
        &["-c", "-o", seed_obj.to_str().expect("utf-8 path")],
        "seed-style C++ with NVIDIA's headers",
    );

    let mut ptds = String::from("#include <cuda_runtime_api.h>\nvoid every_per_thread_call(void);\nvoid every_per_thread_call(void) {\n");
    for p in protos.iter().filter(renamed) {
        let base = &p.name[..p.name.len() - "_ptds".len()];
        ptds.push_str(&call(base, p));
    }
    ptds.push_str("}\n");
    let ptds_obj = dir.join("ptds.o");
    compile(
        cc(false, &[&nv.stub, &nv.include]),
        &dir,
        "ptds.c",
        &ptds,
        &[
            "-DCUDA_API_PER_THREAD_DEFAULT_STREAM",
            "-c",
            "-o",
            ptds_obj.to_str().expect("utf-8 path"),
        ],
        "per-thread-stream C with NVIDIA's headers",
    );

    let mut referenced = undefined_cuda_symbols(&seed_obj);
    referenced.extend(undefined_cuda_symbols(&ptds_obj));
    let declared: BTreeSet<String> = protos.iter().map(|p| p.name.clone()).collect();
    assert_eq!(
        referenced, declared,
        "NVIDIA-built calls must reference exactly the functions we declare"
    );

    let lib = built_library();
    let libdir = lib.parent().expect("library dir");
    let exe = dir.join("linked");
    let out = Command::new(compiler("CXX", "c++"))
        .arg(&seed_obj)
        .arg(&ptds_obj)
        .arg("-L")
        .arg(libdir)
        .arg("-laccelmem")
        .arg(format!("-Wl,--disable-new-dtags,-rpath,{}", libdir.display()))
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("run the linker");
    assert!(
        out.status.success(),
        "linking NVIDIA-built calls against {} failed:\n{}",
        lib.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{} NVIDIA-declared calls link against libaccelmem", referenced.len());
}
