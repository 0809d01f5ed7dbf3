//! Rebuild when an embedded file changes: `include_dir!` embeds `overlay/` and `locales/` but
//! does not tell Cargo to watch them.

fn main() {
    println!("cargo:rerun-if-changed=overlay");
    println!("cargo:rerun-if-changed=locales");
}
