//! What kind of file or folder a path is, decided in one place from its
//! contents (magic numbers), not its name: every command that takes "a
//! model" or "an archive" asks here.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use super::safetensors::INDEX_FILE_NAME;

/// The kinds of source irex reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A GGUF file (`GGUF` magic).
    Gguf,
    /// One `.safetensors` file (an 8-byte header length, then `{`).
    SafetensorsFile,
    /// A `model.safetensors.index.json` naming shards.
    SafetensorsIndex,
    /// A folder holding `model.safetensors` or its index (a Hugging Face or
    /// sentence-transformers model folder).
    SafetensorsFolder,
    /// An IREE parameter archive (`IRPA` magic).
    Irpa,
    /// MLIR bytecode (`ML\xefR` magic).
    MlirBytecode,
    /// Anything else: MLIR text, or a file irex does not read.
    Other,
}

impl SourceKind {
    /// A short name for messages ("a GGUF file").
    pub fn describe(self) -> &'static str {
        match self {
            Self::Gguf => "a GGUF file",
            Self::SafetensorsFile => "a safetensors file",
            Self::SafetensorsIndex => "a safetensors shard index",
            Self::SafetensorsFolder => "a safetensors model folder",
            Self::Irpa => "an .irpa archive",
            Self::MlirBytecode => "an MLIR bytecode file",
            Self::Other => "a file of no format irex reads",
        }
    }

    /// Whether this is a safetensors checkpoint in any of its three forms.
    pub fn is_safetensors(self) -> bool {
        matches!(
            self,
            Self::SafetensorsFile | Self::SafetensorsIndex | Self::SafetensorsFolder
        )
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.describe())
    }
}

/// Tells what `path` is. A folder is a safetensors model folder only when
/// it holds `model.safetensors` or the index; an unreadable path is an
/// error naming it.
pub fn detect(path: &Path) -> io::Result<SourceKind> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_dir() {
        let holds = |name: &str| path.join(name).is_file();
        return Ok(if holds(INDEX_FILE_NAME) || holds("model.safetensors") {
            SourceKind::SafetensorsFolder
        } else {
            SourceKind::Other
        });
    }
    if !metadata.is_file() {
        return Ok(SourceKind::Other);
    }
    let mut head = [0u8; 9];
    let read = read_up_to(&mut std::fs::File::open(path)?, &mut head)?;
    Ok(classify(&head[..read], path))
}

fn read_up_to(file: &mut std::fs::File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..])? {
            0 => break,
            count => filled += count,
        }
    }
    Ok(filled)
}

/// Classifies a file by its first bytes (and, for the JSON index, its name).
fn classify(head: &[u8], path: &Path) -> SourceKind {
    if head.starts_with(b"GGUF") {
        SourceKind::Gguf
    } else if head.starts_with(b"IRPA") {
        SourceKind::Irpa
    } else if head.starts_with(b"ML\xefR") {
        SourceKind::MlirBytecode
    } else if path.file_name().is_some_and(|name| name == INDEX_FILE_NAME) {
        SourceKind::SafetensorsIndex
    } else if head.len() == 9 && head[8] == b'{' {
        SourceKind::SafetensorsFile
    } else {
        SourceKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind_of(bytes: &[u8], name: &str) -> SourceKind {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        detect(&path).unwrap()
    }

    #[test]
    fn files_are_told_apart_by_their_magic() {
        assert_eq!(kind_of(b"GGUF\x03\0\0\0", "m.bin"), SourceKind::Gguf);
        assert_eq!(kind_of(b"IRPA\0\0\0\0", "m.gguf"), SourceKind::Irpa);
        assert_eq!(kind_of(b"ML\xefR\0", "m"), SourceKind::MlirBytecode);
        let header = [&2u64.to_le_bytes()[..], b"{}"].concat();
        assert_eq!(kind_of(&header, "w.bin"), SourceKind::SafetensorsFile);
        assert_eq!(
            kind_of(b"{}", INDEX_FILE_NAME),
            SourceKind::SafetensorsIndex
        );
        assert_eq!(kind_of(b"module {}", "m.mlir"), SourceKind::Other);
        assert_eq!(kind_of(b"", "empty"), SourceKind::Other);
    }

    #[test]
    fn folders_are_model_folders_only_with_weights() {
        let folder = tempfile::tempdir().unwrap();
        assert_eq!(detect(folder.path()).unwrap(), SourceKind::Other);
        std::fs::write(folder.path().join("model.safetensors"), b"").unwrap();
        assert_eq!(
            detect(folder.path()).unwrap(),
            SourceKind::SafetensorsFolder
        );
        assert!(detect(&folder.path().join("missing")).is_err());
    }
}
