//! C2SP signed notes (c2sp.org/signed-note), compatible with Go's
//! golang.org/x/mod/sumdb/note.
//!
//! ```text
//! <text, ending in a newline>
//! <blank line>
//! — <key name> <base64(4-byte big-endian key ID || signature)>
//! ```
//!
//! Parsing is strict and bounded (size, signature count, no control
//! characters) so hostile input is rejected before any crypto runs.
//! Verification follows the spec: signatures from unknown (name, key ID)
//! pairs are ignored and reported; a failing signature from a known key
//! rejects the whole note; a note with no verified signature is rejected.
//! Unlike Go, which skips repeated lines from one key, every line from a
//! known key is verified, so a note carrying a forged duplicate is refused.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::keys::{NoteSigner, is_valid_key_name};

/// Largest note accepted by [`Note::parse`], in bytes.
pub const MAX_NOTE_SIZE: usize = 1 << 20;

/// Most signature lines accepted in one note (Go's limit).
pub const MAX_SIGNATURES: usize = 100;

/// Start of every signature line: U+2014 EM DASH then a space.
pub const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a note, key or signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than [`MAX_NOTE_SIZE`].
    #[error("note is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8")]
    InvalidUtf8,
    /// An ASCII control character other than newline was found.
    #[error("control character at byte {offset}")]
    ControlCharacter {
        /// Byte offset of the character.
        offset: usize,
    },
    /// The text is empty or does not end in a newline.
    #[error("note text must be non-empty and end with a newline")]
    InvalidText,
    /// No blank line separates the text from signature lines.
    #[error("note has no signature block")]
    MissingSignatures,
    /// The signature block does not end with a newline.
    #[error("signature block does not end with a newline")]
    MissingFinalNewline,
    /// A signature line is malformed.
    #[error("signature line {line} is malformed: {reason}")]
    MalformedSignature {
        /// 1-based line number within the signature block.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More than [`MAX_SIGNATURES`] signature lines.
    #[error("note has more than {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// A key name is empty or contains whitespace, control characters or `+`.
    #[error("invalid key name")]
    InvalidKeyName,
    /// A signature from a known key did not verify.
    #[error("invalid signature from known key {name}+{key_id:08x}")]
    BadSignature {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// No signature from a known key was found.
    #[error("note has no signature from a known key ({ignored} ignored)")]
    NoVerifiedSignatures {
        /// Number of distinct unknown-key signatures ignored.
        ignored: usize,
    },
    /// Two verifiers with the same name and key ID were configured.
    #[error("verifier {name}+{key_id:08x} configured twice")]
    DuplicateVerifier {
        /// Key name.
        name: String,
        /// Key ID.
        key_id: u32,
    },
    /// A verifier key string is malformed.
    #[error("invalid verifier key: {0}")]
    InvalidVerifierKey(&'static str),
    /// A signer key string is malformed.
    #[error("invalid signer key")]
    InvalidSignerKey,
    /// A key string's ID does not match its name and key material.
    #[error("key ID {claimed:08x} does not match computed {computed:08x}")]
    KeyIdMismatch {
        /// ID written in the key string.
        claimed: u32,
        /// ID derived from name and key.
        computed: u32,
    },
    /// The key's signature type byte is not the one expected here.
    #[error("unsupported key type 0x{0:02x}")]
    UnknownKeyType(u8),
    /// A cosignature timestamp is above 2^63 - 1 or malformed.
    #[error("invalid cosignature timestamp")]
    InvalidTimestamp,
}

/// Outcome of checking one signature with a known key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The signature is valid; `timestamp` is set for timestamped types
    /// (tlog-cosignature), `None` for plain signatures.
    Valid {
        /// Seconds since the Unix epoch claimed by the signer.
        timestamp: Option<u64>,
    },
    /// The signature does not verify.
    Invalid,
}

/// A key able to check note signatures of one (name, key ID).
pub trait SignatureVerifier: Send + Sync {
    /// The key name.
    fn name(&self) -> &str;
    /// The key ID.
    fn key_id(&self) -> u32;
    /// Checks `signature` (without the key ID prefix) over the note text.
    fn verify(&self, text: &[u8], signature: &[u8]) -> Verdict;
}

/// One signature line of a note (not necessarily verified).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// Builds a signature from trusted parts (names already validated).
    pub(crate) fn from_parts(name: String, key_id: u32, signature: Vec<u8>) -> Self {
        Self {
            name,
            key_id,
            signature,
        }
    }

    /// Builds a signature, checking the name and that bytes are present.
    pub fn new(name: &str, key_id: u32, signature: Vec<u8>) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        if signature.is_empty() {
            return Err(NoteError::MalformedSignature {
                line: 0,
                reason: "empty signature",
            });
        }
        Ok(Self::from_parts(name.to_owned(), key_id, signature))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the 4-byte key ID.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Parses one line (without its newline): `— <name> <base64>`.
    pub fn parse_line(line: &str) -> Result<Self, NoteError> {
        Self::parse_numbered(line, 1)
    }

    fn parse_numbered(line: &str, n: usize) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedSignature { line: n, reason };
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or(bad("missing em dash prefix"))?;
        let (name, b64) = rest.split_once(' ').ok_or(bad("missing space"))?;
        if !is_valid_key_name(name) {
            return Err(bad("invalid key name"));
        }
        let raw = STANDARD.decode(b64).map_err(|_| bad("invalid base64"))?;
        let (id, sig) = raw
            .split_first_chunk::<4>()
            .ok_or(bad("shorter than key ID"))?;
        if sig.is_empty() {
            return Err(bad("no signature bytes"));
        }
        Ok(Self::from_parts(
            name.to_owned(),
            u32::from_be_bytes(*id),
            sig.to_vec(),
        ))
    }

    /// The encoded line, including the final newline.
    pub fn to_line(&self) -> String {
        let mut raw = Vec::with_capacity(4 + self.signature.len());
        raw.extend_from_slice(&self.key_id.to_be_bytes());
        raw.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, STANDARD.encode(raw))
    }
}

/// A known verifier's successful check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// Key name.
    pub name: String,
    /// Key ID.
    pub key_id: u32,
    /// Timestamp for timestamped signature types.
    pub timestamp: Option<u64>,
}

/// Result of [`Note::verify`]: what verified and what was ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    /// Signatures from known keys, each valid (one entry per key).
    pub verified: Vec<VerifiedSignature>,
    /// Distinct signatures from unknown keys, left unchecked.
    pub ignored: Vec<NoteSignature>,
}

impl Verification {
    /// Whether the key (name, key ID) produced a verified signature.
    pub fn is_signed_by(&self, name: &str, key_id: u32) -> bool {
        self.verified
            .iter()
            .any(|v| v.name == name && v.key_id == key_id)
    }
}

/// The trusted keys, looked up by (name, key ID).
#[derive(Default)]
pub struct VerifierSet {
    keys: BTreeMap<(String, u32), Box<dyn SignatureVerifier>>,
}

impl fmt::Debug for VerifierSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.keys().map(|(n, id)| format!("{n}+{id:08x}")))
            .finish()
    }
}

impl VerifierSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key; a second key with the same (name, ID) is refused since
    /// it would make lookups ambiguous.
    pub fn add(&mut self, v: impl SignatureVerifier + 'static) -> Result<(), NoteError> {
        let k = (v.name().to_owned(), v.key_id());
        if self.keys.contains_key(&k) {
            return Err(NoteError::DuplicateVerifier {
                name: k.0,
                key_id: k.1,
            });
        }
        self.keys.insert(k, Box::new(v));
        Ok(())
    }

    /// Builder form of [`VerifierSet::add`].
    pub fn with(mut self, v: impl SignatureVerifier + 'static) -> Result<Self, NoteError> {
        self.add(v)?;
        Ok(self)
    }

    /// Looks up the key for (name, key ID).
    pub fn get(&self, name: &str, key_id: u32) -> Option<&dyn SignatureVerifier> {
        self.keys
            .get(&(name.to_owned(), key_id))
            .map(|b| b.as_ref())
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Rejects ASCII control characters other than newline.
fn check_chars(s: &str) -> Result<(), NoteError> {
    match s.char_indices().find(|&(_, c)| c < ' ' && c != '\n') {
        Some((offset, _)) => Err(NoteError::ControlCharacter { offset }),
        None => Ok(()),
    }
}

/// A note: text plus signature lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// An unsigned note; the text must be non-empty, end in a newline and
    /// contain no control characters other than newline.
    pub fn new(text: impl Into<String>) -> Result<Self, NoteError> {
        let text = text.into();
        if text.len() >= MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: text.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        if !text.ends_with('\n') {
            return Err(NoteError::InvalidText);
        }
        check_chars(&text)?;
        Ok(Self {
            text,
            signatures: Vec::new(),
        })
    }

    /// Parses a signed note without checking signatures (see [`Note::verify`]).
    pub fn parse(msg: &[u8]) -> Result<Self, NoteError> {
        if msg.len() > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size: msg.len(),
                max: MAX_NOTE_SIZE,
            });
        }
        let msg = std::str::from_utf8(msg).map_err(|_| NoteError::InvalidUtf8)?;
        check_chars(msg)?;
        // The text ends at the *last* blank line; signature lines are never empty.
        let split = msg.rfind("\n\n").ok_or(NoteError::MissingSignatures)?;
        let (text, sigs) = (&msg[..=split], &msg[split + 2..]);
        let sigs = sigs
            .strip_suffix('\n')
            .ok_or(NoteError::MissingFinalNewline)?;
        if sigs.is_empty() {
            return Err(NoteError::MissingSignatures);
        }
        let mut signatures = Vec::new();
        for (i, line) in sigs.split('\n').enumerate() {
            if i >= MAX_SIGNATURES {
                return Err(NoteError::TooManySignatures {
                    max: MAX_SIGNATURES,
                });
            }
            signatures.push(NoteSignature::parse_numbered(line, i + 1)?);
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, including its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signature lines, in order.
    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Size of [`Note::to_bytes`] output.
    pub fn encoded_len(&self) -> usize {
        let sigs: usize = self.signatures.iter().map(|s| s.to_line().len()).sum();
        self.text.len() + 1 + sigs
    }

    /// Adds a signature, replacing any earlier one from the same key (as Go
    /// does), within the signature-count and size limits.
    pub fn add_signature(&mut self, sig: NoteSignature) -> Result<(), NoteError> {
        self.signatures
            .retain(|s| (s.name.as_str(), s.key_id) != (sig.name.as_str(), sig.key_id));
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures {
                max: MAX_SIGNATURES,
            });
        }
        let size = self.encoded_len() + sig.to_line().len();
        if size > MAX_NOTE_SIZE {
            return Err(NoteError::TooLarge {
                size,
                max: MAX_NOTE_SIZE,
            });
        }
        self.signatures.push(sig);
        Ok(())
    }

    /// Signs the text with an Ed25519 note key and adds the signature.
    pub fn sign(&mut self, signer: &NoteSigner) -> Result<(), NoteError> {
        let sig = signer.sign_text(&self.text);
        self.add_signature(sig)
    }

    /// Serializes the note. Only a note with at least one signature is a
    /// valid signed note.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }

    /// Checks every signature against `known` (see module docs for rules).
    pub fn verify(&self, known: &VerifierSet) -> Result<Verification, NoteError> {
        let mut verified: Vec<VerifiedSignature> = Vec::new();
        let mut ignored: Vec<NoteSignature> = Vec::new();
        for sig in &self.signatures {
            let Some(v) = known.get(&sig.name, sig.key_id) else {
                if !ignored.contains(sig) {
                    ignored.push(sig.clone());
                }
                continue;
            };
            match v.verify(self.text.as_bytes(), &sig.signature) {
                Verdict::Invalid => {
                    return Err(NoteError::BadSignature {
                        name: sig.name.clone(),
                        key_id: sig.key_id,
                    });
                }
                Verdict::Valid { timestamp } => {
                    let seen = verified
                        .iter()
                        .any(|x| x.name == sig.name && x.key_id == sig.key_id);
                    if !seen {
                        verified.push(VerifiedSignature {
                            name: sig.name.clone(),
                            key_id: sig.key_id,
                            timestamp,
                        });
                    }
                }
            }
        }
        if verified.is_empty() {
            return Err(NoteError::NoVerifiedSignatures {
                ignored: ignored.len(),
            });
        }
        Ok(Verification { verified, ignored })
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)?;
        f.write_str("\n")?;
        for s in &self.signatures {
            f.write_str(&s.to_line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "note_tests.rs"]
mod tests;
