//! trail-bench: every hot path of trail beside its physical limit, measured
//! in the same run on the same machine (issue 5; docs/PERFORMANCE.md).
//!
//! `cargo run --release -p trail-bench -- [--entries N] [--json FILE]`
//!
//! Shared machines are noisy, so no figure is reported alone: each is a
//! ratio against a limit (signing, batch verification, hashing, fdatasync)
//! measured a moment before.

mod child;
mod limits;
mod measure;
mod queries;

mod reads;
mod report;
mod served;
mod tiles;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Command-line options.
struct Options {
    entries: u64,
    json: Option<PathBuf>,
    dir: Option<PathBuf>,
    singles: usize,
    replay_budget_s: f64,
    keep: bool,
    snapshot_every: Option<u64>,
    only_queries: bool,
}

const USAGE: &str = "usage: trail-bench [--entries N] [--json FILE] [--dir DIR] [--singles N] [--replay-budget SECONDS] [--keep]

  --entries N        entries in the benchmark log (default 1000000)
  --json FILE        also write the results as JSON to FILE
  --dir DIR          where to build the log (default: the system temp directory)
  --singles N        durable single appends to time (default 200; four threads do N/2 each;
                     the served log times N remote appends beside N local ones)
  --replay-budget S  seconds allowed for the random-date replays (default 240)
  --snapshot-every N replay snapshot spacing (default: trail-core's 100000, or
                     a tenth of the entries if that is larger)
  --keep             keep the log and bundle instead of deleting them
  --only-queries     build the log, then measure only the queries (section 10)";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        entries: 1_000_000,
        json: None,
        dir: None,
        singles: 200,
        replay_budget_s: 240.0,
        keep: false,
        snapshot_every: None,
        only_queries: false,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        match arg.as_str() {
            "--entries" => {
                let v = value("--entries")?;
                options.entries = v
                    .replace('_', "")
                    .parse()
                    .map_err(|_| format!("--entries: {v:?} is not a number"))?;
                if options.entries < 1000 {
                    return Err("--entries must be at least 1000".into());
                }
            }
            "--json" => options.json = Some(value("--json")?.into()),
            "--dir" => options.dir = Some(value("--dir")?.into()),
            "--singles" => {
                let v = value("--singles")?;
                options.singles = v
                    .parse()
                    .map_err(|_| format!("--singles: {v:?} is not a number"))?;
                options.singles = options.singles.max(8);
            }
            "--replay-budget" => {
                let v = value("--replay-budget")?;
                options.replay_budget_s = v
                    .parse()
                    .map_err(|_| format!("--replay-budget: {v:?} is not a number"))?;
            }
            "--snapshot-every" => {
                let v = value("--snapshot-every")?;
                options.snapshot_every = Some(
                    v.replace('_', "")
                        .parse()
                        .map_err(|_| format!("--snapshot-every: {v:?} is not a number"))?,
                );
            }
            "--keep" => options.keep = true,
            "--only-queries" => options.only_queries = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Hidden: verify a bundle in a fresh process so its peak RSS is verification's alone.
    if args.first().map(String::as_str) == Some(measure::CHILD_COMMAND) {
        return match args.get(1) {
            Some(path) => measure::child_verify_bundle(path.as_ref()),
            None => ExitCode::from(2),
        };
    }
    // Hidden: serve a log in a fresh process so its peak RSS is the server's alone.
    if args.first().map(String::as_str) == Some(served::CHILD_COMMAND) {
        return match args.get(1) {
            Some(dir) => served::child_serve(dir.as_ref()),
            None => ExitCode::from(2),
        };
    }
    let options = match parse(&args) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("trail-bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    match measure::run(&options_for_run(&options)) {
        Ok(mut results) => {
            results.rows.sort_by_key(|r| r.section);
            println!("{}", report::markdown(&results.rows));
            println!(
                "{} entries, {} cores, {:.0} s in all",
                results.entries,
                results.cores,
                started.elapsed().as_secs_f64()
            );
            if let Some(path) = &options.json {
                let text = serde_json::to_string_pretty(&results).expect("results serialize");
                if let Err(e) = std::fs::write(path, text + "\n") {
                    eprintln!("trail-bench: cannot write {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("trail-bench: {e}");
            ExitCode::from(1)
        }
    }
}

fn options_for_run(o: &Options) -> measure::RunOptions {
    measure::RunOptions {
        entries: o.entries,
        dir: o.dir.clone().unwrap_or_else(std::env::temp_dir),
        singles: o.singles,
        replay_budget_s: o.replay_budget_s,
        keep: o.keep,
        // trail-core's default spacing, or a tenth of the log if that is
        // larger: each snapshot holds the whole fold so far, so the default
        // spacing on a million entries would write about 70 GB.
        snapshot_every: o.snapshot_every.unwrap_or_else(|| {
            trail_core::SnapshotOptions::default()
                .every
                .max(o.entries / 10)
        }),
        only_queries: o.only_queries,
    }
}
