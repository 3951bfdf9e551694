//! `irex_irpa_writer_t`: IREE parameter archives from C, with the same
//! streaming writer irex's exports use. Entries are windows of files
//! (copied file to file by the kernel) or the caller's memory, read in
//! place when the archive is written: no bytes are copied into irex's heap.

use std::ffi::{c_char, c_void};

use irex::formats::irpa::{ArchiveEntry, DEFAULT_DATA_ALIGNMENT, EntryContents, write_archive};
use irex::tensor::{BorrowedBytes, BufferHandle, MappedFile};

use crate::boundary::{
    Failure, IREX_ERROR_IO, guard, guard_pointer, handle, handle_mut, irex_status, path, text,
};

/// An archive being described: the entries `irex_irpa_writer_write` writes.
pub struct IrpaWriter {
    entries: Vec<ArchiveEntry>,
}

/// Makes an empty archive writer. Returns null only if irex failed
/// internally.
#[unsafe(no_mangle)]
pub extern "C" fn irex_irpa_writer_create() -> *mut IrpaWriter {
    guard_pointer(|| {
        Ok(Box::new(IrpaWriter {
            entries: Vec::new(),
        }))
    })
}

/// Destroys a writer; null is ignored. Memory lent to it may be freed after.
///
/// # Safety
/// `writer` is null or a live handle, destroyed at most once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_irpa_writer_destroy(writer: *mut IrpaWriter) {
    if !writer.is_null() {
        // SAFETY: the caller's contract: made by `Box::into_raw`, live.
        drop(unsafe { Box::from_raw(writer) });
    }
}

/// `alignment` as the archive needs it: 0 means IREE's default.
fn alignment(alignment: u64) -> Result<u64, Failure> {
    match alignment {
        0 => Ok(DEFAULT_DATA_ALIGNMENT),
        power if power.is_power_of_two() => Ok(power),
        other => Err(Failure::invalid(format!(
            "alignment {other} is not a power of two"
        ))),
    }
}

/// Adds the entry `name` holding `length` bytes at `data`, stored at an
/// offset that is a multiple of `alignment` (a power of two; 0: 64). The
/// bytes are lent, not copied: they must stay alive and unchanged until
/// the writer is destroyed.
///
/// # Safety
/// `writer` is null or live; `name` is null or a NUL-terminated string;
/// `data` is null or readable for `length` bytes as stated above.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_irpa_writer_add_memory(
    writer: *mut IrpaWriter,
    name: *const c_char,
    data: *const c_void,
    length: usize,
    alignment: u64,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let writer = unsafe { handle_mut(writer, "writer") }?;
        // SAFETY: the caller's contract.
        let name = unsafe { text(name, "entry name") }?;
        if data.is_null() && length > 0 {
            return Err(Failure::invalid(format!("entry `{name}`: data is null")));
        }
        // SAFETY: the caller's contract: readable and unchanged while the
        // writer (which holds the only handles) lives.
        let lent = unsafe { BorrowedBytes::new(data.cast(), length) };
        writer.push(
            name,
            BufferHandle::Borrowed(lent),
            self::alignment(alignment)?,
        )
    })
}

/// Adds the entry `name` holding `length` bytes of the file at `path`
/// from `offset`, copied file to file when the archive is written. The
/// file must not change until then.
///
/// # Safety
/// `writer` is null or live; `name` and `path` are null or NUL-terminated
/// strings.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_irpa_writer_add_file(
    writer: *mut IrpaWriter,
    name: *const c_char,
    path: *const c_char,
    offset: u64,
    length: u64,
    alignment: u64,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let writer = unsafe { handle_mut(writer, "writer") }?;
        // SAFETY: the caller's contract.
        let (name, path) = unsafe { (text(name, "entry name")?, self::path(path, "path")?) };
        let file = MappedFile::open(&path).map_err(|error| Failure {
            status: IREX_ERROR_IO,
            message: format!("opening `{}`: {error}", path.display()),
        })?;
        let size = file.bytes().len();
        let window = file.window(offset, length).ok_or_else(|| {
            Failure::invalid(format!(
                "entry `{name}`: bytes {offset}..{offset}+{length} lie outside `{}` ({size} bytes)",
                path.display()
            ))
        })?;
        writer.push(
            name,
            BufferHandle::Mapped(window),
            self::alignment(alignment)?,
        )
    })
}

impl IrpaWriter {
    fn push(&mut self, name: &str, buffer: BufferHandle, alignment: u64) -> Result<(), Failure> {
        if self.entries.iter().any(|entry| entry.name == name) {
            return Err(Failure::invalid(format!(
                "entry `{name}` was already added"
            )));
        }
        self.entries.push(ArchiveEntry {
            name: name.into(),
            contents: EntryContents::Data { buffer, alignment },
        });
        Ok(())
    }
}

/// Writes the archive to `path`: it appears there only complete, synced
/// and re-read by irex's validating reader; a failure leaves any earlier
/// file at `path` as it was. The writer may be written again or destroyed.
///
/// # Safety
/// `writer` is null or live; `path` is null or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn irex_irpa_writer_write(
    writer: *const IrpaWriter,
    path: *const c_char,
) -> irex_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let writer = unsafe { handle(writer, "writer") }?;
        // SAFETY: the caller's contract.
        let path = unsafe { self::path(path, "path") }?;
        write_archive(&path, &writer.entries)
            .map_err(|error| Failure::from(irex::Error::from(error)))?;
        Ok(())
    })
}
