//! `trail report --format html`: the state of every recommendation and the
//! findings of `check` as one self-contained document, built from the same
//! pieces as the served pages (`parts`, `timeline`) and the same style.
//!
//! It loads nothing and runs nothing: the style is inline, the timelines
//! are inline SVG, and a Content-Security-Policy says so to the browser.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use trail_core::check::by_rec;
use trail_core::seq_list;
use trail_core::state::RecView;
use trail_core::{Finding, Rule, Severity, View};

use super::layout::{Links, STYLE, body_name, words};
use super::parts::{
    findings_list, issued_line, overview_row, parting, parts_ways, statements_table, status_table,
};
use super::text::{excerpt, inert, money};
use super::timeline::{self, Placement};

/// The whole document for the log called `log_name`.
pub fn document(view: &View, findings: &[Finding], log_name: &str) -> String {
    let by_rec = by_rec(view, findings);
    let none: Vec<&Finding> = Vec::new();
    let reports = view.recs_by_report();
    let links = Links::File;
    let contradicted: Vec<&RecView> = reports
        .iter()
        .flat_map(|(_, recs)| recs)
        .copied()
        .filter(|r| {
            by_rec
                .get(&Some(r.rec.clone()))
                .is_some_and(|fs| fs.iter().any(|f| f.rule == Rule::ClaimContradicted))
        })
        .collect();
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'";
                meta name="viewport" content="width=device-width, initial-scale=1";
                link rel="icon" href="data:,";
                title { "trail report: " (inert(log_name)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                main {
                    (heading(view, findings, log_name, reports.len()))
                    @if !contradicted.is_empty() {
                        section #contradictions {
                            h2 { "Where a claim and a later assessment part ways" }
                            p { (contradicted.len()) " recommendation" @if contradicted.len() != 1 { "s" }
                                " in which a claim of implemented was followed by an assessment that found otherwise. "
                                "Each is shown again, with all its findings, in its report below." }
                            @for r in &contradicted {
                                @let found = by_rec.get(&Some(r.rec.clone())).unwrap_or(&none);
                                div.glance {
                                    h3 { a href=(links.rec(&r.rec)) { (r.rec) } }
                                    p.subject { (excerpt(&r.subject, 300)) }
                                    (parts_ways(&parting(found)))
                                    (timeline::svg(view, r, found, Placement::Summary))
                                }
                            }
                        }
                    }
                    section #overview {
                        h2 { "Overview" }
                        p.subject { "One row per recommendation; the six status dimensions are kept apart. Follow the id for its timeline and every entry." }
                        table {
                            thead { tr {
                                th scope="col" { "Recommendation" } th scope="col" { "Addressed to" } th scope="col" { "Response" }
                                th scope="col" { "Claimed" } th scope="col" { "Assessed" } th scope="col" { "Schedule" }
                                th scope="col" { "Closure" } th scope="col" { "Findings" }
                            } }
                            tbody {
                                @for (report, recs) in &reports {
                                    tr { th colspan="8" scope="colgroup" {
                                        "Report " (report)
                                        @if let Some(rv) = view.reports.get(*report) { ": " (inert(&rv.title)) }
                                    } }
                                    @for r in recs {
                                        (overview_row(view, r, by_rec.get(&Some(r.rec.clone())).unwrap_or(&none), &links))
                                    }
                                }
                            }
                        }
                    }
                    section #key {
                        h2 { "Key to the timelines" }
                        (timeline::legend())
                    }
                    @for (report, recs) in &reports {
                        section.report id=(format!("report-{report}")) {
                            @match view.reports.get(*report) {
                                Some(rv) => {
                                    h2 { "Report " (report) ": " (inert(&rv.title)) }
                                    p { "Published " (rv.date) " by " (body_name(view, rv.issuer.as_ref()))
                                        " (" (seq_list(&rv.seqs)) "); " (recs.len()) " recommendation" @if recs.len() != 1 { "s" } "." }
                                }
                                None => { h2 { "Report " (report) } }
                            }
                            @for r in recs {
                                (rec_section(view, r, by_rec.get(&Some(r.rec.clone())).unwrap_or(&none), &links))
                            }
                        }
                    }
                    @if let Some(other) = by_rec.get(&None) {
                        section #other-findings {
                            h2 { "Findings not about a recommendation in this view" }
                            (findings_list(other))
                        }
                    }
                    (funding(view))
                }
                footer {
                    "Made by " code { "trail report" } " from the verified entries of the log. Every value names the seqs of the signed entries it rests on: look them up with "
                    code { "trail show --log DIR --from SEQ --to SEQ" } " and check the whole log with " code { "trail verify" } "."
                }
            }
        }
    };
    markup.into_string()
}

fn heading(view: &View, findings: &[Finding], log_name: &str, reports: usize) -> Markup {
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    html! {
        h1 { "Accountability report: " (inert(log_name)) }
        dl.meta {
            dt { "State as on" } dd { (view.at) " (effective date: statements dated on or before it count)" }
            dt { "As known at" }
            dd { @match view.known_at {
                Some(k) => { (k.to_string()) " (recorded time: only entries recorded by then)" }
                None => { "every entry in the log" }
            } }
            dt { "Last entry" }
            dd { @match (view.last_seq, view.last_hash) {
                (Some(seq), Some(hash)) => { "seq " (seq) ", hash " span.hash { (hash.to_string()) } }
                _ => { "none: the log is empty" }
            } }
            dt { "Contents" }
            dd {
                (view.recs.len()) " recommendation" @if view.recs.len() != 1 { "s" } " in "
                (reports) " report" @if reports != 1 { "s" } "; "
                (findings.len()) " finding" @if findings.len() != 1 { "s" } " ("
                span.error { (count(Severity::Error)) " errors" } ", "
                span.warning { (count(Severity::Warning)) " warnings" } ", "
                span.info { (count(Severity::Info)) " for information" } ")"
            }
        }
    }
}

/// One recommendation: its status, where the record parts ways, its
/// timeline, its findings and every entry about it.
fn rec_section(view: &View, r: &RecView, found: &[&Finding], links: &Links) -> Markup {
    let worst = found.iter().map(|f| f.severity).max();
    let class = worst.map_or("rec".to_string(), |w| format!("rec worst-{}", w.name()));
    let parts = parting(found);
    let flagged: Vec<u64> = parts.iter().flat_map(|f| f.seqs.iter().copied()).collect();
    html! {
        article class=(class) id=(format!("rec-{}", r.rec)) aria-labelledby=(format!("h-{}", r.rec)) {
            h3 id=(format!("h-{}", r.rec)) { (r.rec) }
            p.subject { (inert(&r.subject)) }
            p { (issued_line(view, r, links)) }
            (status_table(view, r, links))
            (parts_ways(&parts))
            figure {
                (timeline::svg(view, r, found, Placement::Main))
                figcaption { "Timeline of " (r.rec) ": hover over a mark for its seqs and signer." }
            }
            h4 { "Findings" }
            @if found.is_empty() { p { "None." } } @else { (findings_list(found)) }
            details {
                summary { "Entries about " (r.rec) " (" (r.history.len()) ")" }
                (statements_table(view, r, &flagged, links))
            }
        }
    }
}

fn funding(view: &View) -> Markup {
    html! {
        @if !view.funding.is_empty() {
            section #funding {
                h2 { "Funding decisions" }
                table {
                    thead { tr {
                        th scope="col" { "Decision" } th scope="col" { "Stage" } th scope="col" { "Date" } th scope="col" { "Amount" }
                        th scope="col" { "Recommendations" } th scope="col" { "Purpose" } th scope="col" { "By" } th scope="col" { "Seqs" }
                    } }
                    tbody {
                        @for f in view.funding.values() {
                            @for step in &f.stages {
                                tr {
                                    th scope="row" { (f.decision) }
                                    td { (words(&step.stage)) }
                                    td { (step.date) }
                                    td.num { (money(step.amount_minor, &f.currency)) }
                                    td { @for (i, r) in step.recs.iter().enumerate() { @if i > 0 { ", " } (r) } }
                                    td { (excerpt(&f.purpose, 300)) }
                                    td { (body_name(view, step.actor.as_ref())) }
                                    td { (seq_list(&step.seqs)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
