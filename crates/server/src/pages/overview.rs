//! `GET /`: every report and its recommendations, with the six status
//! dimensions kept apart, the findings by severity, filters and both time
//! axes, a page of recommendations at a time.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use trail_core::check::{Rule, Severity};
use trail_core::state::{ClosureStatus, RecView};
use trail_core::{CheckConfig, Finding, Id, Index, RecSelection, View, check};

use super::ACROSS_RECOMMENDATIONS;
use super::layout::{Links, body_name, page, when_form};
use super::parts::overview_row;
use super::text::{inert, percent};
use crate::queries::{When, view_of};
use crate::routes::{Shared, blocking, internal};

/// Recommendations per page: a million-entry log's overview must render
/// quickly, and a reader scrolls one screenful at a time.
const PER_PAGE: usize = 100;

/// What the overview's form sends.
#[derive(Deserialize, Default)]
pub(super) struct Params {
    at: Option<String>,
    known_at: Option<String>,
    /// "1" keeps only recommendations not yet closed, "0" only closed ones.
    open: Option<String>,
    /// Only recommendations addressed to this actor.
    addressee: Option<String>,
    /// Only recommendations with a finding of at least this severity.
    severity: Option<String>,
    /// Only recommendations with a finding of this rule.
    rule: Option<String>,
    /// Which page, from 1.
    page: Option<usize>,
}

pub(super) async fn handler(
    State(shared): State<Arc<Shared>>,
    params: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let params = params.map(|q| q.0).unwrap_or_default();
    blocking(&shared, move |s| {
        let when = When {
            at: params.at.clone().filter(|v| !v.is_empty()),
            known_at: params.known_at.clone().filter(|v| !v.is_empty()),
        };
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.is_empty());
        let filtered = given(&params.open)
            || given(&params.addressee)
            || given(&params.severity)
            || given(&params.rule);
        if filtered {
            // A filter must look at every recommendation.
            let view = view_of(s, &when, None)?;
            let findings = check(&view, &CheckConfig::default());
            return Ok(page(
                s,
                "Overview",
                overview(&view, &findings, &params, None),
            ));
        }
        // Unfiltered, the page's recommendations come from the index in
        // natural order, and only their entries are folded.
        let mut ids = s.log().indexed_ids(Index::Rec).map_err(internal)?;
        ids.sort_by_cached_key(|id| Id::natural_key(id));
        let pages = ids.len().div_ceil(PER_PAGE).max(1);
        let current = params.page.unwrap_or(1).clamp(1, pages);
        let selection = RecSelection {
            recs: ids
                .iter()
                .skip((current - 1) * PER_PAGE)
                .take(PER_PAGE)
                .filter_map(|id| Id::new(id).ok())
                .collect(),
            reports: Vec::new(),
        };
        let view = view_of(s, &when, Some(&selection))?;
        let findings: Vec<Finding> = check(&view, &CheckConfig::default())
            .into_iter()
            .filter(|f| !ACROSS_RECOMMENDATIONS.contains(&f.rule))
            .collect();
        let paged = Paged {
            named: ids.len(),
            current,
            pages,
        };
        Ok(page(
            s,
            "Overview",
            overview(&view, &findings, &params, Some(paged)),
        ))
    })
    .await
    .unwrap_or_else(|e| e)
}

/// An overview built on one page of recommendations only: how many the
/// log names in all, and which page this is.
struct Paged {
    named: usize,
    current: usize,
    pages: usize,
}

fn overview(view: &View, findings: &[Finding], params: &Params, paged: Option<Paged>) -> Markup {
    let severity: Option<Severity> = params.severity.as_deref().and_then(|s| s.parse().ok());
    let mut by_rec: BTreeMap<&Id, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        if let Some(rec) = &f.rec {
            by_rec.entry(rec).or_default().push(f);
        }
    }
    let worst = |rec: &Id| {
        by_rec
            .get(rec)
            .and_then(|fs| fs.iter().map(|f| f.severity).max())
    };
    let open = params.open.as_deref().filter(|v| !v.is_empty());
    let rule: Option<Rule> = params
        .rule
        .as_deref()
        .and_then(|id| Rule::ALL.iter().copied().find(|r| r.id() == id));
    let mut recs: Vec<&RecView> = view
        .recs
        .values()
        .filter(|r| match open {
            Some("1") => r.closure.status == ClosureStatus::Open,
            Some(_) => r.closure.status != ClosureStatus::Open,
            None => true,
        })
        .filter(|r| {
            rule.is_none_or(|rule| {
                by_rec
                    .get(&r.rec)
                    .is_some_and(|fs| fs.iter().any(|f| f.rule == rule))
            })
        })
        .filter(|r| {
            params
                .addressee
                .as_deref()
                .filter(|a| !a.is_empty())
                .is_none_or(|a| r.addressees.iter().any(|x| x.as_str() == a))
        })
        .filter(|r| severity.is_none_or(|s| worst(&r.rec).is_some_and(|w| w >= s)))
        .collect();
    recs.sort_by_cached_key(|r| Id::natural_key(r.rec.as_str()));
    let (pages, current, shown, total) = match &paged {
        Some(p) => (p.pages, p.current, &recs[..], p.named),
        None => {
            let pages = recs.len().div_ceil(PER_PAGE).max(1);
            let current = params.page.unwrap_or(1).clamp(1, pages);
            let shown = &recs[(current - 1) * PER_PAGE..(current * PER_PAGE).min(recs.len())];
            (pages, current, shown, recs.len())
        }
    };
    let scope = if paged.is_some() { " on this page" } else { "" };
    // The page's recommendations under their reports, in order.
    let mut groups: Vec<(&Id, Vec<&RecView>)> = Vec::new();
    for r in shown {
        match groups.last_mut() {
            Some((report, list)) if *report == &r.report => list.push(r),
            _ => groups.push((&r.report, vec![r])),
        }
    }
    let none: Vec<&Finding> = Vec::new();
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let at = view.at.to_string();
    let links = Links::Served { at: at.clone() };
    let known = params.known_at.clone().unwrap_or_default();
    let addressees: Vec<&Id> = {
        let mut all: Vec<&Id> = view
            .recs
            .values()
            .flat_map(|r| r.addressees.iter())
            .collect();
        all.sort();
        all.dedup();
        all
    };
    let link = |page: usize| {
        let mut q = format!("/?at={at}&page={page}");
        for (k, v) in [
            ("known_at", params.known_at.as_deref()),
            ("open", params.open.as_deref()),
            ("addressee", params.addressee.as_deref()),
            ("severity", params.severity.as_deref()),
            ("rule", params.rule.as_deref()),
        ] {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                q.push_str(&format!("&{k}={}", percent(v)));
            }
        }
        q
    };
    html! {
        h1 { "Recommendations and what became of them" }
        p {
            "As on " strong { (at) }
            @if known.is_empty() { ", as known now" } @else { ", as known at " strong { (known) } }
            ". Findings" (scope) ": "
            span.error { (count(Severity::Error)) " errors" } ", "
            span.warning { (count(Severity::Warning)) " warnings" } ", "
            span.info { (count(Severity::Info)) " for information" } "."
        }
        (when_form("/", &at, &known, html! {
            label { "Addressed to"
                select name="addressee" {
                    option value="" { "anyone" }
                    @for a in &addressees {
                        option value=(a.as_str()) selected[params.addressee.as_deref() == Some(a.as_str())] {
                            (body_name(view, Some(a)))
                        }
                    }
                }
            }
            label { "With a finding of"
                select name="severity" {
                    option value="" { "any kind, or none" }
                    @for s in [Severity::Info, Severity::Warning, Severity::Error] {
                        option value=(s.name()) selected[severity == Some(s)] { "at least " (s.name()) }
                    }
                }
            }
            label { "With a finding of the rule"
                select name="rule" {
                    option value="" { "any rule, or none" }
                    @for r in Rule::ALL {
                        option value=(r.id()) selected[rule == Some(*r)] { (r.id()) }
                    }
                }
            }
            label { "Open or closed"
                select name="open" {
                    option value="" { "either" }
                    option value="1" selected[open == Some("1")] { "open" }
                    option value="0" selected[open == Some("0")] { "closed" }
                }
            }
        }))
        p {
            (total) " recommendations" @if paged.is_some() { " named in the log" }
            @if pages > 1 { ", page " (current) " of " (pages) } "."
            @if paged.is_some() { " Findings that compare recommendations (list_mismatch, funding_unlinked) appear when a filter is set." }
        }
        table {
            thead { tr {
                th { "Recommendation" } th { "Addressed to" } th { "Response" }
                th { "Claimed" } th { "Assessed" } th { "Schedule" } th { "Closure" } th { "Findings" }
            } }
            tbody {
                @for (report, list) in &groups {
                    tr { th colspan="8" {
                        "Report " (report)
                        @if let Some(rv) = view.reports.get(*report) { ": " (inert(&rv.title)) }
                    } }
                    @for r in list {
                        (overview_row(view, r, by_rec.get(&r.rec).unwrap_or(&none), &links))
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pages {
                @if current > 1 { a href=(link(current - 1)) { "Previous page" } }
                @if current < pages { a href=(link(current + 1)) { "Next page" } }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn query_values_keep_what_a_timestamp_holds() {
        assert_eq!(percent("2022-01-17"), "2022-01-17");
        assert_eq!(
            percent("2022-01-17T09:00:00+01:00"),
            "2022-01-17T09%3A00%3A00%2B01%3A00"
        );
        assert_eq!(percent("a b&c"), "a%20b%26c");
    }
}
