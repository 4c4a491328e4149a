//! Replay: the state of every recommendation, funding decision and actor,
//! folded from verified entries, on two independent time axes.
//!
//! The fold is split in two so that it can be incremental and still answer
//! questions about any effective date:
//!
//! - [`State`] is the fold itself. [`State::apply`] takes one [`VerifiedEntry`]
//!   at a time, in log order, and keeps what every entry says, keyed by seq,
//!   regardless of its effective date. It is serializable, so a prefix of the
//!   log can be saved as a snapshot and folded forward later.
//! - [`View`] is the projection of a `State` onto one effective date `at`
//!   ([`State::view`]): per recommendation the six status dimensions of
//!   DOMAIN.md kept apart, with the seqs behind each value.
//!
//! The recorded-time axis (`known_at`) and `--at-seq` are both prefixes of the
//! log, because a verified log never goes back in recorded time; they decide
//! which entries are folded. The effective-date axis (`at`) is a filter inside
//! the projection, because effective dates are not monotone in seq: a
//! backfilled entry can speak about any earlier day. [`as_of`] and
//! [`up_to_seq`] put the two together.
//!
//! Only [`VerifiedEntry`] values can be folded, so replay cannot run on
//! entries that were not verified.

mod project;
mod replay;
#[cfg(test)]
pub(crate) mod testlog;
#[cfg(test)]
mod tests;
mod view;

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::authority::Authority;
use crate::event::Event;
use crate::types::{EntryHash, Id, PublicKey, Timestamp};
use crate::verify::VerifiedEntry;

pub use crate::authority::{Grant, KeyInfo, Revocation, SuccessionInfo};
pub use replay::{as_of, up_to_seq};
pub use view::{
    ActorView, AssessmentView, ClaimView, ClockView, ClosureStatus, ClosureView, ExtensionView,
    FundingStep, FundingView, KeyView, Party, PositionView, RecView, ReportView, ResponseClock,
    ScheduleStatus, ScheduleView, SessionView, Standing, Statement, TargetChange, View,
};

/// An entry handed to [`State::apply`] out of log order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OutOfOrder {
    /// Not the seq the fold needs next.
    #[error("replay expected seq {expected} next but was given seq {found}")]
    Seq {
        /// The seq the fold needed next.
        expected: u64,
        /// The seq it was given.
        found: u64,
    },
    /// The right seq, but its previous-hash field is not the hash of the
    /// entry folded before it: an entry of another chain.
    #[error("replay was given seq {seq}, which does not link to the entry folded before it")]
    Link {
        /// The seq it was given.
        seq: u64,
    },
}

/// One statement entry as folded: what it says, who signed it and when it was recorded.
///
/// Key and succession entries are not kept here; they shape the registry instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct Record {
    /// The entry's seq.
    pub seq: u64,
    /// When it was recorded.
    pub recorded_at: Timestamp,
    /// The key that signed it.
    pub signer: PublicKey,
    /// The signer's actor when the entry was appended.
    pub actor: Option<Id>,
    /// For a progress claim (or a correction replacing one): whether the claim
    /// is the subject's own, decided as `authority` decided it at append time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Party>,
    /// The event.
    pub event: Event,
}

/// The fold of a prefix of a verified log; see the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct State {
    /// Seq of the last entry folded, if any.
    pub last_seq: Option<u64>,
    /// Hash of the last entry folded; a snapshot is valid only for this hash.
    pub last_hash: Option<EntryHash>,
    /// When the last entry folded was recorded.
    pub last_recorded_at: Option<Timestamp>,
    /// Who held which key and role, and who succeeded whom: the same
    /// registry append-time rules and verification keep, folded by the same
    /// code ([`Authority::apply`]).
    pub registry: Authority,
    /// Every statement entry (everything but key and succession entries), by seq.
    pub records: BTreeMap<u64, Record>,
    /// For each corrected seq, the seqs of the corrections that point at it, in log order.
    pub corrections: BTreeMap<u64, Vec<u64>>,
    /// Whether this is the fold of a selection of entries (some
    /// recommendations' and the key registry's, [`State::apply_selected`])
    /// rather than of a whole prefix; such a state answers only about what
    /// was selected, and cannot be folded forward entry by entry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub selection: bool,
}

impl State {
    /// An empty state, before the genesis entry.
    pub fn new() -> State {
        State::default()
    }

    /// The seq the next entry must have.
    pub fn next_seq(&self) -> u64 {
        self.last_seq.map_or(0, |s| s.saturating_add(1))
    }

    /// Folds the next verified entry into the state.
    ///
    /// Entries must come in log order with no gaps, starting at seq 0 (or just
    /// after the snapshot this state was loaded from); anything else is refused
    /// and leaves the state unchanged.
    pub fn apply(&mut self, entry: &VerifiedEntry) -> Result<(), OutOfOrder> {
        let expected = self.next_seq();
        if entry.seq() != expected || self.selection {
            return Err(OutOfOrder::Seq {
                expected,
                found: entry.seq(),
            });
        }
        // Each entry was verified in its own chain; this keeps two chains
        // from being folded as one.
        let links = match self.last_hash {
            Some(last) => entry.entry().unsigned.prev_hash == last,
            None => entry.seq() == 0,
        };
        if !links {
            return Err(OutOfOrder::Link { seq: entry.seq() });
        }
        self.fold(entry);
        Ok(())
    }

    /// Folds a verified entry chosen by a query: every entry that concerns
    /// the recommendations asked about, and every key and succession entry
    /// (which decide who signed for whom). Seqs may be skipped but must rise.
    /// The state is then a selection ([`State::selection`]): its view is
    /// complete for those recommendations only.
    pub fn apply_selected(&mut self, entry: &VerifiedEntry) -> Result<(), OutOfOrder> {
        let expected = self.next_seq();
        if entry.seq() < expected {
            return Err(OutOfOrder::Seq {
                expected,
                found: entry.seq(),
            });
        }
        self.selection = true;
        self.fold(entry);
        Ok(())
    }

    /// Folds one entry whose order the caller has checked.
    fn fold(&mut self, entry: &VerifiedEntry) {
        let u = &entry.entry().unsigned;
        let seq = u.seq;
        // A statement's signer is read before the registry folds it (it
        // changes no key), so the order here matters only for key entries.
        match &u.event {
            Event::LogCreated(_)
            | Event::KeyGranted(_)
            | Event::KeyRevoked(_)
            | Event::KeyRotated(_)
            | Event::BodySucceeded(_) => {
                self.registry.apply(seq, &u.signer, &u.event);
            }
            event => {
                let record = self.record(seq, u.recorded_at, u.signer, event);
                if let Event::Correction(c) = event {
                    self.corrections.entry(c.target_seq).or_default().push(seq);
                }
                self.records.insert(seq, record);
                self.registry.apply(seq, &u.signer, event);
            }
        }
        self.last_seq = Some(seq);
        self.last_hash = Some(entry.hash());
        self.last_recorded_at = Some(u.recorded_at);
    }

    /// Builds the record for a statement, classifying progress claims.
    fn record(&self, seq: u64, recorded_at: Timestamp, signer: PublicKey, event: &Event) -> Record {
        let actor = self.registry.actor_of(&signer).cloned();
        let party = match event {
            Event::ProgressClaim(c) => Some(self.party(actor.as_ref(), &c.subject)),
            Event::Correction(c) => match c.replacement.as_ref().map(|r| r.0.as_ref()) {
                // A replacement speaks for the entry it replaces, so the claim is
                // attributed to that entry's signer, not to whoever corrected it.
                Some(Event::ProgressClaim(claim)) => {
                    let original = self
                        .records
                        .get(&c.target_seq)
                        .and_then(|r| r.actor.as_ref());
                    Some(self.party(original, &claim.subject))
                }
                _ => None,
            },
            _ => None,
        };
        Record {
            seq,
            recorded_at,
            signer,
            actor,
            party,
            event: event.clone(),
        }
    }

    fn party(&self, actor: Option<&Id>, subject: &Id) -> Party {
        match actor {
            Some(a) if self.registry.answers_for(a, subject) => Party::FirstParty,
            _ => Party::ThirdParty,
        }
    }
}
