//! The projection of a [`State`](super::State) onto one effective date: what
//! `trail replay` prints and what `trail check` reads.
//!
//! Every value carries the seqs of the entries it rests on, so a reader can go
//! from any cell of the table to the signed statements behind it.

use std::collections::{BTreeMap, BTreeSet};

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::authority::{KeyInfo, SuccessionInfo, answers_for};
use crate::event::{ClaimStatus, Closure, Coverage, Event, FundingStage, Position, Role, Verdict};
use crate::types::{Day, EntryHash, Id, PublicKey, Timestamp};

/// Whose claim a progress claim is.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The signer answers for the claim's subject: the body's own claim.
    FirstParty,
    /// Someone else's claim about the subject: shown, never counted as the body's.
    ThirdParty,
}

/// Whether a statement still stands at the view's date.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "standing", rename_all = "snake_case")]
pub enum Standing {
    /// It stands.
    InForce,
    /// Retracted by the correction at seq `by`.
    Retracted {
        /// The correction's seq.
        by: u64,
    },
    /// Replaced by the correction at seq `by`.
    Replaced {
        /// The correction's seq.
        by: u64,
    },
}

/// One statement in a recommendation's history, as it stands at the view's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// Seq of the entry that says this (for a replacement, the correction's seq).
    pub seq: u64,
    /// For a replacement: the seq of the entry it replaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<u64>,
    /// For a correction (retraction or replacement): its reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction_reason: Option<String>,
    /// When the entry was recorded.
    pub recorded_at: Timestamp,
    /// The key behind the statement (for a replacement, the replaced entry's signer).
    pub signer: PublicKey,
    /// That key's actor.
    pub actor: Option<Id>,
    /// For claims: first or third party.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub party: Option<Party>,
    /// Whether it stands.
    #[serde(flatten)]
    pub standing: Standing,
    /// What it says (for a retraction, the correction event itself).
    pub event: Event,
}

impl Statement {
    /// The effective date of what it says.
    pub fn date(&self) -> Day {
        self.event.date()
    }

    /// Whether it stands at the view's date.
    pub fn in_force(&self) -> bool {
        self.standing == Standing::InForce && !matches!(self.event, Event::Correction(_))
    }

    /// The seqs it rests on: the replaced entry (if any), then its own.
    pub fn seqs(&self) -> Vec<u64> {
        self.replaces.into_iter().chain([self.seq]).collect()
    }
}

/// Where the response clock stands (dimension 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseClock {
    /// No response yet, and the due date has not passed.
    Awaiting,
    /// A response is recorded.
    Responded,
    /// No response, and the due date (with extensions) has passed.
    Overdue,
    /// No response yet, within a period the issuer extended.
    Extended,
}

/// An extension of the response period.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionView {
    /// The due date before this extension.
    pub previous_due: Day,
    /// The new last day.
    pub new_due: Day,
    /// When it was applied for (the grant date when not stated).
    pub requested_on: Day,
    /// When it was granted.
    pub granted_on: Day,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// The response clock with its due dates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockView {
    /// Where the clock stands on the view's date.
    pub status: ResponseClock,
    /// The due date stated when the recommendation was issued.
    pub original_due: Day,
    /// The due date in force, after extensions.
    pub due: Day,
    /// Extensions, in effective order.
    pub extensions: Vec<ExtensionView>,
    /// Date of the first response, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responded_on: Option<Day>,
    /// The seqs behind the status: issue, extensions, first response.
    pub seqs: Vec<u64>,
}

/// The addressee's position (dimension 2), from its latest response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionView {
    /// The position.
    pub position: Position,
    /// The response's date.
    pub date: Day,
    /// Who responded.
    pub actor: Option<Id>,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// A progress claim (dimension 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimView {
    /// The claimed status.
    pub status: ClaimStatus,
    /// The body whose progress is claimed.
    pub subject: Id,
    /// Who claims it.
    pub actor: Option<Id>,
    /// The subject's own claim, or someone else's.
    pub party: Party,
    /// The date the claim speaks about.
    pub date: Day,
    /// How many documents it cites.
    pub evidence: usize,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// The latest independent assessment (dimension 4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentView {
    /// The verdict.
    pub verdict: Verdict,
    /// How much was assessed.
    pub coverage: Coverage,
    /// The date it speaks about.
    pub date: Day,
    /// The assessor.
    pub actor: Option<Id>,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// Where implementation stands against the target date (dimension 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleStatus {
    /// No target date recorded.
    NoTarget,
    /// The original target has not passed.
    OnTrack,
    /// The target was moved and the new one has not passed.
    Revised,
    /// The target in force has passed without verified implementation.
    Late,
    /// Verified implemented, or closed as implemented.
    Met,
}

/// A change of target date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetChange {
    /// The target before (none for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<Day>,
    /// The target after.
    pub to: Day,
    /// The date of the statement that set it.
    pub date: Day,
    /// Whether it was a `target_revised` (with notice) rather than a response.
    pub revision: bool,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// The schedule, and how far it has moved from the original target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    /// Where it stands on the view's date.
    pub status: ScheduleStatus,
    /// The first target recorded.
    pub original_target: Option<Day>,
    /// The target in force.
    pub target: Option<Day>,
    /// Days from the original target to the one in force.
    pub slip_days: Option<i64>,
    /// Every change of target, in effective order.
    pub changes: Vec<TargetChange>,
    /// The seqs behind the status.
    pub seqs: Vec<u64>,
}

/// Open, or how it was closed (dimension 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosureStatus {
    /// Not closed.
    Open,
    /// Closed as implemented.
    Implemented,
    /// Closed as not implemented.
    NotImplemented,
    /// Closed as superseded.
    Superseded,
    /// Withdrawn.
    Withdrawn,
}

impl From<Closure> for ClosureStatus {
    fn from(c: Closure) -> ClosureStatus {
        match c {
            Closure::Implemented => ClosureStatus::Implemented,
            Closure::NotImplemented => ClosureStatus::NotImplemented,
            Closure::Superseded => ClosureStatus::Superseded,
            Closure::Withdrawn => ClosureStatus::Withdrawn,
        }
    }
}

/// Closure, with who closed it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureView {
    /// Open or the outcome.
    pub status: ClosureStatus,
    /// The closure's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<Day>,
    /// Who closed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<Id>,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// One recommendation on the view's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecView {
    /// The recommendation.
    pub rec: Id,
    /// Its report.
    pub report: Id,
    /// What it is about.
    pub subject: String,
    /// The day it was made.
    pub issued_on: Day,
    /// Who issued it.
    pub issuer: Option<Id>,
    /// Who must respond.
    pub addressees: Vec<Id>,
    /// The seqs behind the issue (the issuing entry, and a correction of it).
    pub issued_seqs: Vec<u64>,
    /// Dimension 1: the response clock, with due dates and extensions.
    pub response_clock: ClockView,
    /// Dimension 2: the addressee's latest position.
    pub position: Option<PositionView>,
    /// Dimension 3: the latest first-party claim (what counts as the addressee's).
    pub claimed: Option<ClaimView>,
    /// Every claim in force, first and third party, in effective order.
    pub claims: Vec<ClaimView>,
    /// Dimension 4: the latest assessment.
    pub verified: Option<AssessmentView>,
    /// Dimension 5: the schedule.
    pub schedule: ScheduleView,
    /// Dimension 6: closure.
    pub closure: ClosureView,
    /// Funding decisions that name it.
    pub funding: Vec<Id>,
    /// Seqs of accountability sessions that discussed it.
    pub sessions: Vec<u64>,
    /// Every statement about it up to the view's date, corrected ones included,
    /// in effective order (date, then seq).
    pub history: Vec<Statement>,
}

impl RecView {
    /// The statements that stand, in effective order.
    pub fn in_force(&self) -> impl Iterator<Item = &Statement> {
        self.history.iter().filter(|s| s.in_force())
    }
}

/// One stage of a funding decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingStep {
    /// The stage reached.
    pub stage: FundingStage,
    /// Its date.
    pub date: Day,
    /// Amount in minor units.
    pub amount_minor: u64,
    /// Recommendations named at this stage.
    pub recs: Vec<Id>,
    /// Last day of the period the money covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<Day>,
    /// Who recorded it.
    pub actor: Option<Id>,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// A funding decision with its stage history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundingView {
    /// The decision-log reference.
    pub decision: Id,
    /// ISO 4217 currency of the latest stage.
    pub currency: String,
    /// What the money is for (latest stage).
    pub purpose: String,
    /// Who receives it (latest stage that says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The latest stage.
    pub stage: FundingStage,
    /// Every recommendation named at any stage.
    pub recs: Vec<Id>,
    /// Every stage, in effective order.
    pub stages: Vec<FundingStep>,
}

impl FundingView {
    /// The stage reached on or before `day`, if any.
    pub fn stage_on(&self, day: Day) -> Option<&FundingStep> {
        self.stages.iter().rev().find(|s| s.date <= day)
    }
}

/// An accountability session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// The forum.
    pub forum: String,
    /// Its date.
    pub date: Day,
    /// Recommendations discussed.
    pub recs: Vec<Id>,
    /// Who recorded it.
    pub actor: Option<Id>,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// A published report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportView {
    /// The report id.
    pub report: Id,
    /// Its title.
    pub title: String,
    /// Publication date.
    pub date: Day,
    /// Who published it.
    pub issuer: Option<Id>,
    /// Recommendations issued under it by the view's date: the issuer's list.
    pub recs: Vec<Id>,
    /// The seqs it rests on.
    pub seqs: Vec<u64>,
}

/// A key as of the view's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// The key.
    pub public_key: PublicKey,
    /// Roles granted by the view's date.
    pub roles: Vec<Role>,
    /// First grant's effective date.
    pub granted_on: Day,
    /// Seqs of its grants.
    pub grant_seqs: Vec<u64>,
    /// Revocation or rotation date, if by the view's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_on: Option<Day>,
    /// Seq of the revocation or rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_seq: Option<u64>,
}

/// An actor as of the view's date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorView {
    /// Its body's name.
    pub body: String,
    /// Its keys.
    pub keys: Vec<KeyView>,
    /// Roles held through keys not revoked by the view's date.
    pub roles: Vec<Role>,
    /// The body that answers for it from a succession on or before the view's date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succeeded_by: Option<Id>,
    /// Seq of that succession.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub succession_seq: Option<u64>,
}

/// Everything the log says, as on one effective date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// The effective date: only statements dated on or before it count.
    pub at: Day,
    /// The recorded-time cut the entries were chosen by, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub known_at: Option<Timestamp>,
    /// Seq of the last entry folded.
    pub last_seq: Option<u64>,
    /// Hash of the last entry folded.
    pub last_hash: Option<EntryHash>,
    /// Reports, by id.
    pub reports: BTreeMap<Id, ReportView>,
    /// Recommendations, by id.
    pub recs: BTreeMap<Id, RecView>,
    /// Funding decisions, by id.
    pub funding: BTreeMap<Id, FundingView>,
    /// Accountability sessions, in effective order.
    pub sessions: Vec<SessionView>,
    /// Actors, by id.
    pub actors: BTreeMap<Id, ActorView>,
    /// Every key folded, with dated grants and revocation, whatever their dates:
    /// checks need to know whether a key was valid on a statement's own date.
    pub keys: BTreeMap<PublicKey, KeyInfo>,
    /// Every succession folded, keyed by the old actor, with its effective date.
    pub successions: BTreeMap<Id, SuccessionInfo>,
}

impl View {
    /// Keeps only what concerns `recs`: their recommendations, their
    /// reports (listing only them), the funding linked to them and the
    /// sessions that discussed them. Actors and keys stay whole.
    pub fn restrict(&mut self, recs: &[Id]) {
        let keep: BTreeSet<&Id> = recs.iter().collect();
        self.recs.retain(|id, _| keep.contains(id));
        let reports: BTreeSet<Id> = self.recs.values().map(|r| r.report.clone()).collect();
        self.reports.retain(|id, _| reports.contains(id));
        for report in self.reports.values_mut() {
            report.recs.retain(|r| keep.contains(r));
        }
        let linked: BTreeSet<Id> = self
            .recs
            .values()
            .flat_map(|r| r.funding.iter().cloned())
            .collect();
        self.funding.retain(|id, _| linked.contains(id));
        self.sessions
            .retain(|s| s.recs.iter().any(|r| keep.contains(r)));
    }

    /// The recommendations under their reports, both in natural order (R2
    /// before R10), as people read them.
    pub fn recs_by_report(&self) -> Vec<(&Id, Vec<&RecView>)> {
        let mut map: BTreeMap<&Id, Vec<&RecView>> = BTreeMap::new();
        for rec in self.recs.values() {
            map.entry(&rec.report).or_default().push(rec);
        }
        let mut out: Vec<(&Id, Vec<&RecView>)> = map.into_iter().collect();
        out.sort_by_cached_key(|(id, _)| Id::natural_key(id.as_str()));
        for (_, recs) in &mut out {
            recs.sort_by_cached_key(|r| Id::natural_key(r.rec.as_str()));
        }
        out
    }

    /// Whether `actor` answers for `addressee` on `day`: it is the addressee,
    /// or its successor through successions in effect by then.
    pub fn answers_for_on(&self, actor: &Id, addressee: &Id, day: Day) -> bool {
        answers_for(&self.successions, actor, addressee, Some(day))
    }

    /// Whether `actor` answers for `addressee` through any succession folded,
    /// whatever its date (the rule `authority` applies at append time).
    pub fn answers_for(&self, actor: &Id, addressee: &Id) -> bool {
        answers_for(&self.successions, actor, addressee, None)
    }
}
