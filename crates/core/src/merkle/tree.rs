//! Append-only RFC 9162 Merkle tree over a store of complete-subtree hashes.
//!
//! The store holds one hash per *complete* subtree: node `(level, index)`
//! covers leaves `[index * 2^level, (index + 1) * 2^level)`; level 0 holds
//! the leaf hashes. Because those nodes never change once complete, every
//! root, inclusion proof and consistency proof for *any* earlier tree size
//! can be assembled from O(log n) of them, with one batched read.
//!
//! Proof shapes follow RFC 9162 §2.1.3.1 (PATH) and §2.1.4.1 (SUBPROOF):
//! the recursion is run over leaf ranges only (no hashing), each sibling
//! range is then split into the complete subtrees that make it up, and their
//! stored hashes are folded right-to-left, which is exactly MTH for the
//! left-aligned ranges that recursion produces.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::hash::{EMPTY_ROOT, Hash, node_hash};

/// Zero-based position of a leaf; a distinct type so it cannot be confused
/// with a [`TreeSize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(pub u64);

/// Number of leaves in a tree; a distinct type so it cannot be confused with
/// a [`LeafIndex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeSize(pub u64);

impl fmt::Display for LeafIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TreeSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Address of a complete subtree: leaves `[index << level, (index + 1) << level)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf).
    pub level: u32,
    /// Position among the nodes of that level, left to right.
    pub index: u64,
}

/// A node hash that must be persisted, as returned by [`append_leaf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// Where the hash lives in the tree.
    pub id: NodeId,
    /// The complete subtree's hash.
    pub hash: Hash,
}

/// Read access to stored complete-subtree hashes.
pub trait NodeStore {
    /// The store's own failure type (I/O, database, ...).
    type Error: std::error::Error + 'static;

    /// Returns the hash of node `(level, index)`, or `None` if not stored.
    fn get(&self, level: u32, index: u64) -> Result<Option<Hash>, Self::Error>;

    /// Batched read, one answer per id in order; override to use one query.
    fn get_many(&self, ids: &[NodeId]) -> Result<Vec<Option<Hash>>, Self::Error> {
        ids.iter().map(|id| self.get(id.level, id.index)).collect()
    }
}

/// Why a tree operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError<E: std::error::Error + 'static> {
    /// The underlying store failed.
    #[error("node store failed")]
    Store(#[source] E),
    /// A node the requested tree size needs is not in the store: the size is
    /// larger than what was appended, or the store lost data.
    #[error("node (level {level}, index {index}) is missing from the store")]
    MissingNode {
        /// Level of the missing node.
        level: u32,
        /// Index of the missing node.
        index: u64,
    },
    /// `get_many` answered with the wrong number of results.
    #[error("store returned {got} results for {asked} node ids")]
    StoreContract {
        /// Number of ids requested.
        asked: usize,
        /// Number of answers received.
        got: usize,
    },
    /// A leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old size {old_size} is larger than new size {new_size}")]
    SizeOrder {
        /// The earlier tree size.
        old_size: u64,
        /// The later tree size.
        new_size: u64,
    },
    /// Appending at `size` would not extend the tree: the leaf at `size`
    /// already exists, so the caller's idea of the size is stale.
    #[error("the store already holds a leaf at index {size}")]
    AlreadyAppended {
        /// The size the caller believed the tree had.
        size: u64,
    },
    /// The tree has 2^64 - 1 leaves and cannot grow.
    #[error("tree is full")]
    TreeFull,
}

/// Largest power of two strictly below `n`; callers guarantee `n >= 2`.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Splits the left-aligned range `[lo, hi)` into its complete subtrees,
/// largest (leftmost) first. `lo` must be a multiple of the first width,
/// which holds for 0 and for every range the RFC recursion produces.
fn range_nodes(lo: u64, hi: u64, out: &mut Vec<NodeId>) {
    let mut start = lo;
    let mut remaining = hi.saturating_sub(lo);
    while remaining > 0 {
        let level = 63 - remaining.leading_zeros();
        out.push(NodeId {
            level,
            index: start >> level,
        });
        let width = 1u64 << level;
        start += width;
        remaining -= width;
    }
}

/// Sibling ranges of RFC 9162 PATH(index, D[0:size]), leaf to root.
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, size);
    let mut out = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// Ranges of RFC 9162 PROOF(old, D[0:new]) = SUBPROOF(old, D[0:new], true),
/// in proof order; requires `0 < old <= new`.
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0u64, new);
    let mut from_start = true;
    let mut out = Vec::new();
    loop {
        let n = hi - lo;
        let m = old - lo;
        if m == n {
            // The old tree's subtree is itself in the tree; it is only
            // listed when the verifier cannot already know it (b = false).
            if !from_start {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(n);
        if m <= k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            from_start = false;
        }
    }
    out.reverse();
    out
}

/// Reads `ids` in one batch, checking the store answered each one.
fn fetch_optional<S: NodeStore + ?Sized>(
    store: &S,
    ids: &[NodeId],
) -> Result<Vec<Option<Hash>>, TreeError<S::Error>> {
    let got = store.get_many(ids).map_err(TreeError::Store)?;
    if got.len() != ids.len() {
        return Err(TreeError::StoreContract {
            asked: ids.len(),
            got: got.len(),
        });
    }
    Ok(got)
}

/// Turns absent nodes into [`TreeError::MissingNode`].
fn require_all<E: std::error::Error + 'static>(
    ids: &[NodeId],
    got: Vec<Option<Hash>>,
) -> Result<Vec<Hash>, TreeError<E>> {
    ids.iter()
        .zip(got)
        .map(|(id, h)| {
            h.ok_or(TreeError::MissingNode {
                level: id.level,
                index: id.index,
            })
        })
        .collect()
}

/// Reads `ids` in one batch, all of which must be present.
fn fetch<S: NodeStore + ?Sized>(
    store: &S,
    ids: &[NodeId],
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    require_all(ids, fetch_optional(store, ids)?)
}

/// Fetches the complete subtrees of each range and folds each into its MTH.
fn range_hashes<S: NodeStore + ?Sized>(
    store: &S,
    ranges: &[(u64, u64)],
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    let mut ids = Vec::new();
    let mut bounds = Vec::with_capacity(ranges.len());
    for &(lo, hi) in ranges {
        let start = ids.len();
        range_nodes(lo, hi, &mut ids);
        bounds.push(start..ids.len());
    }
    let hashes = fetch(store, &ids)?;
    Ok(bounds
        .into_iter()
        .map(|b| fold_right(hashes.get(b).unwrap_or(&[])))
        .collect())
}

/// MTH of a left-aligned range from its complete subtrees, largest first.
fn fold_right(parts: &[Hash]) -> Hash {
    let mut iter = parts.iter().rev();
    match iter.next() {
        None => EMPTY_ROOT,
        Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
    }
}

/// Nodes to persist when appending `leaf` to a tree of `size` leaves: the
/// leaf itself plus every parent it completes (at most log2(n) + 1 nodes).
/// One batched read fetches the left siblings; the caller writes the result
/// (e.g. in the same transaction as the entry itself).
pub fn append_leaf<S: NodeStore + ?Sized>(
    store: &S,
    size: TreeSize,
    leaf: Hash,
) -> Result<Vec<StoredNode>, TreeError<S::Error>> {
    let n = size.0;
    if n == u64::MAX {
        return Err(TreeError::TreeFull);
    }
    let completed = n.trailing_ones();
    let mut ids: Vec<NodeId> = (0..completed)
        .map(|level| NodeId {
            level,
            index: (n >> level) - 1,
        })
        .collect();
    // An even size has no level-0 sibling to read; still check that the
    // previous leaf exists so a too-large size is caught.
    if n > 0 && completed == 0 {
        ids.push(NodeId {
            level: 0,
            index: n - 1,
        });
    }
    // The new leaf's slot rides along in the same batch: if it is already
    // filled the caller's size is stale and appending would rewrite history.
    let this = NodeId { level: 0, index: n };
    ids.push(this);
    let mut got = fetch_optional(store, &ids)?;
    if got.pop().flatten().is_some() {
        return Err(TreeError::AlreadyAppended { size: n });
    }
    ids.pop();
    let siblings = require_all(&ids, got)?;
    let mut out = Vec::with_capacity(completed as usize + 1);
    let mut hash = leaf;
    out.push(StoredNode {
        id: NodeId { level: 0, index: n },
        hash,
    });
    for (level, left) in (1..).zip(siblings.iter().take(completed as usize)) {
        hash = node_hash(left, &hash);
        out.push(StoredNode {
            id: NodeId {
                level,
                index: n >> level,
            },
            hash,
        });
    }
    Ok(out)
}

/// Root hash of the first `size` leaves (any size up to the stored one),
/// from at most log2(size) + 1 stored nodes.
pub fn root<S: NodeStore + ?Sized>(store: &S, size: TreeSize) -> Result<Hash, TreeError<S::Error>> {
    let mut ids = Vec::new();
    range_nodes(0, size.0, &mut ids);
    Ok(fold_right(&fetch(store, &ids)?))
}

/// RFC 9162 §2.1.3.1 inclusion proof for leaf `index` in the tree of `size`.
pub fn inclusion_proof<S: NodeStore + ?Sized>(
    store: &S,
    index: LeafIndex,
    size: TreeSize,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if index.0 >= size.0 {
        return Err(TreeError::IndexOutOfRange {
            index: index.0,
            size: size.0,
        });
    }
    range_hashes(store, &inclusion_ranges(index.0, size.0))
}

/// RFC 9162 §2.1.4.1 consistency proof from `old_size` to `new_size`.
/// Equal sizes and an empty old tree give an empty proof (nothing to prove).
pub fn consistency_proof<S: NodeStore + ?Sized>(
    store: &S,
    old_size: TreeSize,
    new_size: TreeSize,
) -> Result<Vec<Hash>, TreeError<S::Error>> {
    if old_size > new_size {
        return Err(TreeError::SizeOrder {
            old_size: old_size.0,
            new_size: new_size.0,
        });
    }
    if old_size.0 == 0 {
        return Ok(Vec::new());
    }
    range_hashes(store, &consistency_ranges(old_size.0, new_size.0))
}

/// Why [`MemoryStore`] refused a write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryStoreError {
    /// Nodes of a level must be written left to right without gaps.
    #[error("node (level {level}, index {index}) written out of order")]
    OutOfOrder {
        /// Level of the rejected node.
        level: u32,
        /// Index of the rejected node.
        index: u64,
    },
}

/// In-memory [`NodeStore`] for tests and small tools; counts reads so tests
/// can check the O(log n) bound.
#[derive(Debug, Default)]
pub struct MemoryStore {
    levels: Vec<Vec<Hash>>,
    reads: AtomicU64,
}

impl MemoryStore {
    /// Creates an empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of leaves stored.
    pub fn size(&self) -> TreeSize {
        TreeSize(self.levels.first().map_or(0, |l| l.len() as u64))
    }

    /// Number of node reads served so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Writes one node; nodes of each level must arrive in index order.
    pub fn put(&mut self, node: StoredNode) -> Result<(), MemoryStoreError> {
        let level = node.id.level as usize;
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        let row = &mut self.levels[level];
        if row.len() as u64 != node.id.index {
            return Err(MemoryStoreError::OutOfOrder {
                level: node.id.level,
                index: node.id.index,
            });
        }
        row.push(node.hash);
        Ok(())
    }

    /// Appends a leaf hash and persists every node it completes.
    pub fn push(&mut self, leaf: Hash) -> Result<LeafIndex, TreeError<MemoryStoreError>> {
        let size = self.size();
        for node in append_leaf(self, size, leaf)? {
            self.put(node).map_err(TreeError::Store)?;
        }
        Ok(LeafIndex(size.0))
    }
}

impl NodeStore for MemoryStore {
    type Error = MemoryStoreError;

    fn get(&self, level: u32, index: u64) -> Result<Option<Hash>, Self::Error> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let row = self.levels.get(level as usize);
        let hash = row.and_then(|r| usize::try_from(index).ok().and_then(|i| r.get(i)));
        Ok(hash.copied())
    }
}

#[cfg(test)]
#[path = "tree_tests.rs"]
mod tests;
