//! `trail check`: the rules real auditors apply, run against a [`View`].
//!
//! Every rule of DOMAIN.md's table is here, one function each, grouped by what
//! it looks at: the response (`response.rs`), claims and assessments
//! (`claims.rs`), the schedule (`schedule.rs`) and money and lists
//! (`funding.rs`).
//! Each rule's doc comment says exactly how the table's words are read.
//!
//! A check sees only what the view sees: statements in force whose effective
//! date is on or before the view's date, from entries recorded up to its
//! recorded-time cut. "Now" is the view's date. Several rules can never fire on
//! a verified log in their plainest reading, because append refuses the entry
//! (a response by a non-addressee, say); those rules check what a verified log
//! can still show, such as a signature on a day the key was not yet granted.

mod claims;
mod funding;
mod response;
mod schedule;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::state::View;
use crate::types::{Day, Id};

/// How serious a finding is; `--fail-on` compares against this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; not a fault.
    Info,
    /// A fault in practice that a reader should follow up.
    Warning,
    /// A breach of a duty or a contradiction in the record.
    Error,
}

impl Severity {
    /// The name used in JSON and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Severity {
    type Err = crate::error::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Severity::Info, Severity::Warning, Severity::Error]
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| crate::error::ParseError::UnknownName {
                what: "severity",
                given: s.to_owned(),
                names: "info, warning, error".into(),
            })
    }
}

/// Declares the rules with their ids and severities in one table.
macro_rules! rules {
    ($($(#[doc = $doc:literal])* $name:ident = $id:literal, $severity:ident;)*) => {
        /// A check rule; its id is the one in DOMAIN.md's table.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Rule {
            $($(#[doc = $doc])* $name,)*
        }

        impl Rule {
            /// Every rule, in table order.
            pub const ALL: &'static [Rule] = &[$(Rule::$name,)*];

            /// The rule's id, e.g. `response_overdue`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$name => $id,)*
                }
            }

            /// What it finds, in one line (its doc comment).
            pub fn summary(self) -> &'static str {
                match self {
                    $(Rule::$name => concat!($($doc),*).trim(),)*
                }
            }

            /// How serious its findings are.
            pub fn severity(self) -> Severity {
                match self {
                    $(Rule::$name => Severity::$severity,)*
                }
            }
        }
    };
}

rules! {
    /// No response by the due date plus extensions.
    ResponseOverdue = "response_overdue", Error;
    /// Extension applied for after the period ended.
    LateExtension = "late_extension", Warning;
    /// Response with neither actions nor reasons.
    ResponseIncomplete = "response_incomplete", Warning;
    /// Statement by a key or body not entitled on its date.
    UnauthorisedSigner = "unauthorised_signer", Error;
    /// Progress claimed by one body about another.
    ThirdPartyClaim = "third_party_claim", Info;
    /// Accepted with no target date within N days.
    AcceptedWithoutTimetable = "accepted_without_timetable", Warning;
    /// Target moved later without notice before the old date passed.
    SilentTargetSlip = "silent_target_slip", Warning;
    /// Past target, or a year after acceptance whatever the target, and not verified implemented.
    LateImplementation = "late_implementation", Warning;
    /// Accepted and open with no claim or session for N months.
    Stale = "stale", Warning;
    /// Implemented claimed with no evidence, or only self-report evidence.
    ImplementedWithoutEvidence = "implemented_without_evidence", Warning;
    /// Closure signed by an addressee.
    ClosedByWrongParty = "closed_by_wrong_party", Error;
    /// Implemented claimed, later assessed not implemented or regressed.
    ClaimContradicted = "claim_contradicted", Error;
    /// Partial implementation shown as complete.
    PartialShownAsComplete = "partial_shown_as_complete", Warning;
    /// Funding approved for a recommendation no claim cites within M months.
    FundingUnlinked = "funding_unlinked", Warning;
    /// A claim treats money as further along than it is, or as still available.
    FundingStageInflated = "funding_stage_inflated", Error;
    /// Evidence for implementation dated before the recommendation was made.
    PredatedEvidence = "predated_evidence", Warning;
    /// Another body's list of a report's recommendations differs from the issuer's.
    ListMismatch = "list_mismatch", Warning;
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One finding: which rule, about what, resting on which entries, in one sentence.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    /// The rule that fired.
    pub rule: Rule,
    /// Its severity.
    pub severity: Severity,
    /// The recommendation concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rec: Option<Id>,
    /// The funding decision concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Id>,
    /// Seqs of the entries it rests on, ascending.
    pub seqs: Vec<u64>,
    /// One plain sentence a reader can check by hand against those entries.
    pub message: String,
}

impl Finding {
    /// A finding about a recommendation.
    pub(crate) fn rec(
        rule: Rule,
        rec: &Id,
        seqs: impl IntoIterator<Item = u64>,
        message: String,
    ) -> Finding {
        Finding::new(rule, Some(rec.clone()), None, seqs, message)
    }

    fn new(
        rule: Rule,
        rec: Option<Id>,
        decision: Option<Id>,
        seqs: impl IntoIterator<Item = u64>,
        message: String,
    ) -> Finding {
        let mut seqs: Vec<u64> = seqs.into_iter().collect();
        seqs.sort_unstable();
        seqs.dedup();
        Finding {
            rule,
            severity: rule.severity(),
            rec,
            decision,
            seqs,
            message,
        }
    }
}

/// The thresholds the rules use. Every field has a documented default, and a
/// config file may set any subset of them (unknown keys are refused).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CheckConfig {
    /// accepted_without_timetable: days after acceptance by which a target
    /// date must be recorded. Default 28: four weeks, half of the 56-day
    /// response period, enough to turn an acceptance into a dated plan.
    pub timetable_days: u32,
    /// late_implementation: days after acceptance after which an accepted,
    /// open recommendation is late, whatever its target date. Default 365
    /// (the Commons' expectation of a statement when an accepted
    /// recommendation is not done within a year; GAO's "open over a year").
    pub late_implementation_days: u32,
    /// stale: months with no claim or session after which an accepted, open
    /// recommendation is stale. Default 6 (twice-yearly progress reporting).
    pub stale_months: u32,
    /// funding_unlinked: months after approval within which some claim must
    /// cite the money. Default 6 (one reporting cycle).
    pub funding_unlinked_months: u32,
}

impl Default for CheckConfig {
    fn default() -> CheckConfig {
        CheckConfig {
            timetable_days: 28,
            late_implementation_days: 365,
            stale_months: 6,
            funding_unlinked_months: 6,
        }
    }
}

/// Runs every rule on `view` and returns the findings, ordered by
/// recommendation, decision, rule and seqs so output is deterministic.
pub fn check(view: &View, config: &CheckConfig) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rec in view.recs.values() {
        response::response_overdue(view, rec, &mut findings);
        response::late_extension(rec, &mut findings);
        response::response_incomplete(rec, &mut findings);
        response::unauthorised_signer(view, rec, &mut findings);
        response::closed_by_wrong_party(view, rec, &mut findings);
        claims::third_party_claim(rec, &mut findings);
        claims::implemented_without_evidence(rec, &mut findings);
        claims::claim_contradicted(rec, &mut findings);
        claims::partial_shown_as_complete(rec, &mut findings);
        claims::predated_evidence(rec, &mut findings);
        schedule::accepted_without_timetable(view, rec, config, &mut findings);
        schedule::silent_target_slip(rec, &mut findings);
        schedule::late_implementation(view, rec, config, &mut findings);
        schedule::stale(view, rec, config, &mut findings);
        funding::funding_stage_inflated(view, rec, &mut findings);
    }
    funding::funding_unlinked(view, config, &mut findings);
    funding::list_mismatch(view, &mut findings);
    findings.sort_by(|a, b| {
        (&a.rec, &a.decision, a.rule, &a.seqs).cmp(&(&b.rec, &b.decision, b.rule, &b.seqs))
    });
    findings.dedup();
    findings
}

/// `day` plus `months` calendar months, saturating at the far future
/// (a config file may hold any number, and jiff refuses huge spans).
pub(crate) fn plus_months(day: Day, months: u32) -> Day {
    jiff::Span::new()
        .try_months(i64::from(months))
        .ok()
        .and_then(|span| day.0.checked_add(span).ok())
        .map_or(Day(jiff::civil::Date::MAX), Day)
}

/// `day` plus `days` days, saturating at the far future.
pub(crate) fn plus_days(day: Day, days: u32) -> Day {
    jiff::Span::new()
        .try_days(i64::from(days))
        .ok()
        .and_then(|span| day.0.checked_add(span).ok())
        .map_or(Day(jiff::civil::Date::MAX), Day)
}

pub(crate) use crate::words::{seq_list, words};

/// Findings grouped by recommendation, in the order `check` returned them;
/// findings about no recommendation, or about one `view` does not hold,
/// under `None`.
pub fn by_rec<'a>(view: &View, findings: &'a [Finding]) -> BTreeMap<Option<Id>, Vec<&'a Finding>> {
    let mut map: BTreeMap<Option<Id>, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        let key = f.rec.clone().filter(|r| view.recs.contains_key(r));
        map.entry(key).or_default().push(f);
    }
    map
}
