//! The HTML report in a real browser: `trail report --format html` on a log in
//! which a claim of "implemented" is later assessed not implemented, opened in
//! headless Chromium (Debian's `chromium` package, installed by .ci/run).
//!
//! The test reads the DOM as Chromium built it, not the file as written, so it
//! checks that the page parses into one container per recommendation and one
//! element per finding, that hostile text from the log stayed text, and that a
//! screenshot renders. Without Chromium it fails under CI (the `CI` variable is
//! set) and is skipped with a message elsewhere.

mod common;

use std::path::Path;

use common::browser::{chromium, run_chromium};

use serde_json::{Value, json};
use trail_core::state::State;
use trail_core::{CheckConfig, Day, Event, Finding, Id, Log, SecretKey, View};

/// The report's effective date, passed as --at so the test does not depend on today.
const AT: &str = "2024-06-01";

/// Text a hostile signer might put in a log, to be shown and never obeyed.
const HOSTILE: &str =
    "<script>document.title='pwned'</script><img src=x onerror=alert(1)> \u{202e}txet";

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

fn ev(value: Value) -> Event {
    Event::from_json(&value.to_string()).expect("test event")
}

/// Builds the log with the library: an issuer, a respondent, an assessor and a
/// funder; one recommendation claimed implemented on self-report evidence and
/// then assessed not implemented, one never answered, one with a third-party
/// claim. Returns the view on AT and its findings, as `trail check` sees them.
fn build_log(dir: &Path) -> (View, Vec<Finding>) {
    let admin = key(1);
    let log = Log::create(
        dir,
        "Northshire recommendations (fictional, for the test)",
        &admin,
        Id::new("admin").expect("id"),
        "Test administrator",
    )
    .expect("create log");
    let grants = [
        (2, "oversight", "issuer"),
        (3, "northshire", "respondent"),
        (4, "inspectorate", "assessor"),
        (5, "pcc", "funder"),
    ]
    .map(|(seed, actor, role)| {
        ev(json!({"type": "key_granted", "actor": actor, "body": format!("{actor} (fictional)"),
            "public_key": key(seed).public_key().to_string(), "roles": [role], "date": "2022-01-01"}))
    });
    log.append_all(&admin, grants.to_vec()).expect("grants");
    let mut issued = vec![ev(
        json!({"type": "report_published", "report": "NORTH-2022",
        "title": format!("Crime recording review (fictional) {HOSTILE}"), "date": "2022-03-01"}),
    )];
    for (rec, subject) in [
        (
            "NORTH-R1",
            format!("Record crimes within 24 hours {HOSTILE}"),
        ),
        ("NORTH-R2", "Audit crime recording quarterly".to_string()),
        ("NORTH-R3", "Publish the audits".to_string()),
    ] {
        issued.push(ev(
            json!({"type": "recommendation_issued", "rec": rec, "report": "NORTH-2022",
            "addressees": ["northshire"], "subject": subject, "date": "2022-03-01"}),
        ));
    }
    log.append_all(&key(2), issued).expect("issue");
    log.append_all(
        &key(3),
        vec![
            ev(json!({"type": "response_recorded", "rec": "NORTH-R1", "position": "accepted",
                "actions": "A recording desk.", "target": "2022-12-31", "date": "2022-04-20"})),
            ev(json!({"type": "response_recorded", "rec": "NORTH-R3", "position": "accepted_in_part",
                "actions": "Yearly, not quarterly.", "target": "2023-06-30", "date": "2022-04-20"})),
        ],
    )
    .expect("responses");
    log.append(
        &key(5),
        ev(json!({"type": "funding_decision", "decision": "N22/007", "amount_minor": 25_000_000u64,
            "currency": "GBP", "purpose": "Recording desk", "recs": ["NORTH-R1"], "stage": "approved",
            "date": "2022-05-10"})),
    )
    .expect("funding");
    let plan = trail_core::Digest::of(b"recording plan");
    log.append(
        &key(3),
        ev(json!({"type": "progress_claim", "rec": "NORTH-R1", "status": "implemented", "subject": "northshire",
            "narrative": format!("The desk is open. {HOSTILE}"), "date": "2023-01-15",
            "evidence": [{"name": "plan.pdf", "blake3": plan.to_string(), "kind": "self_report"}]})),
    )
    .expect("claim");
    let inspection = trail_core::Digest::of(b"inspection");
    log.append(
        &key(4),
        ev(json!({"type": "assessment", "rec": "NORTH-R1", "verdict": "not_implemented", "coverage": "full",
            "narrative": "31 of 200 sampled crimes were not recorded within 24 hours.", "date": "2023-09-01",
            "evidence": [{"name": "inspection.pdf", "blake3": inspection.to_string(), "kind": "independent_inspection"}]})),
    )
    .expect("assessment");
    log.append(
        &key(5),
        ev(json!({"type": "progress_claim", "rec": "NORTH-R3", "status": "in_progress", "subject": "northshire",
            "narrative": "The PCC says audits have begun.", "date": "2023-02-01"})),
    )
    .expect("third-party claim");

    let mut state = State::new();
    log.verify_with(|chunk| {
        for entry in chunk {
            state.apply(entry).expect("entries in order");
        }
        Ok(())
    })
    .expect("log verifies");
    let view = state.view(AT.parse::<Day>().expect("day"));
    let findings = trail_core::check(&view, &CheckConfig::default());
    (view, findings)
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed, and CI is set: .ci/run should have installed it"
        );
        eprintln!(
            "SKIPPED html_report_renders_in_headless_chromium: chromium is not installed (apt-get install chromium)"
        );
        return;
    };

    let tmp = tempfile::tempdir().expect("temp dir");
    let log_dir = tmp.path().join("log");
    let (view, findings) = build_log(&log_dir);
    assert!(
        findings.iter().any(|f| f.rule.id() == "claim_contradicted"),
        "the scenario plants claim_contradicted: {findings:#?}"
    );
    let page = tmp.path().join("report.html");
    let run = common::trail()
        .args(["report", "--log"])
        .arg(&log_dir)
        .args(["--at", AT, "--format", "html", "--out"])
        .arg(&page)
        .output()
        .expect("run trail report");
    assert!(
        run.status.success(),
        "trail report failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );

    let dom = run_chromium(
        &chromium,
        &tmp.path().join("profile-dom"),
        &format!("file://{}", page.display()),
        &["--dump-dom".to_string()],
    );
    assert!(dom.contains("<body"), "chromium dumped no DOM: {dom}");
    for rec in view.recs.keys() {
        assert!(
            dom.contains(&format!("id=\"rec-{rec}\"")),
            "no container for {rec} in the rendered page"
        );
    }
    for f in &findings {
        let rec = f.rec.as_ref().map_or("", |r| r.as_str());
        let needle = format!("data-rule=\"{}\" data-rec=\"{rec}\"", f.rule.id());
        assert!(dom.contains(&needle), "finding {needle} is not on the page");
    }
    assert_eq!(
        dom.matches("class=\"finding ").count(),
        findings.len(),
        "one element per finding"
    );
    assert_eq!(
        dom.matches("<svg class=\"timeline\"").count(),
        view.recs.len(),
        "one timeline per recommendation"
    );
    assert!(
        dom.contains("class=\"contradiction\""),
        "the contradiction band is drawn"
    );
    // Hostile text stayed text: no element came from it, and the title is intact.
    assert!(
        !dom.contains("<script") && !dom.contains("<img"),
        "markup from the log became elements"
    );
    assert!(!dom.contains("pwned</title>"));
    assert!(
        dom.contains("&lt;script&gt;"),
        "hostile text is shown escaped"
    );
    assert!(
        !dom.contains('\u{202e}'),
        "a bidi override reached the page"
    );

    let shot = tmp.path().join("report.png");
    run_chromium(
        &chromium,
        &tmp.path().join("profile-shot"),
        &format!("file://{}", page.display()),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
        ],
    );
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "the screenshot is a PNG"
    );
    assert!(
        png.len() > 20_000,
        "the screenshot is only {} bytes: a blank page?",
        png.len()
    );
}
