//! Where a tensor's bytes live: owned by the program, or a window of a
//! memory-mapped source file. Handles are cheap to clone and never copy the
//! bytes they point at.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

/// A read-only memory map of a whole source file, kept with its path (for
/// error messages) and its open file (for in-kernel copies).
#[derive(Debug)]
pub struct MappedFile {
    path: PathBuf,
    file: File,
    map: Mmap,
}

/// Refuses anything but a regular file *before* opening it: `open` on a
/// FIFO blocks until a writer comes, and devices, sockets and `/proc` files
/// have no length that describes their contents.
pub fn check_regular_file(path: &Path) -> io::Result<()> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_file() {
        return Ok(());
    }
    let what = if metadata.is_dir() {
        "a directory, not a regular file"
    } else {
        "not a regular file (a FIFO, device or socket)"
    };
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("`{}` is {what}", path.display()),
    ))
}

/// Reads a small regular file (a configuration, an index, a manifest)
/// whole, refusing anything that is not a regular file first.
pub fn read_regular_file(path: &Path) -> io::Result<Vec<u8>> {
    check_regular_file(path)?;
    std::fs::read(path)
}

impl MappedFile {
    /// Maps `path` read-only.
    ///
    /// Refuses anything that is not a regular file (directories, FIFOs,
    /// devices, `/proc` files), whose length would not describe its contents.
    ///
    /// # The one mapping contract
    ///
    /// This is the only place irex maps an input, so the contract of
    /// `memmap2::Mmap::map` is stated here once, for every reader above it:
    /// **a model or archive irex reads must not be modified or truncated
    /// while irex runs.** irex documents that as a precondition of every
    /// command and library entry point (as `cp`, `rsync` and every
    /// mmap-based loader assume it). A file changed underneath shows the
    /// change in the tensors read from it; a truncated one turns reads of
    /// the lost pages into SIGBUS. Everything above `formats` is safe code.
    pub fn open(path: &Path) -> io::Result<Arc<Self>> {
        check_regular_file(path)?;
        let file = File::open(path)?;
        // SAFETY: the mapping contract above; the map is read-only and
        // lives in the returned `Arc`, with every window cloned from it.
        let map = unsafe { Mmap::map(&file)? };
        Ok(Arc::new(Self {
            path: path.to_path_buf(),
            file,
            map,
        }))
    }

    /// Returns the path the file was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Returns the open file, for in-kernel copies.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Returns the mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Gives the pages under `offset..offset + length` back to the kernel,
    /// so that bytes a parser has read stop counting in the process's
    /// resident memory (a 100 MB header would otherwise stay resident next
    /// to the table made from it). A later read faults them in again, with
    /// the same contents; a range past the end is cut at the end.
    pub fn release(&self, offset: u64, length: u64) {
        let end = offset.saturating_add(length).min(self.map.len() as u64);
        if offset >= end {
            return;
        }
        // SAFETY: `MADV_DONTNEED` is unchecked because it discards changes
        // to private pages; this map is read-only, so there are none, and
        // the pages read back are the file's (the mapping contract above).
        // A failure only leaves the pages resident.
        let _ = unsafe {
            self.map.unchecked_advise_range(
                memmap2::UncheckedAdvice::DontNeed,
                offset as usize,
                (end - offset) as usize,
            )
        };
    }

    /// Returns a window of `length` bytes at `offset`, or `None` when the
    /// range does not lie inside the file.
    pub fn window(self: &Arc<Self>, offset: u64, length: u64) -> Option<MappedWindow> {
        let end = offset.checked_add(length)?;
        (end <= self.map.len() as u64).then(|| MappedWindow {
            file: Arc::clone(self),
            offset,
            length,
        })
    }
}

/// Gives a mapped file's pages back to the kernel behind a parser as it
/// reads on, every 8 MiB, so that reading a large header never holds the
/// whole of it resident beside the table made from it.
pub struct PageReleaser<'m> {
    file: &'m MappedFile,
    released: u64,
}

impl<'m> PageReleaser<'m> {
    const STRIDE: u64 = 8 << 20;

    /// Starts at the beginning of `file`.
    pub fn new(file: &'m MappedFile) -> Self {
        Self { file, released: 0 }
    }

    /// Notes that the parser has read everything before `position`.
    pub fn advance_to(&mut self, position: u64) {
        if position >= self.released + Self::STRIDE {
            self.file.release(self.released, position - self.released);
            self.released = position;
        }
    }
}

/// A byte range inside a [`MappedFile`], checked to lie within it.
#[derive(Clone, Debug)]
pub struct MappedWindow {
    file: Arc<MappedFile>,
    offset: u64,
    length: u64,
}

impl MappedWindow {
    /// Returns the file the window points into.
    pub fn file(&self) -> &MappedFile {
        &self.file
    }

    /// Returns the window's offset from the start of the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Returns the window's length in bytes.
    pub fn len(&self) -> u64 {
        self.length
    }

    /// Returns whether the window is empty.
    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Returns the window's bytes, borrowed from the map.
    pub fn bytes(&self) -> &[u8] {
        // The range was checked against the map's length when the window was
        // made, and usize holds it because the map itself fits in memory.
        &self.file.bytes()[self.offset as usize..(self.offset + self.length) as usize]
    }
}

/// Where a tensor's bytes are.
#[derive(Clone, Debug)]
pub enum BufferHandle {
    /// Bytes the program made (small example weights, test data).
    Owned(Arc<[u8]>),
    /// A window of a memory-mapped source file: nothing is copied.
    Mapped(MappedWindow),
    /// Bytes a foreign caller owns and lends (the C ABI's in-memory
    /// `.irpa` entries): read in place, never copied or freed.
    Borrowed(BorrowedBytes),
}

/// A caller's bytes, lent to irex for as long as the handle lives.
///
/// The C ABI cannot hand irex an owner, only a pointer and a length; this
/// is that pair, made safe to read by [`BorrowedBytes::new`]'s contract.
#[derive(Clone, Debug)]
pub struct BorrowedBytes {
    pointer: *const u8,
    length: usize,
}

// SAFETY: the bytes are only ever read, and `new`'s caller promises they
// stay valid and unchanged while any handle to them lives, on any thread.
unsafe impl Send for BorrowedBytes {}
// SAFETY: as above: shared reads of immutable bytes.
unsafe impl Sync for BorrowedBytes {}

impl BorrowedBytes {
    /// Lends `length` bytes at `pointer` (dangling is fine when `length` is 0).
    ///
    /// # Safety
    /// The bytes must be readable, and neither written nor freed, for as
    /// long as this value or any clone of it (or a handle holding it) lives.
    pub unsafe fn new(pointer: *const u8, length: usize) -> Self {
        Self { pointer, length }
    }

    /// Returns the lent bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.length == 0 {
            return &[];
        }
        // SAFETY: `new`'s contract: readable and unchanged while `self` lives.
        unsafe { std::slice::from_raw_parts(self.pointer, self.length) }
    }
}

impl BufferHandle {
    /// Wraps bytes the program owns.
    pub fn owned(bytes: impl Into<Arc<[u8]>>) -> Self {
        Self::Owned(bytes.into())
    }

    /// Stores `values` little-endian in a new owned buffer.
    pub fn from_f32(values: &[f32]) -> Self {
        Self::owned(
            values
                .iter()
                .flat_map(|value| value.to_le_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    /// Returns the bytes, borrowed from the owner or the map.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Self::Owned(bytes) => bytes,
            Self::Mapped(window) => window.bytes(),
            Self::Borrowed(lent) => lent.bytes(),
        }
    }

    /// Returns the length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Self::Owned(bytes) => bytes.len() as u64,
            Self::Mapped(window) => window.len(),
            Self::Borrowed(lent) => lent.length as u64,
        }
    }

    /// Returns whether the buffer is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the mapped window, when the bytes come from a file.
    pub fn mapped_window(&self) -> Option<&MappedWindow> {
        match self {
            Self::Owned(_) | Self::Borrowed(_) => None,
            Self::Mapped(window) => Some(window),
        }
    }
}

/// Returns the `unit`-byte pattern that `bytes` repeats, when every unit is
/// the same; `None` for an empty buffer or one that is not uniform.
///
/// Uniform tensors become splats: `dense<v>` inline, SPLAT entries in the
/// `.irpa`, with no stored data.
pub fn uniform_pattern(bytes: &[u8], unit: usize) -> Option<&[u8]> {
    if unit == 0 || bytes.is_empty() || bytes.len() % unit != 0 {
        return None;
    }
    let first = &bytes[..unit];
    bytes
        .chunks_exact(unit)
        .all(|chunk| chunk == first)
        .then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn uniform_pattern_finds_repeated_units_only() {
        let ones = BufferHandle::from_f32(&[1.0; 5]);
        assert_eq!(
            uniform_pattern(ones.bytes(), 4),
            Some(&1f32.to_le_bytes()[..])
        );
        let mixed = BufferHandle::from_f32(&[1.0, 2.0]);
        assert_eq!(uniform_pattern(mixed.bytes(), 4), None);
        assert_eq!(uniform_pattern(&[], 4), None);
        assert_eq!(uniform_pattern(&[1, 2, 3], 2), None);
    }

    #[test]
    fn mapped_windows_borrow_the_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"0123456789").unwrap();
        let mapped = MappedFile::open(file.path()).unwrap();
        let window = mapped.window(3, 4).unwrap();
        assert_eq!(window.bytes(), b"3456");
        assert_eq!(window.bytes().as_ptr(), mapped.bytes()[3..].as_ptr());
        assert!(mapped.window(8, 3).is_none());
        assert!(mapped.window(u64::MAX, 2).is_none());
        assert_eq!(BufferHandle::Mapped(window).len(), 4);
    }

    #[test]
    fn mapping_a_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let error = MappedFile::open(dir.path()).unwrap_err();
        assert!(error.to_string().contains("not a regular file"), "{error}");
    }
}
