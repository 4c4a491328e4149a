//! Tests for `tree.rs`: known answers, exhaustive comparison with the naive
//! RFC recursions, read-count bounds and store misuse.

use super::*;
use crate::merkle::hash::leaf_hash;
use crate::merkle::reference::{self, KAT_ROOTS, h, kat_leaves};

fn store_with(leaves: &[Hash]) -> MemoryStore {
    let mut s = MemoryStore::new();
    for l in leaves {
        s.push(*l).expect("append");
    }
    s
}

#[test]
fn known_answer_roots_for_sizes_0_to_8() {
    // Vectors: transparency-dev/merkle testonly/constants.go RootHashes().
    let leaves = kat_leaves();
    let store = store_with(&leaves);
    for (size, want) in KAT_ROOTS.iter().enumerate() {
        assert_eq!(
            root(&store, TreeSize(size as u64)).unwrap(),
            h(want),
            "size {size}, from {}",
            reference::KAT_SOURCE
        );
        assert_eq!(
            reference::mth(&leaves[..size]),
            h(want),
            "reference size {size}"
        );
    }
}

#[test]
fn known_answer_interior_nodes() {
    // transparency-dev/merkle testonly/constants.go NodeHashes().
    let store = store_with(&kat_leaves());
    let want = [
        (
            1,
            0,
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        ),
        (
            1,
            3,
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
        ),
        (
            2,
            1,
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
        (
            3,
            0,
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        ),
    ];
    for (level, index, hex) in want {
        assert_eq!(store.get(level, index).unwrap(), Some(h(hex)));
    }
}

#[test]
fn known_answer_proofs() {
    // transparency-dev/merkle proof/verify_test.go (its leaf numbers are 1-based).
    let store = store_with(&kat_leaves());
    let incl = inclusion_proof(&store, LeafIndex(5), TreeSize(8)).unwrap();
    assert_eq!(
        incl,
        vec![
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]
    );
    let cons = consistency_proof(&store, TreeSize(6), TreeSize(7)).unwrap();
    assert_eq!(
        cons,
        vec![
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
        ]
    );
    let cons = consistency_proof(&store, TreeSize(2), TreeSize(5)).unwrap();
    assert_eq!(
        cons,
        vec![
            h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
            h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
        ]
    );
}

#[test]
fn all_roots_and_inclusion_proofs_match_reference_up_to_64() {
    let leaves = reference::leaves(64);
    let store = store_with(&leaves);
    for size in 0..=64usize {
        let sz = TreeSize(size as u64);
        assert_eq!(root(&store, sz).unwrap(), reference::mth(&leaves[..size]));
        for index in 0..size {
            let got = inclusion_proof(&store, LeafIndex(index as u64), sz).unwrap();
            assert_eq!(
                got,
                reference::path(index, &leaves[..size]),
                "({index}, {size})"
            );
        }
        assert!(matches!(
            inclusion_proof(&store, LeafIndex(size as u64), sz),
            Err(TreeError::IndexOutOfRange { .. })
        ));
    }
}

#[test]
fn all_consistency_proofs_match_reference_up_to_64() {
    let leaves = reference::leaves(64);
    let store = store_with(&leaves);
    for new in 1..=64usize {
        for old in 1..=new {
            let got =
                consistency_proof(&store, TreeSize(old as u64), TreeSize(new as u64)).unwrap();
            assert_eq!(got, reference::proof(old, &leaves[..new]), "({old}, {new})");
        }
        assert!(
            consistency_proof(&store, TreeSize(0), TreeSize(new as u64))
                .unwrap()
                .is_empty()
        );
    }
    assert!(matches!(
        consistency_proof(&store, TreeSize(5), TreeSize(4)),
        Err(TreeError::SizeOrder {
            old_size: 5,
            new_size: 4
        })
    ));
}

#[test]
fn reads_are_logarithmic() {
    let n = 1000u64;
    let store = store_with(&reference::leaves(n as usize));
    let bound = 2 * (64 - n.leading_zeros() as u64) + 2;
    for size in [1, 2, 3, 500, 511, 512, 513, 999, 1000] {
        let before = store.reads();
        root(&store, TreeSize(size)).unwrap();
        assert!(store.reads() - before <= bound);
        for index in [0, size / 2, size - 1] {
            let before = store.reads();
            inclusion_proof(&store, LeafIndex(index), TreeSize(size)).unwrap();
            assert!(store.reads() - before <= bound, "inclusion {index}/{size}");
        }
        for old in [1, size / 3 + 1, size] {
            let before = store.reads();
            consistency_proof(&store, TreeSize(old), TreeSize(size)).unwrap();
            assert!(store.reads() - before <= bound, "consistency {old}/{size}");
        }
    }
}

#[test]
fn append_returns_leaf_and_completed_parents() {
    let mut store = MemoryStore::new();
    for i in 0..7 {
        store.push(leaf_hash(&[i])).unwrap();
    }
    // Appending leaf 7 completes (1,3), (2,1) and (3,0).
    let nodes = append_leaf(&store, TreeSize(7), leaf_hash(&[7])).unwrap();
    let ids: Vec<(u32, u64)> = nodes.iter().map(|n| (n.id.level, n.id.index)).collect();
    assert_eq!(ids, vec![(0, 7), (1, 3), (2, 1), (3, 0)]);
    // Appending leaf 8 completes nothing.
    for n in nodes {
        store.put(n).unwrap();
    }
    let nodes = append_leaf(&store, TreeSize(8), leaf_hash(&[8])).unwrap();
    assert_eq!(nodes.len(), 1);
}

#[test]
fn append_rejects_stale_or_future_sizes() {
    let store = store_with(&reference::leaves(4));
    assert!(matches!(
        append_leaf(&store, TreeSize(3), EMPTY_ROOT),
        Err(TreeError::AlreadyAppended { size: 3 })
    ));
    assert!(matches!(
        append_leaf(&store, TreeSize(6), EMPTY_ROOT),
        Err(TreeError::MissingNode { level: 0, index: 5 })
    ));
    assert!(matches!(
        append_leaf(&store, TreeSize(u64::MAX), EMPTY_ROOT),
        Err(TreeError::TreeFull)
    ));
}

#[test]
fn sizes_beyond_the_store_are_errors_not_panics() {
    let store = store_with(&reference::leaves(5));
    assert!(matches!(
        root(&store, TreeSize(6)),
        Err(TreeError::MissingNode { .. })
    ));
    assert!(matches!(
        inclusion_proof(&store, LeafIndex(0), TreeSize(u64::MAX)),
        Err(TreeError::MissingNode { .. })
    ));
    assert!(matches!(
        consistency_proof(&store, TreeSize(3), TreeSize(u64::MAX)),
        Err(TreeError::MissingNode { .. })
    ));
    assert!(matches!(
        root(&store, TreeSize(u64::MAX)),
        Err(TreeError::MissingNode { .. })
    ));
}

#[test]
fn memory_store_rejects_out_of_order_writes() {
    let mut store = MemoryStore::new();
    let node = StoredNode {
        id: NodeId { level: 0, index: 1 },
        hash: EMPTY_ROOT,
    };
    assert_eq!(
        store.put(node),
        Err(MemoryStoreError::OutOfOrder { level: 0, index: 1 })
    );
}

/// A store that breaks the `get_many` contract.
struct ShortStore;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl NodeStore for ShortStore {
    type Error = Never;
    fn get(&self, _: u32, _: u64) -> Result<Option<Hash>, Never> {
        Ok(None)
    }
    fn get_many(&self, _: &[NodeId]) -> Result<Vec<Option<Hash>>, Never> {
        Ok(Vec::new())
    }
}

#[test]
fn misbehaving_store_is_reported() {
    assert!(matches!(
        root(&ShortStore, TreeSize(3)),
        Err(TreeError::StoreContract { asked: 2, got: 0 })
    ));
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn proofs_match_reference(n in 1usize..300, a in any::<u64>(), b in any::<u64>()) {
            let leaves = reference::leaves(n);
            let store = store_with(&leaves);
            let size = (a % n as u64) as usize + 1;
            let index = (b % size as u64) as usize;
            prop_assert_eq!(
                inclusion_proof(&store, LeafIndex(index as u64), TreeSize(size as u64)).unwrap(),
                reference::path(index, &leaves[..size])
            );
            let old = index + 1;
            prop_assert_eq!(
                consistency_proof(&store, TreeSize(old as u64), TreeSize(size as u64)).unwrap(),
                reference::proof(old, &leaves[..size])
            );
        }
    }
}

/// Wraps a store and counts `get_many` round trips.
struct CountingStore<'a> {
    inner: &'a MemoryStore,
    calls: std::cell::Cell<u32>,
}

impl NodeStore for CountingStore<'_> {
    type Error = MemoryStoreError;
    fn get(&self, level: u32, index: u64) -> Result<Option<Hash>, Self::Error> {
        self.inner.get(level, index)
    }
    fn get_many(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, Self::Error> {
        self.calls.set(self.calls.get() + 1);
        self.inner.get_many(ids)
    }
}

#[test]
fn every_operation_is_one_batched_read() {
    let inner = store_with(&reference::leaves(23));
    let s = CountingStore {
        inner: &inner,
        calls: std::cell::Cell::new(0),
    };
    append_leaf(&s, TreeSize(23), EMPTY_ROOT).unwrap();
    root(&s, TreeSize(23)).unwrap();
    inclusion_proof(&s, LeafIndex(9), TreeSize(23)).unwrap();
    consistency_proof(&s, TreeSize(9), TreeSize(23)).unwrap();
    assert_eq!(s.calls.get(), 4);
}
