//! One recommendation's timeline as inline SVG: lanes for the record (issue,
//! due dates, responses, targets, sessions, closure), claims, assessments,
//! funding and findings, along one date axis that runs to the view's date.
//!
//! Every marker carries a `<title>` naming its seqs, so hovering over it says
//! which signed entries to look up. Where a claim of "implemented" is later
//! assessed not implemented or regressed (the `claim_contradicted` rule), a red
//! band joins the two, so the point where they part ways stands out.

use std::collections::BTreeMap;
use std::fmt::Write;

use trail_core::event::{ClaimStatus, Event};
use trail_core::state::{Party, RecView, Statement};
use trail_core::{Day, Finding, Rule, View};

use super::html::esc;
use super::{seqs_text, who, words};

/// Width of the drawing in SVG units; it scales to the page.
const WIDTH: f64 = 960.0;
/// Left column for lane names.
const LEFT: f64 = 128.0;
/// Right padding.
const RIGHT: f64 = 20.0;
/// Space above the first lane, for the "as at" and band labels.
const TOP: f64 = 22.0;
/// Height of one lane.
const LANE: f64 = 46.0;
/// Space below the lanes, for the date axis.
const BOTTOM: f64 = 30.0;
/// Approximate width of one character of a 10px label.
const CHAR_W: f64 = 5.6;

/// The horizontal bands of the timeline, top to bottom.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Lane {
    Record,
    Claims,
    Assessments,
    Funding,
    Findings,
}

const LANES: [(Lane, &str); 5] = [
    (Lane::Record, "Issue & response"),
    (Lane::Claims, "Claims"),
    (Lane::Assessments, "Assessments"),
    (Lane::Funding, "Funding"),
    (Lane::Findings, "Findings"),
];

impl Lane {
    fn centre(self) -> f64 {
        TOP + LANE * (self as usize as f64) + LANE / 2.0
    }
}

/// How a marker is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
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
    /// A dashed line across the record lane: response due dates.
    DueLine,
    /// A correction.
    Cross,
}

/// One thing drawn on the timeline.
struct Mark {
    lane: Lane,
    date: Day,
    shape: Shape,
    /// CSS classes that choose its colour and style.
    class: String,
    /// A short label beside it, e.g. "#12 implemented".
    label: String,
    /// The tooltip: what it is and which seqs it rests on.
    title: String,
}

/// A claim of implemented and the later assessment that contradicts it.
struct Band {
    from: Day,
    to: Day,
    title: String,
}

/// Where a timeline is drawn: in its recommendation's section, or again in
/// the summary of contradictions at the top of the page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// The recommendation's own section.
    Section,
    /// The summary near the top of the page.
    Summary,
}

/// The timeline of `rec` as an `<svg>` element.
pub(super) fn svg(
    view: &View,
    rec: &RecView,
    findings: &[&Finding],
    placement: Placement,
) -> String {
    let mut marks = record_marks(rec);
    marks.extend(funding_marks(view, rec));
    marks.extend(finding_marks(view, rec, findings));
    let bands = bands(rec, findings);

    let mut first = view.at;
    let mut last = view.at;
    for d in marks
        .iter()
        .map(|m| m.date)
        .chain(bands.iter().flat_map(|b| [b.from, b.to]))
    {
        first = first.min(d);
        last = last.max(d);
    }
    let axis = Axis::new(first, last);

    let rec_id = esc(rec.rec.as_str());
    // Element ids stay unique when the same timeline is drawn twice.
    let (class, id) = match placement {
        Placement::Section => ("timeline", rec_id.clone()),
        Placement::Summary => ("timeline-summary", format!("summary-{rec_id}")),
    };
    let height = TOP + LANE * LANES.len() as f64 + BOTTOM;
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="{class}" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-labelledby="tl-title-{id} tl-desc-{id}">"#
    );
    let _ = write!(
        out,
        r#"<title id="tl-title-{id}">Timeline of {rec_id}</title><desc id="tl-desc-{id}">{}</desc>"#,
        esc(&describe(rec, &marks, &bands, view.at))
    );
    draw_lanes(&mut out, height);
    draw_ticks(&mut out, &axis, height);
    let mut taken = Slots::new();
    for band in &bands {
        draw_band(&mut out, &axis, band, &mut taken);
    }
    draw_as_at(&mut out, &axis, view.at, height, &mut taken);
    draw_marks(&mut out, &axis, &marks, &mut taken);
    out.push_str("</svg>");
    out
}

/// Label rows: above a lane's markers, below them, and the strip above the
/// first lane (for due dates, the report's date and contradiction bands).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Row {
    Above,
    Below,
    Top,
}

/// Horizontal ranges already holding a label, per lane and row.
type Slots = BTreeMap<(Lane, Row), Vec<(f64, f64)>>;

/// The baseline of a label in `row` for a marker at height `y`.
fn row_y(row: Row, y: f64) -> f64 {
    match row {
        Row::Above => y - 10.0,
        Row::Below => y + 18.0,
        Row::Top => 14.0,
    }
}

/// The date axis: days from `first` to `last` mapped onto the plot width, with a margin.
struct Axis {
    first: Day,
    last: Day,
    /// Days of margin on each side.
    pad: f64,
    span: f64,
}

impl Axis {
    fn new(first: Day, last: Day) -> Axis {
        let days = first.days_until(last).max(1) as f64;
        let pad = (days * 0.03).max(10.0);
        Axis {
            first,
            last,
            pad,
            span: days + 2.0 * pad,
        }
    }

    fn x(&self, day: Day) -> f64 {
        let d = self.first.days_until(day) as f64 + self.pad;
        LEFT + d / self.span * (WIDTH - LEFT - RIGHT)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn draw_lanes(out: &mut String, height: f64) {
    for (i, (lane, name)) in LANES.iter().enumerate() {
        let y = TOP + LANE * i as f64;
        let class = if i % 2 == 0 { "lane even" } else { "lane" };
        let _ = write!(
            out,
            r#"<rect class="{class}" x="0" y="{y}" width="{WIDTH}" height="{LANE}"/><text class="lane-name" x="8" y="{:.1}">{name}</text>"#,
            lane.centre() + 4.0
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
        WIDTH - RIGHT,
        y = height - BOTTOM
    );
}

/// Gridlines and date labels: years, quarters or months, whichever fits.
fn draw_ticks(out: &mut String, axis: &Axis, height: f64) {
    let days = axis.first.days_until(axis.last);
    let step_months: i32 = match days {
        d if d > 365 * 12 => 24,
        d if d > 365 * 6 => 12,
        d if d > 365 * 2 => 6,
        d if d > 270 => 3,
        _ => 1,
    };
    let (mut year, mut month) = (axis.first.0.year(), i32::from(axis.first.0.month()));
    // Start at the first boundary after `first` that is a multiple of the step.
    month = ((month - 1) / step_months + 1) * step_months + 1;
    for _ in 0..200 {
        while month > 12 {
            month -= 12;
            year += 1;
        }
        let Ok(m) = i8::try_from(month) else { break };
        let Some(day) = Day::new(year, m, 1) else {
            break;
        };
        if day > axis.last {
            break;
        }
        let x = axis.x(day);
        let label = if step_months >= 12 || month == 1 {
            year.to_string()
        } else {
            format!("{} {year}", MONTHS[(month - 1) as usize])
        };
        let _ = write!(
            out,
            r#"<line class="grid" x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}"/><text class="tick" x="{x:.1}" y="{:.1}" text-anchor="middle">{label}</text>"#,
            height - BOTTOM,
            height - BOTTOM + 16.0
        );
        month += step_months;
    }
}

fn draw_as_at(out: &mut String, axis: &Axis, at: Day, height: f64, taken: &mut Slots) {
    let x = axis.x(at);
    let anchor = if x > WIDTH - 160.0 { "end" } else { "start" };
    let dx = if anchor == "end" { -4.0 } else { 4.0 };
    let width = 16.0 * CHAR_W * 1.15;
    let lo = if anchor == "end" {
        x + dx - width
    } else {
        x + dx
    };
    taken
        .entry((Lane::Record, Row::Top))
        .or_default()
        .push((lo, lo + width));
    let _ = write!(
        out,
        r#"<g class="as-at"><title>The report's date: the state as at {at}</title><line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/><text x="{:.1}" y="14" text-anchor="{anchor}">as at {at}</text></g>"#,
        TOP - 4.0,
        height - BOTTOM,
        x + dx
    );
}

fn draw_band(out: &mut String, axis: &Axis, band: &Band, taken: &mut Slots) {
    let (x1, x2) = (axis.x(band.from), axis.x(band.to));
    let half = 18.0 * CHAR_W * 1.2 / 2.0;
    taken
        .entry((Lane::Record, Row::Top))
        .or_default()
        .push(((x1 + x2) / 2.0 - half, (x1 + x2) / 2.0 + half));
    let (yc, ya) = (Lane::Claims.centre(), Lane::Assessments.centre());
    let top = Lane::Claims.centre() - LANE / 2.0;
    let _ = write!(
        out,
        r#"<g class="contradiction"><title>{}</title><rect x="{x1:.1}" y="{top:.1}" width="{:.1}" height="{:.1}"/><line x1="{x1:.1}" y1="{yc:.1}" x2="{x2:.1}" y2="{ya:.1}"/><text x="{:.1}" y="14" text-anchor="middle">claim contradicted</text></g>"#,
        esc(&band.title),
        (x2 - x1).max(3.0),
        LANE * 2.0,
        (x1 + x2) / 2.0,
    );
}

fn draw_marks(out: &mut String, axis: &Axis, marks: &[Mark], taken: &mut Slots) {
    // Due lines first, so markers sit on top of them.
    let mut order: Vec<&Mark> = marks.iter().collect();
    order.sort_by_key(|m| (m.shape != Shape::DueLine, m.lane, m.date));
    let mut last_x: BTreeMap<Lane, f64> = BTreeMap::new();
    for m in order {
        let mut x = axis.x(m.date);
        let y = m.lane.centre();
        if m.shape != Shape::DueLine {
            // Same-day markers in a lane step aside a little so each stays visible.
            if let Some(prev) = last_x.get(&m.lane)
                && x < prev + 9.0
            {
                x = prev + 9.0;
            }
            last_x.insert(m.lane, x);
        }
        let _ = write!(
            out,
            r#"<g class="mark {}"><title>{}</title>"#,
            m.class,
            esc(&m.title)
        );
        out.push_str(&shape(m.shape, x, y));
        if !m.label.is_empty() {
            let rows: &[Row] = if m.shape == Shape::DueLine {
                &[Row::Top]
            } else {
                &[Row::Above, Row::Below]
            };
            label(out, taken, rows, m, x, y);
        }
        out.push_str("</g>");
    }
}

fn shape(shape: Shape, x: f64, y: f64) -> String {
    let r = 6.5;
    match shape {
        Shape::Diamond => format!(
            r#"<path d="M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z"/>"#,
            y - r - 1.0,
            x + r + 1.0,
            y + r + 1.0,
            x - r - 1.0
        ),
        Shape::Circle => format!(r#"<circle cx="{x:.1}" cy="{y:.1}" r="{r}"/>"#),
        Shape::Square => format!(
            r#"<rect x="{:.1}" y="{:.1}" width="{}" height="{}"/>"#,
            x - r,
            y - r,
            2.0 * r,
            2.0 * r
        ),
        Shape::TriangleUp => format!(
            r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z"/>"#,
            y - r - 1.0,
            x + r + 1.0,
            y + r,
            x - r - 1.0,
            y + r
        ),
        Shape::Warning => format!(
            r#"<path d="M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z"/><text class="bang" x="{x:.1}" y="{:.1}" text-anchor="middle">!</text>"#,
            y - r - 3.0,
            x + r + 2.0,
            y + r,
            x - r - 2.0,
            y + r,
            y + r - 2.0
        ),
        Shape::DueLine => format!(
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}"/>"#,
            y - LANE / 2.0 + 2.0,
            y + LANE / 2.0 - 2.0
        ),
        Shape::Cross => format!(
            r#"<path d="M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}"/>"#,
            x - r,
            y - r,
            x + r,
            y + r,
            x - r,
            y + r,
            x + r,
            y - r
        ),
    }
}

/// Writes a marker's label above or below it, wherever it does not overlap
/// another label; a label with no room is left to the tooltip.
fn label(out: &mut String, taken: &mut Slots, rows: &[Row], m: &Mark, x: f64, y: f64) {
    let width = m.label.chars().count() as f64 * CHAR_W;
    let (mut lo, mut anchor) = (x - width / 2.0, "middle");
    if lo < LEFT {
        lo = x - 4.0;
        anchor = "start";
    } else if lo + width > WIDTH - 2.0 {
        lo = x - width + 4.0;
        anchor = "end";
    }
    let hi = lo + width;
    for &row in rows {
        let slots = taken.entry((m.lane, row)).or_default();
        if slots.iter().any(|&(a, b)| lo < b + 4.0 && a < hi + 4.0) {
            continue;
        }
        slots.push((lo, hi));
        let ty = row_y(row, y);
        let tx = match anchor {
            "start" => x - 4.0,
            "end" => x + 4.0,
            _ => x,
        };
        let _ = write!(
            out,
            r#"<text class="label" x="{tx:.1}" y="{ty:.1}" text-anchor="{anchor}">{}</text>"#,
            esc(&m.label)
        );
        return;
    }
}

/// One plain paragraph saying what the timeline shows, for screen readers.
fn describe(rec: &RecView, marks: &[Mark], bands: &[Band], at: Day) -> String {
    let count = |lane: Lane| marks.iter().filter(|m| m.lane == lane).count();
    let mut text = format!(
        "{} from its issue on {} to {at}: {} claims, {} assessments, {} funding steps, {} findings.",
        rec.rec,
        rec.issued_on,
        count(Lane::Claims),
        count(Lane::Assessments),
        count(Lane::Funding),
        count(Lane::Findings)
    );
    for b in bands {
        text.push(' ');
        text.push_str(&b.title);
    }
    text
}

/// "#12" or "#12, #14" for labels.
fn hash_seqs(seqs: &[u64]) -> String {
    let list: Vec<String> = seqs.iter().map(|s| format!("#{s}")).collect();
    list.join(",")
}

/// A statement's tooltip prefix: seqs, date, signer, and whether it still stands.
fn statement_title(s: &Statement, what: &str) -> String {
    let standing = if s.in_force() {
        String::new()
    } else {
        match s.standing {
            trail_core::state::Standing::Retracted { by } => format!(" [retracted by seq {by}]"),
            trail_core::state::Standing::Replaced { by } => format!(" [replaced by seq {by}]"),
            trail_core::state::Standing::InForce => String::new(),
        }
    };
    format!(
        "{}, {}: {what}, signed by {}{standing}",
        seqs_text(&s.seqs()),
        s.date(),
        who(s.actor.as_ref())
    )
}

/// Marks for the recommendation's own statements, due dates and targets.
fn record_marks(rec: &RecView) -> Vec<Mark> {
    let mut marks = Vec::new();
    let clock = &rec.response_clock;
    marks.push(Mark {
        lane: Lane::Record,
        date: clock.original_due,
        shape: Shape::DueLine,
        class: "k-due".into(),
        label: "due".into(),
        title: format!(
            "Response due by {} ({})",
            clock.original_due,
            seqs_text(&rec.issued_seqs)
        ),
    });
    for e in &clock.extensions {
        marks.push(Mark {
            lane: Lane::Record,
            date: e.new_due,
            shape: Shape::DueLine,
            class: "k-due extended".into(),
            label: "due (ext.)".into(),
            title: format!(
                "Response period extended from {} to {}, applied for {}, granted {} ({})",
                e.previous_due,
                e.new_due,
                e.requested_on,
                e.granted_on,
                seqs_text(&e.seqs)
            ),
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
                seqs_text(&c.seqs)
            ),
        });
    }
    for s in &rec.history {
        if let Some(m) = statement_mark(rec, s) {
            marks.push(m);
        }
    }
    marks
}

fn statement_mark(rec: &RecView, s: &Statement) -> Option<Mark> {
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
                ids(&e.addressees),
                super::truncate(&e.subject, 200)
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
                super::truncate(&e.reason, 200)
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
            format!("discussed at {}", super::truncate(&e.forum, 120)),
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
                "correction retracting seq {}: {}",
                c.target_seq,
                super::truncate(&c.reason, 200)
            ),
        ),
        Event::ProgressClaim(c) if c.rec == rec.rec => {
            let third = s.party == Some(Party::ThirdParty);
            let party = if third {
                format!(
                    "third-party claim by {} about {}",
                    who(s.actor.as_ref()),
                    c.subject
                )
            } else {
                format!("{}'s own claim", c.subject)
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
                    super::truncate(&c.narrative, 200)
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
                super::truncate(&a.narrative, 200)
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
        title: statement_title(s, &what),
    })
}

fn ids(ids: &[trail_core::Id]) -> String {
    let list: Vec<&str> = ids.iter().map(|i| i.as_str()).collect();
    list.join(", ")
}

fn funding_marks(view: &View, rec: &RecView) -> Vec<Mark> {
    let mut marks = Vec::new();
    for decision in &rec.funding {
        let Some(f) = view.funding.get(decision) else {
            continue;
        };
        for step in &f.stages {
            let stage = words(&step.stage);
            marks.push(Mark {
                lane: Lane::Funding,
                date: step.date,
                shape: Shape::Square,
                class: format!("k-funding f-{stage}"),
                label: format!("{} {stage}", hash_seqs(&step.seqs)),
                title: format!(
                    "{}, {}: funding decision {} {stage}, {} {}, by {}: {}",
                    seqs_text(&step.seqs),
                    step.date,
                    f.decision,
                    super::html::money(step.amount_minor, &f.currency),
                    if step.recs.contains(&rec.rec) {
                        format!("naming {}", rec.rec)
                    } else {
                        "naming other recommendations at this stage".into()
                    },
                    who(step.actor.as_ref()),
                    super::truncate(&f.purpose, 200)
                ),
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

fn finding_marks(view: &View, rec: &RecView, findings: &[&Finding]) -> Vec<Mark> {
    findings
        .iter()
        .map(|f| Mark {
            lane: Lane::Findings,
            date: finding_date(view, rec, f),
            shape: Shape::Warning,
            class: format!("k-finding s-{}", f.severity),
            label: f.rule.id().to_string(),
            title: format!(
                "{} ({}), {}: {}",
                f.rule.id(),
                f.severity,
                seqs_text(&f.seqs),
                f.message
            ),
        })
        .collect()
}

/// Bands for `claim_contradicted` findings: from the claim to the assessment it names.
fn bands(rec: &RecView, findings: &[&Finding]) -> Vec<Band> {
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
            out.push(Band {
                from: c.date(),
                to: a.date(),
                title: format!(
                    "The claim of implemented on {} ({}) and the assessment of {} ({}) part ways: {}",
                    c.date(),
                    seqs_text(&c.seqs()),
                    a.date(),
                    seqs_text(&a.seqs()),
                    f.message
                ),
            });
        }
    }
    out
}
