//! The pieces of one recommendation's record that the served pages and
//! `trail report --format html` share, so the two never drift apart: the
//! overview row, the six status dimensions, where the record parts ways,
//! the findings, and every statement in date order.

use maud::{Markup, html};
use trail_core::check::Rule;
use trail_core::event::Event;
use trail_core::seq_list;
use trail_core::state::{Party, RecView, Standing, Statement};
use trail_core::{Finding, View};

use super::layout::{Links, body_link, words};
use super::text::{excerpt, inert, money};

/// One recommendation as an overview table row: the six status dimensions
/// kept apart, then its findings by severity.
pub(crate) fn overview_row(view: &View, r: &RecView, found: &[&Finding], links: &Links) -> Markup {
    let claimed = match &r.claimed {
        Some(c) => words(&c.status),
        None if r.claims.is_empty() => "no claim".into(),
        None => "none of its own".into(),
    };
    let third = r
        .claims
        .iter()
        .filter(|c| c.party == Party::ThirdParty)
        .count();
    html! {
        tr {
            td {
                a href=(links.rec(&r.rec)) { (r.rec) }
                br; small { (excerpt(&r.subject, 90)) }
            }
            td { @for (i, a) in r.addressees.iter().enumerate() { @if i > 0 { ", " } (body_link(view, Some(a), links)) } }
            td {
                (r.position.as_ref().map_or("none yet".into(), |p| words(&p.position)))
                br; small { "due " (r.response_clock.due) ", " (words(&r.response_clock.status)) }
            }
            td { (claimed) @if third > 0 { " (+" (third) " third-party)" } }
            td { (r.verified.as_ref().map_or("not assessed".into(), |v| words(&v.verdict))) }
            td { (words(&r.schedule.status)) @if let Some(t) = r.schedule.target { br; small { "target " (t) } } }
            td { (words(&r.closure.status)) }
            td { @for f in found { span class=(f.severity.name()) { (f.rule.id()) } br; } }
        }
    }
}

/// The six status dimensions of `r`, each with who said so and when.
pub(crate) fn status_table(view: &View, r: &RecView, links: &Links) -> Markup {
    let clock = &r.response_clock;
    html! {
        table.status {
            tbody {
                tr { th scope="row" { "Response due" } td {
                    (clock.due) " (" (words(&clock.status)) ")"
                    @if let Some(on) = clock.responded_on { ", responded " (on) }
                    @if clock.due != clock.original_due { " (originally " (clock.original_due) ")" }
                } }
                tr { th scope="row" { "Response" } td {
                    @match &r.position {
                        Some(p) => { (words(&p.position)) " on " (p.date) ", by " (body_link(view, p.actor.as_ref(), links)) " (" (seq_list(&p.seqs)) ")" }
                        None => { "none yet" }
                    }
                } }
                tr { th scope="row" { "Claimed" } td {
                    @match &r.claimed {
                        Some(c) => { (words(&c.status)) " on " (c.date) ", by " (body_link(view, c.actor.as_ref(), links))
                            " (" (seq_list(&c.seqs)) "; cites " (c.evidence) " document" @if c.evidence != 1 { "s" } ")" }
                        None => { "no claim by the addressee" }
                    }
                    @for c in r.claims.iter().filter(|c| c.party == Party::ThirdParty) {
                        br; "Third-party claim by " (body_link(view, c.actor.as_ref(), links)) ": "
                        (words(&c.status)) " on " (c.date) " (" (seq_list(&c.seqs)) ")"
                    }
                } }
                tr { th scope="row" { "Assessed" } td {
                    @match &r.verified {
                        Some(a) => { (words(&a.verdict)) " (" (words(&a.coverage)) " coverage) on " (a.date) ", by "
                            (body_link(view, a.actor.as_ref(), links)) " (" (seq_list(&a.seqs)) ")" }
                        None => { "not assessed" }
                    }
                } }
                tr { th scope="row" { "Schedule" } td {
                    (words(&r.schedule.status))
                    @if let Some(t) = r.schedule.target { ", target " (t) }
                    @if let (Some(orig), Some(days)) = (r.schedule.original_target, r.schedule.slip_days) {
                        @if days != 0 { " (originally " (orig) ", moved " (days) " days)" }
                    }
                } }
                tr { th scope="row" { "Closure" } td {
                    (words(&r.closure.status))
                    @if let Some(d) = r.closure.date { " on " (d) }
                    @if r.closure.actor.is_some() { ", by " (body_link(view, r.closure.actor.as_ref(), links)) }
                } }
            }
        }
    }
}

/// The findings that join a claim to a later assessment that parts ways
/// with it.
pub(crate) fn parting<'a>(findings: &[&'a Finding]) -> Vec<&'a Finding> {
    findings
        .iter()
        .copied()
        .filter(|f| {
            matches!(
                f.rule,
                Rule::ClaimContradicted | Rule::PartialShownAsComplete
            )
        })
        .collect()
}

/// Each parting of ways, in words.
pub(crate) fn parts_ways(parts: &[&Finding]) -> Markup {
    html! {
        @for f in parts {
            div.parts { strong { (words(&f.rule)) } ": " (inert(&f.message)) " (" (seq_list(&f.seqs)) ")" }
        }
    }
}

/// Findings as a list, one item per finding, marked with its rule,
/// recommendation and severity for whoever reads the page by machine.
pub(crate) fn findings_list(findings: &[&Finding]) -> Markup {
    html! {
        ul.findings {
            @for f in findings {
                li class=(format!("finding {}", f.severity.name()))
                    data-rule=(f.rule.id()) data-rec=(f.rec.as_ref().map_or("", |r| r.as_str()))
                    data-severity=(f.severity.name()) {
                    span class=(format!("badge {}", f.severity.name())) { (f.severity.name()) } " "
                    code { (f.rule.id()) }
                    @if let Some(d) = &f.decision { " " span.seqs { "decision " (d) } }
                    " " span.seqs { "(" (seq_list(&f.seqs)) ")" } ": " (inert(&f.message))
                }
            }
        }
    }
}

fn standing(s: &Statement) -> String {
    match s.standing {
        _ if s.in_force() => "in force".into(),
        Standing::Retracted { by } => format!("retracted by seq {by}"),
        Standing::Replaced { by } => format!("replaced by seq {by}"),
        Standing::InForce => "in force".into(),
    }
}

/// What a statement says, in a line: what kind it is and its own words.
pub(crate) fn summary(s: &Statement) -> String {
    use Event as E;
    match &s.event {
        E::RecommendationIssued(e) => format!("issued: {}", excerpt(&e.subject, 300)),
        E::ResponseRecorded(e) => {
            let mut t = words(&e.position);
            if let Some(target) = e.target {
                t.push_str(&format!(", target {target}"));
            }
            if let Some(a) = &e.actions {
                t.push_str(&format!("; actions: {}", excerpt(a, 300)));
            }
            if let Some(r) = &e.reasons {
                t.push_str(&format!("; reasons: {}", excerpt(r, 300)));
            }
            t
        }
        E::ProgressClaim(c) => {
            let party = match s.party {
                Some(Party::ThirdParty) => "third-party claim",
                _ => "own claim",
            };
            let evidence: Vec<String> = c
                .evidence
                .iter()
                .map(|e| format!("{} ({})", excerpt(&e.name, 80), words(&e.kind)))
                .collect();
            format!(
                "claim: {} ({party}): {}; evidence: {}",
                words(&c.status),
                excerpt(&c.narrative, 300),
                if evidence.is_empty() {
                    "none".into()
                } else {
                    evidence.join(", ")
                }
            )
        }
        E::Assessment(a) => format!(
            "assessment: {} ({} coverage): {}",
            words(&a.verdict),
            words(&a.coverage),
            excerpt(&a.narrative, 300)
        ),
        E::FundingDecision(f) => format!(
            "funding decision {} {}: {} for {}",
            f.decision,
            words(&f.stage),
            money(f.amount_minor, &f.currency),
            excerpt(&f.purpose, 200)
        ),
        E::ResponseDeadlineExtended(e) => format!("response due extended to {}", e.new_due),
        E::TargetRevised(e) => format!(
            "target moved from {} to {}: {}",
            e.old_target,
            e.new_target,
            excerpt(&e.reason, 300)
        ),
        E::AccountabilitySession(e) => format!("discussed at {}", excerpt(&e.forum, 200)),
        E::RecommendationClosed(e) => format!("closed as {}", words(&e.outcome)),
        E::Correction(c) => format!(
            "correction of seq {}: {}",
            c.target_seq,
            excerpt(&c.reason, 300)
        ),
        other => format!(
            "{}: {}",
            other.kind().name().replace('_', " "),
            inert(&other.summary())
        ),
    }
}

/// Every statement about `r` by effective date, with seq, signer's body,
/// recorded time, what it says and whether it still stands; `flagged` seqs
/// (those where the record parts ways) carry a warning sign.
pub(crate) fn statements_table(view: &View, r: &RecView, flagged: &[u64], links: &Links) -> Markup {
    html! {
        table.history {
            thead { tr {
                th scope="col" { "Date" } th scope="col" { "Seq" } th scope="col" { "Signed by" }
                th scope="col" { "Recorded (UTC)" } th scope="col" { "Statement" } th scope="col" { "Standing" }
            } }
            tbody {
                @for s in &r.history {
                    tr class=[(!s.in_force()).then_some("standing-out")] {
                        td.date { (s.date()) }
                        td.num {
                            (links.seq(s.seq))
                            @if let Some(old) = s.replaces { br; small { "replaces " (old) } }
                            @if flagged.contains(&s.seq) { " " span title="the record parts ways here" { "⚠" } }
                        }
                        td { (body_link(view, s.actor.as_ref(), links)) }
                        td { (s.recorded_at.0.strftime("%Y-%m-%d %H:%M")) }
                        td { (summary(s)) }
                        td { (standing(s)) }
                    }
                }
            }
        }
    }
}

/// The name of the body that issued `r`, and to whom, in a sentence.
pub(crate) fn issued_line(view: &View, r: &RecView, links: &Links) -> Markup {
    html! {
        "Report " (r.report) ", issued on " (r.issued_on) " by " (body_link(view, r.issuer.as_ref(), links))
        " to " @for (i, a) in r.addressees.iter().enumerate() { @if i > 0 { ", " } (body_link(view, Some(a), links)) }
        " (" (seq_list(&r.issued_seqs)) ")."
    }
}
