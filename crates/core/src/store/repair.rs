//! `Log::repair`: rebuilds everything the store derives from its entries
//! (the head record, the Merkle tree, the registry rows, the query indexes)
//! and drops what is rebuilt when next needed (replay snapshots, the search
//! text), after checking the entries themselves from the genesis. It cannot
//! mend an entry: a log whose entries do not verify is left as it is, and
//! the error names the first bad seq (`trail export --partial` saves the
//! entries before it).

use std::path::Path;

use super::{BRIEF_WAIT, HEAD_KEY, Head, Log, Role, SLED_WAIT, VERIFIED_KEY, encode_head, tree};
use super::{MARKER_FILE, MARKER_TEXT, segments, write_file_durably};
use crate::error::Damage;
use crate::error::{Error, Result};
use crate::verify::{Problem, Verifier, VerifyError};

/// What [`Log::repair`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct Repaired {
    /// Entries checked from the genesis, all of them good.
    pub entries: u64,
    /// Whether the head record had to be rewritten.
    pub head_rewritten: bool,
    /// Whether sled's files were damaged, and were removed and derived
    /// again from the segments.
    pub sled_recreated: bool,
    /// Whether the marker file was damaged and was rewritten.
    pub marker_rewritten: bool,
}

impl Repaired {
    fn with(mut self, sled_recreated: bool, marker_rewritten: bool) -> Repaired {
        self.sled_recreated = sled_recreated;
        self.marker_rewritten = marker_rewritten;
        self
    }
}

/// sled's own files in a log directory: everything in them is derived.
fn remove_sled_files(dir: &Path) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    for item in std::fs::read_dir(dir).map_err(io(dir))? {
        let item = item.map_err(io(dir))?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        let path = item.path();
        if name == "blobs" {
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        } else if name == "db" || name == "conf" || name.starts_with("snap.") {
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    super::sync_dir(dir)
}

impl Log {
    /// Opens the log in `dir` as its writer and repairs it ([`Log::repair`]),
    /// first mending what keeps it from opening: a damaged marker file is
    /// rewritten, and sled's files, when damaged, are removed and everything
    /// in them derived again from the segments (the entries are never in
    /// them).
    pub fn repair_dir(dir: &Path) -> Result<Repaired> {
        let mut marker_rewritten = false;
        match super::check_is_log(dir) {
            Err(Error::Damaged(Damage::Marker { .. })) => {
                write_file_durably(&dir.join(MARKER_FILE), MARKER_TEXT.as_bytes())?;
                marker_rewritten = true;
            }
            other => other?,
        }
        let mut sled_recreated = false;
        loop {
            let lock = super::take_writer_lock(dir, Some(BRIEF_WAIT))?;
            let opened = super::open_sled(dir, Some(SLED_WAIT))
                .and_then(|db| Log::assemble(dir, db, Role::Writer { _lock: lock }));
            match opened {
                Ok(log) => {
                    return log
                        .repair()
                        .map(|r| r.with(sled_recreated, marker_rewritten));
                }
                // Only where sled holds nothing but derived data: a log of
                // the first layout (or one whose marker had to be guessed)
                // may keep its only copy of the entries in sled.
                Err(e)
                    if !sled_recreated
                        && !marker_rewritten
                        && super::is_derived_damage(&e)
                        && segments::present(dir)
                        && std::fs::read_to_string(dir.join(MARKER_FILE))
                            .is_ok_and(|m| m == MARKER_TEXT) =>
                {
                    let _lock = super::take_writer_lock(dir, Some(BRIEF_WAIT))?;
                    remove_sled_files(dir)?;
                    sled_recreated = true;
                }
                Err(e)
                    if super::is_derived_damage(&e)
                        && std::fs::read_to_string(dir.join(MARKER_FILE))
                            .is_ok_and(|m| m != MARKER_TEXT) =>
                {
                    return Err(Error::Store {
                        path: dir.to_owned(),
                        message: format!(
                            "{e}; its marker names the first layout, in which sled's files hold \
                             the entries themselves, so a repair removes nothing: if the log was \
                             migrated (its segment files hold every entry), write 'trail log v2' \
                             to TRAIL_LOG and repair again, else restore it from a bundle (trail \
                             import) or a backup"
                        ),
                    });
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Checks every entry from the genesis (signatures, chain, rules), then
    /// rewrites the head record, the Merkle tree, the registry rows and the
    /// indexes from them, verifies the whole log again, and removes the
    /// replay snapshots and the search text. The derived data need not agree
    /// with the entries; the log must open, and its entries must verify.
    /// A head record naming entries that are no longer there is refused,
    /// not rewritten: those entries were lost, which a repair cannot hide.
    /// Appends wait until the rebuilding is done.
    pub fn repair(&self) -> Result<Repaired> {
        self.settle()?;
        let repaired = {
            // Held through the rebuilding, so that no append lands between
            // reading the entries and rewriting what derives from them.
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let repaired = self.rebuild_derived()?;
            state.head = repaired.1;
            state.authority = None;
            state.verified = false;
            repaired.0
        };
        self.verify_with(|_| Ok(()))?;
        self.remove_rebuildable_files()?;
        Ok(repaired)
    }

    /// Verifies the entries and rewrites the head record, tree, registry
    /// rows and indexes from them; the caller holds the writer's lock.
    fn rebuild_derived(&self) -> Result<(Repaired, Option<Head>)> {
        let mut verifier = Verifier::new();
        let mut last = None;
        for item in self.raw_entries() {
            let (seq, bytes) = item?;
            if seq != verifier.len() {
                return Err(Error::Verify(VerifyError {
                    seq: verifier.len(),
                    problem: Problem::Missing,
                }));
            }
            let entry = verifier.verify_one(bytes)?;
            last = Some(Head {
                seq,
                hash: entry.hash(),
                recorded_at: entry.entry().unsigned.recorded_at,
            });
        }
        let sled_error = |e| self.store_error(e);
        let stored_head = self.tree.get(HEAD_KEY).map_err(sled_error)?;
        let stored_seq = stored_head
            .as_deref()
            .and_then(|b| super::decode_head(b).ok())
            .map(|h| h.seq);
        if stored_seq > last.map(|h| h.seq) {
            return Err(Error::Verify(VerifyError {
                seq: verifier.len(),
                problem: Problem::Missing,
            }));
        }
        let head_rewritten = stored_head.as_deref() != last.as_ref().map(encode_head).as_deref();
        let mut batch = sled::Batch::default();
        match &last {
            Some(head) => batch.insert(HEAD_KEY, encode_head(head)),
            None => batch.remove(HEAD_KEY),
        }
        batch.remove(VERIFIED_KEY);
        self.tree.apply_batch(batch).map_err(sled_error)?;
        tree::rebuild(self)?;
        self.rebuild_registry_rows()?;
        self.rebuild_indexes()?;
        self.db.flush().map_err(sled_error)?;
        Ok((
            Repaired {
                entries: verifier.len(),
                head_rewritten,
                sled_recreated: false,
                marker_rewritten: false,
            },
            last,
        ))
    }

    /// Removes the replay snapshots and the search text: both are rebuilt
    /// from verified entries when next needed.
    fn remove_rebuildable_files(&self) -> Result<()> {
        for (name, is_dir) in [("snapshots", true), ("search.text", false)] {
            let path = self.path.join(name);
            let removed = if is_dir {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            match removed {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::Io { path, source: e });
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::testlog::log_with_a_report;
    use crate::store::{HEAD_KEY, Log, tree};

    #[test]
    fn doctored_derived_data_is_rebuilt_and_the_log_verifies_again() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path(), "Issuer", "A report", "Do it");
        let before = log.authority().unwrap();
        let root = log.tree_root(log.tree_size()).unwrap();
        // A wrong tree node, a garbled registry row, a head with a wrong
        // hash, and the indexes gone.
        let mut doctor = sled::Batch::default();
        doctor.insert(tree::node_key(1, 0), &[7u8; 32][..]);
        let key_row = log.tree.scan_prefix(b"k:").keys().next().unwrap().unwrap();
        doctor.insert(key_row, &b"garbage"[..]);
        let head = log.tree.get(HEAD_KEY).unwrap().unwrap();
        for key in log.tree.scan_prefix(b"x:").keys() {
            doctor.remove(key.unwrap());
        }
        let mut wrong_head = head.to_vec();
        // Past the seq (8 bytes), in the hash.
        wrong_head[12] ^= 1;
        doctor.insert(HEAD_KEY, wrong_head);
        log.tree.apply_batch(doctor).unwrap();
        log.db.flush().unwrap();
        drop(log);

        let log = Log::open(dir.path()).unwrap();
        assert!(
            log.verify_with(|_| Ok(())).is_err(),
            "the doctored log fails"
        );
        let repaired = log.repair().unwrap();
        assert_eq!(repaired.entries, 4);
        assert!(repaired.head_rewritten);
        log.verify_with(|_| Ok(())).expect("verifies after repair");
        assert_eq!(log.authority().unwrap(), before);
        assert_eq!(log.tree_root(log.tree_size()).unwrap(), root);
        assert_eq!(log.indexed(crate::Index::Rec, "R1").unwrap(), [3]);
    }

    #[test]
    fn a_head_beyond_the_entries_is_refused_not_rewritten() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path(), "Issuer", "A report", "Do it");
        crate::store::segments::doctor::rewrite(dir.path(), 3, |_| None);
        let e = log.repair().unwrap_err();
        assert!(e.to_string().starts_with("seq 3: entry is missing"), "{e}");
    }

    #[test]
    fn a_bad_entry_is_named_and_nothing_is_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path(), "Issuer", "A report", "Do it");
        crate::store::segments::doctor::rewrite(dir.path(), 2, |mut bytes| {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            Some(bytes)
        });
        let head = log.tree.get(HEAD_KEY).unwrap();
        let e = log.repair().unwrap_err();
        assert!(e.to_string().starts_with("seq 2: "), "{e}");
        assert_eq!(
            log.tree.get(HEAD_KEY).unwrap(),
            head,
            "nothing was rewritten"
        );
    }
}

#[cfg(test)]
mod ahead_tests {
    use crate::store::Log;
    use crate::store::testlog::log_with_a_report;

    /// sled's derived data names entries the segments no longer hold, and
    /// nothing shows damage: they were never acknowledged (a crash took
    /// them), so everything is derived again from the entries there.
    #[test]
    fn derived_data_ahead_of_the_segments_is_derived_again_from_them() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path(), "Issuer", "A report", "Do it");
        assert_eq!(log.tree_size(), 4);
        let root_of_three = log.tree_root(3).unwrap();
        drop(log);
        // Entry 3 gone, and the durable record says 3: as after a crash
        // that lost an append never acknowledged.
        crate::store::segments::doctor::rewrite(dir.path(), 3, |_| None);
        let log = Log::open(dir.path()).unwrap();
        assert_eq!(log.head().map(|h| h.seq), Some(2));
        assert_eq!(log.tree_root(3).unwrap(), root_of_three);
        assert!(log.indexed(crate::Index::Rec, "R1").unwrap().is_empty());
        log.verify_with(|_| Ok(()))
            .expect("verifies as the three entries it holds");
    }
}

#[cfg(test)]
mod refusal_tests {
    use crate::store::testlog::{issuer, log_with_a_report};
    use crate::store::{HEAD_KEY, Head, Log, encode_head};

    /// Derived data behind the segments, and the entry after it changed:
    /// catching up stops there, and appends are refused with a clear line.
    #[test]
    fn appends_are_refused_past_an_entry_catching_up_could_not_verify() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with_a_report(dir.path(), "Issuer", "A report", "Do it");
        let entry = log.entries(2, Some(2)).next().unwrap().unwrap();
        let behind = Head {
            seq: 2,
            hash: entry.hash(),
            recorded_at: entry.unsigned.recorded_at,
        };
        log.tree.insert(HEAD_KEY, encode_head(&behind)).unwrap();
        log.db.flush().unwrap();
        drop(log);
        crate::store::segments::doctor::rewrite(dir.path(), 3, |mut bytes| {
            let last = bytes.len() - 1;
            bytes[last] ^= 1;
            Some(bytes)
        });
        let log = Log::open(dir.path()).unwrap();
        assert_eq!(log.head().map(|h| h.seq), Some(2));
        let event = crate::Event::from_json(
            r#"{"type": "report_published", "report": "R2", "title": "T", "date": "2021-02-01"}"#,
        )
        .unwrap();
        let e = log.append(&issuer(), event).unwrap_err().to_string();
        assert!(
            e.contains("appends are refused: the entry at seq 3 does not verify"),
            "{e}"
        );
        assert_eq!(log.tree_size(), 3, "nothing was written");
        let Err(e) = log.verify_with(|_| Ok(())) else {
            panic!("the changed entry must not verify");
        };
        assert!(e.to_string().starts_with("seq 3: "), "{e}");
    }
}
