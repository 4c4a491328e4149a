//! The portable bundle: a whole log in one file, readable in a single
//! streaming pass without sled (docs/FORMAT.md, "Bundle").
//!
//! Layout: the 8-byte magic `TRAILBDL`, a u16 format version, then records,
//! each a one-byte tag, a u32 length and that many bytes. Entry records hold
//! canonical entry bytes in log order; the end record holds the entry count
//! and the last entry's hash, so a bundle cut short is told apart from a
//! shorter log. An optional checkpoint record, before the first entry, holds
//! the log's latest signed checkpoint and its cosignatures; it is checked
//! against the entries like `trail verify --since`.

use std::fs::File;
use std::io::{BufReader, BufWriter, ErrorKind, Read, Write};
use std::path::Path;

use crate::error::{BundleError, Damage, Error, Result};
use crate::limits::MAX_ENTRY_BYTES;
use crate::merkle::Checkpoint;
use crate::store::{Log, sync_dir};
use crate::transparency::RootTracker;
use crate::types::EntryHash;
use crate::verify::{Prepared, Problem, VerifiedEntry, Verifier, VerifyError};

/// First bytes of every bundle.
pub const MAGIC: &[u8; 8] = b"TRAILBDL";
/// The bundle format version this build writes and reads.
pub const VERSION: u16 = 1;
/// Tag of a record holding one entry.
pub const TAG_ENTRY: u8 = 0x01;
/// Tag of the optional record holding a signed checkpoint note; it comes
/// before the first entry.
pub const TAG_CHECKPOINT: u8 = 0x02;
/// Tag of the final record: u64 entry count, then the last entry's hash.
pub const TAG_END: u8 = 0xff;
/// Largest checkpoint record accepted.
const MAX_CHECKPOINT_BYTES: usize = 64 * 1024;
/// Entries verified per chunk while streaming. Two chunks are in flight at
/// once (one prepared while the other is committed), so memory stays that of
/// one 4096-entry chunk.
const CHUNK: usize = 2048;

/// Writes a bundle record by record.
pub struct BundleWriter<W: Write> {
    out: W,
    count: u64,
    last: EntryHash,
}

impl<W: Write> BundleWriter<W> {
    /// Starts a bundle by writing its header.
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        Ok(BundleWriter {
            out,
            count: 0,
            last: EntryHash::default(),
        })
    }

    fn record(&mut self, tag: u8, payload: &[u8]) -> std::io::Result<()> {
        let len = u32::try_from(payload.len())
            .map_err(|_| std::io::Error::from(ErrorKind::InvalidInput))?;
        self.out.write_all(&[tag])?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(payload)
    }

    /// Adds a signed checkpoint note; only before the first entry.
    pub fn checkpoint(&mut self, note: &[u8]) -> std::io::Result<()> {
        if self.count != 0 || note.len() > MAX_CHECKPOINT_BYTES {
            return Err(std::io::Error::from(ErrorKind::InvalidInput));
        }
        self.record(TAG_CHECKPOINT, note)
    }

    /// Adds the next verified entry.
    pub fn entry(&mut self, entry: &VerifiedEntry) -> std::io::Result<()> {
        self.record(TAG_ENTRY, entry.bytes())?;
        self.count += 1;
        self.last = entry.hash();
        Ok(())
    }

    /// Writes the end record and returns the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        let mut end = self.count.to_le_bytes().to_vec();
        end.extend_from_slice(&self.last.0);
        self.record(TAG_END, &end)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One record read from a bundle.
enum Record {
    Checkpoint(Vec<u8>),
    Entry(Vec<u8>),
    End { count: u64, last: EntryHash },
}

/// Reads a bundle's records, refusing anything malformed.
struct BundleReader<R: Read> {
    input: R,
    entries_read: u64,
}

impl<R: Read> BundleReader<R> {
    fn new(mut input: R) -> Result<Self> {
        let mut header = [0u8; 10];
        // Too short is damage (a bundle cut short); wrong magic or version
        // is another file altogether.
        read_exact_or(&mut input, &mut header, || BundleError::TooShort)?;
        if &header[..8] != MAGIC {
            return Err(Error::NotABundle {
                reason: "not a trail bundle (wrong magic bytes)".into(),
            });
        }
        let version = u16::from_le_bytes([header[8], header[9]]);
        if version != VERSION {
            return Err(Error::NotABundle {
                reason: format!(
                    "bundle format version {version} is not supported (this build reads {VERSION})"
                ),
            });
        }
        Ok(BundleReader {
            input,
            entries_read: 0,
        })
    }

    fn truncated(&self) -> BundleError {
        match self.entries_read {
            0 => BundleError::TruncatedBeforeFirst,
            n => BundleError::TruncatedAfter { last_seq: n - 1 },
        }
    }

    fn next(&mut self) -> Result<Record> {
        let mut head = [0u8; 5];
        let truncated = self.truncated();
        read_exact_or(&mut self.input, &mut head, || truncated.clone())?;
        let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
        match head[0] {
            TAG_ENTRY => {
                if len > MAX_ENTRY_BYTES {
                    return Err(BundleError::EntryTooLong {
                        seq: self.entries_read,
                        len,
                        limit: MAX_ENTRY_BYTES,
                    }
                    .into());
                }
                let mut bytes = vec![0u8; len];
                read_exact_or(&mut self.input, &mut bytes, || truncated.clone())?;
                self.entries_read += 1;
                Ok(Record::Entry(bytes))
            }
            TAG_CHECKPOINT => {
                if self.entries_read != 0 {
                    return Err(BundleError::LateCheckpoint.into());
                }
                if len > MAX_CHECKPOINT_BYTES {
                    return Err(BundleError::CheckpointTooLong {
                        len,
                        limit: MAX_CHECKPOINT_BYTES,
                    }
                    .into());
                }
                let mut bytes = vec![0u8; len];
                read_exact_or(&mut self.input, &mut bytes, || truncated.clone())?;
                Ok(Record::Checkpoint(bytes))
            }
            TAG_END => {
                if len != 40 {
                    return Err(BundleError::EndLength.into());
                }
                let mut bytes = [0u8; 40];
                read_exact_or(&mut self.input, &mut bytes, || truncated.clone())?;
                let mut count = [0u8; 8];
                count.copy_from_slice(&bytes[..8]);
                let mut last = [0u8; 32];
                last.copy_from_slice(&bytes[8..]);
                let mut rest = [0u8; 1];
                if self.input.read(&mut rest).map_err(bundle_io)? != 0 {
                    return Err(BundleError::AfterEnd.into());
                }
                Ok(Record::End {
                    count: u64::from_le_bytes(count),
                    last: EntryHash(last),
                })
            }
            tag => Err(BundleError::UnknownRecord {
                tag,
                entries: self.entries_read,
            }
            .into()),
        }
    }
}

fn bundle_io(e: std::io::Error) -> Error {
    Error::BundleRead(e)
}

fn read_exact_or(
    input: &mut impl Read,
    buf: &mut [u8],
    truncated: impl FnOnce() -> BundleError,
) -> Result<()> {
    input.read_exact(buf).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => Error::Bundle(truncated()),
        _ => bundle_io(e),
    })
}

/// Verifies a bundle from any reader, handing each verified chunk to `sink`.
/// A checkpoint in the bundle must be signed by an operator of the log and
/// be extended by its entries.
pub fn verify_reader(
    input: impl Read,
    sink: impl FnMut(&Verifier, &[VerifiedEntry]) -> Result<()>,
) -> Result<Verifier> {
    verify_reader_with_checkpoint(input, sink).map(|(verifier, _)| verifier)
}

/// What a verified bundle held besides its entries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleCheckpoint {
    /// The signed checkpoint note, as stored.
    pub note: Vec<u8>,
    /// Its checkpoint, checked against the bundle's entries.
    pub checkpoint: Checkpoint,
}

/// Like [`verify_reader`], also returning the bundle's checkpoint, if any.
pub fn verify_reader_with_checkpoint(
    input: impl Read,
    mut sink: impl FnMut(&Verifier, &[VerifiedEntry]) -> Result<()>,
) -> Result<(Verifier, Option<BundleCheckpoint>)> {
    let mut reader = BundleReader::new(input)?;
    let mut verifier = Verifier::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut pending: Option<Prepared> = None;
    let mut checkpoint: Option<(Vec<u8>, RootTracker)> = None;
    let mut take = |verifier: &Verifier,
                    verified: &[VerifiedEntry],
                    checkpoint: &mut Option<(Vec<u8>, RootTracker)>| {
        if let Some((_, tracker)) = checkpoint {
            tracker.push(verified);
        }
        sink(verifier, verified)
    };
    loop {
        let record = match reader.next() {
            Ok(record) => record,
            Err(e) => {
                // An earlier bad entry is the first problem, not the bad record.
                if let Some(done) = pending.take() {
                    let verified = verifier.commit(done)?;
                    take(&verifier, &verified, &mut checkpoint)?;
                }
                let verified = verifier.verify_chunk(std::mem::take(&mut chunk))?;
                take(&verifier, &verified, &mut checkpoint)?;
                return Err(e);
            }
        };
        match record {
            Record::Checkpoint(bytes) => {
                if checkpoint.is_some() {
                    return Err(BundleError::TwoCheckpoints.into());
                }
                let tracker = RootTracker::new(&bytes)?;
                checkpoint = Some((bytes, tracker));
            }
            Record::Entry(bytes) => {
                chunk.push(bytes);
                if chunk.len() == CHUNK {
                    // Pipelined: this chunk is decoded and signature-checked
                    // on every core while the one before it is committed.
                    let full = std::mem::take(&mut chunk);
                    let done = pending.take();
                    let (next, verified) = rayon::join(
                        || Prepared::new(full),
                        || done.map(|p| verifier.commit(p)).transpose(),
                    );
                    if let Some(verified) = verified? {
                        take(&verifier, &verified, &mut checkpoint)?;
                    }
                    pending = Some(next);
                }
            }
            Record::End { count, last } => {
                if let Some(done) = pending.take() {
                    let verified = verifier.commit(done)?;
                    take(&verifier, &verified, &mut checkpoint)?;
                }
                let verified = verifier.verify_chunk(chunk)?;
                take(&verifier, &verified, &mut checkpoint)?;
                if count != verifier.len() || last != verifier.head_hash() {
                    return Err(BundleError::EndMismatch {
                        count,
                        last,
                        held: verifier.len(),
                        head: verifier.head_hash(),
                    }
                    .into());
                }
                if verifier.is_empty() {
                    return Err(BundleError::Empty.into());
                }
                let checkpoint = match checkpoint {
                    None => None,
                    Some((note, tracker)) => Some(BundleCheckpoint {
                        checkpoint: tracker.check(&verifier, &note)?,
                        note,
                    }),
                };
                return Ok((verifier, checkpoint));
            }
        }
    }
}

/// Verifies a bundle file.
pub fn verify_file(path: &Path) -> Result<Verifier> {
    verify_file_with(path, &mut |_| {})
}

/// Verifies a bundle file, reporting the number of entries verified so far
/// to `progress` after each chunk (for a progress bar).
pub fn verify_file_with(path: &Path, progress: &mut dyn FnMut(u64)) -> Result<Verifier> {
    verify_file_with_checkpoint(path, progress).map(|(verifier, _)| verifier)
}

/// [`verify_file_with`], also returning the checkpoint the bundle carries,
/// if any, once its operator signature and tree root are checked against
/// the bundle's entries.
pub fn verify_file_with_checkpoint(
    path: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<(Verifier, Option<BundleCheckpoint>)> {
    verify_reader_with_checkpoint(open(path)?, |v, _| {
        progress(v.len());
        Ok(())
    })
}

/// Verifies a bundle and checks a signed checkpoint against it as
/// [`crate::transparency::check_against_log`] does for a log; returns the
/// bundle's verifier.
pub fn check_against_bundle(bundle: &Path, bytes: &[u8]) -> Result<(Verifier, Checkpoint)> {
    let mut tracker = RootTracker::new(bytes)?;
    let verifier = verify_reader(open(bundle)?, |_, chunk| {
        tracker.push(chunk);
        Ok(())
    })?;
    let checkpoint = tracker.check(&verifier, bytes)?;
    Ok((verifier, checkpoint))
}

/// Opens a bundle file for reading; a failure to read it later names the
/// file (it is an I/O error, exit 2, not a verdict on the bundle).
pub fn open(path: &Path) -> Result<impl Read + use<>> {
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(BufReader::with_capacity(
        1 << 20,
        NamedReader {
            inner: file,
            path: path.to_owned(),
        },
    ))
}

/// A reader whose errors name the file it reads.
struct NamedReader<R> {
    inner: R,
    path: std::path::PathBuf,
}

impl<R: Read> Read for NamedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner
            .read(buf)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))
    }
}

/// Verifies a log and writes it as a bundle; the file appears only when complete.
pub fn export(log: &Log, out: &Path) -> Result<u64> {
    export_with(log, out, &mut |_| {})
}

/// [`export`], reporting the number of entries written so far to `progress`.
pub fn export_with(log: &Log, out: &Path, progress: &mut dyn FnMut(u64)) -> Result<u64> {
    write_whole(out, |file| write_verified_bundle(log, file, out, progress))
}

/// Writes `out` whole or not at all: `write` fills a temporary file beside
/// it, which is synced and renamed into place (and the directory synced)
/// only if `write` succeeds; otherwise it is removed and `out` is untouched.
fn write_whole<T>(out: &Path, write: impl FnOnce(&mut BufWriter<File>) -> Result<T>) -> Result<T> {
    let io = |source| Error::Io {
        path: out.to_owned(),
        source,
    };
    let parent = crate::store::parent_dir(out);
    let mut builder = tempfile::Builder::new();
    builder.prefix(".trail-export-");
    // A bundle is made to be handed on: its mode is what a file the user
    // created would get (0o666 less the umask), not private as temporary
    // files are.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(parent).map_err(io)?;
    let (file, tmp) = tmp.into_parts();
    let mut buffered = BufWriter::with_capacity(1 << 20, file);
    // On an error `tmp` is dropped, which removes the file.
    let value = write(&mut buffered)?;
    let file = buffered.into_inner().map_err(|e| io(e.into_error()))?;
    file.sync_all().map_err(io)?;
    tmp.persist(out).map_err(|e| io(e.error))?;
    sync_parent(out)?;
    Ok(value)
}

/// Verifies the log and streams it as a bundle to `out` (standard output,
/// a pipe), named `name` in errors; returns the number of entries. Unlike
/// [`export_with`], nothing makes the output whole-or-nothing: a reader of
/// a bundle cut short by an error finds it truncated.
pub fn export_to(
    log: &Log,
    out: &mut dyn Write,
    name: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    write_verified_bundle(log, out, name, progress)
}

fn write_verified_bundle(
    log: &Log,
    out: &mut dyn Write,
    name: &Path,
    progress: &mut dyn FnMut(u64),
) -> Result<u64> {
    let io = |source| Error::Io {
        path: name.to_owned(),
        source,
    };
    let mut done = 0u64;
    let mut writer = BundleWriter::new(out).map_err(io)?;
    if let Some(note) = log.latest_checkpoint()? {
        writer.checkpoint(&note).map_err(io)?;
    }
    let verifier = log.verify_with(|chunk| {
        chunk.iter().try_for_each(|e| writer.entry(e).map_err(io))?;
        done += chunk.len() as u64;
        progress(done);
        Ok(())
    })?;
    writer.finish().map_err(io)?.flush().map_err(io)?;
    Ok(verifier.len())
}

/// What [`export_partial`] saved from a damaged log.
#[derive(Debug)]
pub struct PartialExport {
    /// Entries written: the verified prefix, seqs 0 to `entries - 1`.
    pub entries: u64,
    /// Why it stopped before the end of the store, if it did.
    pub stopped: Option<Error>,
}

/// Saves the verified prefix of a log, up to its first bad or missing entry,
/// as a bundle that verifies on its own; for recovering what is intact.
///
/// Entries are verified one at a time so that every good entry before the
/// damage is kept. The log's checkpoint is left out: it may cover entries
/// that are not in the prefix.
pub fn export_partial(log: &Log, out: &Path) -> Result<PartialExport> {
    write_whole(out, |file| write_verified_prefix(log, file, out))
}

fn write_verified_prefix(log: &Log, out: &mut dyn Write, name: &Path) -> Result<PartialExport> {
    let io = |source| Error::Io {
        path: name.to_owned(),
        source,
    };
    let mut writer = BundleWriter::new(out).map_err(io)?;
    let mut verifier = Verifier::new();
    let mut stopped = None;
    for item in log.raw_entries() {
        let step = item.and_then(|(seq, bytes)| {
            if seq != verifier.len() {
                return Err(Error::Verify(VerifyError {
                    seq: verifier.len(),
                    problem: Problem::Missing,
                }));
            }
            Ok(verifier.verify_one(bytes)?)
        });
        match step {
            Ok(entry) => writer.entry(&entry).map_err(io)?,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        }
    }
    // What was read must be on disk before it is published (Log::settle).
    log.settle()?;
    if verifier.is_empty() {
        return Err(stopped.unwrap_or_else(|| Damage::NoGenesis.into()));
    }
    writer.finish().map_err(io)?.flush().map_err(io)?;
    Ok(PartialExport {
        entries: verifier.len(),
        stopped,
    })
}

/// Rebuilds a log directory from a bundle, refusing one that does not verify.
/// The directory appears only once the whole bundle is verified and on disk.
pub fn import(bundle: &Path, dir: &Path) -> Result<u64> {
    import_with(bundle, dir, &mut |_| {})
}

/// [`import`], reporting the number of entries written so far to `progress`.
pub fn import_with(bundle: &Path, dir: &Path, progress: &mut dyn FnMut(u64)) -> Result<u64> {
    if dir.exists()
        && std::fs::read_dir(dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Error::LogExists {
            path: dir.to_owned(),
        });
    }
    let staging = staging_dir(dir);
    // Clear what a killed import left behind, but only if it is that: a
    // directory holding a trail log (or nothing), never someone's files.
    if staging.exists() {
        let ours = staging.join("TRAIL_LOG").is_file()
            || std::fs::read_dir(&staging).is_ok_and(|mut d| d.next().is_none());
        if !ours {
            return Err(Error::LogExists { path: staging });
        }
        let _ = std::fs::remove_dir_all(&staging);
    }
    let result = (|| {
        let log = Log::create_empty(&staging)?;
        let (verifier, checkpoint) = verify_reader_with_checkpoint(open(bundle)?, |v, chunk| {
            log.write_verified(chunk, v.authority())?;
            progress(v.len());
            Ok(())
        })?;
        log.finish_import()?;
        if let Some(checkpoint) = checkpoint {
            log.keep_checkpoint(&checkpoint.note)?;
        }
        // sled syncs its files, not the names in the directory: without
        // this the renamed log could lack its marker after a power cut.
        sync_dir(&staging)?;
        Ok(verifier.len())
    })();
    match result {
        Ok(count) => {
            if dir.exists() {
                std::fs::remove_dir(dir).map_err(|source| Error::Io {
                    path: dir.to_owned(),
                    source,
                })?;
            }
            std::fs::rename(&staging, dir).map_err(|source| Error::Io {
                path: dir.to_owned(),
                source,
            })?;
            sync_parent(dir)?;
            Ok(count)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&staging);
            Err(e)
        }
    }
}

/// What [`extend`] did to a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Extended {
    /// Entries the log held before.
    pub before: u64,
    /// Entries it holds now.
    pub after: u64,
}

/// Appends to `log` the entries of a bundle that extends it: the bundle
/// must verify as a whole, and its first entries must be the log's own, byte
/// for byte; the rest are appended, each checked again against the log.
/// A bundle that does not verify, or whose entries part ways with the log's
/// (another history: a fork), changes nothing.
pub fn extend(bundle: &Path, log: &Log, progress: &mut dyn FnMut(u64)) -> Result<Extended> {
    let before = log.tree_size();
    // First the whole bundle, and its agreement with the log, so that nothing
    // is appended from a bundle that turns out bad further on.
    let (verifier, checkpoint) = verify_reader_with_checkpoint(open(bundle)?, |v, chunk| {
        for entry in chunk.iter().filter(|e| e.seq() < before) {
            let ours = log
                .entry_bytes(entry.seq(), entry.seq())
                .next()
                .transpose()?;
            if ours.as_deref() != Some(entry.bytes()) {
                return Err(BundleError::OtherHistory {
                    path: bundle.to_owned(),
                    seq: entry.seq(),
                }
                .into());
            }
        }
        progress(v.len().min(before));
        Ok(())
    })?;
    if verifier.len() > before {
        verify_reader(open(bundle)?, |v, chunk| {
            let new: Vec<Vec<u8>> = chunk
                .iter()
                .filter(|e| e.seq() >= before)
                .map(|e| e.bytes().to_vec())
                .collect();
            if !new.is_empty() {
                log.append_signed(new, crate::store::Arrival::Copied)?;
            }
            progress(v.len());
            Ok(())
        })?;
    }
    if let Some(checkpoint) = checkpoint {
        let kept = log
            .latest_checkpoint()?
            .and_then(|note| crate::transparency::parse_checkpoint_note(&note).ok())
            .map_or(0, |(_, c)| c.size().0);
        if checkpoint.checkpoint.size().0 > kept {
            log.keep_checkpoint(&checkpoint.note)?;
        }
    }
    Ok(Extended {
        before,
        after: log.tree_size(),
    })
}

/// Flushes the directory holding `path`, making a rename into it durable
/// (an export or import reported done is still there after a power cut).
fn sync_parent(path: &Path) -> Result<()> {
    sync_dir(crate::store::parent_dir(path))
}

fn staging_dir(dir: &Path) -> std::path::PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(".importing");
    dir.with_file_name(name)
}
