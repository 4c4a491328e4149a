//! Transparency-log proofs for trail's ledger.
//!
//! * [`hash`]: RFC 6962 / RFC 9162 §2.1 SHA-256 leaf and node hashing.
//! * [`tree`]: append-only tree over a [`NodeStore`] of complete-subtree
//!   hashes; roots and proofs for any past size in O(log n) reads.
//! * [`verify`]: RFC 9162 §2.1.3.2 / §2.1.4.2 proof verification.
//! * [`note`] and [`keys`]: C2SP signed notes with Ed25519 keys, wire- and
//!   key-format compatible with Go's `golang.org/x/mod/sumdb/note`.
//! * [`checkpoint`]: C2SP tlog-checkpoint bodies (signed tree heads).
//! * [`cosignature`]: C2SP tlog-cosignature v1 witness cosignatures.
//! * [`proof`]: C2SP tlog-proof offline inclusion proofs.
//!
//! Everything parsing untrusted input is bounded and returns typed errors;
//! nothing here panics on hostile data, prints, or uses `unsafe`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod checkpoint;
pub mod cosignature;
pub mod hash;
pub mod keys;
pub mod note;
pub mod proof;
#[cfg(test)]
mod reference;
pub mod tree;
pub mod verify;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use cosignature::{CosignatureSigner, CosignatureVerifier};
pub use hash::{EMPTY_ROOT, Hash, HashError, leaf_hash, node_hash};
pub use keys::{NoteSigner, NoteVerifier};
pub use note::{Note, NoteError, NoteSignature, Verification, VerifierSet};
pub use proof::{TlogProof, TlogProofError};
pub use tree::{
    LeafIndex, MemoryStore, NodeId, NodeStore, StoredNode, TreeError, TreeSize, append_leaf,
    consistency_proof, inclusion_proof, root,
};
pub use verify::{ProofError, root_from_inclusion_proof, verify_consistency, verify_inclusion};
