//! What a recommendation's timeline shows: one mark per statement, due
//! date, target, funding step and finding, each with a short label and a
//! tooltip naming the seqs it rests on and the body that signed it.

use std::collections::BTreeMap;

use trail_core::event::{ClaimStatus, Event};
use trail_core::seq_list;
use trail_core::state::{Party, RecView, Standing, Statement};
use trail_core::{Day, Finding, Rule, View};

use super::super::layout::{body_name, words};
use super::super::text::{excerpt, money};

/// The horizontal bands of the timeline, top to bottom. A lane with no
/// marks is not drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Lane {
    Record,
    Claims,
    Assessments,
    Funding,
    Findings,
}

impl Lane {
    pub(super) const ALL: [Lane; 5] = [
        Lane::Record,
        Lane::Claims,
        Lane::Assessments,
        Lane::Funding,
        Lane::Findings,
    ];

    pub(super) fn name(self) -> &'static str {
        match self {
            Lane::Record => "Issue & response",
            Lane::Claims => "Claims",
            Lane::Assessments => "Assessments",
            Lane::Funding => "Funding",
            Lane::Findings => "Findings",
        }
    }
}

/// How a mark is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shape {
    /// Issue, assessments.
    Diamond,
    /// Responses, claims, sessions.
    Circle,
    /// Funding steps, closure.
    Square,
    /// Targets.
    TriangleUp,
    /// Findings.
    Warning,
    /// A dashed upright line: response due dates.
    DueLine,
    /// A correction.
    Cross,
}

/// One thing drawn on the timeline.
pub(super) struct Mark {
    pub(super) lane: Lane,
    pub(super) date: Day,
    pub(super) shape: Shape,
    /// CSS classes that choose its colour and style.
    pub(super) class: String,
    /// A short label beside it, e.g. "#12 implemented".
    pub(super) label: String,
    /// The tooltip: what it is, who signed it, which seqs it rests on.
    pub(super) title: String,
    /// The seqs of the entries it stands for.
    pub(super) seqs: Vec<u64>,
}

/// A claim of implemented and the later assessment that contradicts it:
/// the seqs of both marks, and what the finding says.
pub(super) struct PartsWays {
    pub(super) claim: Vec<u64>,
    pub(super) assessment: Vec<u64>,
    pub(super) title: String,
}

/// Every mark of `rec`'s timeline.
pub(super) fn marks(view: &View, rec: &RecView, findings: &[&Finding]) -> Vec<Mark> {
    let mut marks = record_marks(view, rec);
    marks.extend(funding_marks(view, rec));
    marks.extend(findings.iter().map(|f| finding_mark(view, rec, f)));
    marks
}

fn hash_seqs(seqs: &[u64]) -> String {
    let list: Vec<String> = seqs.iter().map(|s| format!("#{s}")).collect();
    list.join(",")
}

fn statement_title(view: &View, s: &Statement, what: &str) -> String {
    let standing = match s.standing {
        _ if s.in_force() => String::new(),
        Standing::Retracted { by } => format!(" [retracted by seq {by}]"),
        Standing::Replaced { by } => format!(" [replaced by seq {by}]"),
        Standing::InForce => String::new(),
    };
    format!(
        "{}, {}: {what}, signed by {}{standing}",
        seq_list(&s.seqs()),
        s.date(),
        body_name(view, s.actor.as_ref())
    )
}

fn record_marks(view: &View, rec: &RecView) -> Vec<Mark> {
    let mut marks = Vec::new();
    let clock = &rec.response_clock;
    marks.push(Mark {
        lane: Lane::Record,
        date: clock.original_due,
        shape: Shape::DueLine,
        class: "k-due".into(),
        label: "response due".into(),
        title: format!(
            "Response due by {} ({})",
            clock.original_due,
            seq_list(&rec.issued_seqs)
        ),
        seqs: rec.issued_seqs.clone(),
    });
    for e in &clock.extensions {
        marks.push(Mark {
            lane: Lane::Record,
            date: e.new_due,
            shape: Shape::DueLine,
            class: "k-due extended".into(),
            label: "due (extended)".into(),
            title: format!(
                "Response period extended from {} to {}, applied for {}, granted {} ({})",
                e.previous_due,
                e.new_due,
                e.requested_on,
                e.granted_on,
                seq_list(&e.seqs)
            ),
            seqs: e.seqs.clone(),
        });
    }
    for c in &rec.schedule.changes {
        marks.push(Mark {
            lane: Lane::Record,
            date: c.to,
            shape: Shape::TriangleUp,
            class: "k-target".into(),
            label: "target".into(),
            title: format!(
                "Target date {}{} set on {} ({})",
                c.to,
                c.from.map(|f| format!(" (was {f})")).unwrap_or_default(),
                c.date,
                seq_list(&c.seqs)
            ),
            seqs: c.seqs.clone(),
        });
    }
    marks.extend(
        rec.history
            .iter()
            .filter_map(|s| statement_mark(view, rec, s)),
    );
    marks
}

fn statement_mark(view: &View, rec: &RecView, s: &Statement) -> Option<Mark> {
    let faded = if s.in_force() { "" } else { " corrected" };
    let n = hash_seqs(&s.seqs());
    let (lane, shape, class, label, what) = match &s.event {
        Event::RecommendationIssued(e) => (
            Lane::Record,
            Shape::Diamond,
            "k-issue".to_string(),
            format!("{n} issued"),
            format!(
                "issued to {}: {}",
                e.addressees
                    .iter()
                    .map(|a| body_name(view, Some(a)))
                    .collect::<Vec<_>>()
                    .join(", "),
                excerpt(&e.subject, 200)
            ),
        ),
        Event::ResponseRecorded(e) => (
            Lane::Record,
            Shape::Circle,
            format!("k-response p-{}", words(&e.position).replace(' ', "-")),
            format!("{n} {}", words(&e.position)),
            format!(
                "response: {}{}",
                words(&e.position),
                e.target
                    .map(|t| format!(", target {t}"))
                    .unwrap_or_default()
            ),
        ),
        Event::TargetRevised(e) => (
            Lane::Record,
            Shape::TriangleUp,
            "k-target revised".to_string(),
            format!("{n} target moved"),
            format!(
                "target moved from {} to {}: {}",
                e.old_target,
                e.new_target,
                excerpt(&e.reason, 200)
            ),
        ),
        Event::ResponseDeadlineExtended(e) => (
            Lane::Record,
            Shape::Circle,
            "k-extension".to_string(),
            format!("{n} extended"),
            format!("response period extended to {}", e.new_due),
        ),
        Event::AccountabilitySession(e) => (
            Lane::Record,
            Shape::Circle,
            "k-session".to_string(),
            format!("{n} session"),
            format!("discussed at {}", excerpt(&e.forum, 120)),
        ),
        Event::RecommendationClosed(e) => (
            Lane::Record,
            Shape::Square,
            "k-closure".to_string(),
            format!("{n} closed: {}", words(&e.outcome)),
            format!("closed as {}", words(&e.outcome)),
        ),
        Event::Correction(c) => (
            Lane::Record,
            Shape::Cross,
            "k-correction".to_string(),
            format!("{n} correction"),
            format!(
                "correction of seq {}: {}",
                c.target_seq,
                excerpt(&c.reason, 200)
            ),
        ),
        Event::ProgressClaim(c) if c.rec == rec.rec => {
            let third = s.party == Some(Party::ThirdParty);
            let party = if third {
                format!(
                    "third-party claim about {}",
                    body_name(view, Some(&c.subject))
                )
            } else {
                "the addressee's own claim".to_string()
            };
            let status = words(&c.status);
            (
                Lane::Claims,
                Shape::Circle,
                format!(
                    "k-claim c-{}{}",
                    status.replace(' ', "-"),
                    if third { " third-party" } else { "" }
                ),
                if third {
                    format!("{n} {status} (3rd party)")
                } else {
                    format!("{n} {status}")
                },
                format!(
                    "claim: {status} ({party}), {} evidence: {}",
                    c.evidence.len(),
                    excerpt(&c.narrative, 200)
                ),
            )
        }
        Event::Assessment(a) if a.rec == rec.rec => (
            Lane::Assessments,
            Shape::Diamond,
            format!("k-assessment v-{}", words(&a.verdict).replace(' ', "-")),
            format!("{n} {}", words(&a.verdict)),
            format!(
                "assessment: {} ({} coverage): {}",
                words(&a.verdict),
                words(&a.coverage),
                excerpt(&a.narrative, 200)
            ),
        ),
        // Funding is drawn from the decision's stage history instead.
        _ => return None,
    };
    Some(Mark {
        lane,
        date: s.date(),
        shape,
        class: format!("{class}{faded}"),
        label: if faded.is_empty() {
            label
        } else {
            format!("{label} (corrected)")
        },
        title: statement_title(view, s, &what),
        seqs: s.seqs(),
    })
}

fn funding_marks(view: &View, rec: &RecView) -> Vec<Mark> {
    let mut marks = Vec::new();
    for f in rec.funding.iter().filter_map(|d| view.funding.get(d)) {
        for step in &f.stages {
            let stage = words(&step.stage);
            marks.push(Mark {
                lane: Lane::Funding,
                date: step.date,
                shape: Shape::Square,
                class: format!("k-funding f-{}", stage.replace(' ', "-")),
                label: format!("{} {stage}", hash_seqs(&step.seqs)),
                title: format!(
                    "{}, {}: funding decision {} {stage}, {} {}, by {}: {}",
                    seq_list(&step.seqs),
                    step.date,
                    f.decision,
                    money(step.amount_minor, &f.currency),
                    if step.recs.contains(&rec.rec) {
                        format!("naming {}", rec.rec)
                    } else {
                        "naming other recommendations at this stage".into()
                    },
                    body_name(view, step.actor.as_ref()),
                    excerpt(&f.purpose, 200)
                ),
                seqs: step.seqs.clone(),
            });
        }
    }
    marks
}

/// The date a finding is drawn at: the latest date among the statements it
/// rests on, or, for rules about a deadline passing, the day it passed.
pub(super) fn finding_date(view: &View, rec: &RecView, f: &Finding) -> Day {
    let mut dates: BTreeMap<u64, Day> = BTreeMap::new();
    for s in &rec.history {
        for seq in s.seqs() {
            dates.entry(seq).or_insert(s.date());
        }
    }
    for f in rec.funding.iter().filter_map(|d| view.funding.get(d)) {
        for step in &f.stages {
            for &seq in &step.seqs {
                dates.entry(seq).or_insert(step.date);
            }
        }
    }
    let rests_on = f.seqs.iter().filter_map(|s| dates.get(s)).max().copied();
    let after = |d: Day| d.plus_days(1).unwrap_or(d).min(view.at);
    match f.rule {
        Rule::ResponseOverdue => rec
            .response_clock
            .responded_on
            .unwrap_or_else(|| after(rec.response_clock.due)),
        Rule::LateImplementation => rec
            .schedule
            .target
            .map(after)
            .or(rests_on)
            .unwrap_or(view.at),
        _ => rests_on.unwrap_or(view.at),
    }
}

fn finding_mark(view: &View, rec: &RecView, f: &Finding) -> Mark {
    let date = finding_date(view, rec, f);
    Mark {
        lane: Lane::Findings,
        date,
        shape: Shape::Warning,
        class: format!("k-finding s-{}", f.severity),
        label: f.rule.id().to_string(),
        title: format!(
            "{} ({}) on {date}, {}: {}",
            f.rule.id(),
            f.severity,
            seq_list(&f.seqs),
            f.message
        ),
        seqs: f.seqs.clone(),
    }
}

/// Where a claim of implemented and a later assessment part ways: one per
/// `claim_contradicted` finding whose claim and assessment are both shown.
pub(super) fn parts_ways(rec: &RecView, findings: &[&Finding]) -> Vec<PartsWays> {
    let mut out = Vec::new();
    for f in findings
        .iter()
        .filter(|f| f.rule == Rule::ClaimContradicted)
    {
        let in_finding = |s: &&Statement| s.seqs().iter().all(|q| f.seqs.contains(q));
        let claim = rec.history.iter().filter(in_finding).find(
            |s| matches!(&s.event, Event::ProgressClaim(c) if c.status == ClaimStatus::Implemented),
        );
        let assessment = rec
            .history
            .iter()
            .filter(in_finding)
            .find(|s| matches!(&s.event, Event::Assessment(_)));
        if let (Some(c), Some(a)) = (claim, assessment) {
            out.push(PartsWays {
                claim: c.seqs(),
                assessment: a.seqs(),
                title: format!(
                    "The claim of implemented on {} ({}) and the assessment of {} ({}) part ways: {}",
                    c.date(),
                    seq_list(&c.seqs()),
                    a.date(),
                    seq_list(&a.seqs()),
                    f.message
                ),
            });
        }
    }
    out
}
