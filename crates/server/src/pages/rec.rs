//! `GET /rec/{rec}`: one recommendation's record on both time axes, its
//! statements along the date axis with where a claim and a later
//! assessment part ways, and `GET /rec/{rec}/record`: the same record as a
//! file anyone can check offline (`trail verify-proof`).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use trail_core::state::RecView;
use trail_core::transparency::{inclusion_proof_file, parse_checkpoint_note, record_file};
use trail_core::{CheckConfig, Finding, Id, RecSelection, View, check};

use super::ACROSS_RECOMMENDATIONS;
use super::layout::{Axes, Links, page, problem, when_form};
use super::parts::{
    findings_list, issued_line, parting, parts_ways, statements_table, status_table,
};
use super::text::{inert, percent};
use super::timeline::{self, Placement};
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

fn body(view: &View, r: &RecView, findings: &[Finding], known: &str) -> Markup {
    let at = view.at.to_string();
    let links = Links::Served { at: at.clone() };
    let mine: Vec<&Finding> = findings.iter().collect();
    let parts = parting(&mine);
    let flagged: Vec<u64> = parts.iter().flat_map(|f| f.seqs.iter().copied()).collect();
    html! {
        h1 { (r.rec) }
        p.subject { (inert(&r.subject)) }
        p { (issued_line(view, r, &links)) }
        (when_form(&format!("/rec/{}", percent(r.rec.as_str())), &at, known, html! {}))
        (status_table(view, r, &links))
        @if !parts.is_empty() {
            h2 { "Where the record parts ways" }
            (parts_ways(&parts))
        }
        h2 { "Along the date axis" }
        figure {
            (timeline::svg(view, r, &mine, Placement::Main))
            figcaption { "Each mark is a signed entry; hover over it for its seqs and signer. "
                "A red line joins a claim to a later assessment that parts ways with it." }
        }
        details.no-print { summary { "Key to the marks" } (timeline::legend()) }
        @if !findings.is_empty() {
            h2 { "Findings" }
            (findings_list(&mine))
        }
        h2 { "Every statement, by effective date" }
        (statements_table(view, r, &flagged, &links))
        p {
            a href=(format!("/rec/{}/record", percent(r.rec.as_str()))) download=(format!("{}.record", r.rec)) {
                "Download this recommendation's record"
            }
            ": every entry above and the key entries they rest on, each with its proof of inclusion in the signed checkpoint. Check it with "
            code { "trail verify-proof --proof " (r.rec) ".record --operator-key KEY" } "."
        }
    }
}

/// `GET /proof/{seq}`: the entry at `seq` with its inclusion proof in the
/// newest published checkpoint, as `trail verify-proof` reads it.
pub(super) async fn proof(State(shared): State<Arc<Shared>>, Path(seq): Path<String>) -> Response {
    blocking(&shared, move |s| {
        let size = s
            .durable_size()
            .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
        let Some(seq) = seq.parse::<u64>().ok().filter(|&q| q < size) else {
            return Ok(problem(
                StatusCode::NOT_FOUND,
                "No entry at that seq in the signed log.",
            ));
        };
        let note = s
            .published_checkpoint(size)
            .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
        let (note, _) = parse_checkpoint_note(&note)
            .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        let file = inclusion_proof_file(s.log(), seq, size, note)
            .map_err(|e| problem(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
        let name = format!("attachment; filename=\"entry-{seq}.proof\"");
        Ok((
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8".to_owned()),
                (header::CONTENT_DISPOSITION, name),
            ],
            file,
        )
            .into_response())
    })
    .await
    .unwrap_or_else(|e| e)
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
