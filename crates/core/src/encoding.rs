//! The one place where bytes are made: canonical entry bytes, the signing input,
//! the entry hash, and the binary forms of stored records.
//!
//! Everything here follows docs/FORMAT.md, which uses the same names. All
//! bincode calls in the workspace live in this module, so replacing bincode
//! (unmaintained; pinned at 2.0.1) touches nothing else. The configuration is
//! fixed-width little-endian integers, lengths as u64, enum variants as u32,
//! with a size limit so that a hostile length can never cause a large
//! allocation (for replay snapshots, which hold a whole state, a limit in
//! proportion to the snapshot's size; see [`decode_snapshot`]).

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use crate::entry::{Entry, UnsignedEntry};
use crate::event::{self, Event, EventKind, Replacement};
use crate::limits::MAX_ENTRY_BYTES;
use crate::types::{Day, Digest, EntryHash, Id, PublicKey, Signature, Timestamp};

/// The entry format version written as the first byte of every entry.
pub const ENTRY_FORMAT_VERSION: u8 = 1;

/// The format of one kind of entry only: a genesis (`log_created`) that
/// names its checkpoint origin, which follows the event's other fields.
/// Every other entry, and a genesis without an origin, is format 1, so the
/// logs and vectors of format 1 are unchanged (docs/FORMAT.md, "Entry").
pub const ENTRY_FORMAT_WITH_ORIGIN: u8 = 2;

/// The format an entry with this event is written in.
fn format_of(event: &Event) -> u8 {
    match event {
        Event::LogCreated(e) if e.origin.is_some() => ENTRY_FORMAT_WITH_ORIGIN,
        _ => ENTRY_FORMAT_VERSION,
    }
}

/// Prefix of the bytes an entry's signature covers (docs/FORMAT.md, "Signing input").
pub const SIGNING_CONTEXT: &[u8] = b"trail entry signature v1\0";

/// BLAKE3 `derive_key` context for entry hashes (docs/FORMAT.md, "Entry hash").
pub const ENTRY_HASH_CONTEXT: &str = "trail 2026-11-23 entry hash v1";

/// Size of an ed25519 signature, the last field of an entry.
const SIGNATURE_LEN: usize = 64;

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding()
        .with_limit::<MAX_ENTRY_BYTES>()
}

/// Why bytes could not be decoded; the text says where, for error messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DecodeFailure(pub String);

fn failure(e: DecodeError) -> DecodeFailure {
    DecodeFailure(match e {
        DecodeError::UnexpectedEnd { .. } => "the bytes end in the middle of a field".into(),
        DecodeError::LimitExceeded => {
            format!("a length field claims more than the {MAX_ENTRY_BYTES}-byte entry limit")
        }
        DecodeError::Utf8 { .. } => "a text field is not valid UTF-8".into(),
        DecodeError::UnexpectedVariant {
            found, type_name, ..
        } => {
            format!("value {found} is not a valid {}", short_type(type_name))
        }
        DecodeError::OtherString(s) => s,
        DecodeError::Other(s) => s.into(),
        other => other.to_string(),
    })
}

fn short_type(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}

/// The canonical bytes of everything an entry's signature covers, without the prefix.
pub fn unsigned_bytes(entry: &UnsignedEntry) -> Vec<u8> {
    // Encoding into a Vec cannot fail for these types; the size limit only
    // applies when decoding.
    let mut out = Vec::with_capacity(256);
    let fields = (
        format_of(&entry.event),
        entry.seq,
        entry.prev_hash,
        entry.recorded_at,
        entry.signer,
        &entry.event,
    );
    encode_into(&fields, &mut out);
    out
}

fn encode_into<T: Encode>(value: &T, out: &mut Vec<u8>) {
    let unlimited = bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding();
    // Writing to a Vec has no I/O failure and none of our Encode impls fail.
    if let Ok(bytes) = bincode::encode_to_vec(value, unlimited) {
        out.extend_from_slice(&bytes);
    }
}

/// The exact bytes an entry's ed25519 signature is made over.
pub fn signing_input(unsigned: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(SIGNING_CONTEXT.len() + unsigned.len());
    input.extend_from_slice(SIGNING_CONTEXT);
    input.extend_from_slice(unsigned);
    input
}

/// The canonical bytes of a signed entry: unsigned bytes then the signature.
pub fn entry_bytes(entry: &Entry) -> Vec<u8> {
    let mut out = unsigned_bytes(&entry.unsigned);
    out.extend_from_slice(&entry.signature.0);
    out
}

/// The entry hash: BLAKE3 in derive-key mode over the full canonical bytes.
pub fn entry_hash(canonical: &[u8]) -> EntryHash {
    // Deriving the context key is a hash of its own: done once, and the
    // keyed hasher cloned for each entry (the same bytes come out).
    static KEYED: std::sync::LazyLock<blake3::Hasher> =
        std::sync::LazyLock::new(|| blake3::Hasher::new_derive_key(ENTRY_HASH_CONTEXT));
    let mut hasher = KEYED.clone();
    hasher.update(canonical);
    EntryHash(*hasher.finalize().as_bytes())
}

/// The entry's Merkle leaf hash: RFC 6962 `SHA-256(0x00 || canonical)`
/// (docs/FORMAT.md, "Merkle tree"). SHA-256, not BLAKE3, because checkpoint
/// and proof verifiers elsewhere fix it.
pub fn merkle_leaf_hash(canonical: &[u8]) -> crate::merkle::Hash {
    crate::merkle::leaf_hash(canonical)
}

/// Decodes one entry from exactly `bytes`; trailing or missing bytes are an error.
pub fn decode_entry(bytes: &[u8]) -> Result<Entry, DecodeFailure> {
    if bytes.len() > MAX_ENTRY_BYTES {
        return Err(DecodeFailure(format!(
            "entry is {} bytes; the limit is {MAX_ENTRY_BYTES}",
            bytes.len()
        )));
    }
    let Some(body_len) = bytes.len().checked_sub(SIGNATURE_LEN) else {
        return Err(DecodeFailure("entry is shorter than a signature".into()));
    };
    let (unsigned_part, signature) = bytes.split_at(body_len);
    let ((version, seq, prev_hash, recorded_at, signer, mut event), mut used): (
        (u8, u64, EntryHash, Timestamp, PublicKey, Event),
        usize,
    ) = bincode::decode_from_slice(unsigned_part, config()).map_err(failure)?;
    match (version, &mut event) {
        (ENTRY_FORMAT_VERSION, _) => {}
        // Format 2: a genesis, and its origin after the event's fields.
        (ENTRY_FORMAT_WITH_ORIGIN, Event::LogCreated(genesis)) => {
            let (origin, more): (String, usize) =
                bincode::decode_from_slice(&unsigned_part[used..], config()).map_err(failure)?;
            genesis.origin = Some(origin);
            used += more;
        }
        (ENTRY_FORMAT_WITH_ORIGIN, _) => {
            return Err(DecodeFailure(
                "entry format 2 is only for a log_created event with an origin".into(),
            ));
        }
        _ => {
            return Err(DecodeFailure(format!(
                "entry format version {version} is not supported (this build reads 1 and 2)"
            )));
        }
    }
    if used != unsigned_part.len() {
        return Err(DecodeFailure(format!(
            "{} unexpected bytes after the event",
            unsigned_part.len() - used
        )));
    }
    let mut sig = [0u8; SIGNATURE_LEN];
    sig.copy_from_slice(signature);
    Ok(Entry {
        unsigned: UnsignedEntry {
            seq,
            prev_hash,
            recorded_at,
            signer,
            event,
        },
        signature: Signature(sig),
    })
}

/// Encodes a stored record (authority rows, head) with the canonical configuration.
pub fn encode_record<T: Encode>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

/// Marks a replay snapshot file; the version changes whenever the layout of
/// the state does, and a snapshot of another version is simply rebuilt.
pub(crate) const SNAPSHOT_MAGIC: &[u8; 16] = b"trail snapshot 3";

/// Encodes a replay snapshot: the magic line, the BLAKE3 hash of the payload
/// and the payload. Snapshots are local derived data, not part of FORMAT.md.
pub fn encode_snapshot<T: Encode>(value: &T) -> Vec<u8> {
    let mut payload = Vec::new();
    encode_into(value, &mut payload);
    let mut out = Vec::with_capacity(SNAPSHOT_MAGIC.len() + 32 + payload.len());
    out.extend_from_slice(SNAPSHOT_MAGIC);
    out.extend_from_slice(blake3::hash(&payload).as_bytes());
    out.extend_from_slice(&payload);
    out
}

/// Decodes a snapshot written by [`encode_snapshot`].
///
/// The hash catches accidental damage before anything is decoded, but it is
/// no defence against whoever can write the file, who can recompute it. What
/// keeps a crafted length from claiming absurd memory is bincode's size
/// limit: it must be a constant, so the smallest of a few tiers that is at
/// least four times the payload is used. A length claiming more than that
/// fails to decode, and the snapshot is rebuilt.
pub fn decode_snapshot<T: Decode<()>>(bytes: &[u8]) -> Result<T, DecodeFailure> {
    let rest = bytes
        .strip_prefix(SNAPSHOT_MAGIC)
        .ok_or_else(|| DecodeFailure("not a snapshot of this version".into()))?;
    let (hash, payload) = rest
        .split_first_chunk::<32>()
        .ok_or_else(|| DecodeFailure("snapshot is truncated".into()))?;
    if blake3::hash(payload).as_bytes() != hash {
        return Err(DecodeFailure("snapshot does not match its hash".into()));
    }
    let base = bincode::config::standard()
        .with_little_endian()
        .with_fixed_int_encoding();
    let finish = |(value, used): (T, usize)| {
        if used == payload.len() {
            Ok(value)
        } else {
            Err(DecodeFailure("unexpected bytes after a snapshot".into()))
        }
    };
    macro_rules! within_tiers {
        ($($bits:literal),*) => {
            $(
                if payload.len() <= (1usize << $bits) / 4 {
                    let limited = base.with_limit::<{ 1usize << $bits }>();
                    return bincode::decode_from_slice(payload, limited)
                        .map_err(failure)
                        .and_then(finish);
                }
            )*
        };
    }
    within_tiers!(24, 28, 32, 36);
    Err(DecodeFailure(format!(
        "snapshot of {} bytes is larger than any this build decodes",
        payload.len()
    )))
}

/// Decodes a stored record written by [`encode_record`].
pub fn decode_record<T: Decode<()>>(bytes: &[u8]) -> Result<T, DecodeFailure> {
    let (value, used) = bincode::decode_from_slice(bytes, config()).map_err(failure)?;
    if used != bytes.len() {
        return Err(DecodeFailure(
            "unexpected bytes after a stored record".into(),
        ));
    }
    Ok(value)
}

// ---- Binary forms of the value types (docs/FORMAT.md, "Values") ----

impl Encode for Day {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.0.year().encode(e)?;
        (self.0.month() as u8).encode(e)?;
        (self.0.day() as u8).encode(e)
    }
}

impl<C> Decode<C> for Day {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let year = i16::decode(d)?;
        let month = u8::decode(d)?;
        let day = u8::decode(d)?;
        let month = i8::try_from(month).unwrap_or(i8::MAX);
        let day = i8::try_from(day).unwrap_or(i8::MAX);
        Day::new(year, month, day)
            .ok_or_else(|| DecodeError::OtherString(format!("{year}-{month}-{day} is not a date")))
    }
}
bincode::impl_borrow_decode!(Day);

impl Encode for Timestamp {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.micros().encode(e)
    }
}

impl<C> Decode<C> for Timestamp {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let micros = i64::decode(d)?;
        Timestamp::from_micros(micros)
            .ok_or_else(|| DecodeError::OtherString(format!("timestamp {micros} is out of range")))
    }
}
bincode::impl_borrow_decode!(Timestamp);

macro_rules! raw_bytes {
    ($name:ident, $len:literal) => {
        impl Encode for $name {
            fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                self.0.encode(e)
            }
        }
        impl<C> Decode<C> for $name {
            fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
                Ok($name(<[u8; $len]>::decode(d)?))
            }
        }
        bincode::impl_borrow_decode!($name);
    };
}
raw_bytes!(PublicKey, 32);
raw_bytes!(Digest, 32);
raw_bytes!(EntryHash, 32);
raw_bytes!(Signature, 64);

impl Encode for Id {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.as_str().encode(e)
    }
}

impl<C> Decode<C> for Id {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let s = String::decode(d)?;
        Id::new(&s).map_err(|e| DecodeError::OtherString(e.to_string()))
    }
}
bincode::impl_borrow_decode!(Id);

/// `log_created`'s fields in order; the origin, when there is one, after
/// them (only entry format 2 has one, so format 1 bytes are unchanged).
impl Encode for event::LogCreated {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.name.encode(e)?;
        self.actor.encode(e)?;
        self.body.encode(e)?;
        self.public_key.encode(e)?;
        self.date.encode(e)?;
        match &self.origin {
            Some(origin) => origin.encode(e),
            None => Ok(()),
        }
    }
}

/// Decodes the format 1 fields; `decode_entry` reads a format 2 origin.
impl<C> Decode<C> for event::LogCreated {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(event::LogCreated {
            name: String::decode(d)?,
            actor: Id::decode(d)?,
            body: String::decode(d)?,
            public_key: PublicKey::decode(d)?,
            date: Day::decode(d)?,
            origin: None,
        })
    }
}
bincode::impl_borrow_decode!(event::LogCreated);

/// The kind's code, then its body: generated from the one table of kinds
/// (`event::with_event_kinds`), so no kind can be left out.
macro_rules! encode_events {
    ($($kind:ident = $code:literal, $name:literal;)*) => {
        impl Encode for Event {
            fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
                (self.kind() as u16).encode(e)?;
                match self {
                    $( Event::$kind(b) => b.encode(e), )*
                }
            }
        }

        fn decode_event_of_kind<C, D: Decoder<Context = C>>(
            kind: EventKind,
            d: &mut D,
        ) -> Result<Event, DecodeError> {
            Ok(match kind {
                $( EventKind::$kind => Event::$kind(event::$kind::decode(d)?), )*
            })
        }
    };
}
event::with_event_kinds!(encode_events);

fn decode_kind<C, D: Decoder<Context = C>>(d: &mut D) -> Result<EventKind, DecodeError> {
    let code = u16::decode(d)?;
    EventKind::from_code(code)
        .ok_or_else(|| DecodeError::OtherString(format!("unknown event kind code {code}")))
}

impl<C> Decode<C> for Event {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let kind = decode_kind(d)?;
        decode_event_of_kind(kind, d)
    }
}
bincode::impl_borrow_decode!(Event);

impl Encode for Replacement {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.0.encode(e)
    }
}

impl<C> Decode<C> for Replacement {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        // Refusing a nested correction before decoding it bounds recursion at one level.
        let kind = decode_kind(d)?;
        if kind == EventKind::Correction {
            return Err(DecodeError::OtherString(
                "a correction's replacement cannot be another correction".into(),
            ));
        }
        Ok(Replacement(Box::new(decode_event_of_kind(kind, d)?)))
    }
}
bincode::impl_borrow_decode!(Replacement);
