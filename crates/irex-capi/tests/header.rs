//! `include/irex.h` is what cbindgen makes of this crate today: a change to
//! the C ABI that is not regenerated fails here (and in CI).
//! `IREX_BLESS=1 cargo test -p irex-capi --test header` rewrites it.

use std::path::Path;

#[test]
fn the_committed_header_matches_the_code() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let header = crate_dir.join("../../include/irex.h");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let generated = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .expect("cbindgen reads the crate");
    let mut text = Vec::new();
    generated.write(&mut text);
    let text = String::from_utf8(text).expect("the header is UTF-8");
    if std::env::var_os("IREX_BLESS").is_some() {
        std::fs::write(&header, &text).expect("write include/irex.h");
        return;
    }
    let committed = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        committed == text,
        "include/irex.h is out of date with crates/irex-capi: run `IREX_BLESS=1 cargo test -p irex-capi --test header`"
    );
}
