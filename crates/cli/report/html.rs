//! The HTML report: one self-contained page (inline CSS and SVG, no scripts,
//! nothing fetched; a Content-Security-Policy says so to the browser) with an
//! overview table, then per recommendation a status row, a timeline, its
//! findings and the entries behind them.

use std::fmt::Write;

use trail_core::state::{Party, RecView, Standing, Statement};
use trail_core::{Finding, Rule, View};

use super::timeline::Placement;
use super::{
    StatusCells, by_rec, by_report, clean, count, seqs_text, severity_counts, timeline, truncate,
    who, words,
};

/// Text from the log made inert in HTML, in element content and in quoted
/// attribute values alike.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in clean(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An amount in minor units as "GBP 250,000.00" (no decimals for the
/// currencies ISO 4217 gives none).
pub(super) fn money(minor: u64, currency: &str) -> String {
    let zero_decimals = matches!(
        currency,
        "BIF"
            | "CLP"
            | "DJF"
            | "GNF"
            | "ISK"
            | "JPY"
            | "KMF"
            | "KRW"
            | "PYG"
            | "RWF"
            | "UGX"
            | "UYI"
            | "VND"
            | "VUV"
            | "XAF"
            | "XOF"
            | "XPF"
    );
    let (major, cents) = if zero_decimals {
        (minor, None)
    } else {
        (minor / 100, Some(minor % 100))
    };
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match cents {
        Some(c) => format!("{currency} {grouped}.{c:02}"),
        None => format!("{currency} {grouped}"),
    }
}

const STYLE: &str = r#"
:root { --ink: #1a1a1a; --muted: #4a4f57; --rule: #c9ced6; --bg-alt: #f4f6f8;
  --error: #a4161a; --warning: #8a4b00; --info: #1d4ed8; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: var(--ink); background: #fff; margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1240px; }
h1 { font-size: 1.6rem; margin: 0 0 .4rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; padding-bottom: .2rem; border-bottom: 2px solid var(--ink); }
h3 { font-size: 1.1rem; margin: 0 0 .3rem; }
h4 { font-size: .95rem; margin: .8rem 0 .3rem; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .6rem 0; }
.meta dt { font-weight: 600; } .meta dd { margin: 0; overflow-wrap: anywhere; }
code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .88em; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; font-size: .9rem; }
th, td { border: 1px solid var(--rule); padding: .3rem .45rem; text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; }
td.num { text-align: right; }
.rec { border: 1px solid var(--rule); border-left: 6px solid #64748b; border-radius: 4px;
  padding: .9rem 1rem; margin: 1rem 0 1.4rem; break-inside: avoid; }
.rec.worst-error { border-left-color: var(--error); }
.rec.worst-warning { border-left-color: #b45309; }
.rec.worst-info { border-left-color: var(--info); }
.subject { color: var(--muted); margin: 0 0 .5rem; }
.glance { border: 1px solid var(--rule); border-left: 6px solid var(--error); border-radius: 4px; padding: .7rem 1rem; margin: .8rem 0; break-inside: avoid; }
.glance p { margin: .2rem 0 .4rem; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 3px; font-size: .8rem;
  font-weight: 600; color: #fff; white-space: nowrap; }
.badge.error { background: var(--error); } .badge.warning { background: var(--warning); }
.badge.info { background: var(--info); } .badge.none { background: #d6dbe1; color: var(--ink); }
ul.findings { list-style: none; padding: 0; margin: .3rem 0; }
li.finding { margin: .25rem 0; padding: .3rem .5rem; border-left: 4px solid var(--rule); background: var(--bg-alt); }
li.finding.error { border-left-color: var(--error); } li.finding.warning { border-left-color: #b45309; }
li.finding.info { border-left-color: var(--info); }
.seqs { color: var(--muted); font-size: .85rem; }
figure { margin: .5rem 0; }
figcaption { font-size: .8rem; color: var(--muted); }
details summary { cursor: pointer; font-weight: 600; margin: .4rem 0; }
.standing-out { color: var(--muted); text-decoration: line-through; }
.legend svg { max-width: 960px; }
svg.timeline, svg.timeline-summary { display: block; border: 1px solid var(--rule); background: #fff; }
svg text { font-family: system-ui, "DejaVu Sans", sans-serif; font-size: 10px; fill: #1a1a1a; }
svg .lane { fill: #fff; } svg .lane.even { fill: #f4f6f8; }
svg .lane-name { font-size: 11px; font-weight: 600; fill: #333; }
svg .axis { stroke: #555; stroke-width: 1; }
svg .grid { stroke: #d5d9df; stroke-width: 1; }
svg .tick { fill: #444; }
svg .as-at line { stroke: #1e3a8a; stroke-width: 2; }
svg .as-at text { fill: #1e3a8a; font-weight: 600; }
svg .contradiction rect { fill: #dc2626; fill-opacity: .16; stroke: #b91c1c; stroke-dasharray: 4 3; }
svg .contradiction line { stroke: #b91c1c; stroke-width: 2.5; }
svg .contradiction text { fill: #a4161a; font-weight: 700; font-size: 11px; }
svg .mark { stroke: #1a1a1a; stroke-width: 1; }
svg .mark text { stroke: none; }
svg .mark .label { fill: #1a1a1a; }
svg .k-issue { fill: #334155; }
svg .k-due line { stroke: #475569; stroke-width: 2; stroke-dasharray: 5 3; }
svg .k-due.extended line { stroke: #7c3aed; }
svg .k-target { fill: #fff; stroke: #334155; stroke-width: 1.5; }
svg .k-target.revised { fill: #e2e8f0; }
svg .k-extension { fill: #7c3aed; }
svg .k-session { fill: #fff; stroke: #7c3aed; stroke-width: 2; }
svg .k-closure { fill: #111; }
svg .k-correction path { stroke: #a4161a; stroke-width: 2.5; fill: none; }
svg .p-accepted { fill: #15803d; } svg .p-accepted-in-part { fill: #0f766e; }
svg .p-not-accepted { fill: #7c2d12; } svg .p-neither { fill: #6b7280; }
svg .c-not-started { fill: #6b7280; } svg .c-in-progress { fill: #2563eb; }
svg .c-partially-implemented { fill: #d97706; } svg .c-implemented { fill: #16a34a; }
svg .third-party circle { fill: #fff; stroke-width: 2.5; stroke-dasharray: 3 2; }
svg .third-party.c-in-progress circle { stroke: #2563eb; } svg .third-party.c-implemented circle { stroke: #16a34a; }
svg .third-party.c-not-started circle { stroke: #6b7280; } svg .third-party.c-partially-implemented circle { stroke: #d97706; }
svg .v-verified { fill: #16a34a; } svg .v-most-respects { fill: #65a30d; }
svg .v-some-respects { fill: #d97706; } svg .v-not-implemented { fill: #dc2626; }
svg .v-regressed { fill: #7f1d1d; } svg .v-insufficient-evidence { fill: #9ca3af; }
svg .f-approved { fill: #3b82f6; } svg .f-committed { fill: #4338ca; } svg .f-paid { fill: #16a34a; }
svg .f-declined, svg .f-withdrawn { fill: #9ca3af; }
svg .s-error path { fill: #dc2626; } svg .s-warning path { fill: #f59e0b; } svg .s-info path { fill: #60a5fa; }
svg .k-finding .bang { fill: #fff; font-weight: 700; font-size: 9px; }
svg .s-warning .bang, svg .s-info .bang { fill: #111; }
svg .corrected { opacity: .4; }
footer { margin-top: 2.5rem; font-size: .85rem; color: var(--muted); border-top: 1px solid var(--rule); padding-top: .6rem; }
a { color: #1d4ed8; }
@media print {
  body { padding: 0; max-width: none; font-size: 11pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .rec, figure, tr { break-inside: avoid; }
  details::details-content { content-visibility: visible; display: block; }
  a { color: inherit; text-decoration: none; }
}
"#;

/// The whole HTML document.
pub(super) fn render(view: &View, findings: &[Finding], log_name: &str) -> String {
    let mut out = String::with_capacity(64 * 1024);
    // Writing to a String cannot fail.
    let _ = write_doc(&mut out, view, findings, log_name);
    out
}

fn write_doc(
    out: &mut String,
    view: &View,
    findings: &[Finding],
    log_name: &str,
) -> std::fmt::Result {
    let name = esc(log_name);
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(
        out,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
    )?;
    writeln!(
        out,
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
    )?;
    writeln!(
        out,
        "<title>trail report: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    )?;
    write_header(out, view, findings, &name)?;
    let grouped = by_rec(view, findings);
    let none: Vec<&Finding> = Vec::new();
    write_overview(out, view, &grouped)?;
    write_legend(out)?;
    write_contradictions(out, view, &grouped)?;
    for (report_id, recs) in by_report(view) {
        let report_anchor = esc(report_id.as_str());
        writeln!(
            out,
            "<section class=\"report\" id=\"report-{report_anchor}\">"
        )?;
        match view.reports.get(report_id) {
            Some(r) => {
                writeln!(
                    out,
                    "<h2>Report {report_anchor}: {}</h2>\n<p>Published {} by {} <span class=\"seqs\">({})</span>; {}.</p>",
                    esc(&r.title),
                    r.date,
                    esc(&who(r.issuer.as_ref())),
                    seqs_text(&r.seqs),
                    count(recs.len(), "recommendation", "recommendations")
                )?;
            }
            None => writeln!(out, "<h2>Report {report_anchor}</h2>")?,
        }
        for rec in recs {
            let found = grouped.get(&Some(rec.rec.clone())).unwrap_or(&none);
            write_rec(out, view, rec, found)?;
        }
        writeln!(out, "</section>")?;
    }
    if let Some(other) = grouped.get(&None) {
        writeln!(
            out,
            "<section id=\"other-findings\">\n<h2>Findings not about a recommendation in this view</h2>"
        )?;
        write_findings(out, other)?;
        writeln!(out, "</section>")?;
    }
    write_funding(out, view)?;
    writeln!(
        out,
        "<footer>Made by <code>trail report</code> from the verified entries of the log. Every value names the seqs of the signed entries it rests on: look them up with <code>trail show --log DIR --from SEQ --to SEQ</code> and check the whole log with <code>trail verify</code>.</footer>\n</body>\n</html>"
    )?;
    Ok(())
}

fn write_header(
    out: &mut String,
    view: &View,
    findings: &[Finding],
    name: &str,
) -> std::fmt::Result {
    writeln!(
        out,
        "<header>\n<h1>Accountability report: {name}</h1>\n<dl class=\"meta\">"
    )?;
    writeln!(
        out,
        "<dt>State as at</dt><dd>{} (effective date: statements dated on or before it count)</dd>",
        view.at
    )?;
    match view.known_at {
        Some(k) => writeln!(
            out,
            "<dt>As known at</dt><dd>{} (recorded time: only entries recorded by then)</dd>",
            esc(&k.to_string())
        )?,
        None => writeln!(out, "<dt>As known at</dt><dd>every entry in the log</dd>")?,
    }
    match (view.last_seq, view.last_hash) {
        (Some(seq), Some(hash)) => writeln!(
            out,
            "<dt>Last entry</dt><dd>seq {seq}, hash <span class=\"hash\">{hash}</span></dd>"
        )?,
        _ => writeln!(out, "<dt>Last entry</dt><dd>none: the log is empty</dd>")?,
    }
    writeln!(
        out,
        "<dt>Contents</dt><dd>{} in {}; {} ({})</dd>\n</dl>\n</header>",
        count(view.recs.len(), "recommendation", "recommendations"),
        count(by_report(view).len(), "report", "reports"),
        count(findings.len(), "finding", "findings"),
        severity_counts(findings)
    )
}

/// The most serious severity among `findings`, as a CSS class name.
fn worst(findings: &[&Finding]) -> Option<&'static str> {
    findings.iter().map(|f| f.severity).max().map(|s| s.name())
}

fn write_overview(
    out: &mut String,
    view: &View,
    grouped: &std::collections::BTreeMap<Option<trail_core::Id>, Vec<&Finding>>,
) -> std::fmt::Result {
    writeln!(
        out,
        "<section id=\"overview\">\n<h2>Overview</h2>\n<table>\n<caption class=\"subject\">One row per recommendation; the six status dimensions are kept apart. Follow the id for the timeline.</caption>"
    )?;
    writeln!(
        out,
        "<thead><tr><th scope=\"col\">Recommendation</th><th scope=\"col\">Addressees</th><th scope=\"col\">Response due</th><th scope=\"col\">Position</th><th scope=\"col\">Claimed</th><th scope=\"col\">Verified</th><th scope=\"col\">Schedule</th><th scope=\"col\">Closure</th><th scope=\"col\">Findings</th></tr></thead>\n<tbody>"
    )?;
    for rec in by_report(view).into_values().flatten() {
        let id = esc(rec.rec.as_str());
        let found = grouped
            .get(&Some(rec.rec.clone()))
            .map_or(&[][..], |v| &v[..]);
        let claimed = match &rec.claimed {
            Some(c) => words(&c.status),
            None if rec.claims.is_empty() => "none".into(),
            None => "none of its own".into(),
        };
        let third = rec
            .claims
            .iter()
            .filter(|c| c.party == Party::ThirdParty)
            .count();
        let claimed = if third > 0 {
            format!("{claimed} (+{third} third-party)")
        } else {
            claimed
        };
        let badges = if found.is_empty() {
            "<span class=\"badge none\">none</span>".to_string()
        } else {
            let mut b = String::new();
            for sev in ["error", "warning", "info"] {
                let n = found.iter().filter(|f| f.severity.name() == sev).count();
                if n > 0 {
                    let plural = if n > 1 && sev != "info" { "s" } else { "" };
                    let _ = write!(b, "<span class=\"badge {sev}\">{n} {sev}{plural}</span> ");
                }
            }
            b
        };
        let addressees: Vec<&str> = rec.addressees.iter().map(|a| a.as_str()).collect();
        writeln!(
            out,
            "<tr><th scope=\"row\"><a href=\"#rec-{id}\">{id}</a></th><td>{}</td><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&addressees.join(", ")),
            rec.response_clock.due,
            words(&rec.response_clock.status),
            rec.position
                .as_ref()
                .map_or("no response".into(), |p| words(&p.position)),
            esc(&claimed),
            rec.verified
                .as_ref()
                .map_or("not assessed".into(), |v| words(&v.verdict)),
            words(&rec.schedule.status),
            words(&rec.closure.status),
            badges.trim_end()
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</section>")
}

/// Every recommendation where a claim of implemented was later assessed not
/// implemented or regressed, with its timeline, before the per-report detail:
/// the contradictions are what a reader most needs to see first.
fn write_contradictions(
    out: &mut String,
    view: &View,
    grouped: &std::collections::BTreeMap<Option<trail_core::Id>, Vec<&Finding>>,
) -> std::fmt::Result {
    let contradicted: Vec<(&RecView, &Vec<&Finding>)> = by_report(view)
        .into_values()
        .flatten()
        .filter_map(|rec| {
            let found = grouped.get(&Some(rec.rec.clone()))?;
            found
                .iter()
                .any(|f| f.rule == Rule::ClaimContradicted)
                .then_some((rec, found))
        })
        .collect();
    if contradicted.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"contradictions\">\n<h2>Where a claim and a later assessment part ways</h2>\n<p>{} in which a claim of implemented was followed by an assessment that found it not implemented or regressed. Each is shown again, with all its findings, in its report below.</p>",
        count(contradicted.len(), "recommendation", "recommendations")
    )?;
    for (rec, found) in contradicted {
        let id = esc(rec.rec.as_str());
        writeln!(
            out,
            "<div class=\"glance\">\n<h3><a href=\"#rec-{id}\">{id}</a></h3>\n<p class=\"subject\">{}</p>",
            esc(&truncate(&rec.subject, 300))
        )?;
        for f in found.iter().filter(|f| f.rule == Rule::ClaimContradicted) {
            writeln!(
                out,
                "<p><span class=\"badge {sev}\">{sev}</span> <code>{}</code> {}</p>",
                f.rule.id(),
                esc(&f.message),
                sev = f.severity,
            )?;
        }
        writeln!(
            out,
            "{}\n</div>",
            timeline::svg(view, rec, found, Placement::Summary)
        )?;
    }
    writeln!(out, "</section>")
}

/// The key to the timeline's markers, drawn with the same classes.
fn write_legend(out: &mut String) -> std::fmt::Result {
    let items: [(&str, &str, &str); 14] = [
        (
            "mark k-issue",
            "<path d=\"M10 3L17 10L10 17L3 10Z\"/>",
            "issued",
        ),
        (
            "mark k-due",
            "<line x1=\"10\" y1=\"1\" x2=\"10\" y2=\"19\"/>",
            "response due",
        ),
        (
            "mark k-response p-accepted",
            "<circle cx=\"10\" cy=\"10\" r=\"6.5\"/>",
            "response",
        ),
        (
            "mark k-target",
            "<path d=\"M10 2L17 16L3 16Z\"/>",
            "target date",
        ),
        (
            "mark k-session",
            "<circle cx=\"10\" cy=\"10\" r=\"6.5\"/>",
            "session",
        ),
        (
            "mark k-closure",
            "<rect x=\"3.5\" y=\"3.5\" width=\"13\" height=\"13\"/>",
            "closed",
        ),
        (
            "mark k-claim c-implemented",
            "<circle cx=\"10\" cy=\"10\" r=\"6.5\"/>",
            "claim (own)",
        ),
        (
            "mark k-claim c-implemented third-party",
            "<circle cx=\"10\" cy=\"10\" r=\"6.5\"/>",
            "claim (third party)",
        ),
        (
            "mark k-assessment v-verified",
            "<path d=\"M10 2L18 10L10 18L2 10Z\"/>",
            "assessed: verified",
        ),
        (
            "mark k-assessment v-not-implemented",
            "<path d=\"M10 2L18 10L10 18L2 10Z\"/>",
            "assessed: not implemented",
        ),
        (
            "mark k-funding f-approved",
            "<rect x=\"3.5\" y=\"3.5\" width=\"13\" height=\"13\"/>",
            "funding step",
        ),
        (
            "mark k-finding s-error",
            "<path d=\"M10 1L18 17L2 17Z\"/>",
            "finding (error)",
        ),
        (
            "mark k-finding s-warning",
            "<path d=\"M10 1L18 17L2 17Z\"/>",
            "finding (warning)",
        ),
        (
            "contradiction",
            "<rect x=\"0\" y=\"2\" width=\"20\" height=\"16\"/>",
            "claim contradicted",
        ),
    ];
    writeln!(
        out,
        "<section class=\"legend\" aria-label=\"Key to the timelines\">\n<h2>Reading the timelines</h2>\n<p>Each recommendation's timeline runs from its issue to the report's date along one date axis. Markers sit at the date a statement speaks about; hover over one to see its seqs. Hollow dashed circles are third-party claims; faded markers were later corrected. A red band joins a claim of implemented to the later assessment that found otherwise.</p>"
    )?;
    let cols = 5;
    let rows = items.len().div_ceil(cols);
    writeln!(
        out,
        "<svg viewBox=\"0 0 960 {}\" width=\"100%\" role=\"img\" aria-label=\"Key: marker shapes and what they stand for\">",
        rows * 26 + 4
    )?;
    for (i, (class, shape, text)) in items.iter().enumerate() {
        let (x, y) = ((i % cols) * 192, (i / cols) * 26 + 3);
        writeln!(
            out,
            "<g transform=\"translate({x} {y})\"><g class=\"{class}\">{shape}</g><text x=\"26\" y=\"14\" style=\"font-size:12px\">{text}</text></g>"
        )?;
    }
    writeln!(out, "</svg>\n</section>")
}

fn write_rec(
    out: &mut String,
    view: &View,
    rec: &RecView,
    findings: &[&Finding],
) -> std::fmt::Result {
    let id = esc(rec.rec.as_str());
    let class = worst(findings).map_or(String::new(), |w| format!(" worst-{w}"));
    writeln!(
        out,
        "<article class=\"rec{class}\" id=\"rec-{id}\" aria-labelledby=\"h-{id}\">\n<h3 id=\"h-{id}\">{id}</h3>"
    )?;
    let addressees: Vec<&str> = rec.addressees.iter().map(|a| a.as_str()).collect();
    writeln!(
        out,
        "<p class=\"subject\">{} <span class=\"seqs\">Issued {} by {} to {} ({}).</span></p>",
        esc(&rec.subject),
        rec.issued_on,
        esc(&who(rec.issuer.as_ref())),
        esc(&addressees.join(", ")),
        seqs_text(&rec.issued_seqs)
    )?;
    let cells = StatusCells::of(rec);
    writeln!(
        out,
        "<table class=\"status\">\n<thead><tr><th scope=\"col\">Response due</th><th scope=\"col\">Position</th><th scope=\"col\">Claimed</th><th scope=\"col\">Verified</th><th scope=\"col\">Schedule</th><th scope=\"col\">Closure</th></tr></thead>"
    )?;
    writeln!(
        out,
        "<tbody><tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr></tbody>\n</table>",
        esc(&cells.due),
        esc(&cells.position),
        esc(&cells.claimed),
        esc(&cells.verified),
        esc(&cells.schedule),
        esc(&cells.closure)
    )?;
    writeln!(
        out,
        "<figure>\n{}\n<figcaption>Timeline of {id}: hover over a marker for its seqs.</figcaption>\n</figure>",
        timeline::svg(view, rec, findings, Placement::Section)
    )?;
    writeln!(out, "<h4>Findings</h4>")?;
    if findings.is_empty() {
        writeln!(out, "<p>None.</p>")?;
    } else {
        write_findings(out, findings)?;
    }
    write_history(out, rec)?;
    writeln!(out, "</article>")
}

fn write_findings(out: &mut String, findings: &[&Finding]) -> std::fmt::Result {
    writeln!(out, "<ul class=\"findings\">")?;
    for f in findings {
        let rec = f.rec.as_ref().map_or(String::new(), |r| esc(r.as_str()));
        let decision = f.decision.as_ref().map_or(String::new(), |d| {
            format!(" <span class=\"seqs\">decision {}</span>", esc(d.as_str()))
        });
        writeln!(
            out,
            "<li class=\"finding {sev}\" data-rule=\"{rule}\" data-rec=\"{rec}\" data-severity=\"{sev}\"><span class=\"badge {sev}\">{sev}</span> <code>{rule}</code>{decision} <span class=\"seqs\">({})</span>: {}</li>",
            seqs_text(&f.seqs),
            esc(&f.message),
            sev = f.severity,
            rule = f.rule.id(),
        )?;
    }
    writeln!(out, "</ul>")
}

/// What one statement says, in a line.
fn summary(s: &Statement) -> String {
    use trail_core::Event as E;
    match &s.event {
        E::RecommendationIssued(e) => format!("issued: {}", truncate(&e.subject, 300)),
        E::ResponseRecorded(e) => {
            let mut t = words(&e.position);
            if let Some(target) = e.target {
                t.push_str(&format!(", target {target}"));
            }
            if let Some(a) = &e.actions {
                t.push_str(&format!("; actions: {}", truncate(a, 300)));
            }
            if let Some(r) = &e.reasons {
                t.push_str(&format!("; reasons: {}", truncate(r, 300)));
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
                .map(|e| format!("{} ({})", e.name, words(&e.kind)))
                .collect();
            format!(
                "{} about {} ({party}): {}; evidence: {}",
                words(&c.status),
                c.subject,
                truncate(&c.narrative, 300),
                if evidence.is_empty() {
                    "none".into()
                } else {
                    evidence.join(", ")
                }
            )
        }
        E::Assessment(a) => format!(
            "{} ({} coverage): {}",
            words(&a.verdict),
            words(&a.coverage),
            truncate(&a.narrative, 300)
        ),
        E::FundingDecision(f) => format!(
            "decision {} {}: {} for {}",
            f.decision,
            words(&f.stage),
            money(f.amount_minor, &f.currency),
            truncate(&f.purpose, 200)
        ),
        E::ResponseDeadlineExtended(e) => format!("response due extended to {}", e.new_due),
        E::TargetRevised(e) => format!(
            "target moved from {} to {}: {}",
            e.old_target,
            e.new_target,
            truncate(&e.reason, 300)
        ),
        E::AccountabilitySession(e) => format!("discussed at {}", truncate(&e.forum, 200)),
        E::RecommendationClosed(e) => format!("closed as {}", words(&e.outcome)),
        E::Correction(c) => format!(
            "retracts seq {}: {}",
            c.target_seq,
            truncate(&c.reason, 300)
        ),
        other => other.kind().name().to_string(),
    }
}

fn write_history(out: &mut String, rec: &RecView) -> std::fmt::Result {
    writeln!(
        out,
        "<details>\n<summary>Entries about {} ({})</summary>\n<table class=\"history\">\n<thead><tr><th scope=\"col\">Seq</th><th scope=\"col\">Date</th><th scope=\"col\">Recorded</th><th scope=\"col\">Signer</th><th scope=\"col\">Event</th><th scope=\"col\">What it says</th><th scope=\"col\">Standing</th></tr></thead>\n<tbody>",
        esc(rec.rec.as_str()),
        rec.history.len()
    )?;
    for s in &rec.history {
        let (standing, class) = match s.standing {
            _ if s.in_force() => ("in force".to_string(), ""),
            Standing::Retracted { by } => {
                (format!("retracted by seq {by}"), " class=\"standing-out\"")
            }
            Standing::Replaced { by } => {
                (format!("replaced by seq {by}"), " class=\"standing-out\"")
            }
            Standing::InForce => ("correction".to_string(), ""),
        };
        let seq = match s.replaces {
            Some(r) => format!("{} (replaces {r})", s.seq),
            None => s.seq.to_string(),
        };
        writeln!(
            out,
            "<tr{class}><td class=\"num\">{seq}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{standing}</td></tr>",
            s.date(),
            s.recorded_at.0.strftime("%Y-%m-%d %H:%M"),
            esc(&who(s.actor.as_ref())),
            s.event.kind().name(),
            esc(&summary(s)),
        )?;
    }
    writeln!(out, "</tbody>\n</table>\n</details>")
}

fn write_funding(out: &mut String, view: &View) -> std::fmt::Result {
    if view.funding.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "<section id=\"funding\">\n<h2>Funding decisions</h2>\n<table>\n<thead><tr><th scope=\"col\">Decision</th><th scope=\"col\">Stage</th><th scope=\"col\">Date</th><th scope=\"col\">Amount</th><th scope=\"col\">Recommendations</th><th scope=\"col\">Purpose</th><th scope=\"col\">Seqs</th></tr></thead>\n<tbody>"
    )?;
    for f in view.funding.values() {
        for step in &f.stages {
            let recs: Vec<&str> = step.recs.iter().map(|r| r.as_str()).collect();
            writeln!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(f.decision.as_str()),
                words(&step.stage),
                step.date,
                esc(&money(step.amount_minor, &f.currency)),
                esc(&recs.join(", ")),
                esc(&f.purpose),
                seqs_text(&step.seqs)
            )?;
        }
    }
    writeln!(out, "</tbody>\n</table>\n</section>")
}
