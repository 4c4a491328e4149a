//! The README runs as written: every ```sh block, in order, in one bash
//! script in an empty directory, with the `trail` built for these tests on
//! PATH. A block preceded by a `<!-- readme-test: skip (why) -->` line is not
//! run (the commands that build and test this very project).
//!
//! What it prints is pinned in tests/readme.stdout, with what changes from
//! run to run (keys, hashes, signatures, times, the directory) replaced by
//! placeholders: a change to what users see is a visible diff. To change it
//! on purpose, run with `TRYCMD=overwrite` and read the diff.

use std::path::Path;
use std::process::Command;

/// The shell blocks of the README that are to run, with the line each starts on.
fn blocks(readme: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut lines = readme.lines().enumerate().peekable();
    let mut skip_next = false;
    while let Some((n, line)) = lines.next() {
        if line.trim_start().starts_with("<!-- readme-test: skip") {
            skip_next = true;
            continue;
        }
        if line.trim() == "```sh" {
            let mut block = String::new();
            for (_, body) in lines.by_ref() {
                if body.trim() == "```" {
                    break;
                }
                block.push_str(body);
                block.push('\n');
            }
            if !std::mem::take(&mut skip_next) {
                out.push((n + 1, block));
            }
        } else if !line.trim().is_empty() {
            skip_next = false;
        }
    }
    out
}

#[test]
fn every_shell_block_of_the_readme_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let blocks = blocks(&readme);
    assert!(
        blocks.len() >= 5,
        "found only {} shell blocks",
        blocks.len()
    );
    // One script, so that shell variables carry from block to block; each
    // command is echoed (set -x) so a failure shows which one it was.
    let mut script = String::from("set -euo pipefail\n");
    for (line, block) in &blocks {
        script.push_str(&format!(
            "echo '--- README.md line {line}' >&2\nset -x\n{block}set +x\n"
        ));
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = assert_cmd::cargo::cargo_bin("trail");
    let path = format!(
        "{}:{}",
        bin.parent().expect("the binary's directory").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("HOME", dir.path())
        .env("TRAIL_PASSPHRASE", "readme test passphrase")
        // Debug builds only: cheap key encryption, so the walk-through's
        // dozens of key loads take milliseconds, not seconds.
        .env("TRAIL_INSECURE_TEST_WORK_FACTOR", "10")
        .env_remove("TRAIL_LOG")
        .env_remove("TRAIL_CACHE")
        .env_remove("XDG_CACHE_HOME")
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the README stopped at the last command shown ({}):\n{}\n--- stdout:\n{}",
        out.status,
        stderr
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&out.stdout)
    );
    let seen = normalized(&String::from_utf8_lossy(&out.stdout), dir.path());
    let pinned = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/readme.stdout");
    if std::env::var("TRYCMD").as_deref() == Ok("overwrite") {
        std::fs::write(&pinned, &seen).expect("write tests/readme.stdout");
    }
    let expected = std::fs::read_to_string(&pinned).expect("tests/readme.stdout");
    if seen != expected {
        let first = seen
            .lines()
            .zip(expected.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(seen.lines().count().min(expected.lines().count()));
        panic!(
            "the walk-through prints something else than tests/readme.stdout, from line {}:\n  now: {:?}\n  was: {:?}\n(TRYCMD=overwrite to accept it)",
            first + 1,
            seen.lines().nth(first),
            expected.lines().nth(first)
        );
    }
}

/// The output with what differs between runs replaced: the directory,
/// times, today's date, hex keys and hashes, base64 roots and signatures.
fn normalized(text: &str, dir: &Path) -> String {
    let today = trail_core::Day::of_timestamp(trail_core::Timestamp::now()).to_string();
    let text = text.replace(&dir.display().to_string(), "<DIR>");
    let rules = [
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?Z?",
            "<TIME>",
        ),
        (r"[0-9a-f]{16,}", "<HEX>"),
        (r"[A-Za-z0-9+/]{40,}={0,2}", "<B64>"),
        (r"\+[0-9a-f]{8}\+", "+<ID>+"),
    ];
    let mut text = text;
    for (pattern, placeholder) in rules {
        text = regex::Regex::new(pattern)
            .expect("a pattern")
            .replace_all(&text, placeholder)
            .into_owned();
    }
    // After the times, so that a date is only replaced where it stands alone.
    text.replace(&today, "<TODAY>")
}
