//! Rules about the response and about who signed what.

use super::{Finding, Rule, seq_list, words};
use crate::event::Event;
use crate::state::{ClosureStatus, Party, RecView, Statement, View};
use crate::types::{Day, Id};

fn statements_about(rec: &RecView) -> impl Iterator<Item = &Statement> {
    rec.in_force().filter(|s| s.event.rec() == Some(&rec.rec))
}

/// **response_overdue** (PRA 2002 Sch 3 para 28B): no response dated on or
/// before the due date in force (the stated `response_due`, moved by any
/// extensions), judged on the view's date. Fires both when there is still no
/// response after the due date and when the first response is dated after it.
/// A recommendation withdrawn or superseded on or before its due date owes no
/// response.
pub fn response_overdue(view: &View, rec: &RecView, out: &mut Vec<Finding>) {
    let clock = &rec.response_clock;
    let due = clock.due;
    let ended_early = !matches!(
        rec.closure.status,
        ClosureStatus::Open | ClosureStatus::Implemented | ClosureStatus::NotImplemented
    ) && rec.closure.date.is_some_and(|d| d <= due);
    if ended_early {
        return;
    }
    match clock.responded_on {
        None if view.at > due => out.push(Finding::rec(
            Rule::ResponseOverdue,
            &rec.rec,
            clock.seqs.iter().copied(),
            format!(
                "{} was due a response by {due} ({}) and none is recorded by {}.",
                rec.rec,
                seq_list(&clock.seqs),
                view.at
            ),
        )),
        Some(on) if on > due => out.push(Finding::rec(
            Rule::ResponseOverdue,
            &rec.rec,
            clock.seqs.iter().copied(),
            format!(
                "{} was due a response by {due}, but the first response is dated {on} ({}).",
                rec.rec,
                seq_list(&clock.seqs)
            ),
        )),
        _ => {}
    }
}

/// **late_extension** (PRA 28B(3)): an extension applied for after the
/// response period had ended. The period runs to the end of its last day (the
/// due date), so an application *on* the due date is still in time, as the
/// Act says ("before the end of the period"); one dated later is not. The
/// application date is `requested_on`, or the grant date when not stated.
pub fn late_extension(rec: &RecView, out: &mut Vec<Finding>) {
    for e in &rec.response_clock.extensions {
        if e.requested_on > e.previous_due {
            let seqs: Vec<u64> = rec.issued_seqs.iter().chain(&e.seqs).copied().collect();
            out.push(Finding::rec(
                Rule::LateExtension,
                &rec.rec,
                seqs,
                format!(
                    "The extension of {} to {} ({}) was applied for on {}, after the response period ended on {}.",
                    rec.rec,
                    e.new_due,
                    seq_list(&e.seqs),
                    e.requested_on,
                    e.previous_due
                ),
            ));
        }
    }
}

/// **response_incomplete** (PRA 28B(1)): a response that states neither
/// actions taken or proposed nor reasons for taking none (absent or blank).
pub fn response_incomplete(rec: &RecView, out: &mut Vec<Finding>) {
    let blank = |t: &Option<String>| t.as_deref().is_none_or(|t| t.trim().is_empty());
    for s in statements_about(rec) {
        if let Event::ResponseRecorded(r) = &s.event
            && blank(&r.actions)
            && blank(&r.reasons)
        {
            out.push(Finding::rec(
                Rule::ResponseIncomplete,
                &rec.rec,
                s.seqs(),
                format!(
                    "The response to {} of {} ({}) gives neither actions taken or proposed nor reasons for taking none.",
                    rec.rec,
                    r.date,
                    seq_list(&s.seqs())
                ),
            ));
        }
    }
}

/// Successions on the chain from `addressee` to `actor` that take effect after `day`.
fn late_successions(view: &View, actor: &Id, addressee: &Id, day: Day) -> Vec<(u64, Day)> {
    let mut current = addressee;
    let mut late = Vec::new();
    for _ in 0..=view.successions.len() {
        if current == actor {
            return late;
        }
        let Some(s) = view.successions.get(current) else {
            return Vec::new();
        };
        if s.date > day {
            late.push((s.seq, s.date));
        }
        current = &s.successor;
    }
    Vec::new()
}

/// **unauthorised_signer** (PRA 28B(1); OURS for keys). Append already
/// refuses a response, target revision or own-progress claim from a body that
/// is not an addressee or its successor, and any entry from an unknown or
/// revoked key, all in log order. What a verified log can still show, judged
/// on the statement's own effective date, is:
///
/// - a statement about this recommendation signed by a key that was not valid
///   on the statement's date: its first grant is dated later, or it was
///   revoked or rotated away before that date;
/// - a response, target revision or first-party claim whose signer answers for
///   the addressees only through a succession that took effect after the
///   statement's date.
///
/// A correction's replacement is judged with the key of the entry it replaces.
pub fn unauthorised_signer(view: &View, rec: &RecView, out: &mut Vec<Finding>) {
    for s in statements_about(rec) {
        let day = s.date();
        let kind = s.event.kind().name().replace('_', " ");
        let actor = s.actor.as_ref().map_or("an unregistered key", Id::as_str);
        if let Some(info) = view.keys.get(&s.signer)
            && !info.valid_on(day)
        {
            let mut seqs = s.seqs();
            seqs.extend(info.grants.first().map(|g| g.seq));
            let why = match (&info.revoked, info.granted_on()) {
                (Some(r), _) if r.date < day => {
                    seqs.push(r.seq);
                    format!("was revoked on {}", r.date)
                }
                (_, Some(g)) => format!("was first granted on {g}"),
                (_, None) => "was never granted".to_string(),
            };
            out.push(Finding::rec(
                Rule::UnauthorisedSigner,
                &rec.rec,
                seqs.iter().copied(),
                format!(
                    "The {kind} of {day} about {} ({}) is signed by key {} of {actor}, which {why}, so it was not valid on {day}.",
                    rec.rec,
                    seq_list(&s.seqs()),
                    s.signer.short()
                ),
            ));
        }
        let answers = match &s.event {
            Event::ResponseRecorded(_) | Event::TargetRevised(_) => true,
            Event::ProgressClaim(_) => s.party == Some(Party::FirstParty),
            _ => false,
        };
        let Some(signer) = s.actor.as_ref().filter(|_| answers) else {
            continue;
        };
        if rec
            .addressees
            .iter()
            .any(|a| view.answers_for_on(signer, a, day))
        {
            continue;
        }
        let late: Vec<(u64, Day)> = rec
            .addressees
            .iter()
            .flat_map(|a| late_successions(view, signer, a, day))
            .collect();
        if let Some((seq, date)) = late.first() {
            let seqs = s.seqs().into_iter().chain(late.iter().map(|(q, _)| *q));
            out.push(Finding::rec(
                Rule::UnauthorisedSigner,
                &rec.rec,
                seqs,
                format!(
                    "The {kind} of {day} about {} ({}) is signed by {actor}, which answers for its addressees only from the succession of {date} (seq {seq}).",
                    rec.rec,
                    seq_list(&s.seqs())
                ),
            ));
        }
    }
}

/// **closed_by_wrong_party** (GAO, HMICFRS): only the issuer or a monitor
/// closes a recommendation. Append lets any issuer key close, so a verified log
/// can still hold a closure signed by a key whose actor is an addressee, or
/// answers for one through a succession; every such closure in force fires.
pub fn closed_by_wrong_party(view: &View, rec: &RecView, out: &mut Vec<Finding>) {
    for s in statements_about(rec) {
        let (Event::RecommendationClosed(c), Some(actor)) = (&s.event, &s.actor) else {
            continue;
        };
        if let Some(addressee) = rec.addressees.iter().find(|a| view.answers_for(actor, a)) {
            out.push(Finding::rec(
                Rule::ClosedByWrongParty,
                &rec.rec,
                s.seqs(),
                format!(
                    "{} was closed as {} on {} ({}) by {actor}, which answers for the addressee {addressee}; only the issuer or a monitor may close it.",
                    rec.rec,
                    words(&c.outcome),
                    c.date,
                    seq_list(&s.seqs())
                ),
            ));
        }
    }
}
