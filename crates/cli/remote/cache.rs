//! The verified copy of a served log kept on this machine, one directory
//! per server URL. It is an ordinary trail log: what `--remote` commands
//! read, after they fetch and verify only the entries it lacks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use trail_core::{Error, Log, OpenOptions};

use super::Server;
use crate::Failure;

/// Where copies are kept when neither --cache nor TRAIL_CACHE says.
fn default_root() -> Result<PathBuf, Failure> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir).join("trail"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("trail")),
        None => Err(Failure::input(
            "no cache directory for the verified copy: set --cache DIR or TRAIL_CACHE",
        )),
    }
}

/// The copy's directory for `url` under `root`: readable, and unique per URL.
fn copy_dir(root: &Path, url: &str) -> PathBuf {
    let readable: String = url
        .split("://")
        .last()
        .unwrap_or(url)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let tag = blake3::hash(url.as_bytes()).to_hex();
    root.join(format!("{readable}-{}", &tag.as_str()[..12]))
}

/// How long a command waits for another command using the same copy.
const COPY_WAIT: Duration = Duration::from_secs(120);

/// Opens the log copied into `dir`, or makes an empty one to copy into.
pub fn open_copy(dir: &Path) -> Result<Log, Failure> {
    let wait = OpenOptions {
        wait: Some(COPY_WAIT),
    };
    match Log::open_with(dir, wait) {
        Ok(log) => Ok(log),
        Err(Error::NotALog { .. }) => match Log::create_copy(dir) {
            Ok(log) => Ok(log),
            // Another command made it first.
            Err(Error::LogExists { .. } | Error::Busy { .. }) => Ok(Log::open_with(dir, wait)?),
            Err(e) => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Brings the verified copy of the log at `server` up to date, from its
/// tiles (`remote::mirror`), and returns its directory. Nothing is kept
/// that does not verify; a server whose log does not extend what was
/// verified before is reported as a fork, with both checkpoints written
/// beside the copy as evidence, and the copy is left as it was.
pub fn sync(server: &Server, cache: Option<&Path>, quiet: bool) -> Result<PathBuf, Failure> {
    let root = match cache {
        Some(root) => root.to_owned(),
        None => default_root()?,
    };
    std::fs::create_dir_all(&root)
        .map_err(|e| Failure::input(format!("{}: {e}", root.display())))?;
    let dir = copy_dir(&root, server.url());
    let log = open_copy(&dir)?;
    let mut evidence = dir.as_os_str().to_owned();
    evidence.push(".fork-evidence.txt");
    let source = super::mirror::Source::Web(server.clone());
    super::mirror::pull(&source, &log, Path::new(&evidence), quiet)?;
    Ok(dir)
}
