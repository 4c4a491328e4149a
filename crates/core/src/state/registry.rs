//! Keys, roles and successions as replay sees them: with effective dates, so
//! that "was this key valid on that day?" can be answered, which the append-time
//! registry in `authority` (seq order only) cannot.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::State;
use crate::event::Role;
use crate::types::{Day, Id, PublicKey};

/// One grant of roles to a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct Grant {
    /// The granting entry (a key grant, the genesis entry or a rotation).
    pub seq: u64,
    /// Its effective date: the key holds these roles from this day on.
    pub date: Day,
    /// Roles granted.
    pub roles: Vec<Role>,
}

/// The end of a key: revoked by an admin or rotated away by its holder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct Revocation {
    /// The revoking or rotating entry.
    pub seq: u64,
    /// Its effective date.
    pub date: Day,
    /// Whether the key was rotated (replaced by its holder) rather than revoked.
    pub rotated: bool,
}

/// What replay knows about one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct KeyInfo {
    /// The actor the key signs for.
    pub actor: Id,
    /// Every grant, in log order.
    pub grants: Vec<Grant>,
    /// The revocation or rotation, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

impl KeyInfo {
    /// The roles granted with an effective date on or before `day`.
    pub fn roles_on(&self, day: Day) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .grants
            .iter()
            .filter(|g| g.date <= day)
            .flat_map(|g| g.roles.iter().copied())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// The earliest effective date of any grant.
    pub fn granted_on(&self) -> Option<Day> {
        self.grants.iter().map(|g| g.date).min()
    }

    /// Whether the key could speak for its actor on `day`: granted on or before
    /// it, and not revoked before it (a key still signs on the day it is revoked).
    pub fn valid_on(&self, day: Day) -> bool {
        let granted = self.granted_on().is_some_and(|g| g <= day);
        let revoked = self.revoked.as_ref().is_some_and(|r| r.date < day);
        granted && !revoked
    }
}

/// A succession: `successor` answers for the old actor from `date` on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct SuccessionInfo {
    /// The body that takes over.
    pub successor: Id,
    /// The day it takes effect.
    pub date: Day,
    /// The succession entry.
    pub seq: u64,
}

impl State {
    pub(super) fn grant(
        &mut self,
        actor: &Id,
        key: PublicKey,
        seq: u64,
        date: Day,
        roles: &[Role],
    ) {
        let info = self.keys.entry(key).or_insert_with(|| KeyInfo {
            actor: actor.clone(),
            grants: Vec::new(),
            revoked: None,
        });
        info.grants.push(Grant {
            seq,
            date,
            roles: roles.to_vec(),
        });
    }

    pub(super) fn revoke(&mut self, key: &PublicKey, seq: u64, date: Day, rotated: bool) {
        if let Some(info) = self.keys.get_mut(key) {
            info.revoked = Some(Revocation { seq, date, rotated });
        }
    }

    /// Whether `actor` answers for `addressee`: it is the addressee or its
    /// successor. With `on`, only successions in effect on that day count;
    /// without it, every succession folded so far counts, as at append time.
    pub fn answers_for(&self, actor: &Id, addressee: &Id, on: Option<Day>) -> bool {
        answers_for(&self.successions, actor, addressee, on)
    }
}

/// Follows the succession chain from `addressee` looking for `actor`.
pub(crate) fn answers_for(
    successions: &BTreeMap<Id, SuccessionInfo>,
    actor: &Id,
    addressee: &Id,
    on: Option<Day>,
) -> bool {
    let mut current = addressee;
    // A chain longer than the number of successions would mean a cycle.
    for _ in 0..=successions.len() {
        if current == actor {
            return true;
        }
        match successions.get(current) {
            Some(s) if on.is_none_or(|d| s.date <= d) => current = &s.successor,
            _ => return false,
        }
    }
    false
}
