//! The registry rows of a log written before they kept dated grants
//! (registry encoding 1) are rewritten on open, losing nothing.

use crate::encoding::encode_record;
use crate::event::{Event, Role};
use crate::keys::SecretKey;
use crate::store::testlog::{issuer, log_with_a_report};
use crate::store::{Log, REGISTRY_FORMAT_KEY, VERIFIED_KEY};
use crate::types::{Day, Id};

#[test]
fn registry_rows_of_the_old_encoding_are_rewritten_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with_a_report(dir.path(), "Issuer", "A report", "Do it");
    let admin = SecretKey::from_seed(&[1; 32]);
    let succeed = serde_json::json!({"type": "body_succeeded", "old_actor": "noo",
        "new_actor": "admin", "date": "2021-03-01"});
    log.append(&admin, Event::from_json(&succeed.to_string()).unwrap())
        .unwrap();
    let before = log.authority().unwrap();
    // Rows as the previous main wrote them: a key as (actor, roles, granted
    // seq, revoked seq), a succession as (successor, date).
    let mut old = sled::Batch::default();
    for (key, info) in &before.keys {
        let row = (
            info.actor.clone(),
            info.roles(),
            info.grants[0].seq,
            info.revoked_seq(),
        );
        old.insert([b"k:".as_slice(), &key.0].concat(), encode_record(&row));
    }
    for (actor, s) in &before.successions {
        let row = (s.successor.clone(), s.date);
        old.insert(
            [b"s:".as_slice(), actor.as_str().as_bytes()].concat(),
            encode_record(&row),
        );
    }
    old.remove(REGISTRY_FORMAT_KEY);
    log.tree.apply_batch(old).unwrap();
    log.db.flush().unwrap();
    drop(log);

    let log = Log::open(dir.path()).unwrap();
    assert!(
        log.tree.get(VERIFIED_KEY).unwrap().is_none(),
        "rows rebuilt from unverified entries leave the log to be verified again"
    );
    assert_eq!(
        log.authority().unwrap(),
        before,
        "the rows were rebuilt whole"
    );
    log.verify_with(|_| Ok(()))
        .expect("the rebuilt rows match the entries");
    let key = &log.authority().unwrap().keys[&issuer().public_key()];
    assert_eq!(key.roles(), [Role::Issuer]);
    assert_eq!(key.grants[0].date, Day::new(2021, 1, 1).unwrap());
    assert_eq!(
        log.authority().unwrap().successions[&Id::new("noo").unwrap()].seq,
        4
    );
}
