//! An export folder as a transaction: everything is written into a
//! staging folder beside the destination, which replaces the destination
//! only when complete, so a reader (or a crash) never sees a folder that
//! mixes two exports. An advisory lock refuses a second export into the
//! same folder while one runs, and the staging folders a killed export left
//! are removed by the next export into that folder (a signal removes its
//! own: the staging folder is an [`crate::output::Temporary`]).
//!
//! The replacement is one `renameat2(RENAME_EXCHANGE)`: the destination
//! holds the earlier export until the instant it holds the new one. Where
//! the file system cannot exchange, the earlier export moves aside first
//! and the next export puts it back if this one died in between.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::formats::manifest::MANIFEST_FILE_NAME;
use crate::output::Temporary;

/// A staging folder for an export into `out`, holding the lock on `out`.
pub(super) struct Staging {
    out: PathBuf,
    parent: PathBuf,
    name: String,
    staging: PathBuf,
    _lock: File,
    _registered: Temporary,
    committed: bool,
}

fn io_error(what: &'static str, path: &Path, source: std::io::Error) -> crate::Error {
    crate::Error::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

fn refused(path: &Path, message: &str) -> crate::Error {
    let source = std::io::Error::new(std::io::ErrorKind::InvalidInput, message.to_string());
    io_error("exporting into", path, source)
}

impl Staging {
    /// Locks `out`, clears what killed exports into it left, and creates an
    /// empty staging folder beside it. Refuses an `out` that is a file, or a
    /// folder holding anything but an earlier irex export.
    pub(super) fn begin(out: &Path) -> crate::Result<Self> {
        let name = out
            .file_name()
            .ok_or_else(|| refused(out, "the output names no folder"))?
            .to_string_lossy()
            .into_owned();
        let parent = match out.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| io_error("creating", &parent, e))?;
        check_destination(out)?;
        let lock = lock(&parent.join(format!(".{name}.irex-lock")), out)?;
        let stale = [
            format!(".{name}.irex-staging-"),
            format!(".{name}.irex-old-"),
        ];
        restore_moved_aside(out, &parent, &stale[1])?;
        remove_leftovers(&parent, &stale)?;
        let staging = parent.join(format!(".{name}.irex-staging-{}", std::process::id()));
        fs::create_dir(&staging).map_err(|e| io_error("creating", &staging, e))?;
        let registered = Temporary::register(&staging);
        Ok(Self {
            out: out.to_path_buf(),
            parent,
            name,
            staging,
            _lock: lock,
            _registered: registered,
            committed: false,
        })
    }

    /// Where the export writes.
    pub(super) fn path(&self) -> &Path {
        &self.staging
    }

    /// Puts the staging folder in place of `out`: exchanged with the
    /// earlier export in one step where the file system can, the earlier
    /// export then removed.
    pub(super) fn commit(mut self) -> crate::Result<()> {
        if !self.out.exists() {
            fs::rename(&self.staging, &self.out)
                .map_err(|e| io_error("renaming", &self.staging, e))?;
        } else if exchange(&self.staging, &self.out).is_ok() {
            // The staging path now holds the earlier export.
            let _ = fs::remove_dir_all(&self.staging);
        } else {
            self.move_aside_and_rename()?;
        }
        self.committed = true;
        File::open(&self.parent)
            .and_then(|folder| folder.sync_all())
            .map_err(|e| io_error("syncing", &self.parent, e))
    }

    /// The replacement where `renameat2` cannot exchange: the earlier export
    /// moves aside (the next export restores it if this one dies before the
    /// second rename), the staging folder takes its name.
    fn move_aside_and_rename(&self) -> crate::Result<()> {
        let old = self
            .parent
            .join(format!(".{}.irex-old-{}", self.name, std::process::id()));
        fs::rename(&self.out, &old).map_err(|e| io_error("moving aside", &self.out, e))?;
        fs::rename(&self.staging, &self.out).map_err(|e| io_error("renaming", &self.staging, e))?;
        let _ = fs::remove_dir_all(&old);
        Ok(())
    }
}

/// Swaps the names of two folders in one step (`RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c_path = |path: &Path| {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))
    };
    let (a, b) = (c_path(a)?, c_path(b)?);
    // SAFETY: both paths are NUL-terminated strings that outlive the call.
    let result = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// When an export died between moving the earlier one aside and renaming
/// its own into place, `out` is absent and the earlier export waits beside
/// it: it goes back.
fn restore_moved_aside(out: &Path, parent: &Path, prefix: &str) -> crate::Result<()> {
    if fs::symlink_metadata(out).is_ok() {
        return Ok(());
    }
    let entries = fs::read_dir(parent).map_err(|e| io_error("reading", parent, e))?;
    let moved = entries
        .flatten()
        .find(|entry| entry.file_name().to_string_lossy().starts_with(prefix));
    if let Some(moved) = moved {
        fs::rename(moved.path(), out).map_err(|e| io_error("restoring", out, e))?;
    }
    Ok(())
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// `out` may be absent, empty, or an earlier export (it has `irex.json`).
fn check_destination(out: &Path) -> crate::Result<()> {
    let Ok(metadata) = fs::symlink_metadata(out) else {
        return Ok(());
    };
    if !metadata.is_dir() {
        return Err(refused(out, "it is not a folder (nor absent)"));
    }
    let mut entries = fs::read_dir(out).map_err(|e| io_error("reading", out, e))?;
    if entries.next().is_some() && !out.join(MANIFEST_FILE_NAME).is_file() {
        return Err(refused(
            out,
            "it holds files of no irex export; export into a new or empty folder",
        ));
    }
    Ok(())
}

/// Takes the advisory lock of `out` (a lock file beside it).
fn lock(path: &Path, out: &Path) -> crate::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| io_error("creating", path, e))?;
    if crate::output::lock_exclusively(&file).is_err() {
        return Err(refused(out, "another irex export is writing it now"));
    }
    Ok(file)
}

/// Removes what killed exports left beside the destination.
fn remove_leftovers(parent: &Path, prefixes: &[String]) -> crate::Result<()> {
    let entries = fs::read_dir(parent).map_err(|e| io_error("reading", parent, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefixes
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
        {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| io_error("removing the leftover", &path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An export that died between moving the earlier one aside and
    /// renaming its own into place (the fallback where RENAME_EXCHANGE is
    /// not supported) left `out` absent: the next export puts it back.
    #[test]
    fn an_export_moved_aside_by_a_dead_run_comes_back() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        let aside = parent.path().join(".out.irex-old-999999999");
        fs::create_dir(&aside).unwrap();
        fs::write(aside.join(MANIFEST_FILE_NAME), b"{}").unwrap();
        let staging = Staging::begin(&out).unwrap();
        assert!(out.join(MANIFEST_FILE_NAME).is_file(), "restored");
        assert!(!aside.exists());
        drop(staging);
        assert!(
            out.join(MANIFEST_FILE_NAME).is_file(),
            "kept when nothing replaced it"
        );
    }

    #[test]
    fn a_commit_exchanges_the_folders_and_removes_the_earlier_export() {
        let parent = tempfile::tempdir().unwrap();
        let out = parent.path().join("out");
        fs::create_dir(&out).unwrap();
        fs::write(out.join(MANIFEST_FILE_NAME), b"old").unwrap();
        let staging = Staging::begin(&out).unwrap();
        fs::write(staging.path().join(MANIFEST_FILE_NAME), b"new").unwrap();
        staging.commit().unwrap();
        assert_eq!(fs::read(out.join(MANIFEST_FILE_NAME)).unwrap(), b"new");
        let names: Vec<String> = fs::read_dir(parent.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "out and its lock only: {names:?}");
    }
}
