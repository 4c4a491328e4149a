//! `-` wherever a file is named: `--out -` writes to standard output (and
//! says what it did on standard error), `--bundle -`, `--proof -` and
//! `evidence -` read standard input; no file named `-` is ever made.

mod common;

use common::served::grant_operator;
use common::{Site, arg, run, trail};

fn with_stdin(args: &[&str], stdin: &[u8], dir: &std::path::Path) -> common::Run {
    let mut cmd = trail();
    cmd.args(args).current_dir(dir);
    run(cmd, Some(stdin))
}

fn in_dir(args: &[&str], dir: &std::path::Path) -> std::process::Output {
    let mut cmd = trail();
    cmd.args(args).current_dir(dir);
    cmd.output().expect("trail runs")
}

#[test]
fn dash_is_standard_output_and_standard_input() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let dir = site.tmp.path();
    let log = arg(&site.log);

    let bundle = in_dir(&["export", "--log", log, "--out", "-"], dir);
    assert!(bundle.status.success());
    assert!(bundle.stdout.starts_with(b"TRAILBDL"));
    assert!(String::from_utf8_lossy(&bundle.stderr).contains("to standard output"));
    let verified = with_stdin(&["verify", "--bundle", "-"], &bundle.stdout, dir);
    assert!(
        verified.ok().contains("standard input: intact: 10 entries"),
        "{}",
        verified.stdout
    );
    let copy = site.path("copy");
    with_stdin(
        &["import", "--bundle", "-", "--log", arg(&copy)],
        &bundle.stdout,
        dir,
    )
    .ok();
    assert!(copy.join("TRAIL_LOG").is_file());

    let report = in_dir(
        &["report", "--log", log, "--format", "md", "--out", "-"],
        dir,
    );
    assert!(report.status.success());
    assert!(
        report.stdout.starts_with(b"# "),
        "{}",
        String::from_utf8_lossy(&report.stdout)
    );

    let checkpoint = in_dir(
        &[
            "checkpoint",
            "--log",
            log,
            "--key",
            arg(&operator),
            "--out",
            "-",
        ],
        dir,
    );
    assert!(checkpoint.status.success());
    assert!(checkpoint.stdout.starts_with(b"trail/"));
    let vkey = String::from_utf8_lossy(&checkpoint.stderr)
        .lines()
        .find_map(|l| l.strip_prefix("operator key: ").map(str::to_owned))
        .expect("the operator key on standard error");
    let proof = in_dir(
        &[
            "prove",
            "inclusion",
            "--log",
            log,
            "--seq",
            "3",
            "--out",
            "-",
        ],
        dir,
    );
    assert!(proof.status.success());
    assert!(proof.stdout.starts_with(b"c2sp.org/tlog-proof@v1"));
    let checked = with_stdin(
        &["verify-proof", "--proof", "-", "--operator-key", &vkey],
        &proof.stdout,
        dir,
    );
    assert!(checked.ok().contains("seq 3"), "{}", checked.stdout);

    let document = b"the inspection report";
    std::fs::write(site.path("report.pdf"), document).unwrap();
    let from_file = in_dir(&["evidence", "report.pdf"], dir);
    let from_stdin = with_stdin(&["evidence", "-"], document, dir);
    let digest = |text: &str| {
        text.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        digest(from_stdin.ok()),
        digest(&String::from_utf8_lossy(&from_file.stdout))
    );

    assert!(!dir.join("-").exists(), "a file named - was made");
}
