//! Compiling and running the ABI facts programs of tests/c/ as C11 and
//! C++11, and reading the function names a generated header declares.

use super::cprog::{out_dir, root};
use std::process::Command;

/// `$var` if set, else `default`: the C or C++ compiler.
pub fn compiler(var: &str, default: &str) -> String {
    std::env::var(var)
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The C11 (`cxx` false) or C++11 compiler command, language flags set.
pub fn c_or_cxx(cxx: bool) -> Command {
    if cxx {
        let mut c = Command::new(compiler("CXX", "c++"));
        c.args(["-x", "c++", "-std=c++11"]);
        c
    } else {
        let mut c = Command::new(compiler("CC", "cc"));
        c.arg("-std=c11");
        c
    }
}

/// Compile `tests/c/<src>` as C11 or C++11 with `-D<defines>` and `extra`
/// arguments (after the source: libraries), run it, and assert it reports
/// every fact holding. Returns its stdout.
pub fn facts_hold(src: &str, cxx: bool, defines: &[&str], extra: &[String], exe_name: &str) -> String {
    let path = root().join("tests/c").join(src);
    // Named after the source too: test binaries may pick the same exe names.
    let exe = out_dir("abi_facts").join(format!("{}-{exe_name}", src.trim_end_matches(".c")));
    let out = c_or_cxx(cxx)
        .args(["-Wall", "-Wextra", "-Werror", "-Wpedantic"])
        .args(defines.iter().map(|d| format!("-D{d}")))
        .arg("-I")
        .arg(root().join("include"))
        .arg(&path)
        .arg("-o")
        .arg(&exe)
        .args(extra)
        .output()
        .expect("run the compiler");
    let lang = if cxx { "C++" } else { "C" };
    assert!(
        out.status.success(),
        "compiling {} ({lang}, {defines:?}) failed:\n{}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run the facts program");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(
        run.status.success(),
        "{src} failed ({}):\n{stdout}{}",
        run.status,
        String::from_utf8_lossy(&run.stderr)
    );
    let want = format!("all facts hold ({lang})");
    assert!(stdout.contains(&want), "unexpected output: {stdout}");
    stdout
}

/// `text` without its `/* */` comments (they hold prose with parentheses).
pub fn strip_comments(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(a) = rest.find("/*") {
        out.push_str(&rest[..a]);
        rest = rest[a..].find("*/").map_or("", |b| &rest[a + b + 2..]);
    }
    out.push_str(rest);
    out
}

/// Names of the functions a header declares: cbindgen writes each
/// prototype starting in column 0, its name right before the first `(`.
pub fn declared_functions(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    for line in strip_comments(header).lines() {
        let line = line.split("//").next().unwrap_or("");
        let starts_ident = line.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        // Inline helpers defined in a header are not exports.
        let inline = line.starts_with("static ") || line.starts_with("template");
        let Some(paren) = line.find('(').filter(|_| starts_ident && !line.starts_with("typedef") && !inline) else {
            continue;
        };
        let name: String = line[..paren]
            .trim_end()
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let name: String = name.chars().rev().collect();
        assert!(!name.is_empty(), "cannot read a function name in: {line}");
        names.push(name);
    }
    names
}
