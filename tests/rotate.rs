//! `trail rotate`: an actor moves to a new key with an entry signed by the
//! old one, without an admin; the old key signs nothing afterwards.

mod common;

use common::*;
use serde_json::json;

fn rotate(site: &Site, actor: &str, new_public_key: &str) -> Run {
    trail_run(&[
        "rotate",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key(actor)),
        "--new-public-key",
        new_public_key,
        "--date",
        "2022-02-01",
    ])
}

fn response() -> serde_json::Value {
    json!({"type": "response_recorded", "rec": "REC-1", "position": "accepted_in_part",
        "actions": "Some of it", "reasons": "Not all of it", "target": "2022-12-31",
        "date": "2022-02-02"})
}

#[test]
fn rotate_moves_the_actor_to_the_new_key_and_retires_the_old_one() {
    let site = Site::new();
    let new_key = site.path("syp-new.key");
    let fresh = seed(40);
    fresh.write_new_file(&new_key).unwrap();
    let fresh_public = fresh.public_key().to_string();
    let before = site.count();

    let out = rotate(&site, "syp", &fresh_public);
    assert!(out.ok().starts_with(&format!("seq {before} ")), "{out:#?}");
    let last = show_json(&site.log).pop().unwrap();
    assert_eq!(last["event"]["type"], "key_rotated");
    assert_eq!(last["event"]["new_public_key"], fresh_public.as_str());
    assert_eq!(last["actor"], "syp");

    // The old key is retired; the new one answers for syp with its roles.
    site.append("syp", &response()).fails(2, &["revoked"]);
    let file = site.path("response.json");
    std::fs::write(&file, response().to_string()).unwrap();
    trail_run(&[
        "append",
        "--log",
        arg(&site.log),
        "--key",
        arg(&new_key),
        "--event",
        arg(&file),
    ])
    .ok();
    assert_eq!(site.count(), before + 2);
    trail_run(&["verify", "--log", arg(&site.log)]).ok();
}

#[test]
fn rotate_refuses_a_registered_key_and_an_unregistered_signer() {
    let site = Site::new();
    let before = site.count();
    // Onto a key that is already registered (another actor's).
    rotate(&site, "syp", &site.public("college")).fails(2, &["already registered"]);
    // Signed by a key the log does not know.
    let stranger = site.path("stranger.key");
    seed(41).write_new_file(&stranger).unwrap();
    trail_run(&[
        "rotate",
        "--log",
        arg(&site.log),
        "--key",
        arg(&stranger),
        "--new-public-key",
        &seed(42).public_key().to_string(),
    ])
    .fails(2, &["not registered"]);
    // Not a key at all.
    let bad = rotate(&site, "syp", "abc");
    assert_eq!(bad.code, Some(2));
    assert_eq!(site.count(), before, "nothing was appended");
    assert!(
        trail_run(&["rotate", "--help"])
            .ok()
            .contains("--new-public-key")
    );
}

/// Signs `events` as a chain from genesis, bypassing the append-time checks
/// (as a forger with the keys, or other software, could), and returns the
/// bundle bytes. Each event comes with the key that signs it.
fn forged_bundle(events: Vec<(&trail_core::SecretKey, trail_core::Event)>) -> Vec<u8> {
    use trail_core::{EntryHash, Timestamp, UnsignedEntry, Verifier, bundle};
    let mut writer = bundle::BundleWriter::new(Vec::new()).unwrap();
    let mut verifier = Verifier::new();
    let mut prev = EntryHash::default();
    let mut entries = Vec::new();
    for (seq, (key, event)) in events.into_iter().enumerate() {
        let entry = UnsignedEntry {
            seq: seq as u64,
            prev_hash: prev,
            recorded_at: Timestamp::now(),
            signer: key.public_key(),
            event,
        }
        .sign(key);
        prev = entry.hash();
        entries.push(entry.to_bytes());
    }
    // Write what verifies, then the first entry that does not, raw, with an
    // end record that counts it, as a forger would.
    let mut count = 0u64;
    for bytes in entries {
        match verifier.verify_one(bytes.clone()) {
            Ok(v) => {
                writer.entry(&v).unwrap();
                count += 1;
            }
            Err(_) => {
                let mut out = writer.finish().unwrap();
                let record = |out: &mut Vec<u8>, tag: u8, payload: &[u8]| {
                    out.push(tag);
                    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
                    out.extend_from_slice(payload);
                };
                out.truncate(out.len() - (1 + 4 + 8 + 32));
                record(&mut out, bundle::TAG_ENTRY, &bytes);
                let mut end = (count + 1).to_le_bytes().to_vec();
                end.extend_from_slice(&trail_core::entry_hash(&bytes).0);
                record(&mut out, bundle::TAG_END, &end);
                return out;
            }
        }
    }
    writer.finish().unwrap()
}

#[test]
fn entries_signed_after_revocation_or_rotation_fail_verification_at_their_seq() {
    use trail_core::event::{KeyGranted, KeyRevoked, KeyRotated, LogCreated, ReportPublished};
    use trail_core::{Day, Event, Id, Role};
    let day = Day::new(2022, 1, 1).unwrap();
    let (admin, issuer, fresh) = (seed(1), seed(2), seed(3));
    let genesis = Event::LogCreated(LogCreated {
        name: "forged".into(),
        actor: Id::new("admin").unwrap(),
        body: "Admin".into(),
        public_key: admin.public_key(),
        date: day,
        origin: None,
    });
    let grant = Event::KeyGranted(KeyGranted {
        actor: Id::new("iopc").unwrap(),
        body: "IOPC".into(),
        public_key: issuer.public_key(),
        roles: vec![Role::Issuer],
        date: day,
    });
    let report = |n: u32| {
        Event::ReportPublished(ReportPublished {
            report: Id::new(&format!("REP-{n}")).unwrap(),
            title: "A report".into(),
            date: day,
            document: None,
        })
    };
    let revoke = Event::KeyRevoked(KeyRevoked {
        public_key: issuer.public_key(),
        reason: "left".into(),
        date: day,
    });
    let rotate = Event::KeyRotated(KeyRotated {
        new_public_key: fresh.public_key(),
        date: day,
    });
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "revoked",
            vec![
                (&admin, genesis.clone()),
                (&admin, grant.clone()),
                (&issuer, report(1)),
                (&admin, revoke),
                (&issuer, report(2)),
            ],
        ),
        (
            "rotated",
            vec![
                (&admin, genesis),
                (&admin, grant),
                (&issuer, report(1)),
                (&issuer, rotate),
                (&issuer, report(2)),
            ],
        ),
    ];
    for (name, events) in cases {
        let path = dir.path().join(format!("{name}.trail"));
        std::fs::write(&path, forged_bundle(events)).unwrap();
        trail_run(&["verify", "--bundle", arg(&path)]).fails(1, &["seq 4", "revoked at seq 3"]);
    }
}
