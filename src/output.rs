//! Crash-safe output files: written under a temporary name in the target's
//! folder, flushed and synced, then renamed into place. A reader of the final
//! name sees either nothing (or the previous complete file) or the new
//! complete file, never a half-written one.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file being written under a temporary name; removed on drop unless
/// [`AtomicFile::commit`] renamed it into place.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temporary: PathBuf,
    destination: PathBuf,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl AtomicFile {
    /// Creates a new empty temporary file beside `destination`.
    pub fn create(destination: &Path) -> io::Result<Self> {
        let folder = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let file_name = destination.file_name().ok_or_else(|| {
            let message = format!("`{}` names no file", destination.display());
            io::Error::new(io::ErrorKind::InvalidInput, message)
        })?;
        let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temporary = folder.join(format!(
            ".{}.irex-{}-{unique}.tmp",
            file_name.to_string_lossy(),
            std::process::id()
        ));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&temporary)?;
        Ok(Self {
            file: Some(file),
            temporary,
            destination: destination.to_path_buf(),
        })
    }

    /// Returns the open temporary file.
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("file is open until commit")
    }

    /// Returns the temporary path (for tools that write by path).
    pub fn temporary_path(&self) -> &Path {
        &self.temporary
    }

    /// Returns the final path.
    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// Syncs the data, renames the file into place and syncs the folder.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().expect("file is open until commit");
        file.sync_all()?;
        drop(file);
        fs::rename(&self.temporary, &self.destination)?;
        // The rename is done: nothing is left to clean up.
        self.temporary = PathBuf::new();
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

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temporary.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.temporary);
        }
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
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_replaces_the_destination() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.bin");
        fs::write(&destination, b"old").unwrap();
        write_atomically(&destination, b"new").unwrap();
        assert_eq!(fs::read(&destination).unwrap(), b"new");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
