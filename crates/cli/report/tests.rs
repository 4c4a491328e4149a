//! Rendering tests on a small real log: every recommendation and finding
//! reaches every format, and hostile text from the log stays inert.

use serde_json::{Value, json};
use trail_core::state::State;
use trail_core::{CheckConfig, Day, Event, Finding, Id, Log, Rule, SecretKey, View};

use super::markdown::md;
use super::{ReportFormat, render};

/// Log text as the HTML report shows it: made inert, then escaped as maud
/// escapes element content.
fn esc(text: &str) -> String {
    trail_server::inert(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const HOSTILE: &str =
    "<script>alert(\"x\")</script> & 'q' \u{202e}txet\u{202c} [link](javascript:x) | cell";

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn ev(value: Value) -> Event {
    Event::from_json(&value.to_string()).expect("test event")
}

/// A log in which claim_contradicted, implemented_without_evidence,
/// response_overdue, third_party_claim and funding findings fire, with
/// hostile text in a title, a subject and a narrative; viewed on 2024-06-01.
fn scenario() -> (View, Vec<Finding>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let admin = key(1);
    let log = Log::create(
        &dir.path().join("log"),
        "report test",
        &admin,
        Id::new("admin").expect("id"),
        "Admin",
    )
    .expect("create");
    let grants = [
        (2, "oversight", "issuer"),
        (3, "northshire", "respondent"),
        (4, "inspectorate", "assessor"),
        (5, "pcc", "funder"),
    ]
    .map(|(seed, actor, role)| {
        ev(json!({"type": "key_granted", "actor": actor, "body": format!("{actor} {HOSTILE}"),
            "public_key": key(seed).public_key().to_string(), "roles": [role], "date": "2021-01-01"}))
    });
    log.append_all(&admin, grants.to_vec()).expect("grants");
    log.append_all(
        &key(2),
        vec![
            ev(json!({"type": "report_published", "report": "REP-1", "title": HOSTILE, "date": "2022-03-01"})),
            ev(json!({"type": "recommendation_issued", "rec": "REP-1.R1", "report": "REP-1",
                "addressees": ["northshire"], "subject": HOSTILE, "date": "2022-03-01"})),
            ev(json!({"type": "recommendation_issued", "rec": "REP-1.R2", "report": "REP-1",
                "addressees": ["northshire"], "subject": "Audit quarterly", "date": "2022-03-01"})),
        ],
    )
    .expect("issue");
    log.append(
        &key(3),
        ev(
            json!({"type": "response_recorded", "rec": "REP-1.R1", "position": "accepted",
            "actions": HOSTILE, "target": "2022-12-31", "date": "2022-04-20"}),
        ),
    )
    .expect("response");
    log.append(
        &key(5),
        ev(json!({"type": "funding_decision", "decision": "D/1", "amount_minor": 25_000_000u64,
            "currency": "GBP", "purpose": HOSTILE, "recs": ["REP-1.R1"], "stage": "approved", "date": "2022-05-10"})),
    )
    .expect("funding");
    let digest = trail_core::Digest::of(b"plan");
    log.append(
        &key(3),
        ev(json!({"type": "progress_claim", "rec": "REP-1.R1", "status": "implemented", "subject": "northshire",
            "narrative": HOSTILE, "date": "2023-01-15",
            "evidence": [{"name": "plan.pdf", "blake3": digest.to_string(), "kind": "self_report"}]})),
    )
    .expect("claim");
    log.append(
        &key(4),
        ev(json!({"type": "assessment", "rec": "REP-1.R1", "verdict": "not_implemented", "coverage": "full",
            "narrative": "Sampled 200 reports.", "date": "2023-09-01"})),
    )
    .expect("assessment");
    log.append(
        &key(5),
        ev(json!({"type": "progress_claim", "rec": "REP-1.R2", "status": "in_progress", "subject": "northshire",
            "narrative": "We hear it is under way.", "date": "2022-06-01"})),
    )
    .expect("third-party claim");
    let mut state = State::new();
    log.verify_with(|chunk| {
        for entry in chunk {
            state.apply(entry).expect("in order");
        }
        Ok(())
    })
    .expect("verifies");
    let view = state.view(Day::new(2024, 6, 1).expect("day"));
    let findings = trail_core::check(&view, &CheckConfig::default());
    (view, findings)
}

#[test]
fn html_escaping_leaves_no_markup_or_bidi() {
    let e = esc(HOSTILE);
    assert!(!e.contains('<') && !e.contains('>') && !e.contains('"'));
    assert!(!e.contains('\u{202e}') && !e.contains('\u{202c}'));
    assert!(e.starts_with("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'q' \\u{202e}"));
}

#[test]
fn markdown_escaping_leaves_no_markup_or_bidi() {
    let m = md(HOSTILE);
    assert!(!m.contains("<script") && !m.contains('\u{202e}'));
    assert!(m.contains("&lt;script&gt;") && m.contains("&amp;"));
    assert!(m.contains("\\[link\\]") && m.contains("\\| cell"));
}

/// The rules the scenario was built to trip.
fn expected_rules() -> [Rule; 5] {
    [
        Rule::ClaimContradicted,
        Rule::ImplementedWithoutEvidence,
        Rule::ResponseOverdue,
        Rule::ThirdPartyClaim,
        Rule::FundingUnlinked,
    ]
}

#[test]
fn scenario_trips_the_planted_rules() {
    let (view, findings) = scenario();
    assert_eq!(view.recs.len(), 2);
    for rule in expected_rules() {
        assert!(
            findings.iter().any(|f| f.rule == rule),
            "{rule} missing from {findings:#?}"
        );
    }
}

#[test]
fn html_has_every_rec_and_finding_and_nothing_external() {
    let (view, findings) = scenario();
    let html = render(&view, &findings, "report <test>", ReportFormat::Html);
    assert!(html.starts_with("<!DOCTYPE html>"));
    for id in view.recs.keys() {
        assert!(html.contains(&format!("id=\"rec-{id}\"")), "{id} container");
    }
    for f in &findings {
        let rec = f.rec.as_ref().map_or("", |r| r.as_str());
        let needle = format!("data-rule=\"{}\" data-rec=\"{rec}\"", f.rule.id());
        assert!(html.contains(&needle), "finding {needle}");
        assert!(html.contains(&esc(&f.message)), "message of {}", f.rule);
    }
    assert_eq!(html.matches("<li class=\"finding ").count(), findings.len());
    assert_eq!(
        html.matches("<svg class=\"timeline\"").count(),
        view.recs.len()
    );
    assert!(
        html.contains("class=\"contradiction\""),
        "contradiction band"
    );
    assert!(html.contains("<section id=\"contradictions\">"));
    assert_eq!(html.matches("<svg class=\"timeline-summary\"").count(), 1);
    assert_eq!(
        html.matches("id=\"tl-title-main-REP-1.R1\"").count(),
        1,
        "element ids stay unique"
    );
    assert!(html.contains("<title>trail report: report &lt;test&gt;</title>"));
    for forbidden in [
        "<script", "http:", "https:", "src=", "@import", "url(", "\u{202e}", "\u{202c}",
    ] {
        assert!(!html.contains(forbidden), "html contains {forbidden:?}");
    }
    assert!(
        html.contains("&lt;script&gt;"),
        "hostile text shown, escaped"
    );
}

#[test]
fn timeline_names_seqs_and_places_findings_by_date() {
    let (view, findings) = scenario();
    let html = render(&view, &findings, "t", ReportFormat::Html);
    let contradicted = findings
        .iter()
        .find(|f| f.rule == Rule::ClaimContradicted)
        .expect("claim_contradicted");
    // Placed at the later of the claim and the assessment: the assessment's date.
    assert!(
        html.contains("<title>claim_contradicted (error) on 2023-09-01, seqs "),
        "{html}"
    );
    let overdue = findings
        .iter()
        .find(|f| f.rule == Rule::ResponseOverdue)
        .expect("response_overdue");
    let r2 = &view.recs[&Id::new("REP-1.R2").expect("id")];
    // Placed on the day after the response fell due.
    let overdue_on = r2.response_clock.due.plus_days(1).expect("day");
    let title = format!("response_overdue ({}) on {overdue_on}", overdue.severity);
    assert!(html.contains(&title), "{title}");
    for seq in &contradicted.seqs {
        assert!(
            html.contains(&format!("#{seq} ")),
            "a label names seq {seq}"
        );
    }
    // Body names, not actor ids, name who signed.
    assert!(html.contains("signed by "));
}

#[test]
fn markdown_has_every_rec_and_finding() {
    let (view, findings) = scenario();
    let text = render(&view, &findings, "report | test", ReportFormat::Markdown);
    assert!(text.starts_with("# Accountability report: report \\| test\n"));
    assert!(text.contains(&format!("- State as at (effective date): {}", view.at)));
    let last = view.last_seq.expect("last seq");
    assert!(text.contains(&format!(
        "seq {last}, hash `{}`",
        view.last_hash.expect("hash")
    )));
    assert!(text.contains(
        "| Rec | Addressees | Position | Claimed | Verified | Schedule | Closure | Due |"
    ));
    for id in view.recs.keys() {
        assert!(text.contains(&format!("| {id} | northshire |")), "{id} row");
        assert!(text.contains(&format!("### {id}\n")), "{id} findings");
    }
    for f in &findings {
        assert!(
            text.contains(&format!("`{}`", f.rule.id())) && text.contains(&md(&f.message)),
            "finding {}",
            f.rule
        );
    }
    assert!(text.contains("third-party claim by pcc: in progress"));
    assert!(!text.contains("<script") && !text.contains('\u{202e}'));
}

#[test]
fn json_is_the_view_and_findings_with_bidi_escaped() {
    let (view, findings) = scenario();
    let text = render(&view, &findings, "ignored", ReportFormat::Json);
    assert!(!text.contains('\u{202e}'), "bidi written as an escape");
    assert!(text.contains("\\u202e"));
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let back: View = serde_json::from_value(doc["view"].clone()).expect("view");
    assert_eq!(back, view);
    let back: Vec<Finding> = serde_json::from_value(doc["findings"].clone()).expect("findings");
    assert_eq!(back, findings);
}

#[test]
fn format_names_are_md_html_json() {
    use clap::ValueEnum;
    let names: Vec<String> = ReportFormat::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value().map(|p| p.get_name().to_string()))
        .collect();
    assert_eq!(names, ["md", "html", "json"]);
}

#[test]
fn empty_view_renders() {
    let view = State::new().view(Day::new(2024, 1, 1).expect("day"));
    for format in [
        ReportFormat::Markdown,
        ReportFormat::Html,
        ReportFormat::Json,
    ] {
        let out = render(&view, &[], "empty", format);
        assert!(!out.is_empty());
    }
}
