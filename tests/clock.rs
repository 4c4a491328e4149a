//! Clock rules at append: far-future effective dates are refused unless
//! allowed, and an entry is never recorded earlier than the head.

mod common;

use std::fs;

use common::*;
use serde_json::json;
use trail_core::event::{KeyRevoked, LogCreated};
use trail_core::{
    AppendOptions, Day, EntryHash, Error, Event, Id, Log, PublicKey, Timestamp, UnsignedEntry,
    Verifier, bundle,
};

fn today() -> Day {
    Day::of_timestamp(Timestamp::now())
}

fn claim_dated(day: Day) -> serde_json::Value {
    json!({"type": "progress_claim", "rec": "REC-1", "subject": "syp",
        "status": "in_progress", "narrative": "Work under way", "date": day.to_string()})
}

#[test]
fn a_far_future_effective_date_is_refused_unless_allowed() {
    let site = Site::new();
    let before = site.count();
    // 368, not 367: the binary may record the next day if the test runs at midnight.
    let too_far = today().plus_days(368).unwrap();
    site.append("syp", &claim_dated(too_far)).fails(
        2,
        &[
            &too_far.to_string(),
            "more than 366 days",
            "--allow-future-dates",
        ],
    );
    assert_eq!(site.count(), before, "nothing was appended");

    // In a batch, the line is named and nothing of the batch is written.
    let batch = format!("{}\n{}\n", claim_dated(today()), claim_dated(too_far));
    site.append_text("syp", &batch)
        .fails(2, &["line 2", "more than 366 days", "nothing was appended"]);
    assert_eq!(site.count(), before);

    // A year and a day ahead is still accepted without the flag.
    site.append("syp", &claim_dated(today().plus_days(366).unwrap()))
        .ok();
    assert_eq!(site.count(), before + 1);

    // With the flag, the far date is accepted and the log verifies.
    let file = site.path("future.json");
    fs::write(&file, claim_dated(too_far).to_string()).unwrap();
    trail_run(&[
        "append",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("syp")),
        "--event",
        arg(&file),
        "--allow-future-dates",
    ])
    .ok();
    assert_eq!(site.count(), before + 2);
    trail_run(&["verify", "--log", arg(&site.log)]).ok();
}

#[test]
fn the_library_refuses_future_dates_by_default_and_takes_an_option() {
    let dir = tempfile::tempdir().unwrap();
    let admin = seed(1);
    let log = Log::create(
        &dir.path().join("log"),
        "clock",
        &admin,
        Id::new("admin").unwrap(),
        "Admin body",
    )
    .unwrap();
    let revoke = |date| {
        Event::KeyRevoked(KeyRevoked {
            public_key: admin.public_key(),
            reason: "testing".into(),
            date,
        })
    };
    let far = today().plus_days(400).unwrap();
    assert!(matches!(
        log.append(&admin, revoke(far)),
        Err(Error::FutureDate { max_days: 366, .. })
    ));
    assert_eq!(log.head().unwrap().seq, 0, "nothing was appended");
    // Allowed, the clock rule is lifted (the authority rules still apply:
    // the only admin may not revoke itself).
    let allowed = log.append_all_with(
        &admin,
        vec![revoke(far)],
        AppendOptions::allowing_future_dates(),
    );
    assert!(
        !matches!(allowed, Err(Error::FutureDate { .. })),
        "{allowed:?}"
    );
}

/// A log whose genesis was recorded a day from now, as a writer with a fast
/// clock would leave it, imported from a bundle (import keeps recorded times).
fn log_recorded_in_the_future(dir: &std::path::Path) -> std::path::PathBuf {
    let admin = seed(1);
    let tomorrow = Timestamp::from_micros(Timestamp::now().micros() + 86_400_000_000).unwrap();
    let genesis = UnsignedEntry {
        seq: 0,
        prev_hash: EntryHash::default(),
        recorded_at: tomorrow,
        signer: admin.public_key(),
        event: Event::LogCreated(LogCreated {
            name: "fast clock".into(),
            actor: Id::new("admin").unwrap(),
            body: "Admin body".into(),
            public_key: admin.public_key(),
            date: Day::of_timestamp(tomorrow),
            origin: None,
        }),
    }
    .sign(&admin);
    let verified = Verifier::new()
        .verify_one(genesis.to_bytes())
        .expect("a future recorded time is not itself invalid");
    let bundle_path = dir.join("fast.trail");
    let mut writer = bundle::BundleWriter::new(fs::File::create(&bundle_path).unwrap()).unwrap();
    writer.entry(&verified).unwrap();
    writer.finish().unwrap();
    let log = dir.join("log");
    bundle::import(&bundle_path, &log).unwrap();
    log
}

#[test]
fn an_entry_recorded_earlier_than_the_head_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = log_recorded_in_the_future(dir.path());
    {
        let log = Log::open(&log_dir).unwrap();
        let event = Event::KeyRevoked(KeyRevoked {
            public_key: PublicKey([9; 32]),
            reason: "r".into(),
            date: today(),
        });
        assert!(matches!(
            log.append(&seed(1), event),
            Err(Error::ClockBehind { .. })
        ));
        assert_eq!(log.head().unwrap().seq, 0);
    }
    // Through the binary: one clear line, and the log is as it was.
    let key = dir.path().join("admin.key");
    seed(1).write_new_file(&key).unwrap();
    let other = seed(2).public_key().to_string();
    trail_run(&[
        "grant",
        "--log",
        arg(&log_dir),
        "--key",
        arg(&key),
        "--actor",
        "iopc",
        "--body",
        "IOPC",
        "--public-key",
        &other,
        "--role",
        "issuer",
    ])
    .fails(2, &["refusing to go back in time"]);
    assert_eq!(entry_count(&log_dir), 1);
    trail_run(&["verify", "--log", arg(&log_dir)]).ok();
}
