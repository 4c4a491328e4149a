//! Filters through the binary: `replay --rec --report --addressee --open`,
//! `show --rec --actor --type --since --until`, `check --rule --severity
//! --rec`, with `--fail-on` applying to the findings shown.

mod common;

use common::{Site, arg, trail_run};

fn lines_with(text: &str, needle: &str) -> usize {
    text.lines().filter(|l| l.contains(needle)).count()
}

#[test]
fn replay_shows_only_the_recommendations_asked_for() {
    let site = Site::new();
    let log = arg(&site.log);
    let all = trail_run(&["replay", "--log", log]);
    assert!(all.ok().contains("REC-1") && all.stdout.contains("REC-2"));
    let one = trail_run(&["replay", "--log", log, "--rec", "REC-1"]);
    assert!(
        one.ok().contains("REC-1") && !one.stdout.contains("REC-2"),
        "{}",
        one.stdout
    );
    let college = trail_run(&["replay", "--log", log, "--addressee", "college", "--open"]);
    assert!(college.ok().contains("REC-2") && !college.stdout.contains("REC-1"));
    let both = trail_run(&[
        "replay", "--log", log, "--report", "REP-1", "--rec", "REC-1", "--rec", "REC-2",
    ]);
    assert!(both.ok().contains("(2 recommendations)"), "{}", both.stdout);
    let none = trail_run(&["replay", "--log", log, "--report", "REP-9"]);
    assert!(none.ok().contains("(0 recommendations)"), "{}", none.stdout);
    let json = trail_run(&["replay", "--log", log, "--rec", "REC-2", "--json"]);
    let state: serde_json::Value = serde_json::from_str(json.ok().trim()).unwrap();
    let recs = state["data"]["recs"].as_object().unwrap();
    assert_eq!(recs.keys().collect::<Vec<_>>(), ["REC-2"]);
}

#[test]
fn show_prints_only_the_entries_asked_for() {
    let site = Site::new();
    let log = arg(&site.log);
    // Each table has a header line, then its entries.
    let rec = trail_run(&["show", "--log", log, "--rec", "REC-2"]);
    assert_eq!(rec.ok().lines().count(), 1 + 1, "{}", rec.stdout);
    assert!(rec.stdout.contains("recommendation_issued"));
    let iopc = trail_run(&["show", "--log", log, "--actor", "iopc"]);
    assert_eq!(lines_with(iopc.ok(), " iopc "), 3, "{}", iopc.stdout);
    assert_eq!(iopc.stdout.lines().count(), 1 + 3);
    let grants = trail_run(&[
        "show",
        "--log",
        log,
        "--type",
        "key_granted",
        "--until",
        "2021-11-22",
    ]);
    assert_eq!(grants.ok().lines().count(), 1 + 5, "{}", grants.stdout);
    let later = trail_run(&[
        "show",
        "--log",
        log,
        "--since",
        "2021-11-23",
        "--until",
        "2021-11-23",
    ]);
    assert_eq!(later.ok().lines().count(), 1 + 3, "{}", later.stdout);
    trail_run(&["show", "--log", log, "--type", "no_such_event"]).fails(2, &["not an event type"]);
}

#[test]
fn check_reports_only_the_findings_asked_for_and_fails_on_those() {
    let site = Site::new();
    let log = arg(&site.log);
    // Neither recommendation was answered: both are overdue (errors).
    let all = trail_run(&["check", "--log", log]);
    assert_eq!(
        all.code,
        Some(3),
        "findings exit 3, not 1 (verification failed)"
    );
    assert_eq!(
        lines_with(&all.stdout, "response_overdue"),
        2,
        "{}",
        all.stdout
    );
    let one = trail_run(&["check", "--log", log, "--rec", "REC-1"]);
    assert_eq!(one.code, Some(3));
    assert_eq!(lines_with(&one.stdout, "response_overdue"), 1);
    assert!(!one.stdout.contains("REC-2"), "{}", one.stdout);
    // --fail-on applies to what is shown: no finding of this rule, exit 0.
    let other_rule = trail_run(&["check", "--log", log, "--rule", "third_party_claim"]);
    assert!(
        other_rule.ok().contains("0 finding(s)"),
        "{}",
        other_rule.stdout
    );
    let infos = trail_run(&["check", "--log", log, "--severity", "info"]);
    assert!(infos.ok().contains("0 finding(s)"));
    trail_run(&["check", "--log", log, "--rule", "no_such_rule"]).fails(2, &["not a rule"]);
}

#[test]
fn findings_and_recommendations_come_in_natural_order() {
    let site = Site::new();
    site.append(
        "iopc",
        &serde_json::json!({"type": "recommendation_issued", "rec": "REC-10", "report": "REP-1",
            "addressees": ["syp"], "subject": "Tenth", "date": "2021-11-23"}),
    )
    .ok();
    let check = trail_run(&[
        "check",
        "--log",
        arg(&site.log),
        "--rule",
        "response_overdue",
    ]);
    let order: Vec<&str> = check
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("REC-")))
        .collect();
    assert_eq!(order, ["REC-1", "REC-2", "REC-10"], "{}", check.stdout);
    let replay = trail_run(&["replay", "--log", arg(&site.log)]);
    let rows: Vec<&str> = replay
        .ok()
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .next()
                .filter(|w| w.starts_with("REC-"))
        })
        .collect();
    assert_eq!(rows, ["REC-1", "REC-2", "REC-10"], "{}", replay.stdout);
}

#[test]
fn search_finds_entries_by_their_words_and_names_what_they_are_about() {
    let site = Site::new();
    let log = arg(&site.log);
    let found = trail_run(&["search", "--log", log, "GUIDANCE"]);
    let out = found.ok();
    assert_eq!(lines_with(out, "recommendation_issued"), 1, "{out}");
    assert!(out.contains("REC-2") && !out.contains("REC-1"), "{out}");
    assert!(out.ends_with("1 entry matched about REC-2\n"), "{out}");
    // Every term must match.
    let none = trail_run(&["search", "--log", log, "guidance", "training"]);
    assert_eq!(none.ok(), "0 entries matched\n");
    let json = trail_run(&["search", "--log", log, "a report", "--json"]);
    let lines: Vec<serde_json::Value> = json
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["type"], "match");
    assert_eq!(lines[0]["data"]["event"], "report_published");
    assert_eq!(lines[0]["data"]["about"][0], "REP-1");
    assert_eq!(lines.last().unwrap()["data"]["matched"], 1);
    // Nothing to look for is a usage error, not an empty answer.
    let usage = trail_run(&["search", "--log", log]);
    assert_eq!(usage.code, Some(2), "{}", usage.stderr);
}
