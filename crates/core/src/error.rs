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
    #[error("{}: secret key file is readable by others (mode {mode:o}); run chmod 600 on it", path.display())]
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
    #[error("{}: not a trail log (run trail init to create one)", path.display())]
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
    /// Stored data that cannot be read back; the log is damaged.
    #[error("log is damaged: {0}")]
    Corrupt(String),
    /// The event is malformed.
    #[error("invalid event: {0}")]
    InvalidEvent(#[from] InvalidEvent),
    /// The signer may not append this event.
    #[error("refused: {0}")]
    Rejected(#[from] Rejection),
    /// Verification found a bad entry.
    #[error("{0}")]
    Verify(#[from] VerifyError),
    /// A bundle that is not a trail bundle, or is damaged outside any entry.
    #[error("bundle: {0}")]
    Bundle(String),
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
    Transparency(#[from] crate::transparency::TransparencyError),
    /// An event given in JSON could not be read.
    #[error("{0}")]
    Input(String),
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
            Error::Verify(_) | Error::Bundle(_) | Error::Corrupt(_) | Error::Decode(_) => true,
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
            | Error::Input(_)
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
            Error::Corrupt("entry 4 is missing".into()),
            Error::InvalidEvent(InvalidEvent {
                field: "narrative",
                problem: "is empty".into(),
            }),
            Error::Rejected(Rejection::UnknownRec(Id::new("R9").unwrap())),
            Error::Verify(VerifyError {
                seq: 4,
                problem: Problem::ChangedSinceVerified,
            }),
            Error::Bundle("entry 3 is cut short".into()),
            Error::NotABundle {
                reason: "x: not a trail bundle".into(),
            },
            Error::BundleRead(io()),
            Error::Decode(DecodeFailure("trailing bytes".into())),
            Error::Transparency(crate::transparency::TransparencyError::MissingEntry),
            Error::Input("empty passphrase".into()),
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
            Error::Corrupt(_) => "Corrupt",
            Error::InvalidEvent(_) => "InvalidEvent",
            Error::Rejected(_) => "Rejected",
            Error::Verify(_) => "Verify",
            Error::Bundle(_) => "Bundle",
            Error::NotABundle { .. } => "NotABundle",
            Error::BundleRead(_) => "BundleRead",
            Error::Decode(_) => "Decode",
            Error::Transparency(_) => "Transparency",
            Error::Input(_) => "Input",
            Error::InBatch { .. } => "InBatch",
            Error::FutureDate { .. } => "FutureDate",
            Error::NoCheckpoint => "NoCheckpoint",
            Error::EntryTooLarge { .. } => "EntryTooLarge",
            Error::HeadMoved { .. } => "HeadMoved",
            Error::ClockSkew { .. } => "ClockSkew",
            Error::ClockBehind { .. } => "ClockBehind",
        }
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
