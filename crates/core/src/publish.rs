//! `trail publish`: the log written as C2SP tlog-tiles into a plain
//! directory that any web server, object store or CDN can serve
//! (docs/FORMAT.md, "Tiles").
//!
//! Incremental: the directory's own `checkpoint` says how far it was
//! published, and only the tiles a bigger tree adds are written. Crash-safe:
//! every file is written beside its place, synced and renamed into it, and
//! the checkpoint that covers new tiles is replaced only after they are all
//! in place, so a reader never sees a checkpoint whose tiles are missing.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, PublishError, Result};
use crate::store::{Log, parent_dir, sync_dir};
use crate::tiles::{Tile, tiles_between};
use crate::transparency::parse_checkpoint_note;

/// Name of the checkpoint file at the top of a tile directory.
pub const CHECKPOINT_FILE: &str = "checkpoint";

/// What a publish wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// The tree size the directory held before.
    pub from_size: u64,
    /// The tree size of the checkpoint now published.
    pub size: u64,
    /// Tiles and entry bundles written.
    pub files: usize,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Publishes the log's latest kept checkpoint (made by `trail checkpoint`)
/// and the tiles and entry bundles of its tree into `out`.
pub fn publish(log: &Log, out: &Path, progress: &mut dyn FnMut(usize, usize)) -> Result<Published> {
    let note = log.latest_checkpoint()?.ok_or(Error::NoCheckpoint)?;
    // The kept checkpoint was checked when it was made; check it again
    // against the log, since it is about to be published as the log's word.
    let checkpoint = crate::transparency::check_against_log(log, &note)?;
    let size = checkpoint.size().0;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let current = out.join(CHECKPOINT_FILE);
    let from_size = match std::fs::read(&current) {
        Ok(bytes) => published_size(log, &current, &bytes)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(&current)(e)),
    };
    if from_size > size {
        return Err(PublishError::AheadOfLog {
            path: current,
            published: from_size,
            size,
        }
        .into());
    }
    let tiles = tiles_between(from_size, size);
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (done, tile) in tiles.iter().enumerate() {
        let path = out.join(tile.path());
        // Full tiles never change; a partial one of this width neither.
        if !path.exists() {
            let bytes = log.tile_bytes(tile)?.ok_or_else(|| missing(tile, size))?;
            write_in_place(&path, &bytes)?;
            let dir = parent_dir(&path).to_owned();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        progress(done + 1, tiles.len());
    }
    for dir in &dirs {
        sync_dir(dir)?;
    }
    write_in_place(&current, &note)?;
    sync_dir(out)?;
    Ok(Published {
        from_size,
        size,
        files: tiles.len(),
    })
}

fn missing(tile: &Tile, size: u64) -> Error {
    PublishError::MissingTile {
        tile: tile.to_string(),
        size,
    }
    .into()
}

/// The size of the checkpoint a tile directory already holds, refusing one
/// of another log (the directory is someone else's) or a fork.
fn published_size(log: &Log, path: &Path, bytes: &[u8]) -> Result<u64> {
    let (_, checkpoint) =
        parse_checkpoint_note(bytes).map_err(|e| PublishError::NotACheckpoint {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    crate::transparency::check_against_log(log, bytes).map_err(|e| PublishError::OtherLog {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(checkpoint.size().0)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it
/// into place, so `path` is either absent or whole.
fn write_in_place(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = parent_dir(path);
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
    temp.write_all(bytes).map_err(io(path))?;
    temp.as_file().sync_all().map_err(io(path))?;
    temp.persist(path).map_err(|e| io(path)(e.error))?;
    Ok(())
}
