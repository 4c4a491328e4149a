//! Reads and rewrites a log's segment files from their specification in
//! docs/FORMAT.md ("Segment files"), independently of trail-core's own
//! reader: tests change stored entries through here as someone with write
//! access to the files would.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub const HEADER_LEN: usize = 24;
pub const PER_SEGMENT: u64 = 1 << 16;

/// One frame of a segment file: where it lies, and its entry's bytes.
pub struct Frame {
    pub seq: u64,
    /// Offset of its length field in the file.
    pub start: usize,
    /// Offset just past its check.
    pub end: usize,
    pub bytes: Vec<u8>,
}

/// The first 8 bytes of BLAKE3("trail frame v1" || seq BE || bytes).
pub fn check(seq: u64, bytes: &[u8]) -> [u8; 8] {
    let mut h = blake3::Hasher::new();
    h.update(b"trail frame v1");
    h.update(&seq.to_be_bytes());
    h.update(bytes);
    h.finalize().as_bytes()[..8].try_into().unwrap()
}

pub fn frame(seq: u64, bytes: &[u8]) -> Vec<u8> {
    let mut out = u16::try_from(bytes.len()).unwrap().to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out.extend_from_slice(&check(seq, bytes));
    out
}

pub fn segment_path(log: &Path, first_seq: u64) -> PathBuf {
    log.join("segments").join(format!("{first_seq:010}.seg"))
}

/// The frames of a whole, undamaged segment file.
pub fn frames(file: &[u8]) -> Vec<Frame> {
    assert_eq!(&file[..16], b"trail segment v1");
    let mut seq = u64::from_be_bytes(file[16..24].try_into().unwrap());
    let mut at = HEADER_LEN;
    let mut out = Vec::new();
    while at < file.len() {
        let len = usize::from(u16::from_be_bytes([file[at], file[at + 1]]));
        let bytes = file[at + 2..at + 2 + len].to_vec();
        let end = at + 2 + len + 8;
        assert_eq!(file[at + 2 + len..end], check(seq, &bytes), "seq {seq}");
        out.push(Frame {
            seq,
            start: at,
            end,
            bytes,
        });
        seq += 1;
        at = end;
    }
    out
}

/// Rewrites entry `seq`'s bytes as `edit` leaves them, its frame kept whole
/// (a new check), so that what is caught is the entry itself.
pub fn rewrite_entry(log: &Path, seq: u64, edit: impl FnOnce(&mut Vec<u8>)) {
    splice(log, seq, |bytes| {
        let mut bytes = bytes.to_vec();
        edit(&mut bytes);
        Some(frame(seq, &bytes))
    });
}

/// Cuts entry `seq`'s frame out of its segment, closing the gap.
pub fn remove_entry(log: &Path, seq: u64) {
    splice(log, seq, |_| None);
}

fn splice(log: &Path, seq: u64, with: impl FnOnce(&[u8]) -> Option<Vec<u8>>) {
    let path = segment_path(log, seq / PER_SEGMENT * PER_SEGMENT);
    let file = std::fs::read(&path).unwrap();
    let found = frames(&file);
    let f = found
        .iter()
        .find(|f| f.seq == seq)
        .expect("the entry's frame");
    let mut out = file[..f.start].to_vec();
    out.extend(with(&f.bytes).unwrap_or_default());
    out.extend_from_slice(&file[f.end..]);
    std::fs::write(&path, out).unwrap();
}
