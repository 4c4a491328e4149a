//! Unit tests of the fold and the projection.

use super::testlog::{REPORT, TestLog, day, id, issue, key};
use super::*;
use crate::event::{ClaimStatus, FundingStage};

const GRANTS: &[(u8, &str, &str, &str)] = &[
    (2, "oo", r#""issuer""#, "2020-01-01"),
    (3, "force", r#""respondent""#, "2020-01-01"),
    (4, "insp", r#""assessor""#, "2020-01-01"),
    (5, "pcc", r#""funder","respondent""#, "2020-01-01"),
];

fn claim(rec: &str, status: &str, subject: &str, date: &str) -> String {
    format!(
        r#"{{"type":"progress_claim","rec":"{rec}","status":"{status}","subject":"{subject}","narrative":"n","date":"{date}"}}"#
    )
}

fn issued_log() -> TestLog {
    let mut log = TestLog::new(GRANTS);
    log.add(2, REPORT);
    log.add(2, &issue("R1", "force"));
    log
}

#[test]
fn clock_moves_from_awaiting_to_extended_to_overdue() {
    let mut log = issued_log();
    let ext = log.add(
        2,
        r#"{"type":"response_deadline_extended","rec":"R1","new_due":"2022-02-28","date":"2022-01-10"}"#,
    );
    let clock = |at: &str| log.view(at).recs[&id("R1")].response_clock.clone();
    assert_eq!(clock("2022-01-09").status, ResponseClock::Awaiting);
    assert_eq!(clock("2022-01-17").status, ResponseClock::Extended);
    assert_eq!(clock("2022-02-28").status, ResponseClock::Extended);
    let overdue = clock("2022-03-01");
    assert_eq!(overdue.status, ResponseClock::Overdue);
    assert_eq!(
        (overdue.original_due, overdue.due),
        (day("2022-01-17"), day("2022-02-28"))
    );
    assert!(overdue.seqs.contains(&ext));
}

#[test]
fn a_retraction_hides_the_claim_from_its_date_but_keeps_it_in_history() {
    let mut log = issued_log();
    let c = log.add(3, &claim("R1", "implemented", "force", "2022-03-01"));
    let r = log.add(
        3,
        &format!(
            r#"{{"type":"correction","target_seq":{c},"reason":"wrong","date":"2022-04-01"}}"#
        ),
    );
    let before = log.view("2022-03-15");
    assert_eq!(
        before.recs[&id("R1")].claimed.as_ref().map(|c| c.status),
        Some(ClaimStatus::Implemented)
    );
    let after = log.view("2022-04-01");
    let rec = &after.recs[&id("R1")];
    assert!(rec.claimed.is_none() && rec.claims.is_empty());
    let original = rec
        .history
        .iter()
        .find(|s| s.seq == c)
        .expect("original kept");
    assert_eq!(original.standing, Standing::Retracted { by: r });
    assert!(
        rec.history
            .iter()
            .any(|s| s.seq == r && s.replaces == Some(c))
    );
}

#[test]
fn the_latest_of_two_corrections_decides() {
    let mut log = issued_log();
    let c = log.add(3, &claim("R1", "implemented", "force", "2022-03-01"));
    let fix = |status: &str, date: &str| {
        format!(
            r#"{{"type":"correction","target_seq":{c},"reason":"r","replacement":{},"date":"{date}"}}"#,
            claim("R1", status, "force", "2022-03-01")
        )
    };
    let first = log.add(3, &fix("in_progress", "2022-04-01"));
    let second = log.add(3, &fix("partially_implemented", "2022-05-01"));
    let rec = log.view("2022-06-01").recs[&id("R1")].clone();
    assert_eq!(
        rec.claimed.map(|c| (c.status, c.seqs)),
        Some((ClaimStatus::PartiallyImplemented, vec![c, second]))
    );
    let standing = |seq| {
        rec.history
            .iter()
            .find(|s| s.seq == seq)
            .map(|s| s.standing)
    };
    assert_eq!(standing(first), Some(Standing::Replaced { by: second }));
    assert_eq!(standing(c), Some(Standing::Replaced { by: second }));
    let mid = log.view("2022-04-15").recs[&id("R1")].claimed.clone();
    assert_eq!(mid.map(|c| c.status), Some(ClaimStatus::InProgress));
}

#[test]
fn third_party_claims_are_kept_apart_and_successors_claim_first_party() {
    let mut log = issued_log();
    log.add(5, &claim("R1", "implemented", "force", "2022-03-01"));
    let rec = log.view("2022-06-01").recs[&id("R1")].clone();
    assert!(
        rec.claimed.is_none(),
        "a third party's claim is not the addressee's"
    );
    assert_eq!(rec.claims[0].party, Party::ThirdParty);
    // After pcc succeeds force, its claim about force counts as force's own.
    log.add(
        1,
        r#"{"type":"body_succeeded","old_actor":"force","new_actor":"pcc","date":"2022-05-01"}"#,
    );
    log.add(5, &claim("R1", "in_progress", "force", "2022-05-02"));
    let rec = log.view("2022-06-01").recs[&id("R1")].clone();
    assert_eq!(
        rec.claimed.map(|c| (c.status, c.party)),
        Some((ClaimStatus::InProgress, Party::FirstParty))
    );
    let view = log.view("2022-06-01");
    assert_eq!(view.actors[&id("force")].succeeded_by, Some(id("pcc")));
    assert!(view.answers_for_on(&id("pcc"), &id("force"), day("2022-05-01")));
    assert!(!view.answers_for_on(&id("pcc"), &id("force"), day("2022-04-30")));
}

#[test]
fn funding_keeps_its_stage_history_in_effective_order() {
    let mut log = issued_log();
    let fund = |stage: &str, date: &str| {
        format!(
            r#"{{"type":"funding_decision","decision":"21/034","amount_minor":100,"currency":"GBP","purpose":"p","recs":["R1"],"stage":"{stage}","date":"{date}"}}"#
        )
    };
    let paid = log.add(5, &fund("paid", "2022-06-01"));
    // Backfilled: the approval is recorded after the payment.
    let approved = log.add(5, &fund("approved", "2022-02-01"));
    let view = log.view("2022-12-31");
    let f = &view.funding[&id("21/034")];
    let stages: Vec<_> = f.stages.iter().map(|s| (s.stage, s.seqs.clone())).collect();
    assert_eq!(
        stages,
        vec![
            (FundingStage::Approved, vec![approved]),
            (FundingStage::Paid, vec![paid])
        ]
    );
    assert_eq!(f.stage, FundingStage::Paid);
    assert_eq!(
        f.stage_on(day("2022-03-01")).map(|s| s.stage),
        Some(FundingStage::Approved)
    );
    assert_eq!(view.recs[&id("R1")].funding, vec![id("21/034")]);
    assert_eq!(
        log.view("2022-03-01").funding[&id("21/034")].stage,
        FundingStage::Approved
    );
}

#[test]
fn actors_show_keys_and_roles_as_of_the_date() {
    let mut log = issued_log();
    let new = key(9).public_key();
    let rot = log.add(
        3,
        &format!(r#"{{"type":"key_rotated","new_public_key":"{new}","date":"2022-06-01"}}"#),
    );
    let before = log.view("2022-05-31");
    assert_eq!(before.actors[&id("force")].keys.len(), 1);
    let after = log.view("2022-06-01");
    let force = &after.actors[&id("force")];
    assert_eq!(force.keys.len(), 2);
    assert_eq!(force.roles, vec![crate::event::Role::Respondent]);
    let old = force
        .keys
        .iter()
        .find(|k| k.public_key == key(3).public_key())
        .expect("old key");
    assert_eq!(old.revoked_seq, Some(rot));
    assert!(
        !log.view("2019-12-31").actors.contains_key(&id("oo")),
        "granted from 2020"
    );
}

#[test]
fn schedule_tracks_revisions_against_the_original_target() {
    let mut log = issued_log();
    log.add(
        3,
        r#"{"type":"response_recorded","rec":"R1","position":"accepted","actions":"a","target":"2022-06-30","date":"2022-01-10"}"#,
    );
    log.add(
        3,
        r#"{"type":"target_revised","rec":"R1","old_target":"2022-06-30","new_target":"2022-12-31","reason":"r","date":"2022-05-01"}"#,
    );
    let s = |at: &str| log.view(at).recs[&id("R1")].schedule.clone();
    assert_eq!(s("2022-04-01").status, ScheduleStatus::OnTrack);
    let revised = s("2022-07-01");
    assert_eq!(
        (revised.status, revised.slip_days),
        (ScheduleStatus::Revised, Some(184))
    );
    assert_eq!(s("2023-01-01").status, ScheduleStatus::Late);
    log.add(4, r#"{"type":"assessment","rec":"R1","verdict":"verified","coverage":"full","narrative":"n","date":"2023-02-01"}"#);
    assert_eq!(
        log.view("2023-02-01").recs[&id("R1")].schedule.status,
        ScheduleStatus::Met
    );
}

#[test]
fn out_of_order_entries_are_refused() {
    let log = issued_log();
    let mut state = State::new();
    assert_eq!(
        state.apply(&log.entries[1]),
        Err(OutOfOrder::Seq {
            expected: 0,
            found: 1
        })
    );
    assert_eq!(state, State::new());
    state.apply(&log.entries[0]).expect("genesis");
    assert_eq!(state.next_seq(), 1);
}

#[test]
fn an_entry_of_another_chain_is_refused_even_at_the_right_seq() {
    let ours = issued_log();
    let mut theirs = TestLog::new(&[(9, "other", r#""issuer""#, "2021-01-01")]);
    theirs.add(9, REPORT);
    assert_ne!(ours.entries[1].hash(), theirs.entries[1].hash());
    let mut state = State::new();
    state.apply(&ours.entries[0]).expect("genesis");
    state
        .apply(&theirs.entries[1])
        .expect("links to the same genesis");
    // Seq 2 of our chain does not follow their seq 1.
    assert_eq!(
        state.apply(&ours.entries[2]),
        Err(OutOfOrder::Link { seq: 2 })
    );
    assert_eq!(state.next_seq(), 2);
}

#[test]
fn known_at_cuts_the_log_by_recorded_time() {
    let mut log = issued_log();
    let cut = log.now();
    log.add(3, r#"{"type":"response_recorded","rec":"R1","position":"neither","reasons":"r","date":"2022-01-05"}"#);
    let then = as_of(&log.entries, day("2022-02-01"), cut).expect("in order");
    assert_eq!(
        then.recs[&id("R1")].response_clock.status,
        ResponseClock::Overdue
    );
    assert_eq!(then.known_at, Some(cut));
    let now = as_of(&log.entries, day("2022-02-01"), log.now()).expect("in order");
    assert_eq!(
        now.recs[&id("R1")].response_clock.status,
        ResponseClock::Responded
    );
}
