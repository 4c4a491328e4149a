//! Rules about timetables: acceptance, target dates and keeping up.

use super::claims::predated_document;
use super::{CheckConfig, Finding, Rule, plus_days, plus_months, seq_list, words};
use crate::event::{Event, Position, Verdict};
use crate::state::{ClosureStatus, Party, RecView, Statement, View};
use crate::types::Day;

/// The first response accepting the recommendation (in full or in part), if
/// the latest position still accepts it.
fn acceptance(rec: &RecView) -> Option<(&Statement, Day)> {
    let accepts = |p: Position| matches!(p, Position::Accepted | Position::AcceptedInPart);
    if !rec.position.as_ref().is_some_and(|p| accepts(p.position)) {
        return None;
    }
    rec.in_force().find_map(|s| match &s.event {
        Event::ResponseRecorded(r) if r.rec == rec.rec && accepts(r.position) => Some((s, r.date)),
        _ => None,
    })
}

/// Whether the latest assessment verifies the recommendation as implemented
/// on evidence that can show it: one citing a document dated before the
/// recommendation was made shows nothing about the response to it.
fn verified_implemented(rec: &RecView) -> bool {
    let Some(v) = rec.verified.as_ref() else {
        return false;
    };
    let predated = rec.in_force().any(|s| {
        s.seqs() == v.seqs
            && matches!(&s.event, Event::Assessment(a) if predated_document(&a.evidence, rec.issued_on).is_some())
    });
    v.verdict == Verdict::Verified && !predated
}

/// **accepted_without_timetable** (Treasury DAO 02/20; GAO-IG Act): the
/// recommendation is accepted (in full or in part, by its latest position) and
/// no target date was recorded, by a response or a revision dated within
/// [`CheckConfig::timetable_days`] of the first acceptance. It fires only once
/// that window has closed on the view's date, and not for a recommendation
/// closed within the window.
pub fn accepted_without_timetable(
    view: &View,
    rec: &RecView,
    config: &CheckConfig,
    out: &mut Vec<Finding>,
) {
    let Some((s, accepted_on)) = acceptance(rec) else {
        return;
    };
    let deadline = plus_days(accepted_on, config.timetable_days);
    let closed_in_time = rec.closure.date.is_some_and(|d| d <= deadline);
    let timetabled = rec.schedule.changes.iter().any(|c| c.date <= deadline);
    if view.at <= deadline || timetabled || closed_in_time {
        return;
    }
    out.push(Finding::rec(
        Rule::AcceptedWithoutTimetable,
        &rec.rec,
        s.seqs(),
        format!(
            "{} was accepted on {accepted_on} ({}) and no target date was recorded by {deadline}, {} days later.",
            rec.rec,
            seq_list(&s.seqs()),
            config.timetable_days
        ),
    ));
}

/// **silent_target_slip** (Treasury DAO 02/20): the target in force moved to
/// a later date other than by a `target_revised` dated on or before the old
/// target. That covers a later response that simply states a later target
/// (no notice at all) and a revision made only after the old target had
/// passed. Dates are effective dates, so a backfilled log is judged by what
/// its statements say, not by when they were typed in.
pub fn silent_target_slip(rec: &RecView, out: &mut Vec<Finding>) {
    let changes = &rec.schedule.changes;
    for (i, change) in changes.iter().enumerate() {
        let Some(old) = change.from.filter(|old| change.to > *old) else {
            continue;
        };
        let how = if !change.revision {
            format!("by the response of {} with no target revision", change.date)
        } else if change.date > old {
            format!(
                "by a revision made on {}, after the old target had passed",
                change.date
            )
        } else {
            continue;
        };
        let before = i.checked_sub(1).and_then(|j| changes.get(j));
        let seqs = before
            .into_iter()
            .flat_map(|b| b.seqs.iter().copied())
            .chain(change.seqs.iter().copied());
        out.push(Finding::rec(
            Rule::SilentTargetSlip,
            &rec.rec,
            seqs,
            format!(
                "The target for {} moved from {old} to {} {how} ({}).",
                rec.rec,
                change.to,
                seq_list(&change.seqs)
            ),
        ));
    }
}

/// **late_implementation** (Treasury DAO 02/20; Commons 2010; GAO): accepted,
/// open, not verified implemented by the latest assessment, and on the view's
/// date either past the target date in force or more than
/// [`CheckConfig::late_implementation_days`] after the first acceptance,
/// whatever the target: the Commons expect a statement when an accepted
/// recommendation is not done within a year, and GAO lists those open for
/// over a year, so a distant target does not hide it. The sentence says which
/// deadline passed (or both). An assessment resting on evidence dated before
/// the recommendation was made does not count as verification (see
/// [`predated_evidence`](super::claims::predated_evidence)).
pub fn late_implementation(
    view: &View,
    rec: &RecView,
    config: &CheckConfig,
    out: &mut Vec<Finding>,
) {
    let Some((s, accepted_on)) = acceptance(rec) else {
        return;
    };
    if rec.closure.status != ClosureStatus::Open || verified_implemented(rec) {
        return;
    }
    let a_year_on = plus_days(accepted_on, config.late_implementation_days);
    let target = rec
        .schedule
        .target
        .zip(rec.schedule.changes.last())
        .filter(|(t, _)| view.at > *t)
        .map(|(t, c)| format!("its target of {t} ({})", seq_list(&c.seqs)));
    let year = (view.at > a_year_on).then(|| {
        format!(
            "{} days after acceptance ({a_year_on})",
            config.late_implementation_days
        )
    });
    let what = match (target, year) {
        (Some(t), Some(y)) => format!("{t} and {y}"),
        (Some(t), None) => t,
        (None, Some(y)) => match rec.schedule.target {
            Some(t) => format!("{y}, although its target of {t} is still ahead"),
            None => y,
        },
        (None, None) => return,
    };
    let mut seqs = s.seqs();
    seqs.extend(
        rec.schedule
            .changes
            .last()
            .into_iter()
            .flat_map(|c| c.seqs.iter().copied()),
    );
    let verdict = match &rec.verified {
        Some(v) => {
            seqs.extend(v.seqs.iter().copied());
            let predated = if v.verdict == Verdict::Verified {
                " on evidence dated before it was made"
            } else {
                ""
            };
            format!(
                "the latest assessment ({}) found it {}{predated}",
                seq_list(&v.seqs),
                words(&v.verdict)
            )
        }
        None => "no assessment is recorded".to_string(),
    };
    out.push(Finding::rec(
        Rule::LateImplementation,
        &rec.rec,
        seqs,
        format!(
            "{} was accepted on {accepted_on} ({}); on {} it is past {what}, and {verdict}.",
            rec.rec,
            seq_list(&s.seqs()),
            view.at
        ),
    ));
}

/// **stale** (twice-yearly reporting): accepted, open, not verified
/// implemented, and nothing from the addressee's side for
/// [`CheckConfig::stale_months`] months before the view's date. What counts as
/// activity: the acceptance itself, a first-party progress claim, or an
/// accountability session that discussed it. Third-party claims do not count:
/// they are not the body reporting on its own work.
pub fn stale(view: &View, rec: &RecView, config: &CheckConfig, out: &mut Vec<Finding>) {
    let Some((s, _)) = acceptance(rec) else {
        return;
    };
    if rec.closure.status != ClosureStatus::Open || verified_implemented(rec) {
        return;
    }
    let last = rec
        .in_force()
        .filter(|st| match &st.event {
            Event::ProgressClaim(c) => c.rec == rec.rec && st.party == Some(Party::FirstParty),
            Event::AccountabilitySession(_) => true,
            _ => false,
        })
        .chain([s])
        .max_by_key(|st| (st.date(), st.seq));
    let Some(last) = last else {
        return;
    };
    let until = plus_months(last.date(), config.stale_months);
    if view.at <= until {
        return;
    }
    out.push(Finding::rec(
        Rule::Stale,
        &rec.rec,
        last.seqs(),
        format!(
            "{} is accepted and open, and the last claim, session or acceptance is of {} ({}), more than {} months before {}.",
            rec.rec,
            last.date(),
            seq_list(&last.seqs()),
            config.stale_months,
            view.at
        ),
    ));
}
