//! An export folder's `irex.json`, then what the run commands read from it.
#![no_main]

use irex::formats::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = irex_fuzz::input_file("irex.json", bytes);
    let folder = path.parent().expect("in the scratch folder");
    match Manifest::read(folder) {
        Ok(manifest) => {
            let _ = manifest.parameter_archives(folder);
            let _ = manifest.artifact_files();
            let _ = manifest.function("decode");
        }
        Err(error) => irex_fuzz::check_message(&error),
    }
});
