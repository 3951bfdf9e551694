//! What every fuzz target shares: the parsers read files (through one
//! memory map), so each input is written to a file in this process's own
//! scratch folder first (on tmpfs where there is one).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// This process's scratch folder, made once.
pub fn scratch() -> &'static Path {
    static FOLDER: OnceLock<PathBuf> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let folder = base.join(format!("irex-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&folder).expect("a scratch folder");
        folder
    })
}

/// Writes `bytes` to `name` in the scratch folder and returns its path.
pub fn input_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = scratch().join(name);
    std::fs::write(&path, bytes).expect("writing the input");
    path
}

/// A parser's error must say something: an empty message is a finding.
/// (Control characters from the input are escaped where errors are
/// printed, by the command line; the parsers keep values as they read them.)
pub fn check_message(error: &dyn std::fmt::Display) {
    assert!(!error.to_string().is_empty(), "an empty error message");
}
