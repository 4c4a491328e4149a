//! Timestamped Ed25519 witness cosignatures (c2sp.org/tlog-cosignature,
//! signature type 0x04).
//!
//! A cosignature is an ordinary note signature line on a checkpoint whose
//! key ID is `SHA-256(name || "\n" || 0x04 || public key)[:4]` and whose
//! signature bytes are `u64 big-endian timestamp || Ed25519 signature` over
//!
//! ```text
//! cosignature/v1\n
//! time <timestamp, decimal>\n
//! <checkpoint body, final newline included>
//! ```
//!
//! The header gives domain separation from plain note signatures, so the
//! same key cannot be tricked into one kind of signature by the other. The
//! message does not name the cosigner, so one key must serve one cosigner.

use std::fmt;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;

use super::checkpoint::Checkpoint;
use super::keys::{
    NamedKey, SIG_TYPE_COSIGNATURE_V1, ed25519_signature, is_valid_key_name, key_id,
};
use super::note::{NoteError, NoteSignature, SignatureVerifier, Verdict};

/// First line of every cosigned message.
pub const COSIGNATURE_V1_HEADER: &str = "cosignature/v1\n";

/// Largest timestamp a cosignature may carry (2^63 - 1).
pub const MAX_TIMESTAMP: u64 = i64::MAX as u64;

/// Length of the signature bytes: 8-byte timestamp plus 64-byte Ed25519.
pub const COSIGNATURE_LEN: usize = 8 + 64;

/// The exact bytes a cosigner signs for `text` at `timestamp`.
pub fn cosigned_message(text: &[u8], timestamp: u64) -> Vec<u8> {
    let header = format!("{COSIGNATURE_V1_HEADER}time {timestamp}\n");
    [header.as_bytes(), text].concat()
}

/// Splits cosignature bytes into timestamp and signature, checking bounds.
fn split_cosignature(sig: &[u8]) -> Result<(u64, &[u8]), NoteError> {
    if sig.len() != COSIGNATURE_LEN {
        return Err(NoteError::InvalidTimestamp);
    }
    let (ts, ed) = sig
        .split_first_chunk::<8>()
        .ok_or(NoteError::InvalidTimestamp)?;
    let ts = u64::from_be_bytes(*ts);
    if ts > MAX_TIMESTAMP {
        return Err(NoteError::InvalidTimestamp);
    }
    Ok((ts, ed))
}

/// Reads the (unverified) timestamp of a cosignature line.
pub fn cosignature_timestamp(sig: &NoteSignature) -> Result<u64, NoteError> {
    split_cosignature(sig.signature()).map(|(ts, _)| ts)
}

/// Produces cosignatures as a witness. Debug output hides the key.
#[derive(Clone)]
pub struct CosignatureSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for CosignatureSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosignatureSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl CosignatureSigner {
    /// Builds a cosigner named `name` (ideally a schema-less URL).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(
                name,
                SIG_TYPE_COSIGNATURE_V1,
                key.verifying_key().as_bytes(),
            ),
            key,
        })
    }

    /// Generates a fresh cosigner key.
    pub fn generate(name: &str, rng: &mut impl CryptoRngCore) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// The cosigner name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The type-0x04 key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier(NamedKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        })
    }

    /// Cosigns `checkpoint` at `timestamp` (seconds since the Unix epoch).
    /// Add the result to the checkpoint's note with `Note::add_signature`.
    pub fn cosign(
        &self,
        checkpoint: &Checkpoint,
        timestamp: u64,
    ) -> Result<NoteSignature, NoteError> {
        if timestamp > MAX_TIMESTAMP {
            return Err(NoteError::InvalidTimestamp);
        }
        let msg = cosigned_message(checkpoint.to_text().as_bytes(), timestamp);
        let sig = self.key.sign(&msg);
        let bytes = [timestamp.to_be_bytes().as_slice(), &sig.to_bytes()].concat();
        Ok(NoteSignature::from_parts(
            self.name.clone(),
            self.key_id,
            bytes,
        ))
    }
}

/// Checks cosignatures from one witness key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier(NamedKey);

impl CosignatureVerifier {
    /// Builds a verifier for cosigner `name` with an Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        NamedKey::new(name, SIG_TYPE_COSIGNATURE_V1, key).map(Self)
    }

    /// Parses a verifier key string with signature type 0x04.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        NamedKey::from_vkey(vkey, SIG_TYPE_COSIGNATURE_V1).map(Self)
    }

    /// The verifier key string (`<name>+<id>+<base64(0x04 || key)>`).
    pub fn vkey(&self) -> String {
        self.0.vkey(SIG_TYPE_COSIGNATURE_V1)
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0.key
    }
}

impl SignatureVerifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn key_id(&self) -> u32 {
        self.0.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> Verdict {
        let Ok((timestamp, ed)) = split_cosignature(signature) else {
            return Verdict::Invalid;
        };
        let Some(sig) = ed25519_signature(ed) else {
            return Verdict::Invalid;
        };
        let msg = cosigned_message(text, timestamp);
        match self.0.key.verify_strict(&msg, &sig) {
            Ok(()) => Verdict::Valid {
                timestamp: Some(timestamp),
            },
            Err(_) => Verdict::Invalid,
        }
    }
}

#[cfg(test)]
#[path = "cosignature_tests.rs"]
mod tests;
