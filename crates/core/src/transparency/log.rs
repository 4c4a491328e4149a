//! Checkpoints and cosignatures made from, and checked against, a log on disk.

use crate::authority::Authority;
use crate::encoding;
use crate::error::{BundleError, Damage, Error, Result};
use crate::event::Role;
use crate::keys::SecretKey;
use crate::merkle::hash::{EMPTY_ROOT, Hash};
use crate::merkle::tree::TreeSize;
use crate::merkle::{Checkpoint, CosignatureSigner, Note, NoteVerifier};
use crate::store::Frontier;
use crate::store::Log;
use crate::types::{Id, PublicKey};
use crate::verify::Verifier;

use super::{
    Fork, ForkKind, TransparencyError, cosign, origin_for, parse_checkpoint_note,
    require_cosigned_by, size_of,
};

/// The checkpoint origin of `log` (see the module docs).
pub fn log_origin(log: &Log) -> Result<String> {
    let genesis = log
        .entries(0, Some(0))
        .next()
        .ok_or(Error::Damaged(Damage::NoGenesis))??;
    Ok(origin_of_genesis(&genesis))
}

/// The origin a genesis entry gives its log: the one it names, or
/// `trail/` and its hash.
pub fn origin_of_genesis(genesis: &crate::entry::Entry) -> String {
    match genesis.event() {
        crate::event::Event::LogCreated(created) => created
            .origin
            .clone()
            .unwrap_or_else(|| origin_for(&genesis.hash())),
        _ => origin_for(&genesis.hash()),
    }
}

/// The actor of `key` if it holds `role` in the log and is not revoked.
fn actor_with_role(log: &Log, key: &PublicKey, role: Role) -> Result<Option<Id>> {
    log.with_authority(|authority| {
        let record = authority.keys.get(key)?;
        (record.revoked.is_none() && record.holds(role)).then(|| record.actor.clone())
    })
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
    log.with_authority(|a| operators_of(a, &origin))?
        .map(|all| all.into_iter().map(|o| o.verifier).collect())
}

/// Verifiers for the keys that hold the operator role now, at the log's
/// size: what a checkpoint signed today must be signed by (a receipt, say).
pub fn current_operators(log: &Log) -> Result<Vec<NoteVerifier>> {
    let origin = log_origin(log)?;
    let size = log.tree_size();
    log.with_authority(|a| operators_of(a, &origin))?
        .map(|all| {
            all.into_iter()
                .filter(|o| o.held_at(size))
                .map(|o| o.verifier)
                .collect()
        })
}

/// Cosignature verifiers for every unrevoked key holding the witness role
/// in the log, each named by its actor id (as `trail cosign` and
/// `trail witness serve --name` sign).
pub fn log_witnesses(log: &Log) -> Result<Vec<crate::merkle::CosignatureVerifier>> {
    log.with_authority(|authority| {
        let mut out = Vec::new();
        for (key, record) in &authority.keys {
            if !record.holds(Role::Witness) || record.revoked.is_some() {
                continue;
            }
            let Some(vk) = key.verifying_key() else {
                continue;
            };
            out.push(
                crate::merkle::CosignatureVerifier::new(record.actor.as_str(), vk)
                    .map_err(|e| TransparencyError::Policy(e.to_string()))?,
            );
        }
        Ok(out)
    })?
}

/// A key that holds or held the operator role, and when.
struct Operator {
    verifier: NoteVerifier,
    granted_seq: u64,
    revoked_seq: Option<u64>,
}

impl Operator {
    /// Whether it held the role when the tree had `size` entries: granted
    /// by one of them, and not revoked by any of them.
    fn held_at(&self, size: u64) -> bool {
        self.granted_seq < size && self.revoked_seq.is_none_or(|r| r >= size)
    }
}

fn operators_of(authority: &Authority, origin: &str) -> Result<Vec<Operator>> {
    let mut out = Vec::new();
    for (key, record) in &authority.keys {
        if !record.holds(Role::Operator) {
            continue;
        }
        // As before the registry kept dated grants: the key counts from its
        // first grant, whatever role that grant gave.
        let Some(granted_seq) = record.grants.first().map(|g| g.seq) else {
            continue;
        };
        let Some(vk) = key.verifying_key() else {
            continue;
        };
        out.push(Operator {
            verifier: NoteVerifier::new(origin, vk)
                .map_err(|e| TransparencyError::Policy(e.to_string()))?,
            granted_seq,
            revoked_seq: record.revoked_seq(),
        });
    }
    Ok(out)
}

/// Signs a checkpoint of the whole log with `key`, which must hold the
/// operator role, and keeps it with the log. Returns the signed note.
pub fn sign_checkpoint(log: &Log, key: &SecretKey) -> Result<Note> {
    let note = sign_checkpoint_at(log, key, log.tree_size())?;
    log.keep_checkpoint(&note.to_bytes())?;
    Ok(note)
}

/// Signs a checkpoint of the first `size` entries with `key`, which must
/// hold the operator role now; keeps nothing. The same size always gives the
/// same bytes (Ed25519 signatures are deterministic), so a server can sign
/// again what it signed before instead of storing it.
pub fn sign_checkpoint_at(log: &Log, key: &SecretKey, size: u64) -> Result<Note> {
    if actor_with_role(log, &key.public_key(), Role::Operator)?.is_none() {
        return Err(TransparencyError::NotOperator {
            key: key.public_key().short(),
        }
        .into());
    }
    let origin = log_origin(log)?;
    let root = log.tree_root(size)?;
    let checkpoint = Checkpoint::new(&origin, TreeSize(size), root)
        .map_err(|e| TransparencyError::malformed("checkpoint", e))?;
    let signer = operator_signer(&origin, key)?;
    checkpoint
        .sign(&signer)
        .map_err(|e| TransparencyError::malformed("checkpoint", e).into())
}

/// A C2SP tlog-proof that entry `seq` is in the tree of the first `size`
/// entries, which `note` signs, carrying the entry's canonical bytes as its
/// extra data: what `trail prove inclusion` writes and a served log hands
/// back for each entry it accepts.
pub fn inclusion_proof_file(log: &Log, seq: u64, size: u64, note: Note) -> Result<Vec<u8>> {
    let path = log.inclusion_proof(seq, size)?;
    let entry = log
        .entry_bytes(seq, seq)
        .next()
        .ok_or(TransparencyError::SeqBeyondSize { seq, size })??;
    Ok(crate::merkle::TlogProof {
        extra: Some(entry),
        index: crate::merkle::tree::LeafIndex(seq),
        path,
        checkpoint: note,
    }
    .to_bytes())
}

/// What a checkpoint is compared with: a verified log or bundle.
struct Known<'a> {
    origin: String,
    operators: Vec<Operator>,
    size: u64,
    root_at: &'a dyn Fn(u64) -> Result<Hash>,
}

/// Checks a signed checkpoint against the log: it is for this log, signed by
/// one of its operator keys, and the log (already verified by the caller)
/// extends it. A log that does not is reported as a [`Fork`].
pub fn check_against_log(log: &Log, bytes: &[u8]) -> Result<Checkpoint> {
    let origin = log_origin(log)?;
    let root_at = |size| log.tree_root(size);
    let known = Known {
        operators: operators_of(&log.authority()?, &origin)?,
        origin,
        size: log.tree_size(),
        root_at: &root_at,
    };
    check_against(&known, bytes)
}

/// Follows verified entries as they stream past (from a bundle), keeping
/// what is needed to check one checkpoint against them at the end: the
/// log's origin and the tree roots at the checkpoint's size and at the end.
pub(crate) struct RootTracker {
    claimed_size: u64,
    frontier: Frontier,
    root_at_claimed: Option<Hash>,
    /// The origin the genesis entry gives the log.
    origin: Option<String>,
}

impl RootTracker {
    /// Starts following entries for the checkpoint note `bytes`.
    pub(crate) fn new(bytes: &[u8]) -> Result<RootTracker> {
        let (_, claimed) = parse_checkpoint_note(bytes)?;
        let claimed_size = size_of(&claimed);
        Ok(RootTracker {
            claimed_size,
            frontier: Frontier::default(),
            root_at_claimed: (claimed_size == 0).then_some(EMPTY_ROOT),
            origin: None,
        })
    }

    /// Takes in the next verified entries.
    pub(crate) fn push(&mut self, chunk: &[crate::verify::VerifiedEntry]) {
        for entry in chunk {
            if self.origin.is_none() {
                self.origin = Some(origin_of_genesis(entry.entry()));
            }
            self.frontier
                .push(encoding::merkle_leaf_hash(entry.bytes()));
            if self.frontier.size() == self.claimed_size {
                self.root_at_claimed = Some(self.frontier.root());
            }
        }
    }

    /// Checks the checkpoint against every entry taken in; `verifier` has
    /// verified them all.
    pub(crate) fn check(&self, verifier: &Verifier, bytes: &[u8]) -> Result<Checkpoint> {
        let origin = self
            .origin
            .clone()
            .ok_or(Error::Bundle(BundleError::Empty))?;
        let full = self.frontier.root();
        let size = self.frontier.size();
        let root_at = |n| {
            if n == size {
                Ok(full)
            } else {
                self.root_at_claimed
                    .ok_or_else(|| Damage::Tree(format!("no root at size {n}")).into())
            }
        };
        let known = Known {
            operators: operators_of(verifier.authority(), &origin)?,
            origin,
            size,
            root_at: &root_at,
        };
        check_against(&known, bytes)
    }
}

fn check_against(known: &Known<'_>, bytes: &[u8]) -> Result<Checkpoint> {
    let (note, checkpoint) = parse_checkpoint_note(bytes)?;
    if checkpoint.origin() != known.origin {
        return Err(TransparencyError::WrongLog {
            expected: known.origin.clone(),
            found: checkpoint.origin().to_owned(),
        }
        .into());
    }
    // Only a key that held the operator role at the checkpoint's size may
    // sign it: one granted later, or revoked by then, does not count.
    let size = size_of(&checkpoint);
    let operators = known
        .operators
        .iter()
        .filter(|o| o.held_at(size))
        .map(|o| o.verifier.clone())
        .collect();
    let policy = super::Policy::new(operators, Vec::new(), 0).map_err(|_| {
        TransparencyError::NoOperatorSignature {
            origin: known.origin.clone(),
        }
    })?;
    super::verify_checkpoint(&note, &policy)?;
    let fork = |kind| -> Result<Error> {
        Ok(TransparencyError::Fork(Fork {
            kind,
            old_size: size,
            old_root: *checkpoint.root(),
            new_size: known.size,
            new_root: (known.root_at)(known.size)?,
        })
        .into())
    };
    if size > known.size {
        return Err(fork(ForkKind::Truncated)?);
    }
    if (known.root_at)(size)? != *checkpoint.root() {
        let kind = if size == known.size {
            ForkKind::SameSize
        } else {
            ForkKind::NotPrefix
        };
        return Err(fork(kind)?);
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
    let Some(actor) = actor_with_role(log, &key.public_key(), Role::Witness)? else {
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
    let cosigned = cosign(&note, &operators, &witness, previous, timestamp)?;
    // Keep the cosigned checkpoint with the log unless a newer one is kept;
    // cosignatures of the same checkpoint accumulate.
    let keep = match log.latest_checkpoint()? {
        None => Some(cosigned.clone()),
        Some(bytes) => match parse_checkpoint_note(&bytes) {
            Err(_) => Some(cosigned.clone()),
            Ok((mut kept, _)) if kept.text() == cosigned.text() => {
                for sig in cosigned.signatures() {
                    kept.add_signature(sig.clone())
                        .map_err(|e| TransparencyError::malformed("checkpoint", e))?;
                }
                Some(kept)
            }
            Ok((_, kept)) => (size_of(&new) >= size_of(&kept)).then(|| cosigned.clone()),
        },
    };
    if let Some(note) = keep {
        log.keep_checkpoint(&note.to_bytes())?;
    }
    Ok(cosigned)
}
