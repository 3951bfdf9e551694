//! Crash-safe output files: written under a temporary name in the target's
//! folder, flushed and synced, then renamed into place. A reader of the final
//! name sees either nothing (or the previous complete file) or the new
//! complete file, never a half-written one.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file being written under a temporary name beside its destination;
/// removed on drop unless [`AtomicFile::commit`] renamed it into place.
#[derive(Debug)]
pub struct AtomicFile {
    temporary: NamedTempFile,
    destination: PathBuf,
}

impl AtomicFile {
    /// Creates a new empty temporary file beside `destination` (in the same
    /// folder, so that the rename cannot cross file systems).
    pub fn create(destination: &Path) -> io::Result<Self> {
        let folder = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let file_name = destination.file_name().ok_or_else(|| {
            let message = format!("`{}` names no file", destination.display());
            io::Error::new(io::ErrorKind::InvalidInput, message)
        })?;
        // 0666 less the umask, as a plain `File::create` makes it (tempfile's
        // default, 0600, would leave exported models unreadable to others).
        let permissions = std::os::unix::fs::PermissionsExt::from_mode(0o666);
        let temporary = tempfile::Builder::new()
            .prefix(&format!(".{}.irex-", file_name.to_string_lossy()))
            .suffix(".tmp")
            .permissions(permissions)
            .tempfile_in(folder)?;
        Ok(Self {
            temporary,
            destination: destination.to_path_buf(),
        })
    }

    /// Returns the open temporary file.
    pub fn file(&self) -> &File {
        self.temporary.as_file()
    }

    /// Returns the temporary path (for tools that write by path).
    pub fn temporary_path(&self) -> &Path {
        self.temporary.path()
    }

    /// Returns the final path.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Syncs the data, renames the file into place and syncs the folder, so
    /// that after a crash the destination is the old file or the new one.
    pub fn commit(self) -> io::Result<()> {
        self.temporary.as_file().sync_all()?;
        self.temporary
            .persist(&self.destination)
            .map_err(|error| error.error)?;
        if let Some(folder) = self
            .destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            File::open(folder)?.sync_all()?;
        }
        Ok(())
    }
}

/// Writes `bytes` to `destination` atomically.
pub fn write_atomically(destination: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let output = AtomicFile::create(destination)?;
    let mut file = output.file();
    file.write_all(bytes)?;
    file.flush()?;
    output.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.bin");
        let output = AtomicFile::create(&destination).unwrap();
        assert!(output.temporary_path().exists());
        drop(output);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn outputs_get_the_umask_permissions_of_a_created_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let atomic = dir.path().join("atomic");
        write_atomically(&atomic, b"x").unwrap();
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode(&atomic), mode(&plain));
    }

    #[test]
    fn commit_replaces_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.bin");
        std::fs::write(&destination, b"old").unwrap();
        write_atomically(&destination, b"new").unwrap();
        assert_eq!(std::fs::read(&destination).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
