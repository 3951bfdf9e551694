//! Sharded checkpoints: `model.safetensors.index.json` names, for every
//! tensor, the shard file (beside the index) that holds it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::checkpoint::{Refusal, Safetensors};
use super::header::{error, invalid};
use crate::formats::{FormatError, FormatErrorKind, FormatName};
use crate::tensor::MappedFile;

/// The index file of a sharded checkpoint.
pub const INDEX_FILE_NAME: &str = "model.safetensors.index.json";
/// Indexes larger than this are refused.
const MAX_INDEX_BYTES: u64 = 100_000_000;

/// Turns a folder into the checkpoint file it holds (the index first).
pub(super) fn resolve(path: &Path) -> Result<PathBuf, FormatError> {
    if !path.is_dir() {
        return Ok(path.to_path_buf());
    }
    for name in [INDEX_FILE_NAME, "model.safetensors"] {
        let candidate = path.join(name);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let missing = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        "no model.safetensors or index in the folder",
    );
    Err(FormatError::io(FormatName::Safetensors, "file", &missing).with_path(path))
}

/// Checks that a shard name is a plain file name beside the index.
fn check_shard_name(name: &str) -> Result<(), FormatError> {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\'])
        && !name.chars().any(char::is_control);
    if plain {
        Ok(())
    } else {
        Err(invalid(
            "weight_map",
            name.escape_debug(),
            "a file name beside the index (no path)",
        ))
    }
}

/// Reads the index: every tensor name and its shard, in file order.
fn read_weight_map(path: &Path) -> Result<Vec<(String, String)>, FormatError> {
    let io = |source: std::io::Error| FormatError::io(FormatName::Safetensors, "index", &source);
    let length = std::fs::metadata(path).map_err(io)?.len();
    if length > MAX_INDEX_BYTES {
        return Err(invalid(
            "index",
            format!("{length} bytes"),
            "at most 100000000 bytes",
        ));
    }
    let bytes = crate::tensor::read_regular_file(path).map_err(io)?;
    let index: Value = serde_json::from_slice(&bytes)
        .map_err(|source| invalid("index", source, "a JSON object with weight_map"))?;
    let Some(Value::Object(map)) = index.get("weight_map") else {
        return Err(invalid(
            "weight_map",
            "nothing or not an object",
            "an object of tensor → shard",
        ));
    };
    map.iter()
        .map(|(tensor, shard)| match shard {
            Value::String(shard) => {
                check_shard_name(shard).map(|()| (tensor.clone(), shard.clone()))
            }
            _ => Err(invalid("weight_map", shard, "a shard file name").with_key(tensor)),
        })
        .collect()
}

/// Opens every shard an index names and checks each tensor is where the
/// index says, and in one shard only.
pub(super) fn open_index(path: &Path) -> Result<Safetensors, FormatError> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let weight_map = read_weight_map(path).map_err(|error| error.with_path(path))?;
    let mut shard_names: Vec<&str> = Vec::new();
    for (_, shard) in &weight_map {
        if !shard_names.contains(&shard.as_str()) {
            shard_names.push(shard);
        }
    }
    let mut checkpoint = Safetensors::default();
    for shard in &shard_names {
        let shard_path = folder.join(shard);
        let mapped = MappedFile::open(&shard_path).map_err(|source| {
            let kind = FormatErrorKind::Io(format!("missing or unreadable shard: {source}"));
            error("weight_map", kind).with_path(&shard_path)
        })?;
        checkpoint
            .add_file(&mapped)
            .map_err(|error| error.with_path(&shard_path))?;
    }
    let sealed = checkpoint.seal();
    if let Err(Refusal::Layout(file, error)) = sealed {
        return Err(error.with_path(folder.join(shard_names[file])));
    }
    if let Err(Refusal::Duplicate(first, second)) = sealed {
        let (first_shard, second_shard) = (
            shard_names[checkpoint.file_of(first)],
            shard_names[checkpoint.file_of(second)],
        );
        let name = checkpoint.row_name(second);
        if first_shard == second_shard {
            return Err(error("tensor", FormatErrorKind::DuplicateKey)
                .with_key(name)
                .with_path(folder.join(first_shard)));
        }
        let kind = FormatErrorKind::InvalidValue {
            found: format!("the tensor in `{first_shard}` and `{second_shard}`"),
            expected: "each tensor in one shard".into(),
        };
        return Err(error("tensor", kind).with_key(name).with_path(path));
    }
    for (tensor, shard) in &weight_map {
        let found_in = checkpoint
            .find(tensor)
            .map(|row| shard_names[checkpoint.file_of(row)]);
        if found_in != Some(shard.as_str()) {
            let kind = FormatErrorKind::InvalidValue {
                found: format!("no such tensor in `{shard}`"),
                expected: "the tensor where the index puts it".into(),
            };
            return Err(error("weight_map", kind).with_key(tensor).with_path(path));
        }
    }
    Ok(checkpoint)
}
