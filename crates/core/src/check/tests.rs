//! Unit tests of rule boundaries and interpretations.

use super::*;
use crate::state::testlog::{REPORT, TestLog, issue, key};

const GRANTS: &[(u8, &str, &str, &str)] = &[
    (2, "oo", r#""issuer""#, "2020-01-01"),
    (3, "force", r#""respondent""#, "2020-01-01"),
    (4, "insp", r#""assessor""#, "2020-01-01"),
    (5, "pcc", r#""funder","respondent","issuer""#, "2020-01-01"),
];

/// Seq of the first recommendation issued by `issued_log` (after genesis, four grants and the report).
const R1: u64 = 6;

fn issued_log(recs: &[&str]) -> TestLog {
    let mut log = TestLog::new(GRANTS);
    log.add(2, REPORT);
    for rec in recs {
        log.add(2, &issue(rec, "force"));
    }
    log
}

fn fired(log: &TestLog, at: &str) -> Vec<(Rule, Vec<u64>)> {
    check(&log.view(at), &CheckConfig::default())
        .into_iter()
        .map(|f| (f.rule, f.seqs))
        .collect()
}

fn accept(rec: &str, extra: &str, date: &str) -> String {
    format!(
        r#"{{"type":"response_recorded","rec":"{rec}","position":"accepted","actions":"a"{extra},"date":"{date}"}}"#
    )
}

#[test]
fn rule_table_is_complete_and_ids_are_unique() {
    assert_eq!(Rule::ALL.len(), 17);
    let ids: std::collections::BTreeSet<_> = Rule::ALL.iter().map(|r| r.id()).collect();
    assert_eq!(ids.len(), 17);
    for rule in Rule::ALL {
        let json = serde_json::to_string(rule).expect("serializes");
        assert_eq!(json, format!("\"{}\"", rule.id()));
    }
    assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Error);
    assert_eq!("warning".parse::<Severity>(), Ok(Severity::Warning));
    assert!("fatal".parse::<Severity>().is_err());
}

#[test]
fn config_reads_a_partial_file_and_refuses_unknown_keys() {
    let c: CheckConfig = serde_json::from_str(r#"{"stale_months": 3}"#).expect("partial");
    assert_eq!(
        c,
        CheckConfig {
            stale_months: 3,
            ..CheckConfig::default()
        }
    );
    assert!(serde_json::from_str::<CheckConfig>(r#"{"stale_weeks": 3}"#).is_err());
    // Absurd thresholds saturate instead of panicking.
    let huge = CheckConfig {
        timetable_days: u32::MAX,
        late_implementation_days: u32::MAX,
        stale_months: u32::MAX,
        funding_unlinked_months: u32::MAX,
    };
    let mut log = issued_log(&["R1"]);
    log.add(
        3,
        r#"{"type":"response_recorded","rec":"R1","position":"accepted","date":"2022-01-10"}"#,
    );
    let findings = check(&log.view("2030-01-01"), &huge);
    // Only the rule with no threshold fires (a vacuous `all` would pass on none).
    let rules: Vec<Rule> = findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, [Rule::ResponseIncomplete], "{findings:#?}");
}

#[test]
fn response_overdue_starts_the_day_after_the_due_date() {
    let mut log = issued_log(&["R1"]);
    assert!(fired(&log, "2022-01-17").is_empty());
    assert_eq!(
        fired(&log, "2022-01-18"),
        vec![(Rule::ResponseOverdue, vec![R1])]
    );
    // A late response still leaves the due date missed.
    let late = log.add(3, &accept("R1", r#","target":"2022-12-31""#, "2022-01-20"));
    assert_eq!(
        fired(&log, "2022-02-01"),
        vec![(Rule::ResponseOverdue, vec![R1, late])]
    );
}

#[test]
fn an_extension_applied_for_on_the_due_date_is_in_time() {
    let mut log = issued_log(&["R1", "R2"]);
    let ext = |rec: &str, requested: &str| {
        format!(
            r#"{{"type":"response_deadline_extended","rec":"{rec}","new_due":"2022-03-01","requested_on":"{requested}","date":"2022-01-25"}}"#
        )
    };
    log.add(2, &ext("R1", "2022-01-17"));
    let late = log.add(2, &ext("R2", "2022-01-18"));
    let found = fired(&log, "2022-02-01");
    assert_eq!(found, vec![(Rule::LateExtension, vec![R1 + 1, late])]);
}

#[test]
fn unauthorised_signer_catches_early_successors_and_revoked_keys() {
    let mut log = issued_log(&["R1", "R2"]);
    log.add(
        1,
        r#"{"type":"body_succeeded","old_actor":"force","new_actor":"pcc","date":"2022-06-01"}"#,
    );
    // pcc answers for force only from 2022-06-01, but this response is dated before.
    let early = log.add(5, &accept("R1", r#","target":"2022-12-31""#, "2022-01-10"));
    // The assessor signs about 2022-01-12; its key's revocation, recorded
    // later, is dated 2022-01-01: the key was not valid on the statement's date.
    let assessment = log.add(
        4,
        r#"{"type":"assessment","rec":"R2","verdict":"insufficient_evidence","coverage":"full","narrative":"n","date":"2022-01-12"}"#,
    );
    let revoke = log.add(
        1,
        &format!(
            r#"{{"type":"key_revoked","public_key":"{}","reason":"lost","date":"2022-01-01"}}"#,
            key(4).public_key()
        ),
    );
    let found: Vec<_> = fired(&log, "2022-01-15")
        .into_iter()
        .filter(|(r, _)| *r == Rule::UnauthorisedSigner)
        .collect();
    let grant_of_assessor = 3;
    assert_eq!(
        found,
        vec![
            (Rule::UnauthorisedSigner, vec![early - 1, early]),
            (
                Rule::UnauthorisedSigner,
                vec![grant_of_assessor, assessment, revoke]
            ),
        ]
    );
}

#[test]
fn closed_by_wrong_party_and_partial_rollups() {
    let mut log = issued_log(&["R1", "R2"]);
    log.add(3, &accept("R1", r#","target":"2022-12-31""#, "2022-01-10"));
    log.add(3, &accept("R2", r#","target":"2022-12-31""#, "2022-01-10"));
    log.add(
        1,
        r#"{"type":"body_succeeded","old_actor":"force","new_actor":"pcc","date":"2022-01-01"}"#,
    );
    let closed = log.add(
        5,
        r#"{"type":"recommendation_closed","rec":"R1","outcome":"withdrawn","date":"2022-03-01"}"#,
    );
    let most = log.add(
        4,
        r#"{"type":"assessment","rec":"R2","verdict":"some_respects","coverage":"full","narrative":"n","date":"2022-03-01"}"#,
    );
    let rolled = log.add(
        3,
        r#"{"type":"progress_claim","rec":"R2","status":"implemented","subject":"force","narrative":"n","evidence":[{"name":"a","blake3":"0000000000000000000000000000000000000000000000000000000000000000","kind":"audit"}],"date":"2022-03-02"}"#,
    );
    let partial = log.add(
        4,
        r#"{"type":"assessment","rec":"R2","verdict":"verified","coverage":"partial","narrative":"n","date":"2022-04-01"}"#,
    );
    let found = fired(&log, "2022-04-02");
    assert!(
        found.contains(&(Rule::ClosedByWrongParty, vec![closed])),
        "{found:?}"
    );
    assert!(
        found.contains(&(Rule::PartialShownAsComplete, vec![most, rolled])),
        "{found:?}"
    );
    assert!(
        found.contains(&(Rule::PartialShownAsComplete, vec![partial])),
        "{found:?}"
    );
}

#[test]
fn stale_and_timetable_fire_only_after_their_windows() {
    let mut log = issued_log(&["R1"]);
    let resp = log.add(3, r#"{"type":"response_recorded","rec":"R1","position":"accepted_in_part","actions":"a","date":"2022-01-10"}"#);
    assert!(
        fired(&log, "2022-02-07").is_empty(),
        "28 days include 2022-02-07"
    );
    assert_eq!(
        fired(&log, "2022-02-08"),
        vec![(Rule::AcceptedWithoutTimetable, vec![resp])]
    );
    let target = log.add(
        3,
        r#"{"type":"target_revised","rec":"R1","old_target":"2022-01-10","new_target":"2023-06-30","reason":"plan","date":"2022-02-20"}"#,
    );
    let at = |d: &str| {
        fired(&log, d)
            .into_iter()
            .map(|(r, _)| r)
            .collect::<Vec<_>>()
    };
    assert_eq!(at("2022-07-10"), vec![Rule::AcceptedWithoutTimetable]);
    assert_eq!(
        at("2022-07-11"),
        vec![Rule::AcceptedWithoutTimetable, Rule::Stale]
    );
    let _ = target;
}

#[test]
fn list_mismatch_ignores_small_agendas_and_flags_unissued_recs() {
    let mut log = issued_log(&["R1", "R2", "R3", "R4"]);
    let session = |recs: &str, date: &str| {
        format!(
            r#"{{"type":"accountability_session","forum":"Board","recs":[{recs}],"date":"{date}"}}"#
        )
    };
    log.add(5, &session(r#""R1""#, "2022-01-01"));
    assert!(
        fired(&log, "2022-01-02").is_empty(),
        "one rec is an agenda, not a list"
    );
    let listed = log.add(5, &session(r#""R1","R2","R3""#, "2022-01-03"));
    assert_eq!(
        fired(&log, "2022-01-04"),
        vec![(Rule::ListMismatch, vec![R1 + 3, listed])]
    );
}
