//! One recommendation's record as a file anyone can check offline
//! (docs/FORMAT.md, "Recommendation records"): every entry about it, the
//! key and succession entries that say who signed for whom, and an
//! inclusion proof for each against one signed checkpoint.
//!
//! ```text
//! trail.recommendation-record@v1
//! rec <id>
//! checkpoint <base64 of the signed checkpoint note>
//!
//! entry <seq>
//! <base64 of the entry's canonical bytes>
//! <base64 hash>            (its inclusion path, leaf's sibling first)
//!
//! entry <seq>
//! ...
//! ```
//!
//! Checking it needs no log: the checkpoint must satisfy the reader's
//! policy (operator keys, witnesses), every entry must lead through its path
//! to the checkpoint's root and carry a good signature, and the entries are
//! then folded as a selective replay is. What the file cannot show is that
//! nothing was left out: an entry about the recommendation that the file
//! omits is not detected without the log (or a copy of it) at hand.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::encoding;
use crate::error::Result;
use crate::merkle::tree::{LeafIndex, TreeSize};
use crate::merkle::verify::verify_inclusion as verify_path;
use crate::merkle::{Hash, Note};
use crate::state::{State, View};
use crate::store::{Cut, Log, RecSelection};
use crate::types::{Day, Id};
use crate::verify::{Prepared, VerifiedEntry};

use super::{Policy, TransparencyError, TrustedCheckpoint, check_against_log, verify_checkpoint};

/// First line of a recommendation record.
pub const RECORD_HEADER: &str = "trail.recommendation-record@v1";

/// Largest record accepted: a recommendation's entries are few, but one
/// with many thousands of claims must still fit.
const MAX_FILE: usize = 256 << 20;
/// Most hashes an inclusion path in a 64-bit tree can need.
const MAX_PATH: usize = 64;

/// One entry of a record, with its inclusion path; not trusted yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordEntry {
    /// The entry's seq (its leaf index).
    pub seq: u64,
    /// Its canonical bytes.
    pub bytes: Vec<u8>,
    /// Its inclusion path in the checkpoint's tree.
    pub path: Vec<Hash>,
}

/// A parsed recommendation record; nothing in it is trusted yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordFile {
    /// The recommendation.
    pub rec: Id,
    /// The signed checkpoint every path leads to.
    pub checkpoint: Note,
    /// The entries, in log order.
    pub entries: Vec<RecordEntry>,
}

fn malformed(reason: impl Into<String>) -> TransparencyError {
    TransparencyError::Malformed {
        what: "recommendation record",
        reason: reason.into(),
    }
}

impl RecordFile {
    /// The text format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!(
            "{RECORD_HEADER}\nrec {}\ncheckpoint {}\n",
            self.rec,
            STANDARD.encode(self.checkpoint.to_bytes())
        );
        for e in &self.entries {
            out.push_str(&format!(
                "\nentry {}\n{}\n",
                e.seq,
                STANDARD.encode(&e.bytes)
            ));
            for hash in &e.path {
                out.push_str(&hash.to_base64());
                out.push('\n');
            }
        }
        out.into_bytes()
    }

    /// Parses the text format.
    pub fn parse(bytes: &[u8]) -> std::result::Result<RecordFile, TransparencyError> {
        if bytes.len() > MAX_FILE {
            return Err(malformed("file is too large"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| malformed("not UTF-8"))?;
        let text = text
            .strip_suffix('\n')
            .ok_or_else(|| malformed("does not end with a newline"))?;
        let mut blocks = text.split("\n\n");
        let head: Vec<&str> = blocks.next().unwrap_or_default().lines().collect();
        let [header, rec, checkpoint] = head.as_slice() else {
            return Err(malformed(
                "expected the header, a rec line and a checkpoint line",
            ));
        };
        if *header != RECORD_HEADER {
            return Err(malformed(format!("first line is not {RECORD_HEADER}")));
        }
        let rec = rec
            .strip_prefix("rec ")
            .and_then(|r| Id::new(r).ok())
            .ok_or_else(|| malformed("second line is not `rec <id>`"))?;
        let note = checkpoint
            .strip_prefix("checkpoint ")
            .and_then(|b| STANDARD.decode(b).ok())
            .ok_or_else(|| malformed("third line is not `checkpoint <base64>`"))?;
        let checkpoint = Note::parse(&note).map_err(|e| malformed(format!("checkpoint: {e}")))?;
        let mut entries: Vec<RecordEntry> = Vec::new();
        for block in blocks {
            let mut lines = block.lines();
            let seq = lines
                .next()
                .and_then(|l| l.strip_prefix("entry "))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| malformed("an entry block does not start with `entry <seq>`"))?;
            if entries.last().is_some_and(|last| last.seq >= seq) {
                return Err(malformed(format!("entry {seq} is out of order")));
            }
            let bytes = lines
                .next()
                .and_then(|b| STANDARD.decode(b).ok())
                .ok_or_else(|| malformed(format!("entry {seq}: no base64 entry bytes")))?;
            let path = lines
                .map(Hash::from_base64)
                .collect::<std::result::Result<Vec<Hash>, _>>()
                .map_err(|e| malformed(format!("entry {seq}: {e}")))?;
            if path.len() > MAX_PATH {
                return Err(malformed(format!("entry {seq}: path too long")));
            }
            entries.push(RecordEntry { seq, bytes, path });
        }
        Ok(RecordFile {
            rec,
            checkpoint,
            entries,
        })
    }
}

/// Writes the record of `rec` against the signed checkpoint `note` (which
/// must be this log's: see [`check_against_log`]): the entries a selective
/// replay of `rec` folds up to the checkpoint, each with its inclusion path.
pub fn record_file(log: &Log, rec: &Id, note: &[u8]) -> Result<RecordFile> {
    let cp = check_against_log(log, note)?;
    let (checkpoint, _) = super::parse_checkpoint_note(note)?;
    let size = cp.size().0;
    let Some(last) = size.checked_sub(1) else {
        return Err(TransparencyError::SeqBeyondSize { seq: 0, size }.into());
    };
    let selection = RecSelection {
        recs: vec![rec.clone()],
        reports: Vec::new(),
    };
    let target = log.cut_target(Cut::AtSeq(last))?.unwrap_or(last);
    let (chosen, _) = log.selected_entries(&selection, target)?;
    let mut entries = Vec::with_capacity(chosen.len());
    for entry in chosen {
        let seq = entry.seq();
        entries.push(RecordEntry {
            seq,
            path: log.inclusion_proof(seq, size)?,
            bytes: entry.into_parts().2,
        });
    }
    Ok(RecordFile {
        rec: rec.clone(),
        checkpoint,
        entries,
    })
}

/// What a checked record established.
#[derive(Clone, Debug)]
pub struct RecordVerified {
    /// The recommendation.
    pub rec: Id,
    /// The checkpoint every entry is included in.
    pub checkpoint: TrustedCheckpoint,
    /// The entries, proven and with good signatures, in log order.
    pub entries: Vec<VerifiedEntry>,
    /// The recommendation's state on the day asked, from those entries.
    pub view: View,
}

/// Checks a record with no log: the checkpoint satisfies `policy`, every
/// entry is at its seq in that tree and carries a good signature, and the
/// entries hold the recommendation's issue. Returns its state as on `at`.
pub fn verify_record(
    bytes: &[u8],
    policy: &Policy,
    at: Day,
) -> std::result::Result<RecordVerified, TransparencyError> {
    let file = RecordFile::parse(bytes)?;
    let trusted = verify_checkpoint(&file.checkpoint, policy)?;
    let (size, root) = (trusted.checkpoint.size(), *trusted.checkpoint.root());
    let mut chunk = Vec::with_capacity(file.entries.len());
    let mut seqs = Vec::with_capacity(file.entries.len());
    for e in file.entries {
        if e.seq >= size.0 {
            return Err(TransparencyError::SeqBeyondSize {
                seq: e.seq,
                size: size.0,
            });
        }
        let leaf = encoding::merkle_leaf_hash(&e.bytes);
        verify_path(&leaf, LeafIndex(e.seq), TreeSize(size.0), &e.path, &root).map_err(|_| {
            TransparencyError::BadProof(format!(
                "the inclusion path for seq {} does not lead to the checkpoint's root",
                e.seq
            ))
        })?;
        seqs.push(e.seq);
        chunk.push(e.bytes);
    }
    // Decoded and signatures checked in one batch, as verification does.
    let mut entries = Vec::with_capacity(chunk.len());
    for ((bytes, decoded, signature_ok), seq) in Prepared::new(chunk).into_items().zip(seqs) {
        let (entry, hash) = decoded.map_err(|d| malformed(format!("entry {seq}: {d}")))?;
        if entry.unsigned.seq != seq {
            return Err(TransparencyError::EntryMismatch {
                expected: seq,
                found: entry.unsigned.seq,
            });
        }
        if !signature_ok {
            return Err(TransparencyError::BadProof(format!(
                "the signature of entry {seq} does not verify"
            )));
        }
        entries.push(VerifiedEntry::proven(entry, hash, bytes));
    }
    let mut state = State::new();
    for entry in &entries {
        state
            .apply_selected(entry)
            .map_err(|e| malformed(e.to_string()))?;
    }
    let mut view = state.view(at);
    view.restrict(std::slice::from_ref(&file.rec));
    if !view.recs.contains_key(&file.rec) {
        return Err(malformed(format!(
            "it holds no issue of {} dated on or before {at}",
            file.rec
        )));
    }
    Ok(RecordVerified {
        rec: file.rec,
        checkpoint: trusted,
        entries,
        view,
    })
}
