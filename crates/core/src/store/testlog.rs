//! A small log for the store's unit tests: an admin, an issuer `noo` whose
//! body is `body`, and a report `REP` (seq 2) with one recommendation `R1`
//! (seq 3), with the title and subject given.

use crate::event::Event;
use crate::keys::SecretKey;
use crate::store::Log;
use crate::types::Id;

/// The issuer's key (seed 2).
pub(crate) fn issuer() -> SecretKey {
    SecretKey::from_seed(&[2; 32])
}

pub(crate) fn log_with_a_report(
    dir: &std::path::Path,
    body: &str,
    title: &str,
    subject: &str,
) -> Log {
    let admin = SecretKey::from_seed(&[1; 32]);
    let log = Log::create(dir, "a", &admin, Id::new("admin").unwrap(), "Admin").unwrap();
    let grant = serde_json::json!({"type": "key_granted", "actor": "noo", "body": body,
        "public_key": issuer().public_key().to_string(), "roles": ["issuer"], "date": "2021-01-01"});
    log.append(&admin, Event::from_json(&grant.to_string()).unwrap())
        .unwrap();
    let events = [
        serde_json::json!({"type": "report_published", "report": "REP", "title": title, "date": "2021-02-01"}),
        serde_json::json!({"type": "recommendation_issued", "rec": "R1", "report": "REP",
            "addressees": ["noo"], "subject": subject, "date": "2021-02-01"}),
    ];
    log.append_all(
        &issuer(),
        events
            .iter()
            .map(|j| Event::from_json(&j.to_string()).unwrap())
            .collect(),
    )
    .unwrap();
    log
}
