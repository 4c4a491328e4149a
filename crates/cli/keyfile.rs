//! Secret key files for the CLI: where passphrases come from.
//!
//! A passphrase is taken from `TRAIL_PASSPHRASE` if it is set, else asked
//! for on the terminal when standard input is one; otherwise an encrypted key
//! cannot be used and the command says so. The passphrase is never echoed or
//! printed.

use std::io::IsTerminal;
use std::path::Path;

use trail_core::{KeyFile, Passphrase, SecretKey, WorkFactor};

use crate::Failure;

/// The environment variable that holds the passphrase for automation.
pub const PASSPHRASE_ENV: &str = "TRAIL_PASSPHRASE";

/// Lowers the scrypt work factor of new key files, in debug builds only, so
/// that the test suite does not spend a second per key; release builds ignore it.
const TEST_WORK_FACTOR_ENV: &str = "TRAIL_INSECURE_TEST_WORK_FACTOR";

/// The passphrase from the environment, or from a terminal prompt, or None
/// when there is neither.
fn ask_passphrase(prompt: &str) -> Result<Option<Passphrase>, Failure> {
    if let Some(value) = std::env::var_os(PASSPHRASE_ENV) {
        let text = value
            .into_string()
            .map_err(|_| Failure::input(format!("{PASSPHRASE_ENV} is not valid UTF-8")))?;
        return Ok(Some(Passphrase::new(text)));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    // rpassword reads from the controlling terminal with echo off.
    let text = rpassword::prompt_password(prompt)
        .map_err(|e| Failure::input(format!("reading the passphrase: {e}")))?;
    Ok(Some(Passphrase::new(text)))
}

/// Loads a secret key file, decrypting it if it is encrypted.
pub fn load(path: &Path) -> Result<SecretKey, Failure> {
    match KeyFile::read(path)? {
        KeyFile::Unencrypted(key) => Ok(key),
        KeyFile::Encrypted(file) => {
            let prompt = format!("passphrase for {}: ", path.display());
            let passphrase = ask_passphrase(&prompt)?.ok_or_else(|| {
                Failure::input(format!(
                    "{}: key file is encrypted: set {PASSPHRASE_ENV} or run on a terminal",
                    path.display()
                ))
            })?;
            Ok(file.decrypt(&passphrase)?)
        }
    }
}

/// Writes `key` to the new file `out`, encrypted unless `unencrypted`.
pub fn write_new(key: &SecretKey, out: &Path, unencrypted: bool) -> Result<(), Failure> {
    // Say so before asking for a passphrase that could not be used.
    if out.symlink_metadata().is_ok() {
        return Err(Failure::input(format!(
            "{}: already exists; keygen never overwrites a file",
            out.display()
        )));
    }
    if unencrypted {
        return Ok(key.write_new_file(out)?);
    }
    let prompt = format!("passphrase for new key {}: ", out.display());
    let passphrase = ask_passphrase(&prompt)?.ok_or_else(|| {
        Failure::input(format!(
            "a new key is encrypted with a passphrase: set {PASSPHRASE_ENV}, run on a terminal, \
             or pass --unencrypted"
        ))
    })?;
    if passphrase.is_empty() {
        return Err(Failure::input(
            "the passphrase is empty (pass --unencrypted for a key without one)",
        ));
    }
    if std::env::var_os(PASSPHRASE_ENV).is_none() {
        let again = ask_passphrase("same passphrase again: ")?
            .ok_or_else(|| Failure::input("the terminal went away"))?;
        if !again.matches(&passphrase) {
            return Err(Failure::input(
                "the two passphrases differ; nothing was written",
            ));
        }
    }
    Ok(key.write_new_encrypted_file(out, &passphrase, work_factor())?)
}

fn work_factor() -> WorkFactor {
    if cfg!(debug_assertions)
        && let Some(n) = std::env::var(TEST_WORK_FACTOR_ENV)
            .ok()
            .and_then(|v| v.parse().ok())
    {
        return WorkFactor::Log2(n);
    }
    WorkFactor::Calibrated
}

/// The environment variable that holds the new passphrase for `trail key passphrase`.
pub const NEW_PASSPHRASE_ENV: &str = "TRAIL_NEW_PASSPHRASE";

/// Re-encrypts the key file at `path` under a new passphrase (from
/// `TRAIL_NEW_PASSPHRASE` or asked for twice on the terminal). The new file
/// is written beside the old, synced, and renamed over it: the key is never
/// lost half-way.
pub fn change_passphrase(path: &Path) -> Result<(), Failure> {
    let key = load(path)?;
    let passphrase = match std::env::var_os(NEW_PASSPHRASE_ENV) {
        Some(value) => Passphrase::new(
            value
                .into_string()
                .map_err(|_| Failure::input(format!("{NEW_PASSPHRASE_ENV} is not valid UTF-8")))?,
        ),
        None if std::io::stdin().is_terminal() => {
            let first =
                rpassword::prompt_password(format!("new passphrase for {}: ", path.display()))
                    .map_err(|e| Failure::input(format!("reading the passphrase: {e}")))?;
            let again = rpassword::prompt_password("same passphrase again: ")
                .map_err(|e| Failure::input(format!("reading the passphrase: {e}")))?;
            let (first, again) = (Passphrase::new(first), Passphrase::new(again));
            if !again.matches(&first) {
                return Err(Failure::input(
                    "the two passphrases differ; nothing was changed",
                ));
            }
            first
        }
        None => {
            return Err(Failure::input(format!(
                "the new passphrase comes from {NEW_PASSPHRASE_ENV} or a terminal"
            )));
        }
    };
    if passphrase.is_empty() {
        return Err(Failure::input(
            "the new passphrase is empty; nothing was changed",
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".new-{}", std::process::id()));
    let staged = dir.join(name);
    key.write_new_encrypted_file(&staged, &passphrase, work_factor())?;
    std::fs::rename(&staged, path).map_err(|e| {
        let _ = std::fs::remove_file(&staged);
        Failure::input(format!("{}: {e}", path.display()))
    })?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Failure::input(format!("{}: {e}", dir.display())))?;
    Ok(())
}
