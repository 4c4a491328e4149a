//! Group commit: concurrent appends share one sync instead of each waiting
//! for its own, and a sync overlaps the work appends do after writing their
//! frames.
//!
//! A writer's log has one syncing thread. An append writes its frames under
//! the writer lock and takes a ticket at once ([`Syncer::written`]); then,
//! still under the lock, it applies its sled batch (derived data, which a
//! crash may lose), and then waits until a sync that began after its ticket
//! has finished. The thread syncs whenever tickets are waiting: an
//! fdatasync of the segment files, then the durable record. So the sync of
//! an append runs while that append applies its derived rows, and appends
//! that write frames during a sync are all carried by the next one.
//!
//! A failed sync fails every append not yet known to be durable, and every
//! later one: what reached the disk is then unknown, and the handle must be
//! reopened.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

#[derive(Default)]
struct Progress {
    /// Tickets handed out: appends whose frames are written.
    written: u64,
    /// Tickets whose frames a finished sync made durable.
    durable: u64,
    /// Why a sync failed, once one has.
    failed: Option<String>,
    stop: bool,
}

#[derive(Default)]
struct Shared {
    progress: Mutex<Progress>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait<'a>(&self, progress: MutexGuard<'a, Progress>) -> MutexGuard<'a, Progress> {
        self.changed
            .wait(progress)
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// The syncing thread of a writer's log, and what it has made durable.
pub(super) struct Syncer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Syncer {
    /// Starts the thread; `sync` makes every frame written so far durable.
    pub(super) fn start(
        sync: impl Fn() -> Result<(), String> + Send + 'static,
    ) -> std::io::Result<Syncer> {
        let shared = Arc::new(Shared::default());
        let inner = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("trail-sync".into())
            .spawn(move || run(&inner, &sync))?;
        Ok(Syncer {
            shared,
            thread: Some(thread),
        })
    }

    /// Takes the ticket of frames just written, and wakes the thread.
    pub(super) fn written(&self) -> u64 {
        let mut progress = self.shared.lock();
        progress.written += 1;
        self.shared.changed.notify_all();
        progress.written
    }

    /// The last ticket handed out.
    pub(super) fn last_written(&self) -> u64 {
        self.shared.lock().written
    }

    /// Returns once `ticket`'s frames are durable, or why they may not be.
    pub(super) fn wait_durable(&self, ticket: u64) -> Result<(), String> {
        let mut progress = self.shared.lock();
        loop {
            if progress.durable >= ticket {
                return Ok(());
            }
            if let Some(failed) = &progress.failed {
                return Err(failed.clone());
            }
            progress = self.shared.wait(progress);
        }
    }

    /// Why a sync failed, if one has.
    pub(super) fn failure(&self) -> Option<String> {
        self.shared.lock().failed.clone()
    }
}

fn run(shared: &Shared, sync: &dyn Fn() -> Result<(), String>) {
    let mut progress = shared.lock();
    loop {
        while progress.written == progress.durable && !progress.stop {
            progress = shared.wait(progress);
        }
        if progress.written == progress.durable || progress.failed.is_some() {
            return;
        }
        let target = progress.written;
        drop(progress);
        // A panic in the sync must not leave appends waiting for it forever.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(sync))
            .unwrap_or_else(|_| Err("the sync panicked".into()));
        progress = shared.lock();
        match result {
            Ok(()) => progress.durable = target,
            Err(e) => progress.failed = Some(e),
        }
        shared.changed.notify_all();
        if progress.failed.is_some() {
            return;
        }
    }
}

impl Drop for Syncer {
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    fn counting(syncs: &Arc<AtomicU64>, pause: Duration) -> Syncer {
        let syncs = Arc::clone(syncs);
        Syncer::start(move || {
            std::thread::sleep(pause);
            syncs.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .unwrap()
    }

    #[test]
    fn a_ticket_is_durable_once_a_sync_after_it_finishes() {
        let syncs = Arc::new(AtomicU64::new(0));
        let syncer = counting(&syncs, Duration::ZERO);
        let first = syncer.written();
        syncer.wait_durable(first).unwrap();
        assert!(syncs.load(Ordering::SeqCst) >= 1);
        // Already durable: answered without another sync.
        let before = syncs.load(Ordering::SeqCst);
        syncer.wait_durable(first).unwrap();
        assert_eq!(syncs.load(Ordering::SeqCst), before);
        let second = syncer.written();
        syncer.wait_durable(second).unwrap();
        assert!(syncs.load(Ordering::SeqCst) > before);
    }

    #[test]
    fn frames_written_during_a_sync_wait_for_the_next_one() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Mutex::new(rx);
        let syncs = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&syncs);
        let syncer = Syncer::start(move || {
            // The first sync waits until the test has written its second
            // ticket: that ticket must not count as carried by it.
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                rx.lock().unwrap().recv().unwrap();
            }
            Ok(())
        })
        .unwrap();
        let first = syncer.written();
        while syncs.load(Ordering::SeqCst) == 0 {
            std::thread::yield_now();
        }
        let late = syncer.written();
        tx.send(()).unwrap();
        syncer.wait_durable(first).unwrap();
        syncer.wait_durable(late).unwrap();
        assert_eq!(
            syncs.load(Ordering::SeqCst),
            2,
            "the late ticket had a sync of its own"
        );
    }

    #[test]
    fn a_failed_sync_fails_everything_not_yet_durable() {
        let calls = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&calls);
        let syncer = Syncer::start(move || match counted.fetch_add(1, Ordering::SeqCst) {
            0 => Ok(()),
            _ => Err("disk full".into()),
        })
        .unwrap();
        let ok = syncer.written();
        syncer.wait_durable(ok).unwrap();
        let lost = syncer.written();
        assert_eq!(syncer.wait_durable(lost), Err("disk full".into()));
        // A later ticket is never acknowledged, and what was durable stays so.
        let later = syncer.written();
        assert_eq!(syncer.wait_durable(later), Err("disk full".into()));
        assert_eq!(syncer.wait_durable(ok), Ok(()));
        assert_eq!(syncer.failure().as_deref(), Some("disk full"));
    }

    #[test]
    fn a_panicking_sync_leaves_no_one_waiting_for_it() {
        let syncer = Syncer::start(|| panic!("sync")).unwrap();
        let ticket = syncer.written();
        assert_eq!(syncer.wait_durable(ticket), Err("the sync panicked".into()));
    }

    #[test]
    fn concurrent_appenders_share_syncs_and_all_become_durable() {
        let syncs = Arc::new(AtomicU64::new(0));
        let syncer = Arc::new(counting(&syncs, Duration::from_millis(1)));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let syncer = Arc::clone(&syncer);
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let ticket = syncer.written();
                        syncer.wait_durable(ticket).unwrap();
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(syncer.last_written(), 200);
        // Four appenders whose syncs take 1 ms share most of them.
        assert!(syncs.load(Ordering::SeqCst) < 200);
    }
}
