//! `trail replay`, `history`, `check` and `report` run as a user runs them:
//! the real binary on a real log, on both time axes and with the check
//! thresholds given by flag or by file.

mod common;

use std::fs;

use common::*;
use serde_json::{Value, json};

/// The standard site (REC-1 to syp, REC-2 to college, seqs 7 and 8) plus
/// syp's acceptance of REC-1, dated 2021-12-10 and recorded as seq 9.
fn site_with_a_response() -> Site {
    let site = Site::new();
    site.append(
        "syp",
        &json!({"type": "response_recorded", "rec": "REC-1", "position": "accepted",
            "date": "2021-12-10"}),
    )
    .ok();
    site
}

/// `trail replay --json` with `extra` arguments: the state record's data.
#[track_caller]
fn replay_json(site: &Site, extra: &[&str]) -> Value {
    let mut args = vec!["replay", "--log", arg(&site.log), "--json"];
    args.extend(extra);
    let out = trail_run(&args);
    let env: Envelope = serde_json::from_str(out.ok().trim()).expect("one JSON line");
    assert_eq!(env.kind, "state");
    env.data
}

/// REC-1's position in a replayed state, or null when it has none.
fn position(state: &Value) -> Value {
    state["recs"]["REC-1"]["position"]["position"].clone()
}

#[test]
fn replay_answers_on_the_effective_date_axis() {
    let site = site_with_a_response();
    assert_eq!(
        position(&replay_json(&site, &["--at", "2021-12-09"])),
        Value::Null
    );
    assert_eq!(
        position(&replay_json(&site, &["--at", "2021-12-10"])),
        "accepted"
    );
    let table = trail_run(&["replay", "--log", arg(&site.log), "--at", "2022-01-01"]);
    let row = table
        .ok()
        .lines()
        .find(|l| l.starts_with("REC-1"))
        .expect("a row for REC-1");
    assert!(row.contains("accepted"), "{row}");
}

#[test]
fn replay_answers_on_the_recorded_time_axis() {
    let site = site_with_a_response();
    let entries = show_json(&site.log);
    let before_response = entries[8]["recorded_at"].as_str().expect("recorded_at");
    let after_response = entries[9]["recorded_at"].as_str().expect("recorded_at");
    // What the log said before the response was recorded, about a date after it.
    let then = replay_json(
        &site,
        &["--at", "2022-01-01", "--known-at", before_response],
    );
    // Entries recorded within one microsecond would share the instant.
    if before_response != after_response {
        assert_eq!(position(&then), Value::Null);
        assert_eq!(then["last_seq"], 8);
    }
    let now = replay_json(&site, &["--at", "2022-01-01", "--known-at", after_response]);
    assert_eq!(position(&now), "accepted");
    assert_eq!(now["last_seq"], 9);
    // --at-seq cuts the log at an entry instead of an instant.
    let cut = replay_json(&site, &["--at", "2022-01-01", "--at-seq", "8"]);
    assert_eq!(
        (position(&cut), cut["last_seq"].clone()),
        (Value::Null, json!(8))
    );
    // A known-at before the first entry is an empty state, not an error,
    // and standard error says that nothing was recorded by then.
    let early = trail_run(&[
        "replay",
        "--log",
        arg(&site.log),
        "--json",
        "--known-at",
        "2000-01-01",
    ]);
    assert_eq!(early.code, Some(0));
    assert!(
        early.stderr.contains("nothing was recorded by 2000-01-01"),
        "{}",
        early.stderr
    );
    let env: Envelope = serde_json::from_str(early.stdout.trim()).expect("one JSON line");
    assert_eq!(env.data["recs"], json!({}));
}

#[test]
fn history_shows_one_recommendation_in_log_order() {
    let site = site_with_a_response();
    let out = trail_run(&["history", "--log", arg(&site.log), "REC-1"]);
    let seqs: Vec<&str> = out
        .ok()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(
        seqs,
        ["seq", "7", "9"],
        "a header, then the seqs: {}",
        out.stdout
    );
    assert!(out.stdout.contains("2021-12-10"), "{}", out.stdout);
    assert!(out.stdout.contains("accepted"), "{}", out.stdout);
    trail_run(&["history", "--log", arg(&site.log), "REC-9"])
        .fails(2, &["unknown recommendation REC-9"]);
}

/// `trail check --json` findings on 2022-03-01 with `extra` arguments: (rule, rec) pairs and the exit code.
fn findings(site: &Site, extra: &[&str]) -> (Vec<(String, String)>, Option<i32>) {
    let mut args = vec![
        "check",
        "--log",
        arg(&site.log),
        "--at",
        "2022-03-01",
        "--json",
    ];
    args.extend(extra);
    let out = trail_run(&args);
    let found = out
        .stdout
        .lines()
        .map(|line| {
            let env: Envelope = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(env.kind, "finding");
            let text = |k: &str| env.data[k].as_str().unwrap_or_default().to_owned();
            (text("rule"), text("rec"))
        })
        .collect();
    (found, out.code)
}

fn has(found: &[(String, String)], rule: &str, rec: &str) -> bool {
    found.iter().any(|(r, c)| r == rule && c == rec)
}

#[test]
fn check_reports_findings_and_fails_on_the_chosen_severity() {
    let site = site_with_a_response();
    let (found, code) = findings(&site, &[]);
    // REC-2 was due by 2022-01-17 and college never answered: an error.
    assert!(has(&found, "response_overdue", "REC-2"), "{found:?}");
    assert_eq!(code, Some(3));
    // Before REC-2's due date nothing reaches error, only warnings.
    let early = trail_run(&["check", "--log", arg(&site.log), "--at", "2022-01-10"]);
    assert_eq!(early.code, Some(0), "{early:#?}");
    assert!(early.stdout.contains("warning"), "{}", early.stdout);
    let strict = trail_run(&[
        "check",
        "--log",
        arg(&site.log),
        "--at",
        "2022-01-10",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(strict.code, Some(3), "{strict:#?}");
}

#[test]
fn check_thresholds_come_from_flags_and_a_config_file() {
    let site = site_with_a_response();
    // Accepted on 2021-12-10 with nothing since: stale after one month, not six.
    assert!(!has(&findings(&site, &[]).0, "stale", "REC-1"));
    assert!(has(
        &findings(&site, &["--stale-months", "1"]).0,
        "stale",
        "REC-1"
    ));
    let config = site.path("thresholds.json");
    fs::write(&config, r#"{"stale_months": 1}"#).unwrap();
    assert!(has(
        &findings(&site, &["--config", arg(&config)]).0,
        "stale",
        "REC-1"
    ));
    // A flag overrides the file.
    let both = ["--config", arg(&config), "--stale-months", "12"];
    assert!(!has(&findings(&site, &both).0, "stale", "REC-1"));
    fs::write(&config, r#"{"stale_monthz": 1}"#).unwrap();
    trail_run(&["check", "--log", arg(&site.log), "--config", arg(&config)])
        .fails(2, &["thresholds.json", "stale_monthz"]);
}

#[test]
fn report_applies_the_same_thresholds_as_check() {
    let site = site_with_a_response();
    let rules = |extra: &[&str]| -> Vec<String> {
        let out = site.path("report.json");
        let mut args = vec![
            "report",
            "--log",
            arg(&site.log),
            "--at",
            "2022-03-01",
            "--format",
            "json",
            "--out",
            arg(&out),
        ];
        args.extend(extra);
        trail_run(&args).ok();
        let report: Value = serde_json::from_str(&fs::read_to_string(&out).unwrap()).unwrap();
        report["findings"]
            .as_array()
            .expect("findings in the report")
            .iter()
            .map(|f| format!("{} {}", f["rule"], f["rec"]))
            .collect()
    };
    let stale = "\"stale\" \"REC-1\"".to_owned();
    assert!(!rules(&[]).contains(&stale));
    assert!(rules(&["--stale-months", "1"]).contains(&stale));
    let config = site.path("thresholds.json");
    fs::write(&config, r#"{"stale_months": 1}"#).unwrap();
    assert!(rules(&["--config", arg(&config)]).contains(&stale));
    assert!(!rules(&["--config", arg(&config), "--stale-months", "12"]).contains(&stale));
}

#[test]
fn check_help_lists_every_rule_with_its_severity_and_one_line() {
    let help = common::trail_run(&["check", "--help"]);
    let text = help.ok();
    for rule in trail_core::Rule::ALL {
        let heading = format!(
            "  {} ({})\n      {}\n",
            rule.id(),
            rule.severity().name(),
            rule.summary()
        );
        assert!(text.contains(&heading), "{heading:?} missing from:\n{text}");
        assert!(!rule.summary().is_empty() && !rule.summary().contains('\n'));
    }
}
