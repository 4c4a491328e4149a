//! The first problem in a bundle is the one reported, whatever comes after
//! it; and text taken from a damaged entry cannot change the exit code.

mod common;

use common::{arg, trail, trail_run};

fn demo_bundle() -> (tempfile::TempDir, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("d");
    trail_run(&["demo", "--dir", arg(&demo)]).ok();
    let bytes = std::fs::read(demo.join("demo.trail")).unwrap();
    (dir, bytes)
}

fn verify(dir: &std::path::Path, bytes: &[u8]) -> (Option<i32>, String) {
    let path = dir.join("damaged.trail");
    std::fs::write(&path, bytes).unwrap();
    let out = trail()
        .args(["verify", "--bundle", arg(&path)])
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_truncated_bundle_still_reports_an_earlier_bad_entry() {
    let (dir, mut bytes) = demo_bundle();
    let entries = common::parse_bundle(&bytes);
    let ranges: Vec<_> = entries
        .iter()
        .filter(|r| r.tag == 0x01)
        .map(|r| r.payload.clone())
        .collect();
    // Damage the signature of entry 5, then cut the file inside entry 20.
    let bad = ranges[5].end - 10;
    bytes[bad] ^= 0x01;
    bytes.truncate(ranges[20].start + 7);
    let (code, stderr) = verify(dir.path(), &bytes);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("seq 5:"), "{stderr}");
}

#[test]
fn text_from_a_damaged_entry_cannot_turn_failure_into_success() {
    let (dir, bytes) = demo_bundle();
    let at = bytes
        .windows(11)
        .position(|w| w == b"LINDEN-2021")
        .expect("the report id is in the bundle");
    let mut damaged = bytes.clone();
    damaged[at..at + 11].copy_from_slice(b"Broken pipe");
    let (code, stderr) = verify(dir.path(), &damaged);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("Broken pipe"), "{stderr}");
}
