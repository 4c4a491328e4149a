//! Builds verified entries in memory for unit tests, with chosen recorded times.

use crate::entry::UnsignedEntry;
use crate::event::Event;
use crate::keys::SecretKey;
use crate::types::{Day, EntryHash, Id, Timestamp};
use crate::verify::{VerifiedEntry, Verifier};

/// A log under construction: every entry is verified as it is added.
pub(crate) struct TestLog {
    verifier: Verifier,
    pub(crate) entries: Vec<VerifiedEntry>,
    clock: i64,
}

pub(crate) fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

pub(crate) fn day(s: &str) -> Day {
    s.parse().expect("test date")
}

pub(crate) fn id(s: &str) -> Id {
    Id::new(s).expect("test id")
}

impl TestLog {
    /// Genesis by key 1 (actor "registry"), then grants of `(seed, actor, roles JSON, date)`.
    pub(crate) fn new(grants: &[(u8, &str, &str, &str)]) -> TestLog {
        let mut log = TestLog {
            verifier: Verifier::new(),
            entries: Vec::new(),
            clock: 1_700_000_000_000_000,
        };
        let pk = key(1).public_key();
        log.add(
            1,
            &format!(r#"{{"type":"log_created","name":"t","actor":"registry","body":"R","public_key":"{pk}","date":"2020-01-01"}}"#),
        );
        for (seed, actor, roles, date) in grants {
            let pk = key(*seed).public_key();
            log.add(
                1,
                &format!(
                    r#"{{"type":"key_granted","actor":"{actor}","body":"{actor}","public_key":"{pk}","roles":[{roles}],"date":"{date}"}}"#
                ),
            );
        }
        log
    }

    /// Adds one JSON event signed by key `seed`, recorded one second after the last; returns its seq.
    pub(crate) fn add(&mut self, seed: u8, json: &str) -> u64 {
        let event = Event::from_json(json).expect("test event");
        self.clock += 1_000_000;
        let seq = self.verifier.len();
        let unsigned = UnsignedEntry {
            seq,
            prev_hash: if seq == 0 {
                EntryHash::default()
            } else {
                self.verifier.head_hash()
            },
            recorded_at: self.now(),
            signer: key(seed).public_key(),
            event,
        };
        let bytes = unsigned.sign(&key(seed)).to_bytes();
        let verified = self
            .verifier
            .verify_one(bytes)
            .expect("test entry verifies");
        self.entries.push(verified);
        seq
    }

    /// The recorded time of the last entry.
    pub(crate) fn now(&self) -> Timestamp {
        Timestamp::from_micros(self.clock).expect("test clock")
    }

    /// The whole log viewed on `at`.
    pub(crate) fn view(&self, at: &str) -> super::View {
        super::up_to_seq(&self.entries, u64::MAX, day(at)).expect("in order")
    }
}

/// A recommendation issued on 2021-11-23 to `to` under report "REP" (published first if needed).
pub(crate) fn issue(rec: &str, to: &str) -> String {
    format!(
        r#"{{"type":"recommendation_issued","rec":"{rec}","report":"REP","addressees":["{to}"],"subject":"s","date":"2021-11-23"}}"#
    )
}

/// The report "REP".
pub(crate) const REPORT: &str =
    r#"{"type":"report_published","report":"REP","title":"t","date":"2021-11-23"}"#;
