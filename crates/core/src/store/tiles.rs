//! Tiles and entry bundles read from the store (crate::tiles says what
//! they are): the same bytes whether served by `trail serve` or written by
//! `trail publish`.

use super::tree::{Frontier, SledNodes, tree_error};
use super::{Log, Result};
use crate::merkle::Hash;
use crate::merkle::tree::{NodeStore, TreeError};
use crate::tiles::{Tile, TileKind};

/// The log's Merkle tree as it would be with more leaves: its root can be
/// computed for leaf hashes that are not in the log (yet), in O(log n)
/// memory. A mirror pins fetched hash tiles to a signed root with it before
/// it fetches the entries they commit to.
pub struct TreeExtension(Frontier);

impl TreeExtension {
    /// Adds the next leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.0.push(leaf);
    }

    /// The size of the tree so far.
    pub fn size(&self) -> u64 {
        self.0.size()
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        self.0.root()
    }
}

impl Log {
    /// The log's durable tree, ready to be extended with leaf hashes.
    pub fn tree_extension(&self) -> Result<TreeExtension> {
        let size = self.tree_size();
        self.settle()?;
        Ok(TreeExtension(Frontier::of_stored(
            &self.tree, &self.path, size,
        )?))
    }

    /// The bytes of `tile`, or `None` if the log's durable entries are too
    /// few for it: a hash tile is its hashes back to back, an entry bundle
    /// its entries each after a big-endian u16 length.
    pub fn tile_bytes(&self, tile: &Tile) -> Result<Option<Vec<u8>>> {
        let size = self.tree_size();
        self.settle()?;
        let (Some(needs), Some(first)) = (tile.needs_size(), tile.first_node()) else {
            return Ok(None);
        };
        if needs > size {
            return Ok(None);
        }
        let last = first + u64::from(tile.width) - 1;
        match tile.kind {
            TileKind::Entries => {
                let mut out = Vec::with_capacity(usize::from(tile.width) * 512);
                for bytes in self.entry_bytes(first, last) {
                    crate::tiles::entry_bundle::push(&mut out, &bytes?)?;
                }
                Ok(Some(out))
            }
            TileKind::Hashes { .. } => {
                let nodes = SledNodes(&self.tree);
                let level = tile.tree_level();
                let mut out = Vec::with_capacity(usize::from(tile.width) * 32);
                for index in first..=last {
                    let hash = nodes
                        .get(level, index)
                        .map_err(|e| tree_error(&self.path, TreeError::Store(e)))?
                        .ok_or_else(|| {
                            crate::Error::from(crate::Damage::Tree(format!(
                                "the tree lacks node (level {level}, index {index})"
                            )))
                        })?;
                    out.extend_from_slice(hash.as_bytes());
                }
                Ok(Some(out))
            }
        }
    }
}
