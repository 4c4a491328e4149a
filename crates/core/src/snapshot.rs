//! Replay snapshots: the folded [`State`] saved every N entries, so that
//! replay at a date folds forward from the nearest snapshot instead of from
//! the genesis entry.
//!
//! A snapshot is derived data. It lives in its own sled tree (`snapshots`,
//! keyed by the big-endian seq of the last entry folded), outside the atomic
//! append batch, and is never trusted over the chain: it is used only while
//! its recorded entry hash equals the hash of the stored entry at its seq,
//! and the entries after it are verified (signatures, links, authorization)
//! before they are folded. A stale or undecodable snapshot is deleted and
//! rebuilt on the next replay that passes it. `trail verify` still checks
//! every entry from the genesis entry.

use serde::{Deserialize, Serialize};

use crate::authority::History;
use crate::encoding;
use crate::entry::Entry;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::state::State;
use crate::store::{Log, entry_key};
use crate::types::{PublicKey, Timestamp};
use crate::verify::{ResumePoint, Verifier};

/// Default number of entries between snapshots.
///
/// Each snapshot holds the whole folded state (every statement so far), so
/// snapshots are spaced widely and few are kept: see [`KEEP`].
pub const DEFAULT_EVERY: u64 = 100_000;
/// Most snapshots kept; saving another deletes the oldest. Bounds the disk
/// they take to a few times the state's size, however long the log grows.
pub const KEEP: usize = 4;
/// Most entries verified in one chunk while folding forward.
const CHUNK: u64 = 4096;

/// Which entries a replay folds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// Every entry recorded at or before this instant.
    KnownAt(Timestamp),
    /// Every entry up to and including this seq.
    AtSeq(u64),
}

/// How replay uses snapshots.
#[derive(Clone, Copy, Debug)]
pub struct SnapshotOptions {
    /// Save a snapshot after every `every` entries (0 turns snapshots off).
    pub every: u64,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        SnapshotOptions {
            every: DEFAULT_EVERY,
        }
    }
}

/// What is saved: the fold and where verification stood.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    state: State,
    resume: ResumePoint,
}

/// Answers a resumed verifier's questions about entries before the snapshot.
struct StoredEntries(sled::Tree);

impl History for StoredEntries {
    fn signer_and_kind(&self, seq: u64) -> Option<(PublicKey, EventKind)> {
        let bytes = self.0.get(entry_key(seq)).ok()??;
        let entry = Entry::from_bytes(&bytes).ok()?;
        Some((entry.unsigned.signer, entry.event().kind()))
    }
}

impl Log {
    fn snapshots(&self) -> Result<sled::Tree> {
        self.db
            .open_tree("snapshots")
            .map_err(|e| self.store_error(e))
    }

    fn stored_entry(&self, seq: u64) -> Result<Option<(Entry, sled::IVec)>> {
        let Some(bytes) = self
            .tree
            .get(entry_key(seq))
            .map_err(|e| self.store_error(e))?
        else {
            return Ok(None);
        };
        Ok(Some((Entry::from_bytes(&bytes)?, bytes)))
    }

    /// The last seq recorded at or before `t` (recorded time never goes back,
    /// so a binary search over the entries finds it in O(log n) reads).
    fn last_seq_recorded_by(&self, t: Timestamp, head: u64) -> Result<Option<u64>> {
        let recorded = |seq| -> Result<Timestamp> {
            let (entry, _) = self
                .stored_entry(seq)?
                .ok_or_else(|| Error::Corrupt(format!("entry {seq} is missing")))?;
            Ok(entry.unsigned.recorded_at)
        };
        if recorded(0)? > t {
            return Ok(None);
        }
        let (mut lo, mut hi) = (0u64, head);
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if recorded(mid)? <= t {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Ok(Some(lo))
    }

    /// The newest usable snapshot at or before `target`, deleting stale ones met on the way.
    fn nearest_snapshot(&self, tree: &sled::Tree, target: u64) -> Result<Option<Snapshot>> {
        loop {
            let Some(item) = tree
                .range(..=target.to_be_bytes())
                .next_back()
                .transpose()
                .map_err(|e| self.store_error(e))?
            else {
                return Ok(None);
            };
            let (key, value) = item;
            let snapshot: Option<Snapshot> = serde_json::from_slice(&value).ok();
            let usable = match &snapshot {
                Some(s) => {
                    let seq = s.state.last_seq;
                    let stored_hash = match seq {
                        Some(seq) => self
                            .stored_entry(seq)?
                            .map(|(_, bytes)| encoding::entry_hash(&bytes)),
                        None => None,
                    };
                    stored_hash.is_some()
                        && stored_hash == s.state.last_hash
                        && stored_hash == Some(s.resume.prev_hash)
                        && seq.map(|q| q.to_be_bytes().to_vec()) == Some(key.to_vec())
                }
                None => false,
            };
            if usable {
                return Ok(snapshot);
            }
            // Stale: the chain no longer ends where this snapshot says it did.
            tree.remove(&key).map_err(|e| self.store_error(e))?;
        }
    }

    /// Verifies and folds the entries inside `cut`, starting from the nearest
    /// valid snapshot and saving new snapshots every `options.every` entries.
    pub fn replay_state(&self, cut: Cut, options: SnapshotOptions) -> Result<State> {
        let Some(head) = self.head() else {
            return Ok(State::new());
        };
        let target = match cut {
            Cut::AtSeq(n) => Some(n.min(head.seq)),
            Cut::KnownAt(t) => self.last_seq_recorded_by(t, head.seq)?,
        };
        let Some(target) = target else {
            return Ok(State::new());
        };
        let tree = self.snapshots()?;
        let (mut state, mut verifier) = match self.nearest_snapshot(&tree, target)? {
            Some(s) if options.every > 0 => (
                s.state,
                Verifier::resume(s.resume, Box::new(StoredEntries(self.tree.clone()))),
            ),
            _ => (State::new(), Verifier::new()),
        };
        let mut next = state.next_seq();
        while next <= target {
            // Chunks end on snapshot boundaries, so a snapshot is taken exactly there.
            let mut end = target.min(next + CHUNK - 1);
            if let Some(block) = next.checked_div(options.every) {
                end = end.min((block + 1) * options.every - 1);
            }
            let mut chunk = Vec::with_capacity((end - next + 1) as usize);
            for seq in next..=end {
                let (_, bytes) = self
                    .stored_entry(seq)?
                    .ok_or_else(|| Error::Corrupt(format!("entry {seq} is missing")))?;
                chunk.push(bytes.to_vec());
            }
            for entry in verifier.verify_chunk(chunk)? {
                state
                    .apply(&entry)
                    .map_err(|e| Error::Corrupt(e.to_string()))?;
            }
            if options.every > 0 && (end + 1) % options.every == 0 {
                let snapshot = Snapshot {
                    state: state.clone(),
                    resume: verifier.resume_point(),
                };
                if let Ok(bytes) = serde_json::to_vec(&snapshot) {
                    tree.insert(end.to_be_bytes(), bytes)
                        .map_err(|e| self.store_error(e))?;
                    while tree.len() > KEEP {
                        if tree.pop_min().map_err(|e| self.store_error(e))?.is_none() {
                            break;
                        }
                    }
                }
            }
            next = end + 1;
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AccountabilitySession, Event};
    use crate::keys::SecretKey;
    use crate::types::{Day, Id};

    fn log_of(dir: &std::path::Path, name: &str, sessions: u64) -> Log {
        let admin = SecretKey::from_seed(&[1; 32]);
        let log = Log::create(dir, name, &admin, Id::new("admin").unwrap(), "Admin").unwrap();
        let event = |n: u64| {
            Event::AccountabilitySession(AccountabilitySession {
                forum: format!("Board {n}"),
                recs: vec![],
                notes: None,
                date: Day::new(2022, 1, 1).unwrap(),
            })
        };
        let grant = Event::from_json(&format!(
            r#"{{"type":"key_granted","actor":"pcc","body":"PCC","public_key":"{}","roles":["funder"],"date":"2021-01-01"}}"#,
            SecretKey::from_seed(&[2; 32]).public_key()
        ))
        .unwrap();
        log.append(&admin, grant).unwrap();
        log.append_all(
            &SecretKey::from_seed(&[2; 32]),
            (0..sessions).map(event).collect(),
        )
        .unwrap();
        log
    }

    fn saved_seqs(log: &Log) -> Vec<u64> {
        log.snapshots()
            .unwrap()
            .iter()
            .keys()
            .map(|k| u64::from_be_bytes(k.unwrap().as_ref().try_into().unwrap()))
            .collect()
    }

    fn full(log: &Log, seq: u64) -> State {
        log.replay_state(Cut::AtSeq(seq), SnapshotOptions { every: 0 })
            .unwrap()
    }

    #[test]
    fn snapshots_are_saved_and_used() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 60);
        let options = SnapshotOptions { every: 20 };
        assert_eq!(
            log.replay_state(Cut::AtSeq(61), options).unwrap(),
            full(&log, 61)
        );
        let saved = saved_seqs(&log);
        assert_eq!(saved, vec![19, 39, 59]);
        assert_eq!(
            log.replay_state(Cut::AtSeq(45), options).unwrap(),
            full(&log, 45)
        );
    }

    #[test]
    fn only_the_newest_snapshots_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 60);
        let options = SnapshotOptions { every: 5 };
        assert_eq!(
            log.replay_state(Cut::AtSeq(61), options).unwrap(),
            full(&log, 61)
        );
        let saved = saved_seqs(&log);
        assert_eq!(saved, vec![44, 49, 54, 59]);
        assert_eq!(
            log.replay_state(Cut::AtSeq(12), options).unwrap(),
            full(&log, 12)
        );
    }

    #[test]
    fn a_snapshot_of_another_history_is_deleted_not_used() {
        let dir = tempfile::tempdir().unwrap();
        let a = log_of(&dir.path().join("a"), "a", 60);
        let b = log_of(&dir.path().join("b"), "b", 60);
        let options = SnapshotOptions { every: 20 };
        a.replay_state(Cut::AtSeq(61), options).unwrap();
        let (from, to) = (a.snapshots().unwrap(), b.snapshots().unwrap());
        for item in from.iter() {
            let (k, v) = item.unwrap();
            to.insert(k, v).unwrap();
        }
        assert_eq!(
            b.replay_state(Cut::AtSeq(50), options).unwrap(),
            full(&b, 50)
        );
        // The foreign snapshots at 19 and 39 were found stale and replaced by b's own.
        let state_19: Snapshot =
            serde_json::from_slice(&to.get(19u64.to_be_bytes()).unwrap().unwrap()).unwrap();
        assert_eq!(state_19.state, full(&b, 19));
    }

    #[test]
    fn an_undecodable_snapshot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        log.snapshots()
            .unwrap()
            .insert(19u64.to_be_bytes(), &b"garbage"[..])
            .unwrap();
        let options = SnapshotOptions { every: 20 };
        assert_eq!(
            log.replay_state(Cut::AtSeq(31), options).unwrap(),
            full(&log, 31)
        );
    }
}
