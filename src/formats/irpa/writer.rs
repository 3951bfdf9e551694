//! The streaming writer: plans the layout, writes the small index region,
//! then streams each entry's bytes from its buffer handle (in-kernel
//! `copy_file_range` from mapped source files) under a temporary name, checks
//! the result with the reader, and only then renames it into place.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::plan::{ArchiveLayout, ArchivePlan, EntryRequest, EntrySource, PlannedKind};
use super::reader::{IrpaEntryKind, IrpaIndex};
use crate::formats::{FormatError, FormatErrorKind, FormatName};
use crate::output::AtomicFile;
use crate::tensor::{BufferHandle, MappedFile, MappedWindow};

/// What one archive entry holds.
#[derive(Clone, Debug)]
pub enum EntryContents {
    /// Bytes streamed from a buffer handle.
    Data {
        /// Where the bytes are.
        buffer: BufferHandle,
        /// Required alignment of their file offset (a power of two).
        alignment: u64,
    },
    /// A repeated pattern: nothing is stored.
    Splat {
        /// The pattern, 1, 2, 4, 8 or 16 bytes.
        pattern: Vec<u8>,
        /// Total length in bytes.
        length: u64,
    },
}

/// One entry to write: a key and its contents.
#[derive(Clone, Debug)]
pub struct ArchiveEntry {
    /// The parameter key.
    pub name: String,
    /// What the entry holds.
    pub contents: EntryContents,
}

impl ArchiveEntry {
    fn request(&self) -> EntryRequest {
        let name = self.name.clone();
        match &self.contents {
            EntryContents::Data { buffer, alignment } => EntryRequest::Data {
                name,
                length: buffer.len(),
                alignment: *alignment,
            },
            EntryContents::Splat { pattern, length } => EntryRequest::Splat {
                name,
                pattern: pattern.clone(),
                length: *length,
            },
        }
    }
}

/// Entries to write, asked for one at a time (see [`EntrySource`]): a
/// slice of [`ArchiveEntry`]s, or a view over checkpoints' tensor tables
/// that makes each entry when it is written.
pub trait ArchiveSource: EntrySource {
    /// Returns what entry `index` holds.
    fn contents(&self, index: usize) -> EntryContents;
}

impl EntrySource for [ArchiveEntry] {
    fn len(&self) -> usize {
        <[ArchiveEntry]>::len(self)
    }

    fn name(&self, index: usize) -> &str {
        &self[index].name
    }

    fn request(&self, index: usize) -> EntryRequest {
        self[index].request()
    }
}

impl ArchiveSource for [ArchiveEntry] {
    fn contents(&self, index: usize) -> EntryContents {
        self[index].contents.clone()
    }
}

fn io_error(path: &Path, field: &str, error: &io::Error) -> FormatError {
    FormatError::io(FormatName::Irpa, field, error).with_path(path)
}

/// Writes `entries` as an archive at `path` and returns its layout.
///
/// Tensor bytes never pass through a heap buffer: mapped windows are copied
/// file to file by the kernel (or written straight from the map where the
/// kernel cannot), owned buffers are written from where they are. The file
/// appears under `path` only once complete, synced and re-read.
pub fn write_archive(path: &Path, entries: &[ArchiveEntry]) -> Result<ArchivePlan, FormatError> {
    write_archive_from(path, entries)?;
    let requests: Vec<EntryRequest> = entries.iter().map(ArchiveEntry::request).collect();
    ArchivePlan::new(&requests)
}

/// Writes the entries of `source` as an archive at `path`, as
/// [`write_archive`] does, keeping no state per entry: the index is written
/// as it is laid out and checked as it is read back, so that an archive of
/// a million entries costs no memory beyond `source`'s own.
pub fn write_archive_from<S: ArchiveSource + ?Sized>(
    path: &Path,
    source: &S,
) -> Result<ArchiveLayout, FormatError> {
    let layout = ArchiveLayout::new(source).map_err(|error| error.with_path(path))?;
    let output = AtomicFile::create(path).map_err(|error| io_error(path, "file", &error))?;
    let file = output.file();
    write_index(file, &layout, source).map_err(|error| io_error(path, "header", &error))?;
    for (index, planned) in layout.placements(source).enumerate() {
        if let (EntryContents::Data { buffer, .. }, PlannedKind::Data { offset, .. }) =
            (source.contents(index), &planned.kind)
        {
            write_buffer(file, *offset, &buffer)
                .map_err(|error| io_error(path, "storage", &error).with_key(&planned.name))?;
        }
    }
    file.set_len(layout.file_size)
        .map_err(|error| io_error(path, "file_size", &error))?;
    check_written(output.temporary_path(), &layout, source)
        .map_err(|error| error.with_path(path))?;
    output
        .commit()
        .map_err(|error| io_error(path, "rename", &error))?;
    Ok(layout)
}

/// Writes the index through a buffer of at most 256 KiB (the index's size
/// where it is smaller): the pieces come in file order, with small zero
/// gaps between entries.
fn write_index<S: ArchiveSource + ?Sized>(
    file: &File,
    layout: &ArchiveLayout,
    source: &S,
) -> io::Result<()> {
    let capacity = (256 << 10).min(layout.storage_offset as usize);
    let mut buffer: Vec<u8> = Vec::with_capacity(capacity);
    let mut start = 0u64;
    let flush = |buffer: &mut Vec<u8>, start: u64| {
        let written = file.write_all_at(buffer, start);
        buffer.clear();
        written
    };
    layout.write_index(source, &mut |offset, piece| {
        let gap = offset.checked_sub(start + buffer.len() as u64);
        match gap
            .filter(|&gap| gap <= 4096 && buffer.len() + gap as usize + piece.len() <= capacity)
        {
            Some(gap) => buffer.resize(buffer.len() + gap as usize, 0),
            None => {
                flush(&mut buffer, start)?;
                start = offset;
            }
        }
        buffer.extend_from_slice(piece);
        Ok(())
    })?;
    flush(&mut buffer, start)
}

fn write_buffer(file: &File, offset: u64, buffer: &BufferHandle) -> io::Result<()> {
    match buffer {
        BufferHandle::Owned(bytes) => file.write_all_at(bytes, offset),
        BufferHandle::Borrowed(lent) => file.write_all_at(lent.bytes(), offset),
        BufferHandle::Mapped(window) => copy_window(window, file, offset),
    }
}

/// Copies a mapped window into `file` at `offset`, in the kernel where it
/// can, from the map otherwise.
fn copy_window(window: &MappedWindow, file: &File, offset: u64) -> io::Result<()> {
    let source = window.file();
    let source_length = source.file().metadata()?.len();
    if source_length < window.offset() + window.len() {
        let message = format!(
            "`{}` shrank to {source_length} bytes while mapped",
            source.path().display()
        );
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, message));
    }
    match copy_file_range(source.file(), window.offset(), file, offset, window.len()) {
        Ok(()) => Ok(()),
        Err(error) if kernel_copy_unsupported(&error) => file.write_all_at(window.bytes(), offset),
        Err(error) => Err(error),
    }
}

fn kernel_copy_unsupported(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EXDEV | libc::ENOSYS | libc::EOPNOTSUPP | libc::EINVAL | libc::EPERM)
    )
}

/// Copies `length` bytes between files with `copy_file_range(2)`.
fn copy_file_range(
    source: &File,
    source_offset: u64,
    destination: &File,
    destination_offset: u64,
    length: u64,
) -> io::Result<()> {
    let mut input = source_offset as libc::loff_t;
    let mut output = destination_offset as libc::loff_t;
    let mut remaining = length;
    while remaining > 0 {
        let chunk = remaining.min(1 << 30) as usize;
        // SAFETY: both descriptors are open for the call's duration and the
        // offsets point at live locals; the kernel reads and writes only the
        // files, never our memory.
        let copied = unsafe {
            libc::copy_file_range(
                source.as_raw_fd(),
                &mut input,
                destination.as_raw_fd(),
                &mut output,
                chunk,
                0,
            )
        };
        match copied {
            -1 => {
                let error = io::Error::last_os_error();
                if error.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(error);
            }
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "source ended early",
                ));
            }
            copied => remaining -= copied as u64,
        }
    }
    Ok(())
}

/// Re-reads the written index and checks it says what the layout says,
/// entry by entry.
fn check_written<S: ArchiveSource + ?Sized>(
    path: &Path,
    layout: &ArchiveLayout,
    source: &S,
) -> Result<(), FormatError> {
    let mapped = MappedFile::open(path)
        .map_err(|error| FormatError::io(FormatName::Irpa, "file", &error))?;
    let mismatch = |name: &str| {
        let kind = FormatErrorKind::InvalidValue {
            found: "an entry that differs from the plan".into(),
            expected: "the planned entry".into(),
        };
        FormatError::new(FormatName::Irpa, "entry", kind).with_key(name)
    };
    let mut planned = layout.placements(source);
    IrpaIndex::visit(&mapped, |read| {
        let Some(planned) = planned.next() else {
            return Err(mismatch(&read.name));
        };
        let same = read.name == planned.name
            && match (&read.kind, &planned.kind) {
                (
                    IrpaEntryKind::Data { offset, length, .. },
                    PlannedKind::Data {
                        offset: o,
                        length: l,
                        ..
                    },
                ) => offset == o && length == l,
                (
                    IrpaEntryKind::Splat { pattern, length },
                    PlannedKind::Splat {
                        pattern: p,
                        length: l,
                    },
                ) => pattern == p && length == l,
                _ => false,
            };
        if same {
            Ok(())
        } else {
            Err(mismatch(&planned.name))
        }
    })?;
    match planned.next() {
        Some(missing) => Err(mismatch(&missing.name)),
        None => Ok(()),
    }
}
