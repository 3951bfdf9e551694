//! IREE parameter archives (`.irpa`): layout planning, a streaming writer
//! and a validating reader.
//!
//! The format is IREE's `runtime/src/iree/schemas/parameter_archive.h`; the
//! layout is what IREE's `irpa_builder.c` produces, so archives irex writes
//! load in IREE's runtime, `iree-dump-parameters` and
//! `iree-convert-parameters`:
//!
//! ```text
//! 0     88-byte header (magic "IRPA", v0.0), padded to 96
//! 96    entry table: 76-byte DATA / 85-byte SPLAT entries, each 16-aligned
//!       metadata segment: every entry's name bytes, right after the table
//!       storage segment: data at each entry's requested alignment
//!       zero tail up to a multiple of 4096
//! ```
//!
//! Quirks of the format worth knowing: all offsets are relative to the
//! header, not the file; IREE's parser checks neither alignment, overlaps,
//! duplicate names nor integer overflow (the reader here does); a linked
//! second header is misread by IREE's parser (so irex never writes one and
//! its reader refuses one); EXTERNAL entries are accepted by no IREE reader.

mod plan;
mod reader;
mod schema;
mod writer;

pub use plan::{ArchiveLayout, ArchivePlan, EntryRequest, EntrySource, PlannedEntry, PlannedKind};
pub use reader::{IrpaEntry, IrpaEntryKind, IrpaIndex};
pub use schema::{DEFAULT_DATA_ALIGNMENT, FILE_ALIGNMENT, MAX_SPLAT_PATTERN};
pub use writer::{ArchiveEntry, ArchiveSource, EntryContents, write_archive, write_archive_from};
