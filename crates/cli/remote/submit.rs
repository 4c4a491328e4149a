//! Appending to a served log: sign here against the verified copy, send,
//! and on a 409 fetch what is new, check again, sign again and retry.

use std::path::{Path, PathBuf};
use std::time::Duration;

use trail_core::transparency::{Policy, current_operators, verify_inclusion};
use trail_core::{AppendOptions, Appended, Event, Log, OpenOptions, SecretKey, Timestamp};

use super::http::Refusal;
use super::{Server, sync};
use crate::Failure;

/// How many times a batch is signed and sent before giving up on a log
/// that keeps moving on. Generous: with eight writers racing, a writer can
/// lose eight races in a row (measured in tests/serve_concurrency.rs).
const ATTEMPTS: u32 = 24;

/// Why a remote append failed.
pub enum Submitted {
    /// The events were refused here, before anything was sent.
    Refused(trail_core::Error),
    /// Anything else: the server refused, could not be reached, or lied.
    Failed(Failure),
}

impl From<Failure> for Submitted {
    fn from(f: Failure) -> Self {
        Submitted::Failed(f)
    }
}

/// Signs `events` with `key` as the next entries of the log at `server`
/// and appends them there, all or nothing. Returns once the server has
/// acknowledged them with receipts that verify against the operator keys of
/// the verified copy; writes each receipt if asked to.
pub fn append(
    server: &Server,
    cache: Option<&Path>,
    key: &SecretKey,
    events: Vec<Event>,
    options: AppendOptions,
    receipt: Option<&Path>,
) -> Result<Vec<Appended>, Submitted> {
    for attempt in 1..=ATTEMPTS {
        let dir = sync(server, cache, true)?;
        let log = Log::open_with(
            &dir,
            OpenOptions {
                wait: Some(Duration::from_secs(120)),
            },
        )
        .map_err(|e| Submitted::Failed(e.into()))?;
        // The log's clock decides recorded times; a clock a little behind
        // the head's would be refused, so it is taken up to the head's.
        let now = Timestamp::now().max(log.head().map_or(Timestamp::now(), |h| h.recorded_at));
        let entries = log
            .sign_next(key, events.clone(), now, options)
            .map_err(Submitted::Refused)?;
        // A receipt must be signed by a key that holds the operator role now.
        let operators = current_operators(&log).map_err(|e| Submitted::Failed(e.into()))?;
        drop(log);
        match send(server, &entries, options.allow_future_dates) {
            Ok(accepted) => return check_receipts(server, &entries, accepted, operators, receipt),
            Err(Refusal::HeadMoved) => pause(attempt),
            Err(Refusal::Other(f) | Refusal::Transport(f)) => return Err(Submitted::Failed(f)),
        }
    }
    Err(Submitted::Failed(Failure::input(format!(
        "{}: the log kept moving on while these entries were signed; gave up after {ATTEMPTS} attempts",
        server.url()
    ))))
}

/// Sends one signed batch; when the answer is lost on the way (a dropped
/// connection, a timeout), sends the same bytes again a few times: the
/// server may have appended them, and then answers a resend with the same
/// receipts instead of appending twice.
fn send(
    server: &Server,
    entries: &[Vec<u8>],
    allow_future_dates: bool,
) -> Result<Vec<super::http::Accepted>, Refusal> {
    let mut tries = 0;
    loop {
        match server.add_entries(entries, allow_future_dates) {
            Err(Refusal::Transport(_)) if tries < RESENDS => {
                tries += 1;
                pause(tries);
            }
            other => return other,
        }
    }
}

/// How many times a batch whose answer was lost is sent again.
const RESENDS: u32 = 3;

/// Waits before the next attempt: longer each time, and not in step with
/// the other writers that lost the same race.
fn pause(attempt: u32) {
    let seed = blake3::hash(
        format!("{}{:?}", std::process::id(), std::time::SystemTime::now()).as_bytes(),
    );
    let jitter = u64::from(seed.as_bytes()[0]) * 2;
    let base = 20u64 << attempt.min(5);
    std::thread::sleep(Duration::from_millis(base + jitter));
}

fn check_receipts(
    server: &Server,
    entries: &[Vec<u8>],
    accepted: Vec<super::http::Accepted>,
    operators: Vec<trail_core::merkle::NoteVerifier>,
    receipt: Option<&Path>,
) -> Result<Vec<Appended>, Submitted> {
    let lied = |what: String| {
        Submitted::Failed(Failure {
            code: 1,
            broken_pipe: false,
            message: format!("{}: {what}", server.url()),
        })
    };
    if accepted.len() != entries.len() {
        return Err(lied(format!(
            "acknowledged {} entries of the {} sent",
            accepted.len(),
            entries.len()
        )));
    }
    let policy = Policy::new(operators, Vec::new(), 0).map_err(|e| Submitted::Failed(e.into()))?;
    let mut appended = Vec::with_capacity(entries.len());
    for (bytes, a) in entries.iter().zip(&accepted) {
        let proven = verify_inclusion(a.receipt.as_bytes(), Some(bytes), &policy).map_err(|e| {
            lied(format!(
                "the receipt for seq {} does not verify: {e}",
                a.seq
            ))
        })?;
        let hash = trail_core::entry_hash(bytes);
        if proven.entry.unsigned.seq != a.seq || a.hash != hash.to_string() {
            return Err(lied(format!(
                "the answer for seq {} names another entry than the one sent",
                a.seq
            )));
        }
        appended.push(Appended { seq: a.seq, hash });
    }
    if let Some(path) = receipt {
        for a in &accepted {
            let file = receipt_path(path, a.seq, accepted.len());
            std::fs::write(&file, &a.receipt)
                .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
        }
    }
    Ok(appended)
}

/// The receipt file of one entry: FILE itself for a single entry, FILE.SEQ for each of several.
fn receipt_path(path: &Path, seq: u64, count: usize) -> PathBuf {
    if count == 1 {
        return path.to_owned();
    }
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{seq}"));
    PathBuf::from(name)
}
