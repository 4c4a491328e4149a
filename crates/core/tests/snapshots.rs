//! Replay from snapshots equals a full fold, at every seq and at random dates,
//! on logs of more than 1,000 random valid entries; and stale snapshots are
//! never used.

use proptest::prelude::*;
use serde_json::json;
use trail_core::{Cut, SnapshotOptions};
use trail_core::{Day, Event, Id, Log, SecretKey, State, Timestamp};

/// A tiny deterministic generator, so a failing seed reproduces.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn day(&mut self) -> String {
        let base = Day::new(2021, 1, 1).unwrap();
        base.plus_days(self.below(1500) as i32).unwrap().to_string()
    }
}

fn ev(value: serde_json::Value) -> Event {
    Event::from_json(&value.to_string()).unwrap()
}

struct Signers {
    admin: SecretKey,
    issuer: SecretKey,
    respondents: [SecretKey; 2],
    funder: SecretKey,
    assessor: SecretKey,
}

/// Builds a log of `count` random valid entries and returns it.
fn random_log(dir: &std::path::Path, seed: u64, count: u64) -> Log {
    let mut rng = Rng(seed | 1);
    let s = Signers {
        admin: SecretKey::from_seed(&[1; 32]),
        issuer: SecretKey::from_seed(&[2; 32]),
        respondents: [
            SecretKey::from_seed(&[3; 32]),
            SecretKey::from_seed(&[4; 32]),
        ],
        funder: SecretKey::from_seed(&[5; 32]),
        assessor: SecretKey::from_seed(&[6; 32]),
    };
    let log = Log::create(dir, "random", &s.admin, Id::new("admin").unwrap(), "Admin").unwrap();
    let grants = [
        ("iopc", &s.issuer, "issuer"),
        ("force-a", &s.respondents[0], "respondent"),
        ("force-b", &s.respondents[1], "respondent"),
        ("pcc", &s.funder, "funder"),
        ("inspectorate", &s.assessor, "assessor"),
    ];
    let events = grants
        .iter()
        .map(|(actor, key, role)| {
            ev(json!({"type": "key_granted", "actor": actor, "body": actor,
                "public_key": key.public_key().to_string(), "roles": [role], "date": "2021-01-01"}))
        })
        .collect();
    log.append_all(&s.admin, events).unwrap();
    log.append_all(
        &s.issuer,
        vec![ev(json!({"type": "report_published", "report": "REP", "title": "Report", "date": "2021-01-01"}))],
    )
    .unwrap();
    // (rec id, addressee index)
    let mut recs: Vec<(String, usize)> = Vec::new();
    // (seq, which respondent) of corrigible statements by respondents
    let mut own: Vec<(u64, usize)> = Vec::new();
    let mut decisions = 0u64;
    while log.head().unwrap().seq + 1 < count {
        let seq = log.head().unwrap().seq + 1;
        let date = rng.day();
        let pick = if recs.is_empty() { 0 } else { rng.below(10) };
        let rec = recs.get(rng.below(recs.len() as u64) as usize).cloned();
        match (pick, rec) {
            (0, _) | (_, None) => {
                let id = format!("R{}", recs.len() + 1);
                let who = rng.below(2) as usize;
                let addressee = ["force-a", "force-b"][who];
                log.append(&s.issuer, ev(json!({"type": "recommendation_issued", "rec": id, "report": "REP",
                    "addressees": [addressee], "subject": "A subject of a few words", "date": date}))).unwrap();
                recs.push((id, who));
            }
            (1 | 2, Some((rec, who))) => {
                let position = ["accepted", "accepted_in_part", "not_accepted", "neither"]
                    [rng.below(4) as usize];
                log.append(&s.respondents[who], ev(json!({"type": "response_recorded", "rec": rec,
                    "position": position, "actions": "Actions described here", "target": rng.day(), "date": date}))).unwrap();
                own.push((seq, who));
            }
            (3 | 4, Some((rec, who))) => {
                let status = [
                    "not_started",
                    "in_progress",
                    "partially_implemented",
                    "implemented",
                ][rng.below(4) as usize];
                // Sometimes the other force claims it: a third-party claim.
                let signer = if rng.below(4) == 0 { 1 - who } else { who };
                let subject = ["force-a", "force-b"][who];
                log.append(&s.respondents[signer], ev(json!({"type": "progress_claim", "rec": rec, "status": status,
                    "subject": subject, "narrative": "Narrative of progress", "date": date,
                    "evidence": [{"name": "e.pdf", "blake3": "00".repeat(32), "kind": "self_report"}]}))).unwrap();
                if signer == who {
                    own.push((seq, who));
                }
            }
            (5, Some((rec, _))) => {
                let verdict = [
                    "verified",
                    "most_respects",
                    "some_respects",
                    "not_implemented",
                    "regressed",
                    "insufficient_evidence",
                ][rng.below(6) as usize];
                log.append(
                    &s.assessor,
                    ev(json!({"type": "assessment", "rec": rec, "verdict": verdict,
                    "coverage": "full", "narrative": "Assessment narrative", "date": date})),
                )
                .unwrap();
            }
            (6, Some((rec, _))) => {
                decisions += 1;
                let stage = ["approved", "committed", "paid"][rng.below(3) as usize];
                log.append(&s.funder, ev(json!({"type": "funding_decision", "decision": format!("D{}", decisions % 7),
                    "amount_minor": 1000 * rng.below(100), "currency": "GBP", "purpose": "Purpose", "recs": [rec],
                    "stage": stage, "date": date}))).unwrap();
            }
            (7, Some((rec, _))) => {
                let choice = rng.below(3);
                let event = match choice {
                    0 => {
                        json!({"type": "response_deadline_extended", "rec": rec, "new_due": rng.day(), "date": date})
                    }
                    1 => {
                        json!({"type": "accountability_session", "forum": "Board", "recs": [rec], "date": date})
                    }
                    _ => {
                        json!({"type": "recommendation_closed", "rec": rec, "outcome": "implemented", "date": date})
                    }
                };
                log.append(&s.issuer, ev(event)).unwrap();
            }
            (8, Some((rec, who))) => {
                log.append(&s.respondents[who], ev(json!({"type": "target_revised", "rec": rec,
                    "old_target": rng.day(), "new_target": rng.day(), "reason": "Reason", "date": date}))).unwrap();
                own.push((seq, who));
            }
            (_, Some(_)) => {
                // A correction (retraction) of one of the respondents' own statements, if any.
                if let Some(&(target, who)) = own.get(rng.below(own.len() as u64) as usize) {
                    log.append(
                        &s.respondents[who],
                        ev(json!({"type": "correction", "target_seq": target,
                        "reason": "Corrected", "date": date})),
                    )
                    .unwrap();
                } else {
                    log.append(
                        &s.issuer,
                        ev(json!({"type": "accountability_session", "forum": "Board",
                        "recs": [], "date": date})),
                    )
                    .unwrap();
                }
            }
        }
    }
    log
}

/// Every prefix of the log, folded the slow way from the genesis entry.
fn full_folds(log: &Log) -> Vec<State> {
    let mut state = State::new();
    let mut folds = Vec::new();
    log.verify_with(|chunk| {
        for e in chunk {
            state.apply(e).unwrap();
            folds.push(state.clone());
        }
        Ok(())
    })
    .unwrap();
    folds
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_replay_equals_full_fold(seed in any::<u64>(), every in 7u64..90) {
        let dir = tempfile::tempdir().unwrap();
        let log = random_log(&dir.path().join("log"), seed, 1_050);
        let folds = full_folds(&log);
        prop_assert_eq!(folds.len(), 1_050);
        let options = SnapshotOptions { every };
        let mut rng = Rng(seed ^ 0xabcdef);
        for (seq, full) in folds.iter().enumerate() {
            let replayed = log.replay_state(Cut::AtSeq(seq as u64), options).unwrap();
            prop_assert_eq!(&replayed, full, "state differs at seq {}", seq);
            if seq % 97 == 0 {
                let at: Day = rng.day().parse().unwrap();
                prop_assert_eq!(replayed.view(at), full.view(at));
            }
        }
        // The known-at axis: everything recorded by now is the whole log.
        let now = log.replay_state(Cut::KnownAt(Timestamp::now()), options).unwrap();
        prop_assert_eq!(&now, folds.last().unwrap());
        let before = log.replay_state(Cut::KnownAt(Timestamp::from_micros(0).unwrap()), options).unwrap();
        prop_assert_eq!(before, State::new());
    }
}
