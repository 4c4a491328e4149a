//! Mirroring a log from its C2SP tlog-tiles, on a web server (`trail serve`,
//! or any server of a `trail publish` directory) or in a local directory.
//! Only what the copy lacks is fetched. Its level-0 hash tiles, added to
//! the copy's own tree, must make the root of the source's signed
//! checkpoint before any entry is fetched; each entry must then be the leaf
//! they pinned and verify in its place (link, signature, roles) before it is
//! kept. Memory is 32 bytes per new entry plus one chunk of entries.

use std::path::{Path, PathBuf};

use trail_core::tiles::entry_bundle;
use trail_core::tiles::{TILE_WIDTH, Tile, TileKind};
use trail_core::transparency::{TransparencyError, check_against_log, parse_checkpoint_note};
use trail_core::{Arrival, Error, Log, merkle_leaf_hash};

use super::Server;
use crate::Failure;
use crate::progress::Progress;

/// Where tiles come from.
pub enum Source {
    /// A web server holding the tiles under this base URL.
    Web(Server),
    /// A directory `trail publish` wrote.
    Dir(PathBuf),
}

impl Source {
    /// A URL (`http://`, `https://`) or a directory.
    pub fn new(from: &str, ca_cert: Option<&Path>) -> Result<Source, Failure> {
        if from.starts_with("http://") || from.starts_with("https://") {
            return Ok(Source::Web(Server::new(from, None, ca_cert)?));
        }
        let dir = PathBuf::from(from);
        if !dir.is_dir() {
            return Err(Failure::input(format!(
                "{from}: neither an http(s) URL nor a tile directory"
            )));
        }
        Ok(Source::Dir(dir))
    }

    /// How to name it in messages.
    pub fn name(&self) -> String {
        match self {
            Source::Web(server) => server.url().to_owned(),
            Source::Dir(dir) => dir.display().to_string(),
        }
    }

    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, Failure> {
        match self {
            Source::Web(server) => server.file(path),
            Source::Dir(dir) => match std::fs::read(dir.join(path)) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(Failure::input(format!("{}: {e}", dir.join(path).display()))),
            },
        }
    }

    fn require(&self, path: &str) -> Result<Vec<u8>, Failure> {
        self.fetch(path)?
            .ok_or_else(|| refused(self, format!("it has no {path}")))
    }
}

/// What a pull did.
pub struct Pulled {
    /// Entries the copy held before.
    pub before: u64,
    /// Entries it holds now.
    pub after: u64,
}

fn refused(source: &Source, why: String) -> Failure {
    Failure {
        code: 1,
        broken_pipe: false,
        message: format!("{}: {why}; the verified copy is unchanged", source.name()),
    }
}

/// Brings `log` up to the source's checkpoint. On a fork (a validly signed
/// checkpoint that the copy's entries do not extend, or that does not extend
/// them) it writes both checkpoints to `evidence` and fails. A refused
/// source leaves the copy unchanged; only an entry that the signed tree
/// holds and that fails verification (the log itself is bad) leaves the
/// copy with the verified entries before it, and says so.
pub fn pull(source: &Source, log: &Log, evidence: &Path, quiet: bool) -> Result<Pulled, Failure> {
    let note = source.require("checkpoint")?;
    let (_, checkpoint) = parse_checkpoint_note(&note)
        .map_err(|e| refused(source, format!("its checkpoint: {e}")))?;
    let size = checkpoint.size().0;
    let before = log.tree_size();
    if size == 0 {
        return Err(refused(source, "its checkpoint is of an empty log".into()));
    }
    let fork = |e: Error| match e {
        Error::Transparency(TransparencyError::Fork(fork)) => {
            match write_evidence(log, &note, evidence) {
                Ok(()) => refused(
                    source,
                    format!(
                        "{fork}; both signed checkpoints are in {}",
                        evidence.display()
                    ),
                ),
                Err(f) => f,
            }
        }
        Error::Transparency(t) => refused(source, format!("its checkpoint: {t}")),
        other => {
            let mut failure = Failure::from(other);
            failure.message = format!(
                "{}: {}; the verified copy is unchanged",
                source.name(),
                failure.message
            );
            failure
        }
    };
    if size <= before {
        check_against_log(log, &note).map_err(fork)?;
        if size < before {
            return Err(refused(
                source,
                format!(
                    "its checkpoint went backwards: {size} entries, older than the {before} \
                     this copy verified (consistent with them, so a stale copy of the log)"
                ),
            ));
        }
        return Ok(Pulled {
            before,
            after: before,
        });
    }
    // A copy that already knows its log's operators refuses, before
    // fetching anything, a checkpoint none of the keys that hold the role
    // now has signed. A fresh copy learns its operators from the entries, so
    // for it the signature is checked after them (below, for every copy).
    if before > 0 && check_signed_by_current_operator(log, &note).is_err() {
        return Err(refused(
            source,
            format!(
                "its checkpoint of {size} entries is not signed by a key that holds the operator role in this copy"
            ),
        ));
    }
    let leaves = pinned_leaves(source, log, before, size, checkpoint.root())?;
    let bar = Progress::entries("mirroring", Some(size), quiet);
    bar.set(before);
    // Every leaf is now pinned by the signed root: each entry is checked
    // against its leaf and verified in its place, and kept chunk by chunk,
    // so memory stays bounded and an interrupted mirror resumes.
    let mut chunk: Vec<Vec<u8>> = Vec::new();
    let mut have = before;
    let (first, last) = (before / TILE_WIDTH, (size - 1) / TILE_WIDTH);
    for index in first..=last {
        let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let bundle_tile = Tile {
            kind: TileKind::Entries,
            index,
            width,
        };
        let bundle = source.require(&bundle_tile.path())?;
        let entries = entry_bundle::decode(&bundle, TILE_WIDTH as usize)
            .map_err(|e| refused(source, format!("{bundle_tile}: {e}")))?;
        if entries.len() != usize::from(width) {
            return Err(refused(
                source,
                format!("{bundle_tile} holds {} entries, not {width}", entries.len()),
            ));
        }
        for (k, bytes) in entries.into_iter().enumerate() {
            let seq = index * TILE_WIDTH + k as u64;
            if seq < before {
                continue;
            }
            let leaf = &leaves[(seq - before) as usize];
            if merkle_leaf_hash(&bytes) != *leaf {
                return Err(refused(
                    source,
                    format!(
                        "entry {seq} of {bundle_tile} does not match tile/0/{}",
                        Tile {
                            kind: TileKind::Hashes { level: 0 },
                            index,
                            width
                        }
                        .path()
                        .trim_start_matches("tile/0/")
                    ),
                ));
            }
            chunk.push(bytes);
        }
        if chunk.len() >= CHUNK || index == last {
            let n = chunk.len() as u64;
            log.append_signed(std::mem::take(&mut chunk), Arrival::Copied)
                .map_err(|e| kept_so_far(source, e, have))?;
            have += n;
            bar.set(have);
        }
    }
    drop(bar);
    // The whole check, always: the operator role at the checkpoint's size,
    // the origin and the root, against the entries now held.
    check_against_log(log, &note).map_err(|e| {
        let mut failure = fork(e);
        failure.message = failure.message.replace(
            "; the verified copy is unchanged",
            "; the entries it pinned were verified and kept, its checkpoint is refused",
        );
        failure
    })?;
    log.keep_checkpoint(&note)?;
    Ok(Pulled {
        before,
        after: log.tree_size(),
    })
}

/// Entries appended per batch while mirroring.
const CHUNK: usize = 4096;

/// Whether a checkpoint larger than the copy carries a valid signature of a
/// key holding the operator role in the copy now (its root is checked later,
/// against the entries).
fn check_signed_by_current_operator(log: &Log, note: &[u8]) -> Result<(), Error> {
    let (note, _) = parse_checkpoint_note(note)?;
    let operators = trail_core::transparency::current_operators(log)?;
    let policy = trail_core::transparency::Policy::new(operators, Vec::new(), 0)?;
    trail_core::transparency::verify_checkpoint(&note, &policy)?;
    Ok(())
}

/// Fetches the level-0 hash tiles of the entries the copy lacks and checks
/// that, added to the copy's own tree, they make the checkpoint's root:
/// then every one of them is the leaf the signed tree holds (32 bytes an
/// entry, however many entries the bundles hold). Returns the leaves of
/// seqs `before..size`.
fn pinned_leaves(
    source: &Source,
    log: &Log,
    before: u64,
    size: u64,
    root: &trail_core::merkle::Hash,
) -> Result<Vec<trail_core::merkle::Hash>, Failure> {
    let mut tree = log.tree_extension()?;
    let mut leaves = Vec::new();
    for index in before / TILE_WIDTH..=(size - 1) / TILE_WIDTH {
        let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let tile = Tile {
            kind: TileKind::Hashes { level: 0 },
            index,
            width,
        };
        let hashes = source.require(&tile.path())?;
        if hashes.len() != usize::from(width) * 32 {
            return Err(refused(
                source,
                format!(
                    "{tile} does not hold {width} hashes ({} bytes)",
                    hashes.len()
                ),
            ));
        }
        // Where the tile also covers entries the copy holds, it must hold
        // the copy's own leaves.
        let held = before
            .saturating_sub(index * TILE_WIDTH)
            .min(u64::from(width)) as u16;
        if held > 0 {
            let own = log.tile_bytes(&Tile {
                kind: TileKind::Hashes { level: 0 },
                index,
                width: held,
            })?;
            if own.as_deref() != Some(&hashes[..usize::from(held) * 32]) {
                return Err(refused(
                    source,
                    format!("{tile} differs from the copy's own leaves before seq {before}"),
                ));
            }
        }
        for (k, hash) in hashes.chunks(32).enumerate() {
            if index * TILE_WIDTH + (k as u64) < before {
                continue;
            }
            let leaf = trail_core::merkle::Hash::from_slice(hash)
                .map_err(|e| refused(source, format!("{tile}: {e}")))?;
            tree.push(leaf);
            leaves.push(leaf);
        }
    }
    if tree.root() != *root {
        return Err(refused(
            source,
            format!(
                "its hash tiles do not make the tree its signed checkpoint of {size} entries \
                 commits to, extending this copy (damaged tiles, or a history that does not \
                 extend this copy)"
            ),
        ));
    }
    Ok(leaves)
}

/// An entry refused while mirroring: the entries before it are verified
/// and kept, and the copy is a whole log up to them.
fn kept_so_far(source: &Source, e: Error, have: u64) -> Failure {
    let bad_entry = matches!(e, Error::Verify(_));
    let mut failure = Failure::from(e);
    if bad_entry {
        failure.code = 1;
    }
    failure.message = format!(
        "{}: {}; the copy keeps its first {have} entries, all verified",
        source.name(),
        failure.message
    );
    failure
}

/// Writes the copy's last verified checkpoint and the source's conflicting
/// one to `path`, as evidence of a fork anyone can check.
fn write_evidence(log: &Log, theirs: &[u8], path: &Path) -> Result<(), Failure> {
    let ours = log.latest_checkpoint()?;
    let mut text = String::from(
        "trail fork evidence: two checkpoints signed for this log that no single history satisfies\n\n",
    );
    match ours {
        Some(note) => {
            text.push_str("# the last checkpoint this copy verified\n");
            text.push_str(&String::from_utf8_lossy(&note));
        }
        None => text.push_str(&format!(
            "# this copy kept no checkpoint; its own tree: size {}, root {}\n",
            log.tree_size(),
            log.tree_root(log.tree_size())?.to_base64()
        )),
    }
    text.push_str("\n# the source's checkpoint, which does not agree with it\n");
    text.push_str(&String::from_utf8_lossy(theirs));
    std::fs::write(path, text).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}
