//! The safetensors reader: the header's length, JSON, dtypes, shapes and
//! data offsets against the file.
#![no_main]

use irex::formats::safetensors::Safetensors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let path = irex_fuzz::input_file("input.safetensors", bytes);
    match Safetensors::open(&path) {
        Ok(checkpoint) => {
            for tensor in checkpoint.tensors() {
                let _ = (tensor.spec.name.len(), tensor.buffer.bytes().len());
            }
        }
        Err(error) => irex_fuzz::check_message(&error),
    }
});
