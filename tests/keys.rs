//! Secret keys at rest through the `trail` binary: encrypted by default with a
//! passphrase from TRAIL_PASSPHRASE or a terminal, `--unencrypted` for
//! automation, old plaintext files still accepted, and no secret ever printed.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use trail_core::{KeyFile, Passphrase, SecretKey, WorkFactor};

const PASSPHRASE: &str = "correct horse battery staple";

/// A key file's first bytes when age-encrypted.
const AGE_HEADER: &[u8] = b"age-encryption.org/v1\n";

/// `trail ARGS` with TRAIL_PASSPHRASE set (or not), no terminal on stdin, and
/// a low scrypt work factor for speed (honoured by debug builds only).
fn trail_with(passphrase: Option<&str>, args: &[&str]) -> Run {
    let mut cmd = trail();
    cmd.args(args).env("TRAIL_INSECURE_TEST_WORK_FACTOR", "10");
    if let Some(p) = passphrase {
        cmd.env("TRAIL_PASSPHRASE", p);
    }
    // Piped (not a terminal) stdin: the binary must not try to prompt.
    run(cmd, Some(b""))
}

fn init(log: &Path, key: &Path, passphrase: Option<&str>) -> Run {
    trail_with(
        passphrase,
        &[
            "init",
            "--log",
            arg(log),
            "--name",
            "keys test",
            "--key",
            arg(key),
        ],
    )
}

/// Asserts that no output of `runs` shows any of `secrets`.
#[track_caller]
fn assert_no_secret(runs: &[&Run], secrets: &[&str]) {
    for run in runs {
        for secret in secrets {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "a secret was printed: {run:#?}"
            );
        }
    }
}

#[test]
fn keygen_encrypts_by_default_and_the_key_signs_with_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("admin.key");
    let made = trail_with(Some(PASSPHRASE), &["keygen", "--out", arg(&key)]);
    let public = made.ok().trim().to_owned();
    assert_eq!(public.len(), 64, "prints only the public key: {made:#?}");
    let bytes = fs::read(&key).unwrap();
    assert!(
        bytes.starts_with(AGE_HEADER),
        "the key file is age-encrypted"
    );
    let mode = fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // The library sees an encrypted file and opens it with the passphrase.
    let KeyFile::Encrypted(file) = KeyFile::read(&key).unwrap() else {
        panic!("keygen wrote an unencrypted file");
    };
    let secret = file
        .decrypt(&Passphrase::new(PASSPHRASE.to_owned()))
        .unwrap();
    assert_eq!(secret.public_key().to_string(), public);

    let log = dir.path().join("log");
    let created = init(&log, &key, Some(PASSPHRASE));
    created.ok();
    let verified = trail_with(None, &["verify", "--log", arg(&log)]);
    verified.ok();
    let shown = trail_with(None, &["show", "--log", arg(&log), "--json"]);
    assert!(shown.ok().contains(&public), "genesis names the key");
    assert_no_secret(&[&made, &created, &verified, &shown], &[PASSPHRASE]);
}

#[test]
fn a_wrong_passphrase_is_refused_in_one_line_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("admin.key");
    trail_with(Some(PASSPHRASE), &["keygen", "--out", arg(&key)]).ok();
    let log = dir.path().join("log");
    let wrong = init(&log, &key, Some("Correct horse battery staple"));
    wrong.fails(2, &["admin.key", "wrong passphrase"]);
    assert!(!log.exists(), "nothing was created with a wrong passphrase");
    assert_no_secret(&[&wrong], &[PASSPHRASE, "Correct horse"]);
}

#[test]
fn an_encrypted_key_without_passphrase_or_terminal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("admin.key");
    trail_with(Some(PASSPHRASE), &["keygen", "--out", arg(&key)]).ok();
    let log = dir.path().join("log");
    init(&log, &key, None).fails(
        2,
        &[
            "admin.key",
            "key file is encrypted: set TRAIL_PASSPHRASE or run on a terminal",
        ],
    );
    assert!(!log.exists());

    // keygen too refuses to write a key it cannot protect, and says what to do.
    let other = dir.path().join("other.key");
    trail_with(None, &["keygen", "--out", arg(&other)])
        .fails(2, &["TRAIL_PASSPHRASE", "--unencrypted"]);
    assert!(!other.exists());
    trail_with(Some(""), &["keygen", "--out", arg(&other)]).fails(2, &["passphrase is empty"]);
    assert!(!other.exists());
}

#[test]
fn keygen_unencrypted_writes_the_plaintext_format_and_help_says_what_it_gives_up() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("auto.key");
    // No passphrase is asked for, even when one is set.
    let made = trail_with(
        Some(PASSPHRASE),
        &["keygen", "--unencrypted", "--out", arg(&key)],
    );
    let public = made.ok().trim().to_owned();
    let text = fs::read_to_string(&key).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("trail secret key v1 (ed25519 seed, hex)")
    );
    let seed = lines.next().unwrap().to_owned();
    assert_eq!(seed.len(), 64);
    assert_eq!(
        SecretKey::load(&key).unwrap().public_key().to_string(),
        public
    );
    assert_no_secret(&[&made], &[&seed]);

    let help = trail_with(None, &["keygen", "--help"]);
    let help = help.ok();
    for needle in [
        "--unencrypted",
        "TRAIL_PASSPHRASE",
        "gives up the passphrase",
    ] {
        assert!(
            help.contains(needle),
            "keygen --help lacks {needle:?}: {help}"
        );
    }
}

#[test]
fn a_plaintext_key_file_from_before_encryption_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("old.key");
    let secret = seed(7);
    secret.write_new_file(&key).unwrap();
    let log = dir.path().join("log");
    // No passphrase, no terminal: a plaintext file needs neither.
    init(&log, &key, None).ok();
    let shown = trail_with(None, &["show", "--log", arg(&log), "--json"]);
    assert!(shown.ok().contains(&secret.public_key().to_string()));
}

#[test]
fn no_command_prints_the_seed_or_the_passphrase() {
    let dir = tempfile::tempdir().unwrap();
    // A key whose seed is known, encrypted by the library the way keygen does.
    let seed_bytes = [0x5au8; 32];
    let seed_hex = hex(&seed_bytes);
    let secret = SecretKey::from_seed(&seed_bytes);
    let key = dir.path().join("admin.key");
    secret
        .write_new_encrypted_file(
            &key,
            &Passphrase::new(PASSPHRASE.to_owned()),
            WorkFactor::Log2(10),
        )
        .unwrap();
    let log = dir.path().join("log");
    let event = dir.path().join("bad.json");
    fs::write(&event, r#"{"type": "report_published", "report": "R"}"#).unwrap();
    let runs = [
        init(&log, &key, Some(PASSPHRASE)),
        init(&dir.path().join("log2"), &key, Some("nope")),
        init(&dir.path().join("log3"), &key, None),
        trail_with(
            Some(PASSPHRASE),
            &[
                "append",
                "--log",
                arg(&log),
                "--key",
                arg(&key),
                "--event",
                arg(&event),
            ],
        ),
        trail_with(Some(PASSPHRASE), &["keygen", "--out", arg(&key)]),
        trail_with(None, &["show", "--log", arg(&log)]),
        trail_with(None, &["show", "--log", arg(&log), "--json"]),
    ];
    assert_eq!(runs[0].code, Some(0), "{:#?}", runs[0]);
    for run in &runs[1..5] {
        assert_eq!(run.code, Some(2), "{run:#?}");
        assert_clean_error(&run.stderr);
    }
    let runs: Vec<&Run> = runs.iter().collect();
    assert_no_secret(&runs, &[&seed_hex, &seed_hex.to_uppercase(), PASSPHRASE]);
}

/// Runs `trail ARGS` on a pseudo-terminal made by script(1), typing `lines`
/// after a pause each; None when script(1) is not installed.
fn on_terminal(args: &[&str], lines: &[&str]) -> Option<std::process::Output> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("trail");
    let mut line = format!("'{}'", bin.display());
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut child = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env_remove("TRAIL_PASSPHRASE")
        .env("TRAIL_INSECURE_TEST_WORK_FACTOR", "10")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        std::thread::sleep(std::time::Duration::from_millis(700));
        // The child may be gone already (e.g. it refused); that is its answer.
        let _ = writeln!(stdin, "{l}");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(stdin);
    child.wait_with_output().ok()
}

#[test]
fn on_a_terminal_keygen_asks_twice_and_init_asks_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("t.key");
    let Some(made) = on_terminal(&["keygen", "--out", arg(&key)], &[PASSPHRASE, PASSPHRASE]) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "script(1) is missing, and CI is set: the terminal tests must run there"
        );
        println!("skipped: script(1) is not installed, so no terminal can be made");
        return;
    };
    let shown = String::from_utf8_lossy(&made.stdout);
    assert!(made.status.success(), "{made:?}");
    assert!(shown.contains("passphrase for new key") && shown.contains("again"));
    assert!(fs::read(&key).unwrap().starts_with(AGE_HEADER));

    let log = dir.path().join("log");
    let created = on_terminal(
        &[
            "init",
            "--log",
            arg(&log),
            "--name",
            "t",
            "--key",
            arg(&key),
        ],
        &[PASSPHRASE],
    )
    .unwrap();
    assert!(created.status.success(), "{created:?}");
    assert!(String::from_utf8_lossy(&created.stdout).contains("passphrase for"));
    assert!(log.join("TRAIL_LOG").exists());

    // Two different answers: nothing is written.
    let other = dir.path().join("other.key");
    let differ = on_terminal(&["keygen", "--out", arg(&other)], &["one", "two"]).unwrap();
    assert!(!differ.status.success());
    assert!(String::from_utf8_lossy(&differ.stdout).contains("differ"));
    assert!(!other.exists());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
