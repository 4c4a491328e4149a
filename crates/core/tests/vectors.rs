//! The test vectors in docs/FORMAT.md, recomputed from fixed key seeds.
//!
//! The expected values are read from FORMAT.md itself, so the document and
//! the code cannot drift apart: change the format and this test fails until
//! the document (and the format version) changes with it.

use trail_core::event::{ClaimStatus, Evidence, EvidenceKind, LogCreated, ProgressClaim};
use trail_core::{Day, Digest, EntryHash, Event, Id, SecretKey, Timestamp, UnsignedEntry};
use trail_core::{ENTRY_FORMAT_WITH_ORIGIN, signing_input};

/// Finds the hex value on the line `name: <hex>` under `## heading` in FORMAT.md,
/// joining continuation lines that hold only hex.
fn documented(vector: &str, name: &str) -> String {
    let doc = include_str!("../../../docs/FORMAT.md");
    let section = doc
        .split("### ")
        .find(|s| s.starts_with(vector))
        .unwrap_or_else(|| panic!("FORMAT.md has no vector section {vector}"));
    let mut lines = section
        .lines()
        .skip_while(|l| !l.starts_with(&format!("{name}:")));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("vector {vector} has no {name}"));
    let mut value = first[name.len() + 1..].trim().to_owned();
    for l in lines {
        let l = l.trim();
        if l.is_empty() || !l.chars().all(|c| c.is_ascii_hexdigit()) {
            break;
        }
        value.push_str(l);
    }
    value
}

fn check(vector: &str, seed: u8, unsigned: UnsignedEntry) {
    let key = SecretKey::from_seed(&[seed; 32]);
    assert_eq!(unsigned.signer, key.public_key());
    assert_eq!(
        documented(vector, "public key"),
        key.public_key().to_string()
    );
    let unsigned_bytes = unsigned.to_bytes();
    let signing_input = signing_input(&unsigned_bytes);
    let entry = unsigned.sign(&key);
    let bytes = entry.to_bytes();
    assert_eq!(
        documented(vector, "signing input"),
        hex::encode(&signing_input),
        "{vector}: signing input"
    );
    assert_eq!(
        documented(vector, "signature"),
        entry.signature.to_string(),
        "{vector}: signature"
    );
    assert_eq!(
        documented(vector, "entry bytes"),
        hex::encode(&bytes),
        "{vector}: entry bytes"
    );
    assert_eq!(
        documented(vector, "entry hash"),
        entry.hash().to_string(),
        "{vector}: entry hash"
    );
    // The bytes decode back to the same entry, and the signature checks out.
    let decoded = trail_core::Entry::from_bytes(&bytes).unwrap();
    assert_eq!(decoded, entry);
    assert!(signature_holds(&decoded));
}

/// Checks an entry's signature with ed25519-dalek directly, as an
/// independent verifier would: strict rules, over the signing input.
fn signature_holds(entry: &trail_core::Entry) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&entry.unsigned.signer.0) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&entry.signature.0);
    key.verify_strict(&signing_input(&entry.unsigned.to_bytes()), &sig)
        .is_ok()
}

fn day(s: &str) -> Day {
    s.parse().unwrap()
}

/// The genesis of vectors 1 and 8: signed with seed 1, with or without an origin.
fn vector_genesis(origin: Option<&str>) -> (SecretKey, UnsignedEntry) {
    let key = SecretKey::from_seed(&[1; 32]);
    let unsigned = UnsignedEntry {
        seq: 0,
        prev_hash: EntryHash::default(),
        recorded_at: "2021-11-23T09:00:00Z".parse::<Timestamp>().unwrap(),
        signer: key.public_key(),
        event: Event::LogCreated(LogCreated {
            name: "Vector log".into(),
            actor: Id::new("admin").unwrap(),
            body: "Log administrator".into(),
            public_key: key.public_key(),
            date: day("2021-11-23"),
            origin: origin.map(str::to_owned),
        }),
    };
    (key, unsigned)
}

#[test]
fn vector_1_genesis() {
    check("Vector 1", 1, vector_genesis(None).1);
}

#[test]
fn vector_8_genesis_with_an_origin() {
    let (key, unsigned) = vector_genesis(Some("watchdog.example.org/linden"));
    check("Vector 8", 1, unsigned.clone());
    let bytes = unsigned.sign(&key).to_bytes();
    assert_eq!(bytes[0], ENTRY_FORMAT_WITH_ORIGIN);
    // Format 1 with the origin's bytes, or format 2 without them, is refused.
    let mut as_format_1 = bytes.clone();
    as_format_1[0] = 1;
    assert!(trail_core::Entry::from_bytes(&as_format_1).is_err());
    let origin_len = 8 + "watchdog.example.org/linden".len();
    let end = bytes.len() - 64;
    let mut without = bytes[..end - origin_len].to_vec();
    without.extend_from_slice(&bytes[end..]);
    assert!(trail_core::Entry::from_bytes(&without).is_err());
}

#[test]
fn vector_2_progress_claim() {
    let key = SecretKey::from_seed(&[2; 32]);
    let prev: EntryHash = documented("Vector 1", "entry hash").parse().unwrap();
    let unsigned = UnsignedEntry {
        seq: 1,
        prev_hash: prev,
        recorded_at: "2022-05-01T12:30:00.000001Z".parse::<Timestamp>().unwrap(),
        signer: key.public_key(),
        event: Event::ProgressClaim(ProgressClaim {
            rec: Id::new("LINDEN-R1").unwrap(),
            status: ClaimStatus::Implemented,
            subject: Id::new("syp").unwrap(),
            narrative: "Training delivered".into(),
            evidence: vec![Evidence {
                name: "plan.pdf".into(),
                blake3: Digest::of(b"plan"),
                kind: EvidenceKind::SelfReport,
                dated: None,
            }],
            date: day("2022-05-01"),
            funding: vec![],
        }),
    };
    check("Vector 2", 2, unsigned);
}
