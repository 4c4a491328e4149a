//! Untrusted bytes: decoding entries and bundles never panics, never loops and
//! never allocates from an unchecked length, whatever it is fed.

use proptest::prelude::*;
use trail_core::bundle::{BundleWriter, verify_reader};
use trail_core::event::{KeyGranted, ReportPublished};
use trail_core::{Day, Entry, Event, Id, Log, Role, SecretKey};

/// A small valid bundle to mutate: genesis, a grant and a report.
fn sample_bundle() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let admin = SecretKey::from_seed(&[1; 32]);
    let issuer = SecretKey::from_seed(&[2; 32]);
    let log = Log::create(
        &dir.path().join("log"),
        "sample",
        &admin,
        Id::new("admin").unwrap(),
        "Admin",
    )
    .unwrap();
    let date = Day::new(2021, 11, 23).unwrap();
    log.append(
        &admin,
        Event::KeyGranted(KeyGranted {
            actor: Id::new("iopc").unwrap(),
            body: "IOPC".into(),
            public_key: issuer.public_key(),
            roles: vec![Role::Issuer],
            date,
        }),
    )
    .unwrap();
    log.append(
        &issuer,
        Event::ReportPublished(ReportPublished {
            report: Id::new("LINDEN-2021").unwrap(),
            title: "Operation Linden".into(),
            date,
            document: None,
        }),
    )
    .unwrap();
    let mut writer = BundleWriter::new(Vec::new()).unwrap();
    log.verify_with(|chunk| {
        chunk.iter().for_each(|e| writer.entry(e).unwrap());
        Ok(())
    })
    .unwrap();
    writer.finish().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn random_bytes_never_panic_as_entry(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Entry::from_bytes(&bytes);
    }

    #[test]
    fn random_bytes_never_panic_as_bundle(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut input = b"TRAILBDL\x01\x00".to_vec();
        input.extend_from_slice(&bytes);
        prop_assert!(verify_reader(&input[..], |_, _| Ok(())).is_err());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4_000))]

    /// Mutations of a valid bundle: flipped bytes, overwritten lengths, cuts.
    #[test]
    fn mutated_bundles_are_rejected_without_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let original = sample_bundle_cached();
        let mut bytes = original.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        let result = verify_reader(&bytes[..], |_, _| Ok(()));
        if bytes != *original {
            prop_assert!(result.is_err(), "a changed bundle verified");
        }
    }
}

fn sample_bundle_cached() -> &'static Vec<u8> {
    static BUNDLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BUNDLE.get_or_init(sample_bundle)
}

#[test]
fn a_huge_length_field_is_refused_before_allocating() {
    // A string length of 2^63 inside an otherwise plausible entry.
    let mut bytes = vec![1u8];
    bytes.extend_from_slice(&0u64.to_le_bytes());
    bytes.extend_from_slice(&[0; 32]);
    bytes.extend_from_slice(&0i64.to_le_bytes());
    bytes.extend_from_slice(&[0; 32]);
    bytes.extend_from_slice(&1u16.to_le_bytes());
    bytes.extend_from_slice(&(1u64 << 63).to_le_bytes());
    bytes.extend_from_slice(&[0; 64]);
    let err = Entry::from_bytes(&bytes).unwrap_err();
    assert!(err.0.contains("limit") || err.0.contains("end"), "{err}");
}

#[test]
fn decoding_then_encoding_gives_the_same_bytes() {
    // Canonical form: every entry in a real bundle re-encodes to its own bytes.
    let bundle = sample_bundle_cached();
    let verifier = verify_reader(&bundle[..], |_, chunk| {
        for v in chunk {
            assert_eq!(v.entry().to_bytes(), v.bytes());
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(verifier.len(), 3);
}
