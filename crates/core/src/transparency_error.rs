//! Why a checkpoint, cosignature or proof was refused, and the evidence of
//! a fork. Its own module, below both the store (which refuses tree sizes
//! and seqs beyond the log with it) and `transparency` (which re-exports
//! it), so that neither needs the other for it.

use std::fmt;

use crate::merkle::Hash;

/// What kind of fork was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForkKind {
    /// Two signed checkpoints of the same size with different roots.
    SameSize,
    /// The older tree is not a prefix of the newer one: its root differs from
    /// the newer log's root at that size.
    NotPrefix,
    /// A consistency proof of the right shape between two validly signed
    /// checkpoints fails: a fork, or a proof altered in transit; only the
    /// log can tell which.
    ProofFails,
    /// A signed checkpoint commits to more entries than the log holds now.
    Truncated,
}

/// Evidence that the operator signed two different histories.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fork {
    /// What kind of fork.
    pub kind: ForkKind,
    /// Size of the earlier (or first) tree.
    pub old_size: u64,
    /// Its root.
    pub old_root: Hash,
    /// Size of the later (or second) tree.
    pub new_size: u64,
    /// Its root (for [`ForkKind::Truncated`], the root of the whole log now).
    pub new_root: Hash,
}

impl fmt::Display for Fork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (o, n) = (self.old_root.to_base64(), self.new_root.to_base64());
        match self.kind {
            ForkKind::SameSize => write!(
                f,
                "fork: two signed checkpoints of size {} have different roots ({o} and {n}); the operator showed two histories",
                self.old_size
            ),
            ForkKind::NotPrefix => write!(
                f,
                "fork: the tree of size {} (root {o}) is not a prefix of the tree of size {} (root {n}); the operator showed two histories",
                self.old_size, self.new_size
            ),
            ForkKind::ProofFails => write!(
                f,
                "fork or altered proof: the consistency proof does not show the tree of size {} (root {o}) to be a prefix of the tree of size {} (root {n})",
                self.old_size, self.new_size
            ),
            ForkKind::Truncated => write!(
                f,
                "fork: a signed checkpoint commits to {} entries (root {o}) but the log holds only {} (root {n}); entries were removed or this is another history",
                self.old_size, self.new_size
            ),
        }
    }
}

/// Why a checkpoint, cosignature or proof was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransparencyError {
    /// A tree size larger than the log.
    #[error("tree size {size} is larger than the log ({log_size} entries)")]
    SizeBeyondLog {
        /// The size asked for.
        size: u64,
        /// Entries in the log.
        log_size: u64,
    },
    /// An entry that is not in the tree of that size.
    #[error("seq {seq} is not in the tree of size {size}")]
    SeqBeyondSize {
        /// The seq asked for.
        seq: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof asked from a larger tree to a smaller one.
    #[error("old size {old} is larger than new size {new}")]
    SizeOrder {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The key may not sign checkpoints of this log.
    #[error("key {key} does not hold the operator role in this log")]
    NotOperator {
        /// Short form of the key.
        key: String,
    },
    /// The key may not cosign checkpoints of this log.
    #[error("key {key} does not hold the witness role in this log")]
    NotWitness {
        /// Short form of the key.
        key: String,
    },
    /// A trusted key or policy given by the user is unusable.
    #[error("policy: {0}")]
    Policy(String),
    /// The entry to prove was not given.
    #[error("no entry to check: give the entry or a bundle holding it")]
    MissingEntry,
    /// A checkpoint or proof file that does not parse.
    #[error("{what} is malformed: {reason}")]
    Malformed {
        /// Which file or part.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A checkpoint of another log.
    #[error("checkpoint is for log {found}, not {expected}")]
    WrongLog {
        /// The origin expected.
        expected: String,
        /// The origin found.
        found: String,
    },
    /// A signature from a trusted key that does not verify.
    #[error("signature of trusted key {name} does not verify (forged or altered)")]
    ForgedSignature {
        /// The key name.
        name: String,
    },
    /// No valid signature from a trusted operator key for this origin.
    #[error("checkpoint carries no valid signature from a trusted operator key of {origin}")]
    NoOperatorSignature {
        /// The checkpoint's origin.
        origin: String,
    },
    /// Fewer witnesses cosigned than the policy requires.
    #[error("only {got} of the {needed} required witness cosignatures verify")]
    QuorumShort {
        /// The quorum.
        needed: usize,
        /// Valid cosignatures from trusted witnesses.
        got: usize,
    },
    /// The previous checkpoint given to a witness is not one it cosigned.
    #[error("the previous checkpoint carries no valid cosignature of witness {name}")]
    NotPreviouslyCosigned {
        /// The witness's cosigner name.
        name: String,
    },
    /// A checkpoint older than one already trusted.
    #[error("checkpoint of size {new} is older than the trusted checkpoint of size {old}")]
    RolledBack {
        /// The trusted size.
        old: u64,
        /// The size offered.
        new: u64,
    },
    /// A proof that does not verify.
    #[error("proof does not verify: {0}")]
    BadProof(String),
    /// The entry given is not the one the proof is about.
    #[error("the entry is seq {found}, but the proof is for seq {expected}")]
    EntryMismatch {
        /// The proof's leaf index.
        expected: u64,
        /// The entry's seq.
        found: u64,
    },
    /// The proof carries a copy of the entry that is not the entry checked.
    #[error("the proof's copy of the entry at seq {seq} differs from the entry checked")]
    AlteredEntryCopy {
        /// The entry's seq.
        seq: u64,
    },
    /// The operator signed two histories.
    #[error("{0}")]
    Fork(Fork),
}

impl TransparencyError {
    /// Whether this is a verification failure (a bad proof, signature or
    /// fork: exit 1) rather than a usage or input problem (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        // No wildcard: a new variant must be classified here, not default
        // to one exit code.
        match self {
            TransparencyError::SizeBeyondLog { .. }
            | TransparencyError::SeqBeyondSize { .. }
            | TransparencyError::SizeOrder { .. }
            | TransparencyError::NotOperator { .. }
            | TransparencyError::NotWitness { .. }
            | TransparencyError::Policy(_)
            | TransparencyError::MissingEntry => false,
            TransparencyError::Malformed { .. }
            | TransparencyError::WrongLog { .. }
            | TransparencyError::ForgedSignature { .. }
            | TransparencyError::NoOperatorSignature { .. }
            | TransparencyError::QuorumShort { .. }
            | TransparencyError::NotPreviouslyCosigned { .. }
            | TransparencyError::RolledBack { .. }
            | TransparencyError::BadProof(_)
            | TransparencyError::EntryMismatch { .. }
            | TransparencyError::AlteredEntryCopy { .. }
            | TransparencyError::Fork(_) => true,
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl fmt::Display) -> Self {
        TransparencyError::Malformed {
            what,
            reason: reason.to_string(),
        }
    }
}
