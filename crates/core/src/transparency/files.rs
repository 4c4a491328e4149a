//! Proof files (docs/FORMAT.md, "Proof files"), checked with no log at hand.
//!
//! Inclusion proofs are C2SP tlog-proof@v1 files whose leaf index is the
//! entry's seq and whose optional `extra` line carries the entry's canonical
//! bytes. Consistency proofs use a small format in the same style:
//!
//! ```text
//! trail.consistency-proof@v1
//! <base64 hash>            (zero or more, RFC 9162 PROOF order)
//!
//! <older signed checkpoint note>
//!
//! <newer signed checkpoint note>
//! ```

use crate::encoding;
use crate::entry::Entry;
use crate::merkle::tree::LeafIndex;
use crate::merkle::verify::{ProofError, verify_inclusion as verify_path};
use crate::merkle::{Hash, Note, TlogProof};

use super::{Policy, TransparencyError, TrustedCheckpoint, check_consistent, verify_checkpoint};

/// First line of a consistency proof file.
pub const CONSISTENCY_HEADER: &str = "trail.consistency-proof@v1";

/// Most hashes a consistency proof of a 64-bit tree can need.
const MAX_PROOF_LEN: usize = 128;

/// Largest consistency proof file accepted (two notes and the hashes).
const MAX_FILE: usize = 3 << 20;

/// A parsed consistency proof file; nothing in it is trusted yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProofFile {
    /// The RFC 9162 consistency proof from the older tree to the newer.
    pub proof: Vec<Hash>,
    /// The older signed checkpoint.
    pub old: Note,
    /// The newer signed checkpoint.
    pub new: Note,
}

impl ConsistencyProofFile {
    /// Parses the text format.
    pub fn parse(bytes: &[u8]) -> Result<Self, TransparencyError> {
        let bad = |reason: String| TransparencyError::Malformed {
            what: "consistency proof",
            reason,
        };
        if bytes.len() > MAX_FILE {
            return Err(bad("file is too large".into()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| bad("not UTF-8".into()))?;
        // Checkpoint texts and signature lines hold no blank line, so the
        // blank lines split the file into exactly five parts.
        let parts: Vec<&str> = text.split("\n\n").collect();
        let [head, old_text, old_sigs, new_text, new_sigs] = parts.as_slice() else {
            return Err(bad(format!(
                "expected a header, then two signed checkpoints, each after a blank line ({} parts found)",
                parts.len()
            )));
        };
        let mut lines = head.split('\n');
        if lines.next() != Some(CONSISTENCY_HEADER) {
            return Err(bad(format!("first line is not {CONSISTENCY_HEADER}")));
        }
        let mut proof = Vec::new();
        for (n, line) in lines.enumerate() {
            if proof.len() == MAX_PROOF_LEN {
                return Err(bad("too many hashes".into()));
            }
            proof.push(
                Hash::from_base64(line)
                    .map_err(|_| bad(format!("line {} is not a base64 hash", n + 2)))?,
            );
        }
        let note = |text: &str, sigs: &str| {
            Note::parse(format!("{text}\n\n{sigs}").as_bytes())
                .map_err(|e| bad(format!("checkpoint: {e}")))
        };
        Ok(ConsistencyProofFile {
            proof,
            old: note(old_text, &format!("{old_sigs}\n"))?,
            new: note(new_text, new_sigs)?,
        })
    }

    /// The text format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{CONSISTENCY_HEADER}\n");
        for h in &self.proof {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.old.to_string());
        out.push('\n');
        out.push_str(&self.new.to_string());
        out.into_bytes()
    }
}

/// Checks a consistency proof file: both checkpoints satisfy `policy` (the
/// older needs only an operator signature; the witness quorum applies to the
/// newer) and the older tree is a prefix of the newer.
pub fn verify_consistency_file(
    bytes: &[u8],
    policy: &Policy,
) -> Result<(TrustedCheckpoint, TrustedCheckpoint), TransparencyError> {
    let file = ConsistencyProofFile::parse(bytes)?;
    let old = verify_checkpoint(&file.old, &policy.with_quorum(0))?;
    let new = verify_checkpoint(&file.new, policy)?;
    check_consistent(&old.checkpoint, &new.checkpoint, &file.proof)?;
    Ok((old, new))
}

/// What a verified inclusion proof established.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionVerified {
    /// The entry proven to be in the log.
    pub entry: Entry,
    /// The checkpoint it is included in.
    pub checkpoint: TrustedCheckpoint,
}

/// Checks a tlog-proof file for one entry: the checkpoint satisfies `policy`
/// and the entry's leaf hash is at its seq in that tree. `entry` is the
/// entry's canonical bytes; without it the proof's `extra` bytes are used
/// (safe: they are only accepted if the proof verifies for them); given
/// both, they must be the same bytes.
pub fn verify_inclusion(
    proof: &[u8],
    entry: Option<&[u8]>,
    policy: &Policy,
) -> Result<InclusionVerified, TransparencyError> {
    let proof = TlogProof::parse(proof).map_err(|e| TransparencyError::Malformed {
        what: "inclusion proof",
        reason: e.to_string(),
    })?;
    let bytes = entry
        .or(proof.extra.as_deref())
        .ok_or(TransparencyError::MissingEntry)?;
    let decoded = Entry::from_bytes(bytes).map_err(|e| TransparencyError::Malformed {
        what: "entry",
        reason: e.to_string(),
    })?;
    let LeafIndex(index) = proof.index;
    if decoded.unsigned.seq != index {
        return Err(TransparencyError::EntryMismatch {
            expected: index,
            found: decoded.unsigned.seq,
        });
    }
    // A copy in the proof that differs from the entry checked would be
    // shown to a reader as the entry proven: refuse it.
    if let (Some(_), Some(extra)) = (entry, proof.extra.as_deref())
        && extra != bytes
    {
        return Err(TransparencyError::AlteredEntryCopy { seq: proof.index.0 });
    }
    let trusted = verify_checkpoint(&proof.checkpoint, policy)?;
    let cp = &trusted.checkpoint;
    let leaf = encoding::merkle_leaf_hash(bytes);
    verify_path(&leaf, proof.index, cp.size(), &proof.path, cp.root()).map_err(|e| match e {
        ProofError::RootMismatch { .. } => TransparencyError::BadProof(format!(
            "the inclusion path for seq {index} does not lead to the checkpoint's root"
        )),
        other => TransparencyError::BadProof(other.to_string()),
    })?;
    Ok(InclusionVerified {
        entry: decoded,
        checkpoint: trusted,
    })
}
