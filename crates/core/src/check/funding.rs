//! Rules about money and about lists of recommendations.

use std::collections::BTreeSet;

use super::{CheckConfig, Finding, Rule, plus_months, seq_list, words};
use crate::event::{Event, FundingStage};
use crate::state::{ClosureStatus, RecView, View};
use crate::types::{Day, Id};

/// How far money has got: declined and withdrawn money is not there at all.
fn rank(stage: FundingStage) -> u8 {
    match stage {
        FundingStage::Declined | FundingStage::Withdrawn => 0,
        FundingStage::Approved => 1,
        FundingStage::Committed => 2,
        FundingStage::Paid => 3,
    }
}

/// **funding_stage_inflated** (money-has-stages practice): a progress claim
/// cites a funding decision at a stage the decision had not reached on the
/// claim's date (paid when only approved; anything when declined, withdrawn
/// or not yet recorded), or relies on money whose period (`period_end` of the
/// latest stage by then) ended before the claim's date.
pub fn funding_stage_inflated(view: &View, rec: &RecView, out: &mut Vec<Finding>) {
    for s in rec.in_force() {
        let Event::ProgressClaim(c) = &s.event else {
            continue;
        };
        if c.rec != rec.rec {
            continue;
        }
        for cite in &c.funding {
            let step = view
                .funding
                .get(&cite.decision)
                .and_then(|f| f.stage_on(c.date));
            let mut seqs = s.seqs();
            let problem = match step {
                None => format!("decision {} had no stage recorded by then", cite.decision),
                Some(step) if rank(cite.stage) > rank(step.stage) => {
                    seqs.extend(step.seqs.iter().copied());
                    format!(
                        "decision {} was only {} ({})",
                        cite.decision,
                        words(&step.stage),
                        seq_list(&step.seqs)
                    )
                }
                Some(step) => match step.period_end.filter(|end| *end < c.date) {
                    Some(end) => {
                        seqs.extend(step.seqs.iter().copied());
                        format!(
                            "the period of decision {} ended on {end} ({})",
                            cite.decision,
                            seq_list(&step.seqs)
                        )
                    }
                    None => continue,
                },
            };
            out.push(Finding {
                decision: Some(cite.decision.clone()),
                ..Finding::rec(
                    Rule::FundingStageInflated,
                    &rec.rec,
                    seqs,
                    format!(
                        "The claim about {} of {} ({}) treats decision {} as {}, but on that date {problem}.",
                        rec.rec,
                        c.date,
                        seq_list(&s.seqs()),
                        cite.decision,
                        words(&cite.stage)
                    ),
                )
            });
        }
    }
}

/// **funding_unlinked** (OURS): money approved (the first stage at approved,
/// committed or paid) for a recommendation, and no in-force progress claim
/// about that recommendation, by anyone, dated from the approval to
/// [`CheckConfig::funding_unlinked_months`] months after it, cites the
/// decision. Judged once that window has closed on the view's date; money
/// declined or withdrawn by the end of the window is not expected to be cited.
pub fn funding_unlinked(view: &View, config: &CheckConfig, out: &mut Vec<Finding>) {
    for f in view.funding.values() {
        let Some(approval) = f.stages.iter().find(|s| rank(s.stage) > 0) else {
            continue;
        };
        let deadline = plus_months(approval.date, config.funding_unlinked_months);
        let gone = f.stage_on(deadline).is_some_and(|s| rank(s.stage) == 0);
        if view.at <= deadline || gone {
            continue;
        }
        for rec_id in &approval.recs {
            let Some(rec) = view.recs.get(rec_id) else {
                continue;
            };
            let cited = rec.in_force().any(|s| match &s.event {
                Event::ProgressClaim(c) => {
                    c.rec == *rec_id
                        && (approval.date..=deadline).contains(&c.date)
                        && c.funding.iter().any(|x| x.decision == f.decision)
                }
                _ => false,
            });
            if cited {
                continue;
            }
            out.push(Finding {
                decision: Some(f.decision.clone()),
                ..Finding::rec(
                    Rule::FundingUnlinked,
                    rec_id,
                    approval.seqs.iter().copied(),
                    format!(
                        "Funding decision {} was {} on {} ({}) for {rec_id}, and no claim about {rec_id} cites it by {deadline}, {} months later.",
                        f.decision,
                        words(&approval.stage),
                        approval.date,
                        seq_list(&approval.seqs),
                        config.funding_unlinked_months
                    ),
                )
            });
        }
    }
}

/// Whether the issuer had made `rec` by `day` and not closed it by then.
fn open_on(rec: &RecView, day: Day) -> bool {
    let closed =
        rec.closure.status != ClosureStatus::Open && rec.closure.date.is_some_and(|d| d <= day);
    rec.issued_on <= day && !closed
}

/// **list_mismatch** (GAO-IG Act; the 12 vs 13 of the Linden reporting).
/// The issuer's list for a report is the recommendations issued under it and
/// not closed, on a given day. Another body's list is an accountability
/// session that names recommendations of that report: when it names at least
/// two of them and at least half of the issuer's list for its date, it is
/// read as that body's list for the report, and every difference fires, one
/// finding per recommendation: one of the issuer's open recommendations
/// missing from it, or one on it that the issuer had not yet made or had
/// already closed on the session's date. Smaller selections are ordinary
/// agendas, and funding decisions name the recommendations the money serves,
/// a deliberate subset, so neither is read as a list.
pub fn list_mismatch(view: &View, out: &mut Vec<Finding>) {
    for session in &view.sessions {
        let reports: BTreeSet<&Id> = session
            .recs
            .iter()
            .filter_map(|r| view.recs.get(r))
            .map(|r| &r.report)
            .collect();
        for report in reports {
            let listed: BTreeSet<&Id> = session
                .recs
                .iter()
                .filter(|r| view.recs.get(*r).is_some_and(|v| v.report == *report))
                .collect();
            let issuers: BTreeSet<&Id> = view
                .recs
                .values()
                .filter(|r| r.report == *report && open_on(r, session.date))
                .map(|r| &r.rec)
                .collect();
            if listed.len() < 2 || listed.len() * 2 < issuers.len() || listed == issuers {
                continue;
            }
            let header = format!(
                "The {} session of {} ({}) lists {} recommendations of report {report}",
                session.forum,
                session.date,
                seq_list(&session.seqs),
                listed.len()
            );
            let differing = issuers.symmetric_difference(&listed);
            for rec_id in differing {
                let Some(rec) = view.recs.get(*rec_id) else {
                    continue;
                };
                let detail = if issuers.contains(rec_id) {
                    format!(
                        "but not {rec_id}, which the issuer made on {} ({}) and had not closed",
                        rec.issued_on,
                        seq_list(&rec.issued_seqs)
                    )
                } else if rec.issued_on > session.date {
                    format!(
                        "including {rec_id}, which the issuer made only on {}",
                        rec.issued_on
                    )
                } else {
                    format!("including {rec_id}, which the issuer had already closed")
                };
                out.push(Finding::rec(
                    Rule::ListMismatch,
                    rec_id,
                    session.seqs.iter().chain(&rec.issued_seqs).copied(),
                    format!(
                        "{header}, {detail}; the issuer's list then has {}.",
                        issuers.len()
                    ),
                ));
            }
        }
    }
}
