//! `trail serve --witness`: after accepted batches, a background thread
//! signs a checkpoint of the log, asks the witnesses to cosign it (C2SP
//! tlog-witness) and, once a quorum has, serves and keeps the cosigned one.
//! Appends never wait for it: a slow or absent witness delays cosignatures,
//! not entries.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use trail_core::transparency::{
    Policy, log_operators, log_witnesses, sign_checkpoint_at, verify_checkpoint,
};
use trail_core::witness::collect_cosignatures;

use crate::routes::Shared;

/// Witnesses to ask, and how many must cosign.
#[derive(Clone, Debug, Default)]
pub struct Witnessing {
    /// Their URLs (`POST <url>/add-checkpoint`).
    pub urls: Vec<String>,
    /// How many must cosign before a checkpoint is served as cosigned.
    pub quorum: usize,
}

/// Wakes the cosigning thread.
#[derive(Default)]
pub(crate) struct Wake {
    pending: Mutex<bool>,
    cv: Condvar,
}

impl Wake {
    /// Says the log grew: the thread cosigns its new size when it can.
    pub(crate) fn poke(&self) {
        *self.pending.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.cv.notify_one();
    }

    /// Waits for a poke, or a second; true if there was one.
    fn wait(&self) -> bool {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if !*pending {
            pending = self
                .cv
                .wait_timeout(pending, Duration::from_secs(1))
                .map(|(guard, _)| guard)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        std::mem::replace(&mut *pending, false)
    }
}

/// Runs until the server stops: cosigns each new size it is woken for.
pub(crate) fn run(shared: Arc<Shared>, witnessing: Witnessing) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into();
    let mut post = |url: &str, body: &[u8]| -> Result<(u16, Vec<u8>), String> {
        let target = format!("{}/add-checkpoint", url.trim_end_matches('/'));
        let mut response = agent
            .post(&target)
            .header("Content-Type", "text/plain; charset=utf-8")
            .send(body)
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok((status, body))
    };
    let mut done = 0;
    // After a failed round, wait longer before the next (up to a minute), so
    // that a witness that refuses is not asked again every second.
    let mut backoff = Duration::ZERO;
    let stopping = || shared.shutting_down.load(Ordering::SeqCst);
    while !stopping() {
        shared.wake.wait();
        if stopping() {
            break;
        }
        let Ok(size) = shared.durable_size() else {
            continue;
        };
        if size == done {
            continue;
        }
        match cosign(&shared, &witnessing, size, &mut post) {
            Ok(()) => {
                done = size;
                backoff = Duration::ZERO;
            }
            Err(problem) => {
                tracing::warn!(size, %problem, "witnesses did not cosign");
                backoff = (backoff * 2).clamp(Duration::from_secs(1), Duration::from_secs(60));
                std::thread::sleep(backoff);
                shared.wake.poke();
            }
        }
    }
}

fn cosign(
    shared: &Shared,
    witnessing: &Witnessing,
    size: u64,
    post: &mut trail_core::witness::PostCheckpoint<'_>,
) -> Result<(), String> {
    let log = shared.log();
    let note = sign_checkpoint_at(log, shared.operator_key(), size).map_err(|e| e.to_string())?;
    let collected = collect_cosignatures(log, &note.to_bytes(), &witnessing.urls, post)
        .map_err(|e| e.to_string())?;
    let policy = Policy::new(
        log_operators(log).map_err(|e| e.to_string())?,
        log_witnesses(log).map_err(|e| e.to_string())?,
        witnessing.quorum,
    )
    .map_err(|e| e.to_string())?;
    verify_checkpoint(&collected.note, &policy)
        .map_err(|e| format!("{e}; {}", collected.problems.join("; ")))?;
    let bytes = collected.note.to_bytes();
    // Kept only if it is still the newest: a round for an older size that
    // ends late must not replace a newer kept checkpoint.
    if shared.set_cosigned(size, bytes.clone().into()) {
        log.keep_checkpoint(&bytes).map_err(|e| e.to_string())?;
    }
    tracing::info!(size, "checkpoint cosigned");
    Ok(())
}
