//! One recommendation's record (issue 14): `trail prove recommendation`
//! writes it from the log, and `trail verify-proof` checks it in a
//! directory with no log, reporting the state its entries give; a record
//! with any entry, path or checkpoint altered, or checked against another
//! key, is refused.

mod common;

use common::{Site, arg, trail_run};

/// A site whose REC-1 has a response and a claim, and a signed checkpoint
/// `cp` over it; returns the site and the operator's verifier key.
fn proven_site() -> (Site, String) {
    let site = Site::new();
    let log = site.log.clone();
    let operator = site.grant_key(&log, "operator", 77, "operator");
    site.accept_and_claim_rec1("All trained");
    let vkey = site.checkpoint(&log, &operator, &site.path("cp"));
    (site, vkey)
}

fn prove(site: &Site, rec: &str, out: &str) -> common::Run {
    trail_run(&[
        "prove",
        "recommendation",
        "--log",
        arg(&site.log),
        rec,
        "--checkpoint",
        arg(&site.path("cp")),
        "--out",
        arg(&site.path(out)),
    ])
}

/// Checks `bytes` as a record in a fresh directory holding nothing else.
fn verify_alone(bytes: &[u8], vkey: &str, extra: &[&str]) -> common::Run {
    let fresh = tempfile::tempdir().unwrap();
    let file = fresh.path().join("r.record");
    std::fs::write(&file, bytes).unwrap();
    let mut args = vec![
        "verify-proof",
        "--proof",
        arg(&file),
        "--operator-key",
        vkey,
        "--at",
        "2022-07-01",
    ];
    args.extend(extra);
    trail_run(&args)
}

#[test]
fn a_record_checks_offline_and_reports_the_state_of_its_recommendation() {
    let (site, vkey) = proven_site();
    let wrote = prove(&site, "REC-1", "r1.record");
    assert!(
        wrote.ok().contains("wrote the record of REC-1"),
        "{}",
        wrote.stdout
    );
    let bytes = std::fs::read(site.path("r1.record")).unwrap();
    let checked = verify_alone(&bytes, &vkey, &[]);
    let out = checked.ok();
    assert!(out.starts_with("ok: the record of REC-1"), "{out}");
    assert!(
        out.contains("position accepted; claimed implemented;") && out.contains("closure open"),
        "{out}"
    );
    // The JSON form carries the state as replay computes it, and only REC-1's
    // own entries and the key entries: not REC-2's issue.
    let json = verify_alone(&bytes, &vkey, &["--json"]);
    let line: serde_json::Value = serde_json::from_str(json.ok().trim()).unwrap();
    assert_eq!(line["type"], "record");
    let state = &line["data"]["state"];
    assert_eq!(state["rec"], "REC-1");
    assert_eq!(state["position"]["position"], "accepted");
    let history: Vec<&str> = state["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "recommendation_issued",
            "response_recorded",
            "progress_claim"
        ]
    );
    let replayed = trail_run(&[
        "replay",
        "--log",
        arg(&site.log),
        "--rec",
        "REC-1",
        "--at",
        "2022-07-01",
        "--json",
    ]);
    let replayed: serde_json::Value = serde_json::from_str(replayed.ok().trim()).unwrap();
    assert_eq!(*state, replayed["data"]["recs"]["REC-1"]);
}

#[test]
fn an_altered_record_or_the_wrong_key_is_refused() {
    let (site, vkey) = proven_site();
    prove(&site, "REC-1", "r1.record").ok();
    let text = String::from_utf8(std::fs::read(site.path("r1.record")).unwrap()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The claim is the last entry block: its bytes line follows `entry N`.
    let at = lines.iter().rposition(|l| l.starts_with("entry ")).unwrap();
    let with_line = |i: usize, new: String| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        l[i] = new;
        l.join("\n") + "\n"
    };
    let flip = |s: &str, i: usize| {
        let mut c: Vec<char> = s.chars().collect();
        c[i] = if c[i] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    let cases = [
        (
            "an entry's bytes",
            with_line(at + 1, flip(lines[at + 1], 40)),
        ),
        (
            "an inclusion path",
            with_line(at + 2, flip(lines[at + 2], 3)),
        ),
        ("the checkpoint", with_line(2, flip(lines[2], 30))),
        (
            "an entry moved to another seq",
            with_line(at, "entry 1".into()),
        ),
    ];
    for (what, bytes) in cases {
        let refused = verify_alone(bytes.as_bytes(), &vkey, &[]);
        assert_eq!(
            refused.code,
            Some(1),
            "{what}: {} {}",
            refused.stdout,
            refused.stderr
        );
        assert!(refused.stdout.is_empty(), "{what}: {}", refused.stdout);
        common::assert_clean_error(&refused.stderr);
    }
    // Signed by the log's operator, but checked against another operator
    // key of the same log: refused.
    let second = site.grant_key(&site.log, "operator-2", 78, "operator");
    let other_vkey = site.checkpoint(&site.log, &second, &site.path("cp2"));
    let refused = verify_alone(text.as_bytes(), &other_vkey, &[]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    common::assert_clean_error(&refused.stderr);
}

#[test]
fn a_recommendation_the_log_does_not_hold_has_no_record() {
    let (site, _) = proven_site();
    let none = prove(&site, "REC-9", "r9.record");
    none.fails(2, &["unknown recommendation REC-9"]);
    assert!(!site.path("r9.record").exists());
}
