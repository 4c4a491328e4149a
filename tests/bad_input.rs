//! Bad input, one case per test: each gets exit 2 (exit 1 for a bundle that
//! fails verification), one plain stderr line naming the problem, never a
//! panic, and nothing written.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::json;
use trail_core::MAX_LONG_TEXT;

/// A response syp may sign.
fn response() -> serde_json::Value {
    json!({"type": "response_recorded", "rec": "REC-1", "position": "accepted", "date": "2021-12-10"})
}

/// Appends `text` as syp and checks it is refused with exit 2, a message
/// containing `needles`, and an unchanged log; returns the message.
#[track_caller]
fn refused_text(site: &Site, text: &str, needles: &[&str]) -> String {
    let before = site.count();
    let out = site.append_text("syp", text);
    out.fails(2, needles);
    assert!(
        out.stdout.is_empty(),
        "nothing should be reported appended: {}",
        out.stdout
    );
    assert_eq!(site.count(), before, "the log changed");
    out.stderr
}

/// A listing of every file under `dir` with its contents, to show nothing changed.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.push((format!("{}/", path.display()), Vec::new()));
            out.extend(tree(&path));
        } else {
            out.push((path.display().to_string(), fs::read(&path).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn malformed_json() {
    let site = Site::new();
    refused_text(
        &site,
        "{\"type\": \"response_recorded\", \"rec\": ",
        &["line 1 column"],
    );
    refused_text(&site, "hello", &["line 1 column 1"]);
}

#[test]

fn malformed_json_names_the_file_and_the_format() {
    let site = Site::new();
    let message = refused_text(&site, "hello", &["event.json"]);
    assert!(message.contains("JSON"), "{message}");
}

#[test]
fn empty_event_file() {
    let site = Site::new();
    refused_text(&site, "  \n", &["empty"]);
}

#[test]
fn missing_event_file() {
    let site = Site::new();
    let out = trail_run(&[
        "append",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("syp")),
        "--event",
        arg(&site.path("nope.json")),
    ]);
    out.fails(2, &["nope.json"]);
}

#[test]
fn unknown_event_type() {
    let site = Site::new();
    refused_text(
        &site,
        r#"{"type":"rumour","rec":"REC-1","date":"2021-12-10"}"#,
        &["unknown event type", "rumour"],
    );
    refused_text(
        &site,
        r#"{"rec":"REC-1","date":"2021-12-10"}"#,
        &["\"type\""],
    );
}

#[test]
fn missing_field() {
    let site = Site::new();
    let mut event = response();
    event.as_object_mut().unwrap().remove("position");
    refused_text(&site, &event.to_string(), &["missing field", "position"]);
}

#[test]
fn unknown_field() {
    let site = Site::new();
    let mut event = response();
    event["colour"] = json!("red");
    refused_text(&site, &event.to_string(), &["unknown field", "colour"]);
}

#[test]
fn invalid_date() {
    let site = Site::new();
    let mut event = response();
    event["date"] = json!("2021-13-45");
    refused_text(&site, &event.to_string(), &["2021-13-45", "YYYY-MM-DD"]);
}

#[test]

fn invalid_enum_value_names_the_field_not_the_event_type() {
    let site = Site::new();
    let mut event = response();
    event["position"] = json!("yes");
    let message = refused_text(&site, &event.to_string(), &["yes"]);
    assert!(!message.contains("unknown event type"), "{message}");
    assert!(
        message.contains("accepted_in_part"),
        "should list the valid positions: {message}"
    );
}

#[test]
fn unknown_recommendation() {
    let site = Site::new();
    let mut event = response();
    event["rec"] = json!("REC-99");
    refused_text(
        &site,
        &event.to_string(),
        &["unknown recommendation REC-99"],
    );
}

#[test]
fn response_to_a_recommendation_not_addressed_to_the_signer() {
    let site = Site::new();
    let mut event = response();
    event["rec"] = json!("REC-2");
    refused_text(
        &site,
        &event.to_string(),
        &["REC-2 is not addressed to syp"],
    );
}

#[test]
fn unregistered_key() {
    let site = Site::new();
    let stranger = seed(42);
    stranger.write_new_file(&site.path("stranger.key")).unwrap();
    fs::write(site.path("e.json"), response().to_string()).unwrap();
    let before = site.count();
    let out = trail_run(&[
        "append",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.path("stranger.key")),
        "--event",
        arg(&site.path("e.json")),
    ]);
    out.fails(2, &["not registered", &stranger.public_key().to_string()]);
    assert_eq!(site.count(), before);
}

#[test]
fn revoked_key() {
    let site = Site::new();
    let out = trail_run(&[
        "revoke",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("admin")),
        "--public-key",
        &site.public("syp"),
        "--reason",
        "compromised",
    ]);
    let at = appended_seqs(out.ok())[0];
    refused_text(
        &site,
        &response().to_string(),
        &["syp", &format!("revoked at seq {at}")],
    );
}

#[test]
fn key_file_too_open() {
    let site = Site::new();
    fs::set_permissions(site.key("syp"), fs::Permissions::from_mode(0o644)).unwrap();
    refused_text(
        &site,
        &response().to_string(),
        &["syp.key", "readable by others", "chmod 600"],
    );
}

#[test]
fn key_file_missing_or_not_a_key() {
    let site = Site::new();
    fs::write(site.path("e.json"), response().to_string()).unwrap();
    let before = site.count();
    let append_with = |key: &str| {
        trail_run(&[
            "append",
            "--log",
            arg(&site.log),
            "--key",
            arg(&site.path(key)),
            "--event",
            arg(&site.path("e.json")),
        ])
    };
    append_with("absent.key").fails(2, &["absent.key"]);
    let junk = site.path("junk.key");
    fs::write(&junk, "not a key\n").unwrap();
    fs::set_permissions(&junk, fs::Permissions::from_mode(0o600)).unwrap();
    append_with("junk.key").fails(2, &["junk.key", "not a trail secret key"]);
    assert_eq!(site.count(), before);
}

#[test]
fn directory_that_is_not_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.key");
    seed(1).write_new_file(&key).unwrap();
    let event = dir.path().join("e.json");
    fs::write(&event, response().to_string()).unwrap();
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let other = dir.path().join("other");
    fs::create_dir(&other).unwrap();
    fs::write(other.join("notes.txt"), "not a log").unwrap();
    let missing = dir.path().join("missing");
    for target in [&empty, &other, &missing] {
        let before = tree(dir.path());
        let t = arg(target);
        for args in [
            vec!["verify", "--log", t],
            vec!["verify", "--log", t, "--json"],
            vec!["show", "--log", t],
            vec![
                "export",
                "--log",
                t,
                "--out",
                arg(&dir.path().join("out.trail")),
            ],
            vec![
                "append",
                "--log",
                t,
                "--key",
                arg(&key),
                "--event",
                arg(&event),
            ],
            vec![
                "grant",
                "--log",
                t,
                "--key",
                arg(&key),
                "--actor",
                "a",
                "--body",
                "b",
                "--public-key",
                &"11".repeat(32),
                "--role",
                "issuer",
            ],
        ] {
            trail_run(&args).fails(2, &[t, "not a trail log"]);
        }
        assert_eq!(tree(dir.path()), before, "{t}: something was written");
        assert_eq!(target.exists(), target != &missing, "{t}");
    }
}

#[test]

fn directory_with_foreign_db_and_conf_files_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (name, db, conf) in [
        ("empty", "", ""),
        ("short", "hello\n", "x\n"),
        ("text", "someone's data", "a=b\n"),
    ] {
        let foreign = dir.path().join(name);
        fs::create_dir(&foreign).unwrap();
        fs::write(foreign.join("db"), db).unwrap();
        fs::write(foreign.join("conf"), conf).unwrap();
        for command in ["verify", "show"] {
            let before = tree(dir.path());
            let out = trail_run(&[command, "--log", arg(&foreign)]);
            assert_eq!(
                tree(dir.path()),
                before,
                "{command} changed {name}/, which is not a log: {out:?}"
            );
            out.fails(2, &["not a trail log"]);
        }
    }
}

#[test]
fn init_on_an_existing_log() {
    let site = Site::new();
    let before = show_json(&site.log);
    trail_run(&[
        "init",
        "--log",
        arg(&site.log),
        "--name",
        "again",
        "--key",
        arg(&site.key("admin")),
    ])
    .fails(2, &["already exists"]);
    assert_eq!(show_json(&site.log), before);
}

/// A site with an exported bundle of its log, and that bundle's bytes.
fn exported() -> (Site, std::path::PathBuf, Vec<u8>) {
    let site = Site::new();
    let bundle = site.path("log.trail");
    trail_run(&["export", "--log", arg(&site.log), "--out", arg(&bundle)]).ok();
    let bytes = fs::read(&bundle).unwrap();
    (site, bundle, bytes)
}

/// Checks that `bytes` as a bundle fail verify with exit 1 and that import
/// refuses them, leaving no directory; both messages contain `needles`.
#[track_caller]
fn bad_bundle(site: &Site, bytes: &[u8], needles: &[&str]) {
    refused_bundle(site, bytes, 1, needles);
}

/// A file that is not a bundle this build reads at all: an input error.
fn not_a_bundle(site: &Site, bytes: &[u8], needles: &[&str]) {
    refused_bundle(site, bytes, 2, needles);
}

fn refused_bundle(site: &Site, bytes: &[u8], code: i32, needles: &[&str]) {
    let path = site.path("bad.trail");
    fs::write(&path, bytes).unwrap();
    let mut named = vec!["bad.trail: "];
    named.extend(needles);
    trail_run(&["verify", "--bundle", arg(&path)]).fails(code, &named);
    let target = site.path("imported");
    let before = tree(site.tmp.path());
    trail_run(&["import", "--bundle", arg(&path), "--log", arg(&target)]).fails(code, &named);
    assert!(!target.exists(), "import left a directory behind");
    assert_eq!(
        tree(site.tmp.path()),
        before,
        "import left something behind"
    );
}

#[test]
fn truncated_bundle() {
    let (site, _, bytes) = exported();
    let records = parse_bundle(&bytes);
    bad_bundle(&site, &bytes[..bytes.len() - 1], &["truncated after seq 8"]);
    bad_bundle(
        &site,
        &bytes[..records[4].payload.start + 7],
        &["truncated after seq 3"],
    );
    bad_bundle(
        &site,
        &bytes[..HEADER_LEN],
        &["truncated", "before its first entry"],
    );
    bad_bundle(&site, &bytes[..5], &["too short"]);
    bad_bundle(&site, b"", &["too short"]);
}

#[test]
fn corrupt_bundle() {
    let (site, _, bytes) = exported();
    let records = parse_bundle(&bytes);
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    not_a_bundle(&site, &wrong_magic, &["not a trail bundle"]);
    let mut wrong_version = bytes.clone();
    wrong_version[8] = 9;
    not_a_bundle(&site, &wrong_version, &["version 9"]);
    let mut flipped = bytes.clone();
    flipped[records[5].payload.start + 30] ^= 0x80;
    bad_bundle(&site, &flipped, &["seq 5:"]);
    let mut tag = bytes.clone();
    tag[records[2].start] = 0x7e;
    bad_bundle(&site, &tag, &["unknown record type 0x7e"]);
    let mut huge = bytes.clone();
    huge[records[2].start + 1..records[2].start + 5].copy_from_slice(&u32::MAX.to_le_bytes());
    bad_bundle(&site, &huge, &["seq 2", "limit"]);
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(b"extra");
    bad_bundle(&site, &trailing, &["after the end record"]);
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 131 % 256) as u8).collect();
    not_a_bundle(&site, &garbage, &["not a trail bundle"]);
}

#[test]
fn oversized_entry() {
    let site = Site::new();
    let claim = |len: usize| {
        json!({"type": "progress_claim", "rec": "REC-1", "status": "in_progress", "subject": "syp",
            "narrative": "n".repeat(len), "date": "2022-05-01"})
        .to_string()
    };
    refused_text(
        &site,
        &claim(MAX_LONG_TEXT + 1),
        &[
            "narrative",
            &format!("{} bytes", MAX_LONG_TEXT + 1),
            &format!("limit is {MAX_LONG_TEXT}"),
        ],
    );
    // Exactly at the limit is fine.
    let before = site.count();
    assert_eq!(
        appended_seqs(site.append_text("syp", &claim(MAX_LONG_TEXT)).ok()),
        [before as u64]
    );
}

#[test]
fn json_lines_batch_with_one_bad_line_appends_nothing() {
    let site = Site::new();
    let good = response().to_string();
    let mut second = response();
    second["position"] = json!("neither");
    let batch = format!("{good}\n{second}\n{{\"type\": \"response_recorded\",\n{good}\n");
    refused_text(&site, &batch, &["line 3"]);
    // A line that parses but is refused: still nothing from the batch is kept.
    let mut unknown = response();
    unknown["rec"] = json!("REC-404");
    let batch = format!("{good}\n{unknown}\n{second}\n");
    refused_text(
        &site,
        &batch,
        &["unknown recommendation REC-404", "nothing was appended"],
    );
    // The same batch without the bad line goes in whole.
    let batch = format!("{good}\n{second}\n");
    let before = site.count() as u64;
    assert_eq!(
        appended_seqs(site.append_text("syp", &batch).ok()),
        [before, before + 1]
    );
}

#[test]

fn refused_line_in_a_batch_is_named() {
    let site = Site::new();
    let good = response().to_string();
    let mut unknown = response();
    unknown["rec"] = json!("REC-404");
    refused_text(&site, &format!("{good}\n{unknown}\n{good}\n"), &["line 2"]);
}

#[test]
fn a_bundle_that_cannot_be_read_is_an_input_error_not_a_failed_verification() {
    // A directory opens but cannot be read: a read failure says nothing about
    // the bundle's content, so it must not look like tampering (exit 1).
    let site = Site::new();
    let dir = site.path("not-a-file.trail");
    fs::create_dir(&dir).unwrap();
    let out = trail_run(&["verify", "--bundle", arg(&dir)]);
    out.fails(2, &["not-a-file.trail"]);
    let target = site.path("imported");
    trail_run(&["import", "--bundle", arg(&dir), "--log", arg(&target)])
        .fails(2, &["not-a-file.trail"]);
    assert!(!target.exists(), "import left a directory behind");
}
