//! Store-backed proofs against the in-memory reference tree, and the
//! checkpoint, cosignature and proof-file rules.

use std::path::Path;

use super::*;
use crate::event::{Event, KeyGranted, Role};
use crate::keys::SecretKey;
use crate::merkle::tree::{LeafIndex, MemoryStore, TreeSize};
use crate::merkle::{CosignatureSigner, TlogProof, tree};
use crate::store::Log;
use crate::types::{Day, Id};
use crate::{Error, encoding};

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn grant(seed: u8, actor: &str, roles: Vec<Role>) -> Event {
    Event::KeyGranted(KeyGranted {
        actor: Id::new(actor).unwrap(),
        body: format!("Body {actor}"),
        public_key: key(seed).public_key(),
        roles,
        date: Day::of_timestamp(crate::Timestamp::now()),
    })
}

/// Opens the log's sled database directly, to change it behind trail's back.
/// sled's I/O threads can hold the file lock a moment after a handle drops
/// (longer on a loaded machine), so a lock error is retried for a while.
fn open_sled_directly(dir: &Path) -> sled::Db {
    let started = std::time::Instant::now();
    loop {
        match sled::Config::new().path(dir).flush_every_ms(None).open() {
            Ok(db) => return db,
            Err(e) if started.elapsed() < std::time::Duration::from_secs(30) => {
                assert!(e.to_string().contains("could not acquire lock"), "{e}");
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(e) => panic!("{}: {e}", dir.display()),
        }
    }
}

/// A log with an operator (seed 2), a witness "w1" (seed 3) and `extra`
/// further entries.
fn sample_log(dir: &Path, extra: usize) -> Log {
    let admin = key(1);
    let log = Log::create(dir, "sample", &admin, Id::new("admin").unwrap(), "Admin").unwrap();
    log.append(&admin, grant(2, "operator", vec![Role::Operator]))
        .unwrap();
    log.append(&admin, grant(3, "w1", vec![Role::Witness]))
        .unwrap();
    let events = (0..extra)
        .map(|i| grant(10 + i as u8, &format!("actor{i}"), vec![Role::Issuer]))
        .collect();
    log.append_all(&admin, events).unwrap();
    log
}

fn memory_tree(log: &Log) -> MemoryStore {
    let mut memory = MemoryStore::new();
    for entry in log.entries(0, None) {
        let bytes = entry.unwrap().to_bytes();
        memory.push(encoding::merkle_leaf_hash(&bytes)).unwrap();
    }
    memory
}

fn transparency(e: Error) -> TransparencyError {
    match e {
        Error::Transparency(t) => t,
        other => panic!("expected a transparency error, got {other}"),
    }
}

#[test]
fn store_proofs_match_the_reference_tree_for_every_size() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(&dir.path().join("log"), 37);
    assert_eq!(log.tree_size(), 40);
    let memory = memory_tree(&log);
    for size in 0..=40u64 {
        assert_eq!(
            log.tree_root(size).unwrap(),
            tree::root(&memory, TreeSize(size)).unwrap(),
            "root at {size}"
        );
        for seq in 0..size {
            assert_eq!(
                log.inclusion_proof(seq, size).unwrap(),
                tree::inclusion_proof(&memory, LeafIndex(seq), TreeSize(size)).unwrap(),
                "inclusion of {seq} in {size}"
            );
        }
        for old in 0..=size {
            assert_eq!(
                log.consistency_proof(old, size).unwrap(),
                tree::consistency_proof(&memory, TreeSize(old), TreeSize(size)).unwrap(),
                "consistency {old} -> {size}"
            );
        }
    }
    assert!(matches!(
        transparency(log.tree_root(41).unwrap_err()),
        TransparencyError::SizeBeyondLog {
            size: 41,
            log_size: 40
        }
    ));
    assert!(matches!(
        transparency(log.inclusion_proof(5, 5).unwrap_err()),
        TransparencyError::SeqBeyondSize { .. }
    ));
    assert!(log.verify_with(|_| Ok(())).is_ok());
}

#[test]
fn import_builds_the_same_tree_and_verify_catches_a_doctored_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(&dir.path().join("log"), 5);
    let bundle = dir.path().join("b.trail");
    crate::bundle::export(&log, &bundle).unwrap();
    let copy_dir = dir.path().join("copy");
    crate::bundle::import(&bundle, &copy_dir).unwrap();
    let root = log.tree_root(log.tree_size()).unwrap();
    drop(log);
    let copy = Log::open(&copy_dir).unwrap();
    assert_eq!(copy.tree_root(copy.tree_size()).unwrap(), root);
    drop(copy);

    // Alter one stored node behind the log's back.
    let db = open_sled_directly(&copy_dir);
    let tree = db.open_tree("trail").unwrap();
    tree.insert(crate::store::node_key(1, 0), &[7u8; 32][..])
        .unwrap();
    db.flush().unwrap();
    drop(tree);
    drop(db);
    let copy = Log::open(&copy_dir).unwrap();
    let Err(err) = copy.verify_with(|_| Ok(())) else {
        panic!("a doctored tree verified")
    };
    assert!(
        matches!(&err, Error::Damaged(crate::Damage::Tree(m)) if m.contains("level 1, index 0")),
        "{err}"
    );
}

fn signed(log: &Log) -> Note {
    sign_checkpoint(log, &key(2)).unwrap()
}

fn policy(log: &Log, witnesses: Vec<CosignatureVerifier>, quorum: usize) -> Policy {
    Policy::new(log_operators(log).unwrap(), witnesses, quorum).unwrap()
}

fn witness() -> CosignatureSigner {
    witness_signer(&Id::new("w1").unwrap(), &key(3)).unwrap()
}

#[test]
fn checkpoints_are_signed_notes_of_the_log_origin_by_operators_only() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(&dir.path().join("log"), 3);
    let note = signed(&log);
    let parsed = Note::parse(&note.to_bytes()).unwrap();
    let cp = Checkpoint::parse(parsed.text()).unwrap();
    assert_eq!(cp.origin(), log_origin(&log).unwrap());
    assert!(cp.origin().starts_with("trail/") && cp.origin().len() == 6 + 64);
    assert_eq!(cp.size(), TreeSize(6));
    assert_eq!(*cp.root(), log.tree_root(6).unwrap());
    assert_eq!(parsed.signatures()[0].name(), cp.origin());
    check_against_log(&log, &note.to_bytes()).unwrap();
    verify_checkpoint(&parsed, &policy(&log, vec![], 0)).unwrap();

    for not_operator in [key(1), key(3), key(99)] {
        assert!(matches!(
            transparency(sign_checkpoint(&log, &not_operator).unwrap_err()),
            TransparencyError::NotOperator { .. }
        ));
    }
}

#[test]
fn inclusion_proof_files_verify_and_every_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(&dir.path().join("log"), 9);
    let note = signed(&log);
    let size = log.tree_size();
    let entry = log.entries(4, Some(4)).next().unwrap().unwrap().to_bytes();
    let proof = TlogProof {
        extra: Some(entry.clone()),
        index: LeafIndex(4),
        path: log.inclusion_proof(4, size).unwrap(),
        checkpoint: note,
    };
    let bytes = proof.to_bytes();
    let p = policy(&log, vec![], 0);
    let ok = verify_inclusion(&bytes, None, &p).unwrap();
    assert_eq!(ok.entry.unsigned.seq, 4);
    verify_inclusion(&bytes, Some(&entry), &p).unwrap();

    let other = log.entries(5, Some(5)).next().unwrap().unwrap().to_bytes();
    assert!(matches!(
        verify_inclusion(&bytes, Some(&other), &p).unwrap_err(),
        TransparencyError::EntryMismatch {
            expected: 4,
            found: 5
        }
    ));
    // The proof's copy altered: refused even though the entry given is right.
    let mut altered = proof.clone();
    let copy = altered.extra.as_mut().unwrap();
    let last = copy.len() - 1;
    copy[last] ^= 1;
    assert!(matches!(
        verify_inclusion(&altered.to_bytes(), Some(&entry), &p).unwrap_err(),
        TransparencyError::AlteredEntryCopy { seq: 4 }
    ));
    let mut wrong_path = proof.clone();
    wrong_path.path[0].0[0] ^= 1;
    assert!(matches!(
        verify_inclusion(&wrong_path.to_bytes(), None, &p).unwrap_err(),
        TransparencyError::BadProof(_)
    ));
    let mut short = proof.clone();
    short.path.pop();
    assert!(matches!(
        verify_inclusion(&short.to_bytes(), None, &p).unwrap_err(),
        TransparencyError::BadProof(_)
    ));
    // Flipping any single byte of the file must be refused.
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        let err = verify_inclusion(&t, None, &p).expect_err("a changed byte must not verify");
        assert!(err.is_verification_failure(), "byte {i}: {err}");
    }
}

#[test]
fn quorum_counts_only_valid_trusted_cosignatures() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(&dir.path().join("log"), 2);
    let note = signed(&log);
    let w1 = witness();
    let w2 = CosignatureSigner::new("w2", ed25519_dalek::SigningKey::from_bytes(&[4; 32])).unwrap();
    let ops = log_operators(&log).unwrap();
    let once = cosign(&note, &ops, &w1, None, 1_700_000_000).unwrap();
    let both = cosign(&once, &ops, &w2, None, 1_700_000_001).unwrap();
    let witnesses = vec![w1.verifier(), w2.verifier()];
    let two = policy(&log, witnesses.clone(), 2);
    assert_eq!(
        verify_checkpoint(&both, &two).unwrap().witnesses,
        ["w1", "w2"]
    );
    assert_eq!(
        verify_checkpoint(&once, &two).unwrap_err(),
        TransparencyError::QuorumShort { needed: 2, got: 1 }
    );
    // A forged cosignature (w2's line moved onto another checkpoint) is refused outright.
    let forged_line = both.signatures().last().unwrap().clone();
    let other_log = sample_log(&dir.path().join("other"), 3);
    let mut forged = sign_checkpoint(&other_log, &key(2)).unwrap();
    forged.add_signature(forged_line).unwrap();
    let p = Policy::new(log_operators(&other_log).unwrap(), witnesses, 1).unwrap();
    assert!(matches!(
        verify_checkpoint(&forged, &p).unwrap_err(),
        TransparencyError::ForgedSignature { name } if name == "w2"
    ));
    assert!(Policy::new(ops, vec![w1.verifier()], 2).is_err());
}

#[test]
fn witnesses_refuse_forks_and_rollbacks() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample_log(&dir.path().join("a"), 2);
    let bundle = dir.path().join("prefix.trail");
    crate::bundle::export(&a, &bundle).unwrap();
    crate::bundle::import(&bundle, &dir.path().join("b")).unwrap();
    let b = Log::open(&dir.path().join("b")).unwrap();
    let old = cosign_with_log(&a, &key(3), &signed(&a).to_bytes(), None, 1).unwrap();

    // Both grow differently from the shared prefix.
    a.append(&key(1), grant(50, "only-a", vec![Role::Funder]))
        .unwrap();
    b.append(&key(1), grant(51, "only-b", vec![Role::Funder]))
        .unwrap();
    let b_same = signed(&b);
    b.append(&key(1), grant(52, "only-b2", vec![Role::Funder]))
        .unwrap();
    let a_new = signed(&a);
    let b_new = signed(&b);
    let a_cosigned =
        cosign_with_log(&a, &key(3), &a_new.to_bytes(), Some(&old.to_bytes()), 2).unwrap();
    let a_cosigned_bytes = a_cosigned.to_bytes();

    // b's newer checkpoint extends the shared prefix, so it is consistent
    // with `old`, but a witness that cosigned a's longer tree sees the fork.
    cosign_with_log(&b, &key(3), &b_new.to_bytes(), Some(&old.to_bytes()), 3).unwrap();
    let err = transparency(
        cosign_with_log(&b, &key(3), &b_new.to_bytes(), Some(&a_cosigned_bytes), 3).unwrap_err(),
    );
    assert!(matches!(&err, TransparencyError::Fork(_)), "{err}");
    assert!(err.to_string().starts_with("fork:"));

    // Two signed checkpoints of one size with different roots, with no log.
    let (_, a6) = parse_checkpoint_note(&a_new.to_bytes()).unwrap();
    let (_, b6) = parse_checkpoint_note(&b_same.to_bytes()).unwrap();
    let (_, b7) = parse_checkpoint_note(&b_new.to_bytes()).unwrap();
    assert_eq!(a6.size(), b6.size());
    let err = check_consistent(&a6, &b6, &[]).unwrap_err();
    assert!(
        matches!(&err, TransparencyError::Fork(f) if f.kind == ForkKind::SameSize),
        "{err}"
    );
    assert!(matches!(
        check_consistent(&b7, &a6, &[]).unwrap_err(),
        TransparencyError::RolledBack { old: 7, new: 6 }
    ));

    // verify --since: a's checkpoint against b's log is a fork.
    let err = transparency(check_against_log(&b, &a_new.to_bytes()).unwrap_err());
    assert!(matches!(err, TransparencyError::Fork(_)), "{err}");
    // An older, genuine checkpoint of the shared prefix is fine.
    check_against_log(&b, &old.to_bytes()).unwrap();
    // A rollback: a witness never cosigns an older tree than it already did.
    let err = transparency(
        cosign_with_log(&a, &key(3), &old.to_bytes(), Some(&a_cosigned_bytes), 4).unwrap_err(),
    );
    assert!(matches!(err, TransparencyError::RolledBack { .. }), "{err}");
    // Only a witness key may cosign.
    assert!(matches!(
        transparency(cosign_with_log(&a, &key(2), &a_new.to_bytes(), None, 5).unwrap_err()),
        TransparencyError::NotWitness { .. }
    ));
}

#[test]
fn consistency_files_round_trip_and_report_forks() {
    let dir = tempfile::tempdir().unwrap();
    let log = sample_log(&dir.path().join("log"), 4);
    let old = signed(&log);
    for i in 0..5 {
        log.append(
            &key(1),
            grant(60 + i, &format!("late{i}"), vec![Role::Funder]),
        )
        .unwrap();
    }
    let new = signed(&log);
    let file = ConsistencyProofFile {
        proof: log.consistency_proof(7, 12).unwrap(),
        old: old.clone(),
        new: new.clone(),
    };
    let bytes = file.to_bytes();
    assert_eq!(ConsistencyProofFile::parse(&bytes).unwrap(), file);
    let p = policy(&log, vec![], 0);
    let (o, n) = verify_consistency_file(&bytes, &p).unwrap();
    assert_eq!(
        (o.checkpoint.size(), n.checkpoint.size()),
        (TreeSize(7), TreeSize(12))
    );

    let mut altered = file.clone();
    altered.proof[0].0[5] ^= 0x80;
    let err = verify_consistency_file(&altered.to_bytes(), &p).unwrap_err();
    assert!(matches!(err, TransparencyError::Fork(_)), "{err}");
    let mut short = file.clone();
    short.proof.pop();
    assert!(matches!(
        verify_consistency_file(&short.to_bytes(), &p).unwrap_err(),
        TransparencyError::BadProof(_)
    ));
    for i in 0..bytes.len() {
        let mut t = bytes.clone();
        t[i] ^= 0x01;
        assert!(verify_consistency_file(&t, &p).is_err(), "byte {i}");
    }
}

#[test]
fn a_log_without_a_tree_gets_one_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log");
    let log = sample_log(&path, 6);
    let root = log.tree_root(log.tree_size()).unwrap();
    drop(log);
    let db = open_sled_directly(&path);
    let tree = db.open_tree("trail").unwrap();
    for key in tree.scan_prefix(b"t:").keys() {
        tree.remove(key.unwrap()).unwrap();
    }
    db.flush().unwrap();
    drop(tree);
    drop(db);
    let log = Log::open(&path).unwrap();
    assert_eq!(log.tree_root(log.tree_size()).unwrap(), root);
    assert!(log.verify_with(|_| Ok(())).is_ok());
}

#[test]
fn bundles_carry_the_latest_checkpoint_and_a_forked_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample_log(&dir.path().join("a"), 2);
    crate::bundle::export(&a, &dir.path().join("prefix.trail")).unwrap();
    crate::bundle::import(&dir.path().join("prefix.trail"), &dir.path().join("b")).unwrap();
    let b = Log::open(&dir.path().join("b")).unwrap();
    a.append(&key(1), grant(70, "only-a", vec![Role::Funder]))
        .unwrap();
    b.append(&key(1), grant(71, "only-b", vec![Role::Funder]))
        .unwrap();
    let a_note = signed(&a);
    let cosigned = cosign_with_log(&a, &key(3), &a_note.to_bytes(), None, 9).unwrap();
    assert_eq!(a.latest_checkpoint().unwrap(), Some(cosigned.to_bytes()));

    // Export carries it; verification checks it; import keeps it.
    let bundle = dir.path().join("a.trail");
    crate::bundle::export(&a, &bundle).unwrap();
    let file = std::fs::File::open(&bundle).unwrap();
    let (_, kept) = crate::bundle::verify_reader_with_checkpoint(file, |_, _| Ok(())).unwrap();
    let kept = kept.expect("the bundle carries the checkpoint");
    assert_eq!(kept.note, cosigned.to_bytes());
    assert_eq!(kept.checkpoint.size(), TreeSize(6));
    crate::bundle::import(&bundle, &dir.path().join("a2")).unwrap();
    let a2 = Log::open(&dir.path().join("a2")).unwrap();
    assert_eq!(a2.latest_checkpoint().unwrap(), Some(cosigned.to_bytes()));

    // b's entries with a's checkpoint: a fork, refused at verification.
    let forged = dir.path().join("forged.trail");
    let out = std::fs::File::create(&forged).unwrap();
    let mut writer = crate::bundle::BundleWriter::new(out).unwrap();
    writer.checkpoint(&cosigned.to_bytes()).unwrap();
    b.verify_with(|chunk| {
        for e in chunk {
            writer.entry(e).unwrap();
        }
        Ok(())
    })
    .map(|_| ())
    .unwrap();
    writer.finish().unwrap();
    let err = crate::bundle::verify_file(&forged).map(|_| ()).unwrap_err();
    assert!(
        matches!(&err, Error::Transparency(TransparencyError::Fork(_))),
        "{err}"
    );
}

#[test]
fn only_a_key_holding_the_operator_role_at_the_size_may_sign_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // The operator key (seed 2) is granted at seq 1, so it held the role
    // from the tree of 2 entries on.
    let log = sample_log(&dir.path().join("log"), 3);
    let operator = key(2);
    let before_grant = crate::transparency::sign_checkpoint_at(&log, &operator, 1).unwrap();
    assert!(matches!(
        transparency(check_against_log(&log, &before_grant.to_bytes()).unwrap_err()),
        TransparencyError::NoOperatorSignature { .. }
    ));
    let after_grant = crate::transparency::sign_checkpoint_at(&log, &operator, 2).unwrap();
    check_against_log(&log, &after_grant.to_bytes()).unwrap();
    // Revoked at seq 6: a checkpoint of 6 entries (seqs 0-5) still counts,
    // one that holds the revocation does not.
    let revoke = crate::event::Event::KeyRevoked(crate::event::KeyRevoked {
        public_key: operator.public_key(),
        reason: "left".into(),
        date: crate::types::Day::new(2026, 1, 1).unwrap(),
    });
    let size_before = log.tree_size();
    let while_held = crate::transparency::sign_checkpoint_at(&log, &operator, size_before).unwrap();
    log.append(&key(1), revoke).unwrap();
    check_against_log(&log, &while_held.to_bytes()).unwrap();
    let checkpoint = Checkpoint::new(
        &crate::transparency::log_origin(&log).unwrap(),
        TreeSize(log.tree_size()),
        log.tree_root(log.tree_size()).unwrap(),
    )
    .unwrap();
    let origin = crate::transparency::log_origin(&log).unwrap();
    let after_revocation = checkpoint
        .sign(&crate::transparency::operator_signer(&origin, &operator).unwrap())
        .unwrap();
    assert!(matches!(
        transparency(check_against_log(&log, &after_revocation.to_bytes()).unwrap_err()),
        TransparencyError::NoOperatorSignature { .. }
    ));
}
