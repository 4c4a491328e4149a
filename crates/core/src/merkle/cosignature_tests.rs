//! Tests for `cosignature.rs`, checked against the published C2SP and
//! transparency-dev/formats examples where they exist.

use super::*;
use crate::merkle::hash::leaf_hash;
use crate::merkle::keys::{NoteSigner, NoteVerifier};
use crate::merkle::note::{Note, VerifierSet};
use crate::merkle::tree::TreeSize;

const C2SP_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

fn witness() -> CosignatureSigner {
    CosignatureSigner::new("witness.example/w1", SigningKey::from_bytes(&[4; 32])).unwrap()
}

fn checkpoint() -> Checkpoint {
    Checkpoint::new("example.com/log", TreeSize(7), leaf_hash(b"root")).unwrap()
}

#[test]
fn signed_message_matches_the_spec_example() {
    // c2sp.org/tlog-cosignature, "Ed25519 signed message" example.
    let want = "cosignature/v1\ntime 1679315147\n\
                example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    assert_eq!(
        cosigned_message(C2SP_BODY.as_bytes(), 1679315147),
        want.as_bytes()
    );
}

#[test]
fn published_timestamps_decode() {
    // The spec's example cosignature line carries time 1679315147, the
    // time used in its example message.
    let line = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==";
    let sig = NoteSignature::parse_line(line).unwrap();
    assert_eq!(cosignature_timestamp(&sig), Ok(1679315147));
    // transparency-dev/formats note/note_cosigv1_test.go TestCosignatureTimestamp.
    let line = "— w ZGhGuQAAAABm/qTPeyKXD+R2rzyQsxPiP8mXum7qq/iF0u4vanlqJyocWODBt97w9uL+8qT7S5gxEHWWOworDcFiEBYJXORmnFBOBA==";
    let sig = NoteSignature::parse_line(line).unwrap();
    assert_eq!(
        cosignature_timestamp(&sig),
        Ok(1727964367),
        "from {}",
        crate::merkle::reference::KAT_NOTE_SOURCE
    );
    // A plain Ed25519 signature (no timestamp) is not a cosignature.
    let line = "— w eQjRQm6eSKzFoiYalgwCPXu2y3ijtg68is9M46JKxuZB+dRfTmeQeDBoXnvxZx2ugnkyV+MUMLXpWs1hPb/W/4xkNQY=";
    let sig = NoteSignature::parse_line(line).unwrap();
    assert_eq!(
        cosignature_timestamp(&sig),
        Err(NoteError::InvalidTimestamp)
    );
}

#[test]
fn published_type_04_vkey_round_trips() {
    // transparency-dev/formats note/note_cosigv1_test.go TestCoSigV1NewVerifier.
    let vkey = "remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2";
    let v = CosignatureVerifier::from_vkey(vkey).unwrap();
    assert_eq!(v.key_id(), 0xda77ade7);
    assert_eq!(v.vkey(), vkey);
    // A type-0x01 key is not a cosigner key.
    let plain = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert_eq!(
        CosignatureVerifier::from_vkey(plain),
        Err(NoteError::UnknownKeyType(0x01))
    );
}

#[test]
fn log_signature_and_cosignature_verify_together() {
    let log = NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap();
    let w = witness();
    let cp = checkpoint();
    let mut note = cp.sign(&log).unwrap();
    note.add_signature(w.cosign(&cp, 1_700_000_000).unwrap())
        .unwrap();
    let bytes = note.to_bytes();

    let known = VerifierSet::new()
        .with(log.verifier())
        .unwrap()
        .with(CosignatureVerifier::from_vkey(&w.verifier().vkey()).unwrap())
        .unwrap();
    let (back, v) = Checkpoint::open(&bytes, "example.com/log", &known).unwrap();
    assert_eq!(back, cp);
    assert_eq!(v.verified.len(), 2);
    assert_eq!(v.verified[0].timestamp, None);
    assert_eq!(v.verified[1].timestamp, Some(1_700_000_000));
}

#[test]
fn cosignature_covers_timestamp_body_and_extensions() {
    let w = witness();
    let cp = checkpoint()
        .with_extensions(vec!["Extendo".into()])
        .unwrap();
    let sig = w.cosign(&cp, 5).unwrap();
    let v = w.verifier();
    let text = cp.to_text();
    assert!(matches!(
        v.verify(text.as_bytes(), sig.signature()),
        Verdict::Valid { .. }
    ));

    let mut bumped = sig.signature().to_vec();
    bumped[7] ^= 1; // timestamp 5 -> 4
    assert_eq!(v.verify(text.as_bytes(), &bumped), Verdict::Invalid);
    let other_ext = text.replace("Extendo", "Extendp");
    assert_eq!(
        v.verify(other_ext.as_bytes(), sig.signature()),
        Verdict::Invalid
    );
    assert_eq!(
        v.verify(text.as_bytes(), &sig.signature()[..71]),
        Verdict::Invalid
    );
}

#[test]
fn cosignature_is_not_a_plain_note_signature() {
    // Same Ed25519 key under type 0x01: different key ID, so the cosignature
    // is ignored rather than misread, and the note has no trusted signature.
    let w = witness();
    let cp = checkpoint();
    let mut note = Note::new(cp.to_text()).unwrap();
    note.add_signature(w.cosign(&cp, 1).unwrap()).unwrap();
    let plain = NoteVerifier::new(w.name(), *w.verifier().verifying_key()).unwrap();
    assert_ne!(plain.key_id(), w.key_id());
    let known = VerifierSet::new().with(plain).unwrap();
    assert_eq!(
        note.verify(&known),
        Err(NoteError::NoVerifiedSignatures { ignored: 1 })
    );
}

#[test]
fn timestamp_bounds() {
    let w = witness();
    let cp = checkpoint();
    assert_eq!(
        w.cosign(&cp, MAX_TIMESTAMP + 1),
        Err(NoteError::InvalidTimestamp)
    );
    let sig = w.cosign(&cp, MAX_TIMESTAMP).unwrap();
    assert_eq!(cosignature_timestamp(&sig), Ok(MAX_TIMESTAMP));
    let mut high = sig.signature().to_vec();
    high[0] |= 0x80;
    let v = w.verifier();
    assert_eq!(v.verify(cp.to_text().as_bytes(), &high), Verdict::Invalid);
    assert!(!format!("{w:?}").contains("key:"));
}
