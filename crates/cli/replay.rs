//! Commands that replay the log: replay, history, check (and the state that report renders).
//!
//! Every one of them folds only verified entries: the replay starts from the
//! nearest snapshot whose entry hash still matches the stored chain and
//! verifies every entry it folds after it.

use std::path::Path;

use trail_core::json_name;
use trail_core::state::RecView;
use trail_core::{
    CheckConfig, Day, Finding, Id, Log, RecSelection, Severity, Timestamp, View, check,
};
use trail_core::{Cut, SnapshotOptions};

use crate::Failure;
use crate::args::When;
use crate::output;

type Outcome = Result<(), Failure>;

/// The view for `--at`, `--known-at` and `--at-seq` as the user gave them.
///
/// The state comes from the nearest replay snapshot (tied to its entry's
/// hash), folded forward over entries that are verified on the way.
pub fn view_for(
    dir: &Path,
    at: Option<When>,
    known_at: Option<When>,
    at_seq: Option<u64>,
) -> Result<View, Failure> {
    view_of(&Log::open_read(dir)?, None, at, known_at, at_seq)
}

/// [`view_for`] of some recommendations only, folded from their own entries
/// (the query indexes choose them) instead of the whole log.
pub fn selected_view_for(
    dir: &Path,
    selection: &RecSelection,
    at: Option<When>,
    known_at: Option<When>,
    at_seq: Option<u64>,
) -> Result<View, Failure> {
    view_of(&Log::open_read(dir)?, Some(selection), at, known_at, at_seq)
}

/// [`view_for`] on a log that is already open.
fn view_of(
    log: &Log,
    selection: Option<&RecSelection>,
    at: Option<When>,
    known_at: Option<When>,
    at_seq: Option<u64>,
) -> Result<View, Failure> {
    let now = Timestamp::now();
    let at_day = at.map_or_else(|| Day::of_timestamp(now), When::day);
    let known = known_at.map_or(now, When::instant);
    let cut = at_seq.map_or(Cut::KnownAt(known), Cut::AtSeq);
    let view = log.view_at(selection, cut, at_day, snapshot_options())?;
    // A --known-at before the log began answers with an empty state: say
    // so, or a pipeline with a mistyped date would pass on "0 findings".
    if known_at.is_some()
        && view.last_seq.is_none()
        && let Some(first) = log.entries(0, Some(0)).next().transpose()?
    {
        eprintln!(
            "trail: nothing was recorded by {known}: the log's first entry was recorded at {}",
            first.unsigned.recorded_at
        );
    }
    Ok(view)
}

/// Snapshot spacing: `TRAIL_SNAPSHOT_EVERY` entries (0 turns snapshots off), default 100,000.
fn snapshot_options() -> SnapshotOptions {
    std::env::var("TRAIL_SNAPSHOT_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or_else(SnapshotOptions::default, |every| SnapshotOptions { every })
}

fn or_dash(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".into())
}

/// The row of the replay table for one recommendation.
pub fn row(rec: &RecView) -> [String; 8] {
    let claimed = rec.claimed.as_ref().map(|c| json_name(&c.status));
    let third = rec
        .claims
        .iter()
        .rev()
        .find(|c| json_name(&c.party) == "third_party");
    let claimed = match (claimed, third) {
        (Some(c), _) => c,
        (None, Some(t)) => format!(
            "({} by {})",
            json_name(&t.status),
            or_dash(t.actor.as_ref().map(|a| a.to_string()))
        ),
        (None, None) => "-".into(),
    };
    [
        rec.rec.to_string(),
        rec.addressees
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>()
            .join(","),
        or_dash(rec.position.as_ref().map(|p| json_name(&p.position))),
        claimed,
        or_dash(rec.verified.as_ref().map(|v| json_name(&v.verdict))),
        json_name(&rec.schedule.status),
        json_name(&rec.closure.status),
        format!(
            "{} ({})",
            rec.response_clock.due,
            json_name(&rec.response_clock.status)
        ),
    ]
}

pub fn replay(
    dir: &Path,
    at: Option<When>,
    known_at: Option<When>,
    at_seq: Option<u64>,
    filter: &crate::args::RecFilter,
    json: bool,
) -> Outcome {
    let mut view = match filter.selection() {
        Some(selection) => selected_view_for(dir, &selection, at, known_at, at_seq)?,
        None => view_for(dir, at, known_at, at_seq)?,
    };
    view.recs.retain(|_, rec| filter.keeps(rec));
    if json {
        output::json_line("state", &view)?;
        return Ok(());
    }
    let known = view.known_at.map_or_else(
        || format!("seq {}", or_dash(view.last_seq.map(|s| s.to_string()))),
        |k| k.to_string(),
    );
    output::line(format!(
        "state on {} as known at {} ({} recommendation{})",
        view.at,
        known,
        view.recs.len(),
        if view.recs.len() == 1 { "" } else { "s" }
    ))?;
    let header = [
        "rec",
        "addressees",
        "position",
        "claimed",
        "verified",
        "schedule",
        "closure",
        "response due",
    ];
    let mut recs: Vec<&RecView> = view.recs.values().collect();
    recs.sort_by_key(|r| trail_core::Id::natural_key(r.rec.as_str()));
    let rows: Vec<Vec<String>> = recs
        .into_iter()
        .map(|r| row(r).map(|c| output::cell(&c, output::MAX_CELL)).to_vec())
        .collect();
    output::table(&header, &rows)?;
    Ok(())
}

pub fn history(dir: &Path, rec: &str, json: bool) -> Outcome {
    let unknown = || Failure::input(format!("unknown recommendation {}", output::safe(rec)));
    let selection = RecSelection {
        recs: vec![Id::new(rec).map_err(|_| unknown())?],
        reports: Vec::new(),
    };
    let view = selected_view_for(
        dir,
        &selection,
        Some(When::Day(
            Day::new(9999, 12, 31).unwrap_or(Day::of_timestamp(Timestamp::now())),
        )),
        None,
        None,
    )?;
    let found = view
        .recs
        .iter()
        .find(|(id, _)| id.as_str() == rec)
        .map(|(_, r)| r)
        .ok_or_else(unknown)?;
    if json {
        for s in &found.history {
            output::json_line("statement", s)?;
        }
        return Ok(());
    }
    let header = ["seq", "recorded (UTC)", "date", "actor", "type", "summary"];
    let rows: Vec<Vec<String>> = found
        .history
        .iter()
        .map(|s| {
            let standing = serde_json::to_value(s.standing).ok();
            let standing = standing
                .as_ref()
                .and_then(|v| v.get("standing"))
                .and_then(|v| v.as_str())
                .filter(|s| *s != "in_force")
                .map(|s| format!("  [{s}]"))
                .unwrap_or_default();
            vec![
                s.seq.to_string(),
                s.recorded_at.0.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                s.date().to_string(),
                output::cell(
                    &or_dash(s.actor.as_ref().map(|a| a.to_string())),
                    output::MAX_CELL,
                ),
                s.event.kind().name().to_owned(),
                format!(
                    "{}{standing}",
                    output::cell(&crate::read::summary(&s.event), output::MAX_CELL)
                ),
            ]
        })
        .collect();
    output::table(&header, &rows)?;
    Ok(())
}

/// Options of `trail check`.
pub struct CheckArgs {
    pub at: Option<When>,
    pub known_at: Option<When>,
    pub json: bool,
    pub fail_on: Severity,
    pub config: CheckConfig,
    pub filter: crate::args::FindingFilter,
}

/// The exit code of `trail check` when findings reach `--fail-on`.
pub const FINDINGS_EXIT: u8 = 3;

pub fn run_check(dir: &Path, args: CheckArgs) -> Outcome {
    let view = view_for(dir, args.at, args.known_at, None)?;
    let mut findings = check(&view, &args.config);
    findings.retain(|f| args.filter.keeps(f));
    // Stable: within one recommendation the rules keep their order.
    findings.sort_by_cached_key(|f| {
        f.rec
            .as_ref()
            .map(|r| trail_core::Id::natural_key(r.as_str()))
    });
    for f in &findings {
        if args.json {
            output::json_line("finding", f)?;
        } else {
            output::line(finding_line(f))?;
        }
    }
    if !args.json {
        output::line(format!("{} finding(s) on {}", findings.len(), view.at))?;
    }
    let failing = findings
        .iter()
        .filter(|f| f.severity >= args.fail_on)
        .count();
    if failing > 0 {
        // 3, not 1: a pipeline must tell "the record has findings" from
        // "the log failed verification".
        return Err(Failure {
            broken_pipe: false,
            code: FINDINGS_EXIT,
            message: format!("{failing} finding(s) at or above {}", args.fail_on.name()),
        });
    }
    Ok(())
}

/// One finding as a line: severity, rule, subject, seqs, sentence.
pub fn finding_line(f: &Finding) -> String {
    let subject = f
        .rec
        .as_ref()
        .or(f.decision.as_ref())
        .map_or("-".to_owned(), |i| i.to_string());
    let seqs: Vec<String> = f.seqs.iter().map(u64::to_string).collect();
    output::safe(&format!(
        "{:<7} {:<28} {:<12} seqs {:<10} {}",
        f.severity.name(),
        f.rule.id(),
        subject,
        seqs.join(","),
        f.message
    ))
}

/// Thresholds from the optional JSON file, then overridden by the flags given.
pub fn check_config(thresholds: &crate::args::Thresholds) -> Result<CheckConfig, Failure> {
    let file = thresholds.config.as_deref();
    let mut config = match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
            serde_json::from_str(&text)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?
        }
        None => CheckConfig::default(),
    };
    let fields = [
        (thresholds.timetable_days, &mut config.timetable_days),
        (
            thresholds.late_implementation_days,
            &mut config.late_implementation_days,
        ),
        (thresholds.stale_months, &mut config.stale_months),
        (
            thresholds.funding_unlinked_months,
            &mut config.funding_unlinked_months,
        ),
    ];
    for (flag, field) in fields {
        if let Some(value) = flag {
            *field = value;
        }
    }
    Ok(config)
}

pub fn report(
    dir: &Path,
    at: Option<When>,
    known_at: Option<When>,
    config: &CheckConfig,
    format: crate::args::ReportFormat,
    out: &Path,
) -> Outcome {
    let log = Log::open_read(dir)?;
    let view = view_of(&log, None, at, known_at, None)?;
    let findings = check(&view, config);
    let name = log
        .entries(0, Some(0))
        .next()
        .transpose()?
        .and_then(|genesis| match genesis.unsigned.event {
            trail_core::Event::LogCreated(g) => Some(g.name),
            _ => None,
        })
        .unwrap_or_default();
    let text = crate::report::render(&view, &findings, &name, format);
    output::write_file(out, text.as_bytes())?;
    output::status(
        out,
        format!(
            "wrote {} ({} recommendations, {} findings)",
            output::name(out),
            view.recs.len(),
            findings.len()
        ),
    )?;
    Ok(())
}
