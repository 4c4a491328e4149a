//! Replay of some recommendations from their own entries (issue 11): for
//! every recommendation and report of the Northshire fixture, with
//! corrections, a succession and funding added, the selective view equals
//! the whole fold's view restricted to them, on both time axes and at every
//! seq. And the indexes that choose the entries are derived data: a rebuild
//! gives the same rows, and rows that disagree with the entries are found
//! and rebuilt by verification.

#[path = "fixtures/northshire.rs"]
#[allow(dead_code)]
mod northshire;

use northshire::*;
use trail_core::{Cut, SnapshotOptions};
use trail_core::{Day, Id, Index, Log, RecSelection, View};

/// The fixture, plus a correction that replaces a claim, a retraction, a
/// succession, and a funding decision across two reports' recommendations.
fn log() -> Fixture {
    let (f, _) = northshire();
    f.next_second();
    let claim_seq = f.one(NSP, claim("R2", "in_progress", "nsp", "", "", "2022-05-01"));
    f.next_second();
    f.one(
        NSP,
        format!(
            r#"{{"type":"correction","target_seq":{claim_seq},"reason":"wrong status","replacement":{},"date":"2022-05-02"}}"#,
            claim("R2", "implemented", "nsp", &evidence("audit", "2022-04-30"), "", "2022-05-01")
        ),
    );
    let retracted = f.one(INSP, assess("R9", "not_implemented", "full", "2023-02-01"));
    f.next_second();
    f.one(
        INSP,
        format!(
            r#"{{"type":"correction","target_seq":{retracted},"reason":"made in error","date":"2023-02-02"}}"#
        ),
    );
    f.one(
        PCC,
        fund(
            "23-9",
            "approved",
            r#""R2","R9""#,
            "2024-03-31",
            "2023-03-01",
        ),
    );
    f.next_second();
    f.grant(
        7,
        "nsp2",
        "Northshire Police Service",
        r#""respondent""#,
        "2023-04-01",
    );
    f.one(
        1,
        r#"{"type":"body_succeeded","old_actor":"nsp","new_actor":"nsp2","date":"2023-04-01"}"#
            .into(),
    );
    f.one(7, claim("R3", "in_progress", "nsp", "", "", "2023-05-01"));
    // Corrections that move things between recommendations, decisions and
    // reports: a claim on R2 moved to R4 and then retracted; R10 added to
    // the decision of R2 and R9; R8's issue moved to the other report.
    f.next_second();
    let moved = f.one(NSP, claim("R2", "in_progress", "nsp", "", "", "2023-06-01"));
    f.next_second();
    f.one(
        NSP,
        format!(
            r#"{{"type":"correction","target_seq":{moved},"reason":"wrong recommendation","replacement":{},"date":"2023-06-02"}}"#,
            claim("R4", "in_progress", "nsp", "", "", "2023-06-01")
        ),
    );
    f.next_second();
    f.one(
        NSP,
        format!(
            r#"{{"type":"correction","target_seq":{moved},"reason":"not a claim after all","date":"2023-07-01"}}"#
        ),
    );
    let decision = *f
        .log
        .indexed(Index::Funding, "23-9")
        .unwrap()
        .first()
        .unwrap();
    f.one(
        PCC,
        format!(
            r#"{{"type":"correction","target_seq":{decision},"reason":"R10 too","replacement":{},"date":"2023-08-01"}}"#,
            fund("23-9", "approved", r#""R2","R9","R10""#, "2024-03-31", "2023-03-01")
        ),
    );
    let r8 = *f.log.indexed(Index::Rec, "R8").unwrap().first().unwrap();
    f.one(
        ISSUER,
        format!(
            r#"{{"type":"correction","target_seq":{r8},"reason":"filed under the wrong report","replacement":{},"date":"2023-08-02"}}"#,
            issue("R8", "NS-2022", "nsp", "2021-11-23")
        ),
    );
    f
}

fn whole(log: &Log, cut: Cut, at: Day, recs: &[Id]) -> View {
    let state = log.replay_state(cut, SnapshotOptions { every: 0 }).unwrap();
    let mut view = state.view(at);
    view.restrict(recs);
    view
}

#[test]
fn the_selective_view_equals_the_whole_fold_restricted_on_both_axes() {
    let f = log();
    let head = f.log.head().unwrap();
    let recs = f.log.indexed_ids(Index::Rec).unwrap();
    assert!(recs.len() >= 12, "{recs:?}");
    let dates = ["2021-12-01", "2022-05-01", "2023-03-01", "2024-06-30"].map(day);
    let mut compared = 0;
    for seq in 0..=head.seq {
        let cut = Cut::AtSeq(seq);
        for at in dates {
            for rec in &recs {
                let rec = Id::new(rec).unwrap();
                let selection = RecSelection {
                    recs: vec![rec.clone()],
                    reports: vec![],
                };
                let selected = f.log.selected_view(&selection, cut, at).unwrap();
                assert_eq!(
                    selected,
                    whole(&f.log, cut, at, std::slice::from_ref(&rec)),
                    "{rec} at seq {seq} on {at}"
                );
                compared += 1;
            }
        }
    }
    // By report, and on the recorded-time axis.
    for report in ["NS-2021", "NS-2022"] {
        let selection = RecSelection {
            recs: vec![],
            reports: vec![Id::new(report).unwrap()],
        };
        let known: Vec<_> = f
            .log
            .entries(0, None)
            .map(|e| e.unwrap().unsigned.recorded_at)
            .collect();
        for t in known {
            let cut = Cut::KnownAt(t);
            let selected = f.log.selected_view(&selection, cut, dates[3]).unwrap();
            let of_report: Vec<Id> = f
                .log
                .replay_state(cut, SnapshotOptions { every: 0 })
                .unwrap()
                .view(dates[3])
                .recs
                .into_values()
                .filter(|r| r.report.as_str() == report)
                .map(|r| r.rec)
                .collect();
            assert_eq!(
                selected,
                whole(&f.log, cut, dates[3], &of_report),
                "{report} known at {t}"
            );
            compared += 1;
        }
    }
    eprintln!("{compared} selective views compared with the whole fold");
    // Not vacuous: at the head, R2's record holds its correction and R9's
    // the retraction and the shared funding.
    let head_view = |rec: &str| {
        let selection = RecSelection {
            recs: vec![Id::new(rec).unwrap()],
            reports: vec![],
        };
        f.log
            .selected_view(&selection, Cut::AtSeq(head.seq), dates[3])
            .unwrap()
    };
    assert!(
        head_view("R2").recs[&Id::new("R2").unwrap()]
            .history
            .iter()
            .any(|s| s.replaces.is_some())
    );
    assert_eq!(head_view("R9").funding.len(), 1);
    // The moves: R4 holds the moved (and then retracted) claim, R10 the
    // decision, and R8 is under NS-2022.
    let r4 = head_view("R4");
    assert!(
        r4.recs[&Id::new("R4").unwrap()]
            .history
            .iter()
            .any(|s| s.replaces.is_some() && !s.in_force())
    );
    assert_eq!(head_view("R10").funding.len(), 1);
    assert_eq!(
        head_view("R8").recs[&Id::new("R8").unwrap()]
            .report
            .as_str(),
        "NS-2022"
    );
}

/// Every list of every id-keyed index, to compare two states of the indexes.
fn all_lists(log: &Log) -> Vec<(Index, String, Vec<u64>)> {
    let mut out = Vec::new();
    for index in [
        Index::Rec,
        Index::Report,
        Index::ReportRecs,
        Index::Actor,
        Index::Funding,
    ] {
        for id in log.indexed_ids(index).unwrap() {
            let seqs = log.indexed(index, &id).unwrap();
            out.push((index, id, seqs));
        }
    }
    out
}

#[test]
fn a_rebuilt_index_equals_the_maintained_one() {
    let f = log();
    let before = all_lists(&f.log);
    assert!(before.len() > 20, "{before:?}");
    assert!(f.log.indexes_match().unwrap());
    f.log.rebuild_indexes().unwrap();
    assert!(f.log.indexes_match().unwrap());
    assert_eq!(before, all_lists(&f.log));
    // Verification finds the maintained rows right and leaves them.
    assert!(!f.log.verify_with(|_| Ok(())).unwrap().indexes_rebuilt());
}
