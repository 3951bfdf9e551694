//! An export folder as a transaction: everything is written into a
//! staging folder beside the destination, which replaces the destination
//! only when complete, so a reader (or a crash) never sees a folder that
//! mixes two exports. An advisory lock refuses a second export into the
//! same folder while one runs, and the staging folders a killed export left
//! are removed by the next export into that folder.

use std::fs::{self, File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use crate::formats::manifest::MANIFEST_FILE_NAME;

/// A staging folder for an export into `out`, holding the lock on `out`.
pub(super) struct Staging {
    out: PathBuf,
    parent: PathBuf,
    name: String,
    staging: PathBuf,
    _lock: File,
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
        remove_leftovers(&parent, &stale)?;
        let staging = parent.join(format!(".{name}.irex-staging-{}", std::process::id()));
        fs::create_dir(&staging).map_err(|e| io_error("creating", &staging, e))?;
        Ok(Self {
            out: out.to_path_buf(),
            parent,
            name,
            staging,
            _lock: lock,
            committed: false,
        })
    }

    /// Where the export writes.
    pub(super) fn path(&self) -> &Path {
        &self.staging
    }

    /// Puts the staging folder in place of `out` (the earlier export, if
    /// any, moves aside first and is then removed).
    pub(super) fn commit(mut self) -> crate::Result<()> {
        if self.out.exists() {
            let old = self
                .parent
                .join(format!(".{}.irex-old-{}", self.name, std::process::id()));
            fs::rename(&self.out, &old).map_err(|e| io_error("moving aside", &self.out, e))?;
            fs::rename(&self.staging, &self.out)
                .map_err(|e| io_error("renaming", &self.staging, e))?;
            let _ = fs::remove_dir_all(&old);
        } else {
            fs::rename(&self.staging, &self.out)
                .map_err(|e| io_error("renaming", &self.staging, e))?;
        }
        self.committed = true;
        File::open(&self.parent)
            .and_then(|folder| folder.sync_all())
            .map_err(|e| io_error("syncing", &self.parent, e))
    }
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
    // SAFETY: flock on a descriptor this function owns; no memory involved.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked != 0 {
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
