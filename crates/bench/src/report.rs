//! The result table: every figure beside the limit it is compared with.

use std::fmt::Write as _;

use serde::Serialize;

/// How a ratio reads.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RatioKind {
    /// The figure as a fraction of a rate limit (higher is better, 1.0 is the limit).
    FractionOfLimit,
    /// The figure as a multiple of a cost floor (lower is better, 1.0 is the floor).
    MultipleOfFloor,
    /// The figure as a multiple of another figure in this run.
    MultipleOf,
}

/// One line of the table.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// Section number of issue 5 (1 limits ... 7 disk and memory), 8 the served log,
    /// 9 tlog-tiles publishing and mirroring.
    pub section: u8,
    /// What was measured.
    pub name: String,
    /// The figure.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// What it is compared with, if anything.
    pub limit: Option<String>,
    /// The ratio to that limit.
    pub ratio: Option<f64>,
    /// How the ratio reads.
    pub ratio_kind: Option<RatioKind>,
    /// The issue-5 target, in words.
    pub target: Option<String>,
    /// Whether the target is met.
    pub met: Option<bool>,
}

impl Row {
    /// A row without a comparison (a limit itself).
    pub fn plain(section: u8, name: impl Into<String>, value: f64, unit: &'static str) -> Row {
        Row {
            section,
            name: name.into(),
            value,
            unit,
            limit: None,
            ratio: None,
            ratio_kind: None,
            target: None,
            met: None,
        }
    }

    /// Adds the limit and ratio.
    pub fn vs(mut self, limit: impl Into<String>, ratio: f64, kind: RatioKind) -> Row {
        self.limit = Some(limit.into());
        self.ratio = Some(ratio);
        self.ratio_kind = Some(kind);
        self
    }

    /// Adds a target and whether it is met.
    pub fn target(mut self, target: impl Into<String>, met: bool) -> Row {
        self.target = Some(target.into());
        self.met = Some(met);
        self
    }
}

fn number(v: f64) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    let a = v.abs();
    if a >= 100_000.0 {
        let digits = format!("{:.0}", v);
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

fn ratio(row: &Row) -> String {
    match (row.ratio, row.ratio_kind) {
        (Some(r), Some(RatioKind::FractionOfLimit)) => format!("{:.0}% of limit", r * 100.0),
        (Some(r), Some(RatioKind::MultipleOfFloor)) => format!("{r:.2}x floor"),
        (Some(r), Some(RatioKind::MultipleOf)) => format!("{r:.2}x"),
        _ => String::new(),
    }
}

/// The table as Markdown, one section after another.
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::new();
    out.push_str("| # | measurement | value | compared with | ratio | target | met |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for row in rows {
        let met = match row.met {
            Some(true) => "met",
            Some(false) => "MISSED",
            None => "",
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} {} | {} | {} | {} | {} |",
            row.section,
            row.name,
            number(row.value),
            row.unit,
            row.limit.as_deref().unwrap_or(""),
            ratio(row),
            row.target.as_deref().unwrap_or(""),
            met
        );
    }
    out
}
