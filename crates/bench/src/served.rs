//! The served log (section 8): trail-server in a child process, driven over
//! loopback by clients that sign, submit and check receipts as
//! `trail append --remote` does. Each figure sits beside its local
//! counterpart, measured in the same run: a durable `Log::append` on a log
//! of the same shape in the same filesystem, or one client alone.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use serde_json::json;
use trail_core::UnsignedEntry;
use trail_core::tiles::entry_bundle;
use trail_core::transparency::{Policy, log_operators, verify_inclusion};
use trail_core::{EntryHash, Event, Id, Log, SecretKey, Timestamp, entry_hash};

use crate::limits::percentile;
use crate::measure::{BoxError, claim, secs, vmhwm_kib_of};
use crate::report::{RatioKind, Row};
use crate::workload::{grant, respondent};

/// The hidden subcommand that serves a log until SIGTERM.
pub const CHILD_COMMAND: &str = "__serve-log";

/// The section these rows belong to.
const SECTION: u8 = 8;
/// Concurrent appenders, each with its own respondent key.
const APPENDERS: usize = 8;
/// Concurrent readers.
const READERS: usize = 64;
/// Entries per `GET /entries` page read.
const PAGE: u64 = 100;
/// How long each many-client run lasts.
const MANY: Duration = Duration::from_secs(2);
/// How long each one-client run before and after it lasts.
const ONE: Duration = Duration::from_secs(1);
/// Signing attempts per entry before a contended appender gives up.
const ATTEMPTS: u32 = 1000;

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// The operator key; the child derives it too, so no key file is written.
fn operator_key() -> SecretKey {
    key(102)
}

fn appender_key(who: usize) -> SecretKey {
    key(110 + who as u8)
}

fn event(value: serde_json::Value) -> Result<Event, BoxError> {
    Ok(Event::from_json(&value.to_string())?)
}

/// A fresh log: an operator, an issuer, and one respondent per appender,
/// each with a recommendation addressed to it for its progress claims.
fn create(dir: &Path) -> Result<Log, BoxError> {
    let admin = key(101);
    let issuer = key(103);
    let log = Log::create(
        dir,
        "served benchmark log",
        &admin,
        Id::new("admin")?,
        "Log administrator",
    )?;
    let mut grants = vec![
        grant("operator", &operator_key(), "operator"),
        grant("inspectorate", &issuer, "issuer"),
    ];
    for who in 0..APPENDERS {
        grants.push(grant(&respondent(who), &appender_key(who), "respondent"));
    }
    log.append_all(&admin, grants)?;
    let mut issued = vec![event(json!({
        "type": "report_published", "report": "REP-0",
        "title": "served log benchmark", "date": "2022-01-03"
    }))?];
    for who in 0..APPENDERS {
        issued.push(event(json!({
            "type": "recommendation_issued", "rec": format!("R0-{who}"), "report": "REP-0",
            "addressees": [respondent(who)],
            "subject": "record every referral within a day and review a sample of the cases",
            "date": "2022-01-03"
        }))?);
    }
    log.append_all(&issuer, issued)?;
    Ok(log)
}

/// The hidden subcommand: serve the log at `dir` on a free loopback port,
/// print its URL on standard output and serve until SIGTERM.
pub fn child_serve(dir: &Path) -> ExitCode {
    match serve(dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trail-bench: serving {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}

fn serve(dir: &Path) -> Result<(), BoxError> {
    let server = trail_server::Server::bind(trail_server::Config {
        log: Log::open(dir)?,
        operator_key: operator_key(),
        listen: "127.0.0.1:0".parse()?,
        tls: None,
        tokens: None,
        quota_per_day: None,
        read_only: false,
        limits: trail_server::Limits::default(),
        witnessing: trail_server::Witnessing::default(),
    })?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "http://{}", server.local_addr()?)?;
    out.flush()?;
    drop(out);
    server.run_until_signal()?;
    Ok(())
}

/// The server child; sent SIGTERM and waited for when dropped.
struct Served {
    child: Option<Child>,
    url: String,
}

impl Served {
    fn start(dir: &Path) -> Result<Served, BoxError> {
        let mut child = Command::new(std::env::current_exe()?)
            .arg(CHILD_COMMAND)
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let served = Served {
            child: Some(child),
            url: line.trim().to_owned(),
        };
        if !served.url.starts_with("http://") {
            return Err("the server child did not print its URL".into());
        }
        Ok(served)
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// CPU time of all the server's threads so far, in seconds (Linux schedstat).
    fn cpu_s(&self) -> f64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.pid())) else {
            return f64::NAN;
        };
        tasks
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
            .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
            .sum::<f64>()
            / 1e9
    }

    fn vmhwm_kib(&self) -> u64 {
        vmhwm_kib_of(&format!("/proc/{}/status", self.pid()))
    }

    /// SIGTERM, then waits: the server finishes what is in flight and exits.
    fn stop(&mut self) -> Result<(), BoxError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        if !sent.is_ok_and(|s| s.success()) {
            child.kill()?;
        }
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("the server child exited with {status}").into());
        }
        Ok(())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// What `GET /head` says.
#[derive(Deserialize)]
struct HeadAnswer {
    size: u64,
    head: EntryHash,
}

/// What `POST /add-entries` says.
#[derive(Deserialize)]
struct AddAnswer {
    entries: Vec<Accepted>,
}

#[derive(Deserialize)]
struct Accepted {
    seq: u64,
    hash: String,
    receipt: String,
}

/// GET `url`: the body of a 2xx answer; anything else is an error.
fn get(agent: &ureq::Agent, url: &str) -> Result<Vec<u8>, BoxError> {
    let mut response = agent.get(url).call()?;
    let status = response.status();
    let body = response.body_mut().read_to_vec()?;
    if !status.is_success() {
        return Err(format!("{url}: {status}: {}", String::from_utf8_lossy(&body).trim()).into());
    }
    Ok(body)
}

fn head(agent: &ureq::Agent, base: &str) -> Result<HeadAnswer, BoxError> {
    Ok(serde_json::from_slice(&get(
        agent,
        &format!("{base}/head"),
    )?)?)
}

/// One writer: signs each entry after the head it knows (its own last
/// entry, once acknowledged), sends it, and on 409 reads the head and signs
/// again. Every receipt is checked against the operator's key.
struct Appender<'a> {
    agent: ureq::Agent,
    base: &'a str,
    key: SecretKey,
    policy: &'a Policy,
    next: Option<(u64, EntryHash)>,
    conflicts: u64,
}

impl<'a> Appender<'a> {
    fn new(base: &'a str, who: usize, policy: &'a Policy) -> Appender<'a> {
        Appender {
            agent: agent(),
            base,
            key: appender_key(who),
            policy,
            next: None,
            conflicts: 0,
        }
    }

    fn append(&mut self, event: Event) -> Result<u64, BoxError> {
        let url = format!("{}/add-entries", self.base);
        for _ in 0..ATTEMPTS {
            let (seq, prev_hash) = match self.next.take() {
                Some(next) => next,
                None => {
                    let h = head(&self.agent, self.base)?;
                    (h.size, h.head)
                }
            };
            let entry = UnsignedEntry {
                seq,
                prev_hash,
                recorded_at: Timestamp::now(),
                signer: self.key.public_key(),
                event: event.clone(),
            }
            .sign(&self.key)
            .to_bytes();
            let body = entry_bundle::encode([entry.as_slice()])?;
            let mut response = self
                .agent
                .post(&url)
                .header("Content-Type", "application/octet-stream")
                .send(&body[..])?;
            let status = response.status();
            let answer = response.body_mut().read_to_vec()?;
            if status.as_u16() == 409 {
                self.conflicts += 1;
                continue;
            }
            if !status.is_success() {
                return Err(format!(
                    "{url}: {status}: {}",
                    String::from_utf8_lossy(&answer).trim()
                )
                .into());
            }
            let answer: AddAnswer = serde_json::from_slice(&answer)?;
            let [accepted] = answer.entries.as_slice() else {
                return Err(
                    format!("{url}: {} receipts for one entry", answer.entries.len()).into(),
                );
            };
            let proven = verify_inclusion(accepted.receipt.as_bytes(), Some(&entry), self.policy)?;
            let hash = entry_hash(&entry);
            if accepted.seq != seq
                || proven.entry.unsigned.seq != seq
                || accepted.hash != hash.to_string()
            {
                return Err(format!("{url}: the receipt for seq {seq} names another entry").into());
            }
            self.next = Some((seq + 1, hash));
            return Ok(seq);
        }
        Err(format!("{url}: still conflicting after {ATTEMPTS} attempts").into())
    }
}

/// `appenders` clients appending for `window`: acknowledged entries, 409s
/// and the wall time until the last one finished.
fn append_for(
    base: &str,
    policy: &Policy,
    appenders: usize,
    window: Duration,
) -> Result<(u64, u64, Duration), BoxError> {
    let started = Instant::now();
    let results: Vec<Result<(u64, u64), BoxError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..appenders)
            .map(|who| {
                s.spawn(move || {
                    let mut client = Appender::new(base, who, policy);
                    let mut done = 0u64;
                    while started.elapsed() < window {
                        client
                            .append(claim(who, done as usize))
                            .map_err(|e| e.to_string())?;
                        done += 1;
                    }
                    Ok::<_, String>((done, client.conflicts))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("appender thread").map_err(Into::into))
            .collect()
    });
    let elapsed = started.elapsed();
    let (mut done, mut conflicts) = (0, 0);
    for r in results {
        let (d, c) = r?;
        done += d;
        conflicts += c;
    }
    Ok((done, conflicts, elapsed))
}

/// What a reader fetches.
#[derive(Clone, Copy)]
enum Read {
    Checkpoint,
    /// A page of `PAGE` entries from a random seq of a log of this size.
    Entries(u64),
}

/// `readers` clients reading for `window`: requests per second.
fn read_for(base: &str, what: Read, readers: usize, window: Duration) -> Result<f64, BoxError> {
    let started = Instant::now();
    let results: Vec<Result<u64, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..readers)
            .map(|who| {
                s.spawn(move || {
                    let agent = agent();
                    let mut rng = SmallRng::seed_from_u64(who as u64);
                    let mut done = 0u64;
                    while started.elapsed() < window {
                        match what {
                            Read::Checkpoint => {
                                let note = get(&agent, &format!("{base}/checkpoint"))
                                    .map_err(|e| e.to_string())?;
                                if note.is_empty() {
                                    return Err("an empty checkpoint".to_owned());
                                }
                            }
                            Read::Entries(size) => {
                                let start = rng.random_range(0..=size.saturating_sub(PAGE));
                                let url = format!("{base}/entries?start={start}&limit={PAGE}");
                                let body = get(&agent, &url).map_err(|e| e.to_string())?;
                                let n = entry_bundle::decode(&body, usize::MAX)
                                    .map_err(|e| format!("{url}: {e}"))?
                                    .len() as u64;
                                if n != PAGE.min(size - start) {
                                    return Err(format!("{url}: {n} entries"));
                                }
                            }
                        }
                        done += 1;
                    }
                    Ok(done)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("reader thread"))
            .collect()
    });
    let elapsed = started.elapsed();
    let mut done = 0;
    for r in results {
        done += r?;
    }
    Ok(done as f64 / secs(elapsed))
}

/// Measures the served log and adds section 8's rows. `singles` is the
/// number of sequential appends timed, remote and local interleaved.
pub(crate) fn measure(scratch: &Path, singles: usize, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let served_dir = scratch.join("served-log");
    let served_log = create(&served_dir)?;
    let policy = Policy::new(log_operators(&served_log)?, Vec::new(), 0)?;
    let first_size = served_log.tree_size();
    drop(served_log);
    // The local counterpart: a log of the same shape beside it, kept open here.
    let local = create(&scratch.join("served-local"))?;
    let local_key = appender_key(0);

    let mut server = Served::start(&served_dir)?;
    let base = server.url.clone();
    let idle_kib = server.vmhwm_kib();
    let mut acknowledged = 0u64;

    // One client, sequential: each remote append paired with a local one
    // taken just before it, so both are measured under the same load. A few
    // of each first, untimed, to open the connection and warm the caches.
    let mut client = Appender::new(&base, 0, &policy);
    let warm = 5;
    let (mut remote, mut floor) = (Vec::with_capacity(singles), Vec::with_capacity(singles));
    let mut cpu_before = 0.0;
    for i in 0..warm + singles {
        if i == warm {
            cpu_before = server.cpu_s();
        }
        let t = Instant::now();
        local.append(&local_key, claim(0, i))?;
        let local_s = secs(t.elapsed());
        let t = Instant::now();
        client.append(claim(0, i))?;
        let remote_s = secs(t.elapsed());
        acknowledged += 1;
        if i >= warm {
            floor.push(local_s);
            remote.push(remote_s);
        }
    }
    let server_cpu = (server.cpu_s() - cpu_before) / singles as f64;
    drop(local);
    remote.sort_by(f64::total_cmp);
    floor.sort_by(f64::total_cmp);
    let local50 = percentile(&floor, 50.0);
    let (p50, p99) = (percentile(&remote, 50.0), percentile(&remote, 99.0));
    let local_text = format!(
        "local durable append (Log::append) p50, interleaved: {:.3} ms",
        local50 * 1e3
    );
    rows.push(
        Row::plain(
            SECTION,
            format!(
                "remote append p50 (sign, POST /add-entries, verify receipt), one client, {singles} appends"
            ),
            p50 * 1e3,
            "ms",
        )
        .vs(local_text.clone(), p50 / local50, RatioKind::MultipleOfFloor)
        .target("<= 2x local durable append", p50 <= 2.0 * local50),
    );
    rows.push(
        Row::plain(SECTION, "remote append p99, one client", p99 * 1e3, "ms").vs(
            local_text.clone(),
            p99 / local50,
            RatioKind::MultipleOfFloor,
        ),
    );

    rows.push(
        Row::plain(
            SECTION,
            "server CPU per remote append (all its threads)",
            server_cpu * 1e3,
            "ms",
        )
        .vs(local_text, server_cpu / local50, RatioKind::MultipleOf),
    );

    // Many appenders against one, the one measured before and after.
    let (one_before, _, t_before) = append_for(&base, &policy, 1, ONE)?;
    let (many, conflicts, t_many) = append_for(&base, &policy, APPENDERS, MANY)?;
    let (one_after, _, t_after) = append_for(&base, &policy, 1, ONE)?;
    acknowledged += one_before + many + one_after;
    let one_rate = (one_before as f64 / secs(t_before) + one_after as f64 / secs(t_after)) / 2.0;
    let many_rate = many as f64 / secs(t_many);
    rows.push(
        Row::plain(
            SECTION,
            format!("{APPENDERS} concurrent remote appenders, throughput"),
            many_rate,
            "entries/s",
        )
        .vs(
            format!("one remote appender, before and after: {one_rate:.0}/s"),
            many_rate / one_rate,
            RatioKind::MultipleOf,
        ),
    );
    rows.push(
        Row::plain(
            SECTION,
            format!("{APPENDERS} concurrent remote appenders, 409s (head re-read, re-signed)"),
            conflicts as f64,
            "conflicts",
        )
        .vs(
            format!("{many} entries acknowledged"),
            conflicts as f64 / many as f64,
            RatioKind::MultipleOf,
        ),
    );

    let size = head(&agent(), &base)?.size;
    if size != first_size + acknowledged {
        return Err(format!(
            "served log holds {size} entries; {first_size} + {acknowledged} acknowledged expected"
        )
        .into());
    }
    let reads = [
        (Read::Checkpoint, "GET /checkpoint".to_owned()),
        (
            Read::Entries(size),
            format!("GET /entries?start=R&limit={PAGE} (random R, {size} entries)"),
        ),
    ];
    for (what, name) in reads {
        let before = read_for(&base, what, 1, ONE)?;
        let many = read_for(&base, what, READERS, MANY)?;
        let after = read_for(&base, what, 1, ONE)?;
        let one = (before + after) / 2.0;
        rows.push(
            Row::plain(
                SECTION,
                format!("{name}, {READERS} concurrent readers"),
                many,
                "requests/s",
            )
            .vs(
                format!("one reader, before and after: {one:.0}/s"),
                many / one,
                RatioKind::MultipleOf,
            ),
        );
    }

    let peak_kib = server.vmhwm_kib();
    server.stop()?;
    let mib = |kib: u64| kib as f64 / 1024.0;
    rows.push(
        Row::plain(
            SECTION,
            "server peak RSS after all of the above (VmHWM, child)",
            mib(peak_kib),
            "MiB",
        )
        .vs(
            format!("idle server after bind: {:.1} MiB", mib(idle_kib)),
            peak_kib as f64 / idle_kib as f64,
            RatioKind::MultipleOf,
        ),
    );
    Ok(())
}
