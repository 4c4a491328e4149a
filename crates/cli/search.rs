//! `trail search`: entries whose text holds every term, with the
//! recommendations they are about.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::json;
use trail_core::{Event, Log, SearchHit};

use crate::Failure;
use crate::output;

/// Characters of text shown around the first term.
const EXCERPT: usize = 60;

/// The recommendations (or, for a report, the report) an entry is about.
fn about(event: &Event) -> Vec<String> {
    let event = match event {
        Event::Correction(_) => match event.replacement() {
            Some(r) => r,
            None => return Vec::new(),
        },
        other => other,
    };
    match event {
        Event::ReportPublished(r) => vec![r.report.to_string()],
        other => other.recs().iter().map(|r| r.to_string()).collect(),
    }
}

/// The line of `text` holding `term`, cut to about [`EXCERPT`] characters around it.
fn excerpt(text: &str, term: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.to_lowercase().contains(term))
        .unwrap_or_else(|| text.lines().next().unwrap_or_default());
    let chars: Vec<char> = line.chars().collect();
    // Where the term starts, in characters; lowercasing can change the
    // length of a few characters, and then the excerpt starts at the line.
    let lower = line.to_lowercase();
    let at = match lower.find(term) {
        Some(b) if lower.chars().count() == chars.len() => lower[..b].chars().count(),
        _ => 0,
    };
    let start = at.saturating_sub(EXCERPT / 3);
    let end = (start + EXCERPT).min(chars.len());
    let mut out: String = chars[start..end].iter().collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

pub fn search(dir: &Path, terms: &[String], limit: usize, json: bool) -> Result<(), Failure> {
    let log = Log::open_read(dir)?;
    let (hits, matched) = log.search(terms, limit)?;
    let first = terms
        .iter()
        .map(|t| t.trim().to_lowercase())
        .find(|t| !t.is_empty())
        .unwrap_or_default();
    let mut recs: BTreeSet<String> = BTreeSet::new();
    let mut rows = Vec::new();
    for SearchHit { entry, text } in &hits {
        let event = entry.entry().event();
        let ids = about(event);
        recs.extend(ids.iter().cloned());
        let excerpt = excerpt(text, &first);
        if json {
            output::json_line(
                "match",
                json!({
                    "seq": entry.seq(),
                    "event": event.kind().name(),
                    "about": ids,
                    "excerpt": excerpt,
                }),
            )?;
        } else {
            rows.push(vec![
                entry.seq().to_string(),
                event.kind().name().to_owned(),
                output::cell(&ids.join(","), 24),
                output::cell(&excerpt, output::MAX_CELL),
            ]);
        }
    }
    let mut recs: Vec<String> = recs.into_iter().collect();
    recs.sort_by_key(|r| trail_core::Id::natural_key(r));
    if json {
        output::json_line(
            "search",
            json!({ "matched": matched, "shown": hits.len(), "about": recs }),
        )?;
        return Ok(());
    }
    if !rows.is_empty() {
        let header = ["seq", "type", "about", "text"];
        output::table(&header, &rows)?;
    }
    let shown = if hits.len() < matched {
        format!(", {} shown (--limit)", hits.len())
    } else {
        String::new()
    };
    let about = if recs.is_empty() {
        String::new()
    } else {
        format!(" about {}", output::cell(&recs.join(", "), 200))
    };
    output::line(format!(
        "{matched} entr{} matched{shown}{about}",
        if matched == 1 { "y" } else { "ies" }
    ))?;
    Ok(())
}
