//! `trail search`: words in titles, subjects, narratives, reasons and
//! evidence names, found without decoding the log.
//!
//! The searchable text of every entry is kept, lowercased, in one derived
//! file, `search.text` in the log directory: a header line, then one record
//! per entry in log order, `seq` (u64 little-endian), `len` (u32
//! little-endian) and `len` bytes of text. A search streams the file through
//! a SIMD substring finder (memchr), so its cost is one sequential read of
//! the text, a fraction of the log, with memory flat in the log's size.
//!
//! The file is brought up to date by the search itself: records for entries
//! appended since are added (an append never waits for it), and a torn last
//! record is cut off first. It is derived data: a file that is not ours, or
//! holds a record past the head (a store restored from an older copy), is
//! rebuilt from the entries. Matches are read back from the store as
//! verified entries (`store/select.rs`) and matched again against their own
//! text, so a hit is never shown from the text file alone.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use memchr::memmem::Finder;
use rayon::prelude::*;

use crate::entry::Entry;
use crate::error::{Damage, Error, Result};
use crate::event::Event;
use crate::store::Log;
use crate::verify::VerifiedEntry;

const FILE: &str = "search.text";
const HEADER: &[u8] = b"trail search text v1\n";
/// Bytes of the text file read at a time by a search.
const SCAN_BYTES: usize = 8 << 20;
/// Entries decoded at a time while the file is brought up to date.
const CHUNK: u64 = 8192;

/// The JSON fields whose text is searched, wherever they occur in an event
/// (a replacement's, an evidence list's).
const FIELDS: [&str; 11] = [
    "title",
    "subject",
    "narrative",
    "reasons",
    "reason",
    "actions",
    "purpose",
    "forum",
    "notes",
    "name",
    "body",
];

/// An entry whose text holds every term searched for.
#[derive(Clone, Debug)]
pub struct SearchHit {
    /// The entry, read back from the verified log.
    pub entry: VerifiedEntry,
    /// The searchable text of the entry, one field per line, as written.
    pub text: String,
}

/// The searchable text of an event: the [`FIELDS`] strings, one per line.
fn text_of(event: &Event) -> String {
    let mut out = String::new();
    let Ok(value) = serde_json::to_value(event) else {
        return out;
    };
    collect(&value, None, &mut out);
    out
}

fn collect(value: &serde_json::Value, key: Option<&str>, out: &mut String) {
    match value {
        serde_json::Value::String(s) if key.is_some_and(|k| FIELDS.contains(&k)) => {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(s);
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect(item, key, out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect(v, Some(k), out);
            }
        }
        _ => {}
    }
}

impl Log {
    fn search_file(&self) -> PathBuf {
        self.path().join(FILE)
    }

    /// Writes the records of entries `next..=head` at byte `end` of the
    /// file, cutting off whatever follows there (a torn record); `end` 0
    /// starts a new file.
    fn extend_search_file(&self, next: u64, end: u64) -> Result<()> {
        let Some(head) = self.head() else {
            return Ok(());
        };
        let path = self.search_file();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        file.set_len(end).map_err(io)?;
        file.seek(SeekFrom::Start(end)).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        if end == 0 {
            out.write_all(HEADER).map_err(io)?;
        }
        let mut from = next;
        while from <= head.seq {
            let to = head.seq.min(from + CHUNK - 1);
            let bytes: Vec<Vec<u8>> = self.entry_bytes(from, to).collect::<Result<_>>()?;
            let texts: Vec<String> = bytes
                .par_iter()
                .map(|b| {
                    Entry::from_bytes(b)
                        .map(|e| text_of(e.event()).to_lowercase())
                        .unwrap_or_default()
                })
                .collect();
            for (seq, text) in (from..).zip(texts) {
                let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
                out.write_all(&seq.to_le_bytes()).map_err(io)?;
                out.write_all(&len.to_le_bytes()).map_err(io)?;
                out.write_all(&text.as_bytes()[..len as usize])
                    .map_err(io)?;
            }
            from = to + 1;
        }
        out.flush().map_err(io)?;
        Ok(())
    }

    /// Every entry whose searchable text (titles, subjects, narratives,
    /// reasons, actions, evidence and body names) contains each of `terms`,
    /// case-insensitively, in log order; at most `limit` of them, and the
    /// number that matched in all.
    pub fn search(&self, terms: &[String], limit: usize) -> Result<(Vec<SearchHit>, usize)> {
        let terms: Vec<String> = terms
            .iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        let Some(head) = self.head().filter(|_| !terms.is_empty()) else {
            return Ok((Vec::new(), 0));
        };
        let finders: Vec<Finder<'_>> = terms.iter().map(|t| Finder::new(t.as_bytes())).collect();
        let path = self.search_file();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        // One pass when the file is up to date; else it is completed (or
        // rebuilt, if it is not ours) where the good records end, and read again.
        let mut scanned = None;
        for _ in 0..2 {
            let found = match File::open(&path) {
                Ok(file) => scan(file, &finders, head.seq + 1, limit, SCAN_BYTES).map_err(io)?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Scanned::default(),
                Err(e) => return Err(io(e)),
            };
            if found.next == head.seq + 1 {
                scanned = Some(found);
                break;
            }
            self.extend_search_file(found.next, found.end)?;
        }
        let scanned = scanned.ok_or_else(|| {
            Error::from(Damage::DerivedFile {
                path: path.to_owned(),
            })
        })?;
        let mut hits = Vec::with_capacity(scanned.matched.len());
        for seq in scanned.matched {
            let entry = self.read_verified(seq)?;
            let text = text_of(entry.entry().event());
            // The text file is only a list of candidates: the entry decides.
            let lower = text.to_lowercase();
            if terms.iter().all(|t| lower.contains(t.as_str())) {
                hits.push(SearchHit { entry, text });
            }
        }
        Ok((hits, scanned.count))
    }
}

/// What a scan of the text file found.
#[derive(Default, Debug, PartialEq, Eq)]
struct Scanned {
    /// Seqs whose text every finder found, at most the limit.
    matched: Vec<u64>,
    /// How many matched in all.
    count: usize,
    /// The seq after the last good record (0 for a file that is not ours).
    next: u64,
    /// The byte offset where the good records end (0 likewise).
    end: u64,
}

/// Streams the text file `file` through `finders`, up to the first record
/// that is out of order or torn: the matches (at most `limit` seqs kept)
/// and where the good records end. A file that is not ours, or holds a
/// record for seq `head` or later, gives the empty scan (rebuild it). Reads `chunk` bytes at
/// a time.
fn scan(
    mut file: File,
    finders: &[Finder<'_>],
    head: u64,
    limit: usize,
    chunk: usize,
) -> std::io::Result<Scanned> {
    let mut header = vec![0u8; HEADER.len()];
    if read_full(&mut file, &mut header)? < HEADER.len() || header != HEADER {
        return Ok(Scanned::default());
    }
    let mut out = Scanned {
        next: 0,
        end: HEADER.len() as u64,
        ..Scanned::default()
    };
    // Records are matched where they lie in a large buffer, not copied
    // out one by one: the scan is a sequential read and SIMD finds.
    let mut buffer: Vec<u8> = Vec::with_capacity(chunk);
    let mut start = 0;
    loop {
        buffer.drain(..start.min(buffer.len()));
        start = 0;
        let filled = buffer.len();
        buffer.resize(filled + chunk, 0);
        let read = read_full(&mut file, &mut buffer[filled..])?;
        buffer.truncate(filled + read);
        while let Some((seq, text, next)) = record_at(&buffer, start) {
            if seq >= head && seq == out.next {
                // Records past the head: left by a longer history (a store
                // restored from an older copy), so none of it can be trusted.
                return Ok(Scanned::default());
            }
            if seq != out.next {
                return Ok(out);
            }
            if finders.iter().all(|f| f.find(text).is_some()) {
                out.count += 1;
                if out.matched.len() < limit {
                    out.matched.push(seq);
                }
            }
            out.next += 1;
            out.end += (next - start) as u64;
            start = next;
        }
        // A record cut by the end of the buffer is completed by the next
        // read, which adds `chunk` bytes to what is left of it.
        if read == 0 {
            return Ok(out);
        }
    }
}

/// The record starting at byte `at` of `buffer`, its text and where the
/// next begins; `None` if the buffer ends inside it.
fn record_at(buffer: &[u8], at: usize) -> Option<(u64, &[u8], usize)> {
    let fixed = buffer.get(at..at.checked_add(12)?)?;
    let seq = u64::from_le_bytes(fixed[..8].try_into().ok()?);
    let len = u32::from_le_bytes(fixed[8..].try_into().ok()?) as usize;
    let end = at.checked_add(12)?.checked_add(len)?;
    Some((seq, buffer.get(at + 12..end)?, end))
}

/// Fills `buf` from `file` as far as the file goes; returns the bytes read.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testlog::{issuer, log_with_a_report};

    fn log_of(dir: &std::path::Path) -> Log {
        log_with_a_report(
            dir,
            "Oversight Office",
            "Custody Deaths Review",
            "Train custody staff in first aid",
        )
    }

    fn seqs(log: &Log, terms: &[&str]) -> Vec<u64> {
        let terms: Vec<String> = terms.iter().map(|t| t.to_string()).collect();
        let (hits, count) = log.search(&terms, 100).unwrap();
        assert_eq!(hits.len(), count);
        hits.iter().map(|h| h.entry.seq()).collect()
    }

    #[test]
    fn every_term_must_match_case_insensitively() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path());
        assert_eq!(seqs(&log, &["CUSTODY"]), [2, 3]);
        assert_eq!(seqs(&log, &["custody", "first aid"]), [3]);
        assert_eq!(seqs(&log, &["oversight"]), [1]);
        assert!(seqs(&log, &["custody", "nowhere"]).is_empty());
        // Ids and dates are not text.
        assert!(seqs(&log, &["2021-02-01"]).is_empty());
    }

    #[test]
    fn records_cut_by_the_end_of_a_read_are_completed() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path());
        assert_eq!(seqs(&log, &["custody"]), [2, 3]);
        let finders = [Finder::new(b"custody")];
        for chunk in [1, 7, 12, 13, 64, 1 << 20] {
            let file = File::open(log.search_file()).unwrap();
            let scanned = scan(file, &finders, 4, 10, chunk).unwrap();
            let whole = std::fs::metadata(log.search_file()).unwrap().len();
            assert_eq!(
                scanned,
                Scanned {
                    matched: vec![2, 3],
                    count: 2,
                    next: 4,
                    end: whole
                },
                "{chunk}"
            );
        }
    }

    #[test]
    fn the_text_file_follows_appends_and_survives_damage() {
        let dir = tempfile::tempdir().unwrap();
        let log = log_of(dir.path());
        assert_eq!(seqs(&log, &["first aid"]), [3]);
        let claim = r#"{"type":"report_published","report":"REP2","title":"First aid, again","date":"2021-03-01"}"#;
        log.append(&issuer(), Event::from_json(claim).unwrap())
            .unwrap();
        assert_eq!(seqs(&log, &["first aid"]), [3, 4]);
        let path = log.search_file();
        let whole = std::fs::read(&path).unwrap();
        // Torn in the last record: cut back and completed.
        std::fs::write(&path, &whole[..whole.len() - 3]).unwrap();
        assert_eq!(seqs(&log, &["first aid"]), [3, 4]);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        // Not ours at all: rebuilt.
        std::fs::write(&path, b"something else").unwrap();
        assert_eq!(seqs(&log, &["first aid"]), [3, 4]);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        // A record past the head (a longer history): rebuilt.
        let mut longer = whole.clone();
        longer.extend(5u64.to_le_bytes());
        longer.extend(9u32.to_le_bytes());
        longer.extend(b"first aid");
        std::fs::write(&path, &longer).unwrap();
        assert_eq!(seqs(&log, &["first aid"]), [3, 4]);
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        // A record whose text says what its entry does not: not a hit.
        let forged = String::from_utf8_lossy(&whole)
            .replace("custody deaths review", "first aid deaths revi");
        std::fs::write(&path, forged.as_bytes()).unwrap();
        let (hits, count) = log.search(&["first aid".to_string()], 10).unwrap();
        let hits: Vec<u64> = hits.iter().map(|h| h.entry.seq()).collect();
        assert_eq!((hits, count), (vec![3, 4], 3));
    }
}
