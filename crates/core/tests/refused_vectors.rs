//! Negative test vectors: one file per property a verifier must refuse, in
//! `tests/vectors/refused/` (as rage keeps its testdata). Each file names
//! the seq at which verification must stop, the problem it must report and
//! words its message holds, then gives the log's entries as hex, one per
//! line, in order: every entry before the bad one is valid, so an independent verifier can run the same
//! files and must stop at the same place for the same reason.
//!
//! The files are made by `cases()` below from fixed key seeds and times;
//! this test checks both that trail refuses each one as stated and that the
//! files are exactly what `cases()` makes. `TRAIL_WRITE_VECTORS=1 cargo test
//! --test refused_vectors` rewrites them after a deliberate format change.

use std::path::{Path, PathBuf};

use trail_core::{Entry, EntryHash, Event, Problem, SecretKey, Timestamp, UnsignedEntry, Verifier};

/// One refused log: its file name, what it shows, where verification must
/// stop and with which problem, and its entries' bytes.
struct Case {
    name: &'static str,
    about: &'static str,
    refused_at: u64,
    problem: &'static str,
    /// Words the refusal's message must hold.
    says: &'static str,
    entries: Vec<Vec<u8>>,
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn event(json: &str) -> Event {
    Event::from_json(json).expect("a test event")
}

fn at(second: i64) -> Timestamp {
    Timestamp::from_micros((1_700_000_000 + second) * 1_000_000).expect("a time")
}

/// A log's first entries: the genesis by the admin (seed 1), a grant of
/// the issuer role to seed 2, and a report it publishes.
fn valid_start() -> Vec<Entry> {
    let admin = key(1);
    let genesis = UnsignedEntry {
        seq: 0,
        prev_hash: EntryHash::default(),
        recorded_at: at(0),
        signer: admin.public_key(),
        event: event(&format!(
            r#"{{"type":"log_created","name":"refused","actor":"admin","body":"Admin","public_key":"{}","date":"2024-01-01"}}"#,
            admin.public_key()
        )),
    }
    .sign(&admin);
    let grant = next(
        &genesis,
        &admin,
        1,
        &format!(
            r#"{{"type":"key_granted","actor":"watchdog","body":"Watchdog","public_key":"{}","roles":["issuer"],"date":"2024-01-01"}}"#,
            key(2).public_key()
        ),
    );
    let report = next(
        &grant,
        &key(2),
        2,
        r#"{"type":"report_published","report":"REP","title":"A report","date":"2024-01-02"}"#,
    );
    vec![genesis, grant, report]
}

/// The entry after `prev`, signed by `signer`, recorded `second`s in.
fn next(prev: &Entry, signer: &SecretKey, second: i64, json: &str) -> Entry {
    UnsignedEntry {
        seq: prev.seq() + 1,
        prev_hash: prev.hash(),
        recorded_at: at(second),
        signer: signer.public_key(),
        event: event(json),
    }
    .sign(signer)
}

/// The valid start, then `last` made from it.
fn with(last: impl FnOnce(&[Entry]) -> Vec<u8>) -> Vec<Vec<u8>> {
    let start = valid_start();
    let mut out: Vec<Vec<u8>> = start.iter().map(Entry::to_bytes).collect();
    out.push(last(&start));
    out
}

const REC: &str = r#"{"type":"recommendation_issued","rec":"R1","report":"REP","addressees":["watchdog"],"subject":"Do it","date":"2024-01-02"}"#;

/// The order of the group of ed25519 (RFC 8032's L), little-endian.
const ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

fn cases() -> Vec<Case> {
    let issuer = key(2);
    vec![
        Case {
            name: "bad-signature",
            about: "a signature byte flipped",
            refused_at: 3,
            problem: "BadSignature",
            says: "signature does not verify",
            entries: with(|s| {
                let mut bytes = next(&s[2], &issuer, 3, REC).to_bytes();
                let last = bytes.len() - 1;
                bytes[last] ^= 0x01;
                bytes
            }),
        },
        Case {
            name: "signature-s-not-reduced",
            about: "a valid signature with L added to its S half: the same point equation, but not canonical, so strict verification refuses it",
            refused_at: 3,
            problem: "BadSignature",
            says: "signature does not verify",
            entries: with(|s| {
                let mut entry = next(&s[2], &issuer, 3, REC);
                let mut carry = 0u16;
                for (i, l) in ORDER.iter().enumerate() {
                    let sum = u16::from(entry.signature.0[32 + i]) + u16::from(*l) + carry;
                    entry.signature.0[32 + i] = sum as u8;
                    carry = sum >> 8;
                }
                entry.to_bytes()
            }),
        },
        Case {
            name: "signature-r-small-order",
            about: "a signature whose R is the identity point and whose S is H(R, A, M) times the secret scalar: the group equation holds, so plain batch verification accepts it, but strict verification refuses a small-order R",
            refused_at: 3,
            problem: "BadSignature",
            says: "signature does not verify",
            entries: with(|s| small_order_r(&next(&s[2], &issuer, 3, REC), 2)),
        },
        Case {
            name: "wrong-seq",
            about: "an entry that says it is seq 4 at position 3",
            refused_at: 3,
            problem: "WrongSeq",
            says: "entry says it is seq 4",
            entries: with(|s| {
                let mut u = next(&s[2], &issuer, 3, REC).unsigned;
                u.seq = 4;
                u.sign(&issuer).to_bytes()
            }),
        },
        Case {
            name: "broken-link",
            about: "an entry whose previous hash is that of seq 1, not seq 2",
            refused_at: 3,
            problem: "BrokenLink",
            says: "previous-hash field is",
            entries: with(|s| {
                let mut u = next(&s[2], &issuer, 3, REC).unsigned;
                u.prev_hash = s[1].hash();
                u.sign(&issuer).to_bytes()
            }),
        },
        Case {
            name: "time-went-back",
            about: "an entry recorded before the one it follows",
            refused_at: 3,
            problem: "TimeWentBack",
            says: "earlier than the previous entry",
            entries: with(|s| next(&s[2], &issuer, 1, REC).to_bytes()),
        },
        Case {
            name: "unregistered-signer",
            about: "an entry signed by a key no grant names",
            refused_at: 3,
            problem: "Unauthorized",
            says: "is not registered in this log",
            entries: with(|s| next(&s[2], &key(9), 3, REC).to_bytes()),
        },
        Case {
            name: "role-not-held",
            about: "the administrator issuing a recommendation, a role it does not hold",
            refused_at: 3,
            problem: "Unauthorized",
            says: "it needs the issuer role",
            entries: with(|s| next(&s[2], &key(1), 3, REC).to_bytes()),
        },
        Case {
            name: "invalid-event",
            about: "a recommendation with an empty subject",
            refused_at: 3,
            problem: "InvalidEvent",
            says: "subject: must not be empty",
            entries: with(|s| {
                next(
                    &s[2],
                    &issuer,
                    3,
                    &REC.replace(r#""subject":"Do it""#, r#""subject":" ""#),
                )
                .to_bytes()
            }),
        },
        Case {
            name: "unknown-event-kind",
            about: "an event kind code (0xffff) that no version defines, re-signed",
            refused_at: 3,
            problem: "Undecodable",
            says: "unknown event kind code 65535",
            entries: with(|s| {
                resigned(&next(&s[2], &issuer, 3, REC), 2, |u| {
                    // The kind code follows format byte, seq, prev hash, time and signer.
                    let at = 1 + 8 + 32 + 8 + 32;
                    u[at..at + 2].copy_from_slice(&[0xff, 0xff]);
                })
            }),
        },
        Case {
            name: "unknown-format-version",
            about: "an entry whose format byte is 9, re-signed",
            refused_at: 3,
            problem: "Undecodable",
            says: "entry format version 9 is not supported",
            entries: with(|s| resigned(&next(&s[2], &issuer, 3, REC), 2, |u| u[0] = 9)),
        },
        Case {
            name: "trailing-bytes",
            about: "a valid entry with one byte after its signature",
            refused_at: 3,
            problem: "Undecodable",
            says: "unexpected bytes after the event",
            entries: with(|s| {
                let mut bytes = next(&s[2], &issuer, 3, REC).to_bytes();
                bytes.push(0);
                bytes
            }),
        },
        Case {
            name: "truncated",
            about: "a valid entry cut ten bytes short",
            refused_at: 3,
            problem: "Undecodable",
            says: "the bytes end in the middle of a field",
            entries: with(|s| {
                let mut bytes = next(&s[2], &issuer, 3, REC).to_bytes();
                bytes.truncate(bytes.len() - 10);
                bytes
            }),
        },
    ]
}

/// `entry`'s unsigned bytes changed by `change`, then signed again with the
/// key of `seed` (ed25519-dalek directly: trail signs only what it can
/// encode), so that only the change is wrong.
fn resigned(entry: &Entry, seed: u8, change: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let mut unsigned = entry.unsigned.to_bytes();
    change(&mut unsigned);
    let dalek = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let signature = dalek.sign(&trail_core::signing_input(&unsigned));
    unsigned.extend_from_slice(&signature.to_bytes());
    unsigned
}

/// `entry` signed again by the key of `seed` with R the identity point:
/// S = H(R || A || M) · a, where a is the key's secret scalar (RFC 8032).
fn small_order_r(entry: &Entry, seed: u8) -> Vec<u8> {
    use curve25519_dalek::scalar::Scalar;
    use sha2::{Digest, Sha512};
    let mut unsigned = entry.unsigned.to_bytes();
    let message = trail_core::signing_input(&unsigned);
    let expanded = Sha512::digest([seed; 32]);
    let mut a = [0u8; 32];
    a.copy_from_slice(&expanded[..32]);
    a[0] &= 248;
    a[31] &= 127;
    a[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a);
    let mut r = [0u8; 32];
    r[0] = 1; // the identity point, compressed
    let public = entry.unsigned.signer.0;
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r)
            .chain_update(public)
            .chain_update(&message),
    );
    let s = k * a;
    unsigned.extend_from_slice(&r);
    unsigned.extend_from_slice(s.as_bytes());
    unsigned
}

fn render(case: &Case) -> String {
    let mut text = format!(
        "# {}\nrefused at: {}\nproblem: {}\nsays: {}\n",
        case.about, case.refused_at, case.problem, case.says
    );
    for e in &case.entries {
        text.push_str(&format!("entry: {}\n", hex::encode(e)));
    }
    text
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/refused")
}

/// The name of a problem's variant, as the files give it.
fn variant(p: &Problem) -> String {
    let debug = format!("{p:?}");
    debug
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// Reads a vector file: where it must stop, with what problem, saying
/// what, and its entries.
fn parse(text: &str) -> (u64, String, String, Vec<Vec<u8>>) {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name}"))
            .trim()
            .to_owned()
    };
    let entries = text
        .lines()
        .filter_map(|l| l.strip_prefix("entry: "))
        .map(|h| hex::decode(h).expect("hex"))
        .collect();
    (
        field("refused at:").parse().expect("a seq"),
        field("problem:"),
        field("says:"),
        entries,
    )
}

#[test]
fn every_refused_vector_is_refused_where_and_why_it_says() {
    let cases = cases();
    if std::env::var_os("TRAIL_WRITE_VECTORS").is_some() {
        for case in &cases {
            std::fs::write(dir().join(format!("{}.txt", case.name)), render(case)).unwrap();
        }
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), cases.len(), "one file per case: {files:?}");
    for case in &cases {
        let path = dir().join(format!("{}.txt", case.name));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            text,
            render(case),
            "{} is not what cases() makes",
            path.display()
        );
        let (refused_at, problem, says, entries) = parse(&text);
        let mut verifier = Verifier::new();
        let mut stopped = None;
        for bytes in entries {
            if let Err(e) = verifier.verify_one(bytes) {
                stopped = Some(e);
                break;
            }
        }
        let e = stopped.unwrap_or_else(|| panic!("{}: every entry verified", case.name));
        assert_eq!(
            (e.seq, variant(&e.problem)),
            (refused_at, problem.clone()),
            "{}: {e}",
            case.name
        );
        assert!(
            e.to_string().contains(&says),
            "{}: {e} does not say {says:?}",
            case.name
        );
        // The same answer when the entries are batch-verified together.
        let e = Verifier::new()
            .verify_chunk(parse(&text).3)
            .expect_err("a chunk holding the bad entry is refused");
        assert_eq!(
            (e.seq, variant(&e.problem)),
            (refused_at, problem.clone()),
            "{}, in a chunk: {e}",
            case.name
        );
    }
}

#[test]
fn plain_batch_verification_would_accept_the_small_order_r() {
    // What makes the vector worth having: the group equation holds.
    let entries = cases()
        .into_iter()
        .find(|c| c.name == "signature-r-small-order")
        .expect("the case")
        .entries;
    let bad = entries.last().expect("the bad entry");
    let entry = Entry::from_bytes(bad).expect("it decodes");
    let message = trail_core::signing_input(&bad[..bad.len() - 64]);
    let sig = ed25519_dalek::Signature::from_bytes(&entry.signature.0);
    let key = ed25519_dalek::VerifyingKey::from_bytes(&entry.unsigned.signer.0).expect("a key");
    assert!(ed25519_dalek::verify_batch(&[message.as_slice()], &[sig], &[key]).is_ok());
    assert!(key.verify_strict(&message, &sig).is_err());
}

#[test]
fn the_valid_start_of_every_vector_verifies() {
    let mut verifier = Verifier::new();
    for entry in valid_start() {
        verifier
            .verify_one(entry.to_bytes())
            .expect("the valid start verifies");
    }
    assert_eq!(verifier.len(), 3);
}
