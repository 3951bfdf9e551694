//! The temporary files and folders this process is writing, so that a signal
//! that ends it does not leave them behind.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Every temporary path now being written, in the order registered.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A temporary file or folder registered for removal on a signal; dropping
/// it takes it off the list (it does not remove the path: its owner does,
/// or renames it into place).
#[derive(Debug)]
pub struct Temporary {
    path: PathBuf,
}

impl Temporary {
    /// Registers `path` (a file or a folder this process just created).
    pub fn register(path: &Path) -> Self {
        live().push(path.to_path_buf());
        Self {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Temporary {
    fn drop(&mut self) {
        let mut live = live();
        if let Some(at) = live.iter().rposition(|path| *path == self.path) {
            live.remove(at);
        }
    }
}

/// The list, even if a thread panicked while holding it (the list of paths
/// stays valid whatever that thread was doing).
fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts a thread that, on SIGINT, SIGTERM or SIGHUP, removes every
/// registered temporary path and then ends the process as the signal's
/// default action would (so the shell still sees "killed by SIGINT").
/// Called once by the command-line tool; a library caller with its own
/// signal handling can call [`remove_registered`] instead.
pub fn remove_temporaries_on_signals() -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::Builder::new()
        .name("irex-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                remove_registered();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                std::process::exit(128 + signal);
            }
        })?;
    Ok(())
}

/// Removes every registered temporary path. The lock is held throughout,
/// so no writer registers a new one meanwhile.
pub fn remove_registered() {
    remove_all(&live());
}

/// Removes `paths`, newest first (files inside a registered folder go
/// before it).
fn remove_all(paths: &[PathBuf]) {
    for path in paths.iter().rev() {
        // A writer may still be creating files in a folder: try a few times.
        for _ in 0..3 {
            let removed = match std::fs::symlink_metadata(path) {
                Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
                Ok(_) => std::fs::remove_file(path),
                Err(_) => Ok(()),
            };
            if removed.is_ok() {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registration_lasts_until_dropped() {
        let path = Path::new("/nonexistent/irex-registration-test");
        let registered = Temporary::register(path);
        assert!(live().iter().any(|live| live == path));
        drop(registered);
        assert!(!live().iter().any(|live| live == path));
    }

    #[test]
    fn folders_and_files_are_removed_with_what_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("staging");
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(folder.join("inside"), b"x").unwrap();
        let file = dir.path().join("file.tmp");
        std::fs::write(&file, b"x").unwrap();
        let kept = dir.path().join("kept");
        std::fs::write(&kept, b"x").unwrap();
        remove_all(&[folder.clone(), file.clone(), dir.path().join("absent")]);
        assert!(!folder.exists() && !file.exists());
        assert!(kept.exists());
    }
}
