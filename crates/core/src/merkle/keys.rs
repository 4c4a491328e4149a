//! Ed25519 note keys per c2sp.org/signed-note and the text key formats of
//! golang.org/x/mod/sumdb/note:
//!
//! * verifier key: `<name>+<8 hex key ID>+<base64(type || public key)>`
//! * signer key:   `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(type || seed)>`
//!
//! Key ID = first 4 bytes (big-endian) of
//! `SHA-256(name || 0x0A || signature type || public key)`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use sha2::{Digest, Sha256};

use super::note::{NoteError, NoteSignature, SignatureVerifier, Verdict};

/// Signature type byte of plain Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;

/// Signature type byte of timestamped Ed25519 cosignatures (tlog-cosignature).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;

/// Computes a key ID: `SHA-256(name || "\n" || sig_type || public_key)[:4]`.
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Whether `name` is a valid key name as c2sp.org/signed-note defines it:
/// non-empty, no Unicode whitespace (which includes newlines) and no `+`,
/// which separates vkey fields. Other characters, DEL and U+0080 included,
/// are allowed: a note carrying such a name from an unknown signer must
/// still parse, so its other signatures can be checked.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('+') && !name.chars().any(char::is_whitespace)
}

/// A decoded verifier key string.
pub(crate) struct RawVkey {
    pub name: String,
    pub key_id: u32,
    pub sig_type: u8,
    pub key: Vec<u8>,
}

/// Parses `<name>+<hex id>+<base64(type || key)>` and checks the key ID.
pub(crate) fn parse_vkey(vkey: &str) -> Result<RawVkey, NoteError> {
    let bad = |why: &'static str| NoteError::InvalidVerifierKey(why);
    let (name, rest) = vkey.split_once('+').ok_or(bad("missing '+'"))?;
    let (id_hex, key64) = rest.split_once('+').ok_or(bad("missing second '+'"))?;
    if !is_valid_key_name(name) {
        return Err(NoteError::InvalidKeyName);
    }
    let claimed = parse_key_id_hex(id_hex).ok_or(bad("key ID is not 8 hex digits"))?;
    // 1 type byte + at most a few KiB of key; refuse absurd input early.
    if key64.len() > 8192 {
        return Err(bad("key too long"));
    }
    let raw = STANDARD
        .decode(key64)
        .map_err(|_| bad("key is not base64"))?;
    let (&sig_type, key) = raw.split_first().ok_or(bad("key is empty"))?;
    let computed = key_id(name, sig_type, key);
    if computed != claimed {
        return Err(NoteError::KeyIdMismatch { claimed, computed });
    }
    Ok(RawVkey {
        name: name.to_owned(),
        key_id: claimed,
        sig_type,
        key: key.to_vec(),
    })
}

/// Parses exactly 8 hex digits (Go accepts either case).
fn parse_key_id_hex(text: &str) -> Option<u32> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

/// Formats a verifier key string.
pub(crate) fn format_vkey(name: &str, key_id: u32, sig_type: u8, key: &[u8]) -> String {
    let mut raw = Vec::with_capacity(key.len() + 1);
    raw.push(sig_type);
    raw.extend_from_slice(key);
    format!("{name}+{key_id:08x}+{}", STANDARD.encode(raw))
}

/// Decodes a 32-byte Ed25519 public key, rejecting invalid points early.
pub(crate) fn ed25519_public(key: &[u8]) -> Result<VerifyingKey, NoteError> {
    let bytes: [u8; 32] = key
        .try_into()
        .map_err(|_| NoteError::InvalidVerifierKey("Ed25519 key must be 32 bytes"))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|_| NoteError::InvalidVerifierKey("not an Ed25519 public key"))
}

/// Decodes a 64-byte Ed25519 signature.
pub(crate) fn ed25519_signature(sig: &[u8]) -> Option<Signature> {
    Signature::from_slice(sig).ok()
}

/// A named Ed25519 public key of one signature type: what every verifier
/// key string (`<name>+<id>+<base64(type || key)>`) holds. Shared by the note
/// and cosignature verifiers, which differ only in type and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NamedKey {
    pub(crate) name: String,
    pub(crate) key_id: u32,
    pub(crate) key: VerifyingKey,
}

impl NamedKey {
    /// A key for `name` of signature type `sig_type`.
    pub(crate) fn new(name: &str, sig_type: u8, key: VerifyingKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, sig_type, key.as_bytes()),
            key,
        })
    }

    /// Parses a verifier key string, which must be of type `sig_type`.
    pub(crate) fn from_vkey(vkey: &str, sig_type: u8) -> Result<Self, NoteError> {
        let raw = parse_vkey(vkey)?;
        if raw.sig_type != sig_type {
            return Err(NoteError::UnknownKeyType(raw.sig_type));
        }
        Ok(Self {
            key: ed25519_public(&raw.key)?,
            name: raw.name,
            key_id: raw.key_id,
        })
    }

    /// The verifier key string for type `sig_type`.
    pub(crate) fn vkey(&self, sig_type: u8) -> String {
        format_vkey(&self.name, self.key_id, sig_type, self.key.as_bytes())
    }
}

/// Verifies plain Ed25519 note signatures (type 0x01) for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier(pub(crate) NamedKey);

impl NoteVerifier {
    /// Builds a verifier for `name` and an Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, NoteError> {
        NamedKey::new(name, SIG_TYPE_ED25519, key).map(Self)
    }

    /// Parses a Go/C2SP verifier key string with signature type 0x01.
    pub fn from_vkey(vkey: &str) -> Result<Self, NoteError> {
        NamedKey::from_vkey(vkey, SIG_TYPE_ED25519).map(Self)
    }

    /// The verifier key string, e.g. `PeterNeumann+c74f20a3+ARpc...`.
    pub fn vkey(&self) -> String {
        self.0.vkey(SIG_TYPE_ED25519)
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0.key
    }
}

impl SignatureVerifier for NoteVerifier {
    fn name(&self) -> &str {
        &self.0.name
    }

    fn key_id(&self) -> u32 {
        self.0.key_id
    }

    fn verify(&self, text: &[u8], signature: &[u8]) -> Verdict {
        // Strict verification rejects malleable and small-order encodings;
        // honest Ed25519 signers never produce those.
        match ed25519_signature(signature) {
            Some(sig) if self.0.key.verify_strict(text, &sig).is_ok() => {
                Verdict::Valid { timestamp: None }
            }
            _ => Verdict::Invalid,
        }
    }
}

/// Signs notes with an Ed25519 key (type 0x01). Debug output hides the key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// Builds a signer for `name` from an Ed25519 signing key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, SIG_TYPE_ED25519, key.verifying_key().as_bytes()),
            key,
        })
    }

    /// Generates a fresh key for `name`.
    pub fn generate(name: &str, rng: &mut impl CryptoRngCore) -> Result<Self, NoteError> {
        Self::new(name, SigningKey::generate(rng))
    }

    /// Parses a Go `PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>` string,
    /// checking the key ID against the derived public key.
    pub fn from_skey(skey: &str) -> Result<Self, NoteError> {
        const BAD: NoteError = NoteError::InvalidSignerKey;
        let rest = skey.strip_prefix("PRIVATE+KEY+").ok_or(BAD)?;
        let (name, rest) = rest.split_once('+').ok_or(BAD)?;
        let (id_hex, key64) = rest.split_once('+').ok_or(BAD)?;
        let claimed = parse_key_id_hex(id_hex).ok_or(BAD)?;
        if key64.len() > 64 {
            return Err(BAD);
        }
        let raw = STANDARD.decode(key64).map_err(|_| BAD)?;
        let (&sig_type, seed) = raw.split_first().ok_or(BAD)?;
        if sig_type != SIG_TYPE_ED25519 {
            return Err(NoteError::UnknownKeyType(sig_type));
        }
        let seed: [u8; 32] = seed.try_into().map_err(|_| BAD)?;
        let signer = Self::new(name, SigningKey::from_bytes(&seed))?;
        if signer.key_id != claimed {
            return Err(NoteError::KeyIdMismatch {
                claimed,
                computed: signer.key_id,
            });
        }
        Ok(signer)
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier(NamedKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        })
    }

    /// Signs note text (the bytes up to and including its final newline).
    pub fn sign_text(&self, text: &str) -> NoteSignature {
        let sig = self.key.sign(text.as_bytes());
        NoteSignature::from_parts(self.name.clone(), self.key_id, sig.to_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Published key pair from golang.org/x/mod/sumdb/note (note.go package
    // docs and note_test.go TestNewVerifier / TestNewSigner).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";

    #[test]
    fn go_example_keys_parse_and_match() {
        let v = NoteVerifier::from_vkey(PETER_VKEY).unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.vkey(), PETER_VKEY);
        let s = NoteSigner::from_skey(PETER_SKEY).unwrap();
        assert_eq!(s.verifier(), v);
        assert!(!format!("{s:?}").contains("AYEK"));
    }

    #[test]
    fn cosignature_key_id_matches_published_vkey() {
        // transparency-dev/formats note/note_cosigv1_test.go: a native
        // type-0x04 verifier key, so its ID proves the 0x04 derivation.
        let raw =
            parse_vkey("remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
                .unwrap();
        assert_eq!(raw.sig_type, SIG_TYPE_COSIGNATURE_V1);
        assert_eq!(raw.key_id, 0xda77ade7);
    }

    #[test]
    fn every_mangled_vkey_is_rejected() {
        // Mirrors Go's TestNewVerifier: every proper substring and every
        // single-byte increment must fail.
        let b = PETER_VKEY.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) == (0, b.len()) {
                    continue;
                }
                if let Ok(s) = std::str::from_utf8(&b[i..j]) {
                    assert!(NoteVerifier::from_vkey(s).is_err(), "{s}");
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(NoteVerifier::from_vkey(s).is_err(), "{s}");
            }
        }
        // Wrong-length key and unknown algorithm, each with a matching ID.
        let long = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
        assert!(NoteVerifier::from_vkey(long).is_err());
        let alg = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
        assert!(matches!(
            NoteVerifier::from_vkey(alg),
            Err(NoteError::UnknownKeyType(_))
        ));
    }

    #[test]
    fn every_mangled_skey_is_rejected() {
        let b = PETER_SKEY.as_bytes();
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] = m[i].wrapping_add(1);
            if let Ok(s) = std::str::from_utf8(&m) {
                assert!(NoteSigner::from_skey(s).is_err(), "{s}");
            }
        }
        assert!(NoteSigner::from_skey(&PETER_SKEY[..PETER_SKEY.len() - 1]).is_err());
    }

    #[test]
    fn key_names_are_checked() {
        for bad in ["", "a b", "a+b", "a\nb", "a\u{a0}b", "a\u{2028}b"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
        for good in ["example.com/log-1", "a\u{7f}", "a\u{80}b"] {
            assert!(is_valid_key_name(good), "{good:?}");
        }
        let key = SigningKey::from_bytes(&[7; 32]);
        assert_eq!(
            NoteSigner::new("a b", key).err(),
            Some(NoteError::InvalidKeyName)
        );
    }
}
