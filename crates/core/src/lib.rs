//! trail-core: a tamper-evident accountability ledger.
//!
//! Statements about recommendations (issued, answered, funded, claimed,
//! assessed) are kept as signed, hash-chained, append-only entries in a sled
//! store. Anyone can verify from the entries alone that nothing was changed,
//! removed or reordered.
//!
//! The library never prints, never exits and never panics on input; every
//! failure is an [`Error`]. Code that needs trustworthy entries takes
//! [`VerifiedEntry`], which only [`Verifier`] can produce.

#![forbid(unsafe_code)]

pub mod authority;
pub mod bundle;
pub mod check;
pub mod clock;
pub mod encoding;
pub mod entry;
pub mod entry_bundle;
pub mod error;
pub mod event;
pub mod keys;
pub mod limits;
pub mod merkle;
pub mod publish;
pub mod snapshot;
pub mod state;
pub mod store;
pub mod tiles;
pub mod transparency;
pub mod types;
pub mod verify;
pub mod witness;

pub use authority::{Authority, Rejection};
pub use check::{CheckConfig, Finding, Rule, Severity, check};
pub use clock::AppendOptions;
pub use entry::{Entry, UnsignedEntry};
pub use error::{Error, Result};
pub use event::{Event, EventKind, Role};
pub use keys::{EncryptedKeyFile, KeyFile, Passphrase, SecretKey, WorkFactor};
pub use state::{State, View, as_of, up_to_seq};
pub use store::{
    Appended, Arrival, Head, Index, Log, NewLog, OpenOptions, RecSelection, SearchHit,
};
pub use types::{Day, Digest, EntryHash, Id, PublicKey, Signature, Timestamp};
pub use verify::{Problem, VerifiedEntry, Verifier, VerifyError};
