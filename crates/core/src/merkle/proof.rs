//! Offline-verifiable inclusion proofs in the c2sp.org/tlog-proof@v1 text
//! format: a leaf index, its RFC 6962 inclusion path and the signed
//! checkpoint it leads to, so a ledger entry can be checked without talking
//! to the log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! [extra <base64 opaque data>]
//! index <decimal leaf index>
//! <base64 hash>            (zero or more, leaf's sibling first)
//!
//! <signed checkpoint note, verbatim>
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::checkpoint::{Checkpoint, CheckpointError, parse_decimal};
use super::hash::Hash;
use super::note::{MAX_NOTE_SIZE, Note, Verification, VerifierSet};
use super::tree::LeafIndex;
use super::verify::{ProofError, verify_inclusion};

/// First line of every proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// Most path hashes any 64-bit tree needs.
pub const MAX_PATH_LEN: usize = 64;

/// Largest accepted `extra` payload, in decoded bytes.
pub const MAX_EXTRA_LEN: usize = 64 * 1024;

/// Why a tlog-proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlogProofError {
    /// The input is larger than any valid proof.
    #[error("tlog-proof is too large")]
    TooLarge,
    /// The input is not valid UTF-8.
    #[error("tlog-proof is not valid UTF-8")]
    InvalidUtf8,
    /// The first line is not `c2sp.org/tlog-proof@v1`.
    #[error("missing c2sp.org/tlog-proof@v1 header")]
    MissingHeader,
    /// No blank line separates the proof from the checkpoint.
    #[error("missing blank line before the checkpoint")]
    MissingCheckpoint,
    /// A header line is malformed.
    #[error("line {line} is malformed: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More path hashes than any tree can need.
    #[error("inclusion path has more than {MAX_PATH_LEN} hashes")]
    PathTooLong,
    /// The checkpoint is malformed, from another log or not trusted.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The inclusion path does not lead to the checkpoint's root.
    #[error("inclusion proof: {0}")]
    Proof(#[from] ProofError),
}

/// A parsed tlog-proof; nothing in it is trusted until [`TlogProof::verify`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Unauthenticated application data; never trust it implicitly.
    pub extra: Option<Vec<u8>>,
    /// Index of the proven leaf.
    pub index: LeafIndex,
    /// Inclusion path, leaf's sibling first.
    pub path: Vec<Hash>,
    /// The signed checkpoint the path leads to.
    pub checkpoint: Note,
}

impl TlogProof {
    /// Parses the text format (structure only; see [`TlogProof::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self, TlogProofError> {
        if bytes.len() > MAX_NOTE_SIZE * 2 {
            return Err(TlogProofError::TooLarge);
        }
        let text = std::str::from_utf8(bytes).map_err(|_| TlogProofError::InvalidUtf8)?;
        // Header lines are never empty, so the first blank line ends them.
        let (head, note) = text
            .split_once("\n\n")
            .ok_or(TlogProofError::MissingCheckpoint)?;
        let mut lines = head.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, TLOG_PROOF_HEADER)) => {}
            _ => return Err(TlogProofError::MissingHeader),
        }
        let bad = |line, reason| TlogProofError::BadLine { line, reason };
        let (mut n, mut line) = lines.next().ok_or(bad(2, "missing index line"))?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            if b64.len() > MAX_EXTRA_LEN.div_ceil(3) * 4 {
                return Err(bad(n, "extra data too large"));
            }
            extra = Some(
                STANDARD
                    .decode(b64)
                    .map_err(|_| bad(n, "extra is not base64"))?,
            );
            (n, line) = lines.next().ok_or(bad(n + 1, "missing index line"))?;
        }
        let index = line
            .strip_prefix("index ")
            .ok_or(bad(n, "expected index line"))?;
        let index = parse_decimal(index).map_err(|reason| bad(n, reason))?;
        let mut path = Vec::new();
        for (n, line) in lines {
            if path.len() == MAX_PATH_LEN {
                return Err(TlogProofError::PathTooLong);
            }
            path.push(Hash::from_base64(line).map_err(|_| bad(n, "not a base64 hash"))?);
        }
        let checkpoint =
            Note::parse(note.as_bytes()).map_err(|e| TlogProofError::Checkpoint(e.into()))?;
        Ok(Self {
            extra,
            index: LeafIndex(index),
            path,
            checkpoint,
        })
    }

    /// Serializes to the text format.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str(&format!("extra {}\n", STANDARD.encode(extra)));
        }
        out.push_str(&format!("index {}\n", self.index.0));
        for h in &self.path {
            out.push_str(&h.to_base64());
            out.push('\n');
        }
        out.push('\n');
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.checkpoint.to_bytes());
        bytes
    }

    /// Verifies the checkpoint for log `origin` against `known` keys, then
    /// that `leaf_hash` is at `index` in that tree. Returns the checkpoint
    /// and who signed it so the caller can apply its witness policy.
    pub fn verify(
        &self,
        leaf_hash: &Hash,
        origin: &str,
        known: &VerifierSet,
    ) -> Result<(Checkpoint, Verification), TlogProofError> {
        let (cp, sigs) = Checkpoint::from_note(&self.checkpoint, origin, known)?;
        verify_inclusion(leaf_hash, self.index, cp.size(), &self.path, cp.root())?;
        Ok((cp, sigs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;
    use crate::merkle::keys::NoteSigner;
    use crate::merkle::note::NoteError;
    use crate::merkle::tree::{MemoryStore, TreeSize, inclusion_proof, root};
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "trail.example/ledger";

    fn fixture(extra: Option<Vec<u8>>) -> (TlogProof, VerifierSet) {
        let mut store = MemoryStore::new();
        for i in 0..11u8 {
            store.push(leaf_hash(&[i])).unwrap();
        }
        let size = store.size();
        let cp = Checkpoint::new(ORIGIN, size, root(&store, size).unwrap()).unwrap();
        let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[3; 32])).unwrap();
        let proof = TlogProof {
            extra,
            index: LeafIndex(6),
            path: inclusion_proof(&store, LeafIndex(6), size).unwrap(),
            checkpoint: cp.sign(&signer).unwrap(),
        };
        (proof, VerifierSet::new().with(signer.verifier()).unwrap())
    }

    #[test]
    fn round_trip_and_verify() {
        for extra in [None, Some(b"vrf proof".to_vec()), Some(Vec::new())] {
            let (proof, known) = fixture(extra);
            let bytes = proof.to_bytes();
            let parsed = TlogProof::parse(&bytes).unwrap();
            assert_eq!(parsed, proof);
            let (cp, _) = parsed.verify(&leaf_hash(&[6]), ORIGIN, &known).unwrap();
            assert_eq!(cp.size(), TreeSize(11));
            assert!(matches!(
                parsed.verify(&leaf_hash(&[7]), ORIGIN, &known),
                Err(TlogProofError::Proof(ProofError::RootMismatch { .. }))
            ));
            assert!(matches!(
                parsed.verify(&leaf_hash(&[6]), "other.example", &known),
                Err(TlogProofError::Checkpoint(
                    CheckpointError::OriginMismatch { .. }
                ))
            ));
            assert!(matches!(
                parsed.verify(&leaf_hash(&[6]), ORIGIN, &VerifierSet::new()),
                Err(TlogProofError::Checkpoint(CheckpointError::Note(
                    NoteError::NoVerifiedSignatures { .. }
                )))
            ));
        }
    }

    #[test]
    fn spec_example_layout_parses() {
        // Shape of the c2sp.org/tlog-proof example, with a real checkpoint
        // note (the spec elides its signatures).
        let text = "c2sp.org/tlog-proof@v1\n\
            extra YWdlLXYxLjIuMS1kYXJ3aW4tYXJtNjQudGFyLmd6\n\
            index 73894\n\
            gSKyXoYZUgZ6jduWYrkDOARinOMGJveXjgMkBTcdPlQ=\n\
            B95lDa8R83lS8n0eG+o0buTxRKQTYFi//1U8anccXmA=\n\
            \n\
            example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\
            \n\
            — example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";
        let p = TlogProof::parse(text.as_bytes()).unwrap();
        assert_eq!(p.index, LeafIndex(73894));
        assert_eq!(p.path.len(), 2);
        assert_eq!(
            p.extra.as_deref(),
            Some(b"age-v1.2.1-darwin-arm64.tar.gz".as_slice())
        );
        assert_eq!(p.to_bytes(), text.as_bytes());
    }

    #[test]
    fn malformed_proofs_rejected() {
        let (proof, _) = fixture(None);
        let good = String::from_utf8(proof.to_bytes()).unwrap();
        let hash = proof.path[0].to_base64();
        let cases = [
            good.replacen(TLOG_PROOF_HEADER, "c2sp.org/tlog-proof@v2", 1),
            good.replacen("index 6", "index 06", 1),
            good.replacen("index 6", "index -6", 1),
            good.replacen("index 6", "idx 6", 1),
            good.replacen("index 6\n", "extra !!\nindex 6\n", 1),
            good.replacen("index 6\n", "index 6\nnot a hash\n", 1),
            good.replacen(&hash, &hash[..43], 1),
            good.replacen("\n\n", "\n", 1),
            format!("{TLOG_PROOF_HEADER}\n\n"),
            good.replacen(&format!("{hash}\n"), &format!("{hash}\n").repeat(65), 1),
        ];
        for bad in cases {
            assert!(TlogProof::parse(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(TlogProof::parse(b"\xff"), Err(TlogProofError::InvalidUtf8));
    }
}
