//! The log on disk: one sled directory per log.
//!
//! Everything lives in one sled tree, under key prefixes, so that each append
//! (entry, head and registry rows) is a single atomic sled batch, and is
//! flushed to disk before the append returns. sled's own file lock keeps a
//! second process out; within a process, appends are serialised by a mutex,
//! and concurrent appends share flushes (group commit, `commit.rs`).
//!
//! Keys: `m:format`, `m:head`, `m:checkpoint` (the latest signed checkpoint),
//! `e:` + seq (big-endian u64) for entries, and
//! `k:` / `a:` / `p:` / `r:` / `s:` + id for registry rows (keys, actors,
//! reports, recommendations, successions), which are derived from the entries
//! so that an append need not re-read the log. `t:` + level + index hold the
//! Merkle tree over the entries (see `tree.rs`), written in the same
//! batch as the entries, so the tree is always exactly the log.
//!
//! Beside sled's files, a `TRAIL_LOG` marker file says the directory is a
//! trail log; it is checked before sled opens anything, because sled rewrites
//! files it does not recognise. Replay snapshots are files in a `snapshots/`
//! folder beside sled's (see `snapshot.rs`), outside the append batch: they
//! are derived data and can always be rebuilt.
//!
//! The folder: this file opens, appends and verifies; `commit.rs` shares
//! flushes between appenders; `submit.rs` takes entries signed elsewhere;
//! `tree.rs` keeps the Merkle nodes and `tiles.rs` reads tiles from them;
//! `index.rs` keeps the query indexes, `select.rs` folds one
//! recommendation's entries from them and `search.rs` the search text;
//! `snapshot.rs` keeps replay snapshots.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::authority::{Authority, History, KeyInfo, RecRecord, Row, SuccessionInfo};
use crate::clock::AppendOptions;
use crate::encoding::{self, decode_record, encode_record};
use crate::entry::{Entry, UnsignedEntry};
use crate::error::{Damage, Error, Result};
use crate::event::{Event, EventKind};
use crate::keys::SecretKey;
use crate::merkle::hash::Hash;
use crate::merkle::tree::{self as merkle_tree, LeafIndex, TreeSize};
use crate::transparency_error::TransparencyError;
use crate::types::{EntryHash, Id, PublicKey, Timestamp};
use crate::verify::{Prepared, Problem, VerifiedEntry, Verifier, VerifyError};

mod commit;
mod index;
#[cfg(test)]
mod registry_tests;
mod repair;
mod search;
mod select;
mod snapshot;
mod submit;
#[cfg(test)]
mod testlog;
mod tiles;
mod tree;
pub use index::Index;
pub use repair::Repaired;
pub use search::SearchHit;
pub use select::RecSelection;
pub use snapshot::{Cut, SnapshotOptions};
pub use submit::{Arrival, MAX_CLOCK_SKEW, SignedBatch};
pub use tiles::TreeExtension;
pub(crate) use tree::Frontier;
#[cfg(test)]
pub(crate) use tree::node_key;
use tree::{PendingNodes, SledNodes, tree_error};

const FORMAT_KEY: &[u8] = b"m:format";
/// A file that marks a directory as a trail log. It is checked before sled
/// opens anything, because sled rewrites files it does not recognise.
const MARKER_FILE: &str = "TRAIL_LOG";
const MARKER_TEXT: &str = "trail log v1\n";
const FORMAT_VALUE: &[u8] = b"trail log v1";
const HEAD_KEY: &[u8] = b"m:head";
/// Which encoding the registry rows use. Version 2 keeps each key's dated
/// grants and revocation (the one registry replay also folds); a log whose
/// rows predate it has them rebuilt from its entries on open.
pub(crate) const REGISTRY_FORMAT_KEY: &[u8] = b"m:registry";
const REGISTRY_FORMAT_VALUE: &[u8] = b"trail registry 2";
const CHECKPOINT_KEY: &[u8] = b"m:checkpoint";
/// The last entry of the prefix this library has verified in full (as a
/// head record): see `select.rs`.
pub(crate) const VERIFIED_KEY: &[u8] = b"m:verified";
/// When the whole log was last verified from its genesis, and the seq it
/// reached: what a server's banner tells its readers.
const WHOLE_KEY: &[u8] = b"m:verified-whole";
pub(crate) const ENTRY_PREFIX: &[u8] = b"e:";
/// sled's page cache. Its default (1 GiB) let a query on a large log grow
/// past a gigabyte of memory; reads go through the OS page cache anyway.
const CACHE_BYTES: u64 = 64 * 1024 * 1024;
/// Entries read per verification chunk: enough for parallel batch checks,
/// small enough to keep memory flat.
const CHUNK: usize = 4096;

/// The last entry of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: EntryHash,
    /// When it was recorded.
    pub recorded_at: Timestamp,
}

/// Where a new entry landed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Appended {
    /// Its seq.
    pub seq: u64,
    /// Its hash.
    pub hash: EntryHash,
}

/// How a new log begins ([`Log::create_with`]): what its genesis entry says,
/// and when it is recorded.
#[derive(Clone, Debug)]
pub struct NewLog {
    /// The log's name.
    pub name: String,
    /// The administrator's actor id.
    pub actor: Id,
    /// The administrator's organisation.
    pub body: String,
    /// The checkpoint origin (a schema-less URL prefix such as
    /// `watchdog.example.org/linden`), or `None` for `trail/<genesis hash>`.
    pub origin: Option<String>,
    /// When the genesis is recorded, or `None` for now; the log keeps this
    /// clock ([`Log::set_clock`]).
    pub recorded_at: Option<Timestamp>,
}

/// How long [`Log::open`] retries a locked log. A lock can outlive its
/// holder for a moment (a process forked by another thread inherits the
/// locked file until it execs), and a reader should not fail on that.
pub const BRIEF_WAIT: Duration = Duration::from_secs(1);

/// How to open a log.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenOptions {
    /// How long to keep retrying while another process holds the log.
    pub wait: Option<Duration>,
}

struct WriterState {
    head: Option<Head>,
    /// The registry as of the head, read from its rows when first needed:
    /// a read-only command never needs it, and on a large log reading it
    /// costs more than the query (docs/PERFORMANCE.md, section 10).
    authority: Option<Authority>,
    /// Whether the whole log up to `head` is known verified (the store's
    /// verification record names the head); appends then extend the record.
    verified: bool,
}

/// An open log.
pub struct Log {
    path: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) tree: sled::Tree,
    state: Mutex<WriterState>,
    /// Set when a flush fails: what is on disk is then unknown.
    flush_failed: std::sync::atomic::AtomicBool,
    /// Shares flushes between concurrent appenders.
    group_commit: commit::GroupCommit,
    /// The time appends record; `None` is the system clock.
    clock: Mutex<Option<Timestamp>>,
    /// The index rows' signer lookup while verified entries are imported.
    importing: Mutex<index::Indexer>,
    /// Held while a query verifies the whole log for want of a verification
    /// record, so that concurrent queries wait for one verification.
    verifying: Mutex<()>,
}

pub(crate) fn entry_key(seq: u64) -> Vec<u8> {
    let mut key = ENTRY_PREFIX.to_vec();
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

fn row_key(row: &Row) -> Vec<u8> {
    let (prefix, id): (&[u8], &[u8]) = match row {
        Row::Key(k) => (b"k:", &k.0),
        Row::Actor(a) => (b"a:", a.as_str().as_bytes()),
        Row::Report(r) => (b"p:", r.as_str().as_bytes()),
        Row::Rec(r) => (b"r:", r.as_str().as_bytes()),
        Row::Succession(a) => (b"s:", a.as_str().as_bytes()),
    };
    [prefix, id].concat()
}

fn row_value(authority: &Authority, row: &Row) -> Vec<u8> {
    match row {
        Row::Key(k) => authority.keys.get(k).map(encode_record),
        Row::Actor(a) => authority.actors.get(a).map(encode_record),
        Row::Report(_) => Some(Vec::new()),
        Row::Rec(r) => authority.recs.get(r).map(encode_record),
        Row::Succession(a) => authority.successions.get(a).map(encode_record),
    }
    .unwrap_or_default()
}

/// Says in `batch` which layout the store, its registry rows and its
/// indexes are in: this version's, for a store this version filled.
fn mark_formats(batch: &mut sled::Batch) {
    batch.insert(FORMAT_KEY, FORMAT_VALUE);
    batch.insert(REGISTRY_FORMAT_KEY, REGISTRY_FORMAT_VALUE);
    batch.insert(index::INDEX_FORMAT_KEY, index::INDEX_FORMAT_VALUE);
}

/// Every row of a registry.
fn all_rows(a: &Authority) -> Vec<Row> {
    a.keys
        .keys()
        .map(|k| Row::Key(*k))
        .chain(a.actors.keys().map(|k| Row::Actor(k.clone())))
        .chain(a.reports.iter().map(|k| Row::Report(k.clone())))
        .chain(a.recs.keys().map(|k| Row::Rec(k.clone())))
        .chain(a.successions.keys().map(|k| Row::Succession(k.clone())))
        .collect()
}

fn encode_head(head: &Head) -> Vec<u8> {
    encode_record(&(head.seq, head.hash, head.recorded_at))
}

fn decode_head(bytes: &[u8]) -> Result<Head> {
    let (seq, hash, recorded_at) = decode_record(bytes).map_err(|e| Damage::Record {
        what: "head record",
        reason: e.to_string(),
    })?;
    Ok(Head {
        seq,
        hash,
        recorded_at,
    })
}

impl Log {
    pub(crate) fn store_error(&self, e: sled::Error) -> Error {
        store_error(&self.path, e)
    }

    /// Creates a new log in `dir` (which must not hold one) with a signed genesis entry.
    pub fn create(dir: &Path, name: &str, admin: &SecretKey, actor: Id, body: &str) -> Result<Log> {
        let new = NewLog {
            name: name.to_owned(),
            actor,
            body: body.to_owned(),
            origin: None,
            recorded_at: None,
        };
        Log::create_with(dir, admin, new)
    }

    /// Creates a new log in `dir` (which must not hold one) whose genesis,
    /// signed by `admin`, says what `new` says.
    pub fn create_with(dir: &Path, admin: &SecretKey, new: NewLog) -> Result<Log> {
        let NewLog {
            name,
            actor,
            body,
            origin,
            recorded_at: at,
        } = new;
        if dir.join(MARKER_FILE).exists() || dir.join("db").exists() || dir.join("conf").exists() {
            return Err(Error::LogExists {
                path: dir.to_owned(),
            });
        }
        let genesis = Event::LogCreated(crate::event::LogCreated {
            name,
            actor,
            body,
            public_key: admin.public_key(),
            date: crate::types::Day::of_timestamp(at.unwrap_or_else(Timestamp::now)),
            origin,
        });
        // Validate before creating anything, so a bad name leaves no directory behind.
        genesis.validate()?;
        let log = Log::create_empty(dir)?;
        log.set_clock(at);
        let mut batch = sled::Batch::default();
        mark_formats(&mut batch);
        log.tree
            .apply_batch(batch)
            .map_err(|e| log.store_error(e))?;
        log.append(admin, genesis)?;
        // sled syncs its files, not the names in the directory, nor the new
        // directory's name in its parent.
        sync_dir(dir)?;
        sync_dir(parent_dir(dir))?;
        Ok(log)
    }

    /// Opens an existing log, waiting at most [`BRIEF_WAIT`] for another
    /// process to let go before reporting that the log is busy.
    pub fn open(dir: &Path) -> Result<Log> {
        Log::open_with(
            dir,
            OpenOptions {
                wait: Some(BRIEF_WAIT),
            },
        )
    }

    /// Opens an existing log, waiting for another process to let go if asked to.
    pub fn open_with(dir: &Path, options: OpenOptions) -> Result<Log> {
        let marked = std::fs::read_to_string(dir.join(MARKER_FILE)).is_ok_and(|m| m == MARKER_TEXT);
        if !marked || !dir.join("db").is_file() || !dir.join("conf").is_file() {
            return Err(Error::NotALog {
                path: dir.to_owned(),
            });
        }
        let log = Log::open_db(dir, options)?;
        if log
            .tree
            .get(FORMAT_KEY)
            .map_err(|e| log.store_error(e))?
            .as_deref()
            != Some(FORMAT_VALUE)
        {
            return Err(Error::NotALog {
                path: dir.to_owned(),
            });
        }
        let head = match log.tree.get(HEAD_KEY).map_err(|e| log.store_error(e))? {
            Some(bytes) => Some(decode_head(&bytes)?),
            None => None,
        };
        let mut tree_rebuilt = false;
        if let Some(head) = head {
            tree_rebuilt = tree::rebuild_if_missing(&log.tree, &log.db, &log.path, head.seq)?;
        }
        // A log written before the indexes were kept gets them now, and one
        // whose registry rows are of an older encoding gets them rewritten.
        if !log.indexes_present()? {
            log.rebuild_indexes()?;
        }
        if log
            .tree
            .get(REGISTRY_FORMAT_KEY)
            .map_err(|e| log.store_error(e))?
            .as_deref()
            != Some(REGISTRY_FORMAT_VALUE)
        {
            log.rebuild_registry_rows()?;
        }
        // A tree just rebuilt from the stored entries would vouch for them
        // whatever they now hold: only a full verification may say so.
        if tree_rebuilt {
            log.tree
                .remove(VERIFIED_KEY)
                .map_err(|e| log.store_error(e))?;
        }
        let verified = match (
            head,
            log.tree.get(VERIFIED_KEY).map_err(|e| log.store_error(e))?,
        ) {
            (None, _) => true,
            (Some(head), Some(bytes)) => decode_head(&bytes).is_ok_and(|v| v == head),
            (Some(_), None) => false,
        };
        *log.state.lock().unwrap_or_else(|p| p.into_inner()) = WriterState {
            head,
            authority: None,
            verified,
        };
        Ok(log)
    }

    fn open_db(dir: &Path, options: OpenOptions) -> Result<Log> {
        let started = Instant::now();
        let mut snapshots_cleaned = false;
        let db = loop {
            // No background flusher: every append flushes itself, and without
            // the flusher thread the file lock is released as soon as the Log drops.
            let config = sled::Config::new()
                .path(dir)
                .flush_every_ms(None)
                .cache_capacity(CACHE_BYTES);
            match config.open() {
                Ok(db) => break db,
                Err(e) if is_lock_error(&e) => {
                    let waited_enough = options.wait.is_none_or(|w| started.elapsed() >= w);
                    if waited_enough {
                        return Err(Error::Busy {
                            path: dir.to_owned(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                // sled held the lock when it found the corruption, so no
                // other process is writing a snapshot: a leftover one is stale.
                Err(sled::Error::Corruption { .. })
                    if !snapshots_cleaned && remove_unfinished_snapshots(dir) =>
                {
                    snapshots_cleaned = true;
                }
                Err(e) => return Err(store_error(dir, e)),
            }
        };
        let tree = db.open_tree("trail").map_err(|e| store_error(dir, e))?;
        Ok(Log {
            path: dir.to_owned(),
            db,
            tree,
            state: Mutex::new(WriterState {
                head: None,
                authority: Some(Authority::default()),
                verified: true,
            }),
            flush_failed: std::sync::atomic::AtomicBool::new(false),
            group_commit: commit::GroupCommit::default(),
            clock: Mutex::new(None),
            importing: Mutex::new(index::Indexer::new()),
            verifying: Mutex::new(()),
        })
    }

    fn load_authority(&self) -> Result<Authority> {
        let mut authority = Authority::default();
        let corrupt = |what: &'static str, e: encoding::DecodeFailure| Damage::Record {
            what,
            reason: e.to_string(),
        };
        for prefix in [b"k:", b"a:", b"p:", b"r:", b"s:"] {
            for item in self.tree.scan_prefix(prefix) {
                let (key, value) = item.map_err(|e| self.store_error(e))?;
                let id = &key[2..];
                let text_id = || {
                    std::str::from_utf8(id)
                        .ok()
                        .and_then(|s| Id::new(s).ok())
                        .ok_or_else(|| Damage::Record {
                            what: "registry row",
                            reason: "its id is not valid".into(),
                        })
                };
                match prefix {
                    b"k:" => {
                        let pk = PublicKey(id.try_into().map_err(|_| Damage::Record {
                            what: "key row",
                            reason: "its key is not 32 bytes".into(),
                        })?);
                        let record: KeyInfo =
                            decode_record(&value).map_err(|e| corrupt("key", e))?;
                        authority.keys.insert(pk, record);
                    }
                    b"a:" => {
                        let body: String =
                            decode_record(&value).map_err(|e| corrupt("actor", e))?;
                        authority.actors.insert(text_id()?, body);
                    }
                    b"p:" => {
                        authority.reports.insert(text_id()?);
                    }
                    b"r:" => {
                        let record: RecRecord =
                            decode_record(&value).map_err(|e| corrupt("rec", e))?;
                        authority.recs.insert(text_id()?, record);
                    }
                    _ => {
                        let record: SuccessionInfo =
                            decode_record(&value).map_err(|e| corrupt("succession", e))?;
                        authority.successions.insert(text_id()?, record);
                    }
                }
            }
        }
        Ok(authority)
    }

    /// The log directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last entry, if the log has any.
    pub fn head(&self) -> Option<Head> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).head
    }

    /// The registry of keys and recommendations as of the head.
    pub fn authority(&self) -> Result<Authority> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(self.authority_in(&mut state)?.clone())
    }

    /// The registry in `state`, read from the store's rows the first time.
    fn authority_in<'a>(&self, state: &'a mut WriterState) -> Result<&'a mut Authority> {
        if state.authority.is_none() {
            state.authority = Some(self.load_authority()?);
        }
        Ok(state.authority.get_or_insert_with(Authority::default))
    }

    /// Sets the time the next appends on this handle record: `Some` for a
    /// chosen instant (a demo, a test, backfilling a record with the times
    /// its statements were made), `None` for the system clock. The clock
    /// rules still hold: a time before the head's is refused.
    pub fn set_clock(&self, at: Option<Timestamp>) {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = at;
    }

    /// The time an append made now records.
    fn now(&self) -> Timestamp {
        self.clock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(Timestamp::now)
    }

    /// Looks something up in the registry as of the head, without copying it.
    pub fn with_authority<R>(&self, f: impl FnOnce(&Authority) -> R) -> Result<R> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(self.authority_in(&mut state)?))
    }

    /// Appends one event signed by `key`; returns once it is on disk.
    pub fn append(&self, key: &SecretKey, event: Event) -> Result<Appended> {
        let mut appended = self.append_all(key, vec![event])?;
        appended.pop().ok_or(Error::EmptyBatch)
    }

    /// Appends several events signed by `key`, all or nothing, with one flush.
    pub fn append_all(&self, key: &SecretKey, events: Vec<Event>) -> Result<Vec<Appended>> {
        self.append_all_with(key, events, AppendOptions::default())
    }

    /// Appends several events signed by `key`, all or nothing, under the
    /// clock rules (`clock.rs`: no going back in time, no effective date far
    /// in the future) as relaxed by `options`.
    pub fn append_all_with(
        &self,
        key: &SecretKey,
        events: Vec<Event>,
        options: AppendOptions,
    ) -> Result<Vec<Appended>> {
        self.write_batch(|authority, head, now| {
            if let Some(head) = head
                && now < head.recorded_at
            {
                return Err(Error::ClockBehind {
                    head: head.recorded_at.to_string(),
                    requested: now.to_string(),
                });
            }
            crate::clock::check_dates(&events, now, options)?;
            let mut staged = Staged::new(self, head, events.len());
            for event in events {
                staged.sign_and_record(authority, key, event, now)?;
            }
            staged.finish(authority)
        })
    }

    /// Signs `events` with `key` as the entries that would follow the head
    /// now, checking them as an append would, and returns their canonical
    /// bytes; writes nothing. This is how a client of a served log signs on
    /// its own machine against its verified copy of the log.
    pub fn sign_next(
        &self,
        key: &SecretKey,
        events: Vec<Event>,
        recorded_at: Timestamp,
        options: AppendOptions,
    ) -> Result<Vec<Vec<u8>>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(head) = state.head
            && recorded_at < head.recorded_at
        {
            return Err(Error::ClockBehind {
                head: head.recorded_at.to_string(),
                requested: recorded_at.to_string(),
            });
        }
        crate::clock::check_dates(&events, recorded_at, options)?;
        // A scratch copy: nothing of this is kept.
        let mut authority = self.authority_in(&mut state)?.clone();
        let mut staged = Staged::new(self, state.head, events.len());
        for event in events {
            staged.sign_and_record(&mut authority, key, event, recorded_at)?;
        }
        Ok(staged.entries)
    }

    /// Takes the writer lock, lets `build` stage one batch against the head
    /// and the registry, applies it and returns once it is on disk. A refused
    /// batch writes nothing.
    fn write_batch(
        &self,
        build: impl FnOnce(
            &mut Authority,
            Option<Head>,
            Timestamp,
        ) -> Result<(sled::Batch, Option<Head>, Vec<Appended>)>,
    ) -> Result<Vec<Appended>> {
        // Registered before queueing for the lock, so that a flush about to
        // start waits for this batch and carries it too.
        let in_flight = self.group_commit.begin();
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock, so no append can slip in after a failed flush.
        if self.flush_failed.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(self.failed_flush_error());
        }
        let now = self.now();
        // The registry is changed in place, not cloned: a clone costs
        // O(recommendations) on every append. A refused batch reloads it from
        // the store, which still holds the registry as of the head.
        let mut authority = match state.authority.take() {
            Some(authority) => authority,
            None => self.load_authority()?,
        };
        let written = build(&mut authority, state.head, now).and_then(|(batch, head, appended)| {
            // The new head and the ticket of the batch that wrote it.
            let Some(head) = head else {
                return Ok((None, appended));
            };
            let mut batch = batch;
            if state.verified {
                // Appends make every check verification makes, so a verified
                // log stays verified through them.
                batch.insert(VERIFIED_KEY, encode_head(&head));
            }
            self.tree
                .apply_batch(batch)
                .map_err(|e| self.store_error(e))?;
            Ok((Some((head, in_flight.applied())), appended))
        });
        let (written, appended) = match written {
            Ok(written) => written,
            Err(e) => {
                match self.load_authority() {
                    Ok(authority) => state.authority = Some(authority),
                    Err(reload) => {
                        // Without its registry this handle cannot judge appends.
                        self.flush_failed
                            .store(true, std::sync::atomic::Ordering::SeqCst);
                        return Err(reload);
                    }
                }
                return Err(e);
            }
        };
        state.authority = Some(authority);
        let Some((new_head, ticket)) = written else {
            // Nothing new was written, but what was asked about may have been
            // applied by another thread and not flushed yet.
            drop(state);
            self.settle()?;
            return Ok(appended);
        };
        state.head = Some(new_head);
        // The flush happens outside the writer lock, so that appends arriving
        // meanwhile can apply their batches and share the next flush.
        drop(state);
        self.wait_durable(ticket)?;
        Ok(appended)
    }

    /// Returns once the batch holding `ticket` is on disk; see `commit.rs`.
    fn wait_durable(&self, ticket: u64) -> Result<()> {
        self.group_commit.wait_durable(
            ticket,
            || {
                self.db.flush().map(drop).map_err(|e| {
                    // The batch may or may not reach the disk, and later
                    // appends would chain onto it: refuse them until the log
                    // is reopened and its real head read back.
                    self.flush_failed
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                    self.store_error(e)
                })
            },
            || self.failed_flush_error(),
        )
    }

    /// Waits until every batch applied on this handle so far is on disk.
    /// Another thread's append is visible to readers of this handle as soon
    /// as it is applied, before its flush; what is published from the log (a
    /// bundle, a proof) must not hold an entry a crash could still take back.
    pub fn settle(&self) -> Result<()> {
        self.wait_durable(self.group_commit.last_applied())
    }

    fn failed_flush_error(&self) -> Error {
        Error::Store {
            path: self.path.clone(),
            message: "an earlier write to this log failed; reopen the log before appending".into(),
        }
    }

    /// Reads stored entries `from..=to` (unverified), in order.
    pub fn entries(&self, from: u64, to: Option<u64>) -> impl Iterator<Item = Result<Entry>> + '_ {
        let end = to.map_or_else(
            || ENTRY_PREFIX.to_vec().into_iter().chain([0xff; 9]).collect(),
            entry_key,
        );
        self.tree.range(entry_key(from)..=end).map(move |item| {
            let (_, value) = item.map_err(|e| self.store_error(e))?;
            Entry::from_bytes(&value).map_err(Error::from)
        })
    }

    /// The stored canonical bytes of entries `from..=to` (unverified), in
    /// order, without decoding them: what a server hands to a client that
    /// verifies for itself. Stops early at a gap.
    pub fn entry_bytes(&self, from: u64, to: u64) -> impl Iterator<Item = Result<Vec<u8>>> + '_ {
        (from..=to).map_while(move |seq| match self.tree.get(entry_key(seq)) {
            Ok(Some(value)) => Some(Ok(value.to_vec())),
            Ok(None) => None,
            Err(e) => Some(Err(self.store_error(e))),
        })
    }

    /// Stored entries in key order as (seq from the key, canonical bytes),
    /// undecoded and unverified; a store read error ends the iteration with it.
    pub fn raw_entries(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        self.tree.scan_prefix(ENTRY_PREFIX).map(move |item| {
            let (key, value) = item.map_err(|e| self.store_error(e))?;
            let seq = key
                .get(ENTRY_PREFIX.len()..)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes)
                .ok_or_else(|| Damage::Record {
                    what: "entry key",
                    reason: "it is not 10 bytes long".into(),
                })?;
            Ok((seq, value.to_vec()))
        })
    }

    /// Verifies every stored entry in order, handing each verified chunk to `sink`.
    ///
    /// Also checks that the head record and the registry rows agree with what
    /// the entries imply, so a truncated or doctored store is caught.
    pub fn verify_with(
        &self,
        sink: impl FnMut(&[VerifiedEntry]) -> Result<()>,
    ) -> Result<Verifier> {
        let verified = self.verify_all(sink);
        if verified.is_err() {
            // Whatever the record said, the log did not verify now: queries
            // that rely on it must verify again rather than trust it.
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.verified = false;
            let _ = self.tree.remove(VERIFIED_KEY);
        }
        verified
    }

    fn verify_all(&self, mut sink: impl FnMut(&[VerifiedEntry]) -> Result<()>) -> Result<Verifier> {
        let mut verifier = Verifier::new();
        let mut frontier = Frontier::default();
        let mut chunk = Vec::with_capacity(CHUNK);
        // Pipelined: while one chunk is decoded and its signatures checked
        // on every core, the chunk before it goes through the in-order checks
        // and the Merkle nodes, so those sequential passes do not leave cores
        // idle. Chunks still reach `sink` in order, each after all its checks.
        let mut previous: Option<Prepared> = None;
        let tree = &self.tree;
        // The index rows the entries imply, to compare with the stored ones.
        let mut indexer = index::Indexer::new();
        let mut expected_rows = index::RowDigest::default();
        let mut step = |chunk: Vec<Vec<u8>>,
                        previous: &mut Option<Prepared>,
                        verifier: &mut Verifier,
                        frontier: &mut Frontier|
         -> Result<()> {
            let done = previous.take();
            let (next, checked) = rayon::join(
                || Prepared::new(chunk),
                || -> Result<Vec<VerifiedEntry>> {
                    let Some(done) = done else {
                        return Ok(Vec::new());
                    };
                    let verified = verifier.commit(done)?;
                    tree::check_nodes(tree, frontier, &verified)?;
                    for v in &verified {
                        for row in indexer.rows_of(tree, v.entry(), |_| None) {
                            expected_rows.add(&row);
                        }
                    }
                    Ok(verified)
                },
            );
            sink(&checked?)?;
            *previous = Some(next);
            Ok(())
        };
        for (expected, item) in (0u64..).zip(self.tree.scan_prefix(ENTRY_PREFIX)) {
            let stored = item
                .map_err(|e| self.store_error(e))
                .and_then(|(key, value)| {
                    let stored_seq = key
                        .get(2..10)
                        .and_then(|b| b.try_into().ok())
                        .map(u64::from_be_bytes);
                    if stored_seq != Some(expected) {
                        return Err(Error::Verify(VerifyError {
                            seq: expected,
                            problem: Problem::Missing,
                        }));
                    }
                    Ok(value)
                });
            let value = match stored {
                Ok(value) => value,
                Err(e) => {
                    // An earlier bad entry among those not yet checked is the
                    // first problem, not the gap or the read error after it.
                    let rest = std::mem::take(&mut chunk);
                    step(rest, &mut previous, &mut verifier, &mut frontier)?;
                    step(Vec::new(), &mut previous, &mut verifier, &mut frontier)?;
                    return Err(e);
                }
            };
            chunk.push(value.to_vec());
            if chunk.len() == CHUNK {
                let full = std::mem::take(&mut chunk);
                step(full, &mut previous, &mut verifier, &mut frontier)?;
            }
        }
        step(chunk, &mut previous, &mut verifier, &mut frontier)?;
        step(Vec::new(), &mut previous, &mut verifier, &mut frontier)?;
        tree::check_root(&self.tree, &self.path, &frontier)?;
        self.settle()?;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let head_seq = state.head.map(|h| h.seq);
        let verified_last = verifier.len().checked_sub(1);
        if head_seq != verified_last {
            return Err(Error::Verify(VerifyError {
                seq: verifier.len(),
                problem: Problem::Undecodable(encoding::DecodeFailure(format!(
                    "entry is missing from the store (the head record says the log ends at seq {})",
                    head_seq.map_or("none".into(), |s| s.to_string())
                ))),
            }));
        }
        if state.head.map(|h| h.hash) != Some(verifier.head_hash()) {
            return Err(Damage::HeadMismatch.into());
        }
        if self.authority_in(&mut state)? != verifier.authority() {
            return Err(Damage::RegistryMismatch.into());
        }
        let mut verifier = verifier;
        if !self.index_rows_match(expected_rows)? {
            // Derived data that the verified entries do not back: rebuilt
            // from them, and reported, rather than trusted or fatal.
            self.rebuild_indexes()?;
            verifier.note_indexes_rebuilt();
        }
        if let Some(head) = state.head.filter(|_| !state.verified) {
            self.tree
                .insert(VERIFIED_KEY, encode_head(&head))
                .map_err(|e| self.store_error(e))?;
        }
        if let Some(head) = state.head {
            self.tree
                .insert(WHOLE_KEY, encode_record(&(Timestamp::now(), head.seq)))
                .map_err(|e| self.store_error(e))?;
        }
        state.verified = true;
        Ok(verifier)
    }

    /// When the whole log was last verified from its genesis (by
    /// [`Log::verify_with`], in any process), and the last seq that
    /// verification reached; `None` if it never was. Entries appended since
    /// were each verified as they were appended.
    pub fn last_whole_verification(&self) -> Result<Option<(Timestamp, u64)>> {
        let Some(bytes) = self.tree.get(WHOLE_KEY).map_err(|e| self.store_error(e))? else {
            return Ok(None);
        };
        let (at, seq) = decode_record(&bytes).map_err(|e| Damage::Record {
            what: "whole-verification record",
            reason: e.to_string(),
        })?;
        Ok(Some((at, seq)))
    }

    /// The latest signed checkpoint note kept with the log, if any.
    pub fn latest_checkpoint(&self) -> Result<Option<Vec<u8>>> {
        Ok(self
            .tree
            .get(CHECKPOINT_KEY)
            .map_err(|e| self.store_error(e))?
            .map(|v| v.to_vec()))
    }

    /// Keeps a signed checkpoint note (already checked by the caller) as the latest.
    pub fn keep_checkpoint(&self, note: &[u8]) -> Result<()> {
        self.tree
            .insert(CHECKPOINT_KEY, note)
            .map_err(|e| self.store_error(e))?;
        self.db.flush().map_err(|e| self.store_error(e))?;
        Ok(())
    }

    /// Number of entries, which is the Merkle tree size.
    pub fn tree_size(&self) -> u64 {
        self.head().map_or(0, |h| h.seq + 1)
    }

    fn check_size(&self, size: u64) -> Result<()> {
        let log_size = self.tree_size();
        if size > log_size {
            return Err(TransparencyError::SizeBeyondLog { size, log_size }.into());
        }
        Ok(())
    }

    /// RFC 6962 root of the tree over the first `size` entries, in O(log n) reads.
    pub fn tree_root(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        self.settle()?;
        merkle_tree::root(&SledNodes(&self.tree), TreeSize(size))
            .map_err(|e| tree_error(&self.path, e))
    }

    /// RFC 9162 inclusion proof of entry `seq` in the tree of the first `size` entries.
    pub fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        self.settle()?;
        if seq >= size {
            return Err(TransparencyError::SeqBeyondSize { seq, size }.into());
        }
        merkle_tree::inclusion_proof(&SledNodes(&self.tree), LeafIndex(seq), TreeSize(size))
            .map_err(|e| tree_error(&self.path, e))
    }

    /// RFC 9162 consistency proof from the tree of `old` entries to that of `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        self.settle()?;
        if old > new {
            return Err(TransparencyError::SizeOrder { old, new }.into());
        }
        merkle_tree::consistency_proof(&SledNodes(&self.tree), TreeSize(old), TreeSize(new))
            .map_err(|e| tree_error(&self.path, e))
    }

    /// Writes already verified entries (from a bundle) into this empty log, in
    /// batches, with one flush at the end. Used by import.
    pub(crate) fn write_verified(
        &self,
        entries: &[VerifiedEntry],
        authority: &Authority,
    ) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut nodes = PendingNodes::new(&self.tree, &self.path);
        let first = entries.first().map_or(0, VerifiedEntry::seq);
        let mut indexer = self.importing.lock().unwrap_or_else(|p| p.into_inner());
        let mut postings = index::Postings::default();
        for v in entries {
            batch.insert(entry_key(v.seq()), v.bytes());
            nodes.append(&mut batch, v.seq(), encoding::merkle_leaf_hash(v.bytes()))?;
            // A correction's target is stored already, or earlier in this chunk.
            let in_chunk = |seq: u64| {
                let at = usize::try_from(seq.checked_sub(first)?).ok()?;
                Some(entries.get(at)?.entry().event().clone())
            };
            for posting in indexer.rows_of(&self.tree, v.entry(), in_chunk) {
                postings.add(posting);
            }
        }
        drop(indexer);
        postings
            .write(&self.tree, &mut batch)
            .map_err(|e| self.store_error(e))?;
        if let Some(last) = entries.last() {
            let head = Head {
                seq: last.seq(),
                hash: last.hash(),
                recorded_at: last.entry().unsigned.recorded_at,
            };
            batch.insert(HEAD_KEY, encode_head(&head));
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.head = Some(head);
            state.authority = Some(authority.clone());
        }
        self.tree
            .apply_batch(batch)
            .map_err(|e| self.store_error(e))
    }

    /// Rewrites every registry row from the stored entries, in this
    /// version's encoding. The rows are derived data: verification compares
    /// them with what the verified entries imply, so a row rebuilt from an
    /// entry that does not verify is caught there, not trusted.
    fn rebuild_registry_rows(&self) -> Result<()> {
        let mut authority = Authority::default();
        // An entry that cannot be read or decoded changes nothing here;
        // verification names it.
        for (seq, bytes) in self.raw_entries().filter_map(|item| item.ok()) {
            if let Ok(entry) = Entry::from_bytes(&bytes) {
                authority.apply(seq, &entry.unsigned.signer, &entry.unsigned.event);
            }
        }
        let mut batch = sled::Batch::default();
        for prefix in [b"k:", b"a:", b"p:", b"r:", b"s:"] {
            for key in self.tree.scan_prefix(prefix).keys() {
                batch.remove(key.map_err(|e| self.store_error(e))?);
            }
        }
        for row in all_rows(&authority) {
            batch.insert(row_key(&row), row_value(&authority, &row));
        }
        batch.insert(REGISTRY_FORMAT_KEY, REGISTRY_FORMAT_VALUE);
        // Rows rebuilt from unverified entries vouch for nothing until a
        // full verification has compared them with the verified entries.
        batch.remove(VERIFIED_KEY);
        self.tree
            .apply_batch(batch)
            .map_err(|e| self.store_error(e))?;
        self.db.flush().map_err(|e| self.store_error(e))?;
        Ok(())
    }

    /// Writes the registry rows and flushes; the last step of an import.
    pub(crate) fn finish_import(&self) -> Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let a = self.authority_in(&mut state)?.clone();
        let mut batch = sled::Batch::default();
        // Every entry was verified on its way in, and indexed (write_verified).
        mark_formats(&mut batch);
        if let Some(head) = state.head {
            batch.insert(VERIFIED_KEY, encode_head(&head));
        }
        for row in all_rows(&a) {
            batch.insert(row_key(&row), row_value(&a, &row));
        }
        self.tree
            .apply_batch(batch)
            .map_err(|e| self.store_error(e))?;
        self.db.flush().map_err(|e| self.store_error(e))?;
        Ok(())
    }

    /// Opens a fresh store for import (no genesis written).
    pub(crate) fn create_empty(dir: &Path) -> Result<Log> {
        let io = |source| Error::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let marker = dir.join(MARKER_FILE);
        let mut file = std::fs::File::create(&marker).map_err(io)?;
        std::io::Write::write_all(&mut file, MARKER_TEXT.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Log::open_db(dir, OpenOptions::default())
    }
}

/// Looks up correction targets in the store and in the batch being appended.
struct StoreHistory<'a> {
    tree: &'a sled::Tree,
    first_pending: u64,
    pending: &'a [(PublicKey, EventKind)],
}

impl History for StoreHistory<'_> {
    fn signer_and_kind(&self, seq: u64) -> Option<(PublicKey, EventKind)> {
        if seq >= self.first_pending {
            return self
                .pending
                .get(usize::try_from(seq - self.first_pending).ok()?)
                .copied();
        }
        let bytes = self.tree.get(entry_key(seq)).ok()??;
        let entry = Entry::from_bytes(&bytes).ok()?;
        Some((entry.unsigned.signer, entry.event().kind()))
    }
}

/// What the index postings of a staged entry look up: entries staged
/// before it in this batch, else the store.
impl index::Lookup for Staged<'_> {
    fn event(&self, seq: u64) -> Option<Event> {
        if seq >= self.first_seq {
            let bytes = self
                .entries
                .get(usize::try_from(seq - self.first_seq).ok()?)?;
            return Entry::from_bytes(bytes).ok().map(|e| e.unsigned.event);
        }
        index::stored_event(self.nodes.tree(), seq)
    }

    fn corrections_of(&self, target: u64) -> Vec<u64> {
        let mut seqs = index::stored_corrections(self.nodes.tree(), target);
        seqs.extend(self.corrections.get(&target).into_iter().flatten());
        seqs
    }
}

/// One batch being staged: the entries admitted so far, the sled writes
/// that store them and the registry rows they change. Both ways into the log
/// go through it: events signed here ([`Staged::sign_and_record`]) and
/// entries signed elsewhere (`submit.rs`).
struct Staged<'a> {
    batch: sled::Batch,
    /// Index postings of the entries staged, added to the batch at the end.
    postings: index::Postings,
    /// Corrections staged in this batch, by the seq they correct.
    corrections: std::collections::HashMap<u64, Vec<u64>>,
    rows: Vec<Row>,
    pending: Vec<(PublicKey, EventKind)>,
    first_seq: u64,
    nodes: PendingNodes<'a>,
    head: Option<Head>,
    appended: Vec<Appended>,
    /// Canonical bytes of each entry staged, in order.
    entries: Vec<Vec<u8>>,
    /// How many entries the caller asked for, to name one in an error.
    batch_len: usize,
}

impl<'a> Staged<'a> {
    fn new(log: &'a Log, head: Option<Head>, batch_len: usize) -> Staged<'a> {
        Staged {
            batch: sled::Batch::default(),
            postings: index::Postings::default(),
            corrections: std::collections::HashMap::new(),
            rows: Vec::new(),
            pending: Vec::new(),
            first_seq: head.map_or(0, |h| h.seq + 1),
            nodes: PendingNodes::new(&log.tree, &log.path),
            head,
            appended: Vec::with_capacity(batch_len),
            entries: Vec::with_capacity(batch_len),
            batch_len,
        }
    }

    /// The seq the next entry gets.
    fn next_seq(&self) -> u64 {
        self.head.map_or(0, |h| h.seq + 1)
    }

    /// The hash the next entry must link to.
    fn prev_hash(&self) -> EntryHash {
        self.head.map_or(EntryHash::default(), |h| h.hash)
    }

    /// In a batch of several, says which event an error is about.
    fn in_batch(&self, e: Error) -> Error {
        match self.batch_len {
            1 => e,
            _ => Error::InBatch {
                index: self.appended.len(),
                source: Box::new(e),
            },
        }
    }

    /// Checks that `signer` may sign `event` as the next entry.
    fn admit(
        &self,
        authority: &Authority,
        signer: &PublicKey,
        event: &Event,
    ) -> std::result::Result<(), Problem> {
        event.validate().map_err(Problem::InvalidEvent)?;
        let history = StoreHistory {
            tree: self.nodes.tree(),
            first_pending: self.first_seq,
            pending: &self.pending,
        };
        authority
            .check(self.next_seq(), signer, event, &history)
            .map_err(Problem::Unauthorized)
    }

    /// Signs `event` with `key` as the next entry, after checking it.
    fn sign_and_record(
        &mut self,
        authority: &mut Authority,
        key: &SecretKey,
        mut event: Event,
        now: Timestamp,
    ) -> Result<()> {
        let signer = key.public_key();
        event.normalize();
        self.admit(authority, &signer, &event).map_err(|p| {
            self.in_batch(match p {
                Problem::InvalidEvent(e) => e.into(),
                Problem::Unauthorized(r) => r.into(),
                other => Error::Verify(VerifyError {
                    seq: self.next_seq(),
                    problem: other,
                }),
            })
        })?;
        let entry = UnsignedEntry {
            seq: self.next_seq(),
            prev_hash: self.prev_hash(),
            recorded_at: now,
            signer,
            event,
        }
        .sign(key);
        let bytes = entry.to_bytes();
        self.record(authority, &entry, bytes)
    }

    /// Adds an admitted, signed entry to the batch.
    fn record(&mut self, authority: &mut Authority, entry: &Entry, bytes: Vec<u8>) -> Result<()> {
        if bytes.len() > crate::limits::MAX_ENTRY_BYTES {
            return Err(self.in_batch(Error::EntryTooLarge {
                size: bytes.len(),
                limit: crate::limits::MAX_ENTRY_BYTES,
            }));
        }
        let u = &entry.unsigned;
        let seq = u.seq;
        let hash = encoding::entry_hash(&bytes);
        self.nodes
            .append(&mut self.batch, seq, encoding::merkle_leaf_hash(&bytes))?;
        let actor = match &u.event {
            Event::LogCreated(g) => Some(g.actor.clone()),
            _ => authority.actor_of(&u.signer).cloned(),
        };
        let postings = index::postings(seq, &u.event, actor.as_ref(), &*self);
        for posting in postings {
            self.postings.add(posting);
        }
        if let Event::Correction(c) = &u.event {
            self.corrections.entry(c.target_seq).or_default().push(seq);
        }
        self.rows.extend(authority.apply(seq, &u.signer, &u.event));
        self.pending.push((u.signer, u.event.kind()));
        self.batch.insert(entry_key(seq), bytes.as_slice());
        self.entries.push(bytes);
        self.head = Some(Head {
            seq,
            hash,
            recorded_at: u.recorded_at,
        });
        self.appended.push(Appended { seq, hash });
        Ok(())
    }

    /// The sled batch, the new head and where each entry landed.
    fn finish(
        mut self,
        authority: &Authority,
    ) -> Result<(sled::Batch, Option<Head>, Vec<Appended>)> {
        // An empty batch moves nothing: no new head.
        let new_head = self.head.filter(|_| !self.appended.is_empty());
        if let Some(new_head) = new_head {
            let tree = self.nodes.tree();
            std::mem::take(&mut self.postings)
                .write(tree, &mut self.batch)
                .map_err(|e| store_error(self.nodes.path(), e))?;
            self.rows.sort();
            self.rows.dedup();
            for row in &self.rows {
                self.batch.insert(row_key(row), row_value(authority, row));
            }
            self.batch.insert(HEAD_KEY, encode_head(&new_head));
        }
        Ok((self.batch, new_head, self.appended))
    }
}

/// Removes `snap.*.generating` files that a snapshot write cut short (a full
/// disk, a crash) left behind; says whether there were any.
///
/// sled 0.34 writes a snapshot to `snap.N.generating`, syncs it and only then
/// renames it to `snap.N`; until the rename nothing relies on it, and the log
/// is replayed from the previous snapshot. But sled also reads a leftover
/// `.generating` file as the newest snapshot, finds it empty or short and
/// reports the whole store corrupt, for good (sled issue 1527). Removing such
/// files keeps a full disk from turning into a lost log.
fn remove_unfinished_snapshots(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut removed = false;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with("snap.") && name.ends_with(".generating") {
            removed |= std::fs::remove_file(entry.path()).is_ok();
        }
    }
    removed
}

/// Flushes a directory's own entries (the names in it) to disk.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::Io {
            path: dir.to_owned(),
            source,
        })
}

/// The directory holding `path` (`.` for a bare name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn is_lock_error(e: &sled::Error) -> bool {
    matches!(e, sled::Error::Io(io) if io.to_string().contains("could not acquire lock"))
}

fn store_error(path: &Path, e: sled::Error) -> Error {
    match e {
        sled::Error::Io(source) => Error::Io {
            path: path.to_owned(),
            source,
        },
        sled::Error::Corruption { .. } => Damage::Sled {
            path: path.to_owned(),
        }
        .into(),
        other => Error::Store {
            path: path.to_owned(),
            message: other.to_string(),
        },
    }
}
