//! `--json` on the commands that write files: one JSON Lines record in the
//! `{"type": ..., "data": ...}` envelope, and nothing else on stdout.

mod common;

use common::served::grant_operator;
use common::{Site, arg, trail_run};
use serde_json::Value;

/// The single JSON record a command printed, checked for its envelope.
#[track_caller]
fn record(args: &[&str], kind: &str) -> Value {
    let run = trail_run(args);
    let text = run.ok();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: {text}");
    let value: Value = serde_json::from_str(lines[0]).expect("a JSON line");
    assert_eq!(value["type"], kind, "{value}");
    value["data"].clone()
}

#[test]
fn commands_that_write_files_answer_in_json() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let log = arg(&site.log);
    let key = record(
        &[
            "keygen",
            "--unencrypted",
            "--out",
            arg(&site.path("new.key")),
            "--json",
        ],
        "key",
    );
    assert_eq!(key["public_key"].as_str().unwrap().len(), 64);
    std::fs::write(site.path("doc.pdf"), b"doc").unwrap();
    let evidence = record(
        &["evidence", arg(&site.path("doc.pdf")), "--json"],
        "evidence",
    );
    assert_eq!(evidence["blake3"].as_str().unwrap().len(), 64);
    let first = site.path("first.cp");
    let checkpoint = record(
        &[
            "checkpoint",
            "--log",
            log,
            "--key",
            arg(&operator),
            "--out",
            arg(&first),
            "--json",
        ],
        "checkpoint",
    );
    assert_eq!(checkpoint["size"], 10);
    assert!(
        checkpoint["operator_key"]
            .as_str()
            .unwrap()
            .starts_with("trail/")
    );
    let bundle = site.path("log.trail");
    let exported = record(
        &["export", "--log", log, "--out", arg(&bundle), "--json"],
        "exported",
    );
    assert_eq!(exported["entries"], 10);
    let copy = site.path("copy");
    let imported = record(
        &[
            "import",
            "--bundle",
            arg(&bundle),
            "--log",
            arg(&copy),
            "--json",
        ],
        "imported",
    );
    assert_eq!(imported["entries"], 10);
    let proof = record(
        &[
            "prove",
            "inclusion",
            "--log",
            log,
            "--seq",
            "2",
            "--out",
            arg(&site.path("p")),
            "--json",
        ],
        "proof",
    );
    assert_eq!(
        (proof["kind"].as_str(), proof["seq"].as_u64()),
        (Some("inclusion"), Some(2))
    );
    let consistency = record(
        &[
            "prove",
            "consistency",
            "--log",
            log,
            "--from",
            arg(&first),
            "--to",
            arg(&first),
            "--out",
            arg(&site.path("c")),
            "--json",
        ],
        "proof",
    );
    assert_eq!(consistency["new_size"], 10);
    let published = record(
        &[
            "publish",
            "--log",
            log,
            "--out",
            arg(&site.path("tiles")),
            "--json",
        ],
        "published",
    );
    assert_eq!(published["size"], 10);
    let mirrored = record(
        &[
            "mirror",
            "--from",
            arg(&site.path("tiles")),
            "--log",
            arg(&site.path("m")),
            "--json",
        ],
        "mirrored",
    );
    assert_eq!(mirrored["entries"], 10);
}

#[test]
fn key_commands_answer_in_json() {
    let site = Site::new();
    let file = site.path("k.key");
    let made = record(
        &["keygen", "--unencrypted", "--out", arg(&file), "--json"],
        "key",
    );
    let public = record(&["key", "public", arg(&file), "--json"], "key");
    assert_eq!(public["public_key"], made["public_key"]);
}

#[test]
fn the_demo_tells_its_story_in_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let run = trail_run(&["demo", "--dir", arg(&demo), "--json"]);
    let lines: Vec<Value> = run
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(lines.len() > 5);
    assert!(
        lines
            .iter()
            .all(|l| l["type"] == "demo" && l["data"]["text"].is_string())
    );
    assert!(lines.iter().any(|l| {
        l["data"]["text"]
            .as_str()
            .unwrap()
            .contains("the two time axes")
    }));
}
