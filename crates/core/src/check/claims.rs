//! Rules about progress claims and what assessments later said of them.

use super::{Finding, Rule, seq_list, words};
use crate::event::{
    Assessment, ClaimStatus, Coverage, Event, Evidence, EvidenceKind, ProgressClaim, Verdict,
};
use crate::state::{ClosureStatus, Party, RecView, Statement};
use crate::types::Day;

/// In-force claims about this recommendation, with their statements.
fn claims(rec: &RecView) -> impl Iterator<Item = (&Statement, &ProgressClaim)> {
    rec.in_force().filter_map(move |s| match &s.event {
        Event::ProgressClaim(c) if c.rec == rec.rec => Some((s, c)),
        _ => None,
    })
}

/// In-force assessments of this recommendation.
fn assessments(rec: &RecView) -> impl Iterator<Item = (&Statement, &Assessment)> {
    rec.in_force().filter_map(move |s| match &s.event {
        Event::Assessment(a) if a.rec == rec.rec => Some((s, a)),
        _ => None,
    })
}

/// Assessments keyed and sorted by (date, seq), the effective order the
/// rules compare claims against, so that each comparison is a binary search.
type Keyed<'a> = Vec<((Day, u64), &'a Statement, &'a Assessment)>;

fn in_effective_order<'a>(
    assessments: impl Iterator<Item = (&'a Statement, &'a Assessment)>,
) -> Keyed<'a> {
    let mut keyed: Keyed<'a> = assessments.map(|(s, a)| ((a.date, s.seq), s, a)).collect();
    keyed.sort_by_key(|(key, _, _)| *key);
    keyed
}

fn actor(s: &Statement) -> &str {
    s.actor
        .as_ref()
        .map_or("an unregistered key", |a| a.as_str())
}

/// Whether a verdict describes only partial implementation.
fn partial(a: &Assessment) -> bool {
    matches!(a.verdict, Verdict::MostRespects | Verdict::SomeRespects)
        || (a.verdict == Verdict::Verified && a.coverage == Coverage::Partial)
}

fn partial_words(a: &Assessment) -> String {
    if a.verdict == Verdict::Verified {
        "verified only for the part it covered".into()
    } else {
        format!("implemented only in {}", words(&a.verdict))
    }
}

/// **third_party_claim** (attributed-claims practice): a progress claim whose
/// signer does not answer for the claim's subject (as decided at append time,
/// successions included). It is shown in the claims list but never becomes the
/// recommendation's `claimed` value; this info finding makes that visible.
pub fn third_party_claim(rec: &RecView, out: &mut Vec<Finding>) {
    for (s, c) in claims(rec).filter(|(s, _)| s.party == Some(Party::ThirdParty)) {
        out.push(Finding::rec(
            Rule::ThirdPartyClaim,
            &rec.rec,
            s.seqs(),
            format!(
                "{} claims {} is {} on {} ({}); this is a third-party claim about {}, not counted as its own.",
                actor(s),
                rec.rec,
                words(&c.status),
                c.date,
                seq_list(&s.seqs()),
                c.subject
            ),
        ));
    }
}

/// **implemented_without_evidence** (GAO, HMICFRS closure practice): a claim
/// of `implemented`, by anyone, that cites no evidence at all, or only
/// evidence of kind `self_report`.
pub fn implemented_without_evidence(rec: &RecView, out: &mut Vec<Finding>) {
    for (s, c) in claims(rec).filter(|(_, c)| c.status == ClaimStatus::Implemented) {
        let what = if c.evidence.is_empty() {
            "cites no evidence"
        } else if c
            .evidence
            .iter()
            .all(|e| e.kind == EvidenceKind::SelfReport)
        {
            "cites only self-report evidence"
        } else {
            continue;
        };
        out.push(Finding::rec(
            Rule::ImplementedWithoutEvidence,
            &rec.rec,
            s.seqs(),
            format!(
                "{} claims {} implemented on {} ({}) but {what}.",
                actor(s),
                rec.rec,
                c.date,
                seq_list(&s.seqs())
            ),
        ));
    }
}

/// **claim_contradicted** (the South Yorkshire chain): a claim of
/// `implemented`, by anyone, followed in effective order (later date, or the
/// same date and a later seq) by an assessment of `not_implemented` or
/// `regressed`. One finding per claim, naming the first such assessment.
pub fn claim_contradicted(rec: &RecView, out: &mut Vec<Finding>) {
    // Once, not per claim: a recommendation can carry a very long run of claims.
    let against = in_effective_order(
        assessments(rec)
            .filter(|(_, a)| matches!(a.verdict, Verdict::NotImplemented | Verdict::Regressed)),
    );
    for (s, c) in claims(rec).filter(|(_, c)| c.status == ClaimStatus::Implemented) {
        let first_later = against.partition_point(|(key, _, _)| *key <= (c.date, s.seq));
        if let Some((_, a_s, a)) = against.get(first_later) {
            out.push(Finding::rec(
                Rule::ClaimContradicted,
                &rec.rec,
                s.seqs().into_iter().chain(a_s.seqs()),
                format!(
                    "{} claimed {} implemented on {} ({}), and the assessment of {} ({}) found it {}.",
                    actor(s),
                    rec.rec,
                    c.date,
                    seq_list(&s.seqs()),
                    a.date,
                    seq_list(&a_s.seqs()),
                    words(&a.verdict)
                ),
            ));
        }
    }
}

/// **partial_shown_as_complete** (ECA scale; HMICFRS 2018). Partial means a
/// verdict of `most_respects` or `some_respects`, or `verified` with
/// `partial` coverage. It fires when partial implementation is rolled up into
/// "implemented":
///
/// - an assessment that verifies a recommendation on partial coverage;
/// - a closure as implemented whose latest earlier assessment was partial;
/// - a first-party claim of implemented whose latest earlier assessment was
///   partial (the addressee reports the partial verdict as done).
pub fn partial_shown_as_complete(rec: &RecView, out: &mut Vec<Finding>) {
    for (s, a) in assessments(rec) {
        if a.verdict == Verdict::Verified && a.coverage == Coverage::Partial {
            out.push(Finding::rec(
                Rule::PartialShownAsComplete,
                &rec.rec,
                s.seqs(),
                format!(
                    "The assessment of {} ({}) verifies {} as implemented but covered only part of it.",
                    a.date,
                    seq_list(&s.seqs()),
                    rec.rec
                ),
            ));
        }
    }
    let all = in_effective_order(assessments(rec));
    let latest_before = |s: &Statement| {
        let up_to = all.partition_point(|(key, _, _)| *key <= (s.date(), s.seq));
        up_to
            .checked_sub(1)
            .and_then(|i| all.get(i))
            .map(|(_, a_s, a)| (*a_s, *a))
            .filter(|(_, a)| partial(a))
    };
    for s in rec.in_force() {
        let shown = match &s.event {
            Event::RecommendationClosed(c) if c.rec == rec.rec => {
                ClosureStatus::from(c.outcome) == ClosureStatus::Implemented
            }
            Event::ProgressClaim(c) if c.rec == rec.rec => {
                c.status == ClaimStatus::Implemented && s.party == Some(Party::FirstParty)
            }
            _ => false,
        };
        let Some((a_s, a)) = latest_before(s).filter(|_| shown) else {
            continue;
        };
        let what = match &s.event {
            Event::RecommendationClosed(_) => format!("{} was closed as implemented", rec.rec),
            _ => format!("{} claimed {} implemented", actor(s), rec.rec),
        };
        out.push(Finding::rec(
            Rule::PartialShownAsComplete,
            &rec.rec,
            s.seqs().into_iter().chain(a_s.seqs()),
            format!(
                "{what} on {} ({}) although the assessment of {} ({}) found it {}.",
                s.date(),
                seq_list(&s.seqs()),
                a.date,
                seq_list(&a_s.seqs()),
                partial_words(a)
            ),
        ));
    }
}

/// The first document in `evidence` dated before `issued_on`, with its date.
pub(crate) fn predated_document(evidence: &[Evidence], issued_on: Day) -> Option<(&Evidence, Day)> {
    evidence
        .iter()
        .find_map(|e| e.dated.filter(|d| *d < issued_on).map(|d| (e, d)))
}

/// **predated_evidence** (OURS): evidence for implementation dated before the
/// day the recommendation was made, so it cannot show work done in answer to
/// it. It applies to a claim of `partially_implemented` or `implemented`, and
/// to an assessment finding it implemented in some respect (`verified`,
/// `most_respects`, `some_respects`). One finding per claim or assessment,
/// naming the first such document. Such an assessment does not count as
/// verification for `late_implementation` and `stale`.
pub fn predated_evidence(rec: &RecView, out: &mut Vec<Finding>) {
    let done = |st: ClaimStatus| {
        matches!(
            st,
            ClaimStatus::PartiallyImplemented | ClaimStatus::Implemented
        )
    };
    let found = |v: Verdict| {
        matches!(
            v,
            Verdict::Verified | Verdict::MostRespects | Verdict::SomeRespects
        )
    };
    let claimed = claims(rec)
        .filter(|(_, c)| done(c.status))
        .map(|(s, c)| (s, "claim", c.date, c.evidence.as_slice()));
    let assessed = assessments(rec)
        .filter(|(_, a)| found(a.verdict))
        .map(|(s, a)| (s, "assessment", a.date, a.evidence.as_slice()));
    for (s, what, date, evidence) in claimed.chain(assessed) {
        let Some((doc, dated)) = predated_document(evidence, rec.issued_on) else {
            continue;
        };
        out.push(Finding::rec(
            Rule::PredatedEvidence,
            &rec.rec,
            s.seqs().into_iter().chain(rec.issued_seqs.iter().copied()),
            format!(
                "The {what} of {date} ({}) cites {:?}, dated {dated}, before {} was made on {}.",
                seq_list(&s.seqs()),
                doc.name,
                rec.rec,
                rec.issued_on
            ),
        ));
    }
}
