//! The GGUF reader: header, metadata of every type (nested arrays), tensor
//! infos and data ranges; then what `inspect` reads of a parsed file.
#![no_main]

use irex::formats::gguf::Gguf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = irex_fuzz::input_file("input.gguf", bytes);
    match Gguf::open(&path) {
        Ok(gguf) => {
            for tensor in gguf.tensors() {
                let _ = (tensor.spec.name.len(), tensor.buffer.bytes().len());
            }
            let _ = gguf.get("general.architecture");
        }
        Err(error) => irex_fuzz::check_message(&error),
    }
});
