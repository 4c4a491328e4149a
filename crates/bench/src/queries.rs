//! Section 10 (issue 11): the questions people ask, through the `trail`
//! binary on the big log, as whole processes: one recommendation's history,
//! its state at a random (date, known-at) pair, a report's, everything at a
//! date, the check and the HTML report, and their peak RSS. Each wall time
//! is set beside the bare start of the binary (`trail --version`) measured
//! in the same run, the least any command costs.

use std::ffi::OsStr;
use std::path::Path;
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use trail_core::Cut;
use trail_core::{Day, Id, Log, RecSelection, SecretKey, Timestamp};

use crate::child::{Peak, run_allowing, trail_binary};
use crate::limits::percentile;
use crate::measure::{BoxError, secs};
use crate::report::{RatioKind, Row};

const SECTION: u8 = 10;
/// Runs of each one-recommendation command; the p50 is reported.
const RUNS: usize = 15;
/// Library calls of the selective replay timed.
const CALLS: usize = 200;
/// Peak RSS every command must stay under on the million-entry log.
const RSS_LIMIT_MIB: f64 = 256.0;

/// What the log holds, to pick questions from.
struct Span {
    recs: u64,
    per_round: u64,
    rounds: u64,
    first: Timestamp,
    last: Timestamp,
}

impl Span {
    fn of(log: &Log, recs: u64, per_round: u64) -> Result<Span, BoxError> {
        let head = log.head().ok_or("the benchmark log is empty")?;
        let first = log
            .entries(0, Some(0))
            .next()
            .ok_or("no genesis")??
            .unsigned
            .recorded_at;
        Ok(Span {
            recs,
            per_round,
            rounds: recs.div_ceil(per_round).max(1),
            first,
            last: head.recorded_at,
        })
    }

    fn rec(&self, rng: &mut SmallRng) -> String {
        let n = rng.random_range(0..self.recs.max(1));
        crate::workload::rec_id(n / self.per_round, n % self.per_round)
    }

    fn report(&self, rng: &mut SmallRng) -> String {
        crate::workload::report_id(rng.random_range(0..self.rounds))
    }

    fn date(&self, rng: &mut SmallRng) -> String {
        // From the first round to a little past the last, when later
        // rounds' claims and closures speak.
        crate::workload::day(rng.random_range(0..=self.rounds + 10), 0)
    }

    fn known_at(&self, rng: &mut SmallRng) -> String {
        let (a, b) = (self.first.micros(), self.last.micros());
        let t = rng.random_range(a..=b);
        Timestamp::from_micros(t).map_or_else(|| self.last.to_string(), |t| t.to_string())
    }
}

/// Wall times (s) and the highest peak RSS (KiB) of several runs.
struct Runs {
    walls: Vec<f64>,
    peak_kib: Option<u64>,
}

impl Runs {
    fn p50(&self) -> f64 {
        let mut w = self.walls.clone();
        w.sort_by(f64::total_cmp);
        percentile(&w, 50.0)
    }
}

fn runs(
    trail: &Path,
    peak: Peak,
    count: usize,
    mut args: impl FnMut() -> Vec<String>,
) -> Result<Runs, BoxError> {
    let mut out = Runs {
        walls: Vec::new(),
        peak_kib: None,
    };
    for _ in 0..count {
        let args = args();
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        // `trail check` exits 3 when it has findings: an answer, not a failure.
        let ran = run_allowing(trail, &args, peak, &[0, 3])?;
        out.walls.push(secs(ran.wall));
        out.peak_kib = out.peak_kib.max(ran.peak_kib);
    }
    Ok(out)
}

/// Measures section 10 on the log at `dir` (closed: the binary opens it).
pub(crate) fn measure(
    dir: &Path,
    operator: &SecretKey,
    recs: u64,
    per_round: u64,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let Some(trail) = trail_binary()? else {
        let why = "queries: skipped, no trail binary beside trail-bench (run `cargo build --release` first)";
        eprintln!("trail-bench: {why}");
        rows.push(Row::plain(SECTION, why, f64::NAN, ""));
        return Ok(());
    };
    let log = Log::open(dir)?;
    let span = Span::of(&log, recs, per_round)?;
    let mut rng = SmallRng::seed_from_u64(11);
    library_history(&log, &span, &mut rng, rows)?;
    drop(log);

    let peak = Peak::available();
    let log_arg = dir.display().to_string();
    let bare = runs(&trail, peak, RUNS, || vec!["--version".into()])?;
    let floor = bare.p50();
    rows.push(Row::plain(
        SECTION,
        format!("bare start of the binary (trail --version), p50 of {RUNS}"),
        floor * 1000.0,
        "ms",
    ));
    let base = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        v.extend(["--log".into(), log_arg.clone()]);
        v
    };

    let one = |name: String, target_s: f64, count: usize, runs_of: Runs, rows: &mut Vec<Row>| {
        let p50 = runs_of.p50();
        let target = if target_s < 1.0 {
            format!("< {:.0} ms", target_s * 1000.0)
        } else {
            format!("< {target_s:.0} s")
        };
        rows.push(
            Row::plain(
                SECTION,
                format!("{name}, p50 of {count}"),
                p50 * 1000.0,
                "ms",
            )
            .vs(
                format!("bare start p50: {:.1} ms", floor * 1000.0),
                p50 / floor,
                RatioKind::MultipleOfFloor,
            )
            .target(target, p50 < target_s),
        );
        if let Some(kib) = runs_of.peak_kib {
            let mib = kib as f64 / 1024.0;
            rows.push(
                Row::plain(
                    SECTION,
                    format!("{name}: peak RSS ({})", peak.how()),
                    mib,
                    "MiB",
                )
                .target(format!("< {RSS_LIMIT_MIB:.0} MiB"), mib < RSS_LIMIT_MIB),
            );
        }
    };

    let history = runs(&trail, peak, RUNS, || {
        let rec = span.rec(&mut rng);
        base(&["history", &rec])
    })?;
    one("trail history REC".into(), 0.1, RUNS, history, rows);

    // The first search writes the text file (search.text); later ones read it.
    let first_search = runs(&trail, peak, 1, || {
        base(&["search", "specialist staff", "--limit", "20"])
    })?;
    rows.push(
        Row::plain(
            SECTION,
            "first trail search (writes search.text from every entry)",
            first_search.p50() * 1000.0,
            "ms",
        )
        .vs(
            format!("bare start p50: {:.1} ms", floor * 1000.0),
            first_search.p50() / floor,
            RatioKind::MultipleOfFloor,
        ),
    );
    let phrases = [
        "specialist staff",
        "victims were contacted",
        "budget approved for analysts",
        "referral records",
    ];
    let mut next = 0;
    let search = runs(&trail, peak, RUNS, || {
        next += 1;
        base(&["search", phrases[next % phrases.len()], "--limit", "20"])
    })?;
    one(
        "trail search PHRASE --limit 20 (after the first)".into(),
        0.3,
        RUNS,
        search,
        rows,
    );

    let mut rng = SmallRng::seed_from_u64(12);
    let rec_replay = runs(&trail, peak, RUNS, || {
        let (rec, at, known) = (
            span.rec(&mut rng),
            span.date(&mut rng),
            span.known_at(&mut rng),
        );
        base(&["replay", "--rec", &rec, "--at", &at, "--known-at", &known])
    })?;
    one(
        "trail replay --rec R --at D --known-at T (random)".into(),
        0.1,
        RUNS,
        rec_replay,
        rows,
    );

    let mut rng = SmallRng::seed_from_u64(13);
    let report_replay = runs(&trail, peak, RUNS, || {
        let (report, at, known) = (
            span.report(&mut rng),
            span.date(&mut rng),
            span.known_at(&mut rng),
        );
        base(&[
            "replay",
            "--report",
            &report,
            "--at",
            &at,
            "--known-at",
            &known,
        ])
    })?;
    one(
        format!(
            "trail replay --report X --at D --known-at T (random; {} recs each)",
            span.per_round
        ),
        0.1,
        RUNS,
        report_replay,
        rows,
    );

    // The first replay of everything folds the whole log and writes the
    // snapshots (section 5 times that fold); the timed ones start from them.
    let mut rng = SmallRng::seed_from_u64(14);
    let warm = runs(&trail, peak, 1, || {
        base(&["replay", "--at", &span.date(&mut rng)])
    })?;
    rows.push(Row::plain(
        SECTION,
        "first trail replay --at D (folds everything, writes the snapshots)",
        warm.p50() * 1000.0,
        "ms",
    ));
    let whole = runs(&trail, peak, 3, || {
        let at = span.date(&mut rng);
        base(&["replay", "--at", &at])
    })?;
    one(
        "trail replay --at D (everything)".into(),
        1.0,
        3,
        whole,
        rows,
    );

    let check = runs(&trail, peak, 1, || base(&["check"]))?;
    one("trail check".into(), 3.0, 1, check, rows);
    pages(&trail, dir, operator, &span, rows)
}

/// The pages `trail serve` renders (issue 14), timed from request to last
/// byte over loopback on a running server: one recommendation's page and
/// the overview.
fn pages(
    trail: &Path,
    dir: &Path,
    operator: &SecretKey,
    span: &Span,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let key = dir.with_file_name("operator.key");
    if !key.exists() {
        operator.write_new_file(&key)?;
    }
    let mut server = std::process::Command::new(trail)
        .args(["serve", "--listen", "127.0.0.1:0", "--log"])
        .arg(dir)
        .arg("--operator-key")
        .arg(&key)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let mut first = String::new();
    let stdout = server.stdout.take().ok_or("no server stdout")?;
    std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut first)?;
    let addr = first
        .trim()
        .rsplit("http://")
        .next()
        .filter(|a| a.contains(':'))
        .ok_or_else(|| format!("unexpected first line from trail serve: {first:?}"))?
        .to_owned();
    let result = (|| -> Result<(), BoxError> {
        let mut rng = SmallRng::seed_from_u64(15);
        let mut rec_times = Vec::new();
        for _ in 0..RUNS {
            let path = format!("/rec/{}", span.rec(&mut rng));
            rec_times.push(get(&addr, &path)?);
        }
        let mut overview = Vec::new();
        for _ in 0..3 {
            overview.push(get(&addr, &format!("/?at={}", span.date(&mut rng)))?);
        }
        for (name, mut times, target) in [
            ("GET /rec/{rec}: one recommendation's page", rec_times, 0.05),
            (
                "GET /?at=D: the overview (first page of 100)",
                overview,
                0.5,
            ),
        ] {
            times.sort_by(f64::total_cmp);
            let p50 = percentile(&times, 50.0);
            rows.push(
                Row::plain(
                    SECTION,
                    format!("{name}, served, p50 of {}", times.len()),
                    p50 * 1000.0,
                    "ms",
                )
                .target(format!("< {:.0} ms", target * 1000.0), p50 < target),
            );
        }
        Ok(())
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}

/// Seconds from sending `GET path` to the end of a 200 answer.
fn get(addr: &str, path: &str) -> Result<f64, BoxError> {
    use std::io::{Read, Write};
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(addr)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let took = secs(started.elapsed());
    if !answer.starts_with(b"HTTP/1.1 200") {
        let head = String::from_utf8_lossy(&answer[..answer.len().min(200)]).into_owned();
        return Err(format!("GET {path}: {head}").into());
    }
    Ok(took)
}

/// The library call behind `trail history`: [`Log::selected_view`] of one
/// random recommendation, on an open log.
fn library_history(
    log: &Log,
    span: &Span,
    rng: &mut SmallRng,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let head = log.head().ok_or("empty log")?;
    let far = Day::new(9999, 12, 31).ok_or("a far day")?;
    let mut times = Vec::with_capacity(CALLS);
    let mut folded = 0usize;
    for _ in 0..CALLS {
        let selection = RecSelection {
            recs: vec![Id::new(&span.rec(rng))?],
            reports: Vec::new(),
        };
        let started = Instant::now();
        let view = log.selected_view(&selection, Cut::AtSeq(head.seq), far)?;
        times.push(secs(started.elapsed()));
        folded += view.recs.values().map(|r| r.history.len()).sum::<usize>();
    }
    times.sort_by(f64::total_cmp);
    rows.push(
        Row::plain(
            SECTION,
            format!(
                "library: Log::selected_view of one recommendation (history), p50 of {CALLS} ({:.1} statements each)",
                folded as f64 / CALLS as f64
            ),
            percentile(&times, 50.0) * 1000.0,
            "ms",
        )
        .target("< 5 ms", percentile(&times, 50.0) < 0.005),
    );
    Ok(())
}
