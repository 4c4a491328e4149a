//! The Markdown report: a header, a table per report, then findings grouped
//! by recommendation.

use std::fmt::Write;

use trail_core::{Finding, View};

use super::{StatusCells, by_rec, clean, count, seq_list, severity_counts};

/// Text from the log made inert in Markdown: cleaned, then every character
/// that could start emphasis, code, a link or a table cell is backslash-escaped,
/// and `&`, `<` and `>` become entities so no renderer sees raw HTML.
pub(super) fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in clean(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The whole Markdown document.
pub(super) fn render(view: &View, findings: &[Finding], log_name: &str) -> String {
    let mut out = String::new();
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
    writeln!(out, "# Accountability report: {}\n", md(log_name))?;
    writeln!(
        out,
        "- State as at (effective date): {}",
        md(&view.at.to_string())
    )?;
    match view.known_at {
        Some(k) => writeln!(out, "- As known at (recorded time): {}", md(&k.to_string()))?,
        None => writeln!(out, "- As known at (recorded time): every entry in the log")?,
    }
    match (view.last_seq, view.last_hash) {
        (Some(seq), Some(hash)) => writeln!(out, "- Last entry: seq {seq}, hash `{hash}`")?,
        _ => writeln!(out, "- Last entry: none (the log is empty)")?,
    }
    writeln!(
        out,
        "- {}, {} ({})\n",
        count(view.recs.len(), "recommendation", "recommendations"),
        count(findings.len(), "finding", "findings"),
        severity_counts(findings)
    )?;

    for (report_id, recs) in view.recs_by_report() {
        match view.reports.get(report_id) {
            Some(r) => {
                writeln!(
                    out,
                    "## Report {}: {}\n",
                    md(report_id.as_str()),
                    md(&r.title)
                )?;
                writeln!(
                    out,
                    "Published {} by {} ({}).\n",
                    r.date,
                    md(&super::who(r.issuer.as_ref())),
                    seq_list(&r.seqs)
                )?;
            }
            None => writeln!(out, "## Report {}\n", md(report_id.as_str()))?,
        }
        writeln!(
            out,
            "| Rec | Addressees | Position | Claimed | Verified | Schedule | Closure | Due |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|---|---|")?;
        for rec in recs {
            let cells = StatusCells::of(rec);
            let addressees: Vec<&str> = rec.addressees.iter().map(|a| a.as_str()).collect();
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                md(rec.rec.as_str()),
                md(&addressees.join(", ")),
                md(&cells.position),
                md(&cells.claimed),
                md(&cells.verified),
                md(&cells.schedule),
                md(&cells.closure),
                md(&cells.due),
            )?;
        }
        writeln!(out)?;
    }

    writeln!(out, "## Findings\n")?;
    if findings.is_empty() {
        writeln!(out, "No findings.\n")?;
    }
    let grouped = by_rec(view, findings);
    let in_order = view
        .recs_by_report()
        .into_iter()
        .flat_map(|(_, recs)| recs)
        .map(|r| Some(r.rec.clone()))
        .chain([None]);
    for rec in in_order {
        let Some(group) = grouped.get(&rec) else {
            continue;
        };
        match rec {
            Some(rec) => writeln!(out, "### {}\n", md(rec.as_str()))?,
            None => writeln!(out, "### Not about a recommendation in this view\n")?,
        }
        for f in group {
            let mut about = String::new();
            if let Some(r) = &f.rec
                && !view.recs.contains_key(r)
            {
                about.push_str(&format!(" recommendation {},", md(r.as_str())));
            }
            if let Some(d) = &f.decision {
                about.push_str(&format!(" decision {},", md(d.as_str())));
            }
            writeln!(
                out,
                "- **{}** `{}`{} {}: {}",
                f.severity,
                f.rule.id(),
                about,
                seq_list(&f.seqs),
                md(&f.message)
            )?;
        }
        writeln!(out)?;
    }
    Ok(())
}
