//! `trail import` stages the new log beside its target; it never deletes a
//! directory of that name that is not its own leftover.

mod common;

use common::{arg, trail, trail_run};

#[test]
fn a_foreign_directory_where_import_stages_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("d");
    trail_run(&["demo", "--dir", arg(&demo)]).ok();
    let target = dir.path().join("copy");
    let staging = dir.path().join("copy.importing");
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("notes.txt"), "mine").unwrap();
    let out = trail()
        .args([
            "import",
            "--bundle",
            arg(&demo.join("demo.trail")),
            "--log",
            arg(&target),
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("copy.importing"));
    assert_eq!(
        std::fs::read_to_string(staging.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(!target.exists());
    // Once it is moved away, the import goes through.
    std::fs::remove_dir_all(&staging).unwrap();
    let out = trail()
        .args([
            "import",
            "--bundle",
            arg(&demo.join("demo.trail")),
            "--log",
            arg(&target),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
