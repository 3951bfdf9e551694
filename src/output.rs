//! Crash-safe output files: written under a temporary name in the target's
//! folder, flushed and synced, then renamed into place. A reader of the final
//! name sees either nothing (or the previous complete file) or the new
//! complete file, never a half-written one.
//!
//! Temporary files do not outlive the run that wrote them: every one is
//! registered while it exists, and [`remove_temporaries_on_signals`] removes
//! them when SIGINT, SIGTERM or SIGHUP ends the process. One left by a
//! process that could not clean up (`kill -9`, a power cut) holds no lock
//! any more, and the next write to the same destination removes it.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::NamedTempFile;

mod temporaries;

pub use temporaries::{Temporary, remove_registered, remove_temporaries_on_signals};

/// A file being written under a temporary name beside its destination;
/// removed on drop unless [`AtomicFile::commit`] renamed it into place.
///
/// The temporary is `.NAME.irex-PID-RANDOM.tmp`, locked (`flock`) while
/// this process writes it: a temporary whose writer is gone (its lock free,
/// its process not alive) is removed by the next [`AtomicFile::create`] for
/// the same destination.
#[derive(Debug)]
pub struct AtomicFile {
    temporary: NamedTempFile,
    destination: PathBuf,
    _registered: Temporary,
}

impl AtomicFile {
    /// Creates a new empty temporary file beside `destination` (in the same
    /// folder, so that the rename cannot cross file systems). A destination
    /// that is a symlink is resolved (the file it names is replaced, the
    /// link stays); one that exists and is not a regular file (a folder, a
    /// device, a FIFO, a dangling link) is refused, never replaced.
    pub fn create(destination: &Path) -> io::Result<Self> {
        let destination = resolve_destination(destination)?;
        let folder = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let file_name = destination.file_name().ok_or_else(|| {
            let message = format!("`{}` names no file", destination.display());
            io::Error::new(io::ErrorKind::InvalidInput, message)
        })?;
        let prefix = format!(".{}.irex-", file_name.to_string_lossy());
        remove_abandoned_temporaries(&folder, &prefix);
        // 0666 less the umask, as a plain `File::create` makes it (tempfile's
        // default, 0600, would leave exported models unreadable to others).
        let permissions = std::os::unix::fs::PermissionsExt::from_mode(0o666);
        let temporary = tempfile::Builder::new()
            .prefix(&format!("{prefix}{}-", std::process::id()))
            .suffix(TEMPORARY_SUFFIX)
            .permissions(permissions)
            .tempfile_in(&folder)?;
        let registered = Temporary::register(temporary.path());
        lock_exclusively(temporary.as_file())?;
        Ok(Self {
            temporary,
            destination,
            _registered: registered,
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

/// The suffix of every temporary output file.
const TEMPORARY_SUFFIX: &str = ".tmp";

/// A temporary younger than this is never taken for abandoned, even with its
/// lock free (its writer may be between creating and locking it).
const ABANDONED_AFTER: Duration = Duration::from_secs(10);

/// Where `destination` is written: itself, or the regular file a symlink
/// names; an error for anything else that exists.
fn resolve_destination(destination: &Path) -> io::Result<PathBuf> {
    let refused = |what: &str| {
        let message = format!(
            "`{}` is {what}; irex replaces only regular files",
            destination.display()
        );
        io::Error::new(io::ErrorKind::InvalidInput, message)
    };
    let metadata = match fs::symlink_metadata(destination) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Ok(destination.to_path_buf());
        }
        other => other?,
    };
    if metadata.is_file() {
        return Ok(destination.to_path_buf());
    }
    if !metadata.file_type().is_symlink() {
        return Err(refused(&describe(&metadata)));
    }
    let target =
        fs::canonicalize(destination).map_err(|_| refused("a symlink to nothing that exists"))?;
    let target_metadata = fs::metadata(&target)?;
    if !target_metadata.is_file() {
        return Err(refused(&format!(
            "a symlink to {}",
            describe(&target_metadata)
        )));
    }
    Ok(target)
}

/// "a folder", "a device", ... for messages.
fn describe(metadata: &fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let kind = metadata.file_type();
    let what = if kind.is_dir() {
        "a folder"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    what.to_string()
}

/// Takes an exclusive advisory lock (`flock`) on `file` without waiting:
/// an error if another process holds it. Released when the file closes or
/// the process ends, however it ends: a killed writer leaves no lock.
pub fn lock_exclusively(file: &File) -> io::Result<()> {
    // SAFETY: flock on a descriptor `file` owns for the whole call; no memory involved.
    let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if locked == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Removes the temporaries named `PREFIX PID-RANDOM.tmp` in `folder` that
/// their writer abandoned: its lock is free and its process is gone (or the
/// file is too old to be a live writer's that has not locked it yet).
/// Best effort: a temporary that cannot be removed is left alone.
fn remove_abandoned_temporaries(folder: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(TEMPORARY_SUFFIX))
        else {
            continue;
        };
        let writer = rest
            .split('-')
            .next()
            .and_then(|pid| pid.parse::<i32>().ok());
        let path = entry.path();
        if is_abandoned(&path, writer) {
            let _ = fs::remove_file(&path);
        }
    }
}

fn is_abandoned(path: &Path, writer: Option<i32>) -> bool {
    let Ok(file) = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    else {
        return false;
    };
    if lock_exclusively(&file).is_err() {
        return false;
    }
    let old = file
        .metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|modified| modified.elapsed().ok())
        .is_some_and(|age| age > ABANDONED_AFTER);
    old || writer.is_some_and(|pid| !process_exists(pid))
}

/// Whether a process `pid` exists (signal 0 checks without sending).
fn process_exists(pid: i32) -> bool {
    // SAFETY: kill with signal 0 only checks that `pid` could be signalled.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
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
    use std::os::unix::fs::FileTypeExt;

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
    fn a_symlinked_destination_is_resolved_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target.bin");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.bin");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn destinations_that_are_not_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nothing"), &dangling).unwrap();
        let cases = [
            (dir.path().to_path_buf(), "is a folder"),
            (PathBuf::from("/dev/null"), "is a device"),
            (dangling, "a symlink to nothing that exists"),
        ];
        for (destination, expected) in cases {
            let error = AtomicFile::create(&destination).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
            assert!(error.to_string().contains(expected), "{error}");
        }
        assert!(
            std::fs::metadata("/dev/null")
                .unwrap()
                .file_type()
                .is_char_device()
        );
    }

    #[test]
    fn an_abandoned_temporary_is_removed_and_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("out.bin");
        // A writer that no longer exists (no pid reaches 999999999).
        let abandoned = dir.path().join(".out.bin.irex-999999999-AbCdEf.tmp");
        std::fs::write(&abandoned, b"partial").unwrap();
        // Another destination's temporary is not this one's to remove.
        let other = dir.path().join(".other.bin.irex-999999999-AbCdEf.tmp");
        std::fs::write(&other, b"partial").unwrap();
        let live = AtomicFile::create(&destination).unwrap();
        assert!(!abandoned.exists());
        assert!(other.exists());
        let second = AtomicFile::create(&destination).unwrap();
        assert!(
            live.temporary_path().exists(),
            "a live writer's file was removed"
        );
        drop((live, second));
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
