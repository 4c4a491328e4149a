//! A log written by the first layout (every entry inside sled, format 1:
//! the fixture was written by `trail demo` at commit abd6124) is migrated to
//! segment files on open, losing nothing: it verifies, exports byte for byte
//! the bundle that commit exported, and takes appends.

mod common;

use std::path::Path;
use std::process::Command;

use common::{arg, trail, trail_run};

fn unpack(dir: &Path) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1-log.tar.gz");
    let status = Command::new("tar")
        .arg("xzf")
        .arg(&fixture)
        .arg("-C")
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_first_layout_log_is_migrated_to_segments_losing_nothing() {
    let dir = tempfile::tempdir().unwrap();
    unpack(dir.path());
    let log = dir.path().join("log");
    assert_eq!(
        std::fs::read_to_string(log.join("TRAIL_LOG")).unwrap(),
        "trail log v1\n"
    );
    assert!(!log.join("segments").exists());
    // A read command migrates it.
    let verified = trail_run(&["verify", "--log", arg(&log)]).ok().to_owned();
    assert!(verified.contains("intact: 31 entries"), "{verified}");
    assert_eq!(
        std::fs::read_to_string(log.join("TRAIL_LOG")).unwrap(),
        "trail log v2\n"
    );
    assert!(log.join("segments/0000000000.seg").is_file());
    // Every entry, byte for byte: the bundle exported before the migration.
    let out = dir.path().join("after.trail");
    trail_run(&["export", "--log", arg(&log), "--out", arg(&out)]).ok();
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(dir.path().join("demo.trail")).unwrap(),
        "the migrated log exports what the first layout exported"
    );
    // sled no longer holds the entries: the log goes on from its segments.
    std::fs::write(
        dir.path().join("event.json"),
        r#"{"type": "report_published", "report": "REP-9", "title": "After", "date": "2024-01-01"}"#,
    )
    .unwrap();
    trail_run(&[
        "append",
        "--log",
        arg(&log),
        "--key",
        arg(&dir.path().join("keys/iopc.key")),
        "--event",
        arg(&dir.path().join("event.json")),
    ])
    .ok();
    let verified = trail_run(&["verify", "--log", arg(&log)]).ok().to_owned();
    assert!(verified.contains("intact: 32 entries"), "{verified}");
}

#[test]
fn repair_never_removes_the_sled_files_of_a_first_layout_log() {
    let dir = tempfile::tempdir().unwrap();
    unpack(dir.path());
    let log = dir.path().join("log");
    // A migration cut short: a segment file begun, the marker still of the
    // first layout, and sled's data file damaged. sled still holds the
    // only copy of the entries, so repair must leave its files alone.
    let segments = log.join("segments");
    std::fs::create_dir(&segments).unwrap();
    let mut header = b"trail segment v1".to_vec();
    header.extend_from_slice(&0u64.to_be_bytes());
    std::fs::write(segments.join("0000000000.seg"), header).unwrap();
    let db = std::fs::read(log.join("db")).unwrap();
    let name = b"Operation Linden recommendations (demo)";
    let at = db
        .windows(name.len())
        .position(|w| w == name)
        .expect("the first layout keeps the genesis entry in sled's data file");
    let mut damaged = db.clone();
    damaged.truncate(at + 10);
    std::fs::write(log.join("db"), &damaged).unwrap();
    let out = trail()
        .args(["repair", "--log", arg(&log)])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "repair must refuse: {stderr}");
    // sled may mend its own file on open; what matters is that it is there.
    assert!(stderr.contains("a repair removes nothing"), "{stderr}");
    for name in ["db", "conf"] {
        assert!(log.join(name).is_file(), "{name} was removed: {stderr}");
    }
    eprintln!("repair refused: {stderr}");
}
