//! The record: a log's entries in append-only segment files, its source of
//! truth. Everything sled holds is derived from these files and can be
//! rebuilt from them (`repair.rs`, `catch_up.rs`).
//!
//! `segments/` in the log directory holds one file per [`PER_SEGMENT`]
//! entries, named by the seq of its first entry in ten decimal digits
//! (`0000000000.seg`, `0000065536.seg`, ...). A file is a 24-byte header,
//! `trail segment v1` and its first seq (u64, big-endian), then one frame
//! per entry:
//!
//! ```text
//! length: u16 BE (1..=65535) | the entry's canonical bytes | check: 8 bytes
//! ```
//!
//! where `check` is the first 8 bytes of BLAKE3 over `trail frame v1`, the
//! entry's seq (u64 BE) and its bytes. A frame that runs past the end of
//! the file is torn (a write cut short); one whose check does not match is
//! damaged. The check is not a defence against tampering (the signatures
//! and the hash chain are): it tells a reader where good bytes stop, so
//! damage is located to the entry and never mistaken for a shorter log.
//!
//! `segments/durable` says how many entries are acknowledged: 8 bytes of
//! count (u64 BE) and the first 8 bytes of BLAKE3 over `trail durable v1`
//! and the count. The writer rewrites it after every fdatasync of the
//! segments, so a reader in another process never goes past what is on
//! disk, and the writer never cuts an acknowledged entry as a torn tail.
//! It is not synced itself: written only after the entries it counts are,
//! it can fall behind the disk but never run ahead of it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};

use crate::limits::MAX_ENTRY_BYTES;

/// The folder in the log directory.
pub(crate) const DIR: &str = "segments";
/// Entries per segment file.
pub(crate) const PER_SEGMENT: u64 = 1 << 16;
const MAGIC: &[u8; 16] = b"trail segment v1";
const HEADER_LEN: usize = 24;
const CHECK_LEN: usize = 8;
const DURABLE_FILE: &str = "durable";
const READ_BUFFER: usize = 256 * 1024;

/// Why an entry cannot be read from the segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// Its frame (or the file header before it) is damaged: `what` says how.
    Damaged { seq: u64, what: String },
    /// The segments end before it.
    Missing { seq: u64 },
    /// The file could not be read.
    Io { path: PathBuf, message: String },
}

/// The 8-byte check of the frame holding entry `seq`.
pub(crate) fn frame_check(seq: u64, bytes: &[u8]) -> [u8; CHECK_LEN] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"trail frame v1");
    hasher.update(&seq.to_be_bytes());
    hasher.update(bytes);
    let mut check = [0; CHECK_LEN];
    check.copy_from_slice(&hasher.finalize().as_bytes()[..CHECK_LEN]);
    check
}

/// Appends the frame of entry `seq` to `out`.
pub(crate) fn frame(seq: u64, bytes: &[u8], out: &mut Vec<u8>) {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
    out.extend_from_slice(&frame_check(seq, bytes));
}

fn header(first_seq: u64) -> [u8; HEADER_LEN] {
    let mut h = [0; HEADER_LEN];
    h[..16].copy_from_slice(MAGIC);
    h[16..].copy_from_slice(&first_seq.to_be_bytes());
    h
}

fn durable_record(count: u64) -> [u8; 16] {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"trail durable v1");
    hasher.update(&count.to_be_bytes());
    let mut record = [0; 16];
    record[..8].copy_from_slice(&count.to_be_bytes());
    record[8..].copy_from_slice(&hasher.finalize().as_bytes()[..8]);
    record
}

/// The acknowledged count `segments/durable` records, if it is whole.
pub(crate) fn read_durable(log_dir: &Path) -> Option<u64> {
    let bytes = std::fs::read(log_dir.join(DIR).join(DURABLE_FILE)).ok()?;
    let count = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    (bytes.len() == 16 && bytes[..] == durable_record(count)).then_some(count)
}

pub(crate) fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:010}.seg")
}

fn segment_path(log_dir: &Path, number: u64) -> PathBuf {
    log_dir.join(DIR).join(segment_name(number * PER_SEGMENT))
}

/// Segment `number`'s offset file: where each of its frames starts, a u64
/// (big-endian) per frame. Derived (a scan of the segment rebuilds it) and
/// never trusted: a frame's check covers its seq, so an offset that points
/// anywhere else fails it, and the segment is scanned instead.
fn index_path(log_dir: &Path, number: u64) -> PathBuf {
    log_dir
        .join(DIR)
        .join(format!("{:010}.idx", number * PER_SEGMENT))
}

/// Rewrites segment `number`'s offset file; derived, so not synced, and a
/// failure costs only a scan later.
fn write_index(log_dir: &Path, number: u64, offsets: &[u64]) {
    let bytes: Vec<u8> = offsets.iter().flat_map(|o| o.to_be_bytes()).collect();
    let _ = std::fs::write(index_path(log_dir, number), bytes);
}

/// Segment `number`'s offset file, if it holds at least `needed` offsets.
fn read_index(log_dir: &Path, number: u64, needed: u64) -> Option<Vec<u64>> {
    let bytes = std::fs::read(index_path(log_dir, number)).ok()?;
    if bytes.len() % 8 != 0 || ((bytes.len() / 8) as u64) < needed {
        return None;
    }
    let offsets: Vec<u64> = bytes
        .chunks_exact(8)
        .map(|b| u64::from_be_bytes(b.try_into().unwrap_or_default()))
        .collect();
    // Offsets begin after the header and grow by a whole frame (at least
    // 11 bytes) each time: a file of zeros or one out of order is not used.
    let ordered = offsets.first().is_none_or(|f| *f == HEADER_LEN as u64)
        && offsets.windows(2).all(|w| w[1] >= w[0] + 11);
    ordered.then_some(offsets)
}

/// Whether `log_dir` holds segment files.
pub(crate) fn present(log_dir: &Path) -> bool {
    log_dir.join(DIR).join(segment_name(0)).is_file()
}

/// Whether the first segment file begins with a segment header: what
/// marks a directory as a trail log when its marker file is damaged.
pub(crate) fn first_header_is_whole(log_dir: &Path) -> bool {
    let mut h = [0; HEADER_LEN];
    File::open(log_dir.join(DIR).join(segment_name(0)))
        .and_then(|mut f| f.read_exact(&mut h))
        .is_ok_and(|()| h == header(0))
}

/// Reads one segment's frames in order, checking each.
pub(crate) struct SegmentReader {
    reader: BufReader<File>,
    path: PathBuf,
    number: u64,
    next_seq: u64,
    /// The length field of the last frame read (whole or not).
    last_len: u16,
    /// Bytes read so far: where the next frame starts.
    offset: u64,
}

/// How a scan of one segment ended.
pub(crate) struct Scanned {
    /// Where each good frame starts, in order.
    pub(crate) offsets: Vec<u64>,
    /// Where the last good frame ends.
    pub(crate) end: u64,
    /// Why the scan stopped before the end of the file, if it did:
    /// `Some(true)` for a torn frame (past the end of the file),
    /// `Some(false)` for a damaged one.
    pub(crate) stopped: Option<(bool, FrameError)>,
    /// Whether the bad frame the scan stopped at, if any, is the last thing
    /// in the file: torn, or damaged with nothing after it. Only such a
    /// tail can be a write cut short.
    pub(crate) at_tail: bool,
}

impl SegmentReader {
    /// Opens segment `number`, checking its header.
    pub(crate) fn open(log_dir: &Path, number: u64) -> Result<SegmentReader, FrameError> {
        let path = segment_path(log_dir, number);
        let first_seq = number * PER_SEGMENT;
        let file = File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => FrameError::Missing { seq: first_seq },
            _ => FrameError::Io {
                path: path.clone(),
                message: e.to_string(),
            },
        })?;
        let mut reader = BufReader::with_capacity(READ_BUFFER, file);
        let mut h = [0; HEADER_LEN];
        match read_full(&mut reader, &mut h) {
            Ok(HEADER_LEN) if h == header(first_seq) => {}
            Ok(_) => {
                return Err(FrameError::Damaged {
                    seq: first_seq,
                    what: format!("the header of {} is damaged", segment_name(first_seq)),
                });
            }
            Err(e) => {
                return Err(FrameError::Io {
                    path,
                    message: e.to_string(),
                });
            }
        }
        Ok(SegmentReader {
            reader,
            path,
            number,
            next_seq: first_seq,
            last_len: 0,
            offset: HEADER_LEN as u64,
        })
    }

    /// The next frame's entry bytes; `Ok(None)` at a clean end of the file;
    /// an error with `true` for a torn frame, `false` for a damaged one.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Vec<u8>>, (bool, FrameError)> {
        let seq = self.next_seq;
        let damaged = |what: &str| {
            (
                false,
                FrameError::Damaged {
                    seq,
                    what: what.to_owned(),
                },
            )
        };
        let torn = || {
            (
                true,
                FrameError::Damaged {
                    seq,
                    what: "its frame is cut short (a torn write)".into(),
                },
            )
        };
        let io_error = |e: io::Error, path: &Path| {
            (
                false,
                FrameError::Io {
                    path: path.to_owned(),
                    message: e.to_string(),
                },
            )
        };
        let mut len = [0u8; 2];
        match read_full(&mut self.reader, &mut len) {
            Ok(0) => return Ok(None),
            Ok(2) => {}
            Ok(_) => return Err(torn()),
            Err(e) => return Err(io_error(e, &self.path)),
        }
        self.last_len = u16::from_be_bytes(len);
        let len = usize::from(self.last_len);
        if len == 0 {
            return Err(damaged("its frame's length is zero"));
        }
        let mut body = vec![0; len + CHECK_LEN];
        match read_full(&mut self.reader, &mut body) {
            Ok(n) if n == body.len() => {}
            Ok(_) => return Err(torn()),
            Err(e) => return Err(io_error(e, &self.path)),
        }
        let check = body.split_off(len);
        if check[..] != frame_check(seq, &body) {
            return Err(damaged(
                "its frame's check does not match its bytes (they were changed on disk)",
            ));
        }
        self.next_seq += 1;
        self.offset += (2 + len + CHECK_LEN) as u64;
        Ok(Some(body))
    }

    /// Moves to the frame of `seq`, which starts at `offset`.
    fn seek(&mut self, seq: u64, offset: u64) -> io::Result<()> {
        use std::io::Seek;
        self.reader.seek(io::SeekFrom::Start(offset))?;
        self.next_seq = seq;
        self.offset = offset;
        Ok(())
    }

    /// Reads the whole segment (at most `limit` frames), noting where each
    /// good frame starts and why it stopped.
    pub(crate) fn scan(mut self, limit: u64) -> Scanned {
        let mut offsets = Vec::new();
        let mut stopped = None;
        let mut declared_end = None;
        while (offsets.len() as u64) < limit {
            let at = self.offset;
            match self.next_frame() {
                Ok(Some(_)) => offsets.push(at),
                Ok(None) => break,
                Err(e) => {
                    declared_end = Some(at + 2 + u64::from(self.last_len) + CHECK_LEN as u64);
                    stopped = Some(e);
                    break;
                }
            }
        }
        let file_len = self
            .reader
            .get_ref()
            .metadata()
            .map_or(u64::MAX, |m| m.len());
        let at_tail = match &stopped {
            Some((true, _)) => true,
            // Nothing after the bad frame, or nothing but zeros (a write cut
            // short on a filesystem that extended the file first).
            Some((false, _)) => declared_end.is_some_and(|end| {
                end >= file_len || zeros_from(self.reader.get_ref(), end, file_len)
            }),
            None => false,
        };
        Scanned {
            offsets,
            end: self.offset,
            stopped,
            at_tail,
        }
    }
}

/// Whether the bytes of `file` from `from` to `to` are all zeros.
fn zeros_from(file: &File, from: u64, to: u64) -> bool {
    let mut buf = vec![0u8; 64 * 1024];
    let mut at = from;
    while at < to {
        let n = usize::try_from((to - at).min(buf.len() as u64)).unwrap_or(buf.len());
        if file.read_exact_at(&mut buf[..n], at).is_err() || buf[..n].iter().any(|b| *b != 0) {
            return false;
        }
        at += n as u64;
    }
    true
}

/// Reads until `buf` is full or the file ends; how many bytes it read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The writer's end of the last segment.
struct Tail {
    file: File,
    number: u64,
    /// Bytes of good frames in `file`.
    end: u64,
    /// Frames in `file`, and its offset file (`None` once a write to it
    /// failed: it is then left short, and rebuilt by a scan when needed).
    frames: u64,
    index: Option<File>,
    /// Files written since the last sync, other than `file` (a segment just
    /// filled), and whether the folder gained a name since.
    unsynced: Vec<File>,
    folder_unsynced: bool,
    durable: File,
}

/// The segments of an open log.
pub(crate) struct Segments {
    log_dir: PathBuf,
    /// Entries this handle reads: all of them for the writer, the
    /// acknowledged ones for a reader beside a writer.
    len: AtomicU64,
    /// Where the good frames of each segment start, read when first needed
    /// (and kept up to date by the writer for its last segment).
    offsets: RwLock<HashMap<u64, Vec<u64>>>,
    /// The writer's last segment; `None` for a reader.
    tail: Option<Mutex<Tail>>,
    /// The first entry found damaged or missing when the segments were
    /// opened: a log may not be appended to past it.
    damaged: Option<FrameError>,
    /// Whether this handle rewrites an offset file it found wrong: not a
    /// reader beside a writer, which writes them.
    heals_indexes: bool,
}

/// How segments are opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    /// The one writer: cuts a torn, unacknowledged tail and appends.
    Write {
        /// Entries the derived data says are there, when the durable record
        /// is unreadable: none of them is cut as a torn tail.
        known: u64,
    },
    /// A reader while no writer is running: every good frame.
    ReadAll {
        /// Entries the derived data says are there: when the durable record
        /// counts at least as many, the last segment need not be scanned.
        known: u64,
    },
    /// A reader beside a running writer: the acknowledged entries only.
    ReadDurable,
}

fn io_error(path: &Path) -> impl Fn(io::Error) -> crate::error::Error + '_ {
    move |source| crate::error::Error::Io {
        path: path.to_owned(),
        source,
    }
}

impl Segments {
    /// Creates the folder and an empty first segment.
    pub(crate) fn create(log_dir: &Path) -> crate::error::Result<Segments> {
        let dir = log_dir.join(DIR);
        std::fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        let path = segment_path(log_dir, 0);
        let mut file = File::create_new(&path).map_err(io_error(&path))?;
        file.write_all(&header(0)).map_err(io_error(&path))?;
        file.sync_all().map_err(io_error(&path))?;
        super::sync_dir(&dir)?;
        // The folder's own name: a migration relies on it before it lets go
        // of sled's copies.
        super::sync_dir(log_dir)?;
        Segments::open(log_dir, Access::Write { known: 0 })
    }

    /// Opens the segments; a writer cuts a torn tail past the acknowledged
    /// entries. Damage is not an error here: it is kept, and reading the
    /// damaged entry reports it, so that everything before it stays readable.
    pub(crate) fn open(log_dir: &Path, access: Access) -> crate::error::Result<Segments> {
        let dir = log_dir.join(DIR);
        let mut numbers = Vec::new();
        for item in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let name = item.map_err(io_error(&dir))?.file_name();
            let name = name.to_string_lossy();
            if let Some(first) = name
                .strip_suffix(".seg")
                .and_then(|n| n.parse::<u64>().ok())
                && first % PER_SEGMENT == 0
            {
                numbers.push(first / PER_SEGMENT);
            }
        }
        numbers.sort_unstable();
        let mut durable = read_durable(log_dir);
        if access == Access::ReadDurable {
            // Beside a writer the record may be caught mid-rewrite, or not
            // yet written by a writer just starting: read again before
            // falling back to every good frame.
            for _ in 0..10 {
                if durable.is_some() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(5));
                durable = read_durable(log_dir);
            }
        }
        let mut damaged = None;
        // Every segment but the last must be full; a gap in the names is
        // entries missing.
        let last = numbers.last().copied().unwrap_or(0);
        if let Some(gap) = (0..=last)
            .zip(numbers.iter())
            .find(|(want, have)| want != *have)
        {
            damaged = Some(FrameError::Missing {
                seq: gap.0 * PER_SEGMENT,
            });
        }
        // A reader need not scan the last segment when the durable record
        // counts everything the derived data knows of: it reads no further.
        if let Some(count) = durable
            && damaged.is_none()
            && last == count.saturating_sub(1) / PER_SEGMENT
            && match access {
                Access::ReadDurable => true,
                Access::ReadAll { known } => known <= count,
                Access::Write { .. } => false,
            }
        {
            return Ok(Segments {
                log_dir: log_dir.to_owned(),
                len: AtomicU64::new(count),
                offsets: RwLock::new(HashMap::new()),
                tail: None,
                damaged: None,
                heals_indexes: matches!(access, Access::ReadAll { .. }),
            });
        }
        // The writer counts every segment before the last as full: those
        // that may hold frames the last writer did not sync are read
        // through first (a crash can keep a new file's name and lose the
        // end of the one before it).
        if let Access::Write { known } = access
            && damaged.is_none()
        {
            for number in durable.unwrap_or(known) / PER_SEGMENT..last {
                let short = match SegmentReader::open(log_dir, number) {
                    Ok(reader) => {
                        let scanned = reader.scan(PER_SEGMENT);
                        let frames = scanned.offsets.len() as u64;
                        match scanned.stopped {
                            Some((_, e)) => Some(e),
                            None if frames < PER_SEGMENT => Some(FrameError::Missing {
                                seq: number * PER_SEGMENT + frames,
                            }),
                            None => None,
                        }
                    }
                    Err(e) => Some(e),
                };
                if short.is_some() {
                    damaged = short;
                    break;
                }
            }
        }
        let mut header_damaged = false;
        let scanned = match SegmentReader::open(log_dir, last) {
            Ok(reader) => reader.scan(PER_SEGMENT),
            Err(e) => {
                header_damaged = matches!(e, FrameError::Damaged { .. });
                Scanned {
                    offsets: Vec::new(),
                    end: 0,
                    stopped: Some((false, e)),
                    // A file begun (header first) when a crash came.
                    at_tail: true,
                }
            }
        };
        let good = last * PER_SEGMENT + scanned.offsets.len() as u64;
        let mut len = good;
        let mut cut = None;
        // Entries acknowledged: the durable record's count, or, when it is
        // unreadable, what the writer's sled derived.
        let acknowledged = match access {
            Access::Write { known } => durable.unwrap_or(known),
            _ => durable.unwrap_or(0),
        };
        if let Some((_, error)) = &scanned.stopped {
            // Only the writer cuts, only past every acknowledged entry, and
            // never what it could not read.
            let cuttable = matches!(access, Access::Write { .. })
                && damaged.is_none()
                && scanned.at_tail
                && good >= acknowledged
                && !matches!(error, FrameError::Io { .. });
            if cuttable {
                cut = Some(scanned.end);
            } else if damaged.is_none() {
                damaged = Some(error.clone());
                len = len.max(acknowledged);
            }
        }
        // Acknowledged entries that the segments no longer hold.
        if acknowledged > len && damaged.is_none() {
            damaged = Some(FrameError::Missing { seq: len });
            len = acknowledged;
        }
        if access == Access::ReadDurable
            && let Some(d) = durable
        {
            len = len.min(d);
        }
        let mut offsets = HashMap::new();
        let last_frames = scanned.offsets.len() as u64;
        if matches!(access, Access::Write { .. }) {
            // The last segment's offset file, made to match it (it may lag
            // after a crash, or run past a cut).
            write_index(log_dir, last, &scanned.offsets);
        }
        offsets.insert(last, scanned.offsets);
        let tail = match access {
            Access::Write { .. } => {
                let path = segment_path(log_dir, last);
                let file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(&path)
                    .map_err(io_error(&path))?;
                if let Some(end) = cut {
                    file.set_len(end).map_err(io_error(&path))?;
                    if header_damaged {
                        // A segment whose header write was torn: begun again.
                        file.write_all_at(&header(last * PER_SEGMENT), 0)
                            .map_err(io_error(&path))?;
                    }
                    file.sync_data().map_err(io_error(&path))?;
                }
                let durable_path = dir.join(DURABLE_FILE);
                let durable_file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&durable_path)
                    .map_err(io_error(&durable_path))?;
                if damaged.is_none() {
                    // Frames the last writer wrote but may not have synced
                    // are counted now: made durable first.
                    let first = durable.unwrap_or(0).min(len) / PER_SEGMENT;
                    for number in first..last {
                        let path = segment_path(log_dir, number);
                        File::open(&path)
                            .and_then(|f| f.sync_data())
                            .map_err(io_error(&path))?;
                    }
                    file.sync_data().map_err(io_error(&path))?;
                    super::sync_dir(&dir)?;
                    durable_file
                        .write_all_at(&durable_record(len), 0)
                        .and_then(|()| durable_file.set_len(16))
                        .map_err(io_error(&durable_path))?;
                }
                let index_path = index_path(log_dir, last);
                let index = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(&index_path)
                    .map_err(io_error(&index_path))?;
                Some(Mutex::new(Tail {
                    file,
                    number: last,
                    end: scanned.end.max(HEADER_LEN as u64),
                    frames: last_frames,
                    index: Some(index),
                    unsynced: Vec::new(),
                    folder_unsynced: false,
                    durable: durable_file,
                }))
            }
            _ => None,
        };
        Ok(Segments {
            log_dir: log_dir.to_owned(),
            len: AtomicU64::new(len),
            offsets: RwLock::new(offsets),
            tail,
            damaged,
            heals_indexes: !matches!(access, Access::ReadDurable),
        })
    }

    /// Entries this handle reads.
    pub(crate) fn len(&self) -> u64 {
        self.len.load(Ordering::Acquire)
    }

    /// The first damaged or missing entry found on open.
    pub(crate) fn damaged(&self) -> Option<&FrameError> {
        self.damaged.as_ref()
    }

    fn offsets_of(&self, number: u64) -> Result<(), FrameError> {
        if self
            .offsets
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(&number)
        {
            return Ok(());
        }
        // Offsets this handle needs from the file: all of a full segment,
        // up to its length for the last.
        let needed = self
            .len()
            .saturating_sub(number * PER_SEGMENT)
            .min(PER_SEGMENT);
        let offsets = match read_index(&self.log_dir, number, needed) {
            Some(offsets) => offsets,
            None => self.scan_offsets(number)?,
        };
        self.offsets
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(number, offsets);
        Ok(())
    }

    /// Segment `number`'s offsets, found by reading it through; its offset
    /// file is rewritten from them where this handle may.
    fn scan_offsets(&self, number: u64) -> Result<Vec<u64>, FrameError> {
        let scanned = SegmentReader::open(&self.log_dir, number)?.scan(PER_SEGMENT);
        let full = scanned.offsets.len() as u64 == PER_SEGMENT;
        if self.heals_indexes && (full || self.tail.is_none()) && scanned.stopped.is_none() {
            write_index(&self.log_dir, number, &scanned.offsets);
        }
        Ok(scanned.offsets)
    }

    /// Entry `seq`'s bytes, its frame checked.
    pub(crate) fn get(&self, seq: u64) -> Result<Vec<u8>, FrameError> {
        match self.get_at_known_offset(seq) {
            Err(FrameError::Damaged { .. } | FrameError::Io { .. }) => {
                // The offset may be what is wrong (a damaged offset file):
                // found again by a scan before the frame is blamed.
                let number = seq / PER_SEGMENT;
                let offsets = self.scan_offsets(number)?;
                let mut known = self.offsets.write().unwrap_or_else(|p| p.into_inner());
                // Not shorter than what the writer has added meanwhile.
                if known.get(&number).is_none_or(|k| k.len() <= offsets.len()) {
                    known.insert(number, offsets);
                }
                drop(known);
                self.get_at_known_offset(seq)
            }
            other => other,
        }
    }

    fn get_at_known_offset(&self, seq: u64) -> Result<Vec<u8>, FrameError> {
        if seq >= self.len() {
            return Err(FrameError::Missing { seq });
        }
        let number = seq / PER_SEGMENT;
        self.offsets_of(number)?;
        let offset = {
            let offsets = self.offsets.read().unwrap_or_else(|p| p.into_inner());
            let index = usize::try_from(seq % PER_SEGMENT).unwrap_or(usize::MAX);
            offsets.get(&number).and_then(|o| o.get(index)).copied()
        };
        let Some(offset) = offset else {
            // The scan stopped before it: read from the segment's start to
            // say why.
            return match self.read(seq, seq).next() {
                Some(Ok((_, bytes))) => Ok(bytes),
                Some(Err(e)) => Err(e),
                None => Err(FrameError::Missing { seq }),
            };
        };
        let path = segment_path(&self.log_dir, number);
        let io = |e: io::Error| FrameError::Io {
            path: path.clone(),
            message: e.to_string(),
        };
        let file = File::open(&path).map_err(io)?;
        let mut len = [0; 2];
        file.read_exact_at(&mut len, offset).map_err(io)?;
        let len = usize::from(u16::from_be_bytes(len));
        let mut body = vec![0; len + CHECK_LEN];
        file.read_exact_at(&mut body, offset + 2).map_err(io)?;
        let check = body.split_off(len);
        if len == 0 || check[..] != frame_check(seq, &body) {
            return Err(FrameError::Damaged {
                seq,
                what: "its frame's check does not match its bytes (they were changed on disk)"
                    .into(),
            });
        }
        Ok(body)
    }

    /// Entries `from..=to` (clamped to the log) in order, each frame
    /// checked; the first error ends the run.
    pub(crate) fn read(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<(u64, Vec<u8>), FrameError>> + '_ {
        let end = to.saturating_add(1).min(self.len());
        let mut seq = from;
        let mut reader: Option<SegmentReader> = None;
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed || seq >= end {
                return None;
            }
            let item = self.next_frame(&mut reader, seq).map(|bytes| (seq, bytes));
            match item {
                Ok(_) => seq += 1,
                Err(_) => failed = true,
            }
            Some(item)
        })
    }

    /// Entry `seq` from `reader`, opened (at the right frame) when it reads
    /// another segment or none.
    fn next_frame(
        &self,
        reader: &mut Option<SegmentReader>,
        seq: u64,
    ) -> Result<Vec<u8>, FrameError> {
        let number = seq / PER_SEGMENT;
        let mut seeked = false;
        let current = match reader {
            Some(r) if r.next_seq == seq && r.number == number => r,
            _ => {
                let mut r = SegmentReader::open(&self.log_dir, number)?;
                if !seq.is_multiple_of(PER_SEGMENT) {
                    self.offsets_of(number)?;
                    let offset = self
                        .offsets
                        .read()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&number)
                        .and_then(|o| o.get(usize::try_from(seq % PER_SEGMENT).ok()?).copied());
                    if let Some(offset) = offset {
                        r.seek(seq, offset).map_err(|e| FrameError::Io {
                            path: r.path.clone(),
                            message: e.to_string(),
                        })?;
                        seeked = true;
                    }
                }
                reader.insert(r)
            }
        };
        loop {
            match current.next_frame() {
                Ok(Some(bytes)) if current.next_seq == seq + 1 => return Ok(bytes),
                // The offset may be what is wrong (a damaged offset file):
                // read again from the segment's start before blaming the frame.
                Ok(None) | Err(_) if seeked => {
                    seeked = false;
                    *current = SegmentReader::open(&self.log_dir, number)?;
                }
                // Frames before `seq` when its offset is unknown (the scan
                // stopped short of it): read past them to say what stops it.
                Ok(Some(_)) => {}
                Ok(None) => {
                    return Err(FrameError::Missing {
                        seq: current.next_seq,
                    });
                }
                Err((_, e)) => return Err(e),
            }
        }
    }

    /// Writes the frames of `entries` (seqs from `first_seq`) after the
    /// last one, without syncing. All or nothing: a failure cuts every file
    /// back to where it ended (a file begun for the batch is removed), and
    /// the frames are readable only once all of them are written.
    pub(crate) fn append(&self, first_seq: u64, entries: &[Vec<u8>]) -> crate::error::Result<()> {
        let Some(tail) = &self.tail else {
            return Err(crate::error::Error::Store {
                path: self.log_dir.clone(),
                message: "this handle only reads the log".into(),
            });
        };
        let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
        debug_assert_eq!(first_seq, self.len());
        // Each file's frames, and where each frame starts in it.
        let mut groups: Vec<(u64, Vec<u8>, Vec<u64>)> = Vec::new();
        for (seq, bytes) in (first_seq..).zip(entries) {
            if bytes.is_empty() || bytes.len() > MAX_ENTRY_BYTES {
                return Err(crate::error::Error::EntryTooLarge {
                    size: bytes.len(),
                    limit: MAX_ENTRY_BYTES,
                });
            }
            let number = seq / PER_SEGMENT;
            if groups.last().is_none_or(|g| g.0 != number) {
                let start = if number == tail.number {
                    tail.end
                } else {
                    HEADER_LEN as u64
                };
                groups.push((number, Vec::new(), vec![start]));
            } else if let Some(g) = groups.last_mut() {
                let next = g.2[0] + g.1.len() as u64;
                g.2.push(next);
            }
            if let Some(g) = groups.last_mut() {
                frame(seq, bytes, &mut g.1);
            }
        }
        let before = (tail.number, tail.end, tail.frames, tail.unsynced.len());
        if let Err(e) = self.write_groups(&mut tail, &groups) {
            self.roll_back(&mut tail, before);
            return Err(e);
        }
        let mut offsets = self.offsets.write().unwrap_or_else(|p| p.into_inner());
        let mut added = 0;
        for (number, _, starts) in groups {
            added += starts.len() as u64;
            offsets.entry(number).or_default().extend(starts);
        }
        self.len.fetch_add(added, Ordering::AcqRel);
        Ok(())
    }

    fn write_groups(
        &self,
        tail: &mut Tail,
        groups: &[(u64, Vec<u8>, Vec<u64>)],
    ) -> crate::error::Result<()> {
        for (number, buffer, starts) in groups {
            if *number != tail.number {
                self.roll(tail, *number)?;
            }
            let path = segment_path(&self.log_dir, tail.number);
            tail.file
                .write_all_at(buffer, tail.end)
                .map_err(io_error(&path))?;
            tail.end += buffer.len() as u64;
            // The offset file follows; a failure there costs a scan later.
            let offsets: Vec<u8> = starts.iter().flat_map(|o| o.to_be_bytes()).collect();
            let at = tail.frames * 8;
            if let Some(index) = &tail.index
                && index.write_all_at(&offsets, at).is_err()
            {
                let _ = index.set_len(0);
                tail.index = None;
            }
            tail.frames += starts.len() as u64;
        }
        Ok(())
    }

    /// Undoes a failed [`Segments::append`]: the files begun for it are
    /// removed and the one it began in is cut back to where it ended.
    fn roll_back(&self, tail: &mut Tail, (number, end, frames, unsynced): (u64, u64, u64, usize)) {
        while tail.number != number {
            let _ = std::fs::remove_file(segment_path(&self.log_dir, tail.number));
            let _ = std::fs::remove_file(index_path(&self.log_dir, tail.number));
            match tail.unsynced.pop() {
                Some(previous) if tail.unsynced.len() >= unsynced => {
                    tail.file = previous;
                    tail.number -= 1;
                }
                _ => break,
            }
        }
        let _ = tail.file.set_len(end);
        tail.end = end;
        // Made durable, so that no sync after a power cut brings back
        // frames the caller was told failed.
        let _ = tail.file.sync_data();
        let _ = super::sync_dir(&self.log_dir.join(DIR));
        tail.index = std::fs::OpenOptions::new()
            .write(true)
            .open(index_path(&self.log_dir, number))
            .and_then(|index| index.set_len(frames * 8).map(|()| index))
            .ok();
        tail.frames = frames;
    }

    fn roll(&self, tail: &mut Tail, number: u64) -> crate::error::Result<()> {
        let path = segment_path(&self.log_dir, number);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .map_err(io_error(&path))?;
        let begun = file.write_all(&header(number * PER_SEGMENT));
        let full = std::mem::replace(&mut tail.file, file);
        tail.unsynced.push(full);
        tail.folder_unsynced = true;
        tail.number = number;
        tail.end = HEADER_LEN as u64;
        tail.frames = 0;
        tail.index = File::create(index_path(&self.log_dir, number)).ok();
        begun.map_err(io_error(&path))
    }

    /// Makes every frame written so far durable (one fdatasync per file
    /// written since the last call), then records the count as acknowledged.
    pub(crate) fn sync(&self) -> crate::error::Result<()> {
        let Some(tail) = &self.tail else {
            return Ok(());
        };
        let (files, folder, durable, len) = {
            let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
            let mut files = std::mem::take(&mut tail.unsynced);
            let clone = |f: &File| f.try_clone().map_err(io_error(&self.log_dir));
            files.push(clone(&tail.file)?);
            let folder = std::mem::take(&mut tail.folder_unsynced);
            (files, folder, clone(&tail.durable)?, self.len())
        };
        for file in &files {
            file.sync_data().map_err(io_error(&self.log_dir))?;
        }
        if folder {
            super::sync_dir(&self.log_dir.join(DIR))?;
        }
        let path = self.log_dir.join(DIR).join(DURABLE_FILE);
        durable
            .write_all_at(&durable_record(len), 0)
            .map_err(io_error(&path))?;
        Ok(())
    }

    /// Makes the durable record itself durable: on close.
    pub(crate) fn sync_durable_record(&self) {
        if let Some(tail) = &self.tail {
            let _ = tail
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .durable
                .sync_data();
        }
    }
}

#[cfg(test)]
pub(crate) mod doctor {
    //! Tests change stored entries through here, as an attacker with write
    //! access to the files would: the frame is rewritten whole, with a
    //! matching check, so that what is caught is the entry, not the frame.

    use super::*;

    /// Rewrites entry `seq` of the log in `log_dir` as `edit` leaves it;
    /// `None` removes it and everything after it.
    pub(crate) fn rewrite(log_dir: &Path, seq: u64, edit: impl FnOnce(Vec<u8>) -> Option<Vec<u8>>) {
        let number = seq / PER_SEGMENT;
        let first = number * PER_SEGMENT;
        let mut reader = SegmentReader::open(log_dir, number).unwrap();
        let mut frames = Vec::new();
        while let Some(bytes) = reader.next_frame().unwrap() {
            frames.push(bytes);
        }
        let at = usize::try_from(seq - first).unwrap();
        let edited = edit(frames[at].clone());
        let mut out = header(first).to_vec();
        for (s, bytes) in (first..).zip(&frames) {
            if s == seq {
                match &edited {
                    Some(b) => frame(s, b, &mut out),
                    None => break,
                }
            } else {
                frame(s, bytes, &mut out);
            }
        }
        std::fs::write(segment_path(log_dir, number), out).unwrap();
        if edited.is_none() {
            std::fs::write(log_dir.join(DIR).join(DURABLE_FILE), durable_record(seq)).unwrap();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes of docs/FORMAT.md's "Segment files", computed independently
    /// (Python's `blake3` package): a frame holding the 5 bytes `trail` as
    /// entry 7, the durable record of 100 entries, and the header of the
    /// second segment file.
    #[test]
    fn frames_headers_and_the_durable_record_are_the_specified_bytes() {
        let mut framed = Vec::new();
        frame(7, b"trail", &mut framed);
        assert_eq!(hex::encode(framed), "0005747261696cbd51d02ea5af17c8");
        assert_eq!(
            hex::encode(durable_record(100)),
            "000000000000006438285e4b946b3872"
        );
        assert_eq!(
            hex::encode(header(PER_SEGMENT)),
            "747261696c207365676d656e742076310000000000010000"
        );
        assert_eq!(segment_name(PER_SEGMENT), "0000065536.seg");
    }

    fn log_dir_with(frames: &[&[u8]]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let segments = Segments::create(dir.path()).unwrap();
        let entries: Vec<Vec<u8>> = frames.iter().map(|f| f.to_vec()).collect();
        segments.append(0, &entries).unwrap();
        segments.sync().unwrap();
        dir
    }

    #[test]
    fn the_writer_cuts_a_torn_unacknowledged_tail_and_readers_never_cut() {
        let dir = log_dir_with(&[b"one", b"two"]);
        let path = segment_path(dir.path(), 0);
        // A third frame cut short, never acknowledged (the record says 2).
        let mut torn = Vec::new();
        frame(2, b"three", &mut torn);
        let whole = std::fs::read(&path).unwrap();
        let mut bytes = whole.clone();
        bytes.extend_from_slice(&torn[..torn.len() - 3]);
        std::fs::write(&path, &bytes).unwrap();
        let reader = Segments::open(dir.path(), Access::ReadAll { known: u64::MAX }).unwrap();
        assert_eq!(reader.len(), 2);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "a reader cuts nothing"
        );
        let writer = Segments::open(dir.path(), Access::Write { known: 0 }).unwrap();
        assert_eq!((writer.len(), writer.damaged()), (2, None));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            whole,
            "the torn frame is cut"
        );
        assert_eq!(writer.get(1).unwrap(), b"two");
    }

    #[test]
    fn a_damaged_acknowledged_frame_is_named_never_cut() {
        let dir = log_dir_with(&[b"one", b"two", b"three"]);
        let path = segment_path(dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let writer = Segments::open(dir.path(), Access::Write { known: 0 }).unwrap();
        assert!(
            matches!(writer.damaged(), Some(FrameError::Damaged { seq: 2, .. })),
            "{:?}",
            writer.damaged()
        );
        assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing is cut");
        let read: Vec<_> = writer.read(0, u64::MAX).collect();
        assert_eq!(read.len(), 3);
        assert_eq!(read[1], Ok((1, b"two".to_vec())));
        assert!(matches!(read[2], Err(FrameError::Damaged { seq: 2, .. })));
    }

    #[test]
    fn a_reader_beside_the_writer_stops_at_the_durable_count() {
        let dir = log_dir_with(&[b"one"]);
        let writer = Segments::open(dir.path(), Access::Write { known: 1 }).unwrap();
        writer.append(1, &[b"two".to_vec()]).unwrap();
        // Written, not yet synced: not acknowledged.
        let reader = Segments::open(dir.path(), Access::ReadDurable).unwrap();
        assert_eq!(reader.len(), 1);
        writer.sync().unwrap();
        let reader = Segments::open(dir.path(), Access::ReadDurable).unwrap();
        assert_eq!(reader.len(), 2);
        assert_eq!(reader.get(1).unwrap(), b"two");
    }

    #[test]
    fn entries_roll_over_into_the_next_segment_file() {
        let dir = tempfile::tempdir().unwrap();
        let segments = Segments::create(dir.path()).unwrap();
        let entries: Vec<Vec<u8>> = (0..PER_SEGMENT + 3)
            .map(|n| n.to_be_bytes().to_vec())
            .collect();
        segments.append(0, &entries).unwrap();
        segments.sync().unwrap();
        assert!(segment_path(dir.path(), 1).is_file());
        drop(segments);
        let reader = Segments::open(dir.path(), Access::ReadAll { known: 0 }).unwrap();
        assert_eq!(reader.len(), PER_SEGMENT + 3);
        assert_eq!(reader.get(PER_SEGMENT + 1).unwrap(), entries[65537]);
        let around: Vec<_> = reader
            .read(PER_SEGMENT - 2, PER_SEGMENT + 1)
            .map(|r| r.unwrap().0)
            .collect();
        assert_eq!(
            around,
            [
                PER_SEGMENT - 2,
                PER_SEGMENT - 1,
                PER_SEGMENT,
                PER_SEGMENT + 1
            ]
        );
    }
}

#[cfg(test)]
mod index_tests {
    use super::*;

    #[test]
    fn a_wrong_offset_file_costs_a_scan_and_is_rewritten_never_a_wrong_entry() {
        let dir = tempfile::tempdir().unwrap();
        let segments = Segments::create(dir.path()).unwrap();
        let entries: Vec<Vec<u8>> = (0u64..50).map(|n| n.to_be_bytes().repeat(3)).collect();
        segments.append(0, &entries).unwrap();
        segments.sync().unwrap();
        drop(segments);
        let path = index_path(dir.path(), 0);
        let whole = std::fs::read(&path).unwrap();
        assert_eq!(whole.len(), 50 * 8, "one offset per frame");
        // Entry 20's offset now points at entry 21's frame.
        let mut wrong = whole.clone();
        let next: [u8; 8] = wrong[21 * 8..22 * 8].try_into().unwrap();
        wrong[20 * 8..21 * 8].copy_from_slice(&next);
        std::fs::write(&path, &wrong).unwrap();
        let reader = Segments::open(dir.path(), Access::ReadAll { known: 50 }).unwrap();
        assert_eq!(reader.get(20).unwrap(), entries[20]);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            whole,
            "rewritten from a scan"
        );
        // Reading a run from the wrong offset reads it again from the start.
        std::fs::write(&path, &wrong).unwrap();
        let reader = Segments::open(dir.path(), Access::ReadDurable).unwrap();
        let run: Vec<_> = reader.read(20, 22).map(|r| r.unwrap().1).collect();
        assert_eq!(run, entries[20..=22]);
        // Beside a writer a reader leaves the file to the writer.
        std::fs::write(&path, &wrong).unwrap();
        let beside = Segments::open(dir.path(), Access::ReadDurable).unwrap();
        assert_eq!(beside.get(20).unwrap(), entries[20]);
        assert_eq!(std::fs::read(&path).unwrap(), wrong);
    }
}

#[cfg(test)]
mod recovery_tests {
    use super::*;

    #[test]
    fn a_torn_frame_followed_by_zeros_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let segments = Segments::create(dir.path()).unwrap();
        segments.append(0, &[b"one".to_vec()]).unwrap();
        segments.sync().unwrap();
        drop(segments);
        let path = segment_path(dir.path(), 0);
        let whole = std::fs::read(&path).unwrap();
        // A write cut short on a filesystem that extended the file first.
        let mut bytes = whole.clone();
        let mut torn = Vec::new();
        frame(1, b"two", &mut torn);
        bytes.extend_from_slice(&torn[..4]);
        bytes.extend_from_slice(&[0; 4096]);
        std::fs::write(&path, &bytes).unwrap();
        let writer = Segments::open(dir.path(), Access::Write { known: 1 }).unwrap();
        assert_eq!((writer.len(), writer.damaged()), (1, None));
        assert_eq!(std::fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn a_short_segment_before_the_last_is_missing_entries_not_counted_whole() {
        let dir = tempfile::tempdir().unwrap();
        let segments = Segments::create(dir.path()).unwrap();
        let entries: Vec<Vec<u8>> = (0..PER_SEGMENT + 2)
            .map(|n| n.to_be_bytes().to_vec())
            .collect();
        segments.append(0, &entries).unwrap();
        drop(segments);
        // The first file lost its end (never synced), the second kept its
        // name; the durable record counts none of them.
        std::fs::remove_file(dir.path().join(DIR).join(DURABLE_FILE)).unwrap();
        let path = segment_path(dir.path(), 0);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 1000]).unwrap();
        let writer = Segments::open(dir.path(), Access::Write { known: 0 }).unwrap();
        assert!(
            matches!(
                writer.damaged(),
                Some(FrameError::Damaged { .. } | FrameError::Missing { .. })
            ),
            "{:?}",
            writer.damaged()
        );
        assert!(read_durable(dir.path()).is_none(), "nothing is counted");
    }
}
