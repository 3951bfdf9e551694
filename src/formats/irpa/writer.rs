//! The streaming writer: plans the layout, writes the small index region,
//! then streams each entry's bytes from its buffer handle (in-kernel
//! `copy_file_range` from mapped source files) under a temporary name, checks
//! the result with the reader, and only then renames it into place.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::Path;

use memmap2::Mmap;

use super::plan::{ArchivePlan, EntryRequest, PlannedKind};
use super::reader::{IrpaEntryKind, IrpaIndex};
use crate::formats::{FormatError, FormatErrorKind, FormatName};
use crate::output::AtomicFile;
use crate::tensor::{BufferHandle, MappedWindow};

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
    let requests: Vec<EntryRequest> = entries.iter().map(ArchiveEntry::request).collect();
    let plan = ArchivePlan::new(&requests).map_err(|error| error.with_path(path))?;
    let output = AtomicFile::create(path).map_err(|error| io_error(path, "file", &error))?;
    let file = output.file();
    file.write_all_at(&plan.index_bytes(), 0)
        .map_err(|error| io_error(path, "header", &error))?;
    for (entry, planned) in entries.iter().zip(&plan.entries) {
        if let (EntryContents::Data { buffer, .. }, PlannedKind::Data { offset, .. }) =
            (&entry.contents, &planned.kind)
        {
            write_buffer(file, *offset, buffer)
                .map_err(|error| io_error(path, "storage", &error).with_key(&entry.name))?;
        }
    }
    file.set_len(plan.file_size)
        .map_err(|error| io_error(path, "file_size", &error))?;
    check_written(output.file(), &plan).map_err(|error| error.with_path(path))?;
    output
        .commit()
        .map_err(|error| io_error(path, "rename", &error))?;
    Ok(plan)
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

/// Re-reads the written index and checks it says what the plan says.
fn check_written(file: &File, plan: &ArchivePlan) -> Result<(), FormatError> {
    // SAFETY: the file is our own unpublished temporary; nothing else writes it.
    let map = unsafe { Mmap::map(file) }
        .map_err(|error| FormatError::io(FormatName::Irpa, "file", &error))?;
    let index = IrpaIndex::parse(&map)?;
    let mismatch = |name: &str| {
        let kind = FormatErrorKind::InvalidValue {
            found: "an entry that differs from the plan".into(),
            expected: "the planned entry".into(),
        };
        FormatError::new(FormatName::Irpa, "entry", kind).with_key(name)
    };
    if index.entries.len() != plan.entries.len() {
        return Err(mismatch("*"));
    }
    for (read, planned) in index.entries.iter().zip(&plan.entries) {
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
        if !same {
            return Err(mismatch(&planned.name));
        }
    }
    Ok(())
}
