//! Group commit: concurrent appends share one flush instead of each waiting
//! for its own.
//!
//! An append registers as in flight before it queues for the writer lock,
//! applies its batch under that lock and takes a ticket; it is acknowledged
//! once a flush that started after its batch was applied has finished. One
//! waiting appender at a time leads a flush (sled's flush makes everything
//! applied before the call durable) and wakes the others.
//!
//! Before flushing, the leader waits, for at most [`GATHER_LIMIT`], until the
//! appends already in flight have applied their batches. That wait is what
//! makes the sharing happen with sled 0.34: its flush holds a lock that every
//! `apply_batch` needs, so an append that arrives during a flush cannot apply
//! until the flush ends, and would otherwise need a flush of its own. A lone
//! appender finds nothing in flight and flushes at once.
//!
//! A failed flush fails every append not yet known to be durable; the caller
//! stops the handle from appending.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a flush leader waits for appends in flight to apply their
/// batches: a few times what staging one append costs, far less than a flush.
const GATHER_LIMIT: Duration = Duration::from_millis(2);

/// Which batches are in flight, applied, and known to be on disk.
pub(super) struct GroupCommit {
    progress: Mutex<Progress>,
    /// Signalled when a batch is applied or given up, and when a flush ends.
    changed: Condvar,
    /// How long a leader waits for appends in flight; [`GATHER_LIMIT`]
    /// except in tests that must not depend on the machine's speed.
    gather_limit: Duration,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            progress: Mutex::default(),
            changed: Condvar::new(),
            gather_limit: GATHER_LIMIT,
        }
    }
}

/// Held by the appender leading a flush: if the flush panics, the others
/// must not wait for it forever, and what it carried is not known durable.
struct Leading<'a>(&'a GroupCommit);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut progress = self.0.lock();
            progress.flushing = false;
            progress.failed = true;
            self.0.changed.notify_all();
        }
    }
}

#[derive(Default)]
struct Progress {
    /// Appends that have begun but not yet applied their batch or failed.
    in_flight: u64,
    /// Batches applied to sled so far; a batch's ticket is this count just
    /// after it was applied.
    applied: u64,
    /// Every batch with a ticket up to this is on disk.
    durable: u64,
    /// Whether some appender is flushing now.
    flushing: bool,
    /// A flush failed: nothing applied after the last good flush is known to
    /// be on disk.
    failed: bool,
}

/// One append between [`GroupCommit::begin`] and its batch being applied;
/// dropping it unapplied (a refused append) takes it out of flight.
pub(super) struct InFlight<'a> {
    commit: &'a GroupCommit,
    done: bool,
}

impl InFlight<'_> {
    /// Records that this append's batch was applied to sled; call it under
    /// the writer lock, right after the batch, so tickets follow the log's
    /// order. Returns the batch's ticket.
    pub(super) fn applied(mut self) -> u64 {
        self.done = true;
        let mut progress = self.commit.lock();
        progress.in_flight -= 1;
        progress.applied += 1;
        self.commit.changed.notify_all();
        progress.applied
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.commit.lock().in_flight -= 1;
            self.commit.changed.notify_all();
        }
    }
}

impl GroupCommit {
    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, progress: MutexGuard<'a, Progress>) -> MutexGuard<'a, Progress> {
        self.changed
            .wait(progress)
            .unwrap_or_else(|p| p.into_inner())
    }

    /// The ticket of the last batch applied so far: waiting for it makes
    /// everything a reader may have seen durable.
    pub(super) fn last_applied(&self) -> u64 {
        self.lock().applied
    }

    /// Registers an append before it queues for the writer lock.
    pub(super) fn begin(&self) -> InFlight<'_> {
        self.lock().in_flight += 1;
        InFlight {
            commit: self,
            done: false,
        }
    }

    /// Returns once the batch holding `ticket` is on disk, leading a flush
    /// with `flush` when no other appender is already doing so. `failed`
    /// makes the error for a batch that an earlier failed flush left unsure.
    pub(super) fn wait_durable<E>(
        &self,
        ticket: u64,
        flush: impl Fn() -> Result<(), E>,
        failed: impl Fn() -> E,
    ) -> Result<(), E> {
        let mut progress = self.lock();
        loop {
            if progress.durable >= ticket {
                return Ok(());
            }
            if progress.failed {
                return Err(failed());
            }
            if progress.flushing {
                progress = self.wait(progress);
                continue;
            }
            progress.flushing = true;
            let leading = Leading(self);
            let gather_until = Instant::now() + self.gather_limit;
            while progress.in_flight > 0 {
                let left = gather_until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                progress = self
                    .changed
                    .wait_timeout(progress, left)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            let target = progress.applied;
            drop(progress);
            let result = flush();
            progress = self.lock();
            progress.flushing = false;
            match &result {
                Ok(()) => progress.durable = progress.durable.max(target),
                Err(_) => progress.failed = true,
            }
            self.changed.notify_all();
            drop(leading);
            result?;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;

    fn counting_flush(flushes: &AtomicU64) -> impl Fn() -> Result<(), ()> + '_ {
        || {
            flushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[test]
    fn a_ticket_waits_for_a_flush_that_started_after_it() {
        let commit = GroupCommit::default();
        let flushes = AtomicU64::new(0);
        let first = commit.begin().applied();
        commit
            .wait_durable(first, counting_flush(&flushes), || ())
            .unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 1);
        // Already durable: no second flush.
        commit
            .wait_durable(first, counting_flush(&flushes), || ())
            .unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 1);
        let second = commit.begin().applied();
        commit
            .wait_durable(second, counting_flush(&flushes), || ())
            .unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 2);
    }

    /// A group commit whose leader waits as long as it takes for appends in
    /// flight, so the tests do not depend on how fast threads get scheduled.
    fn patient() -> GroupCommit {
        GroupCommit {
            gather_limit: Duration::from_secs(60),
            ..GroupCommit::default()
        }
    }

    #[test]
    fn a_refused_append_leaves_flight_and_delays_nobody() {
        let commit = patient();
        drop(commit.begin());
        assert_eq!(commit.lock().in_flight, 0);
        let ticket = commit.begin().applied();
        let started = Instant::now();
        commit.wait_durable(ticket, || Ok(()), || ()).unwrap();
        // Had the refused append stayed in flight, the leader would have
        // waited the whole minute for it.
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn a_leader_waits_for_appends_in_flight_then_flushes_them_too() {
        let commit = patient();
        let flushes = AtomicU64::new(0);
        let first = commit.begin().applied();
        let second = commit.begin();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(Duration::from_millis(5));
                second.applied()
            });
            commit
                .wait_durable(first, counting_flush(&flushes), || ())
                .unwrap();
        });
        // One flush covered both batches.
        assert_eq!(commit.lock().durable, 2);
        assert_eq!(flushes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_batch_applied_during_a_flush_waits_for_the_next_one() {
        let commit = GroupCommit::default();
        let flushes = AtomicU64::new(0);
        let late = std::sync::OnceLock::new();
        let first = commit.begin().applied();
        commit
            .wait_durable(
                first,
                || -> Result<(), ()> {
                    flushes.fetch_add(1, Ordering::SeqCst);
                    // Applied while this flush is under way: it may have
                    // missed the flush, so this flush must not cover it.
                    late.get_or_init(|| commit.begin().applied());
                    Ok(())
                },
                || (),
            )
            .unwrap();
        let late = *late.get().unwrap();
        assert_eq!(commit.lock().durable, first);
        commit
            .wait_durable(late, counting_flush(&flushes), || ())
            .unwrap();
        assert_eq!(flushes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_panicking_flush_leaves_no_one_waiting_for_it() {
        let commit = GroupCommit::default();
        let first = commit.begin().applied();
        let second = commit.begin().applied();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            commit.wait_durable(
                first,
                || -> Result<(), &str> { panic!("flush") },
                || "failed",
            )
        }));
        assert!(panicked.is_err());
        // Not left flushing: the next waiter is answered at once, and what
        // the panicked flush might have carried is not reported durable.
        assert_eq!(
            commit.wait_durable(second, || Ok(()), || "failed"),
            Err("failed")
        );
    }

    #[test]
    fn a_failed_flush_fails_everything_not_yet_durable() {
        let commit = GroupCommit::default();
        let ok = commit.begin().applied();
        commit
            .wait_durable(ok, || Ok::<(), &str>(()), || "failed before")
            .unwrap();
        let lost = commit.begin().applied();
        let later = commit.begin().applied();
        assert_eq!(
            commit.wait_durable(lost, || Err("disk full"), || "failed before"),
            Err("disk full")
        );
        // A later batch is not acknowledged by a flush that might work now.
        assert_eq!(
            commit.wait_durable(later, || Ok(()), || "failed before"),
            Err("failed before")
        );
        // What was durable stays durable.
        assert_eq!(commit.wait_durable(ok, || Err("x"), || "y"), Ok(()));
    }

    #[test]
    fn concurrent_appenders_share_flushes_and_all_become_durable() {
        let commit = Arc::new(GroupCommit::default());
        let flushes = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let commit = Arc::clone(&commit);
                let flushes = Arc::clone(&flushes);
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let ticket = commit.begin().applied();
                        let flush = || -> Result<(), ()> {
                            flushes.fetch_add(1, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(1));
                            Ok(())
                        };
                        commit.wait_durable(ticket, flush, || ()).unwrap();
                        assert!(commit.lock().durable >= ticket);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let progress = commit.lock();
        assert_eq!((progress.applied, progress.durable), (200, 200));
        // Four appenders whose flushes take 1 ms share most of them.
        assert!(flushes.load(Ordering::SeqCst) < 200);
    }
}
