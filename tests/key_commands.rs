//! `trail key public` recovers a key file's public key; `trail key
//! passphrase` re-encrypts it, atomically, keeping its mode.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Run, arg, run, trail};

fn trail_with(args: &[&str], passphrase: &str, new: Option<&str>) -> Run {
    let mut cmd = trail();
    cmd.args(args)
        .env("TRAIL_PASSPHRASE", passphrase)
        .env("TRAIL_INSECURE_TEST_WORK_FACTOR", "10")
        .env_remove("TRAIL_NEW_PASSPHRASE");
    if let Some(new) = new {
        cmd.env("TRAIL_NEW_PASSPHRASE", new);
    }
    run(cmd, None)
}

#[test]
fn key_public_prints_what_keygen_printed_and_key_passphrase_changes_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("syp.key");
    let made = trail_with(&["keygen", "--out", arg(&file)], "first", None);
    let public = made.ok().trim().to_owned();
    assert_eq!(public.len(), 64);
    let recovered = trail_with(&["key", "public", arg(&file)], "first", None);
    assert_eq!(recovered.ok().trim(), public);

    let changed = trail_with(&["key", "passphrase", arg(&file)], "first", Some("second"));
    assert!(changed.ok().contains("encrypted under the new passphrase"));
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    trail_with(&["key", "public", arg(&file)], "first", None).fails(2, &["wrong passphrase"]);
    let again = trail_with(&["key", "public", arg(&file)], "second", None);
    assert_eq!(again.ok().trim(), public);
    // Nothing but the key file is left in the directory.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");

    // Without a new passphrase (no terminal here) nothing changes.
    let before = std::fs::read(&file).unwrap();
    trail_with(&["key", "passphrase", arg(&file)], "second", None)
        .fails(2, &["TRAIL_NEW_PASSPHRASE"]);
    trail_with(&["key", "passphrase", arg(&file)], "second", Some("")).fails(2, &["empty"]);
    trail_with(&["key", "passphrase", arg(&file)], "wrong", Some("third"))
        .fails(2, &["wrong passphrase"]);
    assert_eq!(std::fs::read(&file).unwrap(), before);
}
