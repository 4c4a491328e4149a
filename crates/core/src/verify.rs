//! Verification of a chain of entries, and the [`VerifiedEntry`] type that only
//! this module can make.
//!
//! Whatever needs trustworthy entries (replay, export, proofs) takes
//! `VerifiedEntry`, so code that forgets to verify does not compile.
//! Entries are checked in chunks: decoding, hashing and signature checks run
//! in parallel (ed25519 batch verification), then one sequential pass checks
//! seq, links, time order and authorization in log order, so the first
//! problem reported is always the earliest one.

use std::collections::HashMap;
use std::fmt;

use ed25519_dalek::{Signature as DalekSignature, VerifyingKey};
use rayon::prelude::*;

use crate::authority::{Authority, History, Rejection};
use crate::encoding::{self, DecodeFailure};
use crate::entry::Entry;
use crate::event::{EventKind, InvalidEvent};
use crate::types::{EntryHash, PublicKey, Timestamp};

/// An entry that passed every check in its place in the log: in this
/// verification pass, or when the stored prefix it was read back from was
/// verified in full (`VerifiedEntry::reread`, inside the crate).
///
/// Nothing outside this crate can make one but [`Verifier`] from seq 0; it
/// cannot be built by hand:
///
/// ```compile_fail
/// let forged = trail_core::VerifiedEntry { entry: todo!(), hash: todo!(), bytes: Vec::new() };
/// ```
///
/// nor obtained by resuming a verifier from an invented point:
///
/// ```compile_fail
/// let verifier = trail_core::Verifier::resume(todo!(), todo!());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEntry {
    entry: Entry,
    hash: EntryHash,
    bytes: Vec<u8>,
}

impl VerifiedEntry {
    /// The entry.
    pub fn entry(&self) -> &Entry {
        &self.entry
    }
    /// Its hash.
    pub fn hash(&self) -> EntryHash {
        self.hash
    }
    /// Its canonical bytes, exactly as verified.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Its seq.
    pub fn seq(&self) -> u64 {
        self.entry.unsigned.seq
    }
    /// Gives up the verified wrapper.
    pub fn into_parts(self) -> (Entry, EntryHash, Vec<u8>) {
        (self.entry, self.hash, self.bytes)
    }

    /// An entry of a log that a trusted checkpoint includes (its inclusion
    /// path checked against the signed root) and whose signature verified,
    /// read from a recommendation record (`transparency/record.rs`): the
    /// checkpoint's signer vouches for the log's verification, which no
    /// selection of entries can repeat.
    pub(crate) fn proven(entry: Entry, hash: EntryHash, bytes: Vec<u8>) -> VerifiedEntry {
        VerifiedEntry { entry, hash, bytes }
    }

    /// An entry read back from the prefix of a stored log that this library
    /// has verified in full and recorded as verified (`store/select.rs`):
    /// decoded again, and its seq and stored Merkle leaf checked by the
    /// caller, so damage since is caught; its signature and authorization
    /// were checked when the prefix was verified.
    pub(crate) fn reread(bytes: Vec<u8>, seq: u64) -> Result<VerifiedEntry, VerifyError> {
        let fail = |problem| VerifyError { seq, problem };
        let entry = encoding::decode_entry(&bytes).map_err(|e| fail(Problem::Undecodable(e)))?;
        if entry.unsigned.seq != seq {
            return Err(fail(Problem::WrongSeq {
                found: entry.unsigned.seq,
            }));
        }
        let hash = encoding::entry_hash(&bytes);
        Ok(VerifiedEntry { entry, hash, bytes })
    }
}

/// What is wrong with one entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The bytes are not a well-formed entry.
    Undecodable(DecodeFailure),
    /// The entry carries another seq than its position.
    WrongSeq {
        /// The seq written in the entry.
        found: u64,
    },
    /// The previous-hash field does not match the previous entry.
    BrokenLink {
        /// Hash of the previous entry.
        expected: EntryHash,
        /// Hash written in this entry.
        found: EntryHash,
    },
    /// Recorded earlier than the entry before it.
    TimeWentBack {
        /// The previous entry's time.
        previous: Timestamp,
        /// This entry's time.
        found: Timestamp,
    },
    /// The signature does not verify.
    BadSignature {
        /// Whose key it claims to be.
        signer: String,
    },
    /// The event breaks a size or consistency rule.
    InvalidEvent(InvalidEvent),
    /// The signer was not allowed to sign it there.
    Unauthorized(Rejection),
    /// A stored entry read back from the verified prefix no longer hashes to
    /// the Merkle leaf written with it: it changed after it was verified.
    ChangedSinceVerified,
    /// There is no entry at this seq, though the log goes on past it, or its
    /// head record says it should be there.
    Missing,
    /// Its frame in the segment files is damaged: the bytes stored for it
    /// changed on disk, or a segment file's header did (`what` says which).
    DamagedFrame {
        /// How the frame is damaged.
        what: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Undecodable(e) => write!(f, "entry cannot be decoded: {e}"),
            Problem::WrongSeq { found } => write!(f, "entry says it is seq {found}"),
            Problem::BrokenLink { expected, found } => write!(
                f,
                "previous-hash field is {found} but the previous entry hashes to {expected}"
            ),
            Problem::TimeWentBack { previous, found } => write!(
                f,
                "recorded at {found}, earlier than the previous entry ({previous})"
            ),
            Problem::BadSignature { signer } => {
                write!(f, "signature does not verify for key of {signer}")
            }
            Problem::InvalidEvent(e) => write!(f, "invalid event: {e}"),
            Problem::Unauthorized(r) => write!(f, "not allowed: {r}"),
            Problem::ChangedSinceVerified => f.write_str(
                "stored entry changed after the log was verified (it no longer matches its Merkle leaf)",
            ),
            Problem::Missing => f.write_str("entry is missing from the store"),
            Problem::DamagedFrame { what } => write!(f, "stored entry is damaged: {what}"),
        }
    }
}

/// The first bad entry in a log, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("seq {seq}: {problem}")]
pub struct VerifyError {
    /// The position of the bad entry.
    pub seq: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// Signer and kind of every verified entry, compactly: corrections need them.
/// A verifier resumed mid-log asks `earlier` about entries before `first_seq`.
#[derive(Default)]
struct SeenEntries {
    first_seq: u64,
    earlier: Option<Box<dyn History + Send + Sync>>,
    keys: Vec<PublicKey>,
    key_index: std::collections::HashMap<PublicKey, u32>,
    entries: Vec<(u32, u16)>,
}

impl SeenEntries {
    fn push(&mut self, signer: PublicKey, kind: EventKind) {
        let next = self.keys.len() as u32;
        let index = *self.key_index.entry(signer).or_insert(next);
        if index == next {
            self.keys.push(signer);
        }
        self.entries.push((index, kind as u16));
    }
}

impl History for SeenEntries {
    fn signer_and_kind(&self, seq: u64) -> Option<(PublicKey, EventKind)> {
        if seq < self.first_seq {
            return self.earlier.as_ref()?.signer_and_kind(seq);
        }
        let offset = usize::try_from(seq - self.first_seq).ok()?;
        let (key, kind) = *self.entries.get(offset)?;
        Some((*self.keys.get(key as usize)?, EventKind::from_code(kind)?))
    }
}

/// Where a verifier stands after some entries: enough to go on verifying the
/// entries after them without reading the earlier ones again.
///
/// Crate-private, like [`Verifier::resume`]: a point anyone could write
/// would let them verify a forged tail against an invented registry. The
/// store keeps the points it made in its snapshots, each tied to the hash
/// of the stored entry it follows.
#[derive(Clone, Debug, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(crate) struct ResumePoint {
    /// The seq the next entry must have.
    pub(crate) next_seq: u64,
    /// Hash of the last entry verified.
    pub(crate) prev_hash: EntryHash,
    /// When the last entry verified was recorded.
    pub(crate) prev_time: Option<Timestamp>,
    /// The registry as of the last entry verified.
    pub(crate) authority: Authority,
}

/// Checks entries in log order, carrying what later entries are checked against.
#[derive(Default)]
pub struct Verifier {
    /// Set by [`crate::Log::verify_with`] when the query indexes did not
    /// match the verified entries and were rebuilt from them.
    indexes_rebuilt: bool,
    next_seq: u64,
    prev_hash: EntryHash,
    prev_time: Option<Timestamp>,
    authority: Authority,
    seen: SeenEntries,
}

/// How many signatures go into one ed25519 batch. Batches of 1,024 to 4,096
/// verify about a quarter faster than batches of 128 (trail-bench's
/// limits, which try 64 to 4,096: on two cores 150,000 signatures/s at 128,
/// 186,000 to 194,000 from 1,024 up); 1,024 keeps a verification chunk of
/// 4,096 entries in four groups for the cores to share, and bounds the
/// one-by-one rechecks a batch with a bad signature falls back to.
const BATCH: usize = 1024;

struct Decoded {
    entry: Entry,
    hash: EntryHash,
    key: Option<VerifyingKey>,
}

/// A chunk decoded, hashed and signature-checked on every core, waiting for
/// [`Verifier::commit`] to check it in log order. Preparing needs no verifier
/// state, so the next chunk can be prepared while this one is committed.
pub(crate) struct Prepared {
    chunk: Vec<Vec<u8>>,
    decoded: Vec<Result<Decoded, DecodeFailure>>,
    signatures_ok: Vec<bool>,
}

impl Prepared {
    /// Decodes, hashes and checks the signatures of `chunk` in parallel.
    pub(crate) fn new(chunk: Vec<Vec<u8>>) -> Prepared {
        let parsed: Vec<Result<(Entry, EntryHash), DecodeFailure>> = chunk
            .par_iter()
            .map(|bytes| Ok((encoding::decode_entry(bytes)?, encoding::entry_hash(bytes))))
            .collect();
        // A log has few signers: decompress each key once per chunk, not once
        // per entry (a decompression costs about as much as a batch-verified
        // signature).
        let mut keys: HashMap<PublicKey, Option<VerifyingKey>> = HashMap::new();
        let decoded: Vec<Result<Decoded, DecodeFailure>> = parsed
            .into_iter()
            .map(|p| {
                let (entry, hash) = p?;
                let signer = entry.unsigned.signer;
                let key = *keys.entry(signer).or_insert_with(|| signer.verifying_key());
                Ok(Decoded { entry, hash, key })
            })
            .collect();
        let signatures_ok = check_signatures(&chunk, &decoded);
        Prepared {
            chunk,
            decoded,
            signatures_ok,
        }
    }
}

/// One entry of a [`Prepared`] chunk: its bytes, the decoded entry and its
/// hash (or why it does not decode), and whether its signature verified.
pub(crate) type PreparedItem = (Vec<u8>, Result<(Entry, EntryHash), DecodeFailure>, bool);

impl Prepared {
    fn into_items_decoded(
        self,
    ) -> impl Iterator<Item = (Vec<u8>, Result<Decoded, DecodeFailure>, bool)> {
        self.chunk
            .into_iter()
            .zip(self.decoded)
            .zip(self.signatures_ok)
            .map(|((bytes, decoded), ok)| (bytes, decoded, ok))
    }

    /// The chunk's entries with what preparing found out about each, in order.
    pub(crate) fn into_items(self) -> impl Iterator<Item = PreparedItem> {
        self.chunk
            .into_iter()
            .zip(self.decoded)
            .zip(self.signatures_ok)
            .map(|((bytes, decoded), ok)| (bytes, decoded.map(|d| (d.entry, d.hash)), ok))
    }
}

impl Verifier {
    /// A verifier expecting the genesis entry next.
    pub fn new() -> Verifier {
        Verifier::default()
    }

    /// Where this verifier stands, to resume from later.
    pub(crate) fn resume_point(&self) -> ResumePoint {
        ResumePoint {
            next_seq: self.next_seq,
            prev_hash: self.prev_hash,
            prev_time: self.prev_time,
            authority: self.authority.clone(),
        }
    }

    /// A verifier that goes on from `point`, as if it had verified every
    /// entry before it; `earlier` answers questions about those entries (a
    /// correction's target). Whoever resumes vouches for the entries before
    /// `point`: the store does so by tying a snapshot to its entry's hash.
    pub(crate) fn resume(point: ResumePoint, earlier: Box<dyn History + Send + Sync>) -> Verifier {
        Verifier {
            indexes_rebuilt: false,
            next_seq: point.next_seq,
            prev_hash: point.prev_hash,
            prev_time: point.prev_time,
            authority: point.authority,
            seen: SeenEntries {
                first_seq: point.next_seq,
                earlier: Some(earlier),
                ..SeenEntries::default()
            },
        }
    }

    /// Whether the verification that made this verifier found the log's
    /// query indexes out of step with its entries, and rebuilt them.
    pub fn indexes_rebuilt(&self) -> bool {
        self.indexes_rebuilt
    }

    pub(crate) fn note_indexes_rebuilt(&mut self) {
        self.indexes_rebuilt = true;
    }

    /// How many entries have been verified.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    /// Whether nothing has been verified yet.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// Hash of the last verified entry (zero before genesis).
    pub fn head_hash(&self) -> EntryHash {
        self.prev_hash
    }

    /// The registry as of the last verified entry.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Verifies the next entries, given as canonical bytes in log order.
    ///
    /// On error nothing after the bad entry is accepted; entries before it in
    /// the same chunk are verified but not returned.
    pub fn verify_chunk(&mut self, chunk: Vec<Vec<u8>>) -> Result<Vec<VerifiedEntry>, VerifyError> {
        self.commit(Prepared::new(chunk))
    }

    /// Checks a prepared chunk in log order: seq, links, time, signature
    /// results, event rules and authorization; as [`Verifier::verify_chunk`].
    pub(crate) fn commit(&mut self, prepared: Prepared) -> Result<Vec<VerifiedEntry>, VerifyError> {
        let Prepared {
            chunk,
            decoded,
            signatures_ok,
        } = prepared;
        chunk
            .into_iter()
            .zip(decoded)
            .zip(signatures_ok)
            .map(|((bytes, decoded), sig_ok)| self.accept(bytes, decoded, sig_ok))
            .collect()
    }

    /// Like [`Verifier::commit`], but keeps the entries before a bad one:
    /// the accepted prefix (the verifier stands after it), and the error
    /// that stopped it, if one did.
    pub(crate) fn commit_prefix(
        &mut self,
        prepared: Prepared,
    ) -> (Vec<VerifiedEntry>, Option<VerifyError>) {
        let mut accepted = Vec::with_capacity(prepared.chunk.len());
        for (bytes, decoded, sig_ok) in prepared.into_items_decoded() {
            match self.accept(bytes, decoded, sig_ok) {
                Ok(v) => accepted.push(v),
                Err(e) => return (accepted, Some(e)),
            }
        }
        (accepted, None)
    }

    /// Verifies the next entry on its own (one about to be appended, say).
    pub fn verify_one(&mut self, bytes: Vec<u8>) -> Result<VerifiedEntry, VerifyError> {
        let decoded = decode(&bytes);
        let sig_ok = decoded
            .as_ref()
            .ok()
            .and_then(|d| signed_parts(&bytes, d))
            .is_some_and(|(message, sig, key)| signature_holds(&message, &sig, &key));
        self.accept(bytes, decoded, sig_ok)
    }

    /// Checks one decoded entry in its place and takes it in.
    fn accept(
        &mut self,
        bytes: Vec<u8>,
        decoded: Result<Decoded, DecodeFailure>,
        sig_ok: bool,
    ) -> Result<VerifiedEntry, VerifyError> {
        let seq = self.next_seq;
        let fail = |problem| VerifyError { seq, problem };
        let Decoded { entry, hash, .. } = decoded.map_err(|e| fail(Problem::Undecodable(e)))?;
        self.check_in_place(&entry, sig_ok).map_err(fail)?;
        let u = &entry.unsigned;
        self.authority.apply(seq, &u.signer, &u.event);
        self.seen.push(u.signer, u.event.kind());
        self.next_seq += 1;
        self.prev_hash = hash;
        self.prev_time = Some(u.recorded_at);
        Ok(VerifiedEntry { entry, hash, bytes })
    }

    fn check_in_place(&self, entry: &Entry, signature_ok: bool) -> Result<(), Problem> {
        let u = &entry.unsigned;
        if u.seq != self.next_seq {
            return Err(Problem::WrongSeq { found: u.seq });
        }
        if u.prev_hash != self.prev_hash {
            return Err(Problem::BrokenLink {
                expected: self.prev_hash,
                found: u.prev_hash,
            });
        }
        if let Some(previous) = self.prev_time
            && u.recorded_at < previous
        {
            return Err(Problem::TimeWentBack {
                previous,
                found: u.recorded_at,
            });
        }
        if !signature_ok {
            let signer = self.authority.actor_of(&u.signer).map_or_else(
                || format!("unregistered key {}", u.signer.short()),
                |a| a.to_string(),
            );
            return Err(Problem::BadSignature { signer });
        }
        u.event.validate().map_err(Problem::InvalidEvent)?;
        self.authority
            .check(u.seq, &u.signer, &u.event, &self.seen)
            .map_err(Problem::Unauthorized)
    }
}

/// One entry decoded and hashed, with its signer's key.
fn decode(bytes: &[u8]) -> Result<Decoded, DecodeFailure> {
    let entry = encoding::decode_entry(bytes)?;
    let key = entry.unsigned.signer.verifying_key();
    Ok(Decoded {
        hash: encoding::entry_hash(bytes),
        entry,
        key,
    })
}

/// What a decoded entry's signature is checked over: the signing input, the
/// signature and the signer's key; none where strict verification would
/// refuse the signature whatever the equation says.
///
/// Batch verification checks only the group equation, which a small-order
/// key, a small-order R or a non-canonical R can satisfy. `verify_strict`
/// refuses all three; refusing them here, before any batch, gives every
/// entry the same answer whether it is verified alone, in a batch, or in a
/// batch that failed for another entry's sake. (A non-canonical R that is
/// not of small order fails the batch equation anyway, since the batch
/// hashes R's bytes as given; only the 19 encodings past the prime decode
/// at all, and they are refused here.)
fn signed_parts(raw: &[u8], d: &Decoded) -> Option<(Vec<u8>, DalekSignature, VerifyingKey)> {
    let key = d.key.filter(|k| !k.is_weak())?;
    let sig = DalekSignature::from_bytes(&d.entry.signature.0);
    if !canonical_y(sig.r_bytes()) || small_order_y(sig.r_bytes()) {
        return None;
    }
    // A decoded entry ends in its 64-byte signature.
    let unsigned = raw.get(..raw.len().checked_sub(64)?)?;
    Some((encoding::signing_input(unsigned), sig, key))
}

/// Whether a compressed point's y (its sign bit aside) is below the field
/// prime 2^255 - 19, as a canonical encoding's is. The 19 encodings at or
/// above it decode, to the points of y - p, but no signer makes them.
fn canonical_y(point: &[u8; 32]) -> bool {
    let at_least_p =
        point[31] & 0x7f == 0x7f && point[1..31].iter().all(|&b| b == 0xff) && point[0] >= 0xed;
    !at_least_p
}

/// Whether a compressed point is one of the eight points of small order.
/// Only their y matters: negating a point keeps its order, so the sign bit
/// is ignored. Comparing bytes costs nothing beside the decompression and
/// inversion that asking the curve would (about 7 µs a signature here).
fn small_order_y(point: &[u8; 32]) -> bool {
    static SMALL_ORDER_Y: std::sync::OnceLock<Vec<[u8; 32]>> = std::sync::OnceLock::new();
    let ys = SMALL_ORDER_Y.get_or_init(|| {
        curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| {
                let mut y = p.compress().to_bytes();
                y[31] &= 0x7f;
                y
            })
            .collect()
    });
    let mut y = *point;
    y[31] &= 0x7f;
    ys.contains(&y)
}

/// The one check of a single signature, under strict ed25519 rules: for an
/// entry verified on its own, and inside a batch that failed.
fn signature_holds(message: &[u8], sig: &DalekSignature, key: &VerifyingKey) -> bool {
    key.verify_strict(message, sig).is_ok()
}

/// Whether each entry's signature verifies, batch-verifying groups in parallel
/// and falling back to one-by-one checks only inside a group that fails.
fn check_signatures(raw: &[Vec<u8>], decoded: &[Result<Decoded, DecodeFailure>]) -> Vec<bool> {
    let items: Vec<(usize, Vec<u8>, DalekSignature, VerifyingKey)> = decoded
        .par_iter()
        .enumerate()
        .filter_map(|(i, d)| {
            let (message, sig, key) = signed_parts(&raw[i], d.as_ref().ok()?)?;
            Some((i, message, sig, key))
        })
        .collect();
    let mut ok = vec![false; raw.len()];
    let results: Vec<Vec<(usize, bool)>> = items
        .par_chunks(BATCH)
        .map(|group| {
            let messages: Vec<&[u8]> = group.iter().map(|(_, m, _, _)| m.as_slice()).collect();
            let sigs: Vec<DalekSignature> = group.iter().map(|(_, _, s, _)| *s).collect();
            let keys: Vec<VerifyingKey> = group.iter().map(|(_, _, _, k)| *k).collect();
            if ed25519_dalek::verify_batch(&messages, &sigs, &keys).is_ok() {
                group.iter().map(|(i, ..)| (*i, true)).collect()
            } else {
                group
                    .iter()
                    .map(|(i, m, s, k)| (*i, signature_holds(m, s, k)))
                    .collect()
            }
        })
        .collect();
    for (i, good) in results.into_iter().flatten() {
        ok[i] = good;
    }
    ok
}

#[cfg(test)]
mod strictness_tests {
    use super::{canonical_y, small_order_y};

    #[test]
    fn the_eight_small_order_points_and_only_they_are_caught() {
        for p in curve25519_dalek::constants::EIGHT_TORSION {
            let mut bytes = p.compress().to_bytes();
            assert!(small_order_y(&bytes), "{bytes:02x?}");
            bytes[31] ^= 0x80;
            assert!(small_order_y(&bytes), "with the other sign: {bytes:02x?}");
        }
        let base = curve25519_dalek::constants::ED25519_BASEPOINT_POINT.compress();
        assert!(!small_order_y(base.as_bytes()));
    }

    #[test]
    fn encodings_past_the_prime_are_not_canonical() {
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!canonical_y(&p), "p itself");
        p[31] = 0xff;
        assert!(!canonical_y(&p), "p with the sign bit");
        p[0] = 0xec;
        p[31] = 0x7f;
        assert!(canonical_y(&p), "p - 1");
        let base = curve25519_dalek::constants::ED25519_BASEPOINT_POINT.compress();
        assert!(canonical_y(base.as_bytes()));
    }
}
