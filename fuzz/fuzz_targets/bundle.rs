//! Bundle verification on arbitrary bytes: a hostile bundle is refused with
//! an error, never a panic, a hang or an unbounded allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::bundle;

fuzz_target!(|data: &[u8]| {
    let mut entries = 0usize;
    let result = bundle::verify_reader(data, |_, chunk| {
        entries += chunk.len();
        Ok(())
    });
    if let Ok(verifier) = result {
        assert_eq!(verifier.len(), entries as u64);
    }
});
