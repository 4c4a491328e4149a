//! Moves a log of the first layout (format `trail log v1`: every entry
//! inside sled, under `e:` + seq) to segment files, losing nothing.
//!
//! Until sled's format record says `trail log v2`, the entries in sled stay
//! the truth: a crash anywhere in here leaves a first-layout log, which the
//! next open migrates again from the start.

use std::path::Path;

use super::segments::{self, Segments};
use super::{CHECKPOINT_FILE, CHECKPOINT_KEY, ENTRY_PREFIX, FORMAT_KEY, FORMAT_VALUE, MARKER_FILE};
use super::{MARKER_TEXT, store_error, write_file_durably};
use crate::error::{Error, Result};
use crate::verify::{Problem, VerifyError};

/// Entries copied per write.
const CHUNK: usize = 4096;

pub(super) fn to_segments(dir: &Path, db: &sled::Db, tree: &sled::Tree) -> Result<()> {
    let sled_error = |e| store_error(dir, e);
    let folder = dir.join(segments::DIR);
    match std::fs::remove_dir_all(&folder) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(Error::Io {
                path: folder,
                source: e,
            });
        }
        _ => {}
    }
    let segments = Segments::create(dir)?;
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut next = 0u64;
    for item in tree.scan_prefix(ENTRY_PREFIX) {
        let (key, value) = item.map_err(sled_error)?;
        let seq = key
            .get(ENTRY_PREFIX.len()..)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
            .map(u64::from_be_bytes);
        if seq != Some(next) {
            // A gap would renumber every entry after it: refused, with the
            // log left as it was.
            return Err(Error::Verify(VerifyError {
                seq: next,
                problem: Problem::Missing,
            }));
        }
        chunk.push(value.to_vec());
        next += 1;
        if chunk.len() == CHUNK {
            segments.append(next - CHUNK as u64, &std::mem::take(&mut chunk))?;
        }
    }
    segments.append(next - chunk.len() as u64, &chunk)?;
    segments.sync()?;
    drop(segments);
    // Every entry is durable in the segments: sled's copies go, and with
    // them the format record that made them the truth.
    let mut batch = sled::Batch::default();
    for key in tree.scan_prefix(ENTRY_PREFIX).keys() {
        batch.remove(key.map_err(sled_error)?);
    }
    if let Some(note) = tree.get(CHECKPOINT_KEY).map_err(sled_error)? {
        write_file_durably(&dir.join(CHECKPOINT_FILE), &note)?;
        batch.remove(CHECKPOINT_KEY);
    }
    batch.insert(FORMAT_KEY, FORMAT_VALUE);
    tree.apply_batch(batch).map_err(sled_error)?;
    db.flush().map_err(sled_error)?;
    write_file_durably(&dir.join(MARKER_FILE), MARKER_TEXT.as_bytes())?;
    Ok(())
}
