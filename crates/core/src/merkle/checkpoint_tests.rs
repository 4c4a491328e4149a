//! Tests for `checkpoint.rs`, including the published C2SP example.

use super::*;
use crate::merkle::hash::leaf_hash;
use crate::merkle::keys::NoteSigner;
use ed25519_dalek::SigningKey;

// The example checkpoint of c2sp.org/tlog-checkpoint and tlog-cosignature.
const C2SP_BODY: &str =
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
const C2SP_LOG_SIG: &str = "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
const C2SP_COSIG: &str = "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";

fn log_signer() -> NoteSigner {
    NoteSigner::new("example.com/log", SigningKey::from_bytes(&[1; 32])).unwrap()
}

#[test]
fn c2sp_example_parses_and_round_trips() {
    let cp = Checkpoint::parse(C2SP_BODY).unwrap();
    assert_eq!(cp.origin(), "example.com/behind-the-sofa");
    assert_eq!(cp.size(), TreeSize(20852163));
    assert_eq!(
        cp.root().to_base64(),
        "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I="
    );
    assert!(cp.extensions().is_empty());
    assert_eq!(cp.to_text(), C2SP_BODY);

    // The whole signed example is a well-formed note; with no trusted keys
    // both signatures are ignored and the checkpoint is refused.
    let msg = format!("{C2SP_BODY}\n{C2SP_LOG_SIG}{C2SP_COSIG}");
    let note = Note::parse(msg.as_bytes()).unwrap();
    assert_eq!(note.text(), C2SP_BODY);
    assert_eq!(note.signatures()[1].key_id(), 0x8d66cf3f);
    assert_eq!(
        Checkpoint::open(
            msg.as_bytes(),
            "example.com/behind-the-sofa",
            &VerifierSet::new()
        ),
        Err(CheckpointError::Note(NoteError::NoVerifiedSignatures {
            ignored: 2
        }))
    );
}

#[test]
fn parse_errors() {
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let short = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxqw==";
    let cases: Vec<(String, CheckpointError)> = vec![
        (String::new(), CheckpointError::MissingFinalNewline),
        (
            format!("o\n1\n{root}"),
            CheckpointError::MissingFinalNewline,
        ),
        ("\n".into(), CheckpointError::MissingLine("tree size")),
        ("o\n".into(), CheckpointError::MissingLine("tree size")),
        ("o\n1\n".into(), CheckpointError::MissingLine("root hash")),
        (format!("\n1\n{root}\n"), CheckpointError::EmptyOrigin),
        (
            format!("o\n01\n{root}\n"),
            CheckpointError::InvalidSize("leading zero"),
        ),
        (
            format!("o\n00\n{root}\n"),
            CheckpointError::InvalidSize("leading zero"),
        ),
        (
            format!("o\n+1\n{root}\n"),
            CheckpointError::InvalidSize("not decimal digits"),
        ),
        (
            format!("o\n-1\n{root}\n"),
            CheckpointError::InvalidSize("not decimal digits"),
        ),
        (
            format!("o\n 1\n{root}\n"),
            CheckpointError::InvalidSize("not decimal digits"),
        ),
        (
            format!("o\n\n{root}\n"),
            CheckpointError::InvalidSize("empty"),
        ),
        (
            format!("o\n18446744073709551616\n{root}\n"),
            CheckpointError::InvalidSize("does not fit in 64 bits"),
        ),
        (format!("o\n1\n{short}\n"), CheckpointError::InvalidRoot),
        ("o\n1\nnot base64!\n".into(), CheckpointError::InvalidRoot),
        (format!("o\n1\n{root} \n"), CheckpointError::InvalidRoot),
        (
            format!("o\n1\n{root}\n\n"),
            CheckpointError::EmptyExtension(1),
        ),
        (
            format!("o\n1\n{root}\next\n\n"),
            CheckpointError::EmptyExtension(2),
        ),
        (
            format!("o\r\n1\n{root}\n"),
            CheckpointError::ControlCharacter,
        ),
        (
            format!("o\n1\n{root}\nex\tt\n"),
            CheckpointError::ControlCharacter,
        ),
    ];
    for (text, want) in cases {
        assert_eq!(Checkpoint::parse(&text), Err(want), "{text:?}");
    }
    assert_eq!(
        Checkpoint::parse(&format!("o\n0\n{root}\n")).map(|c| c.size()),
        Ok(TreeSize(0))
    );
    assert_eq!(
        Checkpoint::parse(&format!("o\n18446744073709551615\n{root}\n")).map(|c| c.size()),
        Ok(TreeSize(u64::MAX))
    );
    assert_eq!(
        Checkpoint::parse(&"a".repeat(MAX_NOTE_SIZE + 1)),
        Err(CheckpointError::TooLarge)
    );
}

#[test]
fn constructor_rejects_bad_fields() {
    let r = leaf_hash(b"r");
    assert_eq!(
        Checkpoint::new("", TreeSize(1), r),
        Err(CheckpointError::EmptyOrigin)
    );
    assert_eq!(
        Checkpoint::new("a\nb", TreeSize(1), r),
        Err(CheckpointError::ControlCharacter)
    );
    let cp = Checkpoint::new("o", TreeSize(1), r).unwrap();
    assert_eq!(
        cp.clone().with_extensions(vec!["".into()]),
        Err(CheckpointError::EmptyExtension(1))
    );
    assert_eq!(
        cp.with_extensions(vec!["x\ny".into()]),
        Err(CheckpointError::ControlCharacter)
    );
}

#[test]
fn sign_and_open_round_trip_with_extensions() {
    let signer = log_signer();
    let cp = Checkpoint::new("example.com/log", TreeSize(42), leaf_hash(b"root"))
        .unwrap()
        .with_extensions(vec!["ext one".into(), "— looks like a sig".into()])
        .unwrap();
    let bytes = cp.sign(&signer).unwrap().to_bytes();
    let known = VerifierSet::new().with(signer.verifier()).unwrap();
    let (back, v) = Checkpoint::open(&bytes, "example.com/log", &known).unwrap();
    assert_eq!(back, cp);
    assert!(v.is_signed_by("example.com/log", signer.key_id()));

    assert!(matches!(
        Checkpoint::open(&bytes, "example.com/other", &known),
        Err(CheckpointError::OriginMismatch { .. })
    ));
    let tampered = String::from_utf8(bytes)
        .unwrap()
        .replace("\n42\n", "\n43\n");
    assert!(matches!(
        Checkpoint::open(tampered.as_bytes(), "example.com/log", &known),
        Err(CheckpointError::Note(NoteError::BadSignature { .. }))
    ));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_never_panics(text in "[a-z0-9+/=\n ]{0,120}") {
            if let Ok(cp) = Checkpoint::parse(&text) {
                // Strict parsing means exactly one spelling per checkpoint.
                prop_assert_eq!(cp.to_text(), text);
            }
        }

        #[test]
        fn format_then_parse_is_identity(
            origin in "[!-~]{1,40}", size in any::<u64>(), root in any::<[u8; 32]>(),
            ext in proptest::collection::vec("[ -~]{1,20}", 0..3)
        ) {
            let cp = Checkpoint::new(&origin, TreeSize(size), Hash(root))
                .unwrap()
                .with_extensions(ext)
                .unwrap();
            prop_assert_eq!(Checkpoint::parse(&cp.to_text()), Ok(cp));
        }
    }
}

#[test]
fn extension_lines_may_hold_del_but_not_characters_below_u0020() {
    let root = crate::merkle::hash::EMPTY_ROOT;
    let with = |line: &str| {
        Checkpoint::new("example.org/log", TreeSize(0), root)
            .unwrap()
            .with_extensions(vec![line.to_owned()])
    };
    assert!(with("ext\u{7f}ok").is_ok());
    assert!(with("caf\u{e9}").is_ok());
    assert!(matches!(
        with("tab\there"),
        Err(CheckpointError::ControlCharacter)
    ));
    assert!(matches!(
        with("bell\u{7}"),
        Err(CheckpointError::ControlCharacter)
    ));
}
