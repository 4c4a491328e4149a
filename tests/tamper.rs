//! Tamper tests on an exported bundle of more than 50 entries: every kind of
//! damage the issue lists is detected, and blamed on the right seq.
//!
//! The base bundle is built once through the library and its bytes reused;
//! the exhaustive cases verify in memory, and a few run the real binary.

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::*;
use serde_json::json;
use trail_core::Problem;
use trail_core::{BundleError, Entry, Error, Id, Log, Rejection, Verifier};

/// Seeds of the base log's signers.
const ADMIN: u8 = 1;
const ISSUER: u8 = 2;
const SYP: u8 = 3;
const COLLEGE: u8 = 4;
const FUNDER: u8 = 5;
const ASSESSOR: u8 = 6;
/// A key that is never granted in any log.
const ROGUE: u8 = 9;

/// Builds a log of more than 50 entries through the library, with every
/// signer and most event kinds, and returns its exported bundle.
fn build_bundle(dir: &Path, name: &str, variant: u32) -> Vec<u8> {
    let log_dir = dir.join(name);
    let admin = seed(ADMIN);
    let log = Log::create(
        &log_dir,
        name,
        &admin,
        "admin".parse::<Id>().unwrap(),
        "Admin body",
    )
    .unwrap();
    let grant = |actor: &str, s: u8, role: &str| {
        event(
            &json!({"type": "key_granted", "actor": actor, "body": format!("{actor} body"),
            "public_key": seed(s).public_key().to_string(), "roles": [role], "date": "2021-11-01"}),
        )
    };
    log.append_all(
        &admin,
        vec![
            grant("iopc", ISSUER, "issuer"),
            grant("syp", SYP, "respondent"),
            grant("college", COLLEGE, "respondent"),
            grant("pcc", FUNDER, "funder"),
            grant("hmicfrs", ASSESSOR, "assessor"),
        ],
    )
    .unwrap();
    let mut issued = vec![event(
        &json!({"type": "report_published", "report": "LINDEN-2021",
        "title": format!("Operation Linden (variant {variant})"), "date": "2021-11-23"}),
    )];
    for n in 1..=12 {
        let to = if n % 2 == 0 { "syp" } else { "college" };
        issued.push(event(
            &json!({"type": "recommendation_issued", "rec": format!("R{n}"),
            "report": "LINDEN-2021", "addressees": [to], "subject": format!("Subject {n}"),
            "date": "2021-11-23"}),
        ));
    }
    log.append_all(&seed(ISSUER), issued).unwrap();
    // Entries are appended one at a time so that they carry distinct times.
    let mut syp_claim = 0;
    for n in 1..=12 {
        let (key, actor) = if n % 2 == 0 {
            (SYP, "syp")
        } else {
            (COLLEGE, "college")
        };
        log.append(
            &seed(key),
            event(&json!({"type": "response_recorded", "rec": format!("R{n}"),
                "position": "accepted", "actions": format!("Actions {n} v{variant}"),
                "target": "2022-06-30", "date": "2021-12-10"})),
        )
        .unwrap();
        if n % 3 == 0 {
            log.append(
                &seed(FUNDER),
                event(
                    &json!({"type": "funding_decision", "decision": format!("21/{n:03}"),
                    "amount_minor": 1000 * n, "currency": "GBP", "purpose": "Training",
                    "recs": [format!("R{n}")], "stage": "approved", "date": "2022-01-10"}),
                ),
            )
            .unwrap();
        }
        let claim = log.append(
            &seed(key),
            event(&json!({"type": "progress_claim", "rec": format!("R{n}"), "status": "implemented",
                "subject": actor, "narrative": format!("Done {n}"),
                "evidence": [{"name": "plan.pdf", "blake3": trail_core::Digest::of(b"plan").to_string(),
                    "kind": "self_report"}], "date": "2022-05-01"})),
        )
        .unwrap();
        if actor == "syp" {
            syp_claim = claim.seq;
        }
        log.append(
            &seed(ASSESSOR),
            event(
                &json!({"type": "assessment", "rec": format!("R{n}"), "verdict": "some_respects",
                "coverage": "full", "narrative": format!("Checked {n}"), "date": "2022-09-01"}),
            ),
        )
        .unwrap();
    }
    log.append(
        &seed(SYP),
        event(
            &json!({"type": "correction", "target_seq": syp_claim, "reason": "typo",
            "date": "2022-09-02"}),
        ),
    )
    .unwrap();
    let out = dir.join(format!("{name}.trail"));
    trail_core::bundle::export(&log, &out).unwrap();
    std::fs::read(out).unwrap()
}

/// The base bundle and, from a second log with the same keys but another
/// history, a bundle to splice from.
struct Fixture {
    base: Vec<u8>,
    other: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let base = build_bundle(dir.path(), "base", 1);
        let other = build_bundle(dir.path(), "other", 2);
        assert!(bundle_entries(&base).len() >= 50);
        verify_bytes(&base).expect("the base bundle verifies");
        verify_bytes(&other).expect("the other bundle verifies");
        Fixture { base, other }
    })
}

fn entries() -> Vec<Vec<u8>> {
    bundle_entries(&fixture().base)
}

/// Asserts that `result` failed at `seq` and returns the problem.
#[track_caller]
fn fails_at(result: trail_core::Result<Verifier>, seq: u64) -> Problem {
    match result {
        Err(Error::Verify(v)) => {
            assert_eq!(v.seq, seq, "blamed the wrong entry: {v}");
            v.problem
        }
        Err(other) => panic!("expected a failure at seq {seq}, got: {other}"),
        Ok(v) => panic!("tampering went unnoticed ({} entries verified)", v.len()),
    }
}

#[test]
fn base_bundle_is_well_formed() {
    let f = fixture();
    let records = parse_bundle(&f.base);
    let entries = entries();
    assert_eq!(records.len(), entries.len() + 1);
    let end = records.last().unwrap();
    let payload = &f.base[end.payload.clone()];
    assert_eq!(payload.len(), 40);
    assert_eq!(
        u64::from_le_bytes(payload[..8].try_into().unwrap()),
        entries.len() as u64
    );
    let last_hash = Entry::from_bytes(entries.last().unwrap()).unwrap().hash();
    assert_eq!(&payload[8..], &last_hash.0);
    // Re-framing the same entries by hand gives the same bytes: the layout is as documented.
    assert_eq!(make_bundle(&entries), f.base);
    let verifier = verify_bytes(&f.base).unwrap();
    assert_eq!(verifier.len(), entries.len() as u64);
    assert_eq!(verifier.head_hash(), last_hash);
}

/// Flips one byte of every entry at every position, with two masks, and
/// checks each is caught at that entry's seq.
///
/// Running the whole bundle through the verifier for each of ~25,000 variants
/// would take minutes in a debug build, so each thread keeps one verifier
/// positioned just before entry k and offers it the damaged entry k alone:
/// the verifier refuses it without moving (the next offer proves that, since
/// a moved verifier would blame seq k + 1), and then takes the genuine entry.
#[test]
fn every_byte_flip_of_every_entry_is_detected_at_its_seq() {
    let entries = entries();
    let n = entries.len();
    let halves = [0..n / 2, n / 2..n];
    std::thread::scope(|scope| {
        for range in halves {
            let entries = &entries;
            scope.spawn(move || {
                let mut verifier = Verifier::new();
                verifier
                    .verify_chunk(entries[..range.start].to_vec())
                    .expect("genuine prefix verifies");
                for k in range {
                    let genuine = &entries[k];
                    for at in 0..genuine.len() {
                        for mask in [0x01u8, 0xff] {
                            let mut damaged = genuine.clone();
                            damaged[at] ^= mask;
                            match verifier.verify_chunk(vec![damaged]) {
                                Err(e) => assert_eq!(
                                    e.seq, k as u64,
                                    "byte {at} of seq {k} (mask {mask:#04x}) blamed on {e}"
                                ),
                                Ok(_) => panic!(
                                    "byte {at} of seq {k} flipped with {mask:#04x} went unnoticed"
                                ),
                            }
                        }
                    }
                    verifier
                        .verify_chunk(vec![genuine.clone()])
                        .unwrap_or_else(|e| panic!("genuine seq {k} refused after the flips: {e}"));
                }
            });
        }
    });
}

/// The same flips through the bundle reader, for a few positions in every
/// entry (the unsigned fields, the event, the signature) and every framing byte.
#[test]
fn byte_flips_in_a_bundle_are_detected_and_localized() {
    let base = &fixture().base;
    let records = parse_bundle(base);
    let damage = |at: usize, seq: Option<u64>| {
        let mut bytes = base.clone();
        bytes[at] ^= 0x20;
        match (verify_bytes(&bytes), seq) {
            (Ok(_), _) => panic!("flip at byte {at} went unnoticed"),
            (Err(Error::Verify(v)), Some(seq)) => assert_eq!(v.seq, seq, "flip at byte {at}: {v}"),
            (Err(Error::Verify(v)), None) => {
                panic!("flip at byte {at} outside entries blamed on {v}")
            }
            (Err(Error::Bundle(_)), _) => {}
            // A flipped magic or version byte: no longer a bundle at all.
            (Err(Error::NotABundle { .. }), None) if at < HEADER_LEN => {}
            (Err(other), _) => panic!("flip at byte {at}: unexpected error {other}"),
        }
    };
    for at in 0..HEADER_LEN {
        damage(at, None);
    }
    for (k, r) in records.iter().enumerate() {
        let seq = (r.tag == TAG_ENTRY).then_some(k as u64);
        // The tag and length: a bundle error, or (a length that still frames
        // something) an error at this entry.
        for at in r.start..r.payload.start {
            damage(at, seq);
        }
        if r.tag == TAG_END {
            for at in r.payload.clone() {
                damage(at, None);
            }
            continue;
        }
        let p = r.payload.clone();
        // Format version, seq, prev_hash, recorded_at, signer, event, signature.
        for offset in [
            0,
            1,
            9,
            41,
            49,
            81,
            (p.len() - 64) / 2 + 40,
            p.len() - 64,
            p.len() - 1,
        ] {
            let at = p.start + offset;
            let mut bytes = base.clone();
            bytes[at] ^= 0x20;
            fails_at(verify_bytes(&bytes), k as u64);
        }
    }
}

#[test]
fn dropping_any_entry_is_detected_at_its_seq() {
    let entries = entries();
    let n = entries.len();
    for k in 0..n - 1 {
        let mut fewer = entries.clone();
        fewer.remove(k);
        // A forger would also rewrite the end record to match.
        match fails_at(verify_bytes(&make_bundle(&fewer)), k as u64) {
            Problem::WrongSeq { found } => assert_eq!(found, k as u64 + 1),
            other => panic!("dropping seq {k}: unexpected problem {other}"),
        }
    }
    // Dropping the last entry but keeping the original end record: the end
    // record catches it.
    let base = &fixture().base;
    let records = parse_bundle(base);
    let last = &records[n - 1];
    let mut bytes = base[..last.start].to_vec();
    bytes.extend_from_slice(&base[records[n].start..]);
    match verify_bytes(&bytes) {
        Err(Error::Bundle(BundleError::EndMismatch { count, held, .. })) => {
            assert_eq!((count, held), (n as u64, n as u64 - 1));
        }
        other => panic!("dropped last entry: {:?}", other.map(|v| v.len())),
    }
}

#[test]
fn swapping_two_entries_is_detected_at_the_first() {
    let entries = entries();
    let n = entries.len();
    let mut pairs: Vec<(usize, usize)> = (0..n - 1).map(|i| (i, i + 1)).collect();
    pairs.extend([(0, n - 1), (1, n / 2), (7, 40), (n / 2, n - 1)]);
    for (i, j) in pairs {
        let mut swapped = entries.clone();
        swapped.swap(i, j);
        match fails_at(verify_bytes(&make_bundle(&swapped)), i as u64) {
            Problem::WrongSeq { found } => assert_eq!(found, j as u64),
            other => panic!("swapping {i} and {j}: unexpected problem {other}"),
        }
    }
}

#[test]
fn truncating_at_any_offset_is_detected_and_says_where() {
    let base = &fixture().base;
    let records = parse_bundle(base);
    for cut in 0..base.len() {
        let found = match verify_bytes(&base[..cut]) {
            Err(Error::Bundle(e)) => e,
            Err(other) => panic!("cut at {cut}: expected a bundle error, got {other}"),
            Ok(_) => panic!("bundle cut at {cut} of {} verified", base.len()),
        };
        // Entries whose records are complete before the cut.
        let whole = records
            .iter()
            .filter(|r| r.tag == TAG_ENTRY && r.payload.end <= cut)
            .count() as u64;
        let expected = match whole {
            _ if cut < HEADER_LEN => BundleError::TooShort,
            0 => BundleError::TruncatedBeforeFirst,
            w => BundleError::TruncatedAfter { last_seq: w - 1 },
        };
        assert_eq!(found, expected, "cut at {cut}");
    }
}

#[test]
fn a_signature_taken_from_another_entry_is_detected() {
    let entries = entries();
    let decoded: Vec<Entry> = entries
        .iter()
        .map(|e| Entry::from_bytes(e).unwrap())
        .collect();
    for k in 0..entries.len() {
        // Prefer a donor signed by the same key: its signature is genuine for that key.
        let donor = (0..entries.len())
            .find(|&j| j != k && decoded[j].unsigned.signer == decoded[k].unsigned.signer)
            .unwrap_or((k + 1) % entries.len());
        let mut forged = entries.clone();
        let len = forged[k].len();
        forged[k][len - 64..].copy_from_slice(&decoded[donor].signature.0);
        match fails_at(verify_bytes(&make_bundle(&forged)), k as u64) {
            Problem::BadSignature { .. } => {}
            other => panic!("signature of {donor} on seq {k}: unexpected problem {other}"),
        }
    }
}

/// Checks an entry's signature with ed25519-dalek directly (strict rules,
/// over the signing input): a well-signed entry that verification must
/// still refuse for another reason.
fn signature_holds(entry: &Entry) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&entry.unsigned.signer.0) else {
        return false;
    };
    let sig = ed25519_dalek::Signature::from_bytes(&entry.signature.0);
    let input = trail_core::signing_input(&entry.unsigned.to_bytes());
    key.verify_strict(&input, &sig).is_ok()
}

#[test]
fn an_entry_spliced_in_from_another_log_is_detected() {
    let ours = entries();
    let theirs = bundle_entries(&fixture().other);
    let n = ours.len().min(theirs.len());
    for k in [0, 1, 5, 20, n / 2, n - 2, n - 1] {
        assert_ne!(ours[k], theirs[k], "the two logs differ at seq {k}");
        assert!(signature_holds(&Entry::from_bytes(&theirs[k]).unwrap()));
        let mut spliced = ours.clone();
        spliced[k] = theirs[k].clone();
        let bad_seq = if k == 0 { 1 } else { k as u64 };
        match fails_at(verify_bytes(&make_bundle(&spliced)), bad_seq) {
            // A foreign genesis is itself fine; the entry after it no longer links.
            Problem::BrokenLink { .. } => {}
            other => panic!("splice at seq {k}: unexpected problem {other}"),
        }
    }
}

/// Re-signs every entry from `from` on so that the chain links again.
fn rechain(entries: &mut [Entry], from: usize) {
    for i in from.max(1)..entries.len() {
        let mut unsigned = entries[i].unsigned.clone();
        unsigned.prev_hash = entries[i - 1].hash();
        let key = key_for(&unsigned.signer);
        entries[i] = unsigned.sign(&key);
    }
}

#[test]
fn an_entry_re_signed_with_an_unregistered_key_is_detected() {
    let genuine: Vec<Entry> = entries()
        .iter()
        .map(|e| Entry::from_bytes(e).unwrap())
        .collect();
    let rogue = seed(ROGUE);
    let n = genuine.len();
    for k in [1, 6, 19, n / 2, n - 2, n - 1] {
        // Control: the same rewrite with the genuine key verifies, so below
        // only the key can be what is wrong.
        let mut control = genuine.clone();
        let unsigned = control[k].unsigned.clone();
        control[k] = unsigned.sign(&key_for(&genuine[k].unsigned.signer));
        rechain(&mut control, k + 1);
        let bytes: Vec<Vec<u8>> = control.iter().map(Entry::to_bytes).collect();
        verify_bytes(&make_bundle(&bytes)).expect("re-signing with the genuine key verifies");

        let mut forged = genuine.clone();
        let mut unsigned = forged[k].unsigned.clone();
        unsigned.signer = rogue.public_key();
        forged[k] = unsigned.sign(&rogue);
        assert!(signature_holds(&forged[k]));
        rechain(&mut forged, k + 1);
        let bytes: Vec<Vec<u8>> = forged.iter().map(Entry::to_bytes).collect();
        match fails_at(verify_bytes(&make_bundle(&bytes)), k as u64) {
            Problem::Unauthorized(Rejection::UnknownKey(key)) => {
                assert_eq!(key, rogue.public_key().to_string())
            }
            other => panic!("rogue key at seq {k}: unexpected problem {other}"),
        }
    }
}

/// Writes bundle bytes to a file in `dir`.
fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn the_binary_reports_the_damaged_seq_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let base = &fixture().base;
    let good = write(dir.path(), "good.trail", base);
    let out = trail_run(&["verify", "--bundle", arg(&good)]);
    assert!(
        out.ok()
            .contains(&format!("intact: {} entries", entries().len()))
    );

    // A byte of the event of seq 37.
    let records = parse_bundle(base);
    let mut bytes = base.clone();
    bytes[records[37].payload.start + 90] ^= 0x01;
    let bad = write(dir.path(), "flipped.trail", &bytes);
    trail_run(&["verify", "--bundle", arg(&bad)]).fails(1, &["seq 37:"]);
    let out = trail_run(&["verify", "--bundle", arg(&bad), "--json"]);
    out.fails(1, &["seq 37:"]);
    let line: Envelope = serde_json::from_str(out.stdout.trim()).expect("one JSON line");
    assert_eq!(line.kind, "failed");
    assert_eq!(line.data["seq"], 37);

    // Two entries swapped.
    let mut swapped = entries();
    swapped.swap(12, 13);
    let bad = write(dir.path(), "swapped.trail", &make_bundle(&swapped));
    trail_run(&["verify", "--bundle", arg(&bad)]).fails(1, &["seq 12:", "entry says it is seq 13"]);

    // A signature from another entry.
    let mut forged = entries();
    let donor = forged[20][forged[20].len() - 64..].to_vec();
    let len = forged[21].len();
    forged[21][len - 64..].copy_from_slice(&donor);
    let bad = write(dir.path(), "forged.trail", &make_bundle(&forged));
    trail_run(&["verify", "--bundle", arg(&bad)])
        .fails(1, &["seq 21:", "signature does not verify"]);
}

#[test]
fn import_refuses_a_tampered_bundle_and_leaves_no_directory() {
    let dir = tempfile::tempdir().unwrap();
    let base = &fixture().base;
    let records = parse_bundle(base);
    let mut flipped = base.clone();
    flipped[records[44].payload.start + 60] ^= 0x04;
    let mut dropped = entries();
    dropped.remove(30);
    let truncated = base[..records[25].payload.start + 10].to_vec();
    let cases: [(&str, Vec<u8>, &str); 3] = [
        ("flipped", flipped, "seq 44:"),
        ("dropped", make_bundle(&dropped), "seq 30:"),
        ("truncated", truncated, "truncated after seq 24"),
    ];
    for (name, bytes, needle) in cases {
        let bundle = write(dir.path(), &format!("{name}.trail"), &bytes);
        let log = dir.path().join(format!("{name}-log"));
        trail_run(&["import", "--bundle", arg(&bundle), "--log", arg(&log)]).fails(1, &[needle]);
        assert!(!log.exists(), "{name}: import left {}", log.display());
        assert!(
            !dir.path().join(format!("{name}-log.importing")).exists(),
            "{name}: import left its staging directory"
        );
    }
    // The genuine bundle imports and the imported log verifies with the same head.
    let bundle = write(dir.path(), "good.trail", base);
    let log = dir.path().join("good-log");
    trail_run(&["import", "--bundle", arg(&bundle), "--log", arg(&log)]).ok();
    let head = verify_bytes(base).unwrap().head_hash().to_string();
    let out = trail_run(&["verify", "--log", arg(&log)]);
    assert!(out.ok().contains(&head), "{}", out.stdout);
}
