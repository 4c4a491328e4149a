//! Test-only naive RFC 9162 §2.1 reference: MTH, PATH and SUBPROOF written
//! as the literal recursions over a slice of leaf hashes, so the stored-node
//! implementation can be checked against the specification's definitions.

use super::hash::{EMPTY_ROOT, Hash, leaf_hash, node_hash};

/// Largest power of two strictly less than `n` (n >= 2), per RFC 9162 §2.1.1.
fn k_for(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf hashes.
pub fn mth(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => EMPTY_ROOT,
        1 => leaves[0],
        n => {
            let k = k_for(n);
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

/// PATH(m, D[n]).
pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = k_for(n);
    if m < k {
        let mut p = path(m, &leaves[..k]);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = path(m - k, &leaves[k..]);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// SUBPROOF(m, D[n], b).
pub fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
    let n = leaves.len();
    if m == n {
        return if b { Vec::new() } else { vec![mth(leaves)] };
    }
    let k = k_for(n);
    if m <= k {
        let mut p = subproof(m, &leaves[..k], b);
        p.push(mth(&leaves[k..]));
        p
    } else {
        let mut p = subproof(m - k, &leaves[k..], false);
        p.push(mth(&leaves[..k]));
        p
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
pub fn proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
    subproof(m, leaves, true)
}

/// Distinct deterministic leaf hashes `leaf_hash(i as bytes)`.
pub fn leaves(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Where the known answers come from, pinned to the commit they were read
/// at: transparency-dev/merkle testonly/constants.go (leaf inputs, node and
/// root hashes).
pub const KAT_SOURCE: &str = "github.com/transparency-dev/merkle@77f1b57d7aa25fcd2e51273166b6b2b0e74923b1 testonly/constants.go";

/// The inclusion and consistency proofs of `verify_tests.rs`, pinned the same way.
pub const KAT_PROOF_SOURCE: &str = "github.com/transparency-dev/merkle@73a0db1c2a2bd17afd311403643abea0266cbf87 proof/verify_test.go";

/// The cosignature examples of `cosignature_tests.rs` and `keys.rs`.
pub const KAT_NOTE_SOURCE: &str = "github.com/transparency-dev/formats@210e76017fe3e33f08c8300e3806851ebb6832db note/note_cosigv1_test.go";

/// Leaf inputs of the standard RFC 6962 test tree, from transparency-dev/merkle
/// testonly/constants.go `LeafInputs()` (same as Certificate Transparency's
/// merkle_tree_test.cc).
pub const KAT_LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots for sizes 0..=8 of the tree above, from the same file's `RootHashes()`.
pub const KAT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Leaf hashes of the known-answer tree.
pub fn kat_leaves() -> Vec<Hash> {
    KAT_LEAF_INPUTS
        .iter()
        .map(|h| leaf_hash(&hex::decode(h).expect("static hex")))
        .collect()
}

/// Parses a static hex hash.
pub fn h(hex: &str) -> Hash {
    Hash::from_hex(hex).expect("static hex hash")
}
