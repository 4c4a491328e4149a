//! Replay of some recommendations from their own entries only.
//!
//! A question about one recommendation (its history, its state on a date)
//! reads the entries the indexes (`store/index.rs`) name for it, plus the
//! key and succession entries that decide who signed for whom, instead of
//! folding the whole log. The answer is the same as the whole fold's for
//! those recommendations, which the tests check on every axis.
//!
//! Replay still runs on verified entries only. The store keeps a
//! verification record (`m:verified`): the head of the prefix this library
//! verified in full, which appends extend (they make every check
//! verification makes) and a full verification sets. A selective replay
//! first makes sure that record reaches the head (verifying the whole log
//! once if it does not, as on a log written by an older trail), then reads
//! each chosen entry back with [`VerifiedEntry::reread`]: decoded again and
//! checked against the Merkle leaf stored with it, so an entry damaged since
//! it was verified is named by its seq, never folded. What this trusts is the
//! same as a replay snapshot: that the directory holds what this library
//! wrote (docs/SECURITY.md); `trail verify` checks everything from scratch.

use std::collections::BTreeSet;

use super::snapshot::{Cut, SnapshotOptions};
use crate::encoding;
use crate::error::{Damage, Error, Result};
use crate::event::EventKind;
use crate::merkle::tree::NodeStore;
use crate::state::{State, View};
use crate::store::Log;
use crate::store::index::{Index, subjects_of};
use crate::store::tree::SledNodes;
use crate::types::{Day, Id, Timestamp};
use crate::verify::{Problem, VerifiedEntry, VerifyError};

/// The event kinds that shape the key registry, folded into every selection.
const REGISTRY_KINDS: [EventKind; 5] = [
    EventKind::LogCreated,
    EventKind::KeyGranted,
    EventKind::KeyRevoked,
    EventKind::KeyRotated,
    EventKind::BodySucceeded,
];

/// Which recommendations a selective replay answers about: those named, and
/// every recommendation of the reports named.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecSelection {
    /// Recommendation ids.
    pub recs: Vec<Id>,
    /// Report ids.
    pub reports: Vec<Id>,
}

impl RecSelection {
    /// Whether nothing is selected (a whole-log question).
    pub fn is_empty(&self) -> bool {
        self.recs.is_empty() && self.reports.is_empty()
    }
}

impl Log {
    /// The last seq recorded at or before `t` (recorded time never goes back,
    /// so a binary search over the entries finds it in O(log n) reads).
    pub(crate) fn last_seq_recorded_by(&self, t: Timestamp, head: u64) -> Result<Option<u64>> {
        let recorded = |seq| -> Result<Timestamp> {
            let bytes = self.stored_entry(seq)?;
            Ok(crate::entry::Entry::from_bytes(&bytes)?
                .unsigned
                .recorded_at)
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

    /// The last seq inside `cut`, or `None` when the cut is before the log.
    pub(crate) fn cut_target(&self, cut: Cut) -> Result<Option<u64>> {
        let Some(head) = self.head() else {
            return Ok(None);
        };
        match cut {
            Cut::AtSeq(n) => Ok(Some(n.min(head.seq))),
            Cut::KnownAt(t) => self.last_seq_recorded_by(t, head.seq),
        }
    }

    /// The view on effective date `at` of the entries inside `cut`: of
    /// the whole log (replayed with `options`), or only what `selection`
    /// needs. A view cut at a recorded time says so in [`View::known_at`].
    pub fn view_at(
        &self,
        selection: Option<&RecSelection>,
        cut: Cut,
        at: Day,
        options: SnapshotOptions,
    ) -> Result<View> {
        let mut view = match selection {
            Some(selection) => self.selected_view(selection, cut, at)?,
            None => self.replay_state(cut, options)?.view(at),
        };
        if let Cut::KnownAt(known) = cut {
            view.known_at = Some(known);
        }
        Ok(view)
    }

    /// Makes sure the verification record reaches the head, verifying the
    /// whole log once if it does not (a log written by an older trail, or
    /// one whose last verification failed). A server calls it before
    /// serving, so that no request waits for that.
    pub fn ensure_verified(&self) -> Result<()> {
        let is_verified = || {
            self.state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .verified
        };
        if is_verified() {
            return Ok(());
        }
        let _one_at_a_time = self.verifying.lock().unwrap_or_else(|p| p.into_inner());
        if !is_verified() {
            self.verify_with(|_| Ok(()))?;
        }
        Ok(())
    }

    /// Entry `seq`, verified: read back from the verified prefix, which is
    /// first brought up to the head if it does not reach it.
    pub(crate) fn read_verified(&self, seq: u64) -> Result<VerifiedEntry> {
        self.ensure_verified()?;
        self.reread(seq)
    }

    /// Reads entry `seq` back from the verified prefix.
    fn reread(&self, seq: u64) -> Result<VerifiedEntry> {
        let bytes = self.stored_entry(seq)?;
        let leaf = SledNodes(&self.tree)
            .get(0, seq)
            .map_err(|e| Damage::Tree(e.to_string()))?;
        if leaf != Some(encoding::merkle_leaf_hash(&bytes)) {
            return Err(Error::Verify(VerifyError {
                seq,
                problem: Problem::ChangedSinceVerified,
            }));
        }
        Ok(VerifiedEntry::reread(bytes, seq)?)
    }

    /// Folds the entries that concern `selection` (and the key registry)
    /// inside `cut`. The state is a selection ([`State::selection`]): view it
    /// with [`Log::selected_view`], which keeps only what it answers for.
    pub fn selected_state(&self, selection: &RecSelection, cut: Cut) -> Result<(State, Vec<Id>)> {
        let Some(target) = self.cut_target(cut)? else {
            return Ok((State::new(), Vec::new()));
        };
        let (entries, recs) = self.selected_entries(selection, target)?;
        let mut state = State::new();
        for entry in &entries {
            state
                .apply_selected(entry)
                .map_err(|e| Damage::Replay(e.to_string()))?;
        }
        // The state is as of the cut, whatever entry was folded last.
        let last = self.reread(target)?;
        state.last_seq = Some(target);
        state.last_hash = Some(last.hash());
        state.last_recorded_at = Some(last.entry().unsigned.recorded_at);
        Ok((state, recs))
    }

    /// The verified entries up to seq `target` that a selective replay of
    /// `selection` folds, in log order, and the recommendations it covers.
    pub(crate) fn selected_entries(
        &self,
        selection: &RecSelection,
        target: u64,
    ) -> Result<(Vec<VerifiedEntry>, Vec<Id>)> {
        self.ensure_verified()?;
        let mut seqs: BTreeSet<u64> = BTreeSet::new();
        for kind in REGISTRY_KINDS {
            seqs.extend(self.indexed_kind(kind)?);
        }
        // The recommendations asked for: those named, and each report's.
        let mut recs: BTreeSet<Id> = selection.recs.iter().cloned().collect();
        let mut reports: BTreeSet<Id> = selection.reports.iter().cloned().collect();
        for report in &selection.reports {
            for seq in self.indexed(Index::ReportRecs, report.as_str())? {
                if seq > target {
                    continue;
                }
                // An issue under the report, or a correction moving one to
                // or from it: either way its recommendation is a candidate;
                // the view decides which report it is under.
                for (index, id) in subjects_of(self.reread(seq)?.entry().event()) {
                    if index == Index::Rec {
                        recs.insert(id);
                    }
                }
            }
        }
        let mut decisions: BTreeSet<Id> = BTreeSet::new();
        let mut chosen: Vec<VerifiedEntry> = Vec::new();
        for rec in &recs {
            for seq in self.indexed(Index::Rec, rec.as_str())? {
                if seq > target || seqs.contains(&seq) {
                    continue;
                }
                let entry = self.reread(seq)?;
                // Its report and any money it names, whether the entry says
                // so itself or as a correction's replacement.
                for (index, id) in subjects_of(entry.entry().event()) {
                    match index {
                        Index::ReportRecs => {
                            reports.insert(id);
                        }
                        Index::Funding => {
                            decisions.insert(id);
                        }
                        _ => {}
                    }
                }
                seqs.insert(seq);
                chosen.push(entry);
            }
        }
        // What the views of those recommendations also show: their reports'
        // publications and every stage of the money linked to them.
        let mut more: BTreeSet<u64> = BTreeSet::new();
        for report in &reports {
            more.extend(self.indexed(Index::Report, report.as_str())?);
        }
        for decision in &decisions {
            more.extend(self.indexed(Index::Funding, decision.as_str())?);
        }
        seqs.extend(more);
        let mut by_seq: std::collections::BTreeMap<u64, VerifiedEntry> =
            chosen.into_iter().map(|e| (e.seq(), e)).collect();
        let mut entries = Vec::with_capacity(seqs.len());
        for seq in seqs.into_iter().filter(|s| *s <= target) {
            entries.push(match by_seq.remove(&seq) {
                Some(entry) => entry,
                None => self.reread(seq)?,
            });
        }
        Ok((entries, recs.into_iter().collect()))
    }

    /// The view on `at` of the recommendations in `selection`, as known at
    /// `cut`, from their own entries only; equal to the whole fold's view
    /// restricted to them.
    pub fn selected_view(&self, selection: &RecSelection, cut: Cut, at: Day) -> Result<View> {
        let (state, recs) = self.selected_state(selection, cut)?;
        let mut view = state.view(at);
        // A report's candidates include recommendations a correction moved
        // to another report: keep those named, and those under the reports
        // named.
        let keep: Vec<Id> = recs
            .into_iter()
            .filter(|r| {
                selection.recs.contains(r)
                    || view
                        .recs
                        .get(r)
                        .is_some_and(|v| selection.reports.contains(&v.report))
            })
            .collect();
        view.restrict(&keep);
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{VERIFIED_KEY, testlog};

    fn log_of(dir: &std::path::Path) -> Log {
        testlog::log_with_a_report(dir, "Office", "T", "S")
    }

    fn r1() -> RecSelection {
        RecSelection {
            recs: vec![Id::new("R1").unwrap()],
            reports: vec![],
        }
    }

    /// Changes entry `seq` as an attacker would, its frame kept whole.
    fn flip_last_byte(dir: &std::path::Path, seq: u64) {
        crate::store::segments::doctor::rewrite(dir, seq, |mut bytes| {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            Some(bytes)
        });
    }

    fn on() -> Day {
        Day::new(2021, 3, 1).unwrap()
    }

    #[test]
    fn an_entry_changed_after_verification_is_named_not_folded() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path());
        assert!(log.selected_view(&r1(), Cut::AtSeq(3), on()).is_ok());
        flip_last_byte(dir.path(), 3);
        let Err(Error::Verify(e)) = log.selected_view(&r1(), Cut::AtSeq(3), on()) else {
            panic!("a changed entry must not be folded");
        };
        assert_eq!((e.seq, e.problem), (3, Problem::ChangedSinceVerified));
    }

    #[test]
    fn a_log_with_no_verification_record_is_verified_in_full_first() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path());
        log.tree.remove(VERIFIED_KEY).unwrap();
        log.db.flush().unwrap();
        drop(log);
        let log = Log::open(dir.path()).unwrap();
        assert!(!log.state.lock().unwrap().verified);
        // A bad signature anywhere stops the selective replay, even on an
        // entry it would not read.
        flip_last_byte(dir.path(), 1);
        let Err(Error::Verify(e)) = log.selected_view(&r1(), Cut::AtSeq(3), on()) else {
            panic!("an unverified log must be verified first");
        };
        assert_eq!(e.seq, 1);
        flip_last_byte(dir.path(), 1);
        let view = log.selected_view(&r1(), Cut::AtSeq(3), on()).unwrap();
        assert_eq!(view.recs.len(), 1);
        assert!(log.state.lock().unwrap().verified);
        assert!(log.tree.get(VERIFIED_KEY).unwrap().is_some());
    }
}
