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
