//! Query indexes: which entries concern a recommendation, a report, an
//! actor, an event type or a funding decision.
//!
//! Each index is a set of posting lists in sled, written in the same batch
//! as the entries they point at, so an acknowledged append is always
//! indexed. One key holds the seqs of one id within one block of 65,536
//! seqs: `x:` + one letter + id + `0x00` + block (u32 big-endian), or for
//! event types `x:t` + kind code (u16 big-endian) + block; its value is the
//! seqs' offsets in the block (u16 big-endian, rising). Ids never hold a
//! zero byte, so one id's keys are exactly a prefix scan. Lists rather than
//! a key per entry: sled 0.34 slows down sharply on many small keys (a
//! million entries with five keys each took over 20 s to open), and an
//! append rewrites only the few lists it touches.
//!
//! The indexes are derived data: they choose which entries a query reads,
//! and those entries are checked as they are read (`store/select.rs`). They
//! can be rebuilt from the entries alone ([`Log::rebuild_indexes`]), and
//! [`Log::indexes_match`] compares the maintained rows with what the entries
//! imply, as an order-independent digest, so that no query trusts an index
//! the chain does not back.
//!
//! What each index holds:
//! - **rec**: every statement naming the recommendation (its issue, response,
//!   claims, assessments, extensions, revisions, closure), every funding
//!   decision and accountability session listing it, and every correction of
//!   any of those;
//! - **report**: its publication and corrections of it;
//! - **report recs**: the issue of each of its recommendations, and
//!   corrections of those;
//! - **actor**: every entry signed by one of the actor's keys;
//! - **type**: every entry of the event kind;
//! - **funding**: every stage of the decision, every claim citing it, and
//!   corrections of those.

use std::collections::{BTreeSet, HashMap};

use crate::entry::Entry;
use crate::error::{Damage, Result};
use crate::event::{Event, EventKind};
use crate::store::Log;
use crate::store::segments::Segments;
use crate::types::{Id, PublicKey};

/// Marks a store whose indexes are complete, in this layout.
pub(crate) const INDEX_FORMAT_KEY: &[u8] = b"m:index";
pub(crate) const INDEX_FORMAT_VALUE: &[u8] = b"trail index v3";
/// Prefix of every index row.
const INDEX_PREFIX: &[u8] = b"x:";

/// One of the query indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Index {
    /// Recommendation id to the entries that concern it.
    Rec,
    /// Report id to its publication (and corrections of it).
    Report,
    /// Report id to the issue of each of its recommendations.
    ReportRecs,
    /// Actor id to the entries its keys signed.
    Actor,
    /// Funding decision id to its stages and the claims citing it.
    Funding,
}

impl Index {
    fn prefix(self) -> &'static [u8] {
        match self {
            Index::Rec => b"x:r",
            Index::Report => b"x:p",
            Index::ReportRecs => b"x:q",
            Index::Actor => b"x:a",
            Index::Funding => b"x:f",
        }
    }
}

const KIND_PREFIX: &[u8] = b"x:t";
/// Prefix of the lists of an entry's corrections (by the corrected seq).
const CORRECTIONS_PREFIX: &[u8] = b"x:c";

fn id_prefix(index: Index, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + id.len() + 9);
    key.extend_from_slice(index.prefix());
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// Seqs per posting list for the sparse indexes (a recommendation's, a
/// report's, a decision's entries, an entry's corrections): 65,536, so an
/// id's few entries over a long stretch of the log share one list.
const BLOCK_BITS: u32 = 16;
/// Seqs per list for the dense ones (an event type's, an actor's entries):
/// 4,096, so that the list an append rewrites stays under 8 KiB.
const DENSE_BLOCK_BITS: u32 = 12;

/// The block size of the list with this key (prefix).
fn block_bits(key: &[u8]) -> u32 {
    if key.starts_with(KIND_PREFIX) || key.starts_with(Index::Actor.prefix()) {
        DENSE_BLOCK_BITS
    } else {
        BLOCK_BITS
    }
}

/// A posting: the list's key (with its block) and the seq's offset in it.
pub(crate) type Posting = (Vec<u8>, u16);

fn posting(mut key: Vec<u8>, seq: u64) -> Posting {
    let bits = block_bits(&key);
    let block = u32::try_from(seq >> bits).unwrap_or(u32::MAX);
    key.extend_from_slice(&block.to_be_bytes());
    (key, (seq & ((1 << bits) - 1)) as u16)
}

fn id_key(index: Index, id: &Id, seq: u64) -> Posting {
    posting(id_prefix(index, id.as_str()), seq)
}

fn kind_prefix(kind: EventKind) -> Vec<u8> {
    let mut key = KIND_PREFIX.to_vec();
    key.extend_from_slice(&(kind as u16).to_be_bytes());
    key
}

fn kind_key(kind: EventKind, seq: u64) -> Posting {
    posting(kind_prefix(kind), seq)
}

/// The seqs of one posting list: its key's block and its value's offsets,
/// which must rise; `None` for a list that is not well formed.
fn seqs_of(key: &[u8], value: &[u8]) -> Option<Vec<u64>> {
    let tail = key.len().checked_sub(4).and_then(|at| key.get(at..))?;
    let base = u64::from(u32::from_be_bytes(tail.try_into().ok()?)) << block_bits(key);
    if !value.len().is_multiple_of(2) {
        return None;
    }
    let offsets: Vec<u16> = value
        .chunks_exact(2)
        .map(|o| u16::from_be_bytes([o[0], o[1]]))
        .collect();
    let in_block = |o: &u16| u32::from(*o) >> block_bits(key) == 0;
    if offsets.windows(2).any(|w| w[0] >= w[1]) || !offsets.iter().all(in_block) {
        return None;
    }
    Some(offsets.into_iter().map(|o| base + u64::from(o)).collect())
}

/// Postings being added in one sled batch, grouped by list.
#[derive(Default)]
pub(crate) struct Postings(HashMap<Vec<u8>, Vec<u16>>);

impl Postings {
    pub(crate) fn add(&mut self, (key, offset): Posting) {
        self.0.entry(key).or_default().push(offset);
    }

    /// Adds the batch's postings to the stored lists, in `batch`.
    pub(crate) fn write(self, tree: &sled::Tree, batch: &mut sled::Batch) -> sled::Result<()> {
        for (key, mut offsets) in self.0 {
            // Usually the new offsets follow the stored ones; a correction
            // can add an earlier member of its family, so merge in order.
            if let Some(stored) = tree.get(&key)? {
                offsets.extend(
                    stored
                        .chunks_exact(2)
                        .map(|o| u16::from_be_bytes([o[0], o[1]])),
                );
            }
            offsets.sort_unstable();
            offsets.dedup();
            let list: Vec<u8> = offsets.iter().flat_map(|o| o.to_be_bytes()).collect();
            batch.insert(key, list);
        }
        Ok(())
    }
}

/// One thing an entry is about, for the indexes other than actor and type.
pub(crate) type Subject = (Index, Id);

/// What `event` itself names: a correction, what its replacement names.
pub(crate) fn subjects_of(event: &Event) -> BTreeSet<Subject> {
    let mut s = BTreeSet::new();
    let mut add = |index: Index, id: &Id| {
        s.insert((index, id.clone()));
    };
    match event {
        Event::RecommendationIssued(r) => {
            add(Index::Rec, &r.rec);
            add(Index::ReportRecs, &r.report);
        }
        Event::ReportPublished(r) => add(Index::Report, &r.report),
        Event::FundingDecision(f) => {
            f.recs.iter().for_each(|r| add(Index::Rec, r));
            add(Index::Funding, &f.decision);
        }
        Event::AccountabilitySession(a) => a.recs.iter().for_each(|r| add(Index::Rec, r)),
        Event::ProgressClaim(c) => {
            add(Index::Rec, &c.rec);
            c.funding
                .iter()
                .for_each(|f| add(Index::Funding, &f.decision));
        }
        Event::Correction(c) => {
            if let Some(r) = &c.replacement {
                return subjects_of(&r.0);
            }
        }
        other => {
            if let Some(rec) = other.rec() {
                add(Index::Rec, rec);
            }
        }
    }
    s
}

/// What the postings of an entry need to look up: earlier entries' events
/// and the corrections of an entry, stored or staged before it.
pub(crate) trait Lookup {
    /// The event of entry `seq`.
    fn event(&self, seq: u64) -> Option<Event>;
    /// The seqs of the corrections of entry `target` so far, in order.
    fn corrections_of(&self, target: u64) -> Vec<u64>;
}

/// The postings of entry `seq`, signed for `actor`.
///
/// An entry and its corrections form a family, and every member is posted
/// under everything any member is about: a correction can move a statement
/// to another recommendation (or decision, or report), and a replay of
/// either must then fold the statement and all its corrections. So a new
/// correction is posted under the family's subjects and its own, and the
/// earlier members under what it adds.
pub(crate) fn postings(
    seq: u64,
    event: &Event,
    actor: Option<&Id>,
    lookup: &dyn Lookup,
) -> Vec<Posting> {
    let mut out = vec![kind_key(event.kind(), seq)];
    out.extend(actor.map(|a| id_key(Index::Actor, a, seq)));
    let Event::Correction(c) = event else {
        out.extend(
            subjects_of(event)
                .iter()
                .map(|(index, id)| id_key(*index, id, seq)),
        );
        return out;
    };
    let mut members = vec![c.target_seq];
    members.extend(lookup.corrections_of(c.target_seq));
    let before: BTreeSet<Subject> = members
        .iter()
        .filter_map(|m| lookup.event(*m))
        .flat_map(|e| subjects_of(&e))
        .collect();
    let mut after = before.clone();
    after.extend(subjects_of(event));
    out.extend(after.iter().map(|(index, id)| id_key(*index, id, seq)));
    for (index, id) in after.difference(&before) {
        out.extend(members.iter().map(|m| id_key(*index, id, *m)));
    }
    out.push(correction_key(c.target_seq, seq));
    out
}

/// The key prefix of the list of corrections of entry `target`.
fn corrections_prefix(target: u64) -> Vec<u8> {
    let mut key = CORRECTIONS_PREFIX.to_vec();
    key.extend_from_slice(&target.to_be_bytes());
    key
}

fn correction_key(target: u64, seq: u64) -> Posting {
    posting(corrections_prefix(target), seq)
}

/// The corrections of `target` in the store's own lists.
pub(crate) fn stored_corrections(tree: &sled::Tree, target: u64) -> Vec<u64> {
    let prefix = corrections_prefix(target);
    let mut out = Vec::new();
    for (key, value) in tree.scan_prefix(&prefix).flatten() {
        if key.len() == prefix.len() + 4 {
            out.extend(seqs_of(&key, &value).unwrap_or_default());
        }
    }
    out
}

/// The event of a stored entry, if it decodes.
pub(crate) fn stored_event(segments: &Segments, seq: u64) -> Option<Event> {
    let bytes = segments.get(seq).ok()?;
    Entry::from_bytes(&bytes).ok().map(|e| e.unsigned.event)
}

/// The actor each key signs for, folded from key events as they pass: a
/// key's actor never changes once granted, and a rotated key's successor
/// signs for the same actor.
#[derive(Default)]
pub(crate) struct Signers(HashMap<PublicKey, Id>);

impl Signers {
    /// The actor that `signer` signs `event` for; call before [`Signers::learn`].
    pub(crate) fn actor(&self, signer: &PublicKey, event: &Event) -> Option<Id> {
        match event {
            Event::LogCreated(g) => Some(g.actor.clone()),
            _ => self.0.get(signer).cloned(),
        }
    }

    pub(crate) fn learn(&mut self, signer: &PublicKey, event: &Event) {
        match event {
            Event::LogCreated(g) => {
                self.0.insert(g.public_key, g.actor.clone());
            }
            Event::KeyGranted(g) => {
                self.0.insert(g.public_key, g.actor.clone());
            }
            Event::KeyRotated(r) => {
                if let Some(actor) = self.0.get(signer).cloned() {
                    self.0.insert(r.new_public_key, actor);
                }
            }
            _ => {}
        }
    }
}

/// An order-independent digest of a set of postings: the wrapping sum of
/// the BLAKE3 hash (first 16 bytes) of each list key followed by the
/// offset, and the count. Two sets with the same digest are equal but for a
/// 2^-128 accident or a crafted collision, which someone able to write the
/// store has no need for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RowDigest {
    sum: u128,
    count: u64,
}

impl RowDigest {
    pub(crate) fn add(&mut self, (key, offset): &Posting) {
        let mut hasher = blake3::Hasher::new();
        hasher.update(key);
        hasher.update(&offset.to_be_bytes());
        let hash = hasher.finalize();
        let mut first = [0u8; 16];
        first.copy_from_slice(&hash.as_bytes()[..16]);
        self.sum = self.sum.wrapping_add(u128::from_le_bytes(first));
        self.count += 1;
    }
}

/// Computes the postings of entries read in log order, as a rebuild, a
/// check or an import does: it keeps the signers and every correction seen,
/// so it never reads the store's own lists, which it may be rebuilding.
pub(crate) struct Indexer {
    signers: Signers,
    corrections: HashMap<u64, Vec<u64>>,
}

/// Lookups for an [`Indexer`]: events from entries not yet stored first.
struct IndexerLookup<'a, F> {
    segments: &'a Segments,
    pending: F,
    corrections: &'a HashMap<u64, Vec<u64>>,
}

impl<F: Fn(u64) -> Option<Event>> Lookup for IndexerLookup<'_, F> {
    fn event(&self, seq: u64) -> Option<Event> {
        (self.pending)(seq).or_else(|| stored_event(self.segments, seq))
    }

    fn corrections_of(&self, target: u64) -> Vec<u64> {
        self.corrections.get(&target).cloned().unwrap_or_default()
    }
}

impl Indexer {
    pub(crate) fn new() -> Indexer {
        Indexer {
            signers: Signers::default(),
            corrections: HashMap::new(),
        }
    }

    /// The postings of `entry`, the next in log order. Earlier events are
    /// looked up with `pending` first (entries not yet stored), then in `log`.
    pub(crate) fn rows_of(
        &mut self,
        log: &Log,
        entry: &Entry,
        pending: impl Fn(u64) -> Option<Event>,
    ) -> Vec<Posting> {
        let u = &entry.unsigned;
        let actor = self.signers.actor(&u.signer, &u.event);
        self.signers.learn(&u.signer, &u.event);
        let lookup = IndexerLookup {
            segments: &log.segments,
            pending,
            corrections: &self.corrections,
        };
        let out = postings(u.seq, &u.event, actor.as_ref(), &lookup);
        if let Event::Correction(c) = &u.event {
            self.corrections
                .entry(c.target_seq)
                .or_default()
                .push(u.seq);
        }
        out
    }
}

impl Log {
    /// The seqs an index holds for `id`, in log order.
    pub fn indexed(&self, index: Index, id: &str) -> Result<Vec<u64>> {
        self.scan_seqs(id_prefix(index, id))
    }

    /// The seqs of every entry of event kind `kind`, in log order.
    pub fn indexed_kind(&self, kind: EventKind) -> Result<Vec<u64>> {
        self.scan_seqs(kind_prefix(kind))
    }

    fn scan_seqs(&self, prefix: Vec<u8>) -> Result<Vec<u64>> {
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix) {
            let (key, value) = item.map_err(|e| self.store_error(e))?;
            // Only lists of exactly this id: the key is the prefix and a block.
            if key.len() != prefix.len() + 4 {
                continue;
            }
            let seqs = seqs_of(&key, &value).ok_or_else(|| Damage::Record {
                what: "index list",
                reason: "its length is not a whole number of offsets".into(),
            })?;
            out.extend(seqs);
        }
        Ok(out)
    }

    /// The ids that index `index` holds rows for, in order (every
    /// recommendation, say), without reading any entry.
    pub fn indexed_ids(&self, index: Index) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for key in self.tree.scan_prefix(index.prefix()).keys() {
            let key = key.map_err(|e| self.store_error(e))?;
            let id = key
                .get(index.prefix().len()..key.len().saturating_sub(5))
                .and_then(|b| std::str::from_utf8(b).ok())
                .ok_or_else(|| Damage::Record {
                    what: "index row",
                    reason: "its id is not valid".into(),
                })?;
            if out.last().map(String::as_str) != Some(id) {
                out.push(id.to_owned());
            }
        }
        Ok(out)
    }

    /// Whether the indexes are complete in the current layout; a log written
    /// before they were kept has none until [`Log::rebuild_indexes`] runs
    /// (open does it).
    pub(crate) fn indexes_present(&self) -> Result<bool> {
        Ok(self
            .tree
            .get(INDEX_FORMAT_KEY)
            .map_err(|e| self.store_error(e))?
            .as_deref()
            == Some(INDEX_FORMAT_VALUE))
    }

    /// Deletes every index row and writes them again from the stored
    /// entries, then flushes. A crash part way leaves the store marked as
    /// having no indexes, so the next open rebuilds them.
    pub fn rebuild_indexes(&self) -> Result<()> {
        let sled_error = |e| self.store_error(e);
        let mut clear = sled::Batch::default();
        clear.remove(INDEX_FORMAT_KEY);
        for key in self.tree.scan_prefix(INDEX_PREFIX).keys() {
            clear.remove(key.map_err(sled_error)?);
        }
        self.tree.apply_batch(clear).map_err(sled_error)?;
        let mut indexer = Indexer::new();
        // One block's lists at a time: entries come in seq order, so a
        // block's lists are complete once the next block begins.
        let mut postings = Postings::default();
        let mut block = 0u64;
        for item in self.raw_entries() {
            // An entry that cannot be read has no rows, nor any after it;
            // verification names it.
            let Ok((_, bytes)) = item else {
                break;
            };
            // An entry that does not decode has no rows; verification names it.
            let Ok(entry) = Entry::from_bytes(&bytes) else {
                continue;
            };
            if entry.unsigned.seq >> BLOCK_BITS != block {
                let mut batch = sled::Batch::default();
                std::mem::take(&mut postings)
                    .write(&self.tree, &mut batch)
                    .map_err(sled_error)?;
                self.tree.apply_batch(batch).map_err(sled_error)?;
                block = entry.unsigned.seq >> BLOCK_BITS;
            }
            for row in indexer.rows_of(self, &entry, |_| None) {
                postings.add(row);
            }
        }
        let mut batch = sled::Batch::default();
        postings.write(&self.tree, &mut batch).map_err(sled_error)?;
        batch.insert(INDEX_FORMAT_KEY, INDEX_FORMAT_VALUE);
        self.tree.apply_batch(batch).map_err(sled_error)?;
        self.db.flush().map_err(sled_error)?;
        Ok(())
    }

    /// Whether the stored index rows are exactly those the stored entries
    /// imply (`expected`, computed while the entries were verified).
    pub(crate) fn index_rows_match(&self, expected: RowDigest) -> Result<bool> {
        if !self.indexes_present()? {
            return Ok(false);
        }
        let mut stored = RowDigest::default();
        for item in self.tree.scan_prefix(INDEX_PREFIX) {
            let (key, value) = item.map_err(|e| self.store_error(e))?;
            let Some(seqs) = seqs_of(&key, &value) else {
                return Ok(false);
            };
            let list = &key[..key.len().saturating_sub(4)];
            for seq in seqs {
                stored.add(&posting(list.to_vec(), seq));
            }
        }
        Ok(stored == expected)
    }

    /// Whether the indexes match the stored entries, computed from the
    /// entries alone (without verifying them: [`Log::verify_with`] does both).
    pub fn indexes_match(&self) -> Result<bool> {
        let mut indexer = Indexer::new();
        let mut expected = RowDigest::default();
        for item in self.raw_entries() {
            let (_, bytes) = item?;
            let entry = Entry::from_bytes(&bytes)?;
            for row in indexer.rows_of(self, &entry, |_| None) {
                expected.add(&row);
            }
        }
        self.index_rows_match(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testlog;

    fn log_with_a_report(dir: &std::path::Path) -> Log {
        testlog::log_with_a_report(dir, "Office", "T", "S")
    }

    #[test]
    fn rows_name_each_index() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path());
        assert_eq!(log.indexed(Index::Rec, "R1").unwrap(), [3]);
        assert_eq!(log.indexed(Index::ReportRecs, "REP").unwrap(), [3]);
        assert_eq!(log.indexed(Index::Report, "REP").unwrap(), [2]);
        assert_eq!(log.indexed(Index::Actor, "noo").unwrap(), [2, 3]);
        assert_eq!(log.indexed(Index::Actor, "admin").unwrap(), [0, 1]);
        assert_eq!(log.indexed_kind(EventKind::KeyGranted).unwrap(), [1]);
        // An id that is a prefix of another is not mixed with it.
        assert!(log.indexed(Index::Rec, "R").unwrap().is_empty());
    }

    #[test]
    fn a_missing_or_invented_row_is_found_by_verification_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path());
        let (list, _) = id_key(Index::Rec, &Id::new("R1").unwrap(), 3);
        for damage in [true, false] {
            if damage {
                log.tree.remove(&list).unwrap();
            } else {
                // Seq 1 added to R1's list, before seq 3.
                log.tree.insert(&list, &[0u8, 1, 0, 3]).unwrap();
            }
            assert!(!log.indexes_match().unwrap());
            let verifier = log.verify_with(|_| Ok(())).unwrap();
            assert!(verifier.indexes_rebuilt());
            assert!(log.indexes_match().unwrap());
            assert_eq!(log.indexed(Index::Rec, "R1").unwrap(), [3]);
        }
    }

    #[test]
    fn lists_cross_blocks_of_both_sizes() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path());
        // 5,000 more reports: the type and actor lists cross a 4,096-seq block.
        let events: Vec<Event> = (0..5000)
            .map(|i| {
                Event::from_json(&format!(
                    r#"{{"type":"report_published","report":"REP{i}","title":"T","date":"2021-02-01"}}"#
                ))
                .unwrap()
            })
            .collect();
        log.append_all(&crate::store::testlog::issuer(), events)
            .unwrap();
        let reports = log.indexed_kind(EventKind::ReportPublished).unwrap();
        assert_eq!(reports, (2..3).chain(4..5004).collect::<Vec<u64>>());
        let by_noo = log.indexed(Index::Actor, "noo").unwrap();
        assert_eq!(by_noo, (2..5004).collect::<Vec<u64>>());
        assert_eq!(log.indexed(Index::Report, "REP4999").unwrap(), [5003]);
        assert!(log.indexes_match().unwrap());
        // The dense lists are small: none over 8 KiB.
        for item in log.tree.scan_prefix(INDEX_PREFIX) {
            let (key, value) = item.unwrap();
            assert!(value.len() <= 8192, "{key:?} holds {} bytes", value.len());
        }
    }

    #[test]
    fn a_log_without_indexes_gets_them_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path());
        let mut clear = sled::Batch::default();
        clear.remove(INDEX_FORMAT_KEY);
        for key in log.tree.scan_prefix(INDEX_PREFIX).keys() {
            clear.remove(key.unwrap());
        }
        log.tree.apply_batch(clear).unwrap();
        log.db.flush().unwrap();
        drop(log);
        let log = Log::open(dir.path()).unwrap();
        assert!(log.indexes_match().unwrap());
        assert_eq!(log.indexed(Index::Rec, "R1").unwrap(), [3]);
    }
}
