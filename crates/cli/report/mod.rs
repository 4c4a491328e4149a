//! `trail report`: the state of every recommendation and the findings of
//! `check`, as a document for people who read rather than query.
//!
//! Three renderings of the same [`View`] and findings: Markdown tables, one
//! self-contained HTML page with a timeline per recommendation (inline CSS and
//! SVG only, nothing fetched; built by trail-server from the templates its
//! pages use, so the two never drift apart), and JSON. Everything that came from the log is
//! untrusted text: it is escaped for the target format, and control and
//! bidirectional-override characters are shown as visible `\u{..}` escapes so
//! an entry cannot reorder or hide what a reader sees.

mod markdown;
#[cfg(test)]
mod tests;

pub use crate::args::ReportFormat;
use trail_core::check::by_rec;
use trail_core::{Finding, Id, View};
use trail_core::{seq_list, words};
// Log text made inert for display: the same rule the HTML report and the
// served pages apply.
use trail_server::{inert as clean, invisible};

/// Renders `view` and `findings` of the log called `log_name` as a document.
pub fn render(view: &View, findings: &[Finding], log_name: &str, format: ReportFormat) -> String {
    match format {
        ReportFormat::Markdown => markdown::render(view, findings, log_name),
        ReportFormat::Html => trail_server::report_document(view, findings, log_name),
        ReportFormat::Json => json(view, findings),
    }
}

/// The JSON form. Bidirectional overrides and other invisible format
/// characters can only occur inside JSON strings, so writing them as `\uXXXX`
/// escapes keeps the document equal as data while a terminal shows it as it is.
fn json(view: &View, findings: &[Finding]) -> String {
    let doc = serde_json::json!({ "view": view, "findings": findings });
    let text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        serde_json::json!({ "error": format!("the report could not be serialised: {e}") })
            .to_string()
    });
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if invisible(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    out
}

/// An actor id, or "an unregistered key" when the signer had none.
fn who(actor: Option<&Id>) -> String {
    actor.map_or_else(|| "an unregistered key".into(), |a| a.to_string())
}

/// "1 recommendation", "2 recommendations".
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Counts of findings by severity, most serious first, e.g. "2 errors, 1 warning".
fn severity_counts(findings: &[Finding]) -> String {
    use trail_core::Severity;
    let parts: Vec<String> = [
        (Severity::Error, "error", "errors"),
        (Severity::Warning, "warning", "warnings"),
        (Severity::Info, "info", "info"),
    ]
    .into_iter()
    .map(|(s, one, many)| {
        count(
            findings.iter().filter(|f| f.severity == s).count(),
            one,
            many,
        )
    })
    .collect();
    parts.join(", ")
}

/// The status cells shared by the Markdown table and the HTML status row.
struct StatusCells {
    position: String,
    claimed: String,
    verified: String,
    schedule: String,
    closure: String,
    due: String,
}

impl StatusCells {
    /// Plain (uncleaned) text for each of the six dimensions of one recommendation.
    fn of(rec: &trail_core::state::RecView) -> StatusCells {
        use trail_core::state::{ClosureStatus, Party, ResponseClock, ScheduleStatus};
        let position = rec.position.as_ref().map_or_else(
            || "no response".to_string(),
            |p| {
                format!(
                    "{} by {} on {} ({})",
                    words(&p.position),
                    who(p.actor.as_ref()),
                    p.date,
                    seq_list(&p.seqs)
                )
            },
        );
        let mut claimed = rec.claimed.as_ref().map_or_else(
            || "no claim by the addressee".to_string(),
            |c| {
                format!(
                    "{} on {}, {}'s own claim ({}; cites {})",
                    words(&c.status),
                    c.date,
                    who(c.actor.as_ref()),
                    seq_list(&c.seqs),
                    count(c.evidence, "document", "documents")
                )
            },
        );
        for c in rec.claims.iter().filter(|c| c.party == Party::ThirdParty) {
            claimed.push_str(&format!(
                "; third-party claim by {}: {} on {} ({})",
                who(c.actor.as_ref()),
                words(&c.status),
                c.date,
                seq_list(&c.seqs)
            ));
        }
        let verified = rec.verified.as_ref().map_or_else(
            || "not assessed".to_string(),
            |a| {
                format!(
                    "{} ({} coverage) by {} on {} ({})",
                    words(&a.verdict),
                    words(&a.coverage),
                    who(a.actor.as_ref()),
                    a.date,
                    seq_list(&a.seqs)
                )
            },
        );
        let s = &rec.schedule;
        let mut schedule = words(&s.status);
        if let Some(t) = s.target {
            schedule.push_str(&format!(", target {t}"));
        }
        if let (Some(orig), Some(days)) = (s.original_target, s.slip_days)
            && days != 0
        {
            schedule.push_str(&format!(" (originally {orig}, moved {days} days)"));
        }
        if s.status == ScheduleStatus::NoTarget {
            schedule = "no target".into();
        }
        let closure = match (rec.closure.status, rec.closure.date) {
            (ClosureStatus::Open, _) => "open".to_string(),
            (status, date) => format!(
                "{}{} by {} ({})",
                words(&status),
                date.map(|d| format!(" on {d}")).unwrap_or_default(),
                who(rec.closure.actor.as_ref()),
                seq_list(&rec.closure.seqs)
            ),
        };
        let clock = &rec.response_clock;
        let mut due = match (clock.status, clock.responded_on) {
            (_, Some(on)) if on > clock.due => format!("{}, responded late on {on}", clock.due),
            (_, Some(on)) => format!("{}, responded {on}", clock.due),
            (ResponseClock::Awaiting, None) => format!("{}, awaiting a response", clock.due),
            (status, None) => format!("{}, {}", clock.due, words(&status)),
        };
        if clock.due != clock.original_due {
            due.push_str(&format!(" (originally {})", clock.original_due));
        }
        StatusCells {
            position,
            claimed,
            verified,
            schedule,
            closure,
            due,
        }
    }
}
