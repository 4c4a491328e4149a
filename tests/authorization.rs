//! Who may sign what, through `trail append`: every role against every v1
//! event kind, addressees, revoked keys and corrections. A refusal exits 2,
//! names the role (or rule) that was missing, and writes nothing.

mod common;

use common::*;
use serde_json::{Value, json};

/// The roles under test and the actor of the [`Site`] that holds each.
const ROLES: [(&str, &str); 5] = [
    ("admin", "admin"),
    ("issuer", "iopc"),
    ("respondent", "syp"),
    ("funder", "pcc"),
    ("assessor", "hmicfrs"),
];

/// The role an event kind needs (correction aside: any role, for its own entries).
fn needed(kind: &str) -> &'static str {
    match kind {
        "key_granted" | "key_revoked" => "admin",
        "report_published" | "recommendation_issued" => "issuer",
        "response_recorded" | "progress_claim" => "respondent",
        "funding_decision" => "funder",
        "assessment" => "assessor",
        other => panic!("no rule for {other}"),
    }
}

/// An event of `kind` that `actor` might sign; `n` keeps ids unique.
fn event_of(kind: &str, actor: &str, n: u8, spare_key: &str) -> Value {
    match kind {
        "key_granted" => {
            json!({"type": "key_granted", "actor": format!("new-{n}"), "body": format!("New body {n}"),
            "public_key": seed(100 + n).public_key().to_string(), "roles": ["respondent"], "date": "2022-01-01"})
        }
        "key_revoked" => {
            json!({"type": "key_revoked", "public_key": spare_key, "reason": "left the body",
            "date": "2022-01-01"})
        }
        "report_published" => json!({"type": "report_published", "report": format!("REP-N{n}"),
            "title": "Another report", "date": "2022-01-01"}),
        "recommendation_issued" => {
            json!({"type": "recommendation_issued", "rec": format!("REC-N{n}"),
            "report": "REP-1", "addressees": ["syp"], "subject": "More training", "date": "2022-01-01"})
        }
        "response_recorded" => {
            json!({"type": "response_recorded", "rec": "REC-1", "position": "accepted_in_part",
            "actions": "Some of it", "reasons": "Not all of it", "target": "2022-12-31", "date": "2022-01-05"})
        }
        "funding_decision" => json!({"type": "funding_decision", "decision": format!("22/{n:03}"),
            "amount_minor": 500_000, "currency": "GBP", "purpose": "Training", "recs": ["REC-1"],
            "stage": "approved", "date": "2022-01-10"}),
        "progress_claim" => {
            json!({"type": "progress_claim", "rec": "REC-1", "status": "in_progress",
            "subject": actor, "narrative": "Work has begun", "date": "2022-03-01"})
        }
        "assessment" => json!({"type": "assessment", "rec": "REC-1", "verdict": "some_respects",
            "coverage": "partial", "narrative": "Partly done", "date": "2022-09-01"}),
        other => panic!("no event for {other}"),
    }
}

/// Asserts that `out` is a refusal with all of `needles` and that the log did not grow.
#[track_caller]
fn refused(site: &Site, before: usize, out: &Run, needles: &[&str]) {
    let mut all = vec!["refused"];
    all.extend_from_slice(needles);
    out.fails(2, &all);
    assert!(
        out.stdout.is_empty(),
        "refusal printed to stdout: {}",
        out.stdout
    );
    assert_eq!(site.count(), before, "a refused append changed the log");
}

/// Asserts that `out` appended exactly one entry at seq `before`; returns it.
#[track_caller]
fn accepted(site: &Site, before: usize, out: &Run) -> u64 {
    assert_eq!(appended_seqs(out.ok()), [before as u64]);
    assert_eq!(site.count(), before + 1);
    before as u64
}

#[test]
fn each_role_signs_exactly_what_it_may() {
    let site = Site::new();
    // A spare key for key_revoked to aim at.
    let spare = seed(99).public_key().to_string();
    trail_run(&[
        "grant",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--actor",
        "spare",
        "--body",
        "Spare body",
        "--public-key",
        &spare,
        "--role",
        "issuer",
    ])
    .ok();

    let kinds = [
        "key_granted",
        "key_revoked",
        "report_published",
        "recommendation_issued",
        "response_recorded",
        "funding_decision",
        "progress_claim",
        "assessment",
    ];
    let mut n = 0u8;
    let mut own_entry: Vec<(&str, u64)> = Vec::new();
    let mut allowed = Vec::new();
    for (role, actor) in ROLES {
        for kind in kinds {
            n += 1;
            let before = site.count();
            let out = site.append(actor, &event_of(kind, actor, n, &spare));
            if needed(kind) == role {
                let seq = accepted(&site, before, &out);
                allowed.push((role, kind));
                if !own_entry.iter().any(|(a, _)| *a == actor) && !kind.starts_with("key_") {
                    own_entry.push((actor, seq));
                }
            } else {
                refused(
                    &site,
                    before,
                    &out,
                    &[
                        actor,
                        &format!("may not sign {kind}"),
                        &format!("needs the {} role", needed(kind)),
                    ],
                );
            }
        }
    }
    assert_eq!(
        allowed.len(),
        kinds.len(),
        "each kind has exactly one role that may sign it"
    );

    // Corrections: any role may correct its own entries. The admin signed
    // only key entries, which cannot be corrected, so it corrects the
    // issuer's report, as an admin may.
    own_entry.push(("admin", 6));
    for (role, actor) in ROLES {
        let (_, target) = *own_entry
            .iter()
            .find(|(a, _)| *a == actor)
            .unwrap_or_else(|| panic!("{role} signed nothing to correct"));
        let before = site.count();
        let out = site.append(
            actor,
            &json!({"type": "correction", "target_seq": target, "reason": format!("{role} retracts"),
                "date": "2022-10-01"}),
        );
        accepted(&site, before, &out);
    }
    trail_run(&["verify", "--log", arg(&site.log)]).ok();
}

#[test]
fn a_respondent_may_not_answer_a_recommendation_addressed_to_another() {
    let site = Site::new();
    let before = site.count();
    let response = json!({"type": "response_recorded", "rec": "REC-2", "position": "accepted",
        "date": "2022-01-05"});
    refused(
        &site,
        before,
        &site.append("syp", &response),
        &["REC-2 is not addressed to syp", "college"],
    );
    // A claim of its own progress on it is refused for the same reason.
    let claim = json!({"type": "progress_claim", "rec": "REC-2", "status": "implemented", "subject": "syp",
        "narrative": "Done", "date": "2022-05-01"});
    refused(
        &site,
        before,
        &site.append("syp", &claim),
        &["REC-2 is not addressed to syp"],
    );
    // The addressee may.
    let before = site.count();
    accepted(&site, before, &site.append("college", &response));
}

#[test]
fn a_revoked_key_signs_nothing() {
    let site = Site::new();
    // The funder signs once, then its key is revoked.
    let funding = json!({"type": "funding_decision", "decision": "21/001", "amount_minor": 100,
        "currency": "GBP", "purpose": "Training", "recs": ["REC-1"], "stage": "approved", "date": "2022-01-10"});
    let before = site.count();
    let funded = accepted(&site, before, &site.append("pcc", &funding));
    let out = trail_run(&[
        "revoke",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--public-key",
        &site.public("pcc"),
        "--reason",
        "key lost",
    ]);
    let revoked_at = appended_seqs(out.ok())[0];

    let before = site.count();
    let mut next = funding.clone();
    next["decision"] = json!("21/002");
    let revoked = format!("was revoked at seq {revoked_at}");
    refused(
        &site,
        before,
        &site.append("pcc", &next),
        &["pcc", &revoked],
    );
    let correction = json!({"type": "correction", "target_seq": funded, "reason": "wrong amount",
        "date": "2022-02-01"});
    refused(&site, before, &site.append("pcc", &correction), &[&revoked]);

    // A revoked admin key cannot grant either (a second admin revokes the first).
    let second = seed(7);
    second.write_new_file(&site.path("admin2.key")).unwrap();
    trail_run(&[
        "grant",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--actor",
        "admin2",
        "--body",
        "Second admin",
        "--public-key",
        &second.public_key().to_string(),
        "--role",
        "admin",
    ])
    .ok();
    let out = trail_run(&[
        "revoke",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.path("admin2.key")),
        "--public-key",
        &site.public("admin"),
        "--reason",
        "rotated",
    ]);
    let admin_revoked = appended_seqs(out.ok())[0];
    let before = site.count();
    let out = trail_run(&[
        "grant",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--actor",
        "x",
        "--body",
        "X",
        "--public-key",
        &seed(8).public_key().to_string(),
        "--role",
        "issuer",
    ]);
    refused(
        &site,
        before,
        &out,
        &[&format!("was revoked at seq {admin_revoked}")],
    );
    // A key revoked stays revoked: granting it again is refused.
    let out = trail_run(&[
        "grant",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.path("admin2.key")),
        "--actor",
        "pcc",
        "--body",
        "Body of pcc",
        "--public-key",
        &site.public("pcc"),
        "--role",
        "funder",
    ]);
    refused(&site, before, &out, &["revoked"]);
    trail_run(&["verify", "--log", arg(&site.log)]).ok();
}

#[test]
fn corrections_by_the_same_actor_or_an_admin_only() {
    let site = Site::new();
    let response = json!({"type": "response_recorded", "rec": "REC-1", "position": "not_accepted",
        "reasons": "No budget", "date": "2022-01-05"});
    let before = site.count();
    let target = accepted(&site, before, &site.append("syp", &response));
    let correction = |reason: &str| {
        json!({"type": "correction", "target_seq": target, "reason": reason, "date": "2022-02-01",
            "replacement": {"type": "response_recorded", "rec": "REC-1", "position": "accepted",
                "actions": "Budget found", "date": "2022-01-05"}})
    };
    let only = "only that actor or an admin may correct it";
    let before = site.count();
    for other in ["college", "iopc", "pcc", "hmicfrs"] {
        refused(
            &site,
            before,
            &site.append(other, &correction("not mine")),
            &[
                &format!("correction of seq {target}"),
                "signed by syp",
                only,
            ],
        );
    }
    accepted(
        &site,
        before,
        &site.append("syp", &correction("we changed our minds")),
    );
    accepted(
        &site,
        before + 1,
        &site.append("admin", &correction("admin fixes it")),
    );

    // A replacement of another kind, and a correction of a key grant, are refused.
    let before = site.count();
    let wrong_kind = json!({"type": "correction", "target_seq": target, "reason": "x", "date": "2022-02-01",
        "replacement": {"type": "assessment", "rec": "REC-1", "verdict": "verified", "coverage": "full",
            "narrative": "n", "date": "2022-01-05"}});
    refused(
        &site,
        before,
        &site.append("syp", &wrong_kind),
        &["replacement is assessment"],
    );
    let grant = json!({"type": "correction", "target_seq": 1, "reason": "x", "date": "2022-02-01"});
    refused(
        &site,
        before,
        &site.append("admin", &grant),
        &["cannot be corrected"],
    );
    let future = json!({"type": "correction", "target_seq": before + 5, "reason": "x", "date": "2022-02-01"});
    refused(
        &site,
        before,
        &site.append("syp", &future),
        &["earlier entry"],
    );
}

#[test]
fn a_key_with_several_roles_and_a_second_key_for_an_actor() {
    let site = Site::new();
    let multi = seed(11);
    multi.write_new_file(&site.path("multi.key")).unwrap();
    trail_run(&[
        "grant",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--actor",
        "mayor",
        "--body",
        "Mayoral office",
        "--public-key",
        &multi.public_key().to_string(),
        "--role",
        "issuer",
        "--role",
        "funder",
    ])
    .ok();
    let append = |file: &str, event: &Value| {
        std::fs::write(site.path("e.json"), event.to_string()).unwrap();
        trail_run(&[
            "append",
            "--log",
            arg(&site.log),
            "--key",
            arg(&site.path(file)),
            "--event",
            arg(&site.path("e.json")),
        ])
    };
    let before = site.count();
    accepted(
        &site,
        before,
        &append("multi.key", &event_of("report_published", "mayor", 1, "")),
    );
    accepted(
        &site,
        before + 1,
        &append("multi.key", &event_of("funding_decision", "mayor", 2, "")),
    );
    refused(
        &site,
        before + 2,
        &append("multi.key", &event_of("assessment", "mayor", 3, "")),
        &["needs the assessor role"],
    );

    // Granting to an existing actor adds a key that signs as that actor.
    let syp2 = seed(12);
    syp2.write_new_file(&site.path("syp2.key")).unwrap();
    trail_run(&[
        "grant",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--actor",
        "syp",
        "--body",
        "Body of syp",
        "--public-key",
        &syp2.public_key().to_string(),
        "--role",
        "respondent",
    ])
    .ok();
    let before = site.count();
    accepted(
        &site,
        before,
        &append("syp2.key", &event_of("response_recorded", "syp", 4, "")),
    );
    assert_eq!(show_json(&site.log).pop().unwrap()["actor"], "syp");
}
