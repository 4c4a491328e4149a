//! One recommendation's timeline as inline SVG, shared by the served
//! recommendation page and `trail report --format html`.
//!
//! The date axis runs from the first to the last thing drawn, not to the
//! view's date, so a record of 2022-23 fills the width however late it is
//! read; the view's date is marked at the right edge when it lies beyond.
//! Only lanes that hold something are drawn. Within a lane, each mark and
//! its label take the first row where they overlap nothing, so no label
//! ever covers another, and a lane grows a row rather than drop one.
//!
//! Every mark carries a `<title>` naming its seqs and signer. Where a claim
//! of implemented is later assessed otherwise (`claim_contradicted`), a red
//! line joins the two marks and a band spans the time between them.

mod marks;

use std::collections::BTreeMap;

use maud::{Markup, html};
use trail_core::state::RecView;
use trail_core::{Day, Finding, View};

use super::text::inert;
use marks::{Lane, Mark, Shape};

/// Width of the drawing in SVG units; it scales to the page.
const WIDTH: f64 = 960.0;
/// Left column, for lane names.
const LEFT: f64 = 118.0;
/// Right margin.
const RIGHT: f64 = 12.0;
/// The strip above the lanes, for the view's date.
const TOP: f64 = 20.0;
/// One row of marks within a lane.
const ROW: f64 = 22.0;
/// Space above and below a lane's rows.
const PAD: f64 = 5.0;
/// Space below the lanes, for the date labels.
const BOTTOM: f64 = 26.0;
/// Half the size of a mark.
const R: f64 = 6.5;
/// A generous width of one character of an 11px label, so that estimated
/// extents never undercount what the browser draws.
const CHAR_W: f64 = 6.6;
/// Least gap between two things in one row.
const GAP: f64 = 6.0;

/// Which timeline this is, so that element ids stay unique when the same
/// recommendation is drawn twice on one page.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// The recommendation's own section or page.
    Main,
    /// A summary of contradictions above the detail.
    Summary,
}

/// The date axis: days from `first` to `last`, with a margin, across the
/// plot's width.
struct Axis {
    first: Day,
    last: Day,
    pad: f64,
    span: f64,
}

impl Axis {
    fn new(first: Day, last: Day) -> Axis {
        let days = first.days_until(last).max(1) as f64;
        let pad = (days * 0.02).max(3.0);
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

/// A mark where it is drawn: its row within its lane, and which side of
/// it the label goes.
struct Placed<'a> {
    mark: &'a Mark,
    x: f64,
    row: usize,
    label_left: bool,
}

/// Places one lane's marks: in date order, each in the first row where the
/// mark and its label clear everything already there.
fn place<'a>(axis: &Axis, marks: Vec<&'a Mark>) -> (Vec<Placed<'a>>, usize) {
    let mut rows: Vec<f64> = Vec::new(); // where each row's last occupant ends
    let mut placed = Vec::new();
    for mark in marks {
        let x = axis.x(mark.date);
        let width = mark.label.chars().count() as f64 * CHAR_W;
        let label_left = x + R + 4.0 + width > WIDTH - RIGHT;
        let (lo, hi) = if label_left {
            (x - R - 4.0 - width, x + R)
        } else {
            (x - R, x + R + 4.0 + width)
        };
        let row = match rows.iter().position(|&end| end + GAP <= lo) {
            Some(r) => r,
            None => {
                rows.push(f64::NEG_INFINITY);
                rows.len() - 1
            }
        };
        rows[row] = hi;
        placed.push(Placed {
            mark,
            x,
            row,
            label_left,
        });
    }
    (placed, rows.len().max(1))
}

/// One lane as drawn: where it starts and how many rows it has.
struct LaneBox<'a> {
    lane: Lane,
    top: f64,
    rows: usize,
    placed: Vec<Placed<'a>>,
}

impl LaneBox<'_> {
    fn height(&self) -> f64 {
        2.0 * PAD + ROW * self.rows as f64
    }

    fn centre(&self, row: usize) -> f64 {
        self.top + PAD + ROW * row as f64 + ROW / 2.0
    }
}

/// The timeline of `rec` with its `findings`, as an `<svg>` element.
pub(crate) fn svg(
    view: &View,
    rec: &RecView,
    findings: &[&Finding],
    placement: Placement,
) -> Markup {
    let marks = marks::marks(view, rec, findings);
    let joins = marks::parts_ways(rec, findings);
    let first = marks.iter().map(|m| m.date).min().unwrap_or(rec.issued_on);
    let last = marks.iter().map(|m| m.date).max().unwrap_or(rec.issued_on);
    let axis = Axis::new(first, last);

    let mut by_lane: BTreeMap<Lane, Vec<&Mark>> = BTreeMap::new();
    for m in &marks {
        by_lane.entry(m.lane).or_default().push(m);
    }
    let mut lanes = Vec::new();
    let mut top = TOP;
    for lane in Lane::ALL {
        let Some(mut list) = by_lane.remove(&lane) else {
            continue;
        };
        list.sort_by_key(|m| (m.date, m.seqs.first().copied()));
        let (placed, rows) = place(&axis, list);
        let b = LaneBox {
            lane,
            top,
            rows,
            placed,
        };
        top += b.height();
        lanes.push(b);
    }
    let plot_bottom = top;
    let height = plot_bottom + BOTTOM;

    // Where each seq's mark was drawn, to join a claim to its assessment.
    let mut at_seq: BTreeMap<u64, (f64, f64)> = BTreeMap::new();
    for b in &lanes {
        for p in &b.placed {
            if matches!(p.mark.lane, Lane::Claims | Lane::Assessments) {
                for &s in &p.mark.seqs {
                    at_seq.insert(s, (p.x, b.centre(p.row)));
                }
            }
        }
    }
    let find = |seqs: &[u64]| seqs.iter().find_map(|s| at_seq.get(s)).copied();

    // Distinct prefixes, so that no recommendation's id can make one
    // placement's element ids equal another's.
    let id = match placement {
        Placement::Main => format!("main-{}", rec.rec),
        Placement::Summary => format!("sum-{}", rec.rec),
    };
    let class = match placement {
        Placement::Main => "timeline",
        Placement::Summary => "timeline-summary",
    };
    let beyond = view.at > last;
    html! {
        svg class=(class) viewBox=(format!("0 0 {WIDTH} {height:.0}")) width="100%"
            role="img" aria-labelledby=(format!("tl-title-{id} tl-desc-{id}")) {
            title id=(format!("tl-title-{id}")) { "Timeline of " (rec.rec) }
            desc id=(format!("tl-desc-{id}")) { (inert(&describe(rec, &marks, view.at))) }
            @for (i, b) in lanes.iter().enumerate() {
                rect class=(if i % 2 == 0 { "lane even" } else { "lane" })
                    x="0" y=(num(b.top)) width=(num(WIDTH)) height=(num(b.height())) {}
                text class="lane-name" x="8" y=(num(b.top + PAD + 15.0)) { (b.lane.name()) }
            }
            (ticks(&axis, plot_bottom))
            @if !beyond {
                g class="as-at" {
                    title { "The view's date: the state as on " (view.at) }
                    line x1=(num(axis.x(view.at))) y1=(num(TOP - 4.0)) x2=(num(axis.x(view.at))) y2=(num(plot_bottom)) {}
                    text x=(num(axis.x(view.at))) y="14" text-anchor="middle" { "as on " (view.at) }
                }
            } @else {
                g class="as-at" {
                    title { "The view's date, after everything drawn: the state as on " (view.at) }
                    text x=(num(WIDTH - RIGHT)) y="14" text-anchor="end" { "as on " (view.at) " →" }
                }
            }
            @for j in &joins {
                @if let (Some((x1, y1)), Some((x2, y2))) = (find(&j.claim), find(&j.assessment)) {
                    g class="contradiction" {
                        title { (inert(&j.title)) }
                        rect x=(num(x1.min(x2))) y=(num(y1.min(y2) - ROW / 2.0)) width=(num((x2 - x1).abs().max(3.0)))
                            height=(num((y2 - y1).abs() + ROW)) {}
                        line x1=(num(x1)) y1=(num(y1)) x2=(num(x2)) y2=(num(y2)) {}
                    }
                }
            }
            @for b in &lanes {
                @for p in &b.placed {
                    (mark(p, b))
                }
            }
        }
    }
}

/// A coordinate, to a tenth of a unit.
fn num(v: f64) -> String {
    format!("{v:.1}")
}

fn mark(p: &Placed<'_>, b: &LaneBox<'_>) -> Markup {
    let (x, y) = (p.x, b.centre(p.row));
    let (tx, anchor) = if p.label_left {
        (x - R - 4.0, "end")
    } else {
        (x + R + 4.0, "start")
    };
    html! {
        g class=(format!("mark {}", p.mark.class)) {
            title { (inert(&p.mark.title)) }
            (shape(p.mark.shape, x, y))
            text class="label" x=(num(tx)) y=(num(y + 4.0)) text-anchor=(anchor) { (inert(&p.mark.label)) }
        }
    }
}

fn shape(shape: Shape, x: f64, y: f64) -> Markup {
    let path = |d: String| html! { path d=(d) {} };
    match shape {
        Shape::Diamond => path(format!(
            "M{x:.1} {:.1}L{:.1} {y:.1}L{x:.1} {:.1}L{:.1} {y:.1}Z",
            y - R - 1.0,
            x + R + 1.0,
            y + R + 1.0,
            x - R - 1.0
        )),
        Shape::Circle => html! { circle cx=(num(x)) cy=(num(y)) r=(R) {} },
        Shape::Square => html! {
            rect x=(num(x - R)) y=(num(y - R)) width=(2.0 * R) height=(2.0 * R) {}
        },
        Shape::TriangleUp => path(format!(
            "M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z",
            y - R - 1.0,
            x + R + 1.0,
            y + R,
            x - R - 1.0,
            y + R
        )),
        Shape::Warning => html! {
            (path(format!(
                "M{x:.1} {:.1}L{:.1} {:.1}L{:.1} {:.1}Z",
                y - R - 2.0, x + R + 1.0, y + R, x - R - 1.0, y + R
            )))
            text class="bang" x=(num(x)) y=(num(y + R - 1.5)) text-anchor="middle" { "!" }
        },
        Shape::DueLine => html! {
            line x1=(num(x)) y1=(num(y - ROW / 2.0 + 1.0)) x2=(num(x)) y2=(num(y + ROW / 2.0 - 1.0)) {}
        },
        Shape::Cross => path(format!(
            "M{:.1} {:.1}L{:.1} {:.1}M{:.1} {:.1}L{:.1} {:.1}",
            x - R,
            y - R,
            x + R,
            y + R,
            x - R,
            y + R,
            x + R,
            y - R
        )),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Gridlines and date labels: years, half-years, quarters or months,
/// whichever leaves room between labels.
fn ticks(axis: &Axis, bottom: f64) -> Markup {
    let days = axis.first.days_until(axis.last);
    let step: i32 = match days {
        d if d > 365 * 12 => 24,
        d if d > 365 * 6 => 12,
        d if d > 365 * 3 => 6,
        d if d > 365 => 3,
        d if d > 120 => 2,
        _ => 1,
    };
    let mut at = Vec::new();
    let (mut year, mut month) = (axis.first.0.year(), i32::from(axis.first.0.month()));
    // The first month boundary after `first` that is a multiple of the step.
    month = ((month - 1) / step + 1) * step + 1;
    for _ in 0..200 {
        while month > 12 {
            month -= 12;
            year += 1;
        }
        let Some(day) = i8::try_from(month).ok().and_then(|m| Day::new(year, m, 1)) else {
            break;
        };
        if day > axis.last {
            break;
        }
        let label = if step >= 12 || month == 1 {
            year.to_string()
        } else {
            format!("{} {year}", MONTHS[(month - 1) as usize])
        };
        at.push((axis.x(day), label));
        month += step;
    }
    html! {
        line class="axis" x1=(num(LEFT)) y1=(num(bottom)) x2=(num(WIDTH - RIGHT)) y2=(num(bottom)) {}
        @for (x, label) in &at {
            line class="grid" x1=(num(*x)) y1=(num(TOP)) x2=(num(*x)) y2=(num(bottom)) {}
            text class="tick" x=(num(*x)) y=(num(bottom + 16.0)) text-anchor="middle" { (label) }
        }
    }
}

/// The timeline in words, for readers who cannot see it.
fn describe(rec: &RecView, marks: &[Mark], at: Day) -> String {
    let count = |lane: Lane| marks.iter().filter(|m| m.lane == lane).count();
    format!(
        "{} from its issue on {} to {at}: {} claims, {} assessments, {} funding steps, {} findings.",
        rec.rec,
        rec.issued_on,
        count(Lane::Claims),
        count(Lane::Assessments),
        count(Lane::Funding),
        count(Lane::Findings)
    )
}

/// The key to the marks, drawn with the same classes.
pub(crate) fn legend() -> Markup {
    let items: [(&str, Shape, &str); 12] = [
        ("k-issue", Shape::Diamond, "issued"),
        ("k-due", Shape::DueLine, "response due"),
        ("k-response p-accepted", Shape::Circle, "response"),
        ("k-target", Shape::TriangleUp, "target date"),
        ("k-session", Shape::Circle, "session"),
        ("k-closure", Shape::Square, "closed"),
        ("k-correction", Shape::Cross, "correction"),
        ("k-claim c-implemented", Shape::Circle, "claim"),
        (
            "k-claim c-implemented third-party",
            Shape::Circle,
            "third-party claim",
        ),
        ("k-assessment v-verified", Shape::Diamond, "assessment"),
        ("k-funding f-paid", Shape::Square, "funding step"),
        ("k-finding s-error", Shape::Warning, "finding"),
    ];
    let per_row = 6;
    let width = 150.0;
    let rows = items.len().div_ceil(per_row);
    html! {
        svg class="legend" viewBox=(format!("0 0 {} {}", width * per_row as f64, 26 * rows)) width="100%"
            role="img" aria-label="Key to the timeline marks" {
            @for (i, (class, s, name)) in items.iter().enumerate() {
                @let x = 12.0 + width * (i % per_row) as f64;
                @let y = 13.0 + 26.0 * (i / per_row) as f64;
                g class=(format!("mark {class}")) {
                    (shape(*s, x, y))
                    text class="label" x=(num(x + R + 6.0)) y=(num(y + 4.0)) { (name) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(date: Day, label: &str) -> Mark {
        Mark {
            lane: Lane::Claims,
            date,
            shape: Shape::Circle,
            class: String::new(),
            label: label.into(),
            title: String::new(),
            seqs: vec![],
        }
    }

    /// The extent a placed mark and its label take, as `place` reckons it.
    fn extent(p: &Placed<'_>) -> (f64, f64) {
        let w = p.mark.label.chars().count() as f64 * CHAR_W;
        if p.label_left {
            (p.x - R - 4.0 - w, p.x + R)
        } else {
            (p.x - R, p.x + R + 4.0 + w)
        }
    }

    #[test]
    fn marks_on_nearby_days_take_separate_rows_and_never_overlap() {
        let d = |m: i8, day: i8| Day::new(2023, m, day).expect("day");
        let marks = [
            mark(d(1, 1), "#24 issued"),
            mark(d(1, 3), "due"),
            mark(d(1, 4), "#26 accepted"),
            mark(d(6, 1), "#30 implemented"),
            mark(d(12, 31), "#31 verified"),
        ];
        let axis = Axis::new(d(1, 1), d(12, 31));
        let (placed, rows) = place(&axis, marks.iter().collect());
        assert_eq!(rows, 3, "the three January marks need three rows");
        for (i, a) in placed.iter().enumerate() {
            for b in &placed[i + 1..] {
                if a.row == b.row {
                    let (a0, a1) = extent(a);
                    let (b0, b1) = extent(b);
                    assert!(
                        a1 + GAP <= b0 || b1 + GAP <= a0,
                        "{} and {} overlap",
                        a.mark.label,
                        b.mark.label
                    );
                }
            }
        }
        let last = placed.last().expect("placed");
        assert!(
            last.label_left,
            "a label at the right edge goes to the left of its mark"
        );
        assert!(extent(last).0 >= LEFT, "and stays inside the plot");
    }

    #[test]
    fn the_axis_spans_the_marks_not_the_view_date() {
        let axis = Axis::new(
            Day::new(2022, 3, 1).expect("day"),
            Day::new(2023, 3, 1).expect("day"),
        );
        let x0 = axis.x(axis.first);
        let x1 = axis.x(axis.last);
        assert!(
            x0 > LEFT && x0 < LEFT + 30.0,
            "first at the left edge: {x0}"
        );
        assert!(
            x1 < WIDTH - RIGHT && x1 > WIDTH - RIGHT - 30.0,
            "last at the right edge: {x1}"
        );
    }
}
