//! Proof verification exactly as RFC 9162 §2.1.3.2 (inclusion) and
//! §2.1.4.2 (consistency) specify, plus an up-front proof-length check so a
//! malformed proof is reported as such rather than as a generic mismatch.
//!
//! The length check is equivalent to the RFC's own failure conditions
//! ("sn is 0 before the path ends" / "sn is not 0 after it"): both reject
//! exactly the proofs whose length differs from the tree shape's.

use super::hash::{EMPTY_ROOT, Hash, node_hash};
use super::tree::{LeafIndex, TreeSize};

/// What is wrong with a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree (RFC 9162 §2.1.3.2 step 1).
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed leaf index.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old size {old_size} is larger than new size {new_size}")]
    OldSizeGreater {
        /// The claimed earlier size.
        old_size: u64,
        /// The claimed later size.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has {actual} hashes, expected {expected}")]
    WrongProofLength {
        /// Length the tree shape requires.
        expected: usize,
        /// Length supplied.
        actual: usize,
    },
    /// The inclusion proof leads to a different root.
    #[error("computed root {computed} does not match expected root {expected}")]
    RootMismatch {
        /// Root the caller trusts.
        expected: Hash,
        /// Root the proof leads to.
        computed: Hash,
    },
    /// The consistency proof does not reproduce the old root.
    #[error("computed old root {computed} does not match expected old root {expected}")]
    OldRootMismatch {
        /// Old root the caller trusts.
        expected: Hash,
        /// Old root the proof leads to.
        computed: Hash,
    },
    /// The consistency proof does not reproduce the new root.
    #[error("computed new root {computed} does not match expected new root {expected}")]
    NewRootMismatch {
        /// New root the caller trusts.
        expected: Hash,
        /// New root the proof leads to.
        computed: Hash,
    },
    /// Two trees of the same size have different roots: a fork.
    #[error("trees of equal size have different roots")]
    SameSizeRootsDiffer,
}

/// Proof length for leaf `index` in a tree of `size` (requires index < size):
/// `inner` levels below the point where the paths to `index` and to the last
/// leaf diverge, plus one left sibling per set bit of `index` above it.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Right-shifts `fn` and `sn` until `fn` is odd or zero (RFC step "ii/iii").
fn shift_to_odd_or_zero(f: &mut u64, s: &mut u64) {
    while *f & 1 == 0 && *f != 0 {
        *f >>= 1;
        *s >>= 1;
    }
}

/// Root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1-4).
pub fn root_from_inclusion_proof(
    leaf_hash: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
) -> Result<Hash, ProofError> {
    let (index, size) = (index.0, size.0);
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    let length_error = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(length_error);
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if s == 0 {
            return Err(length_error);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            shift_to_odd_or_zero(&mut f, &mut s);
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(length_error);
    }
    Ok(r)
}

/// Checks that `leaf_hash` is leaf `index` of the tree of `size` with `root`.
///
/// The root is what binds the size: always pass the root trusted *for that
/// size* (e.g. from a verified checkpoint).
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: LeafIndex,
    size: TreeSize,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    let computed = root_from_inclusion_proof(leaf_hash, index, size, proof)?;
    if computed != *root {
        return Err(ProofError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Checks that the tree of `new_size`/`new_root` extends the tree of
/// `old_size`/`old_root` (RFC 9162 §2.1.4.2).
///
/// The RFC algorithm covers `0 < old_size < new_size`; the edge cases are
/// handled as in common practice: equal sizes need an empty proof and equal
/// roots, and an empty old tree needs an empty proof and the empty root.
pub fn verify_consistency(
    old_size: TreeSize,
    new_size: TreeSize,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let (first, second) = (old_size.0, new_size.0);
    if first > second {
        return Err(ProofError::OldSizeGreater {
            old_size: first,
            new_size: second,
        });
    }
    if first == second || first == 0 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                actual: proof.len(),
            });
        }
        if first == 0 && *old_root != EMPTY_ROOT {
            return Err(ProofError::OldRootMismatch {
                expected: *old_root,
                computed: EMPTY_ROOT,
            });
        }
        if first == second && old_root != new_root {
            return Err(ProofError::SameSizeRootsDiffer);
        }
        return Ok(());
    }

    // When `first` is a power of two the old root is itself a node of the
    // new tree, so the proof omits it and the verifier prepends it (step 2).
    let first_is_pow2 = first.is_power_of_two();
    let shift = first.trailing_zeros();
    // Same decomposition as for inclusion of leaf `first - 1`, minus the
    // `shift` levels inside the old tree's last complete subtree (the seed).
    let diverge = 64 - ((first - 1) ^ (second - 1)).leading_zeros();
    let inner = diverge.saturating_sub(shift);
    let border = (first - 1).checked_shr(diverge).unwrap_or(0).count_ones();
    let expected = usize::from(!first_is_pow2) + (inner + border) as usize;
    let length_error = ProofError::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    // Step 1: an empty path always fails; `expected` is never 0 here.
    if proof.len() != expected || proof.is_empty() {
        return Err(length_error);
    }

    let (seed, rest) = if first_is_pow2 {
        (old_root, proof)
    } else {
        match proof.split_first() {
            Some((seed, rest)) => (seed, rest),
            None => return Err(length_error),
        }
    };
    // Steps 3-4.
    let (mut f, mut s) = (first - 1, second - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*seed, *seed);
    // Step 6.
    for c in rest {
        if s == 0 {
            return Err(length_error);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_odd_or_zero(&mut f, &mut s);
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7.
    if s != 0 {
        return Err(length_error);
    }
    if fr != *old_root {
        return Err(ProofError::OldRootMismatch {
            expected: *old_root,
            computed: fr,
        });
    }
    if sr != *new_root {
        return Err(ProofError::NewRootMismatch {
            expected: *new_root,
            computed: sr,
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
