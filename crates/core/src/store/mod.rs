//! The log on disk: a directory (docs/FORMAT.md, "The log directory").
//!
//! The entries are in append-only segment files (`segments.rs`): the
//! record, and the only copy. sled holds what is derived from them, in one
//! tree under key prefixes: `m:format`, `m:head`, registry rows
//! (`k:` / `a:` / `p:` / `r:` / `s:` + id: keys, actors, reports,
//! recommendations, successions) so that an append need not re-read the
//! log, `t:` + level + index for the Merkle tree (`tree.rs`), and the query
//! indexes (`index.rs`). An append writes its frames, applies one sled batch
//! (head, nodes, rows, postings) and is acknowledged once an fdatasync of the
//! segments has made its frames durable; concurrent appends share that sync
//! (group commit, `commit.rs`). sled is flushed only on close: after a crash
//! the derived data lags, and open derives the missing entries from the
//! segments again (`Log::catch_up`).
//!
//! One process writes (it holds `LOCK`); readers (`Log::open_read`) never
//! take that lock: with no writer they use sled, beside one they derive what
//! they need in memory from the acknowledged entries. The latest checkpoint
//! is a file of its own (it is signed, not derived), and the `TRAIL_LOG`
//! marker is checked before sled opens anything, because sled rewrites files
//! it does not recognise. Replay snapshots are files in `snapshots/`
//! (`snapshot.rs`).
//!
//! The folder: this file opens, appends and verifies; `segments.rs` keeps
//! the record; `migrate.rs` moves a log of the first layout (entries inside
//! sled) to segments; `commit.rs` shares syncs between appenders; `submit.rs`
//! takes entries signed elsewhere; `tree.rs` keeps the Merkle nodes and
//! `tiles.rs` reads tiles from them; `index.rs` keeps the query indexes,
//! `select.rs` folds one recommendation's entries from them and `search.rs`
//! the search text; `snapshot.rs` keeps replay snapshots; `repair.rs`
//! rebuilds everything derived.

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
mod migrate;
#[cfg(test)]
mod registry_tests;
mod repair;
mod search;
mod segments;
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
use segments::{Access, FrameError, Segments};
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
const MARKER_TEXT: &str = "trail log v2\n";
/// The first layout, which kept the entries inside sled; migrated on open.
const MARKER_TEXT_V1: &str = "trail log v1\n";
const FORMAT_VALUE: &[u8] = b"trail log v2";
const FORMAT_V1: &[u8] = b"trail log v1";
/// The writer's lock: held (flock, exclusive) by the one process that
/// appends, for as long as it has the log open. Readers only test it.
const LOCK_FILE: &str = "LOCK";
/// The latest signed checkpoint: not derived from the entries (the
/// operator signed it), so kept beside the segments, not in sled.
const CHECKPOINT_FILE: &str = "checkpoint";
/// How long the writer waits for sled, once it holds the writer's lock: only
/// a reader can hold sled then, and a reader lets go when its command ends.
const SLED_WAIT: Duration = Duration::from_secs(300);
const HEAD_KEY: &[u8] = b"m:head";
/// Which encoding the registry rows use. Version 2 keeps each key's dated
/// grants and revocation (the one registry replay also folds); a log whose
/// rows predate it has them rebuilt from its entries on open.
pub(crate) const REGISTRY_FORMAT_KEY: &[u8] = b"m:registry";
const REGISTRY_FORMAT_VALUE: &[u8] = b"trail registry 2";
/// Where the first layout kept the latest checkpoint (moved to a file).
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
const CHUNK: usize = 8192;
/// The most entry bytes in one verification chunk.
const CHUNK_BYTES: usize = 16 * 1024 * 1024;

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

/// What an open handle may do, and where its derived data lives.
enum Role {
    /// The one writer: holds the writer's lock and sled.
    Writer { _lock: std::fs::File },
    /// A reader while no writer runs: holds sled, never appends.
    Reader,
    /// A reader beside a running writer, or whose sled files are damaged:
    /// its derived data is rebuilt in memory from the acknowledged entries.
    Detached {
        /// Why sled's files could not be used, when they are damaged.
        damage: Option<String>,
    },
}

/// An open log.
pub struct Log {
    path: PathBuf,
    pub(crate) db: sled::Db,
    pub(crate) tree: sled::Tree,
    /// The entries: the source of truth.
    pub(crate) segments: std::sync::Arc<Segments>,
    role: Role,
    state: Mutex<WriterState>,
    /// Set when a flush fails: what is on disk is then unknown.
    flush_failed: std::sync::atomic::AtomicBool,
    /// The writer's syncing thread, shared by concurrent appenders.
    syncer: Option<commit::Syncer>,
    /// The time appends record; `None` is the system clock.
    clock: Mutex<Option<Timestamp>>,
    /// The index rows' signer lookup while verified entries are imported.
    importing: Mutex<index::Indexer>,
    /// Held while a query verifies the whole log for want of a verification
    /// record, so that concurrent queries wait for one verification.
    verifying: Mutex<()>,
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
        refuse_existing(dir)?;
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

    /// Opens an existing log as its writer, waiting at most [`BRIEF_WAIT`]
    /// for another writer to let go before reporting that the log is busy.
    pub fn open(dir: &Path) -> Result<Log> {
        Log::open_with(
            dir,
            OpenOptions {
                wait: Some(BRIEF_WAIT),
            },
        )
    }

    /// Opens an existing log as its one writer, waiting for another writer
    /// to let go if asked to. A log of the first layout (entries inside
    /// sled) has its entries moved to segment files first.
    pub fn open_with(dir: &Path, options: OpenOptions) -> Result<Log> {
        check_is_log(dir)?;
        let lock = take_writer_lock(dir, options.wait)?;
        let db = open_sled(dir, Some(SLED_WAIT))?;
        Log::assemble(dir, db, Role::Writer { _lock: lock })
    }

    /// Opens a log to read it, which never waits for a writer and never
    /// keeps one out. With no writer running it uses sled's derived data
    /// (and brings it up to date); beside a running writer, or when sled's
    /// files are damaged, it rebuilds that data in memory from the
    /// acknowledged entries, which costs a verification of the whole log.
    /// Either way it reads a consistent, durable prefix of the log.
    pub fn open_read(dir: &Path) -> Result<Log> {
        check_is_log(dir)?;
        let first_layout =
            std::fs::read_to_string(dir.join(MARKER_FILE)).is_ok_and(|m| m == MARKER_TEXT_V1);
        if first_layout || !segments::present(dir) {
            // The first layout keeps its entries inside sled (until its
            // migration ends by rewriting the marker): only the writer can
            // read them, and it moves them out.
            return Log::open(dir);
        }
        let mut damage = None;
        if !writer_running(dir)? {
            match open_sled(dir, None).and_then(|db| Log::assemble(dir, db, Role::Reader)) {
                Ok(log) => return Ok(log),
                // A writer came in between, or another reader holds sled.
                Err(Error::Busy { .. }) => {}
                Err(e) if is_derived_damage(&e) => damage = Some(e.to_string()),
                Err(e) => return Err(e),
            }
        }
        let db = sled::Config::new()
            .temporary(true)
            .flush_every_ms(None)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(|e| store_error(dir, e))?;
        Log::assemble(dir, db, Role::Detached { damage })
    }

    /// Why this handle rebuilt its derived data in memory because sled's
    /// files are damaged (`trail repair` rebuilds them on disk), if it did.
    pub fn derived_damage(&self) -> Option<&str> {
        match &self.role {
            Role::Detached { damage } => damage.as_deref(),
            _ => None,
        }
    }

    /// Whether this handle read the log beside a running writer, from the
    /// acknowledged entries, with its derived data rebuilt in memory.
    pub fn reads_beside_writer(&self) -> bool {
        matches!(self.role, Role::Detached { damage: None })
    }

    /// Builds the handle over `db` and brings the derived data in it up to
    /// date with the segments.
    fn assemble(dir: &Path, db: sled::Db, role: Role) -> Result<Log> {
        let tree = db.open_tree("trail").map_err(|e| store_error(dir, e))?;
        let format = tree.get(FORMAT_KEY).map_err(|e| store_error(dir, e))?;
        let writer = matches!(role, Role::Writer { .. });
        match format.as_deref() {
            Some(FORMAT_VALUE) => {}
            Some(FORMAT_V1) if writer => migrate::to_segments(dir, &db, &tree)?,
            // A sled without a format (new, in memory, or its files removed
            // by a repair) beside segments: everything is derived below.
            None if segments::present(dir) => {
                let mut batch = sled::Batch::default();
                mark_formats(&mut batch);
                tree.apply_batch(batch).map_err(|e| store_error(dir, e))?;
            }
            _ => {
                return Err(Error::NotALog {
                    path: dir.to_owned(),
                });
            }
        }
        let head = match tree.get(HEAD_KEY).map_err(|e| store_error(dir, e))? {
            Some(bytes) => Some(decode_head(&bytes)?),
            None => None,
        };
        let known = head.map_or(0, |h| h.seq + 1);
        let access = match role {
            Role::Writer { .. } => Access::Write { known },
            Role::Reader => Access::ReadAll { known },
            Role::Detached { .. } => Access::ReadDurable,
        };
        let segments = std::sync::Arc::new(Segments::open(dir, access)?);
        let syncer = match role {
            Role::Writer { .. } => {
                let segments = std::sync::Arc::clone(&segments);
                let syncer =
                    commit::Syncer::start(move || segments.sync().map_err(|e| e.to_string()));
                Some(syncer.map_err(|source| Error::Io {
                    path: dir.to_owned(),
                    source,
                })?)
            }
            _ => None,
        };
        let log = Log {
            path: dir.to_owned(),
            db,
            tree,
            segments,
            role,
            state: Mutex::new(WriterState {
                head: None,
                authority: None,
                verified: false,
            }),
            flush_failed: std::sync::atomic::AtomicBool::new(false),
            syncer,
            clock: Mutex::new(None),
            importing: Mutex::new(index::Indexer::new()),
            verifying: Mutex::new(()),
        };
        let head = log.bring_up_to_date(head)?;
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

    /// Makes the derived data match the segments: rebuilds what an older
    /// version did not keep, derives the entries appended since it was last
    /// written (a crash loses sled's latest writes, never the segments'),
    /// and rebuilds it all if it runs ahead of them. Returns the head.
    fn bring_up_to_date(&self, head: Option<Head>) -> Result<Option<Head>> {
        let len = self.segments.len();
        let mut head = head;
        if head.is_some_and(|h| h.seq >= len) && self.segments.damaged().is_none() {
            // Derived from entries that were never acknowledged, and lost
            // in a crash: derived again from what is there.
            self.clear_derived()?;
            head = None;
        }
        let mut tree_rebuilt = false;
        if let Some(head) = head {
            tree_rebuilt = tree::rebuild_if_missing(self, head.seq)?;
        }
        // A log written before the indexes were kept gets them now, and one
        // whose registry rows are of an older encoding gets them rewritten.
        if !self.indexes_present()? {
            self.rebuild_indexes()?;
        }
        if self
            .tree
            .get(REGISTRY_FORMAT_KEY)
            .map_err(|e| self.store_error(e))?
            .as_deref()
            != Some(REGISTRY_FORMAT_VALUE)
        {
            self.rebuild_registry_rows()?;
        }
        // A tree just rebuilt from the stored entries would vouch for them
        // whatever they now hold: only a full verification may say so.
        if tree_rebuilt {
            self.tree
                .remove(VERIFIED_KEY)
                .map_err(|e| self.store_error(e))?;
        }
        if head.map_or(0, |h| h.seq + 1) < len {
            head = match self.catch_up(head) {
                Ok(head) => head,
                // The rows it resumes from are damaged: all of it derived
                // again from the genesis.
                Err(e) if is_derived_damage(&e) && head.is_some() => {
                    self.clear_derived()?;
                    self.catch_up(None)?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(head)
    }

    /// Removes every derived row, leaving the formats.
    fn clear_derived(&self) -> Result<()> {
        let mut batch = sled::Batch::default();
        for key in self.tree.iter().keys() {
            batch.remove(key.map_err(|e| self.store_error(e))?);
        }
        mark_formats(&mut batch);
        self.tree
            .apply_batch(batch)
            .map_err(|e| self.store_error(e))
    }

    /// Verifies the entries after `head` from where the derived data stands
    /// and derives them; stops at the first that does not verify, which
    /// verification then names. Returns the new head.
    fn catch_up(&self, head: Option<Head>) -> Result<Option<Head>> {
        let from = head.map_or(0, |h| h.seq + 1);
        let was_verified = match head {
            None => true,
            Some(h) => self
                .tree
                .get(VERIFIED_KEY)
                .map_err(|e| self.store_error(e))?
                .is_some_and(|b| decode_head(&b).is_ok_and(|v| v == h)),
        };
        let mut verifier = match head {
            None => Verifier::new(),
            // The derived data vouches for the entries up to its head, as
            // it does for every query; the tail is checked against it.
            Some(h) => Verifier::resume(
                crate::verify::ResumePoint {
                    next_seq: from,
                    prev_hash: h.hash,
                    prev_time: Some(h.recorded_at),
                    authority: self.load_authority()?,
                },
                Box::new(SegmentHistory(self.segments.clone())),
            ),
        };
        let mut head = head;
        let mut derived_any = false;
        let mut entries = self.segments.read(from, u64::MAX);
        let mut complete = true;
        loop {
            let mut chunk = Vec::with_capacity(CHUNK);
            for item in entries.by_ref().take(CHUNK) {
                match item {
                    Ok((_, bytes)) => chunk.push(bytes),
                    Err(_) => {
                        complete = false;
                        break;
                    }
                }
            }
            if chunk.is_empty() {
                break;
            }
            let full = chunk.len() == CHUNK;
            // The good entries before a bad one are derived still.
            let (verified, failed) = verifier.commit_prefix(Prepared::new(chunk));
            complete &= failed.is_none();
            self.derive(&verified, verifier.authority(), false)?;
            if let Some(last) = verified.last() {
                head = Some(Head {
                    seq: last.seq(),
                    hash: last.hash(),
                    recorded_at: last.entry().unsigned.recorded_at,
                });
            }
            derived_any = true;
            if !full || !complete {
                break;
            }
        }
        if derived_any {
            let a = verifier.authority();
            // The head moves with the rows, in one batch: a catch-up cut
            // short leaves the old head and its rows, and the next one
            // derives the same nodes and postings again.
            let mut batch = sled::Batch::default();
            if let Some(h) = head {
                batch.insert(HEAD_KEY, encode_head(&h));
            }
            for row in all_rows(a) {
                batch.insert(row_key(&row), row_value(a, &row));
            }
            match head.filter(|_| was_verified && complete) {
                Some(h) => batch.insert(VERIFIED_KEY, encode_head(&h)),
                None => batch.remove(VERIFIED_KEY),
            }
            self.tree
                .apply_batch(batch)
                .map_err(|e| self.store_error(e))?;
        }
        Ok(head)
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
        build: impl FnOnce(&mut Authority, Option<Head>, Timestamp) -> Result<Built>,
    ) -> Result<Vec<Appended>> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        // Checked under the lock, so no append can slip in after a failed flush.
        if self.flush_failed.load(std::sync::atomic::Ordering::SeqCst)
            || self.syncer.as_ref().is_some_and(|s| s.failure().is_some())
        {
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
        if let Some(e) = self.refusal_to_append(state.head) {
            state.authority = Some(authority);
            return Err(e);
        }
        let written = build(&mut authority, state.head, now).and_then(|built| {
            let (batch, head, appended, entries) = built;
            // The new head and the ticket of the batch that wrote it.
            let Some(head) = head else {
                return Ok((None, appended));
            };
            // The record first: derived data never runs ahead of it. Its
            // sync starts now, while the derived rows are applied.
            self.segments
                .append(head.seq + 1 - entries.len() as u64, &entries)?;
            let ticket = self.syncer.as_ref().map_or(0, commit::Syncer::written);
            let mut batch = batch;
            if state.verified {
                // Appends make every check verification makes, so a verified
                // log stays verified through them.
                batch.insert(VERIFIED_KEY, encode_head(&head));
            }
            if let Err(e) = self.tree.apply_batch(batch) {
                // The entries are written and the derived data is not: this
                // handle's view is stale. A reopen derives them.
                self.flush_failed
                    .store(true, std::sync::atomic::Ordering::SeqCst);
                return Err(self.store_error(e));
            }
            Ok((Some((head, ticket)), appended))
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

    /// Why this handle may not append after `head`, if it may not: it only
    /// reads, or the log is damaged there (nothing may chain onto it).
    fn refusal_to_append(&self, head: Option<Head>) -> Option<Error> {
        if !matches!(self.role, Role::Writer { .. }) {
            return Some(self.read_only_error());
        }
        if let Some(e) = self.segments.damaged() {
            return Some(self.frame_error(e.clone()));
        }
        let next = head.map_or(0, |h| h.seq + 1);
        (next != self.segments.len()).then(|| {
            // Catching up stopped short of the entries: the one after it
            // did not verify, and nothing may chain onto the log past it.
            Error::Store {
                path: self.path.clone(),
                message: format!(
                    "appends are refused: the entry at seq {next} does not verify \
                     (trail verify --log says why)"
                ),
            }
        })
    }

    /// Returns once the frames holding `ticket` are on disk; see `commit.rs`.
    fn wait_durable(&self, ticket: u64) -> Result<()> {
        let Some(syncer) = &self.syncer else {
            return Ok(());
        };
        syncer.wait_durable(ticket).map_err(|e| {
            // The frames may or may not reach the disk, and later appends
            // would chain onto them: refused until the log is reopened and
            // its real end read back.
            self.flush_failed
                .store(true, std::sync::atomic::Ordering::SeqCst);
            Error::Store {
                path: self.path.clone(),
                message: format!(
                    "a write to this log failed ({e}); reopen the log before appending"
                ),
            }
        })
    }

    /// Waits until every batch applied on this handle so far is on disk.
    /// Another thread's append is visible to readers of this handle as soon
    /// as it is applied, before its flush; what is published from the log (a
    /// bundle, a proof) must not hold an entry a crash could still take back.
    pub fn settle(&self) -> Result<()> {
        self.wait_durable(self.syncer.as_ref().map_or(0, commit::Syncer::last_written))
    }

    fn failed_flush_error(&self) -> Error {
        Error::Store {
            path: self.path.clone(),
            message: "an earlier write to this log failed; reopen the log before appending".into(),
        }
    }

    /// Reads stored entries `from..=to` (unverified), in order.
    pub fn entries(&self, from: u64, to: Option<u64>) -> impl Iterator<Item = Result<Entry>> + '_ {
        self.segments
            .read(from, to.unwrap_or(u64::MAX))
            .map(move |item| {
                let (_, bytes) = item.map_err(|e| self.frame_error(e))?;
                Entry::from_bytes(&bytes).map_err(Error::from)
            })
    }

    /// The stored canonical bytes of entries `from..=to` (unverified), in
    /// order, without decoding them: what a server hands to a client that
    /// verifies for itself. A damaged or missing entry ends it with an error.
    pub fn entry_bytes(&self, from: u64, to: u64) -> impl Iterator<Item = Result<Vec<u8>>> + '_ {
        self.segments.read(from, to).map(move |item| {
            item.map(|(_, bytes)| bytes)
                .map_err(|e| self.frame_error(e))
        })
    }

    /// Stored entries in order as (seq, canonical bytes), undecoded and
    /// unverified; a damaged or missing entry ends the iteration with it.
    pub fn raw_entries(&self) -> impl Iterator<Item = Result<(u64, Vec<u8>)>> + '_ {
        self.segments
            .read(0, u64::MAX)
            .map(move |item| item.map_err(|e| self.frame_error(e)))
    }

    /// The stored bytes of entry `seq`, or why they cannot be read.
    pub(crate) fn stored_entry(&self, seq: u64) -> Result<Vec<u8>> {
        self.segments.get(seq).map_err(|e| self.frame_error(e))
    }

    pub(crate) fn frame_error(&self, e: FrameError) -> Error {
        match e {
            FrameError::Damaged { seq, what } => Error::Verify(VerifyError {
                seq,
                problem: Problem::DamagedFrame { what },
            }),
            FrameError::Missing { seq } => Error::Verify(VerifyError {
                seq,
                problem: Problem::Missing,
            }),
            FrameError::Io { path, message } => Error::Store { path, message },
        }
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
                        for row in indexer.rows_of(self, v.entry(), |_| None) {
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
        // The entries are read (and their frames checked) on a thread of
        // their own, a chunk or two ahead, so that reading never leaves the
        // cores idle between chunks.
        let read: Result<()> = std::thread::scope(|scope| {
            let (chunks, received) =
                std::sync::mpsc::sync_channel::<(Vec<Vec<u8>>, Option<Error>)>(2);
            scope.spawn(move || {
                let mut chunk = Vec::with_capacity(CHUNK);
                let mut chunk_bytes = 0;
                for item in self.raw_entries() {
                    match item {
                        Ok((_, bytes)) => {
                            chunk_bytes += bytes.len();
                            chunk.push(bytes);
                        }
                        Err(e) => {
                            let _ = chunks.send((chunk, Some(e)));
                            return;
                        }
                    }
                    // Bounded in bytes too, so that a log of large entries
                    // keeps a few chunks in memory, not gigabytes.
                    if chunk.len() == CHUNK || chunk_bytes >= CHUNK_BYTES {
                        chunk_bytes = 0;
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                        if chunks.send((full, None)).is_err() {
                            return;
                        }
                    }
                }
                let _ = chunks.send((chunk, None));
            });
            for (chunk, failed) in received {
                step(chunk, &mut previous, &mut verifier, &mut frontier)?;
                if let Some(e) = failed {
                    // An earlier bad entry among those not yet checked is the
                    // first problem, not the gap or the read error after it.
                    step(Vec::new(), &mut previous, &mut verifier, &mut frontier)?;
                    return Err(e);
                }
            }
            step(Vec::new(), &mut previous, &mut verifier, &mut frontier)
        });
        read?;
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
        let path = self.path.join(CHECKPOINT_FILE);
        match std::fs::read(&path) {
            Ok(note) => Ok(Some(note)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Keeps a signed checkpoint note (already checked by the caller) as the
    /// latest, in its own file: it is not derived from the entries.
    pub fn keep_checkpoint(&self, note: &[u8]) -> Result<()> {
        if !matches!(self.role, Role::Writer { .. }) {
            return Err(self.read_only_error());
        }
        write_file_durably(&self.path.join(CHECKPOINT_FILE), note)
    }

    fn read_only_error(&self) -> Error {
        Error::Store {
            path: self.path.clone(),
            message: "this handle was opened to read the log, not to write it".into(),
        }
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
        if let Some(e) = self.refusal_to_append(self.head()) {
            return Err(e);
        }
        if let Some(first) = entries.first() {
            let bytes: Vec<Vec<u8>> = entries.iter().map(|v| v.bytes().to_vec()).collect();
            self.segments.append(first.seq(), &bytes)?;
        }
        self.derive(entries, authority, true)
    }

    /// Writes what `entries` (verified, and in the segments) derive: their
    /// Merkle nodes, index rows and the head; the registry rows are the
    /// caller's to write.
    fn derive(
        &self,
        entries: &[VerifiedEntry],
        authority: &Authority,
        with_head: bool,
    ) -> Result<()> {
        let mut batch = sled::Batch::default();
        let mut nodes = PendingNodes::new(&self.tree, &self.path);
        let first = entries.first().map_or(0, VerifiedEntry::seq);
        let mut indexer = self.importing.lock().unwrap_or_else(|p| p.into_inner());
        let mut postings = index::Postings::default();
        for v in entries {
            nodes.append(&mut batch, v.seq(), encoding::merkle_leaf_hash(v.bytes()))?;
            // A correction's target is stored already, or earlier in this chunk.
            let in_chunk = |seq: u64| {
                let at = usize::try_from(seq.checked_sub(first)?).ok()?;
                Some(entries.get(at)?.entry().event().clone())
            };
            for posting in indexer.rows_of(self, v.entry(), in_chunk) {
                postings.add(posting);
            }
        }
        drop(indexer);
        postings
            .write(&self.tree, &mut batch)
            .map_err(|e| self.store_error(e))?;
        // Catching up writes the head once, with the rows (`catch_up`).
        if let Some(last) = entries.last().filter(|_| with_head) {
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
        self.segments.sync()?;
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
        refuse_existing(dir)?;
        let io = |source| Error::Io {
            path: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let marker = dir.join(MARKER_FILE);
        let mut file = std::fs::File::create(&marker).map_err(io)?;
        std::io::Write::write_all(&mut file, MARKER_TEXT.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        let lock = take_writer_lock(dir, None)?;
        Segments::create(dir)?;
        let db = open_sled(dir, None)?;
        Log::assemble(dir, db, Role::Writer { _lock: lock })
    }
}

impl Drop for Log {
    fn drop(&mut self) {
        // The syncing thread ends first, while the writer's lock is still
        // held: no sync may rewrite the durable record under a next writer.
        drop(self.syncer.take());
        // The derived data is not flushed by appends (the segments are what
        // must be durable); flushed here, a clean close leaves nothing to
        // derive again on the next open.
        if !matches!(self.role, Role::Detached { .. }) {
            let _ = self.db.flush();
        }
        self.segments.sync_durable_record();
    }
}

/// Answers a resumed verifier's questions about entries before it.
pub(crate) struct SegmentHistory(pub(crate) std::sync::Arc<Segments>);

impl History for SegmentHistory {
    fn signer_and_kind(&self, seq: u64) -> Option<(PublicKey, EventKind)> {
        let bytes = self.0.get(seq).ok()?;
        let entry = Entry::from_bytes(&bytes).ok()?;
        Some((entry.unsigned.signer, entry.event().kind()))
    }
}

/// Refuses a directory that is not a trail log before sled touches it
/// (sled rewrites files it does not recognise). The marker file says so;
/// when it is damaged, a whole first segment header does.
fn check_is_log(dir: &Path) -> Result<()> {
    let marker = std::fs::read_to_string(dir.join(MARKER_FILE));
    let marked = marker
        .as_deref()
        .is_ok_and(|m| m == MARKER_TEXT || m == MARKER_TEXT_V1);
    if marked {
        return Ok(());
    }
    if segments::first_header_is_whole(dir) {
        return Err(Damage::Marker {
            path: dir.join(MARKER_FILE),
        }
        .into());
    }
    Err(Error::NotALog {
        path: dir.to_owned(),
    })
}

/// Refuses to create a log where one (or sled's files) already is.
fn refuse_existing(dir: &Path) -> Result<()> {
    let taken = [MARKER_FILE, segments::DIR, "db", "conf"]
        .iter()
        .any(|name| dir.join(name).exists());
    if taken {
        return Err(Error::LogExists {
            path: dir.to_owned(),
        });
    }
    Ok(())
}

/// Takes the writer's lock, retrying for `wait`.
fn take_writer_lock(dir: &Path, wait: Option<Duration>) -> Result<std::fs::File> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                if wait.is_none_or(|w| started.elapsed() >= w) {
                    return Err(Error::Busy {
                        path: dir.to_owned(),
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::Error(source)) => return Err(Error::Io { path, source }),
        }
    }
}

/// Whether a writer holds the log: its lock cannot be shared.
fn writer_running(dir: &Path) -> Result<bool> {
    let Ok(file) = std::fs::File::open(dir.join(LOCK_FILE)) else {
        return Ok(false);
    };
    Ok(matches!(
        file.try_lock_shared(),
        Err(std::fs::TryLockError::WouldBlock)
    ))
}

/// Opens sled's files, retrying for `wait` while another process holds
/// them.
fn open_sled(dir: &Path, wait: Option<Duration>) -> Result<sled::Db> {
    let started = Instant::now();
    let mut snapshots_cleaned = false;
    loop {
        // No background flusher: the file lock is released as soon as the
        // Log drops, and appends need no sled flush.
        let config = sled::Config::new()
            .path(dir)
            .flush_every_ms(None)
            .cache_capacity(CACHE_BYTES);
        match config.open() {
            Ok(db) => return Ok(db),
            Err(e) if is_lock_error(&e) => {
                if wait.is_none_or(|w| started.elapsed() >= w) {
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
    }
}

/// Whether `e` says the derived data in sled cannot be used: what a reader
/// works around by deriving it again in memory.
fn is_derived_damage(e: &Error) -> bool {
    matches!(
        e,
        Error::Damaged(Damage::Sled { .. } | Damage::Record { .. } | Damage::Tree(_))
            | Error::Store { .. }
            | Error::NotALog { .. }
    )
}

/// What building an append yields: the derived rows, the new head, where
/// each entry landed, and the entries' bytes to frame in the segments.
type Built = (sled::Batch, Option<Head>, Vec<Appended>, Vec<Vec<u8>>);

/// Looks up correction targets in the store and in the batch being appended.
struct StoreHistory<'a> {
    segments: &'a Segments,
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
        let bytes = self.segments.get(seq).ok()?;
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
        index::stored_event(&self.log.segments, seq)
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
    log: &'a Log,
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
            log,
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
            segments: &self.log.segments,
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
    fn finish(mut self, authority: &Authority) -> Result<Built> {
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
        Ok((self.batch, new_head, self.appended, self.entries))
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
/// Replaces `path` with `bytes` whole: a crash leaves the old file or the new.
pub(crate) fn write_file_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    std::io::Write::write_all(&mut file, bytes).map_err(io)?;
    file.as_file().sync_all().map_err(io)?;
    file.persist(path).map_err(|e| io(e.error))?;
    sync_dir(dir)
}

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
