//! RFC 6962 / RFC 9162 §2.1 Merkle tree hashing with SHA-256.
//!
//! Leaves and interior nodes are hashed with distinct one-byte prefixes so
//! that a leaf can never be passed off as an interior node (second-preimage
//! resistance of the tree, RFC 9162 §2.1.1).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// Length in bytes of every hash in the tree (SHA-256 output).
pub const HASH_LEN: usize = 32;

/// Prefix byte for leaf hashes: `leaf_hash(d) = SHA-256(0x00 || d)`.
pub const LEAF_PREFIX: u8 = 0x00;

/// Prefix byte for interior nodes: `node_hash(l, r) = SHA-256(0x01 || l || r)`.
pub const NODE_PREFIX: u8 = 0x01;

/// Root of the empty tree: `MTH({}) = SHA-256("")` (RFC 9162 §2.1.1).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

/// A 32-byte SHA-256 tree hash (leaf hash, interior node hash or root).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; HASH_LEN]);

/// Why bytes or text could not be turned into a [`Hash`](struct@Hash).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The input decoded to the wrong number of bytes.
    #[error("hash must be {HASH_LEN} bytes, got {0}")]
    WrongLength(usize),
    /// The input was not valid hexadecimal.
    #[error("hash is not valid hex")]
    InvalidHex,
    /// The input was not valid standard (padded, canonical) base64.
    #[error("hash is not valid base64")]
    InvalidBase64,
}

impl Hash {
    /// Borrows the raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; HASH_LEN] {
        &self.0
    }

    /// Copies a hash out of a slice, failing unless it is exactly 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashError> {
        <[u8; HASH_LEN]>::try_from(bytes)
            .map(Hash)
            .map_err(|_| HashError::WrongLength(bytes.len()))
    }

    /// Parses 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, HashError> {
        let bytes = hex::decode(text).map_err(|_| HashError::InvalidHex)?;
        Self::from_slice(&bytes)
    }

    /// Lower-case hex encoding, as used in logs and test vectors.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses standard padded base64 (RFC 4648 §4), the encoding of
    /// checkpoint root hashes and tlog-proof lines.
    pub fn from_base64(text: &str) -> Result<Self, HashError> {
        // Decode into a bounded buffer so hostile input cannot make us
        // allocate more than a hash's worth of output.
        if text.len() != 44 {
            return Err(HashError::InvalidBase64);
        }
        let bytes = STANDARD
            .decode(text)
            .map_err(|_| HashError::InvalidBase64)?;
        Self::from_slice(&bytes)
    }

    /// Standard padded base64 encoding (44 characters).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl AsRef<[u8]> for Hash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Hashes a leaf's data: `SHA-256(0x00 || data)` (RFC 9162 §2.1.1).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Hashes two children: `SHA-256(0x01 || left || right)` (RFC 9162 §2.1.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, Hash(Sha256::digest(b"").into()));
        assert_eq!(
            EMPTY_ROOT.to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn leaf_and_node_use_distinct_prefixes() {
        // Known answer: leaf hash of the empty string, from
        // transparency-dev/merkle testonly/constants.go NodeHashes()[0][0].
        assert_eq!(
            leaf_hash(b"").to_hex(),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        let l = leaf_hash(b"a");
        let r = leaf_hash(b"b");
        let mut concat = Vec::new();
        concat.extend_from_slice(&l.0);
        concat.extend_from_slice(&r.0);
        // A node must never equal the leaf hash of its children's concatenation.
        assert_ne!(node_hash(&l, &r), leaf_hash(&concat));
        assert_ne!(node_hash(&l, &r), node_hash(&r, &l));
    }

    #[test]
    fn encodings_round_trip_and_reject_garbage() {
        let h = leaf_hash(b"x");
        assert_eq!(Hash::from_hex(&h.to_hex()), Ok(h));
        assert_eq!(Hash::from_base64(&h.to_base64()), Ok(h));
        assert_eq!(
            Hash::from_slice(&[0u8; 31]),
            Err(HashError::WrongLength(31))
        );
        assert_eq!(Hash::from_hex("zz"), Err(HashError::InvalidHex));
        assert_eq!(Hash::from_hex("00"), Err(HashError::WrongLength(1)));
        assert_eq!(Hash::from_base64("AAAA"), Err(HashError::InvalidBase64));
        // 44 chars but with non-zero unused trailing bits: a second spelling
        // of the zero hash, which must be rejected so encodings stay unique.
        let zero = Hash([0; HASH_LEN]).to_base64();
        assert_eq!(zero, format!("{}=", "A".repeat(43)));
        let non_canonical = format!("{}B=", "A".repeat(42));
        assert_eq!(
            Hash::from_base64(&non_canonical),
            Err(HashError::InvalidBase64)
        );
        assert_eq!(format!("{h}"), h.to_hex());
        assert_eq!(format!("{h:?}"), format!("Hash({})", h.to_hex()));
    }
}
