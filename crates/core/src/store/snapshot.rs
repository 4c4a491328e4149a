//! Replay snapshots: the folded [`State`] saved every N entries, so that
//! replay at a date folds forward from the nearest snapshot instead of from
//! the genesis entry.
//!
//! A snapshot is derived data. Each is one file in the log directory's
//! `snapshots/` folder, named by the seq of the last entry folded, outside
//! the atomic append batch; files rather than a sled tree, because sled keeps
//! the space of a large removed value until it cleans its segments, so
//! pruning old snapshots there gave no space back. A snapshot is never
//! trusted over the chain: it is used only while its recorded entry hash
//! equals the hash of the stored entry at its seq, and the entries after it
//! are verified (signatures, links, authorization) before they are folded. A
//! stale or undecodable snapshot is deleted and rebuilt on the next replay
//! that passes it; failing to save one does not fail the replay. `trail
//! verify` still checks every entry from the genesis entry.

use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};

use crate::encoding;
use crate::error::{Damage, Result};
use crate::state::State;
use crate::store::{Log, SegmentHistory};
use crate::types::Timestamp;
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
#[derive(Decode)]
struct Snapshot {
    state: State,
    resume: ResumePoint,
}

/// A [`Snapshot`] being saved: the same fields, the state borrowed rather
/// than cloned (it is the whole fold).
#[derive(Encode)]
struct SnapshotOf<'a> {
    state: &'a State,
    resume: ResumePoint,
}

/// The folder of a log directory that holds its snapshots.
const SNAPSHOT_DIR: &str = "snapshots";
const SNAPSHOT_SUFFIX: &str = ".snapshot";
const TMP_SUFFIX: &str = ".tmp";

/// A log's snapshot files: `<seq>.snapshot`, seq zero-padded to 20 digits.
struct SnapshotFiles(PathBuf);

impl SnapshotFiles {
    fn of(log_dir: &Path) -> SnapshotFiles {
        SnapshotFiles(log_dir.join(SNAPSHOT_DIR))
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.0.join(format!("{seq:020}{SNAPSHOT_SUFFIX}"))
    }

    /// The seqs of the snapshots present, in order; none if the folder is
    /// missing or unreadable (snapshots are only ever a shortcut).
    fn seqs(&self) -> Vec<u64> {
        let Ok(entries) = std::fs::read_dir(&self.0) else {
            return Vec::new();
        };
        let mut seqs: Vec<u64> = entries
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                let digits = name.strip_suffix(SNAPSHOT_SUFFIX)?;
                let canonical = digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit());
                canonical.then(|| digits.parse().ok())?
            })
            .collect();
        seqs.sort_unstable();
        seqs
    }

    fn read(&self, seq: u64) -> Option<Vec<u8>> {
        std::fs::read(self.path(seq)).ok()
    }

    fn remove(&self, seq: u64) {
        let _ = std::fs::remove_file(self.path(seq));
    }

    /// Writes a snapshot whole or not at all (a temporary file, then a
    /// rename); a failure leaves no file behind and is not an error.
    fn save(&self, seq: u64, bytes: &[u8]) {
        // Unique, so two threads replaying one log never share a file.
        static SAVES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SAVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self
            .0
            .join(format!("{seq:020}.{}-{n}{TMP_SUFFIX}", std::process::id()));
        let written = std::fs::create_dir_all(&self.0)
            .and_then(|()| std::fs::write(&tmp, bytes))
            .and_then(|()| std::fs::rename(&tmp, self.path(seq)));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }

    /// Deletes all but the newest `keep` snapshots, and temporary files
    /// that a killed process left (one being written by another thread only
    /// loses its snapshot).
    fn prune(&self, keep: usize) {
        let seqs = self.seqs();
        for seq in &seqs[..seqs.len().saturating_sub(keep)] {
            self.remove(*seq);
        }
        if let Ok(entries) = std::fs::read_dir(&self.0) {
            for entry in entries.flatten() {
                if entry.file_name().to_string_lossy().ends_with(TMP_SUFFIX) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Deletes snapshots of entries past `head`: left by a longer history
    /// (a store restored from an older copy), they would never be used and
    /// would push the usable ones out.
    fn remove_past(&self, head: u64) {
        for seq in self.seqs().into_iter().filter(|s| *s > head) {
            self.remove(seq);
        }
    }
}

impl Log {
    fn snapshot_files(&self) -> SnapshotFiles {
        // Logs written before snapshots moved to files kept them in a sled
        // tree, whose space would otherwise stay taken.
        if self
            .db
            .tree_names()
            .iter()
            .any(|n| n == SNAPSHOT_DIR.as_bytes())
        {
            let _ = self.db.drop_tree(SNAPSHOT_DIR);
        }
        SnapshotFiles::of(self.path())
    }

    /// The stored bytes of entry `seq`, undecoded: the verifier decodes
    /// them, and reports a damaged entry with its seq.
    fn stored_bytes(&self, seq: u64) -> Result<Vec<u8>> {
        self.stored_entry(seq)
    }

    /// The newest usable snapshot at or before `target`, deleting stale ones met on the way.
    fn nearest_snapshot(&self, files: &SnapshotFiles, target: u64) -> Result<Option<Snapshot>> {
        for seq in files.seqs().into_iter().rev().filter(|s| *s <= target) {
            let snapshot: Option<Snapshot> = files
                .read(seq)
                .and_then(|bytes| encoding::decode_snapshot(&bytes).ok());
            if let Some(snapshot) = snapshot {
                let stored_hash = self
                    .stored_bytes(seq)
                    .ok()
                    .map(|bytes| encoding::entry_hash(&bytes));
                let usable = stored_hash.is_some()
                    && snapshot.state.last_seq == Some(seq)
                    && snapshot.resume.next_seq == seq + 1
                    && stored_hash == snapshot.state.last_hash
                    && stored_hash == Some(snapshot.resume.prev_hash);
                if usable {
                    return Ok(Some(snapshot));
                }
            }
            // Stale: the chain no longer ends where this snapshot says it did.
            files.remove(seq);
        }
        Ok(None)
    }

    /// Verifies and folds the entries inside `cut`, starting from the nearest
    /// valid snapshot and saving new snapshots every `options.every` entries.
    pub fn replay_state(&self, cut: Cut, options: SnapshotOptions) -> Result<State> {
        let Some(head) = self.head() else {
            return Ok(State::new());
        };
        let Some(target) = self.cut_target(cut)? else {
            return Ok(State::new());
        };
        // With snapshots off nothing is read, deleted or written: the way
        // to replay without trusting the directory (docs/SECURITY.md).
        let files = (options.every > 0).then(|| self.snapshot_files());
        let nearest = match &files {
            Some(files) => {
                files.remove_past(head.seq);
                self.nearest_snapshot(files, target)?
            }
            None => None,
        };
        let (mut state, mut verifier) = match nearest {
            Some(s) => (
                s.state,
                Verifier::resume(s.resume, Box::new(SegmentHistory(self.segments.clone()))),
            ),
            None => (State::new(), Verifier::new()),
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
                chunk.push(self.stored_bytes(seq)?.to_vec());
            }
            for entry in verifier.verify_chunk(chunk)? {
                state
                    .apply(&entry)
                    .map_err(|e| Damage::Replay(e.to_string()))?;
            }
            if let Some(files) = files.as_ref().filter(|_| (end + 1) % options.every == 0) {
                let snapshot = SnapshotOf {
                    state: &state,
                    resume: verifier.resume_point(),
                };
                files.save(end, &encoding::encode_snapshot(&snapshot));
                files.prune(KEEP);
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
        log.snapshot_files().seqs()
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
        let (from, to) = (a.snapshot_files(), b.snapshot_files());
        std::fs::create_dir_all(&to.0).unwrap();
        for seq in from.seqs() {
            std::fs::copy(from.path(seq), to.path(seq)).unwrap();
        }
        assert_eq!(
            b.replay_state(Cut::AtSeq(50), options).unwrap(),
            full(&b, 50)
        );
        // The foreign snapshots at 19 and 39 were found stale and replaced by b's own.
        let state_19: Snapshot = encoding::decode_snapshot(&to.read(19).unwrap()).unwrap();
        assert_eq!(state_19.state, full(&b, 19));
        // The one at 59, past the replay's end, is untouched until a replay passes it.
        assert_eq!(to.seqs(), [19, 39, 59]);
        b.replay_state(Cut::AtSeq(61), options).unwrap();
        let state_59: Snapshot = encoding::decode_snapshot(&to.read(59).unwrap()).unwrap();
        assert_eq!(state_59.state, full(&b, 59));
    }

    #[test]
    fn an_undecodable_snapshot_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        let files = log.snapshot_files();
        std::fs::create_dir_all(&files.0).unwrap();
        std::fs::write(files.path(19), b"garbage").unwrap();
        let options = SnapshotOptions { every: 20 };
        assert_eq!(
            log.replay_state(Cut::AtSeq(31), options).unwrap(),
            full(&log, 31)
        );
        // Replaced by a good one.
        let saved: Snapshot = encoding::decode_snapshot(&files.read(19).unwrap()).unwrap();
        assert_eq!(saved.state, full(&log, 19));
    }

    #[test]
    fn a_damaged_snapshot_is_refused_before_decoding_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        let options = SnapshotOptions { every: 20 };
        log.replay_state(Cut::AtSeq(31), options).unwrap();
        let files = log.snapshot_files();
        let good = files.read(19).unwrap();
        let decoded: Snapshot = encoding::decode_snapshot(&good).unwrap();
        assert_eq!(decoded.state, full(&log, 19));
        for at in [0, 20, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x01;
            assert!(
                encoding::decode_snapshot::<Snapshot>(&bad).is_err(),
                "byte {at}"
            );
        }
        assert!(encoding::decode_snapshot::<Snapshot>(&good[..good.len() - 1]).is_err());
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0x01;
        std::fs::write(files.path(19), &bad).unwrap();
        assert_eq!(
            log.replay_state(Cut::AtSeq(25), options).unwrap(),
            full(&log, 25)
        );
        assert_eq!(files.read(19).unwrap(), good);
    }

    /// A snapshot file as someone who can write the directory would craft
    /// it: right magic, right hash, and an id claiming 2^56 bytes.
    fn crafted_snapshot() -> Vec<u8> {
        let mut payload = vec![0u8, 0, 0]; // three empty options
        payload.extend(0u64.to_le_bytes()); // no keys
        payload.extend(1u64.to_le_bytes()); // one actor ...
        payload.extend((1u64 << 56).to_le_bytes()); // ... whose id is 2^56 bytes long
        let mut file = encoding::SNAPSHOT_MAGIC.to_vec();
        file.extend(blake3::hash(&payload).as_bytes());
        file.extend(payload);
        file
    }

    #[test]
    fn a_crafted_length_in_a_snapshot_is_refused_not_allocated() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        let crafted = crafted_snapshot();
        assert!(encoding::decode_snapshot::<Snapshot>(&crafted).is_err());
        let files = log.snapshot_files();
        std::fs::create_dir_all(&files.0).unwrap();
        std::fs::write(files.path(19), &crafted).unwrap();
        let options = SnapshotOptions { every: 20 };
        assert_eq!(
            log.replay_state(Cut::AtSeq(31), options).unwrap(),
            full(&log, 31)
        );
        assert_ne!(files.read(19).unwrap(), crafted, "rebuilt");
    }

    #[test]
    fn with_snapshots_off_no_snapshot_file_is_read_or_touched() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        let files = log.snapshot_files();
        std::fs::create_dir_all(&files.0).unwrap();
        std::fs::write(files.path(19), crafted_snapshot()).unwrap();
        std::fs::write(files.path(5), b"garbage").unwrap();
        let off = SnapshotOptions { every: 0 };
        let state = log.replay_state(Cut::AtSeq(31), off).unwrap();
        assert_eq!(state.last_seq, Some(31));
        assert_eq!(files.seqs(), [5, 19]);
        assert_eq!(files.read(19).unwrap(), crafted_snapshot());
    }

    #[test]
    fn snapshots_past_the_head_and_odd_names_are_not_counted() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        let files = log.snapshot_files();
        std::fs::create_dir_all(&files.0).unwrap();
        // Four snapshots of a longer history, as a store restored from an
        // older copy would leave, would otherwise push out every new one.
        for seq in [40, 60, 80, 100] {
            std::fs::write(files.path(seq), b"from a longer history").unwrap();
        }
        std::fs::write(files.0.join("+0000000000000000019.snapshot"), b"x").unwrap();
        std::fs::write(files.0.join("00000000000000000007.1-1.tmp"), b"left").unwrap();
        let options = SnapshotOptions { every: 10 };
        log.replay_state(Cut::AtSeq(31), options).unwrap();
        assert_eq!(files.seqs(), [9, 19, 29]);
        assert!(!files.0.join("00000000000000000007.1-1.tmp").exists());
        // The odd name is not ours to delete, and not a snapshot.
        assert!(files.0.join("+0000000000000000019.snapshot").exists());
    }

    #[test]
    fn a_damaged_entry_is_reported_with_its_seq() {
        let dir = tempfile::tempdir().unwrap();
        drop(log_of(dir.path(), "a", 30));
        crate::store::segments::doctor::rewrite(dir.path(), 12, |mut bytes| {
            bytes.truncate(bytes.len() / 2);
            Some(bytes)
        });
        let log = Log::open(dir.path()).unwrap();
        let Err(crate::Error::Verify(e)) =
            log.replay_state(Cut::AtSeq(31), SnapshotOptions { every: 0 })
        else {
            panic!("a truncated entry must fail verification");
        };
        assert_eq!(e.seq, 12);
    }

    #[test]
    fn snapshots_left_in_the_old_sled_tree_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        let old = log.db.open_tree(SNAPSHOT_DIR).unwrap();
        old.insert(19u64.to_be_bytes(), vec![0u8; 4096]).unwrap();
        drop(old);
        log.replay_state(Cut::AtSeq(31), SnapshotOptions { every: 20 })
            .unwrap();
        assert!(
            !log.db
                .tree_names()
                .iter()
                .any(|n| n == SNAPSHOT_DIR.as_bytes())
        );
        assert_eq!(saved_seqs(&log), [19]);
    }

    #[test]
    fn a_snapshot_that_cannot_be_saved_does_not_fail_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path(), "a", 30);
        // A file where the snapshot folder should be.
        std::fs::write(log.path().join(SNAPSHOT_DIR), b"in the way").unwrap();
        assert_eq!(
            log.replay_state(Cut::AtSeq(31), SnapshotOptions { every: 20 })
                .unwrap(),
            full(&log, 31)
        );
        assert!(saved_seqs(&log).is_empty());
    }
}
