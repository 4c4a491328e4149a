//! `export_partial` saves the verified prefix of a damaged log, up to the
//! first bad entry, as a bundle that verifies on its own.

use trail_core::bundle::{export_partial, verify_file};
use trail_core::event::{AccountabilitySession, KeyGranted};
use trail_core::{Day, Error, Event, Id, Log, Role, SecretKey};

/// Opens the log's sled database directly, to change it behind trail's back.
/// sled's I/O threads can hold the file lock a moment after a handle drops
/// (longer on a loaded machine), so a lock error is retried for a while.
fn open_sled_directly(dir: &std::path::Path) -> sled::Db {
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

/// Rewrites the stored bytes of one entry behind trail's back.
fn damage_entry(dir: &std::path::Path, seq: u64) {
    let db = open_sled_directly(dir);
    let tree = db.open_tree("trail").unwrap();
    let key = [b"e:".as_slice(), &seq.to_be_bytes()].concat();
    let mut bytes = tree.get(&key).unwrap().unwrap().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    tree.insert(key, bytes).unwrap();
    db.flush().unwrap();
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
    {
        // One handle for both changes: sled holds its lock a moment after a drop.
        let db = open_sled_directly(&log_dir);
        let tree = db.open_tree("trail").unwrap();
        let key = |seq: u64| [b"e:".as_slice(), &seq.to_be_bytes()].concat();
        let mut bytes = tree.get(key(3)).unwrap().unwrap().to_vec();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x01;
        tree.insert(key(3), bytes).unwrap();
        tree.remove(key(10)).unwrap();
        db.flush().unwrap();
    }
    let log = Log::open(&log_dir).unwrap();
    match log.verify_with(|_| Ok(())) {
        Err(Error::Verify(v)) => assert_eq!(v.seq, 3, "{v}"),
        other => panic!("expected the bad entry at seq 3, got {:?}", other.err()),
    }
}
