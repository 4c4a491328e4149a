//! Damage to sled's own files on disk (flipped bytes, truncation, a lost
//! file) makes `trail verify` fail with one clear line, never a panic or a
//! hang; damage that misses every stored byte leaves the log verifying whole.
//! `trail repair` rebuilds what the store derives from the entries.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{arg, assert_clean_error, trail, trail_run};

/// A demo log to damage copies of.
fn pristine() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    trail_run(&["demo", "--dir", arg(&dir.path().join("demo"))]).ok();
    let log = dir.path().join("demo").join("log");
    (dir, log)
}

/// Runs `trail verify` on a damaged copy: it must finish quickly, and either
/// verify every entry (the damage hit no stored byte) or fail in one clean line.
fn verify_damaged(log: &Path, entries: usize) -> Option<String> {
    let started = Instant::now();
    let out = trail()
        .args(["verify", "--log", arg(log)])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(60), "verify hung");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => {
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(stdout.contains(&format!("{entries} entries")), "{stdout}");
            None
        }
        Some(1 | 2) => {
            assert_clean_error(&stderr);
            Some(stderr)
        }
        other => panic!("verify ended with {other:?}: {stderr}"),
    }
}

#[test]
fn flipped_bytes_in_the_data_file_fail_cleanly() {
    let (dir, log) = pristine();
    let db = std::fs::read(log.join("db")).unwrap();
    // Where the log's own bytes are: its name is in the genesis entry.
    let name = b"Operation Linden recommendations (demo)";
    let at = db
        .windows(name.len())
        .position(|w| w == name)
        .expect("the genesis entry is in the data file");
    let mut failures = 0;
    for (n, offset) in (0..db.len())
        .step_by(db.len() / 24)
        .chain([at, at + 5])
        .enumerate()
    {
        let copy = dir.path().join(format!("flip{n}"));
        common::copy_tree(&log, &copy);
        let mut bytes = db.clone();
        bytes[offset] ^= 0x5a;
        std::fs::write(copy.join("db"), bytes).unwrap();
        if verify_damaged(&copy, 31).is_some() {
            failures += 1;
        }
        if offset == at {
            assert!(
                verify_damaged(&copy, 31).is_some(),
                "a flipped byte inside the genesis entry verified"
            );
        }
    }
    assert!(failures >= 2, "flips in stored data must be caught");
}

#[test]
fn a_truncated_or_missing_data_file_fails_cleanly() {
    let (dir, log) = pristine();
    let db = std::fs::read(log.join("db")).unwrap();
    let len = db.len() as u64;
    // A cut before the genesis entry's bytes certainly removes stored data.
    let name = b"Operation Linden recommendations (demo)";
    let genesis = db.windows(name.len()).position(|w| w == name).unwrap() as u64;
    for (n, size) in [0, 1, 100, genesis, len / 3, len / 2, len - 1]
        .into_iter()
        .enumerate()
    {
        let copy = dir.path().join(format!("cut{n}"));
        common::copy_tree(&log, &copy);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(copy.join("db"))
            .unwrap();
        file.set_len(size).unwrap();
        let message = verify_damaged(&copy, 31);
        if size <= genesis {
            let message =
                message.unwrap_or_else(|| panic!("a data file cut to {size} bytes verified"));
            assert!(
                message.contains("damaged") || message.contains("not a trail log"),
                "{message}"
            );
        }
    }
    let copy = dir.path().join("gone");
    common::copy_tree(&log, &copy);
    std::fs::remove_file(copy.join("db")).unwrap();
    let message = verify_damaged(&copy, 31).expect("a log without its data file verified");
    assert!(message.contains("not a trail log"), "{message}");
}

#[test]
fn repair_rebuilds_what_is_derived_and_the_log_still_verifies() {
    let (_dir, log) = pristine();
    // Derived files that repair drops, to be rebuilt when next needed.
    trail_run(&["search", "--log", arg(&log), "training"]).ok();
    assert!(log.join("search.text").is_file());
    let out = trail_run(&["repair", "--log", arg(&log)]).ok().to_owned();
    assert!(
        out.starts_with(&format!("repaired {}: 31 entries verified from the genesis; rebuilt the head record, the Merkle tree", log.display())),
        "{out}"
    );
    assert!(
        !log.join("search.text").exists(),
        "the search text is dropped"
    );
    let verified = trail_run(&["verify", "--log", arg(&log)]).ok().to_owned();
    assert!(verified.contains("31 entries"), "{verified}");
    let found = trail_run(&["search", "--log", arg(&log), "training"])
        .ok()
        .to_owned();
    assert!(
        found.contains("entries match"),
        "search works again: {found}"
    );
    let json = trail_run(&["repair", "--log", arg(&log), "--json"])
        .ok()
        .to_owned();
    let line: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(line["type"], "repaired");
    assert_eq!(line["data"]["entries"], 31);
    assert_eq!(line["data"]["head_rewritten"], false);
}
