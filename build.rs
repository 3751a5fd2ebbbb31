// Give libaccelmem.so a SONAME so programs linked against it record a stable
// name rather than a path.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libaccelmem.so");
    println!("cargo:rerun-if-changed=build.rs");
}
