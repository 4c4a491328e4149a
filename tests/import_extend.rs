//! `trail import` on an existing log appends what a bundle adds to it, and
//! refuses a bundle of another history without changing anything.

mod common;

use common::{Site, arg, trail_run};

fn export(log: &std::path::Path, out: &std::path::Path) {
    trail_run(&["export", "--log", arg(log), "--out", arg(out)]).ok();
}

fn head(log: &std::path::Path) -> String {
    let verified = trail_run(&["verify", "--log", arg(log), "--json"]);
    let line: serde_json::Value = serde_json::from_str(verified.ok().trim()).unwrap();
    line["data"]["head"].as_str().unwrap().to_owned()
}

#[test]
fn import_extends_an_existing_copy_and_refuses_another_history() {
    let site = Site::new();
    let (first, second) = (site.path("first.trail"), site.path("second.trail"));
    let copy = site.path("copy");
    export(&site.log, &first);
    trail_run(&["import", "--bundle", arg(&first), "--log", arg(&copy)]).ok();
    site.append(
        "iopc",
        &serde_json::json!({"type": "recommendation_issued", "rec": "REC-9", "report": "REP-1",
            "addressees": ["syp"], "subject": "Later", "date": "2021-11-24"}),
    )
    .ok();
    export(&site.log, &second);

    let extended = trail_run(&["import", "--bundle", arg(&second), "--log", arg(&copy)]);
    assert!(
        extended.ok().contains("appended 1 verified entries"),
        "{}",
        extended.stdout
    );
    assert_eq!(head(&copy), head(&site.log));
    let again = trail_run(&["import", "--bundle", arg(&second), "--log", arg(&copy)]);
    assert!(
        again.ok().contains("already holds every entry"),
        "{}",
        again.stdout
    );
    // An older bundle is a prefix of the copy: nothing to add.
    let older = trail_run(&["import", "--bundle", arg(&first), "--log", arg(&copy)]);
    assert!(
        older.ok().contains("already holds every entry"),
        "{}",
        older.stdout
    );

    // Another log's bundle: its genesis differs at seq 0.
    let other = Site::new();
    std::fs::remove_dir_all(&other.log).unwrap();
    trail_run(&[
        "init",
        "--log",
        arg(&other.log),
        "--name",
        "another log",
        "--key",
        arg(&other.key("admin")),
    ])
    .ok();
    let foreign = other.path("foreign.trail");
    export(&other.log, &foreign);
    let before = head(&copy);
    let refused = trail_run(&["import", "--bundle", arg(&foreign), "--log", arg(&copy)]);
    refused.fails(1, &["foreign.trail", "seq 0", "another history"]);
    assert_eq!(head(&copy), before);
}
