//! The measurements of issue 5, in order, each turned into table rows.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use serde::Serialize;
use trail_core::{Event, Log, bundle};

use crate::limits::{self, Limits, percentile};
use crate::reads;
use crate::report::{RatioKind, Row};
use crate::served;
use crate::tiles;
use crate::workload::{self, respondent};

/// The hidden subcommand that verifies a bundle in a child process.
pub const CHILD_COMMAND: &str = "__verify-bundle";

/// What `run` needs.
pub struct RunOptions {
    /// Entries in the log.
    pub entries: u64,
    /// Parent of the scratch directory.
    pub dir: PathBuf,
    /// Durable single appends to time.
    pub singles: usize,
    /// Seconds allowed for the random-date replays.
    pub replay_budget_s: f64,
    /// Keep the scratch directory.
    pub keep: bool,
    /// Snapshot spacing for replay.
    pub snapshot_every: u64,
    /// Build the log, then measure only the queries (section 10).
    pub only_queries: bool,
}

/// Everything a run found; the JSON output.
#[derive(Serialize)]
pub struct Results {
    /// Entries in the log when verified.
    pub entries: u64,
    /// Cores rayon used.
    pub cores: usize,
    /// Mean canonical entry size.
    pub mean_entry_bytes: f64,
    /// Mean event payload size (entry minus the fixed fields and signature).
    pub mean_payload_bytes: f64,
    /// The limits measured (none in a run of the queries only).
    pub limits: Option<Limits>,
    /// The table.
    pub rows: Vec<Row>,
}

pub(crate) type BoxError = Box<dyn std::error::Error>;

fn note(started: Instant, what: &str) {
    eprintln!("[{:>6.1} s] {what}", started.elapsed().as_secs_f64());
}

/// Echoes rows not yet shown to standard error, so a long run that is cut
/// short still leaves its figures behind.
fn echo(rows: &[Row], shown: &mut usize) {
    if rows.len() > *shown {
        eprint!("{}", crate::report::markdown(&rows[*shown..]));
        *shown = rows.len();
    }
}

pub(crate) fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

/// Runs every measurement and returns the table.
pub fn run(options: &RunOptions) -> Result<Results, BoxError> {
    let t0 = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("trail-bench-")
        .tempdir_in(&options.dir)?;
    let log_dir = scratch.path().join("log");
    let cores = rayon::current_num_threads();
    let mut rows = Vec::new();
    let mut shown = 0;

    note(
        t0,
        &format!("building a log of {} entries", options.entries),
    );
    let mut last_note = Instant::now();
    let built = workload::build(&log_dir, options.entries, |n| {
        if last_note.elapsed() > Duration::from_secs(10) {
            note(t0, &format!("  {n} entries"));
            last_note = Instant::now();
        }
    })?;
    note(
        t0,
        &format!(
            "built: {} entries in {} batches, {} recommendations",
            built.entries, built.batches, built.recs
        ),
    );

    if options.only_queries {
        let workload::Built {
            log,
            keys,
            entries,
            recs,
            per_round,
            ..
        } = built;
        drop(log);
        note(t0, "queries through the trail binary (only)");
        crate::queries::measure(&log_dir, &keys.operator, recs, per_round, &mut rows)?;
        echo(&rows, &mut shown);
        if options.keep {
            note(t0, &format!("kept {}", scratch.keep().display()));
        }
        return Ok(Results {
            entries,
            cores,
            mean_entry_bytes: f64::NAN,
            mean_payload_bytes: f64::NAN,
            limits: None,
            rows,
        });
    }

    // A sample of real entries from the middle of the log for the limits.
    let from = built.entries / 2;
    let sample: Vec<Vec<u8>> = built
        .log
        .entries(from, Some(from + 4095))
        .map(|e| e.map(|e| e.to_bytes()))
        .collect::<Result<_, _>>()?;
    note(t0, "measuring limits");
    let mut signed = limits::Signed::new(&sample);
    let limits = limits::measure(
        &sample,
        &mut signed,
        scratch.path(),
        Duration::from_millis(1500),
    )?;
    limit_rows(&limits, &mut rows);

    let bulk_rate = built.timed_entries as f64 / secs(built.append_time);
    rows.push(
        Row::plain(
            2,
            format!(
                "bulk append (Log::append_all, {} batches of ~{})",
                built.batches,
                built.timed_entries / built.batches.max(1)
            ),
            bulk_rate,
            "entries/s",
        )
        .vs(
            "ed25519 sign, all cores",
            bulk_rate / limits.sign_all_per_s,
            RatioKind::FractionOfLimit,
        ),
    );
    rows.push(
        Row::plain(
            2,
            "bulk append, against one-core signing",
            bulk_rate,
            "entries/s",
        )
        .vs(
            "ed25519 sign, one thread (the hash chain makes signing sequential)",
            bulk_rate / limits.sign_per_s,
            RatioKind::FractionOfLimit,
        )
        .target(
            ">= 80% of one-core signing",
            bulk_rate >= 0.8 * limits.sign_per_s,
        ),
    );

    echo(&rows, &mut shown);
    note(t0, "durable single appends");
    single_appends(&built, scratch.path(), options.singles, &mut rows)?;

    echo(&rows, &mut shown);
    note(t0, "verifying the log directory");
    let mut raw_bytes = 0u64;
    let mut n = 0;
    let (verify_rate, limit) = around(&signed, || {
        let started = Instant::now();
        let verifier = built.log.verify_with(|chunk| {
            raw_bytes += chunk.iter().map(|e| e.bytes().len() as u64).sum::<u64>();
            Ok(())
        })?;
        n = verifier.len();
        Ok(n as f64 / secs(started.elapsed()))
    })?;
    rows.push(verify_row(
        4,
        "verify the log directory (Log::verify_with)",
        verify_rate,
        limit,
    ));

    echo(&rows, &mut shown);
    note(t0, "exporting a bundle");
    let bundle_path = scratch.path().join("log.trail");
    let (export_rate, limit) = around(&signed, || {
        let started = Instant::now();
        bundle::export(&built.log, &bundle_path)?;
        Ok(n as f64 / secs(started.elapsed()))
    })?;
    rows.push(
        Row::plain(
            4,
            "export to bundle (verify + write)",
            export_rate,
            "entries/s",
        )
        .vs(
            "ed25519 batch verify, all cores (measured around it)",
            export_rate / limit,
            RatioKind::FractionOfLimit,
        ),
    );

    echo(&rows, &mut shown);
    note(t0, "verifying the bundle in a child process");
    let mut child = None;
    let (bundle_rate, limit) = around(&signed, || {
        let report = verify_bundle_in_child(&bundle_path)?;
        let rate = report.entries as f64 / report.seconds;
        child = Some(report);
        Ok(rate)
    })?;
    let child = child.ok_or("no child report")?;
    rows.push(verify_row(
        4,
        "verify bundle (bundle::verify_file, child process)",
        bundle_rate,
        limit,
    ));

    echo(&rows, &mut shown);
    note(t0, "proofs");
    reads::proofs(&built.log, &limits, &mut rows)?;

    echo(&rows, &mut shown);
    note(t0, "disk");
    drop(built.log);
    let disk = disk_bytes(&log_dir)?;
    let bundle_len = std::fs::metadata(&bundle_path)?.len();
    rows.push(
        Row::plain(
            7,
            "log directory on disk (du after close: segments, sled's derived data, indexes), per entry",
            disk as f64 / n as f64,
            "bytes",
        )
        .vs(
            "raw canonical bytes per entry",
            disk as f64 / raw_bytes as f64,
            RatioKind::MultipleOfFloor,
        )
        .target("<= 1.5x raw", disk as f64 <= 1.5 * raw_bytes as f64),
    );
    rows.push(
        Row::plain(
            7,
            "bundle file, per entry",
            bundle_len as f64 / n as f64,
            "bytes",
        )
        .vs(
            "raw canonical bytes per entry",
            bundle_len as f64 / raw_bytes as f64,
            RatioKind::MultipleOfFloor,
        ),
    );
    let mib = child.vmhwm_kib as f64 / 1024.0;
    rows.push(
        Row::plain(
            7,
            "peak RSS verifying the bundle (VmHWM, child)",
            mib,
            "MiB",
        )
        .vs(
            format!(
                "bundle size {:.0} MiB",
                bundle_len as f64 / (1024.0 * 1024.0)
            ),
            mib * 1024.0 * 1024.0 / bundle_len as f64,
            RatioKind::MultipleOf,
        )
        .target("< 64 MiB", mib < 64.0),
    );
    rows.push(Row::plain(
        7,
        "peak RSS of the child before verifying (baseline)",
        child.vmhwm_before_kib as f64 / 1024.0,
        "MiB",
    ));

    echo(&rows, &mut shown);
    note(t0, "replay");
    let log = Log::open(&log_dir)?;
    reads::replay(
        &log,
        options.snapshot_every,
        options.replay_budget_s,
        &mut rows,
    )?;
    drop(log);
    let snapshots = disk_bytes(&log_dir)?.saturating_sub(disk);
    rows.push(
        Row::plain(
            7,
            "replay snapshots on disk (growth of the log dir)",
            snapshots as f64 / (1024.0 * 1024.0),
            "MiB",
        )
        .vs(
            "log directory without snapshots",
            snapshots as f64 / disk as f64,
            RatioKind::MultipleOf,
        ),
    );

    echo(&rows, &mut shown);
    note(
        t0,
        "served log (trail-server in a child process, over loopback)",
    );
    served::measure(scratch.path(), options.singles, &mut rows)?;

    echo(&rows, &mut shown);
    note(
        t0,
        "tlog-tiles: publishing the log, mirroring it with the trail binary",
    );
    let log = Log::open(&log_dir)?;
    tiles::measure(
        &log,
        &built.keys.operator,
        scratch.path(),
        &signed,
        &mut rows,
    )?;
    drop(log);

    echo(&rows, &mut shown);
    note(t0, "queries through the trail binary");
    crate::queries::measure(
        &log_dir,
        &built.keys.operator,
        built.recs,
        built.per_round,
        &mut rows,
    )?;

    let mean_entry_bytes = raw_bytes as f64 / n as f64;
    if options.keep {
        let kept = scratch.keep();
        note(t0, &format!("kept {}", kept.display()));
    }
    echo(&rows, &mut shown);
    note(t0, "done");
    Ok(Results {
        entries: n,
        cores,
        mean_entry_bytes,
        // Fixed fields: version 1, seq 8, prev hash 32, time 8, signer 32,
        // event kind 2, signature 64.
        mean_payload_bytes: mean_entry_bytes - 147.0,
        limits: Some(limits),
        rows,
    })
}

fn limit_rows(l: &Limits, rows: &mut Vec<Row>) {
    let mut plain =
        |name: &str, v: f64, unit: &'static str| rows.push(Row::plain(1, name, v, unit));
    plain(
        "BLAKE3 entry hash over one entry's bytes, one thread",
        l.blake3_per_s,
        "hashes/s",
    );
    plain(
        "SHA-256 Merkle node hash, one thread",
        l.node_hash_per_s,
        "hashes/s",
    );
    plain("ed25519 sign, one thread", l.sign_per_s, "sigs/s");
    plain("ed25519 sign, all cores", l.sign_all_per_s, "sigs/s");
    plain(
        "ed25519 verify one by one (verify_strict), one thread",
        l.verify_per_s,
        "sigs/s",
    );
    plain(
        &format!(
            "ed25519 verify_batch, one thread, best of 64 to 4096 per batch: {} per batch",
            l.batch_verify_size
        ),
        l.batch_verify_per_s,
        "sigs/s",
    );
    plain(
        &format!(
            "ed25519 verify_batch, all cores (rayon), best of 64 to 4096 per batch: {} per batch",
            l.batch_verify_all_size
        ),
        l.batch_verify_all_per_s,
        "sigs/s",
    );
    plain(
        "512-byte append + fdatasync, p50 (durability floor)",
        l.fdatasync_p50_s * 1e3,
        "ms",
    );
    plain(
        "512-byte append + fdatasync, p99",
        l.fdatasync_p99_s * 1e3,
        "ms",
    );
}

/// Runs `f`, which returns a rate, between two measurements of the
/// all-core batch-verify limit, so that the ratio compares two figures taken
/// under the same load: (the rate, the mean of the limit before and after).
pub(crate) fn around(
    signed: &limits::Signed,
    f: impl FnOnce() -> Result<f64, BoxError>,
) -> Result<(f64, f64), BoxError> {
    let before = signed.batch_verify_all(Duration::from_secs(1));
    let figure = f()?;
    let after = signed.batch_verify_all(Duration::from_secs(1));
    Ok((figure, (before + after) / 2.0))
}

/// A verification rate against the all-core batch-verify limit measured around it.
pub(crate) fn verify_row(section: u8, name: &str, rate: f64, limit: f64) -> Row {
    Row::plain(section, name, rate, "entries/s")
        .vs(
            format!("ed25519 batch verify, all cores, measured around it: {limit:.0}/s"),
            rate / limit,
            RatioKind::FractionOfLimit,
        )
        .target(">= 80% of all-core batch verify", rate >= 0.8 * limit)
}

/// A progress claim by respondent `who` on its recommendation `R0-{who}`,
/// the event every single-append measurement appends.
pub(crate) fn claim(who: usize, i: usize) -> Event {
    let json = serde_json::json!({
        "type": "progress_claim", "rec": format!("R0-{who}"), "status": "in_progress",
        "subject": respondent(who),
        "narrative": format!("durable single append {i}: the force reports that the new recording desk handled every referral this week and that supervisors reviewed a sample of the cases within the day, as the plan requires"),
        "date": "2022-02-01"
    });
    Event::from_json(&json.to_string()).expect("valid claim")
}

/// Time this thread has spent on a CPU, in seconds (Linux schedstat).
fn thread_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}

fn single_appends(
    built: &workload::Built,
    scratch: &Path,
    count: usize,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let log = &built.log;
    let keys = &built.keys.respondents;
    // Each append is paired with one fdatasync sample taken just before it,
    // so the floor is measured under the same disk load.
    let mut probe = limits::Fsync::new(scratch)?;
    let mut floor = Vec::with_capacity(count);
    let mut latencies = Vec::with_capacity(count);
    let (mut busy, mut cpu) = (0.0, 0.0);
    for i in 0..count {
        floor.push(probe.sample()?);
        let event = claim(0, i);
        let c = thread_cpu_s();
        let t = Instant::now();
        log.append(&keys[0], event)?;
        latencies.push(secs(t.elapsed()));
        cpu += thread_cpu_s() - c;
        busy += latencies[i];
    }
    let one_rate = count as f64 / busy;
    latencies.sort_by(f64::total_cmp);
    floor.sort_by(f64::total_cmp);
    let floor50 = percentile(&floor, 50.0);
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    let floor_text = format!("fdatasync floor p50, interleaved: {:.3} ms", floor50 * 1e3);
    rows.push(
        Row::plain(
            3,
            format!("single durable append (Log::append) p50, {count} appends"),
            p50 * 1e3,
            "ms",
        )
        .vs(
            floor_text.clone(),
            p50 / floor50,
            RatioKind::MultipleOfFloor,
        )
        .target("<= 1.3x fdatasync floor", p50 <= 1.3 * floor50),
    );
    rows.push(
        Row::plain(3, "single durable append p99", p99 * 1e3, "ms").vs(
            floor_text.clone(),
            p99 / floor50,
            RatioKind::MultipleOfFloor,
        ),
    );
    rows.push(
        Row::plain(
            3,
            "CPU time per single append (appending thread)",
            cpu / count as f64 * 1e3,
            "ms",
        )
        .vs(
            floor_text.clone(),
            cpu / count as f64 / floor50,
            RatioKind::MultipleOf,
        ),
    );
    rows.push(
        Row::plain(3, "one appender throughput", one_rate, "appends/s").vs(
            "1 / fdatasync floor p50",
            one_rate * floor50,
            RatioKind::FractionOfLimit,
        ),
    );

    let per_thread = (count / 2).max(4);
    let before = log.tree_size();
    let started = Instant::now();
    let results: Vec<Result<Vec<(u64, f64)>, trail_core::Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|who| {
                s.spawn(move || {
                    (0..per_thread)
                        .map(|i| {
                            let t = Instant::now();
                            let a = log.append(&keys[who], claim(who, i))?;
                            Ok((a.seq, secs(t.elapsed())))
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("appender thread"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut seqs = Vec::new();
    let mut lat = Vec::new();
    for r in results {
        for (seq, l) in r? {
            seqs.push(seq);
            lat.push(l);
        }
    }
    seqs.sort_unstable();
    seqs.dedup();
    let total = 4 * per_thread;
    if seqs.len() != total || log.tree_size() != before + total as u64 {
        return Err(format!(
            "concurrent appends: {} acknowledged seqs for {total} appends, log grew by {}",
            seqs.len(),
            log.tree_size() - before
        )
        .into());
    }
    let four_rate = total as f64 / secs(elapsed);
    lat.sort_by(f64::total_cmp);
    rows.push(
        Row::plain(
            3,
            "four concurrent appenders, throughput",
            four_rate,
            "appends/s",
        )
        .vs("one appender", four_rate / one_rate, RatioKind::MultipleOf)
        .target(">= 3x one appender", four_rate >= 3.0 * one_rate),
    );
    rows.push(
        Row::plain(
            3,
            "four concurrent appenders, p50 latency",
            percentile(&lat, 50.0) * 1e3,
            "ms",
        )
        .vs(
            floor_text,
            percentile(&lat, 50.0) / floor50,
            RatioKind::MultipleOfFloor,
        ),
    );
    Ok(())
}

/// What the child process reports.
#[derive(serde::Deserialize, Serialize)]
struct ChildReport {
    entries: u64,
    seconds: f64,
    vmhwm_kib: u64,
    vmhwm_before_kib: u64,
}

fn vmhwm_kib() -> u64 {
    vmhwm_kib_of("/proc/self/status")
}

/// The peak resident set (VmHWM) in a `/proc/PID/status` file, in KiB; 0 if unreadable.
pub(crate) fn vmhwm_kib_of(status: &str) -> u64 {
    std::fs::read_to_string(status)
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The hidden subcommand: verify a bundle, print a JSON report.
pub fn child_verify_bundle(path: &Path) -> ExitCode {
    let before = vmhwm_kib();
    let started = Instant::now();
    match bundle::verify_file(path) {
        Ok(verifier) => {
            let report = ChildReport {
                entries: verifier.len(),
                seconds: secs(started.elapsed()),
                vmhwm_kib: vmhwm_kib(),
                vmhwm_before_kib: before,
            };
            println!("{}", serde_json::to_string(&report).expect("report"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trail-bench: bundle does not verify: {e}");
            ExitCode::from(1)
        }
    }
}

fn verify_bundle_in_child(path: &Path) -> Result<ChildReport, BoxError> {
    let out = Command::new(std::env::current_exe()?)
        .arg(CHILD_COMMAND)
        .arg(path)
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "bundle verification failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Space the files under `dir` take on disk, as du counts it.
pub(crate) fn disk_bytes(dir: &Path) -> std::io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    sum_files(dir, &|meta| meta.blocks() * 512)
}

/// Bytes in the files under `dir`, without the blocks' slack.
pub(crate) fn apparent_bytes(dir: &Path) -> std::io::Result<u64> {
    sum_files(dir, &std::fs::Metadata::len)
}

fn sum_files(dir: &Path, size: &dyn Fn(&std::fs::Metadata) -> u64) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            sum_files(&entry.path(), size)?
        } else {
            size(&meta)
        };
    }
    Ok(total)
}
