//! The log's Merkle tree inside the sled store.
//!
//! Node `(level, index)` of the RFC 6962 tree over the entries (leaf = an
//! entry's canonical bytes) is kept under `t:` + level (u32 big-endian) +
//! index (u64 big-endian), value the 32-byte hash. Only complete subtrees are
//! stored, so a node never changes once written; an append writes at most
//! log2(n) + 1 of them, in the same sled batch as the entry itself.

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;

use crate::encoding;
use crate::error::{Damage, Error};
use crate::merkle::hash::{EMPTY_ROOT, Hash, node_hash};
use crate::merkle::tree::{
    NodeId, NodeStore, StoredNode, TreeError, TreeSize, append_leaf, root as merkle_root,
};
use crate::verify::VerifiedEntry;

/// Key prefix of tree nodes.
pub(crate) const TREE_PREFIX: &[u8] = b"t:";

/// The sled key of node `(level, index)`.
pub(crate) fn node_key(level: u32, index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(14);
    key.extend_from_slice(TREE_PREFIX);
    key.extend_from_slice(&level.to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// Why reading a stored node failed: sled failed, or the value is not a hash.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NodeReadError {
    /// sled failed.
    #[error(transparent)]
    Sled(#[from] sled::Error),
    /// A stored node value is not 32 bytes.
    #[error("tree node (level {level}, index {index}) is not a 32-byte hash")]
    BadValue {
        /// Level of the node.
        level: u32,
        /// Index of the node.
        index: u64,
    },
}

/// The stored tree, read straight from sled.
pub(crate) struct SledNodes<'a>(pub(crate) &'a sled::Tree);

impl NodeStore for SledNodes<'_> {
    type Error = NodeReadError;

    fn get(&self, level: u32, index: u64) -> Result<Option<Hash>, NodeReadError> {
        match self.0.get(node_key(level, index))? {
            None => Ok(None),
            Some(value) => Hash::from_slice(&value)
                .map(Some)
                .map_err(|_| NodeReadError::BadValue { level, index }),
        }
    }
}

/// The stored tree plus nodes written earlier in a batch not yet applied, so
/// a multi-entry append sees its own earlier leaves.
pub(crate) struct PendingNodes<'a> {
    stored: SledNodes<'a>,
    path: &'a Path,
    pending: HashMap<NodeId, Hash>,
}

impl<'a> PendingNodes<'a> {
    /// An empty overlay over the stored tree of the log at `path`.
    pub(crate) fn new(tree: &'a sled::Tree, path: &'a Path) -> Self {
        PendingNodes {
            stored: SledNodes(tree),
            path,
            pending: HashMap::new(),
        }
    }

    /// The stored tree this overlay reads through to.
    pub(crate) fn tree(&self) -> &'a sled::Tree {
        self.stored.0
    }

    /// The log directory, for errors.
    pub(crate) fn path(&self) -> &'a Path {
        self.path
    }

    /// Computes the nodes that appending `leaf` at `size` completes, adds
    /// them to the overlay and to `batch`.
    pub(crate) fn append(
        &mut self,
        batch: &mut sled::Batch,
        size: u64,
        leaf: Hash,
    ) -> Result<(), Error> {
        let nodes =
            append_leaf(self, TreeSize(size), leaf).map_err(|e| tree_error(self.path, e))?;
        for node in nodes {
            batch.insert(node_key(node.id.level, node.id.index), &node.hash.0[..]);
            self.pending.insert(node.id, node.hash);
        }
        Ok(())
    }
}

impl NodeStore for PendingNodes<'_> {
    type Error = NodeReadError;

    fn get(&self, level: u32, index: u64) -> Result<Option<Hash>, NodeReadError> {
        match self.pending.get(&NodeId { level, index }) {
            Some(hash) => Ok(Some(*hash)),
            None => self.stored.get(level, index),
        }
    }
}

/// Turns a tree failure over the sled store into the crate's error.
pub(crate) fn tree_error(path: &Path, e: TreeError<NodeReadError>) -> Error {
    match e {
        TreeError::Store(NodeReadError::Sled(e)) => Error::Store {
            path: path.to_owned(),
            message: e.to_string(),
        },
        other => Damage::Tree(display_chain(&other)).into(),
    }
}

fn display_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Checks that the stored tree holds exactly the nodes that `verified`
/// (the next entries after those already in `frontier`) complete.
pub(crate) fn check_nodes(
    tree: &sled::Tree,
    frontier: &mut Frontier,
    verified: &[VerifiedEntry],
) -> Result<(), Error> {
    let leaves: Vec<Hash> = verified
        .par_iter()
        .map(|v| encoding::merkle_leaf_hash(v.bytes()))
        .collect();
    let mut computed: Vec<StoredNode> = Vec::with_capacity(leaves.len() * 2);
    for leaf in leaves {
        computed.extend(frontier.push(leaf));
    }
    // Compared level by level with one ordered scan each: the nodes a chunk
    // completes on a level have consecutive indexes, and a scan reads sled's
    // pages once where a lookup per node would search from the root.
    computed.sort_unstable_by_key(|n| (n.id.level, n.id.index));
    for level_nodes in computed.chunk_by(|a, b| a.id.level == b.id.level) {
        let (first, last) = (level_nodes[0].id, level_nodes[level_nodes.len() - 1].id);
        let mut stored =
            tree.range(node_key(first.level, first.index)..=node_key(last.level, last.index));
        for node in level_nodes {
            let (level, index) = (node.id.level, node.id.index);
            let found = match stored.next() {
                Some(Ok((key, value))) if key.as_ref() == node_key(level, index).as_slice() => {
                    Some(
                        Hash::from_slice(&value)
                            .map_err(|_| corrupt(NodeReadError::BadValue { level, index }))?,
                    )
                }
                Some(Err(e)) => return Err(corrupt(e.into())),
                // Another key, or none: this node is missing (the scan's
                // next key is reread by the next lookup below).
                _ => SledNodes(tree).get(level, index).map_err(corrupt)?,
            };
            if found != Some(node.hash) {
                return Err(Damage::Tree(format!(
                    "the stored tree does not match the entries: node (level {level}, index {index}) is {} but the entries give {}",
                    found.map_or_else(|| "missing".to_owned(), |h| h.to_hex()),
                    node.hash.to_hex()
                ))
                .into());
            }
        }
    }
    Ok(())
}

/// Checks that the stored tree's root at the verified size is the root
/// recomputed from the entries, and that it holds no leaf beyond them.
pub(crate) fn check_root(tree: &sled::Tree, path: &Path, frontier: &Frontier) -> Result<(), Error> {
    let size = frontier.size();
    let stored = SledNodes(tree);
    if stored.get(0, size).map_err(corrupt)?.is_some() {
        return Err(Damage::Tree(format!(
            "the stored tree has a leaf at index {size}, beyond the last entry"
        ))
        .into());
    }
    let root = merkle_root(&stored, TreeSize(size)).map_err(|e| tree_error(path, e))?;
    if root != frontier.root() {
        return Err(Damage::Tree(format!(
            "the stored root {} differs from the root of the entries {}",
            root.to_hex(),
            frontier.root().to_hex()
        ))
        .into());
    }
    Ok(())
}

/// Builds the Merkle tree of a log written before the tree was kept (or
/// whose tree stops short of the head), so that proofs can be made from it;
/// says whether it did. The result is checked like any stored tree by
/// verification.
pub(crate) fn rebuild_if_missing(log: &super::Log, head_seq: u64) -> Result<bool, Error> {
    if SledNodes(&log.tree)
        .get(0, head_seq)
        .map_err(corrupt)?
        .is_some()
    {
        return Ok(false);
    }
    rebuild(log)?;
    Ok(true)
}

/// Rewrites every Merkle node from the stored entries' leaf hashes.
pub(crate) fn rebuild(log: &super::Log) -> Result<(), Error> {
    let (tree, path) = (&log.tree, log.path());
    let sled_error = |e| super::store_error(path, e);
    let mut clear = sled::Batch::default();
    for key in tree.scan_prefix(TREE_PREFIX).keys() {
        clear.remove(key.map_err(sled_error)?);
    }
    tree.apply_batch(clear).map_err(sled_error)?;
    // Up to the first entry that cannot be read: verification names it.
    let mut entries = log.raw_entries().map_while(|item| item.ok()).peekable();
    while entries.peek().is_some() {
        let mut batch = sled::Batch::default();
        let mut nodes = PendingNodes::new(tree, path);
        for (seq, bytes) in entries.by_ref().take(super::CHUNK) {
            nodes.append(&mut batch, seq, encoding::merkle_leaf_hash(&bytes))?;
        }
        tree.apply_batch(batch).map_err(sled_error)?;
    }
    Ok(())
}

fn corrupt(e: NodeReadError) -> Error {
    Damage::Tree(e.to_string()).into()
}

/// The right edge of a tree being rebuilt leaf by leaf without reading any
/// store: the complete subtrees making up the tree so far, largest first.
/// Used by verification to recompute the tree from verified entries in
/// O(log n) memory.
#[derive(Debug, Default)]
pub(crate) struct Frontier {
    size: u64,
    stack: Vec<Hash>,
}

impl Frontier {
    /// The right edge of the stored tree of the first `size` entries: its
    /// complete subtrees, largest first, read from the store.
    pub(crate) fn of_stored(tree: &sled::Tree, path: &Path, size: u64) -> Result<Frontier, Error> {
        let nodes = SledNodes(tree);
        let mut stack = Vec::new();
        let mut offset = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) == 0 {
                continue;
            }
            let hash = nodes
                .get(level, offset >> level)
                .map_err(|e| tree_error(path, TreeError::Store(e)))?
                .ok_or_else(|| {
                    Error::from(Damage::Tree(format!(
                        "the tree lacks node (level {level}, index {})",
                        offset >> level
                    )))
                })?;
            stack.push(hash);
            offset += 1u64 << level;
        }
        Ok(Frontier { size, stack })
    }

    /// Adds the next leaf and returns every node it completes, leaf first.
    pub(crate) fn push(&mut self, leaf: Hash) -> Vec<StoredNode> {
        let n = self.size;
        let mut hash = leaf;
        let mut out = vec![StoredNode {
            id: NodeId { level: 0, index: n },
            hash,
        }];
        for level in 1..=n.trailing_ones() {
            let Some(left) = self.stack.pop() else { break };
            hash = node_hash(&left, &hash);
            out.push(StoredNode {
                id: NodeId {
                    level,
                    index: n >> level,
                },
                hash,
            });
        }
        self.stack.push(hash);
        self.size += 1;
        out
    }

    /// Leaves pushed so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Root of the tree of every leaf pushed so far.
    pub(crate) fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        match iter.next() {
            None => EMPTY_ROOT,
            Some(last) => iter.fold(*last, |acc, left| node_hash(left, &acc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::hash::leaf_hash;
    use crate::merkle::tree::MemoryStore;

    #[test]
    fn frontier_matches_the_reference_tree_at_every_size() {
        let mut memory = MemoryStore::new();
        let mut frontier = Frontier::default();
        assert_eq!(frontier.root(), EMPTY_ROOT);
        for i in 0u64..70 {
            let leaf = leaf_hash(&i.to_le_bytes());
            let expected = append_leaf(&memory, memory.size(), leaf).unwrap();
            assert_eq!(frontier.push(leaf), expected);
            memory.push(leaf).unwrap();
            assert_eq!(frontier.size(), i + 1);
            assert_eq!(
                frontier.root(),
                merkle_root(&memory, memory.size()).unwrap()
            );
        }
    }

    #[test]
    fn node_keys_sort_by_level_then_index() {
        assert!(node_key(0, u64::MAX) < node_key(1, 0));
        assert!(node_key(3, 1) < node_key(3, 256));
        assert_eq!(node_key(1, 2).len(), 14);
    }
}
