//! Progress bars for long operations appear on a terminal and nowhere else.

mod common;

use std::process::Command;

use common::{arg, trail, trail_run};

fn demo() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    trail_run(&["demo", "--dir", arg(&dir.path().join("d"))]).ok();
    let log = dir.path().join("d").join("log");
    (dir, log)
}

#[test]
fn no_progress_bar_when_stderr_is_not_a_terminal() {
    let (dir, log) = demo();
    let bundle = dir.path().join("b.trail");
    for args in [
        vec!["verify", "--log", arg(&log)],
        vec!["export", "--log", arg(&log), "--out", arg(&bundle)],
        vec!["verify", "--bundle", arg(&bundle)],
        vec![
            "import",
            "--bundle",
            arg(&bundle),
            "--log",
            arg(&dir.path().join("copy")),
        ],
    ] {
        let out = trail().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?} wrote to stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_terminal_sees_a_bar_while_verifying_but_json_does_not() {
    let (_dir, log) = demo();
    let bin = env!("CARGO_BIN_EXE_trail");
    // `script` gives the command a pseudo-terminal, as a person's shell would.
    let run = |extra: &str| {
        Command::new("script")
            .args([
                "-qec",
                &format!("{bin} verify --log {} {extra}", log.display()),
                "/dev/null",
            ])
            .output()
            .expect("script (util-linux) runs")
    };
    let plain = String::from_utf8_lossy(&run("").stdout).into_owned();
    assert!(plain.contains("verifying ["), "{plain}");
    assert!(plain.contains("entries"), "{plain}");
    let json = String::from_utf8_lossy(&run("--json").stdout).into_owned();
    assert!(!json.contains("verifying"), "{json}");
}
