//! Entries signed elsewhere: a copy filled from its origin, a client that signs
//! against its copy and submits to the origin, and every refusal leaving the
//! log as it was.

use std::path::Path;

use trail_core::MAX_CLOCK_SKEW;
use trail_core::event::{KeyGranted, ReportPublished};
use trail_core::{
    AppendOptions, Appended, Arrival, Day, Entry, EntryHash, Error, Event, Head, Id, Log, Problem,
    Rejection, Role, SecretKey, Timestamp, UnsignedEntry, VerifyError,
};

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn id(s: &str) -> Id {
    Id::new(s).unwrap()
}

fn date() -> Day {
    Day::new(2024, 3, 1).unwrap()
}

fn grant(actor: &str, key: &SecretKey, role: Role) -> Event {
    Event::KeyGranted(KeyGranted {
        actor: id(actor),
        body: actor.to_uppercase(),
        public_key: key.public_key(),
        roles: vec![role],
        date: date(),
    })
}

fn report(name: &str) -> Event {
    report_on(name, date())
}

fn report_on(name: &str, date: Day) -> Event {
    Event::ReportPublished(ReportPublished {
        report: id(name),
        title: format!("Report {name}"),
        date,
        document: None,
    })
}

fn submitted() -> Arrival {
    Arrival::Submitted(AppendOptions::default())
}

const ADMIN: u8 = 1;
const ISSUER: u8 = 2;
const RESPONDENT: u8 = 3;

/// A log with a genesis, grants for an issuer and a respondent, and reports.
fn origin(dir: &Path) -> Log {
    let log = Log::create(dir, "origin", &key(ADMIN), id("admin"), "Admin").unwrap();
    log.append_all(
        &key(ADMIN),
        vec![
            grant("iopc", &key(ISSUER), Role::Issuer),
            grant("force", &key(RESPONDENT), Role::Respondent),
        ],
    )
    .unwrap();
    log.append(&key(ISSUER), report("REP-1")).unwrap();
    log.append_all(&key(ISSUER), vec![report("REP-2"), report("REP-3")])
        .unwrap();
    log
}

fn all_bytes(log: &Log) -> Vec<Vec<u8>> {
    let size = log.tree_size();
    let bytes: Vec<Vec<u8>> = log
        .entry_bytes(0, size - 1)
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(bytes.len() as u64, size);
    bytes
}

/// A copy of `from` in `dir`, filled in one Copied batch.
fn copy_of(from: &Log, dir: &Path) -> Log {
    let copy = Log::create_copy(dir).unwrap();
    copy.append_signed(all_bytes(from), Arrival::Copied)
        .unwrap();
    assert_eq!(copy.head(), from.head());
    copy
}

fn verifies(log: &Log) {
    let verifier = log.verify_with(|_| Ok(())).unwrap();
    assert_eq!(verifier.len(), log.tree_size());
}

/// The log still ends at `head`, holds nothing after it and verifies.
fn unchanged(log: &Log, head: Head) {
    assert_eq!(log.head(), Some(head));
    assert_eq!(log.entry_bytes(head.seq + 1, head.seq + 5).count(), 0);
    verifies(log);
}

fn verify_error(result: trail_core::Result<Vec<Appended>>) -> VerifyError {
    match result {
        Err(Error::Verify(e)) => e,
        other => panic!("expected a verification error, got {other:?}"),
    }
}

/// Decodes `bytes`, lets `change` edit the signed fields and signs again.
fn resigned(bytes: &[u8], key: &SecretKey, change: impl FnOnce(&mut UnsignedEntry)) -> Vec<u8> {
    let mut unsigned = Entry::from_bytes(bytes).unwrap().unsigned;
    change(&mut unsigned);
    unsigned.sign(key).to_bytes()
}

fn hash_of(bytes: &[u8]) -> EntryHash {
    Entry::from_bytes(bytes).unwrap().hash()
}

#[test]
fn a_copy_filled_in_two_chunks_matches_its_origin() {
    let dir = tempfile::tempdir().unwrap();
    let origin = origin(&dir.path().join("origin"));
    let bytes = all_bytes(&origin);
    assert!(bytes.len() >= 5);
    let copy_dir = dir.path().join("copy");
    let copy = Log::create_copy(&copy_dir).unwrap();
    assert_eq!(copy.head(), None);

    let (first, second) = bytes.split_at(3);
    let landed_first = copy.append_signed(first.to_vec(), Arrival::Copied).unwrap();
    let landed_second = copy
        .append_signed(second.to_vec(), Arrival::Copied)
        .unwrap();
    let landed: Vec<Appended> = landed_first.into_iter().chain(landed_second).collect();
    let expected: Vec<Appended> = bytes
        .iter()
        .zip(0u64..)
        .map(|(b, seq)| Appended {
            seq,
            hash: hash_of(b),
        })
        .collect();
    assert_eq!(landed, expected);

    verifies(&copy);
    let size = origin.tree_size();
    assert_eq!(copy.tree_size(), size);
    assert_eq!(copy.head(), origin.head());
    assert_eq!(
        copy.tree_root(size).unwrap(),
        origin.tree_root(size).unwrap()
    );
    assert_eq!(copy.authority().unwrap(), origin.authority().unwrap());
    assert_eq!(all_bytes(&copy), bytes);

    // What was copied is on disk: the copy reopens as a log like any other.
    let head = copy.head();
    drop(copy);
    let reopened = Log::open(&copy_dir).unwrap();
    assert_eq!(reopened.head(), head);
    assert_eq!(
        reopened.tree_root(size).unwrap(),
        origin.tree_root(size).unwrap()
    );
    verifies(&reopened);
    // A copy's directory already holds a log.
    assert!(matches!(
        Log::create_copy(&copy_dir),
        Err(Error::LogExists { .. })
    ));
}

#[test]
fn a_client_signs_against_its_copy_and_the_origin_appends_once() {
    let dir = tempfile::tempdir().unwrap();
    let origin = origin(&dir.path().join("origin"));
    let client = copy_of(&origin, &dir.path().join("client"));
    let before = origin.head().unwrap();

    let signed = client
        .sign_next(
            &key(ISSUER),
            vec![report("REP-4"), report("REP-5")],
            Timestamp::now(),
            AppendOptions::default(),
        )
        .unwrap();
    assert_eq!(signed.len(), 2);
    // Signing writes nothing, on the client or anywhere else.
    assert_eq!(client.head(), Some(before));

    let appended = origin.append_signed(signed.clone(), submitted()).unwrap();
    assert_eq!(
        appended,
        vec![
            Appended {
                seq: before.seq + 1,
                hash: hash_of(&signed[0]),
            },
            Appended {
                seq: before.seq + 2,
                hash: hash_of(&signed[1]),
            },
        ]
    );
    let after = origin.head().unwrap();
    assert_eq!(after.seq, before.seq + 2);
    assert_eq!(after.hash, appended[1].hash);
    assert_eq!(
        origin
            .entry_bytes(before.seq + 1, after.seq)
            .collect::<Result<Vec<_>, _>>()
            .unwrap(),
        signed
    );
    verifies(&origin);

    // A resend whose answer was lost: the same answer, nothing written.
    let again = origin.append_signed(signed.clone(), submitted()).unwrap();
    assert_eq!(again, appended);
    assert_eq!(origin.head(), Some(after));
    assert_eq!(origin.tree_size(), after.seq + 1);

    // The client catches up, signs on, and someone else appends first.
    client
        .append_signed(signed.clone(), Arrival::Copied)
        .unwrap();
    assert_eq!(client.head(), Some(after));
    let stale = client
        .sign_next(
            &key(ISSUER),
            vec![report("REP-6")],
            Timestamp::now(),
            AppendOptions::default(),
        )
        .unwrap();
    origin.append(&key(ISSUER), report("REP-7")).unwrap();
    let moved = origin.head().unwrap();
    assert_eq!(moved.seq, after.seq + 1);
    match origin.append_signed(stale.clone(), submitted()) {
        Err(Error::HeadMoved { size, head }) => {
            assert_eq!(size, moved.seq + 1);
            assert_eq!(head, moved.hash);
        }
        other => panic!("expected HeadMoved, got {other:?}"),
    }
    unchanged(&origin, moved);

    // Signed at the right seq but onto another entry than the head: the
    // signer's view of the log is not the log's.
    let forked = resigned(&stale[0], &key(ISSUER), |u| {
        u.seq = moved.seq + 1;
        u.prev_hash = after.hash;
    });
    assert!(matches!(
        origin.append_signed(vec![forked], submitted()),
        Err(Error::HeadMoved { size, head }) if size == moved.seq + 1 && head == moved.hash
    ));
    unchanged(&origin, moved);

    // The earlier batch, no longer at the head, is still recognised.
    let late = origin.append_signed(signed, submitted()).unwrap();
    assert_eq!(late, appended);
    unchanged(&origin, moved);

    // Once the client has what is new, it signs again and is accepted.
    client
        .append_signed(
            origin
                .entry_bytes(moved.seq, moved.seq)
                .collect::<Result<_, _>>()
                .unwrap(),
            Arrival::Copied,
        )
        .unwrap();
    let fresh = client
        .sign_next(
            &key(ISSUER),
            vec![report("REP-6")],
            Timestamp::now(),
            AppendOptions::default(),
        )
        .unwrap();
    let landed = origin.append_signed(fresh, submitted()).unwrap();
    assert_eq!(landed[0].seq, moved.seq + 1);
    verifies(&origin);
}

#[test]
fn refused_submissions_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let origin = origin(&dir.path().join("origin"));
    let head = origin.head().unwrap();
    let next = head.seq + 1;
    let sign = |key: &SecretKey, events: Vec<Event>| {
        origin
            .sign_next(key, events, Timestamp::now(), AppendOptions::default())
            .unwrap()
    };

    // A flipped signature byte, in the first entry and in the second.
    let mut batch = sign(&key(ISSUER), vec![report("REP-4")]);
    *batch[0].last_mut().unwrap() ^= 1;
    let e = verify_error(origin.append_signed(batch, submitted()));
    assert_eq!(e.seq, next);
    assert!(
        matches!(&e.problem, Problem::BadSignature { signer } if signer == "iopc"),
        "{e:?}"
    );
    unchanged(&origin, head);
    let mut batch = sign(&key(ISSUER), vec![report("REP-4"), report("REP-5")]);
    *batch[1].last_mut().unwrap() ^= 0x80;
    let e = verify_error(origin.append_signed(batch, submitted()));
    assert_eq!(e.seq, next + 1);
    assert!(matches!(e.problem, Problem::BadSignature { .. }), "{e:?}");
    unchanged(&origin, head);

    // Signed by a registered key that lacks the role, and by a stranger.
    let template = sign(&key(ISSUER), vec![report("REP-4")]);
    let wrong_role = resigned(&template[0], &key(RESPONDENT), |u| {
        u.signer = key(RESPONDENT).public_key();
    });
    let e = verify_error(origin.append_signed(vec![wrong_role], submitted()));
    assert_eq!(e.seq, next);
    assert!(
        matches!(&e.problem, Problem::Unauthorized(Rejection::MissingRole { actor, .. }) if *actor == id("force")),
        "{e:?}"
    );
    unchanged(&origin, head);
    let stranger = resigned(&template[0], &key(9), |u| u.signer = key(9).public_key());
    let e = verify_error(origin.append_signed(vec![stranger], submitted()));
    assert_eq!(e.seq, next);
    assert!(
        matches!(e.problem, Problem::Unauthorized(Rejection::UnknownKey(_))),
        "{e:?}"
    );
    unchanged(&origin, head);

    // Recorded before the head, though well within the clock's tolerance.
    let earlier = Timestamp::from_micros(head.recorded_at.micros() - 1).unwrap();
    let back = resigned(&template[0], &key(ISSUER), |u| u.recorded_at = earlier);
    let e = verify_error(origin.append_signed(vec![back], submitted()));
    assert_eq!(e.seq, next);
    assert_eq!(
        e.problem,
        Problem::TimeWentBack {
            previous: head.recorded_at,
            found: earlier,
        }
    );
    unchanged(&origin, head);

    // Recorded an hour ahead of the log's clock.
    let hour = Timestamp::from_micros(Timestamp::now().micros() + 3_600_000_000).unwrap();
    let ahead = origin
        .sign_next(
            &key(ISSUER),
            vec![report("REP-4")],
            hour,
            AppendOptions::default(),
        )
        .unwrap();
    match origin.append_signed(ahead, submitted()) {
        Err(Error::ClockSkew {
            seq,
            recorded,
            max_seconds,
            ..
        }) => {
            assert_eq!(seq, next);
            assert_eq!(recorded, hour);
            assert_eq!(max_seconds, MAX_CLOCK_SKEW.as_secs());
        }
        other => panic!("expected ClockSkew, got {other:?}"),
    }
    unchanged(&origin, head);

    // A batch whose second entry links elsewhere, re-signed so that only the
    // link is wrong. Its first entry grants a key: the refusal must take
    // that grant back too.
    let newcomer = key(7);
    let batch = sign(
        &key(ADMIN),
        vec![
            grant("newcomer", &newcomer, Role::Issuer),
            grant("second", &key(8), Role::Respondent),
        ],
    );
    let elsewhere = EntryHash([7; 32]);
    let broken = resigned(&batch[1], &key(ADMIN), |u| u.prev_hash = elsewhere);
    let err = origin.append_signed(vec![batch[0].clone(), broken], submitted());
    let e = verify_error(err);
    assert_eq!(e.seq, next + 1);
    assert_eq!(
        e.problem,
        Problem::BrokenLink {
            expected: hash_of(&batch[0]),
            found: elsewhere,
        }
    );
    unchanged(&origin, head);
    assert!(
        origin
            .authority()
            .unwrap()
            .actor_of(&newcomer.public_key())
            .is_none()
    );
    let by_newcomer = resigned(&template[0], &newcomer, |u| {
        u.signer = newcomer.public_key();
    });
    let e = verify_error(origin.append_signed(vec![by_newcomer], submitted()));
    assert_eq!(e.seq, next);
    assert!(
        matches!(e.problem, Problem::Unauthorized(Rejection::UnknownKey(_))),
        "{e:?}"
    );
    unchanged(&origin, head);

    // Bytes that are no entry, alone and after a good entry.
    let e = verify_error(origin.append_signed(vec![b"not an entry".to_vec()], submitted()));
    assert_eq!(e.seq, next);
    assert!(matches!(e.problem, Problem::Undecodable(_)), "{e:?}");
    unchanged(&origin, head);
    let good = sign(&key(ISSUER), vec![report("REP-4")]);
    let e = verify_error(origin.append_signed(vec![good[0].clone(), vec![0xff; 40]], submitted()));
    assert_eq!(e.seq, next + 1);
    assert!(matches!(e.problem, Problem::Undecodable(_)), "{e:?}");
    unchanged(&origin, head);

    // After all that the log takes a good batch as if nothing had happened.
    let appended = origin.append_signed(good.clone(), submitted()).unwrap();
    assert_eq!(
        appended,
        vec![Appended {
            seq: next,
            hash: hash_of(&good[0])
        }]
    );
    verifies(&origin);

    // And the refusals were not kept anywhere across a reopen either.
    let path = origin.path().to_owned();
    drop(origin);
    let reopened = Log::open(&path).unwrap();
    assert_eq!(reopened.tree_size(), next + 1);
    verifies(&reopened);
}

#[test]
fn a_copy_refuses_entries_of_another_log() {
    let dir = tempfile::tempdir().unwrap();
    let origin = origin(&dir.path().join("origin"));
    // Another log, same keys and same events, but its own genesis.
    let other = Log::create(
        &dir.path().join("other"),
        "other",
        &key(ADMIN),
        id("admin"),
        "Admin",
    )
    .unwrap();
    other
        .append_all(
            &key(ADMIN),
            vec![
                grant("iopc", &key(ISSUER), Role::Issuer),
                grant("force", &key(RESPONDENT), Role::Respondent),
            ],
        )
        .unwrap();
    let foreign = all_bytes(&other);
    assert_ne!(foreign[0], all_bytes(&origin)[0]);

    let copy = Log::create_copy(&dir.path().join("copy")).unwrap();
    copy.append_signed(all_bytes(&origin)[..1].to_vec(), Arrival::Copied)
        .unwrap();
    let head = copy.head().unwrap();
    assert_eq!(head.seq, 0);

    // The other log's entries from seq 1 on: right seq, wrong link.
    let e = verify_error(copy.append_signed(foreign[1..].to_vec(), Arrival::Copied));
    assert_eq!(e.seq, 1);
    assert_eq!(
        e.problem,
        Problem::BrokenLink {
            expected: head.hash,
            found: hash_of(&foreign[0]),
        }
    );
    unchanged(&copy, head);

    // The other log whole, its genesis included: a second genesis at seq 1.
    let e = verify_error(copy.append_signed(foreign.clone(), Arrival::Copied));
    assert_eq!(e.seq, 1);
    assert_eq!(e.problem, Problem::WrongSeq { found: 0 });
    unchanged(&copy, head);

    // The origin's own entries still follow.
    copy.append_signed(all_bytes(&origin)[1..].to_vec(), Arrival::Copied)
        .unwrap();
    assert_eq!(copy.head(), origin.head());
    verifies(&copy);
}

#[test]
fn a_submitted_far_future_date_needs_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let origin = origin(&dir.path().join("origin"));
    let head = origin.head().unwrap();
    let far = Day::of_timestamp(Timestamp::now()).plus_days(800).unwrap();
    let signed = origin
        .sign_next(
            &key(ISSUER),
            vec![report("REP-4"), report_on("REP-5", far)],
            Timestamp::now(),
            AppendOptions::allowing_future_dates(),
        )
        .unwrap();
    let refused = origin.append_signed(signed.clone(), submitted());
    assert!(
        matches!(&refused, Err(Error::FutureDate { date, .. }) if *date == far)
            || matches!(&refused, Err(Error::InBatch { index: 1, source })
                if matches!(**source, Error::FutureDate { .. })),
        "{refused:?}"
    );
    unchanged(&origin, head);
    let allowed = Arrival::Submitted(AppendOptions::allowing_future_dates());
    let appended = origin.append_signed(signed, allowed).unwrap();
    assert_eq!(appended.len(), 2);
    assert_eq!(origin.head().unwrap().seq, head.seq + 2);
    verifies(&origin);
}

#[test]
fn a_batch_says_whether_it_was_written_or_already_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let origin = origin(&dir.path().join("origin"));
    let client = copy_of(&origin, &dir.path().join("client"));
    let signed = client
        .sign_next(
            &key(ISSUER),
            vec![report("REP-9")],
            Timestamp::now(),
            AppendOptions::default(),
        )
        .unwrap();
    let first = origin
        .append_signed_batch(signed.clone(), submitted())
        .unwrap();
    assert!(first.written);
    let again = origin.append_signed_batch(signed, submitted()).unwrap();
    assert!(!again.written);
    assert_eq!(again.appended, first.appended);
}

#[test]
fn a_settable_clock_records_chosen_times_and_keeps_the_clock_rules() {
    let dir = tempfile::tempdir().unwrap();
    let log = origin(&dir.path().join("origin"));
    let head = log.head().unwrap().recorded_at;
    let later = Timestamp::from_micros(head.micros() + 3_600_000_000).unwrap();
    log.set_clock(Some(later));
    let appended = log.append(&key(ISSUER), report("REP-CLOCK")).unwrap();
    let entry = log
        .entries(appended.seq, Some(appended.seq))
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(entry.unsigned.recorded_at, later);
    // A clock set before the head is refused, as a slow system clock is.
    log.set_clock(Some(head));
    assert!(matches!(
        log.append(&key(ISSUER), report("REP-BACK")),
        Err(trail_core::Error::ClockBehind { .. })
    ));
    assert_eq!(log.head().unwrap().seq, appended.seq);
}
