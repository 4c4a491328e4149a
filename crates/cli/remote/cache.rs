//! The verified copy of a served log kept on this machine, one directory
//! per server URL. It is an ordinary trail log: what `--remote` commands
//! read, after they fetch and verify only the entries it lacks.

use std::path::{Path, PathBuf};
use std::time::Duration;

use trail_core::transparency::check_against_log;
use trail_core::{Arrival, Error, Log, OpenOptions, Problem};

use super::Server;
use crate::Failure;
use crate::progress::Progress;

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

fn open_copy(dir: &Path) -> Result<Log, Failure> {
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

/// Brings the verified copy of the log at `server` up to date and returns
/// its directory. Every entry is verified before it is kept; a server whose
/// log does not extend what was verified before is reported as a fork, and
/// the copy is left as it was.
pub fn sync(server: &Server, cache: Option<&Path>, quiet: bool) -> Result<PathBuf, Failure> {
    let root = match cache {
        Some(root) => root.to_owned(),
        None => default_root()?,
    };
    std::fs::create_dir_all(&root)
        .map_err(|e| Failure::input(format!("{}: {e}", root.display())))?;
    let dir = copy_dir(&root, server.url());
    let log = open_copy(&dir)?;
    let head = server.head()?;
    let mut have = log.tree_size();
    if head.size < have {
        return Err(fork(
            server,
            &dir,
            format!(
                "it now has {} entries, fewer than the {have} verified from it before",
                head.size
            ),
        ));
    }
    let bar = Progress::entries("fetching", Some(head.size), quiet);
    bar.set(have);
    while have < head.size {
        let page = server.entries(have)?;
        if page.is_empty() {
            return Err(Failure::input(format!(
                "{}: the server sent no entries from seq {have}, though its head says {}",
                server.url(),
                head.size
            )));
        }
        match log.append_signed(page, Arrival::Copied) {
            Ok(appended) => have += appended.len() as u64,
            Err(Error::Verify(v))
                if v.seq == have
                    && have > 0
                    && matches!(
                        v.problem,
                        Problem::BrokenLink { .. } | Problem::WrongSeq { .. }
                    ) =>
            {
                return Err(fork(
                    server,
                    &dir,
                    format!(
                        "its entry at seq {have} does not follow the entries verified from it before"
                    ),
                ));
            }
            Err(Error::Verify(v)) => {
                return Err(Failure {
                    code: 1,
                    broken_pipe: false,
                    message: format!(
                        "{}: {v}; nothing after seq {} was kept",
                        server.url(),
                        v.seq.saturating_sub(1)
                    ),
                });
            }
            Err(e) => return Err(e.into()),
        }
        bar.set(have);
    }
    drop(bar);
    // The server's signed checkpoint must be of this very log: signed by an
    // operator key its verified registry holds, with its tree's root.
    check_against_log(&log, head.checkpoint.as_bytes()).map_err(|e| {
        let mut failure = Failure::from(e);
        failure.message = format!(
            "{}: the server's checkpoint: {}",
            server.url(),
            failure.message
        );
        failure
    })?;
    log.keep_checkpoint(head.checkpoint.as_bytes())?;
    Ok(dir)
}

fn fork(server: &Server, dir: &Path, what: String) -> Failure {
    Failure {
        code: 1,
        broken_pipe: false,
        message: format!(
            "{}: the served log does not extend the copy verified from it before: {what}; \
             it was rolled back or forked (the verified copy in {} is kept as it was)",
            server.url(),
            dir.display()
        ),
    }
}
