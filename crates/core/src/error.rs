//! The library's error type. Messages are one plain sentence naming what is
//! wrong; the CLI adds advice and picks the exit code.

use std::path::PathBuf;

use crate::authority::Rejection;
use crate::encoding::DecodeFailure;
use crate::event::InvalidEvent;
use crate::types::{EntryHash, Timestamp};
use crate::verify::VerifyError;

/// Everything that can go wrong in trail-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A secret key file that others can read.
    #[error("{}: secret key file is readable by others (mode {mode:o})", path.display())]
    KeyFileTooOpen {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A file that is not a trail secret key.
    #[error("{}: not a trail secret key file", path.display())]
    BadKeyFile {
        /// The file.
        path: PathBuf,
    },
    /// An encrypted key file was loaded without a passphrase.
    #[error("{}: key file is encrypted and no passphrase was given", path.display())]
    KeyFileEncrypted {
        /// The file.
        path: PathBuf,
    },
    /// The passphrase does not open the key file.
    #[error("{}: wrong passphrase for this key file", path.display())]
    WrongPassphrase {
        /// The file.
        path: PathBuf,
    },
    /// An encrypted key file that cannot be decrypted for a reason other than the passphrase.
    #[error("{}: cannot decrypt the key file: {reason}", path.display())]
    BadEncryptedKeyFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The directory holds no trail log.
    #[error("{}: not a trail log", path.display())]
    NotALog {
        /// The directory.
        path: PathBuf,
    },
    /// `init` on a directory that already holds a log.
    #[error("{}: a log already exists here", path.display())]
    LogExists {
        /// The directory.
        path: PathBuf,
    },
    /// Another process has the log open.
    #[error("{}: log is busy (another process has it open)", path.display())]
    Busy {
        /// The directory.
        path: PathBuf,
    },
    /// The embedded store failed.
    #[error("{}: storage error: {message}", path.display())]
    Store {
        /// The log directory.
        path: PathBuf,
        /// sled's message.
        message: String,
    },
    /// Stored data that cannot be read back, or disagrees with the entries:
    /// the log directory is damaged.
    #[error("log is damaged: {0}")]
    Damaged(#[from] Damage),
    /// The event is malformed.
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] InvalidEvent),
    /// The signer may not append this event.
    #[error("refused: {0}")]
    Rejected(#[from] Rejection),
    /// Verification found a bad entry.
    #[error("{0}")]
    Verify(#[from] VerifyError),
    /// A bundle that is damaged outside any entry, or holds another history.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// A file that is not a bundle this build reads at all (another file
    /// given by mistake, or a newer format): an input problem, not damage.
    #[error("{reason}")]
    NotABundle {
        /// What is wrong.
        reason: String,
    },
    /// Reading a bundle failed for a reason other than its content (a disk
    /// error, a directory given as the bundle): nothing is known about it.
    #[error("bundle: read failed: {0}")]
    BundleRead(#[source] std::io::Error),
    /// Bytes that do not decode.
    #[error("{0}")]
    Decode(#[from] DecodeFailure),
    /// A checkpoint, cosignature or proof was refused.
    #[error("{0}")]
    Transparency(#[from] crate::transparency_error::TransparencyError),
    /// A secret key could not be encrypted as asked.
    #[error("{0}")]
    Encrypt(#[from] EncryptError),
    /// Tiles could not be published into the directory given.
    #[error("{0}")]
    Publish(#[from] PublishError),
    /// An append of no events.
    #[error("nothing to append: the batch is empty")]
    EmptyBatch,
    /// One event of a batch was refused; nothing of the batch was written.
    #[error("event {} of the batch: {source}", index + 1)]
    InBatch {
        /// Position of the refused event in the batch, from 0.
        index: usize,
        /// Why it was refused.
        source: Box<Error>,
    },
    /// An effective date too far after the day the entry would be recorded.
    #[error(
        "effective date {date} is more than {max_days} days after the recorded day {recorded}; \
         far-future dates must be allowed explicitly"
    )]
    FutureDate {
        /// The event's effective date.
        date: crate::types::Day,
        /// The day the entry would be recorded.
        recorded: crate::types::Day,
        /// The limit, [`crate::clock::MAX_FUTURE_DAYS`].
        max_days: i32,
    },
    /// The log keeps no signed checkpoint yet.
    #[error("no checkpoint is kept with this log")]
    NoCheckpoint,
    /// An entry larger than [`crate::limits::MAX_ENTRY_BYTES`].
    #[error("entry would be {size} bytes; the limit is {limit}")]
    EntryTooLarge {
        /// Its canonical size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Entries signed against a head that is no longer the log's head: the
    /// signer must fetch what is new, check again and sign again.
    #[error("the log has moved on: it now holds {size} entries, head {head}")]
    HeadMoved {
        /// How many entries the log holds now.
        size: u64,
        /// Hash of its last entry (zero for an empty log).
        head: EntryHash,
    },
    /// A submitted entry whose recorded time is too far from the log's clock.
    #[error(
        "seq {seq}: recorded at {recorded}, but the log's clock says {now}; \
         the signer's clock must be within {max_seconds} s of the log's"
    )]
    ClockSkew {
        /// The entry.
        seq: u64,
        /// Its recorded time.
        recorded: Timestamp,
        /// The log's time when it arrived.
        now: Timestamp,
        /// The tolerance, [`crate::store::MAX_CLOCK_SKEW`] in seconds.
        max_seconds: u64,
    },
    /// An append that would record an entry earlier than the head.
    #[error(
        "the log's last entry was recorded at {head}, after {requested}; refusing to go back in time"
    )]
    ClockBehind {
        /// Head's recorded time.
        head: String,
        /// The time asked for.
        requested: String,
    },
}

impl Error {
    /// Whether this says the log, bundle or proof at hand failed
    /// verification (the CLI's exit 1), as against a problem with the
    /// request or the machine (exit 2). No wildcard: a new variant must be
    /// classified here.
    pub fn is_verification_failure(&self) -> bool {
        match self {
            Error::Verify(_) | Error::Bundle(_) | Error::Damaged(_) | Error::Decode(_) => true,
            Error::Transparency(t) => t.is_verification_failure(),
            Error::Io { .. }
            | Error::KeyFileTooOpen { .. }
            | Error::BadKeyFile { .. }
            | Error::KeyFileEncrypted { .. }
            | Error::WrongPassphrase { .. }
            | Error::BadEncryptedKeyFile { .. }
            | Error::NotALog { .. }
            | Error::LogExists { .. }
            | Error::Busy { .. }
            | Error::Store { .. }
            | Error::InvalidEvent(_)
            | Error::Rejected(_)
            | Error::NotABundle { .. }
            | Error::BundleRead(_)
            | Error::Encrypt(_)
            | Error::Publish(_)
            | Error::EmptyBatch
            | Error::InBatch { .. }
            | Error::FutureDate { .. }
            | Error::NoCheckpoint
            | Error::EntryTooLarge { .. }
            | Error::HeadMoved { .. }
            | Error::ClockSkew { .. }
            | Error::ClockBehind { .. } => false,
        }
    }
}

/// What is wrong with a damaged log directory, outside any one entry (a
/// bad entry is an [`Error::Verify`] naming its seq).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The log has no genesis entry.
    #[error("the log has no genesis entry")]
    NoGenesis,
    /// A stored record does not decode.
    #[error("the {what} does not decode: {reason}")]
    Record {
        /// Which record: "head record", "key row", "index list", ...
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The head record names another entry than the last one.
    #[error("the head record's hash does not match the last entry")]
    HeadMismatch,
    /// The registry rows differ from what the entries imply.
    #[error("the stored key and recommendation registry differs from what the entries imply")]
    RegistryMismatch,
    /// The stored Merkle tree lacks a node or disagrees with the entries.
    #[error("Merkle tree: {0}")]
    Tree(String),
    /// Verified entries that replay refuses (they are out of order).
    #[error("the verified entries do not replay: {0}")]
    Replay(String),
    /// sled refuses its own files.
    #[error("sled reports corruption in {}", path.display())]
    Sled {
        /// The log directory.
        path: PathBuf,
    },
    /// The file that marks the directory as a trail log is damaged, though
    /// its segments are whole (`trail repair` rewrites it).
    #[error("{} is damaged: it no longer says the directory is a trail log", path.display())]
    Marker {
        /// The marker file.
        path: PathBuf,
    },
    /// A derived file that could not be rebuilt.
    #[error("{} could not be brought up to date", path.display())]
    DerivedFile {
        /// The file.
        path: PathBuf,
    },
}

/// What is wrong with a bundle, outside any one entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Shorter than a bundle's header.
    #[error("file is too short to be a trail bundle")]
    TooShort,
    /// The file ends in the middle of a record, or before its end record.
    #[error("bundle is truncated: it ends before its first entry")]
    TruncatedBeforeFirst,
    /// The file ends after entry `last_seq`, before its end record.
    #[error("bundle is truncated after seq {last_seq}")]
    TruncatedAfter {
        /// The last entry read whole.
        last_seq: u64,
    },
    /// An entry record longer than an entry may be.
    #[error("entry record at seq {seq} claims {len} bytes; the limit is {limit}")]
    EntryTooLong {
        /// Where.
        seq: u64,
        /// The length it claims.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A checkpoint record after an entry.
    #[error("a checkpoint record may only come before the first entry")]
    LateCheckpoint,
    /// A second checkpoint record.
    #[error("more than one checkpoint record")]
    TwoCheckpoints,
    /// A checkpoint record longer than a checkpoint may be.
    #[error("checkpoint record claims {len} bytes; the limit is {limit}")]
    CheckpointTooLong {
        /// The length it claims.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// An end record of the wrong length.
    #[error("end record has the wrong length")]
    EndLength,
    /// Bytes after the end record.
    #[error("unexpected bytes after the end record")]
    AfterEnd,
    /// A record of a type this version does not know.
    #[error("unknown record type 0x{tag:02x} after {entries} entries")]
    UnknownRecord {
        /// The record's type byte.
        tag: u8,
        /// Entries read before it.
        entries: u64,
    },
    /// The end record disagrees with the entries.
    #[error(
        "end record says {count} entries ending in {last}, but the bundle holds {held} ending in {head}"
    )]
    EndMismatch {
        /// The count it states.
        count: u64,
        /// The last hash it states.
        last: EntryHash,
        /// Entries the bundle holds.
        held: u64,
        /// Hash of its last entry.
        head: EntryHash,
    },
    /// A bundle with no entries.
    #[error("bundle holds no entries")]
    Empty,
    /// A bundle whose entry differs from the log's at the same seq.
    #[error("{}: its entry at seq {seq} differs from the log's: the bundle holds another history", path.display())]
    OtherHistory {
        /// The bundle.
        path: PathBuf,
        /// The first seq that differs.
        seq: u64,
    },
}

/// Why a secret key could not be encrypted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncryptError {
    /// An empty passphrase.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// A scrypt work factor age cannot use.
    #[error("scrypt work factor {0} is outside 1 to 63")]
    WorkFactor(u8),
    /// The encryption itself failed.
    #[error("encrypting the key failed: {0}")]
    Failed(String),
}

/// Why tiles cannot be published into a directory.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The directory's checkpoint is newer than the log's.
    #[error("{}: already holds a checkpoint of {published} entries, more than the log's latest checkpoint ({size})", path.display())]
    AheadOfLog {
        /// The directory's checkpoint file.
        path: PathBuf,
        /// Its size.
        published: u64,
        /// The size of the log's latest checkpoint.
        size: u64,
    },
    /// The directory's checkpoint file is not a checkpoint.
    #[error("{}: not a checkpoint: {reason}", path.display())]
    NotACheckpoint {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The directory holds another log's checkpoint, or a fork's.
    #[error("{}: the published checkpoint is not one of this log's: {reason}", path.display())]
    OtherLog {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The log cannot make a tile its checkpoint needs.
    #[error("the log cannot make {tile} for its checkpoint of {size} entries")]
    MissingTile {
        /// The tile's path.
        tile: String,
        /// The checkpoint's size.
        size: u64,
    },
}

/// A value given as text (an id, a date, a key, a role) that is not one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// An empty id.
    #[error("an id must not be empty")]
    EmptyId,
    /// An id longer than ids may be.
    #[error("id is {len} bytes long; the limit is {max}")]
    IdTooLong {
        /// Its length in bytes.
        len: usize,
        /// The limit, [`crate::MAX_ID_LEN`].
        max: usize,
    },
    /// An id with a character ids may not hold.
    #[error("id {id:?} contains {found:?}; ids may hold only ASCII letters, digits and - _ . / :")]
    IdCharacter {
        /// The id, with non-printing characters escaped.
        id: String,
        /// The first character refused.
        found: char,
    },
    /// Not a date of the form YYYY-MM-DD.
    #[error("{0:?} is not a date of the form YYYY-MM-DD")]
    Day(String),
    /// Not an RFC 3339 timestamp, or one outside the range trail keeps.
    #[error(
        "{0:?} is not an RFC 3339 timestamp such as 2021-11-23T10:00:00Z, within the years 1 to 9999"
    )]
    Timestamp(String),
    /// Not 64 lowercase hex digits.
    #[error("{what} must be 64 lowercase hex digits")]
    Hex {
        /// What was expected: "a public key", "a hash", ...
        what: &'static str,
    },
    /// Not one of a fixed set of names.
    #[error("unknown {what} {given:?}; it must be one of {names}")]
    UnknownName {
        /// What was expected: "role", "severity".
        what: &'static str,
        /// What was given.
        given: String,
        /// The names there are, comma-separated.
        names: String,
    },
}

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Day, Id};
    use crate::verify::Problem;

    /// One of each variant. `name` has no wildcard, so a new variant does
    /// not compile until it is added here too.
    fn every_variant() -> Vec<Error> {
        let path = || PathBuf::from("/tmp/log");
        let io = || std::io::Error::other("disk on fire");
        let day = Day::new(2022, 1, 10).unwrap();
        let time = Timestamp::from_micros(1_700_000_000_000_000).unwrap();
        vec![
            Error::Io {
                path: path(),
                source: io(),
            },
            Error::KeyFileTooOpen {
                path: path(),
                mode: 0o644,
            },
            Error::BadKeyFile { path: path() },
            Error::KeyFileEncrypted { path: path() },
            Error::WrongPassphrase { path: path() },
            Error::BadEncryptedKeyFile {
                path: path(),
                reason: "bad header".into(),
            },
            Error::NotALog { path: path() },
            Error::LogExists { path: path() },
            Error::Busy { path: path() },
            Error::Store {
                path: path(),
                message: "flush failed".into(),
            },
            Error::Damaged(Damage::Tree("node (level 1, index 0) is missing".into())),
            Error::InvalidEvent(InvalidEvent {
                field: "narrative",
                problem: "is empty".into(),
            }),
            Error::Rejected(Rejection::UnknownRec(Id::new("R9").unwrap())),
            Error::Verify(VerifyError {
                seq: 4,
                problem: Problem::ChangedSinceVerified,
            }),
            Error::Bundle(BundleError::TruncatedAfter { last_seq: 3 }),
            Error::NotABundle {
                reason: "x: not a trail bundle".into(),
            },
            Error::BundleRead(io()),
            Error::Decode(DecodeFailure("trailing bytes".into())),
            Error::Transparency(crate::transparency::TransparencyError::MissingEntry),
            Error::Encrypt(EncryptError::EmptyPassphrase),
            Error::Publish(PublishError::AheadOfLog {
                path: path(),
                published: 9,
                size: 4,
            }),
            Error::EmptyBatch,
            Error::InBatch {
                index: 2,
                source: Box::new(Error::NoCheckpoint),
            },
            Error::FutureDate {
                date: day,
                recorded: day,
                max_days: 366,
            },
            Error::NoCheckpoint,
            Error::EntryTooLarge {
                size: 70_000,
                limit: 65_535,
            },
            Error::HeadMoved {
                size: 9,
                head: EntryHash::default(),
            },
            Error::ClockSkew {
                seq: 3,
                recorded: time,
                now: time,
                max_seconds: 300,
            },
            Error::ClockBehind {
                head: time.to_string(),
                requested: time.to_string(),
            },
        ]
    }

    fn name(e: &Error) -> &'static str {
        match e {
            Error::Io { .. } => "Io",
            Error::KeyFileTooOpen { .. } => "KeyFileTooOpen",
            Error::BadKeyFile { .. } => "BadKeyFile",
            Error::KeyFileEncrypted { .. } => "KeyFileEncrypted",
            Error::WrongPassphrase { .. } => "WrongPassphrase",
            Error::BadEncryptedKeyFile { .. } => "BadEncryptedKeyFile",
            Error::NotALog { .. } => "NotALog",
            Error::LogExists { .. } => "LogExists",
            Error::Busy { .. } => "Busy",
            Error::Store { .. } => "Store",
            Error::Damaged(_) => "Damaged",
            Error::InvalidEvent(_) => "InvalidEvent",
            Error::Rejected(_) => "Rejected",
            Error::Verify(_) => "Verify",
            Error::Bundle(_) => "Bundle",
            Error::NotABundle { .. } => "NotABundle",
            Error::BundleRead(_) => "BundleRead",
            Error::Decode(_) => "Decode",
            Error::Transparency(_) => "Transparency",
            Error::Encrypt(_) => "Encrypt",
            Error::Publish(_) => "Publish",
            Error::EmptyBatch => "EmptyBatch",
            Error::InBatch { .. } => "InBatch",
            Error::FutureDate { .. } => "FutureDate",
            Error::NoCheckpoint => "NoCheckpoint",
            Error::EntryTooLarge { .. } => "EntryTooLarge",
            Error::HeadMoved { .. } => "HeadMoved",
            Error::ClockSkew { .. } => "ClockSkew",
            Error::ClockBehind { .. } => "ClockBehind",
        }
    }

    /// Asserts that `all` holds each variant once (by `name`, a match with
    /// no wildcard, so a new variant does not compile until it is listed)
    /// and that each displays as one plain line.
    fn one_plain_line_each<E: std::fmt::Display>(all: &[E], name: fn(&E) -> &'static str) {
        let mut names: Vec<&str> = all.iter().map(name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "each variant once: {names:?}");
        for e in all {
            let text = e.to_string();
            assert!(
                !text.is_empty() && !text.contains('\n'),
                "{}: {text:?}",
                name(e)
            );
            for debug in ["{", "}", "Some(", "None", "Id(", "\\\""] {
                assert!(
                    !text.contains(debug),
                    "{}: {text:?} shows {debug:?}",
                    name(e)
                );
            }
            assert_eq!(text.trim(), text, "{}: {text:?}", name(e));
        }
    }

    #[test]
    fn every_error_of_each_operation_displays_as_one_plain_line() {
        let path = || PathBuf::from("/tmp/log");
        one_plain_line_each(
            &[
                Damage::NoGenesis,
                Damage::Record {
                    what: "head record",
                    reason: "trailing bytes".into(),
                },
                Damage::HeadMismatch,
                Damage::RegistryMismatch,
                Damage::Tree("node (level 1, index 0) is missing".into()),
                Damage::Replay("seq 4 follows seq 2".into()),
                Damage::Sled { path: path() },
                Damage::Marker { path: path() },
                Damage::DerivedFile { path: path() },
            ],
            |d| match d {
                Damage::NoGenesis => "NoGenesis",
                Damage::Record { .. } => "Record",
                Damage::HeadMismatch => "HeadMismatch",
                Damage::RegistryMismatch => "RegistryMismatch",
                Damage::Tree(_) => "Tree",
                Damage::Replay(_) => "Replay",
                Damage::Sled { .. } => "Sled",
                Damage::Marker { .. } => "Marker",
                Damage::DerivedFile { .. } => "DerivedFile",
            },
        );
        one_plain_line_each(
            &[
                BundleError::TooShort,
                BundleError::TruncatedBeforeFirst,
                BundleError::TruncatedAfter { last_seq: 3 },
                BundleError::EntryTooLong {
                    seq: 3,
                    len: 70_000,
                    limit: 65_535,
                },
                BundleError::LateCheckpoint,
                BundleError::TwoCheckpoints,
                BundleError::CheckpointTooLong { len: 9, limit: 8 },
                BundleError::EndLength,
                BundleError::AfterEnd,
                BundleError::UnknownRecord { tag: 7, entries: 2 },
                BundleError::EndMismatch {
                    count: 3,
                    last: EntryHash::default(),
                    held: 2,
                    head: EntryHash::default(),
                },
                BundleError::Empty,
                BundleError::OtherHistory {
                    path: path(),
                    seq: 4,
                },
            ],
            |b| match b {
                BundleError::TooShort => "TooShort",
                BundleError::TruncatedBeforeFirst => "TruncatedBeforeFirst",
                BundleError::TruncatedAfter { .. } => "TruncatedAfter",
                BundleError::EntryTooLong { .. } => "EntryTooLong",
                BundleError::LateCheckpoint => "LateCheckpoint",
                BundleError::TwoCheckpoints => "TwoCheckpoints",
                BundleError::CheckpointTooLong { .. } => "CheckpointTooLong",
                BundleError::EndLength => "EndLength",
                BundleError::AfterEnd => "AfterEnd",
                BundleError::UnknownRecord { .. } => "UnknownRecord",
                BundleError::EndMismatch { .. } => "EndMismatch",
                BundleError::Empty => "Empty",
                BundleError::OtherHistory { .. } => "OtherHistory",
            },
        );
        one_plain_line_each(
            &[
                EncryptError::EmptyPassphrase,
                EncryptError::WorkFactor(64),
                EncryptError::Failed("no entropy".into()),
            ],
            |e| match e {
                EncryptError::EmptyPassphrase => "EmptyPassphrase",
                EncryptError::WorkFactor(_) => "WorkFactor",
                EncryptError::Failed(_) => "Failed",
            },
        );
        one_plain_line_each(
            &[
                PublishError::AheadOfLog {
                    path: path(),
                    published: 9,
                    size: 4,
                },
                PublishError::NotACheckpoint {
                    path: path(),
                    reason: "no origin line".into(),
                },
                PublishError::OtherLog {
                    path: path(),
                    reason: "another origin".into(),
                },
                PublishError::MissingTile {
                    tile: "tile/0/000".into(),
                    size: 4,
                },
            ],
            |p| match p {
                PublishError::AheadOfLog { .. } => "AheadOfLog",
                PublishError::NotACheckpoint { .. } => "NotACheckpoint",
                PublishError::OtherLog { .. } => "OtherLog",
                PublishError::MissingTile { .. } => "MissingTile",
            },
        );
        one_plain_line_each(
            &[
                ParseError::EmptyId,
                ParseError::IdTooLong { len: 70, max: 64 },
                ParseError::IdCharacter {
                    id: "a b".into(),
                    found: ' ',
                },
                ParseError::Day("2021-13-01".into()),
                ParseError::Timestamp("yesterday".into()),
                ParseError::Hex {
                    what: "a public key",
                },
                ParseError::UnknownName {
                    what: "role",
                    given: "king".into(),
                    names: "issuer, respondent".into(),
                },
            ],
            |p| match p {
                ParseError::EmptyId => "EmptyId",
                ParseError::IdTooLong { .. } => "IdTooLong",
                ParseError::IdCharacter { .. } => "IdCharacter",
                ParseError::Day(_) => "Day",
                ParseError::Timestamp(_) => "Timestamp",
                ParseError::Hex { .. } => "Hex",
                ParseError::UnknownName { .. } => "UnknownName",
            },
        );
    }

    #[test]
    fn every_error_displays_as_one_plain_line() {
        let all = every_variant();
        let mut names: Vec<&str> = all.iter().map(name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "each variant once: {names:?}");
        for e in &all {
            let text = e.to_string();
            assert!(
                !text.is_empty() && !text.contains('\n'),
                "{}: {text:?}",
                name(e)
            );
            // No Debug output leaking through: struct or enum syntax, Option
            // wrappers, escaped paths.
            for debug in ["{", "}", "Some(", "None", "Id(", "\\\""] {
                assert!(
                    !text.contains(debug),
                    "{}: {text:?} shows {debug:?}",
                    name(e)
                );
            }
            assert_eq!(text.trim(), text, "{}: {text:?}", name(e));
        }
    }
}
