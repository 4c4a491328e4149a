//! Mirroring a log from its C2SP tlog-tiles, on a web server (`trail serve`,
//! or any server of a `trail publish` directory) or in a local directory.
//! Only what the copy lacks is fetched, and all of it is verified before
//! any of it is kept: each entry's link, signature and roles, the entry
//! bundles against the level-0 hash tiles, and the tree they make against
//! the source's signed checkpoint, which must extend the copy's.

use std::path::{Path, PathBuf};

use trail_core::tiles::{TILE_WIDTH, Tile, TileKind};
use trail_core::transparency::{TransparencyError, check_against_log, parse_checkpoint_note};
use trail_core::{Error, Log, encoding, entry_bundle};

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
/// them) it writes both checkpoints to `evidence` and fails; the copy is
/// unchanged whenever it fails.
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
    let bar = Progress::entries("mirroring", Some(size), quiet);
    bar.set(before);
    let mut new = Vec::new();
    let (first, last) = (before / TILE_WIDTH, (size - 1) / TILE_WIDTH);
    for index in first..=last {
        let width = (size - index * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let bundle_tile = Tile {
            kind: TileKind::Entries,
            index,
            width,
        };
        let hash_tile = Tile {
            kind: TileKind::Hashes { level: 0 },
            index,
            width,
        };
        let bundle = source.require(&bundle_tile.path())?;
        let hashes = source.require(&hash_tile.path())?;
        let entries = entry_bundle::decode(&bundle, TILE_WIDTH as usize)
            .map_err(|e| refused(source, format!("{bundle_tile}: {e}")))?;
        if entries.len() != usize::from(width) || hashes.len() != usize::from(width) * 32 {
            return Err(refused(
                source,
                format!("{bundle_tile} or {hash_tile} does not hold {width} entries or hashes"),
            ));
        }
        for (k, (bytes, hash)) in entries.into_iter().zip(hashes.chunks(32)).enumerate() {
            let seq = index * TILE_WIDTH + k as u64;
            if encoding::merkle_leaf_hash(&bytes).as_bytes() != hash {
                return Err(refused(
                    source,
                    format!("entry {seq} of {bundle_tile} does not match {hash_tile}"),
                ));
            }
            if seq >= before {
                new.push(bytes);
            } else if log.entry_bytes(seq, seq).next().transpose()?.as_deref() != Some(&bytes[..]) {
                return Err(refused(
                    source,
                    format!("its entry {seq} differs from the copy's"),
                ));
            }
        }
        bar.set(before + new.len() as u64);
    }
    drop(bar);
    // Past the copy, a tree that is not the checkpoint's proves no fork by
    // itself: the tiles may be damaged as well as the history rewritten.
    log.append_copied_under(new, &note).map_err(|e| match e {
        Error::Transparency(TransparencyError::Fork(_)) => refused(
            source,
            format!(
                "its entries do not make the tree its signed checkpoint of {size} entries \
                 commits to (damaged tiles, or a history that does not extend this copy)"
            ),
        ),
        other => fork(other),
    })?;
    log.keep_checkpoint(&note)?;
    Ok(Pulled {
        before,
        after: log.tree_size(),
    })
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
