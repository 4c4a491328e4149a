//! Tests for `verify.rs`: published vectors, every proof for sizes up to 64
//! against the naive reference, and every single mutation rejected.

use super::*;
use crate::merkle::hash::leaf_hash;
use crate::merkle::reference::{self, KAT_ROOTS, h, kat_leaves};

/// Flips one bit of a hash.
fn flip(x: &Hash, bit: usize) -> Hash {
    let mut b = x.0;
    b[bit / 8] ^= 1 << (bit % 8);
    Hash(b)
}

/// Every structurally corrupted variant of `proof`: one bit flipped in each
/// element (first and last byte), each element dropped, an extra hash
/// inserted at each position.
fn mutations(proof: &[Hash], extra: Hash) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        for bit in [0, 255] {
            let mut p = proof.to_vec();
            p[i] = flip(&p[i], bit);
            out.push(p);
        }
        let mut p = proof.to_vec();
        p.remove(i);
        out.push(p);
    }
    for i in 0..=proof.len() {
        let mut p = proof.to_vec();
        p.insert(i, extra);
        out.push(p);
    }
    out
}

/// Alternative values for a size or index in `lo..=hi` other than `x`: all of
/// them while trees are small (exhaustive), else the classic near misses
/// (±1, bit flips, doubling, halving) to keep the debug-mode run short.
fn others(x: usize, lo: usize, hi: usize, exhaustive: bool) -> Vec<usize> {
    let mut v: Vec<usize> = if exhaustive {
        (lo..=hi).collect()
    } else {
        [x.wrapping_sub(1), x + 1, x ^ 1, x ^ 2, x * 2, x / 2]
            .into_iter()
            .filter(|o| (lo..=hi).contains(o))
            .collect()
    };
    v.retain(|&o| o != x);
    v.dedup();
    v
}

#[test]
fn published_inclusion_vectors() {
    // transparency-dev/merkle proof/verify_test.go `inclusionProofs`
    // (leaf numbers there are 1-based; converted to 0-based indices here).
    let leaves = kat_leaves();
    let cases: [(u64, u64, &[&str]); 4] = [
        (
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        ),
        (
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (index, size, proof) in cases {
        let proof: Vec<Hash> = proof.iter().map(|x| h(x)).collect();
        let root = h(KAT_ROOTS[size as usize]);
        let leaf = &leaves[index as usize];
        assert_eq!(
            verify_inclusion(leaf, LeafIndex(index), TreeSize(size), &proof, &root),
            Ok(()),
            "leaf {index} of {size}, from {}",
            reference::KAT_PROOF_SOURCE
        );
    }
}

#[test]
fn published_consistency_vectors() {
    // transparency-dev/merkle proof/verify_test.go `consistencyProofs`.
    let cases: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, proof) in cases {
        let proof: Vec<Hash> = proof.iter().map(|x| h(x)).collect();
        let (r1, r2) = (h(KAT_ROOTS[old as usize]), h(KAT_ROOTS[new as usize]));
        assert_eq!(
            verify_consistency(TreeSize(old), TreeSize(new), &r1, &r2, &proof),
            Ok(())
        );
    }
}

#[test]
fn every_inclusion_proof_up_to_64_verifies_and_every_mutation_fails() {
    let leaves = reference::leaves(64);
    let roots: Vec<Hash> = (0..=64).map(|n| reference::mth(&leaves[..n])).collect();
    let stranger = leaf_hash(b"not in the tree");
    for size in 1..=64usize {
        let root = roots[size];
        let sz = TreeSize(size as u64);
        for index in 0..size {
            let leaf = leaves[index];
            let idx = LeafIndex(index as u64);
            let proof = reference::path(index, &leaves[..size]);
            assert_eq!(verify_inclusion(&leaf, idx, sz, &proof, &root), Ok(()));

            for bad in mutations(&proof, stranger) {
                assert!(verify_inclusion(&leaf, idx, sz, &bad, &root).is_err());
            }
            assert!(verify_inclusion(&stranger, idx, sz, &proof, &root).is_err());
            assert!(verify_inclusion(&leaf, idx, sz, &proof, &flip(&root, 7)).is_err());
            let small = size <= 32;
            for other in others(index, 0, size - 1, small) {
                let res = verify_inclusion(&leaf, LeafIndex(other as u64), sz, &proof, &root);
                assert!(res.is_err(), "index {other} accepted for ({index}, {size})");
            }
            // A different size is only meaningful with that size's root.
            for other in others(size, index + 1, 64, small) {
                let res =
                    verify_inclusion(&leaf, idx, TreeSize(other as u64), &proof, &roots[other]);
                assert!(res.is_err(), "size {other} accepted for ({index}, {size})");
            }
        }
        assert_eq!(
            verify_inclusion(&leaves[0], LeafIndex(size as u64), sz, &[], &root),
            Err(ProofError::IndexOutOfRange {
                index: size as u64,
                size: size as u64
            })
        );
    }
}

#[test]
fn every_consistency_proof_up_to_64_verifies_and_every_mutation_fails() {
    let leaves = reference::leaves(64);
    let roots: Vec<Hash> = (0..=64).map(|n| reference::mth(&leaves[..n])).collect();
    let stranger = leaf_hash(b"stranger");
    for new in 1..=64usize {
        assert_eq!(
            verify_consistency(
                TreeSize(0),
                TreeSize(new as u64),
                &roots[0],
                &roots[new],
                &[]
            ),
            Ok(())
        );
        for old in 1..=new {
            let (o, n) = (TreeSize(old as u64), TreeSize(new as u64));
            let (r1, r2) = (roots[old], roots[new]);
            let proof = reference::proof(old, &leaves[..new]);
            assert_eq!(
                verify_consistency(o, n, &r1, &r2, &proof),
                Ok(()),
                "({old}, {new})"
            );

            for bad in mutations(&proof, stranger) {
                assert!(verify_consistency(o, n, &r1, &r2, &bad).is_err());
            }
            assert!(verify_consistency(o, n, &flip(&r1, 0), &r2, &proof).is_err());
            assert!(verify_consistency(o, n, &r1, &flip(&r2, 0), &proof).is_err());
            if old != new {
                assert!(verify_consistency(o, n, &r2, &r1, &proof).is_err());
            }
            // Old size 0 is skipped: the empty tree is consistent with all.
            let small = new <= 32;
            for other in others(old, 1, new, small) {
                let res = verify_consistency(TreeSize(other as u64), n, &roots[other], &r2, &proof);
                assert!(res.is_err(), "old size {other} accepted for ({old}, {new})");
            }
            for other in others(new, old, 64, small) {
                let res = verify_consistency(o, TreeSize(other as u64), &r1, &roots[other], &proof);
                assert!(res.is_err(), "new size {other} accepted for ({old}, {new})");
            }
        }
    }
}

#[test]
fn consistency_edge_cases() {
    let r = reference::mth(&reference::leaves(3));
    let e = EMPTY_ROOT;
    assert_eq!(
        verify_consistency(TreeSize(4), TreeSize(3), &r, &r, &[]),
        Err(ProofError::OldSizeGreater {
            old_size: 4,
            new_size: 3
        })
    );
    assert_eq!(
        verify_consistency(TreeSize(0), TreeSize(0), &e, &e, &[]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(TreeSize(3), TreeSize(3), &r, &r, &[]),
        Ok(())
    );
    assert_eq!(
        verify_consistency(TreeSize(3), TreeSize(3), &r, &e, &[]),
        Err(ProofError::SameSizeRootsDiffer)
    );
    assert_eq!(
        verify_consistency(TreeSize(3), TreeSize(3), &r, &r, &[r]),
        Err(ProofError::WrongProofLength {
            expected: 0,
            actual: 1
        })
    );
    assert!(matches!(
        verify_consistency(TreeSize(0), TreeSize(3), &r, &r, &[]),
        Err(ProofError::OldRootMismatch { .. })
    ));
    assert!(matches!(
        verify_consistency(TreeSize(2), TreeSize(3), &r, &r, &[]),
        Err(ProofError::WrongProofLength { actual: 0, .. })
    ));
}

#[test]
fn size_alone_is_not_bound_by_an_inclusion_proof() {
    // RFC 9162 proofs commit to the path shape, not the size: leaf 0's proof
    // for size 3 also "verifies" for size 4 against the *size-3* root. This
    // is why callers must take the root from a checkpoint for the same size.
    let leaves = reference::leaves(4);
    let proof = reference::path(0, &leaves[..3]);
    let root3 = reference::mth(&leaves[..3]);
    assert_eq!(
        verify_inclusion(&leaves[0], LeafIndex(0), TreeSize(4), &proof, &root3),
        Ok(())
    );
    let root4 = reference::mth(&leaves[..4]);
    assert!(verify_inclusion(&leaves[0], LeafIndex(0), TreeSize(4), &proof, &root4).is_err());
}

#[test]
fn extreme_sizes_do_not_panic() {
    let x = leaf_hash(b"x");
    for (index, size) in [(u64::MAX - 1, u64::MAX), (0, u64::MAX), (1 << 63, u64::MAX)] {
        let len = inclusion_len(index, size);
        let proof = vec![x; len];
        assert!(matches!(
            verify_inclusion(&x, LeafIndex(index), TreeSize(size), &proof, &x),
            Err(ProofError::RootMismatch { .. })
        ));
    }
    for (old, new) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
        for len in 0..130 {
            let proof = vec![x; len];
            assert!(verify_consistency(TreeSize(old), TreeSize(new), &x, &x, &proof).is_err());
        }
    }
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn garbage_inclusion_never_panics(
            index in any::<u64>(), size in any::<u64>(), len in 0usize..80, seed in any::<u8>()
        ) {
            let proof: Vec<Hash> = (0..len).map(|i| leaf_hash(&[seed, i as u8])).collect();
            let r = leaf_hash(&[seed]);
            prop_assert!(verify_inclusion(&r, LeafIndex(index), TreeSize(size), &proof, &r).is_err());
        }

        #[test]
        fn garbage_consistency_never_panics(
            old in any::<u64>(), new in any::<u64>(), len in 0usize..140, seed in any::<u8>()
        ) {
            let proof: Vec<Hash> = (0..len).map(|i| leaf_hash(&[seed, i as u8])).collect();
            let (a, b) = (leaf_hash(&[seed, 1]), leaf_hash(&[seed, 2]));
            prop_assert!(verify_consistency(TreeSize(old), TreeSize(new), &a, &b, &proof).is_err());
        }
    }
}
