//! trail-core: a tamper-evident accountability ledger.
//!
//! Statements about recommendations (issued, answered, funded, claimed,
//! assessed) are kept as signed, hash-chained, append-only entries in a log
//! directory. Anyone can verify from the entries alone that nothing was
//! changed, removed or reordered, replay the state of any recommendation on
//! both time axes, check it against the rules auditors apply, and prove an
//! entry's place in a signed checkpoint to someone who has no copy of the log.
//!
//! The library never prints, never exits and never panics on input; every
//! failure is an [`Error`]. Code that needs trustworthy entries takes
//! [`VerifiedEntry`], which only [`Verifier`] can produce.
//!
//! # Using it
//!
//! Create a log, let a body append, verify, replay and prove:
//!
//! ```
//! use trail_core::merkle::{LeafIndex, TreeSize, verify_inclusion};
//! use trail_core::{Cut, Day, Event, Id, Log, SecretKey, SnapshotOptions, merkle_leaf_hash};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let admin = SecretKey::generate();
//! let log = Log::create(&dir.path().join("log"), "linden", &admin, Id::new("admin")?, "Log admin")?;
//!
//! // The administrator grants a watchdog a key with the issuer role...
//! let watchdog = SecretKey::generate();
//! let grant = format!(
//!     r#"{{"type": "key_granted", "actor": "iopc", "body": "Independent Office for Police Conduct",
//!         "public_key": "{}", "roles": ["issuer"], "date": "2022-01-01"}}"#,
//!     watchdog.public_key()
//! );
//! log.append(&admin, Event::from_json(&grant)?)?;
//!
//! // ...and the watchdog publishes a report with one recommendation.
//! log.append_all(&watchdog, vec![
//!     Event::from_json(r#"{"type": "report_published", "report": "LINDEN", "title": "Operation Linden", "date": "2022-01-10"}"#)?,
//!     Event::from_json(r#"{"type": "recommendation_issued", "rec": "LINDEN-R1", "report": "LINDEN",
//!         "addressees": ["iopc"], "subject": "Train every officer", "date": "2022-01-10"}"#)?,
//! ])?;
//!
//! // Verify every entry from the genesis: signatures, chain, roles, tree.
//! let verifier = log.verify_with(|_verified_chunk| Ok(()))?;
//! assert_eq!(verifier.len(), 4);
//!
//! // Replay: the state as on 2022-06-30, from every entry up to seq 3.
//! let view = log.replay_state(Cut::AtSeq(3), SnapshotOptions::default())?.view(Day::new(2022, 6, 30).unwrap());
//! assert_eq!(view.recs[&Id::new("LINDEN-R1")?].subject, "Train every officer");
//!
//! // Prove that entry 3 is in the tree of size 4, against that tree's root.
//! let size = log.tree_size();
//! let proof = log.inclusion_proof(3, size)?;
//! let bytes = log.entry_bytes(3, 3).next().expect("entry 3")?;
//! verify_inclusion(&merkle_leaf_hash(&bytes), LeafIndex(3), TreeSize(size), &proof, &log.tree_root(size)?)
//!     .expect("entry 3 is in the tree");
//! # Ok(())
//! # }
//! ```
//!
//! A reader who trusts no copy of the log checks signed checkpoints and proof
//! files instead ([`transparency`]); [`check()`] applies the auditors' rules
//! to a [`View`].

#![forbid(unsafe_code)]

// Namespaces a user of the library reads: the rules, the event payloads,
// the replayed views, the RFC 6962 / C2SP primitives, the proof and record
// files, the bundle format, tiles and the witness protocol.
pub mod bundle;
pub mod check;
pub mod event;
pub mod merkle;
pub mod state;
pub mod tiles;
pub mod transparency;
pub mod witness;

// Everything else is the library's own: its storage, its encoding (all of
// bincode lives in `encoding`), and the checks behind `Verifier`. What a user
// needs of them is re-exported below.
mod authority;
mod clock;
mod encoding;
mod entry;
mod error;
mod keys;
mod limits;
mod publish;
mod store;
mod transparency_error;
mod types;
mod verify;
mod words;

pub use authority::{Authority, Rejection};
pub use check::{CheckConfig, Finding, Rule, Severity, check};
pub use clock::{AppendOptions, MAX_FUTURE_DAYS};
pub use encoding::{
    DecodeFailure, ENTRY_FORMAT_VERSION, ENTRY_FORMAT_WITH_ORIGIN, entry_hash, merkle_leaf_hash,
    signing_input,
};
pub use entry::{Entry, UnsignedEntry};
pub use error::{BundleError, Damage, EncryptError, Error, ParseError, PublishError, Result};
pub use event::{Event, EventJsonError, EventKind, Role};
pub use keys::{EncryptedKeyFile, KeyFile, Passphrase, SecretKey, WorkFactor};
pub use limits::{MAX_ENTRY_BYTES, MAX_ID_LEN, MAX_LIST, MAX_LONG_TEXT, MAX_SHORT_TEXT};
pub use publish::{Published, publish};
pub use state::{State, View};
pub use store::{
    Appended, Arrival, BRIEF_WAIT, Head, Index, Log, MAX_CLOCK_SKEW, NewLog, OpenOptions,
    RecSelection, Repaired, SearchHit, SignedBatch, TreeExtension,
};
pub use store::{Cut, SnapshotOptions};
pub use types::{Day, Digest, EntryHash, Id, PublicKey, Signature, Timestamp};
pub use verify::{Problem, VerifiedEntry, Verifier, VerifyError};
pub use words::{json_name, seq_list, words};

/// The README's Rust example, compiled with the doctests so it cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExample;
