//! The `.irpa` reader: header, segments, entries (data, splat, their
//! ranges, overlaps and names).
#![no_main]

use irex::formats::irpa::IrpaIndex;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Err(error) = IrpaIndex::parse(bytes) {
        irex_fuzz::check_message(&error);
    }
});
