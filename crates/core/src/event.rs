//! The typed events an entry can carry, and the JSON form users write and read.
//!
//! Every event has an effective `date`: the day it speaks about, which may be
//! long before the entry was recorded. The binary form of each kind is fixed by
//! its [`EventKind`] code and its body's field order (docs/FORMAT.md); new kinds
//! get new codes, so existing entries never change their bytes.

use std::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_LIST, MAX_LONG_TEXT, MAX_SHORT_TEXT};
use crate::types::{Day, Digest, Id, PublicKey};

/// A role a key can hold; what each may sign is decided in `authority`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Grants and revokes keys, records successions.
    Admin,
    /// Publishes reports and issues, extends and closes recommendations.
    Issuer,
    /// Answers recommendations addressed to its actor and reports progress on them.
    Respondent,
    /// Records funding decisions and accountability sessions.
    Funder,
    /// Records independent assessments.
    Assessor,
    /// Signs checkpoints of the log (transparency-log operator).
    Operator,
    /// Cosigns checkpoints after checking consistency (transparency-log witness).
    Witness,
}

impl Role {
    /// Every role, in code order.
    pub const ALL: [Role; 7] = [
        Role::Admin,
        Role::Issuer,
        Role::Respondent,
        Role::Funder,
        Role::Assessor,
        Role::Operator,
        Role::Witness,
    ];

    /// The role's name as written in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Issuer => "issuer",
            Role::Respondent => "respondent",
            Role::Funder => "funder",
            Role::Assessor => "assessor",
            Role::Operator => "operator",
            Role::Witness => "witness",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Role {
    type Err = crate::error::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Role::ALL.iter().map(|r| r.name()).collect();
                crate::error::ParseError::UnknownName {
                    what: "role",
                    given: s.to_owned(),
                    names: names.join(", "),
                }
            })
    }
}

/// A document identified by name and BLAKE3 digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct DocumentRef {
    /// File name or title of the document.
    pub name: String,
    /// BLAKE3 of the document's bytes (`trail evidence FILE` prints it).
    pub blake3: Digest,
}

/// What sort of source a piece of evidence is; self reports count for least.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// The body's own account of its work.
    SelfReport,
    /// A statement by someone other than the body.
    ThirdPartyStatement,
    /// Minutes or a record of a meeting.
    MeetingRecord,
    /// An inspection by an independent body.
    IndependentInspection,
    /// An audit.
    Audit,
}

/// A document cited in support of a claim or assessment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// File name or title of the document.
    pub name: String,
    /// BLAKE3 of the document's bytes.
    pub blake3: Digest,
    /// What sort of source it is.
    pub kind: EvidenceKind,
    /// The date the document itself bears, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dated: Option<Day>,
}

/// The genesis event: names the log and makes its first key an admin.
/// Its canonical bytes are written by hand in encoding.rs, because the
/// origin, when there is one, is carried by entry format 2 only.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogCreated {
    /// The log's name, e.g. "Operation Linden recommendations".
    pub name: String,
    /// The administrator's actor id.
    pub actor: Id,
    /// The administrator's organisation.
    pub body: String,
    /// The administrator's key; it must be the key that signs the genesis entry.
    pub public_key: PublicKey,
    /// Effective date.
    pub date: Day,
    /// The log's checkpoint origin, a schema-less URL prefix as C2SP
    /// expects (`watchdog.example.org/linden`); without it the origin is
    /// `trail/` and the genesis entry hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// Registers a key for an actor with some roles (or adds roles to a key it has).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct KeyGranted {
    /// The actor the key belongs to, e.g. "syp".
    pub actor: Id,
    /// The organisation's name, e.g. "South Yorkshire Police".
    pub body: String,
    /// The key being granted.
    pub public_key: PublicKey,
    /// Roles the key holds from this entry on.
    pub roles: Vec<Role>,
    /// Effective date.
    pub date: Day,
}

/// Revokes a key: it signs nothing from this entry on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    /// The key being revoked.
    pub public_key: PublicKey,
    /// Why, in plain words.
    pub reason: String,
    /// Effective date.
    pub date: Day,
}

/// Moves an actor from the signing key to a new key, without an admin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct KeyRotated {
    /// The key that takes over the signer's actor and roles.
    pub new_public_key: PublicKey,
    /// Effective date.
    pub date: Day,
}

/// A report by an oversight body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ReportPublished {
    /// Report id, e.g. "LINDEN-2021".
    pub report: Id,
    /// The report's title.
    pub title: String,
    /// Publication date.
    pub date: Day,
    /// The published document, if cited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<DocumentRef>,
}

/// A recommendation made to one or more addressees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct RecommendationIssued {
    /// Recommendation id, e.g. "LINDEN-R1".
    pub rec: Id,
    /// The report it belongs to.
    pub report: Id,
    /// Actors who must respond.
    pub addressees: Vec<Id>,
    /// What it is about.
    pub subject: String,
    /// The day it was made.
    pub date: Day,
    /// Last day for a response. In JSON it may be left out: it then becomes the
    /// last day of the 56-day period beginning with `date` (date + 55 days),
    /// and the signed entry states it explicitly.
    #[serde(default)]
    pub response_due: Option<Day>,
}

/// The addressee's position on a recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Accepted in full.
    Accepted,
    /// Accepted in part.
    AcceptedInPart,
    /// Not accepted.
    NotAccepted,
    /// Neither accepted nor rejected.
    Neither,
}

/// An addressee's written response to a recommendation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ResponseRecorded {
    /// The recommendation answered.
    pub rec: Id,
    /// Accepted, in part, not, or neither.
    pub position: Position,
    /// Actions taken or proposed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<String>,
    /// Reasons for taking no action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasons: Option<String>,
    /// Target date for implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Day>,
    /// Date of the response.
    pub date: Day,
}

/// How far money has got.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum FundingStage {
    /// Approved by the decision maker.
    Approved,
    /// Committed to a recipient.
    Committed,
    /// Paid out.
    Paid,
    /// Declined.
    Declined,
    /// Withdrawn after approval.
    Withdrawn,
}

/// A funding decision, or a later stage of one (same `decision` id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct FundingDecision {
    /// Decision-log reference, e.g. "21/034".
    pub decision: Id,
    /// Amount in minor units (pence for GBP).
    pub amount_minor: u64,
    /// ISO 4217 currency code.
    pub currency: String,
    /// What the money is for.
    pub purpose: String,
    /// Recommendations the money serves.
    #[serde(default)]
    pub recs: Vec<Id>,
    /// Approved, committed, paid, declined or withdrawn.
    pub stage: FundingStage,
    /// Date of the decision.
    pub date: Day,
    /// Who receives the money.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// Last day of the period the money covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<Day>,
}

/// How far a claim says the work has got.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Not started.
    NotStarted,
    /// Under way.
    InProgress,
    /// Partly done.
    PartiallyImplemented,
    /// Done, as claimed.
    Implemented,
}

/// A funding decision a claim relies on, at the stage the claim says it reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct FundingCitation {
    /// The decision id.
    pub decision: Id,
    /// The stage the claim treats the money as having reached.
    pub stage: FundingStage,
}

/// A claim of progress on a recommendation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ProgressClaim {
    /// The recommendation.
    pub rec: Id,
    /// Claimed status.
    pub status: ClaimStatus,
    /// The body whose progress is claimed.
    pub subject: Id,
    /// The claim in words.
    pub narrative: String,
    /// Documents offered in support.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// The date the claim speaks about.
    pub date: Day,
    /// Funding the claim relies on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funding: Vec<FundingCitation>,
}

/// An independent verdict on implementation (European Court of Auditors scale plus two).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Verified as implemented.
    Verified,
    /// Implemented in most respects.
    MostRespects,
    /// Implemented in some respects.
    SomeRespects,
    /// Not implemented.
    NotImplemented,
    /// Was implemented, has slipped back.
    Regressed,
    /// Not enough evidence to judge.
    InsufficientEvidence,
}

/// How much of the recommendation an assessment looked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// The whole recommendation.
    Full,
    /// Only part of it.
    Partial,
}

/// An independent assessment of a recommendation's implementation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Assessment {
    /// The recommendation.
    pub rec: Id,
    /// The verdict.
    pub verdict: Verdict,
    /// How much was assessed.
    pub coverage: Coverage,
    /// The assessment in words.
    pub narrative: String,
    /// Documents the assessment rests on.
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// The date the assessment speaks about.
    pub date: Day,
}

/// The issuer gives more time to respond.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct ResponseDeadlineExtended {
    /// The recommendation.
    pub rec: Id,
    /// The new last day for a response.
    pub new_due: Day,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The day the extension was applied for (defaults to `date`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_on: Option<Day>,
    /// The day the extension was granted.
    pub date: Day,
}

/// The addressee moves its target date, with notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct TargetRevised {
    /// The recommendation.
    pub rec: Id,
    /// The target being replaced.
    pub old_target: Day,
    /// The new target.
    pub new_target: Day,
    /// Why.
    pub reason: String,
    /// The day the revision was made.
    pub date: Day,
}

/// A meeting at which recommendations were discussed, e.g. a Public Accountability Board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct AccountabilitySession {
    /// The forum, e.g. "Public Accountability Board".
    pub forum: String,
    /// Recommendations discussed.
    pub recs: Vec<Id>,
    /// Notes of the session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Date of the session.
    pub date: Day,
}

/// How a recommendation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "snake_case")]
pub enum Closure {
    /// Closed as implemented.
    Implemented,
    /// Closed as not implemented.
    NotImplemented,
    /// Replaced by another recommendation.
    Superseded,
    /// Withdrawn by the issuer.
    Withdrawn,
}

/// The issuer closes a recommendation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct RecommendationClosed {
    /// The recommendation.
    pub rec: Id,
    /// How it ended.
    pub outcome: Closure,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Date of closure.
    pub date: Day,
}

/// One body takes over another's responsibilities, e.g. a PCC's passing to a Mayor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct BodySucceeded {
    /// The body whose functions pass.
    pub old_actor: Id,
    /// The body that answers for them from `date` on.
    pub new_actor: Id,
    /// The day the succession takes effect.
    pub date: Day,
}

/// Retracts or replaces an earlier entry; the original stays in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    /// Seq of the entry corrected.
    pub target_seq: u64,
    /// Why.
    pub reason: String,
    /// The event that replaces the target; absent means the target is retracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replacement: Option<Replacement>,
    /// Date of the correction.
    pub date: Day,
}

/// The replacement event inside a correction. It can never itself be a
/// correction, which keeps decoding depth bounded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Replacement(pub Box<Event>);

/// The one table of event kinds: each kind's variant (named as its body
/// type), its stable numeric code, written before its body, and its JSON
/// `type` name. Codes are never reused or renumbered: that is what keeps old
/// entries' bytes valid as kinds are added.
///
/// Whatever must list every kind is generated from this table by the macro
/// named in the call: [`Event`], [`EventKind`] and their accessors here
/// (`declare_events`), and the binary encoding in `encoding.rs`
/// (`encode_events`). Adding a kind means a row here, its body type above,
/// and its rules: who may sign it (`authority.rs`) and what replay makes of
/// it (`state/`).
macro_rules! with_event_kinds {
    ($then:ident) => {
        $then! {
            LogCreated = 1, "log_created";
            KeyGranted = 2, "key_granted";
            KeyRevoked = 3, "key_revoked";
            ReportPublished = 4, "report_published";
            RecommendationIssued = 5, "recommendation_issued";
            ResponseRecorded = 6, "response_recorded";
            FundingDecision = 7, "funding_decision";
            ProgressClaim = 8, "progress_claim";
            Assessment = 9, "assessment";
            Correction = 10, "correction";
            ResponseDeadlineExtended = 11, "response_deadline_extended";
            TargetRevised = 12, "target_revised";
            AccountabilitySession = 13, "accountability_session";
            RecommendationClosed = 14, "recommendation_closed";
            BodySucceeded = 15, "body_succeeded";
            KeyRotated = 16, "key_rotated";
        }
    };
}
pub(crate) use with_event_kinds;

/// [`Event`], [`EventKind`] and what maps one to the other, from the table.
macro_rules! declare_events {
    ($($kind:ident = $code:literal, $name:literal;)*) => {
        /// One typed event. The JSON form is internally tagged by `type`.
        #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        #[allow(missing_docs)] // each variant is documented by its body type
        pub enum Event {
            $( #[serde(rename = $name)] $kind($kind), )*
        }

        /// The stable numeric code of each event kind (see `with_event_kinds`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[repr(u16)]
        #[allow(missing_docs)] // names match the event kinds
        pub enum EventKind {
            $( $kind = $code, )*
        }

        impl EventKind {
            /// Every kind, in code order.
            pub const ALL: [EventKind; [$($code),*].len()] = [$(EventKind::$kind),*];

            /// The `type` name used in JSON.
            pub fn name(self) -> &'static str {
                match self {
                    $( EventKind::$kind => $name, )*
                }
            }

            /// The kind with this code, if there is one.
            pub fn from_code(code: u16) -> Option<EventKind> {
                match code {
                    $( $code => Some(EventKind::$kind), )*
                    _ => None,
                }
            }
        }

        impl Event {
            /// The event's kind.
            pub fn kind(&self) -> EventKind {
                match self {
                    $( Event::$kind(_) => EventKind::$kind, )*
                }
            }

            /// The effective date: the day the event speaks about.
            pub fn date(&self) -> Day {
                match self {
                    $( Event::$kind(e) => e.date, )*
                }
            }
        }
    };
}
with_event_kinds!(declare_events);

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an event is not acceptable on its own (before any question of who signed it).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct InvalidEvent {
    /// The offending field, e.g. `narrative` or `evidence`.
    pub field: &'static str,
    /// What is wrong with it.
    pub problem: String,
}

fn check_text(field: &'static str, text: &str, limit: usize) -> Result<(), InvalidEvent> {
    if text.len() > limit {
        return Err(InvalidEvent {
            field,
            problem: format!("is {} bytes long; the limit is {limit}", text.len()),
        });
    }
    Ok(())
}

fn check_required(field: &'static str, text: &str, limit: usize) -> Result<(), InvalidEvent> {
    if text.trim().is_empty() {
        return Err(InvalidEvent {
            field,
            problem: "must not be empty".into(),
        });
    }
    check_text(field, text, limit)
}

/// A checkpoint origin: a valid note key name (no whitespace, no `+`), with
/// no control characters and no URL scheme, as c2sp.org/tlog-tiles expects
/// (`watchdog.example.org/linden`, not `https://...`).
fn check_origin(origin: &str) -> Result<(), InvalidEvent> {
    let bad = |problem: &str| InvalidEvent {
        field: "origin",
        problem: problem.into(),
    };
    check_required("origin", origin, MAX_SHORT_TEXT)?;
    if origin.chars().any(|c| c.is_whitespace() || c.is_control()) || origin.contains('+') {
        return Err(bad("must hold no spaces, control characters or '+'"));
    }
    if origin.contains("://") {
        return Err(bad(
            "must be a URL prefix without its scheme, e.g. watchdog.example.org/linden",
        ));
    }
    if origin.ends_with('/') {
        return Err(bad("must not end with '/'"));
    }
    Ok(())
}

fn check_list<T>(field: &'static str, list: &[T], at_least: usize) -> Result<(), InvalidEvent> {
    if list.len() < at_least {
        return Err(InvalidEvent {
            field,
            problem: format!("needs at least {at_least} item(s)"),
        });
    }
    if list.len() > MAX_LIST {
        return Err(InvalidEvent {
            field,
            problem: format!("has {} items; the limit is {MAX_LIST}", list.len()),
        });
    }
    Ok(())
}

fn check_evidence(list: &[Evidence]) -> Result<(), InvalidEvent> {
    check_list("evidence", list, 0)?;
    list.iter()
        .try_for_each(|e| check_required("evidence.name", &e.name, MAX_SHORT_TEXT))
}

fn check_optional(field: &'static str, text: &Option<String>) -> Result<(), InvalidEvent> {
    text.as_deref()
        .map_or(Ok(()), |t| check_text(field, t, MAX_LONG_TEXT))
}

impl Event {
    /// A one-line summary for tables: what the event is about (its
    /// recommendation, report, decision, actor, forum or name) and its gist
    /// (a position, status, verdict, stage, outcome, title, subject or
    /// reason, cut at 60 characters); for a correction, the seq it corrects.
    pub fn summary(&self) -> String {
        let v = serde_json::to_value(self).unwrap_or_default();
        let get = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let main = [
            "rec",
            "report",
            "decision",
            "actor",
            "forum",
            "old_actor",
            "name",
        ]
        .iter()
        .map(|k| get(k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
        let detail = [
            "position", "status", "verdict", "stage", "outcome", "title", "subject", "reason",
        ]
        .iter()
        .map(|k| get(k))
        .find(|s| !s.is_empty())
        .unwrap_or_default();
        let mut detail: String = detail.chars().take(60).collect();
        if let Event::Correction(c) = self {
            detail = format!("corrects seq {}", c.target_seq);
        }
        format!("{main} {detail}").trim().to_owned()
    }

    /// The recommendations the event concerns: the one it names, or those a
    /// funding decision or an accountability session lists. A correction
    /// names none itself (see [`Event::replacement`]).
    pub fn recs(&self) -> Vec<&Id> {
        match self {
            Event::FundingDecision(f) => f.recs.iter().collect(),
            Event::AccountabilitySession(s) => s.recs.iter().collect(),
            other => other.rec().into_iter().collect(),
        }
    }

    /// What a correction puts in place of its target, if it replaces it.
    pub fn replacement(&self) -> Option<&Event> {
        match self {
            Event::Correction(c) => c.replacement.as_ref().map(|r| r.0.as_ref()),
            _ => None,
        }
    }

    /// The recommendation the event is about, for kinds that name exactly one.
    pub fn rec(&self) -> Option<&Id> {
        match self {
            Event::RecommendationIssued(e) => Some(&e.rec),
            Event::ResponseRecorded(e) => Some(&e.rec),
            Event::ProgressClaim(e) => Some(&e.rec),
            Event::Assessment(e) => Some(&e.rec),
            Event::ResponseDeadlineExtended(e) => Some(&e.rec),
            Event::TargetRevised(e) => Some(&e.rec),
            Event::RecommendationClosed(e) => Some(&e.rec),
            _ => None,
        }
    }

    /// Fills in what the JSON form may leave out, so the signed entry states it.
    pub fn normalize(&mut self) {
        match self {
            Event::RecommendationIssued(e) if e.response_due.is_none() => {
                // The 56-day period *beginning with* the issue day ends on day + 55.
                e.response_due = e.date.plus_days(55);
            }
            Event::Correction(c) => {
                if let Some(r) = &mut c.replacement {
                    r.0.normalize();
                }
            }
            _ => {}
        }
    }

    /// Checks sizes, required fields and internal consistency (not who may sign it).
    pub fn validate(&self) -> Result<(), InvalidEvent> {
        match self {
            Event::LogCreated(e) => {
                check_required("name", &e.name, MAX_SHORT_TEXT)?;
                check_required("body", &e.body, MAX_SHORT_TEXT)?;
                e.origin.as_deref().map_or(Ok(()), check_origin)
            }
            Event::KeyGranted(e) => {
                check_required("body", &e.body, MAX_SHORT_TEXT)?;
                check_list("roles", &e.roles, 1)
            }
            Event::KeyRevoked(e) => check_required("reason", &e.reason, MAX_SHORT_TEXT),
            Event::KeyRotated(_) => Ok(()),
            Event::ReportPublished(e) => {
                check_required("title", &e.title, MAX_SHORT_TEXT)?;
                e.document.as_ref().map_or(Ok(()), |d| {
                    check_required("document.name", &d.name, MAX_SHORT_TEXT)
                })
            }
            Event::RecommendationIssued(e) => {
                check_list("addressees", &e.addressees, 1)?;
                check_required("subject", &e.subject, MAX_LONG_TEXT)?;
                match e.response_due {
                    None => Err(InvalidEvent {
                        field: "response_due",
                        problem: "is missing".into(),
                    }),
                    Some(due) if due < e.date => Err(InvalidEvent {
                        field: "response_due",
                        problem: format!("{due} is before the issue date {}", e.date),
                    }),
                    Some(_) => Ok(()),
                }
            }
            Event::ResponseRecorded(e) => {
                check_optional("actions", &e.actions)?;
                check_optional("reasons", &e.reasons)
            }
            Event::FundingDecision(e) => {
                if e.currency.len() != 3 || !e.currency.bytes().all(|b| b.is_ascii_uppercase()) {
                    return Err(InvalidEvent {
                        field: "currency",
                        problem: format!(
                            "{:?} is not a three-letter ISO 4217 code such as GBP",
                            e.currency
                        ),
                    });
                }
                check_required("purpose", &e.purpose, MAX_LONG_TEXT)?;
                check_list("recs", &e.recs, 0)?;
                check_optional("recipient", &e.recipient)
            }
            Event::ProgressClaim(e) => {
                check_required("narrative", &e.narrative, MAX_LONG_TEXT)?;
                check_evidence(&e.evidence)?;
                check_list("funding", &e.funding, 0)
            }
            Event::Assessment(e) => {
                check_required("narrative", &e.narrative, MAX_LONG_TEXT)?;
                check_evidence(&e.evidence)
            }
            Event::Correction(c) => {
                check_required("reason", &c.reason, MAX_LONG_TEXT)?;
                match &c.replacement {
                    Some(r) if r.0.kind() == EventKind::Correction => Err(InvalidEvent {
                        field: "replacement",
                        problem: "a correction cannot replace with another correction".into(),
                    }),
                    Some(r) => r.0.validate(),
                    None => Ok(()),
                }
            }
            Event::ResponseDeadlineExtended(e) => check_optional("reason", &e.reason),
            Event::TargetRevised(e) => check_required("reason", &e.reason, MAX_LONG_TEXT),
            Event::AccountabilitySession(e) => {
                check_required("forum", &e.forum, MAX_SHORT_TEXT)?;
                check_list("recs", &e.recs, 0)?;
                check_optional("notes", &e.notes)
            }
            Event::RecommendationClosed(e) => check_optional("reason", &e.reason),
            Event::BodySucceeded(e) => {
                if e.old_actor == e.new_actor {
                    return Err(InvalidEvent {
                        field: "new_actor",
                        problem: "a body cannot succeed itself".into(),
                    });
                }
                Ok(())
            }
        }
    }

    /// Parses one event from its JSON form, with a message that names what is wrong.
    pub fn from_json(text: &str) -> Result<Event, EventJsonError> {
        let mut event: Event = serde_json::from_str(text).map_err(|e| EventJsonError::of(&e))?;
        event.normalize();
        Ok(event)
    }
}

/// Turns serde_json's message into one a person can act on.
/// Why text is not an event in JSON.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventJsonError {
    /// Not JSON at all, or cut short.
    #[error("not valid JSON: {0}")]
    Syntax(String),
    /// No `type` field.
    #[error("the event has no \"type\" field")]
    NoType,
    /// A `type` that names no event.
    #[error("unknown event type {0}")]
    UnknownType(String),
    /// A field value outside its set (a status, verdict, role...).
    #[error("unknown value {0}")]
    UnknownValue(String),
    /// A field missing, unknown, or of the wrong kind, as serde says it.
    #[error("{0}")]
    Fields(String),
}

impl EventJsonError {
    fn of(e: &serde_json::Error) -> EventJsonError {
        // serde quotes the names it was given as they are: a name holding a
        // line break or a control character must not break the line.
        let msg: String = e.to_string().escape_debug().collect();
        if e.is_syntax() || e.is_eof() {
            return EventJsonError::Syntax(msg);
        }
        // serde's internally tagged enums say "unknown variant `x`, expected one of ...";
        // only when the expected names are event types is `x` the event's type.
        if let Some(rest) = msg.strip_prefix("unknown variant ")
            && rest.contains("`log_created`")
        {
            let name = rest.split(',').next().unwrap_or(rest);
            return EventJsonError::UnknownType(name.to_owned());
        }
        if let Some(rest) = msg.strip_prefix("unknown variant ") {
            return EventJsonError::UnknownValue(rest.to_owned());
        }
        if msg.starts_with("missing field `type`") {
            return EventJsonError::NoType;
        }
        EventJsonError::Fields(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_due_defaults_to_day_fifty_five() {
        let e = Event::from_json(
            r#"{"type":"recommendation_issued","rec":"LINDEN-R1","report":"LINDEN-2021",
               "addressees":["syp"],"subject":"Training","date":"2021-11-23"}"#,
        )
        .unwrap();
        let Event::RecommendationIssued(r) = e else {
            panic!("wrong kind")
        };
        assert_eq!(r.response_due.unwrap().to_string(), "2022-01-17");
    }

    #[test]
    fn unknown_type_and_fields_are_named() {
        let err = Event::from_json(r#"{"type":"rumour","date":"2021-11-23"}"#).unwrap_err();
        assert_eq!(err, EventJsonError::UnknownType("`rumour`".into()));
        let err = Event::from_json(r#"{"date":"2021-11-23"}"#).unwrap_err();
        assert_eq!(err, EventJsonError::NoType);
        let err = Event::from_json(r#"{"type":"#).unwrap_err();
        assert!(matches!(err, EventJsonError::Syntax(_)), "{err}");
        let err = Event::from_json(
            r#"{"type":"key_revoked","public_key":"00","reason":"x","date":"2021-11-23"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("public key"), "{err}");
        let err = Event::from_json(
            r#"{"type":"key_revoked","public_key":"0000000000000000000000000000000000000000000000000000000000000000","date":"2021-11-23"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("missing field `reason`"), "{err}");
        let err = Event::from_json(
            r#"{"type":"key_revoked","public_key":"0000000000000000000000000000000000000000000000000000000000000000","reason":"x","date":"2021-11-23","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn kind_codes_are_unique_and_round_trip() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_code(kind as u16), Some(kind));
        }
        assert_eq!(EventKind::from_code(0), None);
    }

    #[test]
    fn oversized_text_is_refused() {
        let e = Event::KeyRevoked(KeyRevoked {
            public_key: PublicKey([0; 32]),
            reason: "x".repeat(MAX_SHORT_TEXT + 1),
            date: Day::new(2021, 11, 23).unwrap(),
        });
        assert_eq!(e.validate().unwrap_err().field, "reason");
    }
}
