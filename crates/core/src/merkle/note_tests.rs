//! Tests for `note.rs`, anchored on the published vectors of
//! golang.org/x/mod/sumdb/note (note.go docs and note_test.go TestSign /
//! TestOpen) so interoperability with Go is checked, not assumed.

use super::*;
use crate::merkle::keys::{NoteSigner, NoteVerifier};
use ed25519_dalek::SigningKey;

const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                    then you don't know what your problem is.\n";
const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

fn peter() -> VerifierSet {
    VerifierSet::new()
        .with(NoteVerifier::from_vkey(PETER_VKEY).unwrap())
        .unwrap()
}

fn msg(parts: &[&str]) -> Vec<u8> {
    parts.concat().into_bytes()
}

#[test]
fn signing_reproduces_go_output_byte_for_byte() {
    let signer = NoteSigner::from_skey(PETER_SKEY).unwrap();
    let mut note = Note::new(TEXT).unwrap();
    note.sign(&signer).unwrap();
    assert_eq!(note.to_bytes(), msg(&[TEXT, "\n", PETER_SIG]));
    // Re-signing replaces the earlier signature from the same key.
    note.sign(&signer).unwrap();
    assert_eq!(note.signatures().len(), 1);
}

#[test]
fn go_open_cases() {
    let both = msg(&[TEXT, "\n", PETER_SIG, ENOCH_SIG]);
    let note = Note::parse(&both).unwrap();
    assert_eq!(note.text(), TEXT);
    assert_eq!(note.to_bytes(), both);

    let v = note.verify(&peter()).unwrap();
    assert_eq!(v.verified.len(), 1);
    assert!(v.is_signed_by("PeterNeumann", 0xc74f20a3));
    assert_eq!(v.ignored.len(), 1);
    assert_eq!(v.ignored[0].name(), "EnochRoot");
    assert_eq!(v.ignored[0].key_id(), 0xaf0cfe78);

    let all = peter()
        .with(NoteVerifier::from_vkey(ENOCH_VKEY).unwrap())
        .unwrap();
    let v = note.verify(&all).unwrap();
    assert_eq!(v.verified.len(), 2);
    assert!(v.ignored.is_empty());

    assert_eq!(
        note.verify(&VerifierSet::new()),
        Err(NoteError::NoVerifiedSignatures { ignored: 2 })
    );
}

#[test]
fn duplicates_and_unknown_corrupt_signatures() {
    // Go TestOpen "Duplicated verified and unverified signatures".
    let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
    let m = msg(&[
        TEXT,
        "\n",
        PETER_SIG,
        PETER_SIG,
        ENOCH_SIG,
        ENOCH_SIG,
        &enoch_abcd,
    ]);
    let v = Note::parse(&m).unwrap().verify(&peter()).unwrap();
    assert_eq!(v.verified.len(), 1);
    assert_eq!(v.ignored.len(), 2);
}

#[test]
fn bad_signature_from_known_key_rejects_note() {
    let forged = format!("{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
    let note = Note::parse(&msg(&[TEXT, "\n", &forged])).unwrap();
    assert_eq!(
        note.verify(&peter()),
        Err(NoteError::BadSignature {
            name: "PeterNeumann".into(),
            key_id: 0xc74f20a3
        })
    );
    // A valid line does not excuse a forged duplicate from the same key.
    let note = Note::parse(&msg(&[TEXT, "\n", PETER_SIG, &forged])).unwrap();
    assert!(matches!(
        note.verify(&peter()),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn forged_signature_under_known_name_and_id_rejected() {
    let mallory = NoteSigner::new("PeterNeumann", SigningKey::from_bytes(&[9; 32])).unwrap();
    let sig = mallory.sign_text(TEXT);
    let claimed = NoteSignature::new("PeterNeumann", 0xc74f20a3, sig.signature().to_vec()).unwrap();
    let mut note = Note::new(TEXT).unwrap();
    note.add_signature(claimed).unwrap();
    let reparsed = Note::parse(&note.to_bytes()).unwrap();
    assert!(matches!(
        reparsed.verify(&peter()),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn tampered_body_rejected() {
    let tampered = TEXT.replace("answer", "amswer");
    let note = Note::parse(&msg(&[&tampered, "\n", PETER_SIG])).unwrap();
    assert!(matches!(
        note.verify(&peter()),
        Err(NoteError::BadSignature { .. })
    ));
}

#[test]
fn go_malformed_messages_rejected() {
    let bad_name = "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=";
    let cases: Vec<Vec<u8>> = vec![
        msg(&[TEXT]),
        msg(&[TEXT, "\n"]),
        msg(&[TEXT, "\n", &PETER_SIG[..PETER_SIG.len() - 1]]),
        msg(&["\x01", TEXT, "\n", PETER_SIG]),
        [b"\xff".as_slice(), &msg(&[TEXT, "\n", PETER_SIG])].concat(),
        msg(&[TEXT, "\n", bad_name]),
        msg(&[TEXT, "\n", bad_name, "\n"]),
        msg(&[TEXT, "\n", PETER_SIG, "Unexpected line.\n"]),
    ];
    for m in cases {
        assert!(
            Note::parse(&m).is_err(),
            "{:?}",
            String::from_utf8_lossy(&m)
        );
    }
}

#[test]
fn limits_are_enforced() {
    let many = msg(&[TEXT, "\n", &PETER_SIG.repeat(MAX_SIGNATURES + 1)]);
    assert_eq!(
        Note::parse(&many),
        Err(NoteError::TooManySignatures {
            max: MAX_SIGNATURES
        })
    );
    assert!(Note::parse(&msg(&[TEXT, "\n", &PETER_SIG.repeat(MAX_SIGNATURES)])).is_ok());
    let huge = vec![b'a'; MAX_NOTE_SIZE + 1];
    assert!(matches!(
        Note::parse(&huge),
        Err(NoteError::TooLarge { .. })
    ));
    assert!(matches!(
        Note::new("a".repeat(MAX_NOTE_SIZE) + "\n"),
        Err(NoteError::TooLarge { .. })
    ));
}

#[test]
fn signature_line_errors_are_specific() {
    let cases = [
        ("- PeterNeumann AAAAAAA=", "missing em dash prefix"),
        ("— PeterNeumann", "missing space"),
        ("— a+b AAAAAAA=", "invalid key name"),
        ("— PeterNeumann !!!!", "invalid base64"),
        ("— PeterNeumann AAAA", "shorter than key ID"),
        ("— PeterNeumann AAAAAA==", "no signature bytes"),
        ("— PeterNeumann ", "shorter than key ID"),
    ];
    for (line, reason) in cases {
        assert_eq!(
            NoteSignature::parse_line(line),
            Err(NoteError::MalformedSignature { line: 1, reason }),
            "{line}"
        );
    }
}

#[test]
fn text_rules() {
    assert_eq!(Note::new(""), Err(NoteError::InvalidText));
    assert_eq!(Note::new("no newline"), Err(NoteError::InvalidText));
    assert_eq!(
        Note::new("tab\there\n"),
        Err(NoteError::ControlCharacter { offset: 3 })
    );
    // Text may contain blank lines, even at its end: the split is at the last one.
    let signer = NoteSigner::generate("k", &mut rand_core::OsRng).unwrap();
    for text in ["\n", "a\n\nb\n", "a\n\n", "x\n\n— k AAAAAAA=\n"] {
        let mut n = Note::new(text).unwrap();
        n.sign(&signer).unwrap();
        let parsed = Note::parse(&n.to_bytes()).unwrap();
        assert_eq!(parsed, n);
        let set = VerifierSet::new().with(signer.verifier()).unwrap();
        assert!(parsed.verify(&set).is_ok());
    }
}

#[test]
fn duplicate_verifiers_refused() {
    let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
    assert!(matches!(
        peter().with(v),
        Err(NoteError::DuplicateVerifier { .. })
    ));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Note::parse(&bytes);
        }

        #[test]
        fn parse_never_panics_on_near_notes(prefix in "[a-z\n]{0,20}", tail in "[— a-zA-Z0-9+/=\n]{0,80}") {
            let m = format!("{prefix}\n\n{tail}");
            if let Ok(n) = Note::parse(m.as_bytes()) {
                prop_assert_eq!(Note::parse(&n.to_bytes()), Ok(n.clone()));
                let _ = n.verify(&peter());
            }
        }
    }
}

#[test]
fn an_unknown_signer_named_with_del_or_u0080_is_ignored_not_refused() {
    // c2sp.org/signed-note: unknown signatures must be ignored, and key
    // names exclude only whitespace and '+'.
    for name in ["Odd\u{7f}Name", "Odd\u{80}Name"] {
        let stranger = format!("— {name} AAAAAQID\n");
        let note = Note::parse(&msg(&[TEXT, "\n", PETER_SIG, &stranger])).unwrap();
        let v = note.verify(&peter()).unwrap();
        assert!(v.is_signed_by("PeterNeumann", 0xc74f20a3));
        assert_eq!(v.ignored.len(), 1, "{name:?}");
        assert_eq!(v.ignored[0].name(), name);
    }
}
