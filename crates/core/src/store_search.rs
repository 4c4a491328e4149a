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
//! appended since are added first (an append never waits for it). It is
//! derived data: a file that does not end exactly at a record boundary, or
//! names a seq past the head (a store restored from an older copy), is
//! rebuilt from the entries. Matches are read back from the store as
//! verified entries (`store_select.rs`), so a hit is never shown from the
//! text file alone.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use memchr::memmem::Finder;
use rayon::prelude::*;

use crate::entry::Entry;
use crate::error::{Error, Result};
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

    /// Reads the file's records up to the first damaged one: the seq after
    /// the last good record, and the byte offset where it ends.
    fn search_file_end(&self) -> Option<(u64, u64)> {
        let file = File::open(self.search_file()).ok()?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut header = vec![0u8; HEADER.len()];
        reader.read_exact(&mut header).ok()?;
        if header != HEADER {
            return None;
        }
        let (mut next, mut offset) = (0u64, HEADER.len() as u64);
        let mut fixed = [0u8; 12];
        loop {
            match read_record(&mut reader, &mut fixed, None) {
                Ok(Some((seq, len))) if seq == next => {
                    next += 1;
                    offset += 12 + len as u64;
                }
                Ok(None) => return Some((next, offset)),
                // Out of order or torn: keep what came before.
                _ => return Some((next, offset)),
            }
        }
    }

    /// Brings the search file up to the head, rebuilding it if it is not ours.
    fn update_search_file(&self) -> Result<()> {
        let Some(head) = self.head() else {
            return Ok(());
        };
        let path = self.search_file();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let (next, end) = match self.search_file_end() {
            Some((next, end)) if next <= head.seq + 1 => (next, end),
            _ => {
                let mut file = File::create(&path).map_err(io)?;
                file.write_all(HEADER).map_err(io)?;
                (0, HEADER.len() as u64)
            }
        };
        if next > head.seq {
            return Ok(());
        }
        let mut file = OpenOptions::new().write(true).open(&path).map_err(io)?;
        // Cut off a torn record before appending after it.
        file.set_len(end).map_err(io)?;
        file.seek(SeekFrom::Start(end)).map_err(io)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
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
        if terms.is_empty() {
            return Ok((Vec::new(), 0));
        }
        self.update_search_file()?;
        let finders: Vec<Finder<'_>> = terms.iter().map(|t| Finder::new(t.as_bytes())).collect();
        let path = self.search_file();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        let head = self.head().map_or(0, |h| h.seq + 1);
        let (matched, count) = scan(file, &finders, head, limit, SCAN_BYTES).map_err(io)?;
        let hits = matched
            .into_iter()
            .map(|seq| {
                let entry = self.read_verified(seq)?;
                let text = text_of(entry.entry().event());
                Ok(SearchHit { entry, text })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok((hits, count))
    }
}

/// Streams the text file `file` (header first) through `finders`: the seqs
/// below `head` whose text every finder finds, at most `limit` of them, and
/// how many matched in all. Reads `chunk` bytes at a time.
fn scan(
    mut file: File,
    finders: &[Finder<'_>],
    head: u64,
    limit: usize,
    chunk: usize,
) -> std::io::Result<(Vec<u64>, usize)> {
    let mut header = vec![0u8; HEADER.len()];
    file.read_exact(&mut header)?;
    let mut matched: Vec<u64> = Vec::new();
    let mut count = 0usize;
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
            if seq >= head {
                return Ok((matched, count));
            }
            if finders.iter().all(|f| f.find(text).is_some()) {
                count += 1;
                if matched.len() < limit {
                    matched.push(seq);
                }
            }
            start = next;
        }
        // A record cut by the end of the buffer is completed by the next
        // read, which adds `chunk` bytes to what is left of it.
        if read == 0 {
            return Ok((matched, count));
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

/// Reads one record: `Ok(None)` at a clean end of file, `Err` on a torn
/// record. Fills `text` with its bytes when given, else skips them.
fn read_record(
    reader: &mut BufReader<File>,
    fixed: &mut [u8; 12],
    text: Option<&mut Vec<u8>>,
) -> std::io::Result<Option<(u64, u32)>> {
    match reader.read_exact(&mut fixed[..1]) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    reader.read_exact(&mut fixed[1..])?;
    let seq = u64::from_le_bytes(fixed[..8].try_into().unwrap_or_default());
    let len = u32::from_le_bytes(fixed[8..].try_into().unwrap_or_default());
    match text {
        Some(text) => {
            text.resize(len as usize, 0);
            reader.read_exact(text)?;
        }
        None => {
            let skipped = std::io::copy(
                &mut reader.by_ref().take(u64::from(len)),
                &mut std::io::sink(),
            )?;
            if skipped != u64::from(len) {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
        }
    }
    Ok(Some((seq, len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::types::Id;

    fn log_of(dir: &std::path::Path) -> Log {
        let admin = SecretKey::from_seed(&[1; 32]);
        let log = Log::create(dir, "a", &admin, Id::new("admin").unwrap(), "Admin").unwrap();
        let grant = Event::from_json(&format!(
            r#"{{"type":"key_granted","actor":"noo","body":"Oversight Office","public_key":"{}","roles":["issuer"],"date":"2021-01-01"}}"#,
            SecretKey::from_seed(&[2; 32]).public_key()
        ))
        .unwrap();
        log.append(&admin, grant).unwrap();
        let events = [
            r#"{"type":"report_published","report":"REP","title":"Custody Deaths Review","date":"2021-02-01"}"#,
            r#"{"type":"recommendation_issued","rec":"R1","report":"REP","addressees":["noo"],"subject":"Train custody staff in first aid","date":"2021-02-01"}"#,
        ];
        log.append_all(
            &SecretKey::from_seed(&[2; 32]),
            events
                .iter()
                .map(|j| Event::from_json(j).unwrap())
                .collect(),
        )
        .unwrap();
        log
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
            assert_eq!(
                scan(file, &finders, 4, 10, chunk).unwrap(),
                (vec![2, 3], 2),
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
        log.append(
            &SecretKey::from_seed(&[2; 32]),
            Event::from_json(claim).unwrap(),
        )
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
    }
}
