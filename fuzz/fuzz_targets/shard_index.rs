//! A sharded checkpoint's `model.safetensors.index.json`: the input is the
//! index, beside two real shards (`a.safetensors`, `b.safetensors`), so
//! names that escape the folder, missing or duplicate tensors and shards
//! that disagree with the index are all reachable.
#![no_main]

use irex::formats::safetensors::{INDEX_FILE_NAME, Safetensors};
use libfuzzer_sys::fuzz_target;

/// A one-tensor safetensors file: `name`, f32, shape [2].
fn shard(name: &str) -> Vec<u8> {
    let header = format!(r#"{{"{name}":{{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}}}"#);
    let mut file = (header.len() as u64).to_le_bytes().to_vec();
    file.extend_from_slice(header.as_bytes());
    file.extend_from_slice(&[0; 8]);
    file
}

fuzz_target!(|bytes: &[u8]| {
    static SHARDS: std::sync::Once = std::sync::Once::new();
    SHARDS.call_once(|| {
        irex_fuzz::input_file("a.safetensors", &shard("a"));
        irex_fuzz::input_file("b.safetensors", &shard("b"));
    });
    let path = irex_fuzz::input_file(INDEX_FILE_NAME, bytes);
    match Safetensors::open(&path) {
        Ok(checkpoint) => {
            for tensor in checkpoint.tensors() {
                let _ = tensor.buffer.bytes().len();
            }
        }
        Err(error) => irex_fuzz::check_message(&error),
    }
});
