//! C2SP tlog-tiles: the log's Merkle tree and entries as static files
//! (docs/FORMAT.md, "Tiles").
//!
//! A tile at level `l`, index `n` holds up to 256 consecutive hashes of
//! tree level `8l`: hash `i` is MTH(D[(n·256 + i)·256^l .. (n·256 + i + 1)·256^l]),
//! node `(8l, n·256 + i)` of the tree. A *full* tile has 256 hashes
//! (8,192 bytes); the rightmost tile of a level may be *partial*, with `W`
//! hashes (1 ≤ W ≤ 255). Entry bundles are level 0's twin: the entries
//! whose leaf hashes the level-0 tile holds.
//!
//! This module is only layout: which tiles a tree has and what they are
//! called. What they hold is read from the store (`Log::tile_bytes`).

use std::fmt;

/// Entry bundles: the entries of a level-0 tile, each with a big-endian
/// u16 length (docs/FORMAT.md, "Entry bundles").
#[path = "entry_bundle.rs"]
pub mod entry_bundle;

/// Levels of the tree one tile spans.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile, and entries in a full entry bundle: 2^8.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// The highest tile level a path may name.
pub const MAX_LEVEL: u8 = 63;

/// What a tile path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Hashes of tree level `8 × level`.
    Hashes {
        /// The tile level.
        level: u8,
    },
    /// An entry bundle.
    Entries,
}

/// One tile or entry bundle: its kind, index within its level and width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    /// Hashes of which level, or entries.
    pub kind: TileKind,
    /// Its index within the level.
    pub index: u64,
    /// How many hashes or entries it holds: 256 for a full tile.
    pub width: u16,
}

impl Tile {
    /// Whether it is full (256 wide) and so never changes.
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The tree level of its hashes (`8 × level`); entries count as level 0.
    pub fn tree_level(&self) -> u32 {
        match self.kind {
            TileKind::Hashes { level } => TILE_HEIGHT * u32::from(level),
            TileKind::Entries => 0,
        }
    }

    /// The index of its first hash's node in its tree level: `index × 256`.
    pub fn first_node(&self) -> Option<u64> {
        self.index.checked_mul(TILE_WIDTH)
    }

    /// The tree size it needs: the entries its last hash covers,
    /// `(index·256 + width) · 256^level`, if representable.
    pub fn needs_size(&self) -> Option<u64> {
        let nodes = self.first_node()?.checked_add(u64::from(self.width))?;
        let span = 1u64.checked_shl(self.tree_level())?;
        nodes.checked_mul(span)
    }

    /// Its path: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
    pub fn path(&self) -> String {
        let level = match self.kind {
            TileKind::Hashes { level } => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{level}/{}", encode_index(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a tile path in exactly the form [`Tile::path`] writes; any
    /// other spelling of the same tile (leading zeros, a redundant group) is
    /// refused, so each tile has one name.
    pub fn parse(path: &str) -> Result<Tile, TilePathError> {
        let bad = || TilePathError(path.chars().take(200).collect());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let (level, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = if level == "entries" {
            TileKind::Entries
        } else {
            let level = canonical_decimal(level).ok_or_else(bad)?;
            let level = u8::try_from(level)
                .ok()
                .filter(|l| *l <= MAX_LEVEL)
                .ok_or_else(bad)?;
            TileKind::Hashes { level }
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let width = canonical_decimal(width)
                    .and_then(|w| u16::try_from(w).ok())
                    .filter(|w| (1..TILE_WIDTH as u16).contains(w))
                    .ok_or_else(bad)?;
                (index, width)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = decode_index(index).ok_or_else(bad)?;
        // A tile above level 7 would need 2^64 entries or more: it names a
        // tile no log of u64 size has, which is not a malformed path.
        Ok(Tile { kind, index, width })
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A path that names no tile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TilePathError(pub String);

impl fmt::Display for TilePathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a tile path", self.0)
    }
}

impl std::error::Error for TilePathError {}

/// A decimal number with no sign and no leading zeros.
fn canonical_decimal(text: &str) -> Option<u64> {
    let ok = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    ok.then(|| text.parse().ok()).flatten()
}

/// `1234067` → `x001/x234/067`: groups of three digits, all but the last
/// prefixed with `x`.
fn encode_index(mut index: u64) -> String {
    let mut groups = vec![format!("{:03}", index % 1000)];
    index /= 1000;
    while index > 0 {
        groups.push(format!("x{:03}", index % 1000));
        index /= 1000;
    }
    groups.reverse();
    groups.join("/")
}

fn decode_index(text: &str) -> Option<u64> {
    let groups: Vec<&str> = text.split('/').collect();
    let (last, leading) = groups.split_last()?;
    let digits = |g: &str| (g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit())).then_some(());
    let mut index: u64 = 0;
    for (i, group) in leading.iter().enumerate() {
        let group = group.strip_prefix('x')?;
        digits(group)?;
        // A leading x000 spells the same index a shorter path does.
        if i == 0 && group == "000" {
            return None;
        }
        index = index.checked_mul(1000)?.checked_add(group.parse().ok()?)?;
    }
    digits(last)?;
    index.checked_mul(1000)?.checked_add(last.parse().ok()?)
}

/// The tiles and entry bundles a tree of `new` entries has that one of
/// `old` entries does not: new full tiles and the partial tiles of `new`.
/// Publishing them, and nothing else, brings a tile directory of `old`
/// up to `new`. Ordered from level 0 up, entry bundles first.
pub fn tiles_between(old: u64, new: u64) -> Vec<Tile> {
    let mut out = Vec::new();
    let old = old.min(new);
    let level_tiles = |kind: TileKind, old_nodes: u64, new_nodes: u64, out: &mut Vec<Tile>| {
        for index in old_nodes / TILE_WIDTH..new_nodes / TILE_WIDTH {
            out.push(Tile {
                kind,
                index,
                width: TILE_WIDTH as u16,
            });
        }
        let partial = (new_nodes % TILE_WIDTH) as u16;
        if partial > 0 && new_nodes != old_nodes {
            out.push(Tile {
                kind,
                index: new_nodes / TILE_WIDTH,
                width: partial,
            });
        }
    };
    level_tiles(TileKind::Entries, old, new, &mut out);
    for level in 0..=MAX_LEVEL {
        let shift = TILE_HEIGHT * u32::from(level);
        let nodes = |size: u64| size.checked_shr(shift).unwrap_or(0);
        if nodes(new) == 0 {
            break;
        }
        level_tiles(TileKind::Hashes { level }, nodes(old), nodes(new), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(level: u8, index: u64, width: u16) -> Tile {
        Tile {
            kind: TileKind::Hashes { level },
            index,
            width,
        }
    }

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(hashes(0, 1_234_067, 256).path(), "tile/0/x001/x234/067");
        assert_eq!(hashes(3, 5, 8).path(), "tile/3/005.p/8");
        assert_eq!(hashes(1, 1000, 256).path(), "tile/1/x001/000");
        let bundle = Tile {
            kind: TileKind::Entries,
            index: 1_234_067,
            width: 8,
        };
        assert_eq!(bundle.path(), "tile/entries/x001/x234/067.p/8");
        for tile in [
            hashes(0, 1_234_067, 256),
            hashes(3, 5, 8),
            bundle,
            hashes(63, 0, 1),
        ] {
            assert_eq!(Tile::parse(&tile.path()), Ok(tile));
        }
    }

    #[test]
    fn other_spellings_are_refused() {
        for path in [
            "tile/0/67",
            "tile/0/x000/067",
            "tile/00/000",
            "tile/64/000",
            "tile/0/000.p/256",
            "tile/0/000.p/0",
            "tile/0/000.p/08",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tiles/0/000",
            "tile/0/000/",
            "tile/entries/000.p/",
            "tile/-1/000",
        ] {
            assert!(Tile::parse(path).is_err(), "{path} was accepted");
        }
    }

    #[test]
    fn a_tree_of_70000_has_the_tiles_the_spec_lists() {
        // c2sp.org/tlog-tiles: 273 full level-0 tiles, a partial one of 112,
        // one full level-1 tile, a partial one of 17, a level-2 tile of 1.
        let tiles = tiles_between(0, 70_000);
        let level = |l: u8| -> Vec<&Tile> {
            tiles
                .iter()
                .filter(|t| t.kind == TileKind::Hashes { level: l })
                .collect()
        };
        assert_eq!(level(0).iter().filter(|t| t.is_full()).count(), 273);
        assert_eq!(level(0).last().map(|t| t.width), Some(112));
        assert_eq!(level(1).len(), 2);
        assert_eq!(level(1)[1].width, 17);
        assert_eq!(level(2), [&hashes(2, 0, 1)]);
        assert!(level(3).is_empty());
        let bundles = tiles.iter().filter(|t| t.kind == TileKind::Entries).count();
        assert_eq!(bundles, 274);
        // 256 entries: a full level-0 tile and a partial level-1 tile of 1.
        assert_eq!(
            tiles_between(0, 256)
                .into_iter()
                .filter(|t| t.kind != TileKind::Entries)
                .collect::<Vec<_>>(),
            [hashes(0, 0, 256), hashes(1, 0, 1)]
        );
    }

    #[test]
    fn growing_adds_only_new_full_tiles_and_the_new_partials() {
        assert!(tiles_between(300, 300).is_empty());
        let grown = tiles_between(300, 600);
        assert_eq!(
            grown.iter().map(Tile::path).collect::<Vec<_>>(),
            [
                "tile/entries/001",
                "tile/entries/002.p/88",
                "tile/0/001",
                "tile/0/002.p/88",
                "tile/1/000.p/2",
            ]
        );
        // Every tile of the bigger tree is either new or already published.
        let mut all = tiles_between(0, 300);
        all.extend(grown);
        for tile in tiles_between(0, 600) {
            assert!(all.contains(&tile), "{tile} missing");
        }
        for tile in tiles_between(0, 600) {
            assert!(tile.needs_size().unwrap() <= 600, "{tile}");
        }
    }
}
