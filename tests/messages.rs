//! Messages that say what to do next: bundle errors name their file, a file
//! that is not a bundle is an input error (more in tests/bad_input.rs), a `--known-at` before the log
//! began says so, and `check` findings exit 3, not 1.

mod common;

use common::{Site, arg, trail_run};

#[test]
fn bundle_errors_name_the_file_and_a_non_bundle_is_an_input_error() {
    let site = Site::new();
    let not_a_bundle = site.path("notes.txt");
    std::fs::write(&not_a_bundle, "these are notes, not a bundle\n").unwrap();
    trail_run(&["verify", "--bundle", arg(&not_a_bundle)])
        .fails(2, &["notes.txt: not a trail bundle (wrong magic bytes)"]);
    let bundle = site.path("log.trail");
    trail_run(&["export", "--log", arg(&site.log), "--out", arg(&bundle)]).ok();
    let bytes = std::fs::read(&bundle).unwrap();
    let cut = site.path("cut.trail");
    std::fs::write(&cut, &bytes[..bytes.len() - 20]).unwrap();
    let message = trail_run(&["verify", "--bundle", arg(&cut)])
        .fails(1, &["cut.trail: ", "truncated"])
        .to_owned();
    assert!(!message.contains("bundle: bundle"), "{message}");
    trail_run(&[
        "import",
        "--bundle",
        arg(&cut),
        "--log",
        arg(&site.path("copy")),
    ])
    .fails(1, &["cut.trail: ", "truncated"]);
}

#[test]
fn a_known_at_before_the_log_began_says_nothing_was_recorded() {
    let site = Site::new();
    for command in ["check", "replay"] {
        let run = trail_run(&[command, "--log", arg(&site.log), "--known-at", "2020-01-01"]);
        assert!(
            run.stderr.contains("nothing was recorded by 2020-01-01"),
            "{command}: {}",
            run.stderr
        );
    }
    let today = trail_run(&["replay", "--log", arg(&site.log)]);
    assert!(
        !today.stderr.contains("nothing was recorded"),
        "{}",
        today.stderr
    );
}
