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
