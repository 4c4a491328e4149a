//! Where a user looks for help: `--version`, shell completions, the man
//! page; and flags that win over the environment.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Site, arg, run, trail, trail_run};

#[test]
fn version_names_the_entry_and_bundle_formats() {
    let version = trail_run(&["--version"]);
    let text = version.ok();
    let entry = format!("entry format {}", trail_core::ENTRY_FORMAT_VERSION);
    let bundle = format!("bundle format {}", trail_core::bundle::VERSION);
    assert!(text.contains(&entry) && text.contains(&bundle), "{text}");
}

#[test]
fn completions_for_every_shell_name_the_commands_and_bash_accepts_its_script() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = trail_run(&["completions", shell]);
        let text = script.ok();
        for command in ["serve", "mirror", "publish", "witness", "verify"] {
            assert!(text.contains(command), "{shell} completion lacks {command}");
        }
    }
    let script = trail_run(&["completions", "bash"]).stdout;
    let mut bash = Command::new("bash")
        .args(["-n"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("bash");
    bash.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(
        bash.wait().unwrap().success(),
        "bash -n refused the completion script"
    );
    let unknown = trail_run(&["completions", "tcsh"]);
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stderr.contains("'tcsh'"), "{}", unknown.stderr);
}

#[test]
fn the_man_page_is_troff_naming_every_command() {
    let man = trail_run(&["man"]);
    let text = man.ok();
    assert!(
        text.contains(".TH trail 1"),
        "{}",
        &text[..200.min(text.len())]
    );
    for command in ["serve", "mirror", "publish", "checkpoint", "verify\\-proof"] {
        assert!(text.contains(command), "the man page lacks {command}");
    }
}

#[test]
fn an_explicit_bundle_wins_over_trail_log() {
    let site = Site::new();
    let bundle = site.path("log.trail");
    trail_run(&["export", "--log", arg(&site.log), "--out", arg(&bundle)]).ok();
    let mut cmd = trail();
    cmd.args(["verify", "--bundle", arg(&bundle)])
        .env("TRAIL_LOG", site.path("no-such-log"));
    let verified = run(cmd, None);
    assert!(
        verified.ok().contains("log.trail: intact"),
        "{}",
        verified.stdout
    );
}
