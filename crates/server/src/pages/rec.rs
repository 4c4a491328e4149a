//! `GET /rec/{rec}`: one recommendation's record on both time axes, its
//! statements along the date axis with where a claim and a later
//! assessment part ways, and `GET /rec/{rec}/record`: the same record as a
//! file anyone can check offline (`trail verify-proof`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use trail_core::check::Rule;
use trail_core::state::{RecView, Standing};
use trail_core::transparency::record_file;
use trail_core::{CheckConfig, Event, Finding, Id, RecSelection, View, check};

use super::ACROSS_RECOMMENDATIONS;
use super::layout::{Axes, body_link, body_name, page, problem, when_form, words};
use crate::queries::view_of;
use crate::routes::{Shared, blocking};

pub(super) async fn handler(
    State(shared): State<Arc<Shared>>,
    Path(rec): Path<String>,
    params: Result<Query<Axes>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = params.map(|q| q.0).unwrap_or_default();
    blocking(&shared, move |s| {
        let Ok(id) = Id::new(&rec) else {
            return Ok(problem(StatusCode::NOT_FOUND, "No such recommendation."));
        };
        let when = params.when();
        let selection = RecSelection {
            recs: vec![id.clone()],
            reports: Vec::new(),
        };
        let view = view_of(s, &when, Some(&selection))?;
        let Some(r) = view.recs.get(&id) else {
            return Ok(problem(
                StatusCode::NOT_FOUND,
                "No such recommendation in the record on that date.",
            ));
        };
        let findings: Vec<Finding> = check(&view, &CheckConfig::default())
            .into_iter()
            .filter(|f| f.rec.as_ref() == Some(&id) && !ACROSS_RECOMMENDATIONS.contains(&f.rule))
            .collect();
        let known = params.known();
        Ok(page(s, id.as_str(), body(&view, r, &findings, &known)))
    })
    .await
    .unwrap_or_else(|e| e)
}

fn standing(s: &Standing) -> &'static str {
    match s {
        Standing::InForce => "in force",
        Standing::Replaced { .. } => "replaced",
        Standing::Retracted { .. } => "retracted",
    }
}

/// What a statement says in its own words: a claim's or assessment's
/// narrative, a response's actions or reasons, a reason given.
fn said(event: &Event) -> Option<String> {
    let text = match event {
        Event::ProgressClaim(c) => Some(c.narrative.clone()),
        Event::Assessment(a) => Some(a.narrative.clone()),
        Event::ResponseRecorded(r) => r.actions.clone().or_else(|| r.reasons.clone()),
        Event::TargetRevised(t) => Some(t.reason.clone()),
        Event::Correction(c) => Some(c.reason.clone()),
        _ => None,
    }?;
    let cut: String = text.chars().take(300).collect();
    Some(if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut
    })
}

fn body(view: &View, r: &RecView, findings: &[Finding], known: &str) -> Markup {
    let at = view.at.to_string();
    let parts: Vec<&Finding> = findings
        .iter()
        .filter(|f| {
            matches!(
                f.rule,
                Rule::ClaimContradicted | Rule::PartialShownAsComplete
            )
        })
        .collect();
    let flagged = |seq: u64| parts.iter().any(|f| f.seqs.contains(&seq));
    html! {
        h1 { (r.rec) }
        p { (r.subject) }
        p {
            "Report " (r.report) ", issued on " (r.issued_on) " by " (body_link(view, r.issuer.as_ref()))
            " to " @for (i, a) in r.addressees.iter().enumerate() { @if i > 0 { ", " } (body_link(view, Some(a))) } "."
        }
        (when_form(&format!("/rec/{}", r.rec), &at, known, html! {}))
        table {
            tbody {
                tr { th { "Response due" } td { (r.response_clock.due) " (" (words(&r.response_clock.status)) ")" } }
                tr { th { "Response" } td { (r.position.as_ref().map_or("none yet".into(), |p| format!("{} on {}", words(&p.position), p.date))) } }
                tr { th { "Claimed" } td { (r.claimed.as_ref().map_or("-".into(), |c| format!("{} on {}, by {}", words(&c.status), c.date, body_name(view, c.actor.as_ref())))) } }
                tr { th { "Assessed" } td { (r.verified.as_ref().map_or("-".into(), |v| format!("{} on {}, by {}", words(&v.verdict), v.date, body_name(view, v.actor.as_ref())))) } }
                tr { th { "Schedule" } td { (words(&r.schedule.status)) @if let Some(t) = r.schedule.target { " (target " (t) ")" } } }
                tr { th { "Closure" } td { (words(&r.closure.status)) } }
            }
        }
        @if !parts.is_empty() {
            h2 { "Where the record parts ways" }
            @for f in &parts {
                div.parts { strong { (words(&f.rule)) } ": " (f.message) }
            }
        }
        @if !findings.is_empty() {
            h2 { "Findings" }
            ul { @for f in findings { li { span class=(f.severity.name()) { (f.severity.name()) } " " (f.rule.id()) ": " (f.message) } } }
        }
        h2 { "Every statement, by effective date" }
        table {
            thead { tr { th { "Date" } th { "Seq" } th { "Signed by" } th { "Recorded (UTC)" } th { "Statement" } th { "Standing" } } }
            tbody {
                @for s in &r.history {
                    tr class=(standing(&s.standing).replace(' ', "-")) {
                        td { (s.date()) }
                        td {
                            a href=(format!("/entries?start={}&limit=1", s.seq)) title="the entry's canonical bytes" { (s.seq) }
                            @if flagged(s.seq) { " ⚠" }
                        }
                        td { (body_link(view, s.actor.as_ref())) }
                        td { (s.recorded_at.0.strftime("%Y-%m-%d %H:%M")) }
                        td {
                            (s.event.kind().name().replace('_', " ")) ": " (s.event.summary())
                            @if let Some(words) = said(&s.event) { br; small { (words) } }
                        }
                        td { (standing(&s.standing)) }
                    }
                }
            }
        }
        p {
            a href=(format!("/rec/{}/record", r.rec)) download=(format!("{}.record", r.rec)) {
                "Download this recommendation's record"
            }
            ": every entry above and the key entries they rest on, each with its proof of inclusion in the signed checkpoint. Check it with "
            code { "trail verify-proof --proof " (r.rec) ".record --operator-key KEY" } "."
        }
    }
}

pub(super) async fn record(State(shared): State<Arc<Shared>>, Path(rec): Path<String>) -> Response {
    blocking(&shared, move |s| {
        let Ok(id) = Id::new(&rec) else {
            return Ok(problem(StatusCode::NOT_FOUND, "No such recommendation."));
        };
        let note = s
            .durable_size()
            .and_then(|size| s.published_checkpoint(size))
            .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
        let file = record_file(s.log(), &id, &note)
            .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        if file.entries.iter().all(|e| {
            !trail_core::Entry::from_bytes(&e.bytes).is_ok_and(|entry| {
                matches!(entry.event(), trail_core::Event::RecommendationIssued(r) if r.rec == id)
            })
        }) {
            return Ok(problem(StatusCode::NOT_FOUND, "No such recommendation."));
        }
        let name = format!("attachment; filename=\"{id}.record\"");
        Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            file.to_bytes(),
        )
            .into_response())
    })
    .await
    .unwrap_or_else(|e| e)
}
