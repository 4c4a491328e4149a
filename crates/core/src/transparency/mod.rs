//! Signed checkpoints, witness cosignatures and offline proofs for a log,
//! in the C2SP formats (docs/FORMAT.md, "Checkpoints", "Cosignatures",
//! "Proof files") so that existing transparency-log tooling can check them.
//!
//! * The **origin** of a log is the one its genesis entry names (a URL
//!   prefix such as `watchdog.example.org/linden`), or else `trail/`
//!   followed by the 64 hex digits of its genesis entry hash ([`origin_for`],
//!   [`origin_of_genesis`]). It never changes, is one line, and is a valid
//!   note key name; two copies of one log, or a log and a fork of it, share
//!   it, which is what lets a fork be recognised as one.
//! * A checkpoint is signed by a key holding [`Role::Operator`](crate::Role)
//!   in the log, as a plain Ed25519 note signature whose **key name is the
//!   origin** (the C2SP convention), so the verifier key string names the log.
//! * A witness cosigns (tlog-cosignature v1) with a key holding
//!   [`Role::Witness`](crate::Role); its **cosigner name is its actor id**.
//! * A verifier's trust is a [`Policy`]: operator verifier keys, witness
//!   verifier keys and how many witnesses must have cosigned.

mod files;
mod log;
mod record;
pub(crate) use log::RootTracker;
#[cfg(test)]
mod tests;

pub use files::{
    CONSISTENCY_HEADER, ConsistencyProofFile, InclusionVerified, verify_consistency_file,
    verify_inclusion,
};
pub use log::{
    check_against_log, cosign_with_log, current_operators, inclusion_proof_file, log_operators,
    log_origin, log_witnesses, operator_signer, origin_of_genesis, sign_checkpoint,
    sign_checkpoint_at, witness_signer,
};
pub use record::{
    RECORD_HEADER, RecordEntry, RecordFile, RecordVerified, record_file, verify_record,
};

use crate::merkle::note::SignatureVerifier;
use crate::merkle::tree::TreeSize;
use crate::merkle::verify::ProofError;
use crate::merkle::{
    Checkpoint, CosignatureSigner, CosignatureVerifier, Hash, Note, NoteError, NoteVerifier,
    VerifierSet, verify_consistency,
};
use crate::types::EntryHash;

pub use crate::transparency_error::{Fork, ForkKind, TransparencyError};

/// Prefix of every trail origin line.
pub const ORIGIN_PREFIX: &str = "trail/";

/// The checkpoint origin of the log whose genesis entry hashes to `genesis`.
pub fn origin_for(genesis: &EntryHash) -> String {
    format!("{ORIGIN_PREFIX}{}", hex::encode(genesis.0))
}

/// Maps note verification failures to the error a caller can act on.
fn note_error(origin: &str, e: NoteError) -> TransparencyError {
    match e {
        NoteError::BadSignature { name, .. } => TransparencyError::ForgedSignature { name },
        NoteError::NoVerifiedSignatures { .. } => TransparencyError::NoOperatorSignature {
            origin: origin.to_owned(),
        },
        other => TransparencyError::malformed("checkpoint", other),
    }
}

/// Whom a verifier trusts: operator keys, witness keys and a witness quorum.
#[derive(Clone, Debug)]
pub struct Policy {
    operators: Vec<NoteVerifier>,
    witnesses: Vec<CosignatureVerifier>,
    quorum: usize,
}

impl Policy {
    /// A policy; at least one operator key, and no more witnesses required
    /// than there are witness keys.
    pub fn new(
        operators: Vec<NoteVerifier>,
        witnesses: Vec<CosignatureVerifier>,
        quorum: usize,
    ) -> Result<Policy, TransparencyError> {
        if operators.is_empty() {
            return Err(TransparencyError::Policy(
                "give at least one trusted operator key".into(),
            ));
        }
        if quorum > witnesses.len() {
            return Err(TransparencyError::Policy(format!(
                "{quorum} witness cosignatures required but only {} witness keys given",
                witnesses.len()
            )));
        }
        Ok(Policy {
            operators,
            witnesses,
            quorum,
        })
    }

    /// A policy from verifier key strings (`<name>+<id>+<base64>`): type
    /// 0x01 keys for operators, type 0x04 keys for witnesses.
    pub fn from_vkeys(
        operators: &[String],
        witnesses: &[String],
        quorum: usize,
    ) -> Result<Policy, TransparencyError> {
        let bad = |what: &str, k: &str, e: NoteError| {
            TransparencyError::Policy(format!("{what} key {k:?}: {e}"))
        };
        let operators = operators
            .iter()
            .map(|k| NoteVerifier::from_vkey(k.trim()).map_err(|e| bad("operator", k, e)))
            .collect::<Result<Vec<_>, _>>()?;
        let witnesses = witnesses
            .iter()
            .map(|k| CosignatureVerifier::from_vkey(k.trim()).map_err(|e| bad("witness", k, e)))
            .collect::<Result<Vec<_>, _>>()?;
        Policy::new(operators, witnesses, quorum)
    }

    /// The same trust with another quorum (0 for "operator signature only").
    pub fn with_quorum(&self, quorum: usize) -> Policy {
        Policy {
            quorum,
            ..self.clone()
        }
    }

    fn verifier_set(&self) -> Result<VerifierSet, TransparencyError> {
        let mut set = VerifierSet::new();
        let dup = |e: NoteError| TransparencyError::Policy(e.to_string());
        for o in &self.operators {
            set.add(o.clone()).map_err(dup)?;
        }
        for w in &self.witnesses {
            set.add(w.clone()).map_err(dup)?;
        }
        Ok(set)
    }
}

/// A checkpoint whose signatures satisfy a [`Policy`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedCheckpoint {
    /// The checkpoint.
    pub checkpoint: Checkpoint,
    /// Names of the trusted witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
}

/// Parses a signed checkpoint note.
pub fn parse_checkpoint_note(bytes: &[u8]) -> Result<(Note, Checkpoint), TransparencyError> {
    let note = Note::parse(bytes).map_err(|e| TransparencyError::malformed("checkpoint", e))?;
    let checkpoint = Checkpoint::parse(note.text())
        .map_err(|e| TransparencyError::malformed("checkpoint", e))?;
    Ok((note, checkpoint))
}

/// Checks a checkpoint note against `policy`: every signature from a trusted
/// key verifies, one is from an operator key named after the checkpoint's
/// origin, and at least the quorum of trusted witnesses cosigned it.
pub fn verify_checkpoint(
    note: &Note,
    policy: &Policy,
) -> Result<TrustedCheckpoint, TransparencyError> {
    let checkpoint = Checkpoint::parse(note.text())
        .map_err(|e| TransparencyError::malformed("checkpoint", e))?;
    let origin = checkpoint.origin();
    let verification = note
        .verify(&policy.verifier_set()?)
        .map_err(|e| note_error(origin, e))?;
    let signed_by = |name: &str, key_id: u32| verification.is_signed_by(name, key_id);
    let operator_signed = policy
        .operators
        .iter()
        .any(|o| o.name() == origin && signed_by(o.name(), o.key_id()));
    if !operator_signed {
        return Err(TransparencyError::NoOperatorSignature {
            origin: origin.to_owned(),
        });
    }
    let witnesses: Vec<String> = policy
        .witnesses
        .iter()
        .filter(|w| signed_by(w.name(), w.key_id()))
        .map(|w| w.name().to_owned())
        .collect();
    if witnesses.len() < policy.quorum {
        return Err(TransparencyError::QuorumShort {
            needed: policy.quorum,
            got: witnesses.len(),
        });
    }
    Ok(TrustedCheckpoint {
        checkpoint,
        witnesses,
    })
}

/// Checks that the tree of `old` is a prefix of the tree of `new`, given an
/// RFC 9162 consistency proof; both must be checkpoints of one log.
///
/// A failing proof of the right length between two validly signed
/// checkpoints is reported as a [`Fork`]: either the operator signed two
/// histories or the proof was altered, and only the log can tell which.
pub fn check_consistent(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &[Hash],
) -> Result<(), TransparencyError> {
    if old.origin() != new.origin() {
        return Err(TransparencyError::WrongLog {
            expected: old.origin().to_owned(),
            found: new.origin().to_owned(),
        });
    }
    let fork = |kind| {
        TransparencyError::Fork(Fork {
            kind,
            old_size: old.size().0,
            old_root: *old.root(),
            new_size: new.size().0,
            new_root: *new.root(),
        })
    };
    if old.size() > new.size() {
        return Err(TransparencyError::RolledBack {
            old: old.size().0,
            new: new.size().0,
        });
    }
    if old.size() == new.size() && old.root() != new.root() {
        return Err(fork(ForkKind::SameSize));
    }
    match verify_consistency(old.size(), new.size(), old.root(), new.root(), proof) {
        Ok(()) => Ok(()),
        Err(ProofError::WrongProofLength { expected, actual }) => Err(TransparencyError::BadProof(
            format!("consistency proof has {actual} hashes, expected {expected}"),
        )),
        Err(_) => Err(fork(ForkKind::ProofFails)),
    }
}

/// Cosigns `note` as `witness` at `timestamp` (seconds since the Unix epoch),
/// after checking it is signed by one of `operators` and, if the witness
/// cosigned an earlier checkpoint `previous`, that `proof` shows the new
/// tree extends it. Refuses a fork or a rollback.
pub fn cosign(
    note: &Note,
    operators: &[NoteVerifier],
    witness: &CosignatureSigner,
    previous: Option<(&Note, &[Hash])>,
    timestamp: u64,
) -> Result<Note, TransparencyError> {
    let policy = Policy::new(operators.to_vec(), Vec::new(), 0)?;
    let trusted = verify_checkpoint(note, &policy)?;
    if let Some((old_note, proof)) = previous {
        require_cosigned_by(old_note, witness)?;
        let old = Checkpoint::parse(old_note.text())
            .map_err(|e| TransparencyError::malformed("previous checkpoint", e))?;
        check_consistent(&old, &trusted.checkpoint, proof)?;
    }
    let signature = witness
        .cosign(&trusted.checkpoint, timestamp)
        .map_err(|e| TransparencyError::Policy(e.to_string()))?;
    let mut out = note.clone();
    out.add_signature(signature)
        .map_err(|e| TransparencyError::malformed("checkpoint", e))?;
    Ok(out)
}

/// Checks that `note` carries a valid cosignature of `witness`.
pub(crate) fn require_cosigned_by(
    note: &Note,
    witness: &CosignatureSigner,
) -> Result<(), TransparencyError> {
    let mut own = VerifierSet::new();
    own.add(witness.verifier())
        .map_err(|e| TransparencyError::Policy(e.to_string()))?;
    note.verify(&own).map(|_| ()).map_err(|e| match e {
        NoteError::BadSignature { name, .. } => TransparencyError::ForgedSignature { name },
        _ => TransparencyError::NotPreviouslyCosigned {
            name: witness.name().to_owned(),
        },
    })
}

/// The size of a checkpoint as a plain number.
pub(crate) fn size_of(checkpoint: &Checkpoint) -> u64 {
    let TreeSize(size) = checkpoint.size();
    size
}
