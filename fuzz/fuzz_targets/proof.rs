//! Checkpoints, signed notes, inclusion and consistency proof files, and the
//! Merkle proof checks, on arbitrary bytes: every parser and verifier
//! refuses hostile input with an error, never a panic or a hang, whatever
//! tree sizes, indexes and proof lengths it claims.
//!
//! The first byte picks what the rest is fed to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trail_core::merkle::{
    Checkpoint, Hash, LeafIndex, Note, TlogProof, TreeSize, VerifierSet, leaf_hash,
    root_from_inclusion_proof, verify_consistency, verify_inclusion,
};
use trail_core::transparency::{self, Policy, operator_signer, witness_signer};
use trail_core::{Id, SecretKey};

const ORIGIN: &str = "trail.example/log";

/// A fixed policy: one operator and one witness, quorum one.
fn policy() -> Policy {
    let operator = operator_signer(ORIGIN, &SecretKey::from_seed(&[1; 32]))
        .expect("a valid origin")
        .verifier();
    let witness = witness_signer(
        &Id::new("witness").expect("a valid id"),
        &SecretKey::from_seed(&[2; 32]),
    )
    .expect("a valid witness name")
    .verifier();
    Policy::new(vec![operator], vec![witness], 1).expect("a valid policy")
}

/// Reads a big-endian u64 from the front of `data`, zero-padded.
fn take_u64(data: &mut &[u8]) -> u64 {
    let n = data.len().min(8);
    let mut bytes = [0u8; 8];
    bytes[8 - n..].copy_from_slice(&data[..n]);
    *data = &data[n..];
    u64::from_be_bytes(bytes)
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    match selector % 6 {
        0 => {
            if let Ok(note) = Note::parse(rest) {
                let mut known = VerifierSet::new();
                let signer = operator_signer(ORIGIN, &SecretKey::from_seed(&[1; 32]))
                    .expect("a valid origin");
                let _ = known.add(signer.verifier());
                let _ = note.verify(&known);
                let _ = Checkpoint::from_note(&note, ORIGIN, &known);
            }
        }
        1 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                let _ = Checkpoint::parse(text);
            }
        }
        2 => {
            if let Ok((note, _)) = transparency::parse_checkpoint_note(rest) {
                let _ = transparency::verify_checkpoint(&note, &policy());
            }
        }
        3 => {
            if let Ok(proof) = TlogProof::parse(rest) {
                let _ = proof.verify(&leaf_hash(b"entry"), ORIGIN, &VerifierSet::new());
            }
            let _ = transparency::verify_inclusion(rest, Some(b"entry"), &policy());
        }
        4 => {
            let _ = transparency::verify_consistency_file(rest, &policy());
        }
        _ => {
            // Raw proof checks with hostile sizes, indexes and path lengths.
            let mut input = rest;
            let (a, b) = (take_u64(&mut input), take_u64(&mut input));
            let path: Vec<Hash> = input
                .chunks_exact(32)
                .map(|c| Hash::from_slice(c).expect("32 bytes"))
                .collect();
            let leaf = leaf_hash(b"entry");
            let root = path.first().copied().unwrap_or(leaf);
            let _ = root_from_inclusion_proof(&leaf, LeafIndex(a), TreeSize(b), &path);
            let _ = verify_inclusion(&leaf, LeafIndex(a), TreeSize(b), &path, &root);
            let _ = verify_consistency(TreeSize(a), TreeSize(b), &leaf, &root, &path);
        }
    }
});
