//! The on-disk constants and struct offsets of the v0 archive format.
//!
//! Every struct is byte-packed and little-endian; offsets below are from the
//! start of the struct, sizes in bytes.

/// `I R P A` read as a little-endian `u32`.
pub const MAGIC: u32 = 0x4150_5249;
/// The size of the v0 header: a 32-byte prefix and four more fields.
pub const HEADER_SIZE: u64 = 88;
/// Where the entry table starts: the header rounded up to 16.
pub const ENTRY_TABLE_OFFSET: u64 = 96;
/// The alignment of the header and of every entry in the table.
pub const ENTRY_ALIGNMENT: u64 = 16;
/// The data alignment IREE's tools use when none is asked for.
pub const DEFAULT_DATA_ALIGNMENT: u64 = 64;
/// Files are padded with zeros to a multiple of this.
pub const FILE_ALIGNMENT: u64 = 4096;
/// The longest repeating pattern a SPLAT entry can hold.
pub const MAX_SPLAT_PATTERN: usize = 16;

/// Size of the header fields common to every entry type.
pub const ENTRY_HEADER_SIZE: u64 = 60;
/// Size of a SPLAT entry.
pub const SPLAT_ENTRY_SIZE: u64 = 85;
/// Size of a DATA entry.
pub const DATA_ENTRY_SIZE: u64 = 76;

/// Entry type codes.
pub mod entry_type {
    /// A deleted entry.
    pub const SKIP: u32 = 0;
    /// A repeated pattern with no stored bytes.
    pub const SPLAT: u32 = 1;
    /// Bytes in the storage segment.
    pub const DATA: u32 = 2;
    /// Bytes in another file (no IREE reader accepts it).
    pub const EXTERNAL: u32 = 3;
}

/// Field offsets inside the header.
pub mod header {
    /// `u32` magic.
    pub const MAGIC: usize = 0;
    /// `u16` major version.
    pub const VERSION_MAJOR: usize = 4;
    /// `u16` minor version.
    pub const VERSION_MINOR: usize = 6;
    /// `u64` header size, magic included.
    pub const HEADER_SIZE: usize = 8;
    /// `u64` offset of a linked next header (0: none).
    pub const NEXT_HEADER_OFFSET: usize = 16;
    // 24: `u64` reserved flags, written as zero and never read.
    /// `u64` number of entries.
    pub const ENTRY_COUNT: usize = 32;
    /// Range of the entry table.
    pub const ENTRY_SEGMENT: usize = 40;
    /// Range of the metadata segment.
    pub const METADATA_SEGMENT: usize = 56;
    /// Range of the storage segment.
    pub const STORAGE_SEGMENT: usize = 72;
}

/// Field offsets inside an entry.
pub mod entry {
    /// `u64` entry size, header included, trailing padding excluded.
    pub const SIZE: usize = 0;
    /// `u32` entry type.
    pub const TYPE: usize = 8;
    // 12: `u64` per-type flags, written as zero and never read.
    /// Range of the name in the metadata segment.
    pub const NAME: usize = 20;
    /// Range of the opaque metadata in the metadata segment.
    pub const METADATA: usize = 36;
    /// `u64` minimum alignment of the data (0: unspecified).
    pub const MINIMUM_ALIGNMENT: usize = 52;
    /// SPLAT: `u64` total length in bytes.
    pub const SPLAT_LENGTH: usize = 60;
    /// SPLAT: 16-byte pattern, little-endian, unused bytes zero.
    pub const SPLAT_PATTERN: usize = 68;
    /// SPLAT: `u8` pattern length.
    pub const SPLAT_PATTERN_LENGTH: usize = 84;
    /// DATA: range of the bytes, relative to the storage segment.
    pub const DATA_STORAGE: usize = 60;
}

/// Rounds `value` up to a multiple of `alignment` (a power of two), or
/// `None` on overflow.
pub fn align_up(value: u64, alignment: u64) -> Option<u64> {
    debug_assert!(alignment.is_power_of_two());
    Some(value.checked_add(alignment - 1)? & !(alignment - 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn align_up_rounds_and_reports_overflow() {
        assert_eq!(align_up(88, 16), Some(96));
        assert_eq!(align_up(96, 16), Some(96));
        assert_eq!(align_up(0, 4096), Some(0));
        assert_eq!(align_up(u64::MAX - 3, 64), None);
        assert_eq!(&MAGIC.to_le_bytes(), b"IRPA");
    }
}
