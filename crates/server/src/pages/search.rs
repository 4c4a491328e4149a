//! `GET /search?q=`: entries whose words match, with links to the
//! recommendations they are about.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use trail_core::Event;

use super::layout::page;
use super::text::{inert, percent};
use crate::routes::{Shared, blocking, internal};

/// Hits shown; all are counted.
const LIMIT: usize = 100;

#[derive(Deserialize, Default)]
pub(super) struct Params {
    q: Option<String>,
}

/// The recommendations an entry is about, as links.
fn recs_of(event: &Event) -> Vec<String> {
    event
        .replacement()
        .unwrap_or(event)
        .recs()
        .iter()
        .map(|r| r.to_string())
        .collect()
}

pub(super) async fn handler(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = params.ok().and_then(|p| p.0.q).unwrap_or_default();
    blocking(&shared, move |s| {
        let terms: Vec<String> = q.split_whitespace().map(str::to_owned).collect();
        let (hits, count) = s.log().search(&terms, LIMIT).map_err(internal)?;
        let body = html! {
            h1 { "Search" }
            form action="/search" method="get" {
                label { "Every word of" input type="search" name="q" value=(q); }
                button type="submit" { "Search" }
            }
            @if !terms.is_empty() {
                p { (count) " entries match" @if count > hits.len() { ", the first " (hits.len()) " shown" } "." }
                table {
                    thead { tr { th { "Seq" } th { "Statement" } th { "About" } } }
                    tbody {
                        @for hit in &hits {
                            @let event = hit.entry.entry().event();
                            tr {
                                td { (hit.entry.seq()) }
                                td { (event.kind().name().replace('_', " ")) ": " (inert(&event.summary())) }
                                td { @for rec in recs_of(event) { a href=(format!("/rec/{}", percent(rec.as_str()))) { (rec) } " " } }
                            }
                        }
                    }
                }
            }
        };
        Ok(page(s, "Search", body))
    })
    .await
    .unwrap_or_else(|e| e)
}
