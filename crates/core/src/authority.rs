//! Who may sign what: the one registry of keys, actors, reports,
//! recommendations and successions, built from the log itself, and the rules
//! that refuse an entry at append and flag it at verify.
//!
//! The same [`Authority::check`] runs in both places, so a log built by other
//! software is held to exactly the rules `trail append` enforces. Replay
//! folds the same registry ([`Authority::apply`]) into its state: each grant
//! and revocation keeps its seq (what append-time rules go by) and its
//! effective date (what "was this key valid on that day?" goes by).

use std::collections::{BTreeMap, BTreeSet};

use bincode::{Decode, Encode};

use crate::event::{Event, EventKind, Role};
use crate::types::{Day, Id, PublicKey};

/// One grant of roles to a key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Grant {
    /// The granting entry (a key grant, the genesis entry or a rotation).
    pub seq: u64,
    /// Its effective date: the key holds these roles from this day on.
    pub date: Day,
    /// Roles granted.
    pub roles: Vec<Role>,
}

/// The end of a key: revoked by an admin or rotated away by its holder.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct Revocation {
    /// The revoking or rotating entry.
    pub seq: u64,
    /// Its effective date.
    pub date: Day,
    /// Whether the key was rotated (replaced by its holder) rather than revoked.
    pub rotated: bool,
}

/// What the registry knows about one key.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
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
    /// Every role any grant gave, whatever its date: what append-time rules
    /// go by, since entries are checked in seq order.
    pub fn roles(&self) -> Vec<Role> {
        self.roles_where(|_| true)
    }

    /// The roles granted with an effective date on or before `day`.
    pub fn roles_on(&self, day: Day) -> Vec<Role> {
        self.roles_where(|g| g.date <= day)
    }

    fn roles_where(&self, keep: impl Fn(&Grant) -> bool) -> Vec<Role> {
        let mut roles: Vec<Role> = self
            .grants
            .iter()
            .filter(|g| keep(g))
            .flat_map(|g| g.roles.iter().copied())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Whether any grant gave `role`.
    pub fn holds(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.roles.contains(&role))
    }

    /// The seq of the entry that revoked or rotated away the key, if any.
    pub fn revoked_seq(&self) -> Option<u64> {
        self.revoked.as_ref().map(|r| r.seq)
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

/// What the registry knows about one recommendation.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct RecRecord {
    /// The report it belongs to.
    pub report: Id,
    /// Actors it is addressed to.
    pub addressees: Vec<Id>,
    /// Seq of the entry that issued it.
    pub issued_seq: u64,
}

/// A succession: `successor` answers for the old actor from `date` on.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize)]
pub struct SuccessionInfo {
    /// The body that takes over.
    pub successor: Id,
    /// The day it takes effect.
    pub date: Day,
    /// The succession entry.
    pub seq: u64,
}

/// A registry row changed by an entry; the store persists exactly these.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Row {
    /// A key record.
    Key(PublicKey),
    /// An actor's body name.
    Actor(Id),
    /// A report id.
    Report(Id),
    /// A recommendation record.
    Rec(Id),
    /// A succession record, keyed by the old actor.
    Succession(Id),
}

/// Why an entry may not be appended (or, at verify, why it should not be there).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The first entry must create the log.
    #[error("the first entry must be log_created, not {0}")]
    GenesisMissing(EventKind),
    /// `log_created` appears after seq 0.
    #[error("log_created may only be the first entry")]
    GenesisRepeated,
    /// The genesis entry is signed by a key other than the one it names.
    #[error("log_created must be signed by the admin key it names")]
    GenesisSigner,
    /// The signing key was never granted.
    #[error("key {0} is not registered in this log")]
    UnknownKey(String),
    /// The signing key was revoked before this entry.
    #[error("key {key} of {actor} was revoked at seq {revoked_seq}")]
    RevokedKey {
        /// Short form of the key.
        key: String,
        /// Its actor.
        actor: Id,
        /// The revoking entry.
        revoked_seq: u64,
    },
    /// The signer lacks the role the event needs.
    #[error("{actor} (key {key}) may not sign {kind}: it needs the {needed} role")]
    MissingRole {
        /// The signer's actor.
        actor: Id,
        /// Short form of the key.
        key: String,
        /// The event kind.
        kind: EventKind,
        /// The role(s) that would allow it.
        needed: String,
    },
    /// The recommendation named has not been issued in this log.
    #[error("unknown recommendation {0}")]
    UnknownRec(Id),
    /// The report named has not been published in this log.
    #[error("unknown report {0}")]
    UnknownReport(Id),
    /// A recommendation or report id is used twice.
    #[error("{what} {id} already exists")]
    Duplicate {
        /// "recommendation" or "report".
        what: &'static str,
        /// The id.
        id: Id,
    },
    /// A respondent answers a recommendation that is not addressed to it.
    #[error("{rec} is not addressed to {actor} (addressees: {addressees})")]
    NotAddressee {
        /// The recommendation.
        rec: Id,
        /// The signer's actor.
        actor: Id,
        /// Who it is addressed to.
        addressees: String,
    },
    /// A key problem in a grant, revoke or rotation.
    #[error("{0}")]
    KeyChange(String),
    /// The actor named is not registered.
    #[error("unknown actor {0}")]
    UnknownActor(Id),
    /// A correction that points at something it may not correct.
    #[error("correction of seq {target}: {problem}")]
    BadCorrection {
        /// The target seq.
        target: u64,
        /// What is wrong.
        problem: String,
    },
}

/// Read access to earlier entries, which a correction needs to check its target.
pub trait History {
    /// The signer and kind of the entry at `seq`, if it exists.
    fn signer_and_kind(&self, seq: u64) -> Option<(PublicKey, EventKind)>;
}

/// The registry of keys, actors, reports and recommendations at one point in the log.
#[derive(
    Clone, Debug, Default, PartialEq, Eq, Encode, Decode, serde::Serialize, serde::Deserialize,
)]
pub struct Authority {
    /// Every key ever granted.
    pub keys: BTreeMap<PublicKey, KeyInfo>,
    /// Every actor ever registered, with its body's name.
    pub actors: BTreeMap<Id, String>,
    /// Every report published.
    pub reports: BTreeSet<Id>,
    /// Every recommendation issued.
    pub recs: BTreeMap<Id, RecRecord>,
    /// Successions, keyed by the old actor.
    pub successions: BTreeMap<Id, SuccessionInfo>,
}

fn short(key: &PublicKey) -> String {
    key.short()
}

impl Authority {
    /// The actor a key signs for, if the key is registered.
    pub fn actor_of(&self, key: &PublicKey) -> Option<&Id> {
        self.keys.get(key).map(|k| &k.actor)
    }

    /// Whether `actor` answers for `addressee`: it is the addressee or its
    /// successor, through any succession folded so far (as at append time).
    pub fn answers_for(&self, actor: &Id, addressee: &Id) -> bool {
        answers_for(&self.successions, actor, addressee, None)
    }

    /// The same, counting only successions in effect on `day`.
    pub fn answers_for_on(&self, actor: &Id, addressee: &Id, day: Day) -> bool {
        answers_for(&self.successions, actor, addressee, Some(day))
    }

    fn active_admin_keys(&self) -> usize {
        self.keys
            .values()
            .filter(|k| k.revoked.is_none() && k.holds(Role::Admin))
            .count()
    }

    /// Checks that `signer` may append `event` as entry `seq`.
    pub fn check(
        &self,
        seq: u64,
        signer: &PublicKey,
        event: &Event,
        history: &dyn History,
    ) -> Result<(), Rejection> {
        if seq == 0 {
            return match event {
                Event::LogCreated(g) if g.public_key == *signer => {
                    // Same rule as every later grant: no small-order ("weak") keys.
                    let usable = g.public_key.verifying_key().is_some_and(|k| !k.is_weak());
                    if usable {
                        Ok(())
                    } else {
                        Err(Rejection::KeyChange(format!(
                            "{} is not a usable ed25519 public key",
                            g.public_key
                        )))
                    }
                }
                Event::LogCreated(_) => Err(Rejection::GenesisSigner),
                other => Err(Rejection::GenesisMissing(other.kind())),
            };
        }
        let key = self
            .keys
            .get(signer)
            .ok_or_else(|| Rejection::UnknownKey(signer.to_string()))?;
        if let Some(revoked_seq) = key.revoked_seq() {
            return Err(Rejection::RevokedKey {
                key: short(signer),
                actor: key.actor.clone(),
                revoked_seq,
            });
        }
        let need = |roles: &[Role]| -> Result<(), Rejection> {
            if roles.iter().any(|r| key.holds(*r)) {
                return Ok(());
            }
            let names: Vec<_> = roles.iter().map(|r| r.name()).collect();
            Err(Rejection::MissingRole {
                actor: key.actor.clone(),
                key: short(signer),
                kind: event.kind(),
                needed: names.join(" or "),
            })
        };
        match event {
            Event::LogCreated(_) => Err(Rejection::GenesisRepeated),
            Event::KeyGranted(g) => {
                need(&[Role::Admin])?;
                self.check_grant(&g.actor, &g.body, &g.public_key)
            }
            Event::KeyRevoked(r) => {
                need(&[Role::Admin])?;
                self.check_revoke(&r.public_key)
            }
            Event::KeyRotated(r) => {
                // Rotation moves an actor to a key nobody holds yet; rotating onto
                // an existing key would merge or resurrect key records.
                if self.keys.contains_key(&r.new_public_key) {
                    return Err(Rejection::KeyChange(format!(
                        "key {} is already registered; rotate to a new key",
                        short(&r.new_public_key)
                    )));
                }
                self.check_new_key(&r.new_public_key, &key.actor)
            }
            Event::ReportPublished(r) => {
                need(&[Role::Issuer])?;
                if self.reports.contains(&r.report) {
                    return Err(Rejection::Duplicate {
                        what: "report",
                        id: r.report.clone(),
                    });
                }
                Ok(())
            }
            Event::RecommendationIssued(r) => {
                need(&[Role::Issuer])?;
                if !self.reports.contains(&r.report) {
                    return Err(Rejection::UnknownReport(r.report.clone()));
                }
                if self.recs.contains_key(&r.rec) {
                    return Err(Rejection::Duplicate {
                        what: "recommendation",
                        id: r.rec.clone(),
                    });
                }
                Ok(())
            }
            Event::ResponseRecorded(r) => {
                need(&[Role::Respondent])?;
                self.check_addressed(&r.rec, &key.actor)
            }
            Event::TargetRevised(r) => {
                need(&[Role::Respondent])?;
                self.check_addressed(&r.rec, &key.actor)
            }
            Event::ProgressClaim(c) => {
                let rec = self.rec(&c.rec)?;
                if self.answers_for(&key.actor, &c.subject) {
                    // A body's claim about itself counts as the addressee's own
                    // claim, so it must come from a respondent it is addressed to.
                    need(&[Role::Respondent])?;
                    self.check_addressed(&c.rec, &key.actor)
                } else {
                    // Anyone may say something about another body; replay records it
                    // as a third-party claim, never as the addressee's.
                    let _ = rec;
                    Ok(())
                }
            }
            Event::Assessment(a) => {
                need(&[Role::Assessor])?;
                self.rec(&a.rec).map(|_| ())
            }
            Event::FundingDecision(f) => {
                need(&[Role::Funder])?;
                f.recs.iter().try_for_each(|r| self.rec(r).map(|_| ()))
            }
            Event::AccountabilitySession(s) => {
                need(&[Role::Funder, Role::Issuer])?;
                s.recs.iter().try_for_each(|r| self.rec(r).map(|_| ()))
            }
            Event::ResponseDeadlineExtended(r) => {
                need(&[Role::Issuer])?;
                self.rec(&r.rec).map(|_| ())
            }
            Event::RecommendationClosed(r) => {
                need(&[Role::Issuer])?;
                self.rec(&r.rec).map(|_| ())
            }
            Event::BodySucceeded(s) => {
                need(&[Role::Admin])?;
                if !self.actors.contains_key(&s.old_actor) {
                    return Err(Rejection::UnknownActor(s.old_actor.clone()));
                }
                if self.answers_for(&s.old_actor, &s.new_actor) {
                    return Err(Rejection::KeyChange(format!(
                        "{} already answers for {}; the succession would make a cycle",
                        s.old_actor, s.new_actor
                    )));
                }
                Ok(())
            }
            Event::Correction(c) => {
                let is_admin = key.holds(Role::Admin);
                self.check_correction(seq, &key.actor, is_admin, c, history)
            }
        }
    }

    fn rec(&self, rec: &Id) -> Result<&RecRecord, Rejection> {
        self.recs
            .get(rec)
            .ok_or_else(|| Rejection::UnknownRec(rec.clone()))
    }

    fn check_addressed(&self, rec: &Id, actor: &Id) -> Result<(), Rejection> {
        let record = self.rec(rec)?;
        if record.addressees.iter().any(|a| self.answers_for(actor, a)) {
            return Ok(());
        }
        let names: Vec<_> = record.addressees.iter().map(Id::as_str).collect();
        Err(Rejection::NotAddressee {
            rec: rec.clone(),
            actor: actor.clone(),
            addressees: names.join(", "),
        })
    }

    fn check_new_key(&self, key: &PublicKey, actor: &Id) -> Result<(), Rejection> {
        let valid = key.verifying_key().is_some_and(|k| !k.is_weak());
        if !valid {
            return Err(Rejection::KeyChange(format!(
                "{key} is not a usable ed25519 public key"
            )));
        }
        match self.keys.get(key) {
            Some(k) if k.revoked.is_some() => Err(Rejection::KeyChange(format!(
                "key {} was revoked; a revoked key cannot be used again",
                short(key)
            ))),
            Some(k) if k.actor != *actor => Err(Rejection::KeyChange(format!(
                "key {} already belongs to {}",
                short(key),
                k.actor
            ))),
            _ => Ok(()),
        }
    }

    fn check_grant(&self, actor: &Id, body: &str, key: &PublicKey) -> Result<(), Rejection> {
        if let Some(existing) = self.actors.get(actor)
            && existing != body
        {
            return Err(Rejection::KeyChange(format!(
                "actor {actor} is registered as {existing:?}, not {body:?}"
            )));
        }
        self.check_new_key(key, actor)
    }

    fn check_revoke(&self, key: &PublicKey) -> Result<(), Rejection> {
        let record = self
            .keys
            .get(key)
            .ok_or_else(|| Rejection::KeyChange(format!("key {} is not registered", short(key))))?;
        if record.revoked.is_some() {
            return Err(Rejection::KeyChange(format!(
                "key {} is already revoked",
                short(key)
            )));
        }
        if record.holds(Role::Admin) && self.active_admin_keys() == 1 {
            return Err(Rejection::KeyChange(
                "that is the last admin key; grant another admin first".into(),
            ));
        }
        Ok(())
    }

    fn check_correction(
        &self,
        seq: u64,
        actor: &Id,
        is_admin: bool,
        c: &crate::event::Correction,
        history: &dyn History,
    ) -> Result<(), Rejection> {
        let bad = |problem: String| Rejection::BadCorrection {
            target: c.target_seq,
            problem,
        };
        if c.target_seq >= seq {
            return Err(bad("a correction can only point at an earlier entry".into()));
        }
        let (target_signer, target_kind) = history
            .signer_and_kind(c.target_seq)
            .ok_or_else(|| bad("no such entry".into()))?;
        if matches!(
            target_kind,
            EventKind::LogCreated
                | EventKind::KeyGranted
                | EventKind::KeyRevoked
                | EventKind::KeyRotated
                | EventKind::BodySucceeded
                | EventKind::Correction
        ) {
            return Err(bad(format!(
                "{target_kind} entries cannot be corrected; record a new event instead"
            )));
        }
        let target_actor = self.actor_of(&target_signer);
        if !is_admin && target_actor != Some(actor) {
            return Err(bad(format!(
                "it was signed by {}; only that actor or an admin may correct it",
                target_actor.map_or("an unknown key", Id::as_str)
            )));
        }
        if let Some(replacement) = &c.replacement {
            let kind = replacement.0.kind();
            if kind != target_kind {
                return Err(bad(format!(
                    "the replacement is {kind} but the entry corrected is {target_kind}"
                )));
            }
            if let Some(rec) = replacement.0.rec() {
                self.rec(rec)?;
            }
        }
        Ok(())
    }

    /// Records the effect of an accepted entry; returns the rows it changed.
    pub fn apply(&mut self, seq: u64, signer: &PublicKey, event: &Event) -> Vec<Row> {
        match event {
            Event::LogCreated(g) => {
                self.actors.insert(g.actor.clone(), g.body.clone());
                self.grant(&g.actor, g.public_key, seq, g.date, &[Role::Admin]);
                vec![Row::Actor(g.actor.clone()), Row::Key(g.public_key)]
            }
            Event::KeyGranted(g) => {
                self.actors.insert(g.actor.clone(), g.body.clone());
                self.grant(&g.actor, g.public_key, seq, g.date, &g.roles);
                vec![Row::Actor(g.actor.clone()), Row::Key(g.public_key)]
            }
            Event::KeyRevoked(r) => {
                self.revoke(&r.public_key, seq, r.date, false);
                vec![Row::Key(r.public_key)]
            }
            Event::KeyRotated(r) => {
                let Some(old) = self.keys.get(signer) else {
                    return Vec::new();
                };
                // The new key takes over every role the old one held.
                let (actor, roles) = (old.actor.clone(), old.roles());
                self.revoke(signer, seq, r.date, true);
                self.grant(&actor, r.new_public_key, seq, r.date, &roles);
                vec![Row::Key(*signer), Row::Key(r.new_public_key)]
            }
            Event::ReportPublished(r) => {
                self.reports.insert(r.report.clone());
                vec![Row::Report(r.report.clone())]
            }
            Event::RecommendationIssued(r) => {
                self.recs.insert(
                    r.rec.clone(),
                    RecRecord {
                        report: r.report.clone(),
                        addressees: r.addressees.clone(),
                        issued_seq: seq,
                    },
                );
                vec![Row::Rec(r.rec.clone())]
            }
            Event::BodySucceeded(s) => {
                self.successions.insert(
                    s.old_actor.clone(),
                    SuccessionInfo {
                        successor: s.new_actor.clone(),
                        date: s.date,
                        seq,
                    },
                );
                vec![Row::Succession(s.old_actor.clone())]
            }
            _ => Vec::new(),
        }
    }
}

impl Authority {
    fn grant(&mut self, actor: &Id, key: PublicKey, seq: u64, date: Day, roles: &[Role]) {
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

    fn revoke(&mut self, key: &PublicKey, seq: u64, date: Day, rotated: bool) {
        if let Some(info) = self.keys.get_mut(key) {
            info.revoked = Some(Revocation { seq, date, rotated });
        }
    }
}

/// Follows the succession chain from `addressee` looking for `actor`. With
/// `on`, only successions in effect on that day count.
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
