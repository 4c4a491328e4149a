//! `GET /body/{actor}`: one body's side of the record: what it was asked,
//! what it answered, what it claimed, and how its claims fared against
//! later assessments.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use trail_core::check::Rule;
use trail_core::state::{ClaimView, RecView};
use trail_core::{CheckConfig, Finding, Id, View, check};

use super::layout::{Axes, body_name, page, problem, when_form, words};
use super::text::{inert, percent};
use crate::queries::view_of;
use crate::routes::{Shared, blocking};

pub(super) async fn handler(
    State(shared): State<Arc<Shared>>,
    Path(actor): Path<String>,
    params: Result<Query<Axes>, QueryRejection>,
) -> Response {
    let params = params.map(|q| q.0).unwrap_or_default();
    blocking(&shared, move |s| {
        let Ok(id) = Id::new(&actor) else {
            return Ok(problem(StatusCode::NOT_FOUND, "No such body."));
        };
        let when = params.when();
        let view = view_of(s, &when, None)?;
        if !view.actors.contains_key(&id) {
            return Ok(problem(
                StatusCode::NOT_FOUND,
                "No such body in the record.",
            ));
        }
        let findings = check(&view, &CheckConfig::default());
        let known = params.known();
        let title = body_name(&view, Some(&id));
        Ok(page(s, &title, body(&view, &id, &findings, &known)))
    })
    .await
    .unwrap_or_else(|e| e)
}

/// How a claim fared: the finding that a later assessment contradicted it,
/// or showed its "implemented" to be partial, if any.
fn fate<'a>(claim: &ClaimView, rec: &RecView, findings: &'a [Finding]) -> Option<&'a Finding> {
    findings.iter().find(|f| {
        f.rec.as_ref() == Some(&rec.rec)
            && matches!(
                f.rule,
                Rule::ClaimContradicted | Rule::PartialShownAsComplete
            )
            && claim.seqs.iter().any(|s| f.seqs.contains(s))
    })
}

fn body(view: &View, id: &Id, findings: &[Finding], known: &str) -> Markup {
    let at = view.at.to_string();
    let asked: Vec<&RecView> = {
        let mut v: Vec<&RecView> = view
            .recs
            .values()
            .filter(|r| {
                r.addressees
                    .iter()
                    .any(|a| view.answers_for_on(id, a, view.at))
            })
            .collect();
        v.sort_by_cached_key(|r| Id::natural_key(r.rec.as_str()));
        v
    };
    let answered = asked.iter().filter(|r| r.position.is_some()).count();
    let claims: Vec<(&RecView, &ClaimView)> = view
        .recs
        .values()
        .flat_map(|r| r.claims.iter().map(move |c| (r, c)))
        .filter(|(_, c)| c.actor.as_ref() == Some(id))
        .collect();
    let contradicted = claims
        .iter()
        .filter(|(r, c)| fate(c, r, findings).is_some())
        .count();
    html! {
        h1 { (body_name(view, Some(id))) }
        p {
            "Asked " (asked.len()) " recommendations; answered " (answered)
            "; made " (claims.len()) " progress claims, of which " (contradicted)
            " a later assessment contradicted or found only partly done."
        }
        (when_form(&format!("/body/{}", percent(id.as_str())), &at, known, html! {}))
        h2 { "What it was asked, and what it answered" }
        table {
            thead { tr { th { "Recommendation" } th { "Response" } th { "Claimed" } th { "Assessed" } th { "Closure" } } }
            tbody {
                @for r in &asked {
                    tr {
                        td { a href=(format!("/rec/{}?at={at}", percent(r.rec.as_str()))) { (r.rec) } }
                        td { (r.position.as_ref().map_or("none yet".into(), |p| format!("{} on {}", words(&p.position), p.date))) }
                        td { (r.claimed.as_ref().map_or("-".into(), |c| words(&c.status))) }
                        td { (r.verified.as_ref().map_or("-".into(), |v| words(&v.verdict))) }
                        td { (words(&r.closure.status)) }
                    }
                }
            }
        }
        h2 { "What it claimed, and how the claims fared" }
        table {
            thead { tr { th { "Date" } th { "Recommendation" } th { "Claimed" } th { "About" } th { "Later" } } }
            tbody {
                @for (r, c) in &claims {
                    tr {
                        td { (c.date) }
                        td { a href=(format!("/rec/{}?at={at}", percent(r.rec.as_str()))) { (r.rec) } }
                        td { (words(&c.status)) }
                        td { (body_name(view, Some(&c.subject))) }
                        td {
                            @match fate(c, r, findings) {
                                Some(f) => { div.parts { (inert(&f.message)) } }
                                None => { "not contradicted" }
                            }
                        }
                    }
                }
            }
        }
    }
}
