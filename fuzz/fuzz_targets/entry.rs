//! Entry decoding and verification on arbitrary bytes: never a panic, a hang
//! or an unbounded allocation, and decoding is canonical (an entry has
//! exactly one byte form, so its hash cannot be varied without changing it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::{Entry, Verifier};

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::from_bytes(data) {
        assert_eq!(entry.to_bytes(), data, "decoding is not canonical");
        let _ = entry.signature_is_valid();
        let _ = entry.event().validate();
    }
    let _ = Verifier::new().verify_one(data.to_vec());
});
