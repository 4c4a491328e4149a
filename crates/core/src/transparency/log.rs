//! Checkpoints and cosignatures made from, and checked against, a log on disk.

use crate::error::{Error, Result};
use crate::event::Role;
use crate::keys::SecretKey;
use crate::merkle::tree::TreeSize;
use crate::merkle::{Checkpoint, CosignatureSigner, Note, NoteVerifier};
use crate::store::Log;
use crate::types::{Id, PublicKey};

use super::{
    Fork, ForkKind, TransparencyError, cosign, origin_for, parse_checkpoint_note,
    require_cosigned_by, size_of,
};

/// The checkpoint origin of `log` (see the module docs).
pub fn log_origin(log: &Log) -> Result<String> {
    let genesis = log
        .entries(0, Some(0))
        .next()
        .ok_or_else(|| Error::Corrupt("the log has no genesis entry".into()))??;
    Ok(origin_for(&genesis.hash()))
}

/// The actor of `key` if it holds `role` in the log and is not revoked.
fn actor_with_role(log: &Log, key: &PublicKey, role: Role) -> Option<Id> {
    let authority = log.authority();
    let record = authority.keys.get(key)?;
    (record.revoked_seq.is_none() && record.roles.contains(&role)).then(|| record.actor.clone())
}

/// The note signer for checkpoints of the log with this origin.
pub fn operator_signer(origin: &str, key: &SecretKey) -> Result<crate::merkle::NoteSigner> {
    crate::merkle::NoteSigner::new(origin, key.signing_key().clone())
        .map_err(|e| TransparencyError::Policy(format!("origin {origin:?}: {e}")).into())
}

/// The cosigner for witness `name` (its actor id).
pub fn witness_signer(name: &Id, key: &SecretKey) -> Result<CosignatureSigner> {
    CosignatureSigner::new(name.as_str(), key.signing_key().clone())
        .map_err(|e| TransparencyError::Policy(format!("witness name {name}: {e}")).into())
}

/// Verifiers for every key that holds, or held, the operator role in the
/// log: a checkpoint signed before a key was revoked stays valid evidence.
pub fn log_operators(log: &Log) -> Result<Vec<NoteVerifier>> {
    let origin = log_origin(log)?;
    let authority = log.authority();
    let mut out = Vec::new();
    for (key, record) in &authority.keys {
        if !record.roles.contains(&Role::Operator) {
            continue;
        }
        let Some(vk) = key.verifying_key() else {
            continue;
        };
        out.push(
            NoteVerifier::new(&origin, vk).map_err(|e| TransparencyError::Policy(e.to_string()))?,
        );
    }
    Ok(out)
}

/// Signs a checkpoint of the whole log with `key`, which must hold the
/// operator role. Returns the signed note.
pub fn sign_checkpoint(log: &Log, key: &SecretKey) -> Result<Note> {
    if actor_with_role(log, &key.public_key(), Role::Operator).is_none() {
        return Err(TransparencyError::NotOperator {
            key: key.public_key().short(),
        }
        .into());
    }
    let origin = log_origin(log)?;
    let size = log.tree_size();
    let root = log.tree_root(size)?;
    let checkpoint = Checkpoint::new(&origin, TreeSize(size), root)
        .map_err(|e| TransparencyError::malformed("checkpoint", e))?;
    let signer = operator_signer(&origin, key)?;
    Ok(checkpoint
        .sign(&signer)
        .map_err(|e| TransparencyError::malformed("checkpoint", e))?)
}

/// Checks a signed checkpoint against the log: it is for this log, signed by
/// one of its operator keys, and the log (already verified by the caller)
/// extends it. A log that does not is reported as a [`Fork`].
pub fn check_against_log(log: &Log, bytes: &[u8]) -> Result<Checkpoint> {
    let (note, checkpoint) = parse_checkpoint_note(bytes)?;
    let origin = log_origin(log)?;
    if checkpoint.origin() != origin {
        return Err(TransparencyError::WrongLog {
            expected: origin,
            found: checkpoint.origin().to_owned(),
        }
        .into());
    }
    let policy = super::Policy::new(log_operators(log)?, Vec::new(), 0).map_err(|_| {
        TransparencyError::NoOperatorSignature {
            origin: origin.clone(),
        }
    })?;
    super::verify_checkpoint(&note, &policy)?;
    let size = size_of(&checkpoint);
    let log_size = log.tree_size();
    if size > log_size {
        return Err(TransparencyError::Fork(Fork {
            kind: ForkKind::Truncated,
            old_size: size,
            old_root: *checkpoint.root(),
            new_size: log_size,
            new_root: log.tree_root(log_size)?,
        })
        .into());
    }
    let root = log.tree_root(size)?;
    if root != *checkpoint.root() {
        return Err(TransparencyError::Fork(Fork {
            kind: if size == log_size {
                ForkKind::SameSize
            } else {
                ForkKind::NotPrefix
            },
            old_size: size,
            old_root: *checkpoint.root(),
            new_size: log_size,
            new_root: log.tree_root(log_size)?,
        })
        .into());
    }
    Ok(checkpoint)
}

/// Cosigns a checkpoint as the witness holding `key` (witness role in the
/// log), after checking it against the witness's copy of the log and, given
/// the last checkpoint this witness cosigned, that the new one extends it.
pub fn cosign_with_log(
    log: &Log,
    key: &SecretKey,
    checkpoint: &[u8],
    previous: Option<&[u8]>,
    timestamp: u64,
) -> Result<Note> {
    let Some(actor) = actor_with_role(log, &key.public_key(), Role::Witness) else {
        return Err(TransparencyError::NotWitness {
            key: key.public_key().short(),
        }
        .into());
    };
    let witness = witness_signer(&actor, key)?;
    let (note, new) = parse_checkpoint_note(checkpoint)?;
    let previous = match previous {
        None => None,
        Some(bytes) => {
            let (old_note, old) = parse_checkpoint_note(bytes)?;
            // Both checkpoints are compared with the log first, so a fork
            // is named as such rather than as a failing proof.
            if size_of(&old) == size_of(&new) && old.root() != new.root() {
                return Err(TransparencyError::Fork(Fork {
                    kind: ForkKind::SameSize,
                    old_size: size_of(&old),
                    old_root: *old.root(),
                    new_size: size_of(&new),
                    new_root: *new.root(),
                })
                .into());
            }
            Some((old_note, old))
        }
    };
    check_against_log(log, checkpoint)?;
    let proof = match &previous {
        None => Vec::new(),
        Some((old_note, old)) => {
            if size_of(old) > size_of(&new) {
                return Err(TransparencyError::RolledBack {
                    old: size_of(old),
                    new: size_of(&new),
                }
                .into());
            }
            // The previous checkpoint must be ours before its contents matter.
            require_cosigned_by(old_note, &witness)?;
            check_against_log(log, &old_note.to_bytes()).map_err(|e| match e {
                Error::Transparency(TransparencyError::Fork(mut fork)) => {
                    fork.new_size = size_of(&new);
                    fork.new_root = *new.root();
                    fork.kind = ForkKind::NotPrefix;
                    Error::Transparency(TransparencyError::Fork(fork))
                }
                other => other,
            })?;
            log.consistency_proof(size_of(old), size_of(&new))?
        }
    };
    let operators = log_operators(log)?;
    let previous = previous.as_ref().map(|(n, _)| (n, proof.as_slice()));
    Ok(cosign(&note, &operators, &witness, previous, timestamp)?)
}
