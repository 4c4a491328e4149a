//! `export_partial` saves the verified prefix of a damaged log, up to the
//! first bad entry, as a bundle that verifies on its own.

use trail_core::bundle::{export_partial, verify_file};
use trail_core::event::{AccountabilitySession, KeyGranted};
use trail_core::{Day, Error, Event, Id, Log, Role, SecretKey};

#[path = "common/segments.rs"]
mod segments;

fn build(dir: &std::path::Path) {
    let admin = SecretKey::from_seed(&[1; 32]);
    let funder = SecretKey::from_seed(&[2; 32]);
    let log = Log::create(dir, "partial", &admin, Id::new("admin").unwrap(), "Admin").unwrap();
    let date = Day::new(2022, 1, 1).unwrap();
    log.append(
        &admin,
        Event::KeyGranted(KeyGranted {
            actor: Id::new("pcc").unwrap(),
            body: "PCC".into(),
            public_key: funder.public_key(),
            roles: vec![Role::Funder],
            date,
        }),
    )
    .unwrap();
    let sessions = (0..18)
        .map(|n| {
            Event::AccountabilitySession(AccountabilitySession {
                forum: format!("Board {n}"),
                recs: vec![],
                notes: None,
                date,
            })
        })
        .collect();
    log.append_all(&funder, sessions).unwrap();
}

/// Changes one byte of a stored entry behind trail's back.
fn damage_entry(dir: &std::path::Path, seq: u64) {
    segments::rewrite_entry(dir, seq, |bytes| {
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
    });
}

#[test]
fn the_prefix_before_a_damaged_entry_is_saved_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    build(&log_dir);
    damage_entry(&log_dir, 12);
    let log = Log::open(&log_dir).unwrap();
    assert!(
        log.verify_with(|_| Ok(())).is_err(),
        "the damage must be visible"
    );
    let out = dir.path().join("prefix.trail");
    let saved = export_partial(&log, &out).unwrap();
    assert_eq!(saved.entries, 12);
    match saved.stopped {
        Some(Error::Verify(v)) => assert_eq!(v.seq, 12),
        other => panic!("expected a verification error at seq 12, got {other:?}"),
    }
    assert_eq!(verify_file(&out).unwrap().len(), 12);
}

#[test]
fn an_intact_log_is_saved_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    build(&log_dir);
    let log = Log::open(&log_dir).unwrap();
    let out = dir.path().join("all.trail");
    let saved = export_partial(&log, &out).unwrap();
    assert_eq!(saved.entries, 20);
    assert!(saved.stopped.is_none());
    assert_eq!(verify_file(&out).unwrap().len(), 20);
}

#[test]
fn a_gap_after_a_bad_entry_does_not_hide_it() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    build(&log_dir);
    damage_entry(&log_dir, 3);
    // Entry 10's frame cut out: entry 11's frame now stands where 10's was.
    segments::remove_entry(&log_dir, 10);
    let log = Log::open(&log_dir).unwrap();
    match log.verify_with(|_| Ok(())) {
        Err(Error::Verify(v)) => assert_eq!(v.seq, 3, "{v}"),
        other => panic!("expected the bad entry at seq 3, got {:?}", other.err()),
    }
}
