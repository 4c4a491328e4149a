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

/// Shorthand for results in this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
