//! An entry: one signed, hash-chained statement in the log.

use ed25519_dalek::Signer;

use crate::encoding;
use crate::event::Event;
use crate::keys::SecretKey;
use crate::types::{EntryHash, PublicKey, Signature, Timestamp};

/// Everything in an entry that its signature covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnsignedEntry {
    /// Position in the log; the genesis entry is 0.
    pub seq: u64,
    /// Hash of the entry before this one (32 zero bytes for genesis).
    pub prev_hash: EntryHash,
    /// When the entry was recorded (UTC); never earlier than the previous entry's.
    pub recorded_at: Timestamp,
    /// The signer's public key.
    pub signer: PublicKey,
    /// What the entry states.
    pub event: Event,
}

/// A signed entry, as stored and exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The signed fields.
    pub unsigned: UnsignedEntry,
    /// ed25519 signature over the signing input (docs/FORMAT.md).
    pub signature: Signature,
}

impl UnsignedEntry {
    /// The canonical bytes the signature covers, before the signing context
    /// is prefixed (docs/FORMAT.md, "Signing input").
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::unsigned_bytes(self)
    }

    /// Signs the entry with `key`, whose public key must be `self.signer`.
    pub fn sign(self, key: &SecretKey) -> Entry {
        let input = encoding::signing_input(&encoding::unsigned_bytes(&self));
        let signature = Signature(key.signing_key().sign(&input).to_bytes());
        Entry {
            unsigned: self,
            signature,
        }
    }
}

impl Entry {
    /// The entry's position in the log.
    pub fn seq(&self) -> u64 {
        self.unsigned.seq
    }

    /// The event it carries.
    pub fn event(&self) -> &Event {
        &self.unsigned.event
    }

    /// The canonical bytes (docs/FORMAT.md, "Entry").
    pub fn to_bytes(&self) -> Vec<u8> {
        encoding::entry_bytes(self)
    }

    /// Parses canonical bytes; the entry is not verified by this.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, encoding::DecodeFailure> {
        encoding::decode_entry(bytes)
    }

    /// The entry hash over these canonical bytes.
    pub fn hash(&self) -> EntryHash {
        encoding::entry_hash(&self.to_bytes())
    }
}
