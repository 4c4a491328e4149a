//! A served log under load and under signals, through real processes only:
//! `trail serve`, `trail append --remote` clients racing one another, a
//! server killed with SIGKILL mid-append or stopped with SIGTERM, and curl
//! speaking the HTTP API of docs/SERVER.md byte for byte.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::served::{Served, grant_operator};
use common::{Run, Site, arg, assert_clean_error, run, seed, show_json, trail, trail_run};
use serde_json::{Value, json};
use trail_core::entry_hash;
use trail_core::{Entry, EntryHash, Timestamp, UnsignedEntry};

/// How long a server may take to print its URL, or to exit after SIGTERM.
const SERVER_WAIT: Duration = Duration::from_secs(60);

/// A `trail serve` started by this file rather than by `common::served`, so
/// that its access log (standard error, `RUST_LOG=info`) and what it prints
/// when it stops (standard output) can be read. Dropping it kills it.
struct LoggedServer {
    child: Child,
    url: String,
    /// Collects standard output after the first line, until the server exits.
    rest: Option<JoinHandle<Vec<String>>>,
    stderr: PathBuf,
}

impl LoggedServer {
    fn start(site: &Site, operator_key: &Path) -> LoggedServer {
        let stderr = site.path("serve.stderr");
        let log_file = File::create(&stderr).expect("server stderr file");
        let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("trail"))
            .args(["serve", "--log", arg(&site.log), "--listen", "127.0.0.1:0"])
            .args(["--operator-key", arg(operator_key)])
            .env_remove("TRAIL_LOG")
            .env_remove("TRAIL_PASSPHRASE")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("start trail serve");
        let stdout = child.stdout.take().expect("server stdout");
        let (tx, rx) = mpsc::channel();
        let rest = thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            if let Some(first) = lines.next() {
                let _ = tx.send(first);
            }
            // Draining also keeps the server from blocking on a full pipe.
            lines.collect()
        });
        let Ok(first) = rx.recv_timeout(SERVER_WAIT) else {
            let _ = child.kill();
            let status = child.wait().expect("wait for server");
            panic!(
                "trail serve did not start ({status}): {}",
                fs::read_to_string(&stderr).unwrap_or_default()
            );
        };
        let url = first
            .rsplit(" at ")
            .next()
            .filter(|u| u.starts_with("http://127.0.0.1:"))
            .unwrap_or_else(|| panic!("unexpected first line from trail serve: {first}"))
            .to_owned();
        LoggedServer {
            child,
            url,
            rest: Some(rest),
            stderr,
        }
    }

    /// Sends SIGTERM, waits (bounded) for the exit; returns the exit code and
    /// the lines printed after the first.
    fn terminate(&mut self) -> (Option<i32>, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = StdCommand::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + SERVER_WAIT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("poll server") {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "trail serve still running {SERVER_WAIT:?} after SIGTERM"
            );
            thread::sleep(Duration::from_millis(20));
        };
        let rest = self
            .rest
            .take()
            .expect("terminated once")
            .join()
            .expect("stdout reader");
        (status.code(), rest)
    }

    /// The access log and the server's other events so far.
    fn access_log(&self) -> String {
        fs::read_to_string(&self.stderr).expect("server stderr")
    }
}

impl Drop for LoggedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `trail ARGS --remote URL --cache CACHE`, as a client on its own machine.
fn remote(url: &str, cache: &Path, args: &[&str]) -> Run {
    let mut cmd = trail();
    cmd.args(args)
        .args(["--remote", url, "--cache", arg(cache)]);
    run(cmd, None)
}

/// The `(seq, hash)` of each `seq N HASH` line that `trail append` printed.
#[track_caller]
fn acknowledged(stdout: &str) -> Vec<(u64, String)> {
    stdout
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words[..] {
                ["seq", seq, hash] if hash.len() == 64 => (
                    seq.parse()
                        .unwrap_or_else(|_| panic!("bad seq in append output: {line}")),
                    hash.to_owned(),
                ),
                _ => panic!("unexpected append output: {line:?}"),
            }
        })
        .collect()
}

/// The operator's verifier key, as `trail checkpoint` prints it, signing a
/// checkpoint of the served log through a verified copy in `cache`.
fn operator_vkey(url: &str, cache: &Path, operator_key: &Path, out: &Path) -> String {
    let signed = remote(
        url,
        cache,
        &["checkpoint", "--key", arg(operator_key), "--out", arg(out)],
    );
    common::printed_key(signed.ok(), "operator key")
}

/// `(seq, hash)` of every entry of a log, from `trail show --json` lines.
fn seq_hashes(entries: &[Value]) -> Vec<(u64, String)> {
    entries
        .iter()
        .map(|e| {
            (
                e["seq"].as_u64().expect("seq"),
                e["hash"].as_str().expect("hash").to_owned(),
            )
        })
        .collect()
}

/// The only verified copy under a client's cache root (one per server URL).
fn only_copy(cache: &Path) -> PathBuf {
    let copies: Vec<PathBuf> = fs::read_dir(cache)
        .expect("cache root")
        .map(|e| e.expect("cache entry").path())
        .collect();
    assert_eq!(copies.len(), 1, "one server, one copy: {copies:?}");
    copies.into_iter().next().expect("one copy")
}

// ---- 1. Eight writers at once ----

/// Appends per client.
const PER_CLIENT: usize = 50;
/// Client processes writing at once.
const CLIENTS: usize = 8;
/// Who signs for each client, in turn: an issuer, two respondents, a funder.
const WRITERS: [&str; 4] = ["iopc", "syp", "college", "pcc"];

/// A marker found in exactly one event, to count each event's entries.
fn tag(client: usize, n: usize) -> String {
    format!("<c{client}n{n}>")
}

/// An event `actor` may sign any number of times, carrying `tag`.
fn repeatable_event(actor: &str, tag: &str) -> Value {
    match actor {
        "iopc" => {
            json!({"type": "recommendation_issued", "rec": format!("REC-{}", tag.trim_matches(['<', '>'])),
            "report": "REP-1", "addressees": ["syp"], "subject": format!("Subject {tag}"),
            "date": "2021-11-23"})
        }
        "syp" => json!({"type": "progress_claim", "rec": "REC-1", "status": "in_progress",
            "subject": "syp", "narrative": format!("Claim {tag}"), "date": "2022-03-01"}),
        "college" => json!({"type": "progress_claim", "rec": "REC-2", "status": "in_progress",
            "subject": "college", "narrative": format!("Claim {tag}"), "date": "2022-03-01"}),
        "pcc" => json!({"type": "accountability_session", "forum": "Accountability Board",
            "recs": ["REC-1", "REC-2"], "notes": format!("Session {tag}"), "date": "2022-03-01"}),
        other => panic!("no repeatable event for {other}"),
    }
}

/// One acknowledged append of the concurrency test.
struct Ack {
    client: usize,
    n: usize,
    seq: u64,
    hash: String,
    receipt: PathBuf,
}

/// How many times a client runs an append again after `trail append` gave
/// up on a log that kept moving on (its own retries are bounded, and a
/// writer can lose every race while seven others keep winning).
const GIVE_UP_RETRIES: usize = 3;

/// How many times `trail append --remote` signs and sends before it gives
/// up (docs/SERVER.md, "Appending: optimistic concurrency").
const CLIENT_ATTEMPTS: usize = 8;

/// What `trail append --remote` says when it gave up after its retries.
const GAVE_UP: &str = "the log kept moving on while these entries were signed; gave up after";

/// What one client did: its acknowledgements, the runs that gave up on a
/// moving log (run again), and any other run that failed.
#[derive(Default)]
struct ClientResult {
    acks: Vec<Ack>,
    gave_up: Vec<Run>,
    failed: Vec<Run>,
}

/// One client process after another for `client`: `PER_CLIENT` single-entry
/// appends, each with its receipt.
fn write_as_client(site: &Site, url: &str, client: usize) -> ClientResult {
    let actor = WRITERS[client % WRITERS.len()];
    let cache = site.path(&format!("cache-client-{client}"));
    let event_file = site.path(&format!("event-client-{client}.json"));
    let key = site.key(actor);
    let mut result = ClientResult::default();
    for n in 0..PER_CLIENT {
        let receipt = site.path(&format!("receipt-{client}-{n}.proof"));
        let event = repeatable_event(actor, &tag(client, n));
        fs::write(&event_file, event.to_string()).expect("event file");
        for _ in 0..=GIVE_UP_RETRIES {
            let appended = remote(
                url,
                &cache,
                &[
                    "append",
                    "--key",
                    arg(&key),
                    "--event",
                    arg(&event_file),
                    "--receipt",
                    arg(&receipt),
                ],
            );
            if appended.code == Some(2) && appended.stderr.contains(GAVE_UP) {
                result.gave_up.push(appended);
                continue;
            }
            if appended.code != Some(0) || !appended.stderr.is_empty() {
                result.failed.push(appended);
                break;
            }
            let lines = acknowledged(&appended.stdout);
            assert_eq!(lines.len(), 1, "one event, one entry: {appended:?}");
            let (seq, hash) = lines.into_iter().next().expect("one line");
            result.acks.push(Ack {
                client,
                n,
                seq,
                hash,
                receipt,
            });
            break;
        }
    }
    result
}

#[test]
fn eight_clients_append_fifty_entries_each_at_once_through_the_server() {
    let started = Instant::now();
    let site = Site::new();
    let operator = grant_operator(&site);
    let before = site.count();
    let mut server = LoggedServer::start(&site, &operator);
    let vkey = operator_vkey(
        &server.url,
        &site.path("cache-operator"),
        &operator,
        &site.path("operator.checkpoint"),
    );
    let url = server.url.clone();
    let result: ClientResult = thread::scope(|s| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                let (site, url) = (&site, url.as_str());
                s.spawn(move || write_as_client(site, url, client))
            })
            .collect();
        let mut all = ClientResult::default();
        for client in clients {
            let one = client.join().expect("client thread");
            all.acks.extend(one.acks);
            all.gave_up.extend(one.gave_up);
            all.failed.extend(one.failed);
        }
        all
    });
    let ClientResult {
        acks,
        gave_up,
        failed,
    } = result;
    let appended_in = started.elapsed();
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.access_log());
    assert!(failed.is_empty(), "appends that failed: {failed:#?}");
    // Giving up is a clean failure that wrote nothing (checked below: every
    // event is in the log exactly once).
    for run in &gave_up {
        assert_clean_error(&run.stderr);
    }
    assert_eq!(acks.len(), CLIENTS * PER_CLIENT);

    // The writers did race: some batches were refused with 409 and signed again.
    let access = server.access_log();
    let conflicts = access
        .lines()
        .filter(|l| l.contains("path=/add-entries") && l.contains("status=409"))
        .count();
    let accepted = access
        .lines()
        .filter(|l| l.contains("path=/add-entries") && l.contains("status=200"))
        .count();
    assert!(conflicts >= 1, "no 409 in the access log:\n{access}");
    // More 409s than the runs that gave up account for: some append was
    // refused, signed again and accepted within one run.
    assert!(
        conflicts > gave_up.len() * CLIENT_ATTEMPTS,
        "{conflicts} conflicts, {} runs gave up: no 409 was retried",
        gave_up.len()
    );
    // Each acknowledged batch was accepted once: nothing was sent twice.
    assert_eq!(accepted, CLIENTS * PER_CLIENT, "{access}");

    // Every acknowledgement names the entry at its seq, and no seq twice.
    let log = show_json(&site.log);
    assert_eq!(log.len(), before + CLIENTS * PER_CLIENT);
    let by_seq: BTreeMap<u64, String> = seq_hashes(&log).into_iter().collect();
    let mut seqs = HashSet::new();
    for a in &acks {
        assert!(seqs.insert(a.seq), "seq {} acknowledged twice", a.seq);
        assert_eq!(
            by_seq.get(&a.seq),
            Some(&a.hash),
            "client {} append {} acknowledged seq {} {}",
            a.client,
            a.n,
            a.seq,
            a.hash
        );
    }
    // Each event is in the log exactly once, at the seq acknowledged for it.
    for a in &acks {
        let marker = tag(a.client, a.n);
        let holding: Vec<u64> = log
            .iter()
            .filter(|e| e["event"].to_string().contains(&marker))
            .map(|e| e["seq"].as_u64().expect("seq"))
            .collect();
        assert_eq!(holding, [a.seq], "entries holding {marker}");
    }

    let verified = trail_run(&["verify", "--log", arg(&site.log)]);
    let want = format!("intact: {} entries", log.len());
    assert!(verified.ok().contains(&want), "{}", verified.stdout);

    // No fork: what every client verified is a prefix of the final log.
    for client in 0..CLIENTS {
        let copy = only_copy(&site.path(&format!("cache-client-{client}")));
        let seen = seq_hashes(&show_json(&copy));
        assert!(
            seen.len() >= before && seen[..] == seq_hashes(&log)[..seen.len()],
            "client {client}'s verified copy is not a prefix of the served log"
        );
    }

    // Every receipt verifies offline against the operator's key, for its entry.
    let receipts_started = Instant::now();
    thread::scope(|s| {
        for chunk in acks.chunks(acks.len().div_ceil(4)) {
            let vkey = vkey.as_str();
            s.spawn(move || {
                for a in chunk {
                    let checked = trail_run(&[
                        "verify-proof",
                        "--proof",
                        arg(&a.receipt),
                        "--operator-key",
                        vkey,
                        "--json",
                    ]);
                    let line: Value = serde_json::from_str(checked.ok().trim())
                        .unwrap_or_else(|e| panic!("verify-proof --json: {e}: {checked:?}"));
                    assert_eq!(line["type"], "included", "{line}");
                    assert_eq!(line["data"]["seq"], a.seq, "{line}");
                    assert_eq!(line["data"]["hash"], a.hash.as_str(), "{line}");
                }
            });
        }
    });
    eprintln!(
        "{} appends by {CLIENTS} clients in {appended_in:?} ({conflicts} conflicts, {} gave up \
         and ran again); receipts checked in {:?}; total {:?}",
        acks.len(),
        gave_up.len(),
        receipts_started.elapsed(),
        started.elapsed()
    );
}

// ---- 2. SIGKILL mid-append ----

/// Kill-and-restart rounds.
const ROUNDS: usize = 21;
/// Appends one client tries in a round before it gives up on the server dying.
const MAX_APPENDS_PER_ROUND: usize = 500;
/// The clients of each round, each appending progress claims on its own recommendation.
const KILL_CLIENTS: [(&str, &str); 2] = [("syp", "REC-1"), ("college", "REC-2")];

/// When a round's SIGKILL comes.
#[derive(Clone, Copy, Debug)]
enum KillMoment {
    /// This long after the clients start: often during their first sync or POST.
    AfterStart(Duration),
    /// This long after the first acknowledgement: appends are flowing.
    AfterFirstAck(Duration),
    /// As soon as an append is acknowledged, with one client only, so that
    /// no other request can make the server flush first: an entry
    /// acknowledged before it was on disk would be lost.
    AtFirstAck,
}

impl KillMoment {
    fn of_round(round: usize) -> KillMoment {
        let r = round as u64;
        match round % 3 {
            0 => KillMoment::AfterStart(Duration::from_millis(5 + (r * 13) % 60)),
            1 => KillMoment::AfterFirstAck(Duration::from_millis(50 + (r * 97) % 351)),
            _ => KillMoment::AtFirstAck,
        }
    }

    /// The clients that append in a round killed at this moment.
    fn clients(self) -> &'static [(&'static str, &'static str)] {
        match self {
            KillMoment::AtFirstAck => &KILL_CLIENTS[..1],
            _ => &KILL_CLIENTS,
        }
    }
}

/// What one client did in one round: the entries acknowledged to it, and
/// the run that failed once the server was gone, with when it ended (None
/// if none failed).
struct RoundResult {
    acks: Vec<(u64, String)>,
    failure: Option<(Run, Instant)>,
}

/// Appends progress claims as `actor` on `rec` in a loop until an append
/// fails; says on `acked` each time one is acknowledged.
fn append_until_failure(
    site: &Site,
    url: &str,
    (actor, rec): (&str, &str),
    round: usize,
    acked: mpsc::Sender<()>,
) -> RoundResult {
    let cache = site.path(&format!("cache-{actor}"));
    let event_file = site.path(&format!("event-{actor}.json"));
    let mut acks = Vec::new();
    for n in 0..MAX_APPENDS_PER_ROUND {
        let event = json!({"type": "progress_claim", "rec": rec, "status": "in_progress",
            "subject": actor, "narrative": format!("Round {round} claim {n}"), "date": "2022-03-01"});
        fs::write(&event_file, event.to_string()).expect("event file");
        let appended = remote(
            url,
            &cache,
            &[
                "append",
                "--key",
                arg(&site.key(actor)),
                "--event",
                arg(&event_file),
            ],
        );
        if appended.code != Some(0) {
            return RoundResult {
                acks,
                failure: Some((appended, Instant::now())),
            };
        }
        acks.extend(acknowledged(&appended.stdout));
        let _ = acked.send(());
    }
    RoundResult {
        acks,
        failure: None,
    }
}

#[test]
fn sigkill_during_remote_appends_loses_no_acknowledged_entry() {
    let started = Instant::now();
    let site = Site::new();
    let operator = grant_operator(&site);
    let before = site.count();
    let mut served = Served::start(&site.log, &operator, &[]);
    let mut all_acks: Vec<(u64, String)> = Vec::new();
    let mut rounds_without_acks = 0;
    for round in 0..ROUNDS {
        let url = served.url.clone();
        let moment = KillMoment::of_round(round);
        let (tx, acked) = mpsc::channel();
        let (flowing, killed_at, results) = thread::scope(|s| {
            let clients: Vec<_> = moment
                .clients()
                .iter()
                .map(|&client| {
                    let (site, url, tx) = (&site, url.as_str(), tx.clone());
                    s.spawn(move || append_until_failure(site, url, client, round, tx))
                })
                .collect();
            // Only the clients can send now: if both stop, the wait ends at once.
            drop(tx);
            let first_ack = || acked.recv_timeout(Duration::from_secs(60)).is_ok();
            let flowing = match moment {
                KillMoment::AfterStart(delay) => {
                    thread::sleep(delay);
                    true
                }
                KillMoment::AfterFirstAck(delay) => {
                    let flowing = first_ack();
                    thread::sleep(delay);
                    flowing
                }
                KillMoment::AtFirstAck => first_ack(),
            };
            let killed_at = Instant::now();
            served.kill9();
            let results: Vec<RoundResult> = clients
                .into_iter()
                .map(|c| c.join().expect("client thread"))
                .collect();
            (flowing, killed_at, results)
        });
        assert!(
            flowing,
            "round {round} ({moment:?}): no append was acknowledged in 60 s"
        );
        for ((actor, _), result) in moment.clients().iter().zip(&results) {
            let (failure, failed_at) = result
                .failure
                .as_ref()
                .unwrap_or_else(|| panic!("round {round}: {actor} never saw the server go"));
            // Only the kill may stop a client: an append that failed before it is a bug.
            assert!(
                *failed_at >= killed_at,
                "round {round}: {actor} failed before the kill: {failure:#?}"
            );
            assert!(
                failure.code.is_some_and(|c| c != 0),
                "round {round}: {actor}: {failure:#?}"
            );
            assert_clean_error(&failure.stderr);
        }
        if results.iter().all(|r| r.acks.is_empty()) {
            rounds_without_acks += 1;
        }
        all_acks.extend(results.into_iter().flat_map(|r| r.acks));
        served.restart();
        // An auditor that trusts nothing but the URL finds every entry acknowledged so far.
        let shown = served.client(&site, "auditor", &["show", "--json"]);
        let by_seq: HashMap<u64, String> = shown
            .ok()
            .lines()
            .map(|line| {
                let e: Value = serde_json::from_str(line).expect("show --json line");
                (
                    e["data"]["seq"].as_u64().expect("seq"),
                    e["data"]["hash"].as_str().expect("hash").to_owned(),
                )
            })
            .collect();
        for (seq, hash) in &all_acks {
            assert_eq!(
                by_seq.get(seq),
                Some(hash),
                "round {round} ({moment:?}): acknowledged seq {seq} {hash} is not in the \
                 restarted server's log"
            );
        }
    }
    assert_eq!(served.terminate(), Some(0));
    let log = seq_hashes(&show_json(&site.log));
    let seqs: HashSet<u64> = all_acks.iter().map(|(seq, _)| *seq).collect();
    assert_eq!(seqs.len(), all_acks.len(), "a seq acknowledged twice");
    for (seq, hash) in &all_acks {
        let at = usize::try_from(*seq).expect("small seq");
        assert_eq!(log.get(at), Some(&(*seq, hash.clone())), "seq {seq}");
    }
    assert!(log.len() >= before + all_acks.len());
    let verified = trail_run(&["verify", "--log", arg(&site.log)]);
    let want = format!("intact: {} entries", log.len());
    assert!(verified.ok().contains(&want), "{}", verified.stdout);
    eprintln!(
        "{ROUNDS} rounds: {} entries acknowledged, {} in the log, {rounds_without_acks} \
         rounds killed before any acknowledgement, in {:?}",
        all_acks.len(),
        log.len(),
        started.elapsed()
    );
}

// ---- 3. SIGTERM ----

#[test]
fn sigterm_stops_cleanly_and_a_local_command_works_after() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let proof = site.path("seq0.proof");
    // The server is what leaves a checkpoint with the log: none yet.
    trail_run(&[
        "prove",
        "inclusion",
        "--log",
        arg(&site.log),
        "--seq",
        "0",
        "--out",
        arg(&proof),
    ])
    .fails(2, &["no checkpoint is kept"]);
    let mut server = LoggedServer::start(&site, &operator);
    let marker = site.log.join("SERVED_AT");
    assert_eq!(
        fs::read_to_string(&marker).expect("SERVED_AT while serving"),
        format!("{}\n", server.url)
    );
    let event_file = site.path("claim.json");
    fs::write(
        &event_file,
        json!({"type": "progress_claim", "rec": "REC-1", "status": "implemented",
            "subject": "syp", "narrative": "Done", "date": "2022-03-01"})
        .to_string(),
    )
    .expect("event file");
    let appended = remote(
        &server.url,
        &site.path("cache-syp"),
        &[
            "append",
            "--key",
            arg(&site.key("syp")),
            "--event",
            arg(&event_file),
        ],
    );
    let last = acknowledged(appended.ok())[0].0;
    let size = last + 1;

    let (code, printed) = server.terminate();
    assert_eq!(code, Some(0), "{}", server.access_log());
    assert!(
        printed.len() == 1 && printed[0].starts_with("stopped"),
        "after its first line, trail serve printed {printed:?}"
    );
    assert!(!marker.exists(), "SERVED_AT left behind after SIGTERM");

    let verified = trail_run(&["verify", "--log", arg(&site.log)]);
    let want = format!("intact: {size} entries");
    assert!(verified.ok().contains(&want), "{}", verified.stdout);
    // The checkpoint kept on shutdown is the latest: it holds the last append.
    for seq in [0, last] {
        let proved = trail_run(&[
            "prove",
            "inclusion",
            "--log",
            arg(&site.log),
            "--seq",
            &seq.to_string(),
            "--out",
            arg(&proof),
        ]);
        let want = format!("inclusion proof of seq {seq} in the tree of {size} entries");
        assert!(proved.ok().starts_with(&want), "{}", proved.stdout);
    }
}

// ---- 4. curl ----

/// What curl got back.
struct Answer {
    status: u16,
    headers: String,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Runs curl (it must be installed: this test fails rather than skips).
fn curl(dir: &Path, args: &[&str]) -> Answer {
    let (headers, body) = (dir.join("curl.headers"), dir.join("curl.body"));
    let out = StdCommand::new("curl")
        .args(["--silent", "--show-error", "--max-time", "60"])
        .args(["--dump-header", arg(&headers), "--output", arg(&body)])
        .args(["--write-out", "%{http_code}"])
        .args(args)
        .output()
        .expect("curl must be installed to run this test");
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Answer {
        status: String::from_utf8_lossy(&out.stdout)
            .parse()
            .expect("curl prints the status"),
        headers: fs::read_to_string(&headers).expect("headers"),
        body: fs::read(&body).expect("body"),
    }
}

/// POSTs an entry bundle to /add-entries.
fn post(dir: &Path, url: &str, entries: &[&[u8]]) -> Answer {
    let file = dir.join("post.entries");
    let body = trail_core::tiles::entry_bundle::encode(entries.iter().copied()).expect("frame");
    fs::write(&file, body).expect("body file");
    curl(
        dir,
        &[
            "-X",
            "POST",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", arg(&file)),
            &format!("{url}/add-entries"),
        ],
    )
}

/// syp's progress claim `narrative`, signed to follow `prev` at `seq`.
fn signed_claim(seq: u64, prev: EntryHash, after: Timestamp, narrative: &str) -> Vec<u8> {
    let key = seed(3);
    UnsignedEntry {
        seq,
        prev_hash: prev,
        recorded_at: Timestamp::now().max(after),
        signer: key.public_key(),
        event: common::event(&json!({"type": "progress_claim", "rec": "REC-1",
            "status": "in_progress", "subject": "syp", "narrative": narrative,
            "date": "2022-03-01"})),
    }
    .sign(&key)
    .to_bytes()
}

#[test]
fn curl_reads_head_entries_and_checkpoint() {
    let site = Site::new();
    let operator = grant_operator(&site);
    let before = site.count() as u64;
    let mut server = LoggedServer::start(&site, &operator);
    let dir = site.tmp.path();
    let url = server.url.clone();

    let head = curl(dir, &[&format!("{url}/head")]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some("application/json"));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    let head = head.json();
    let size = head["size"].as_u64().expect("size");
    assert_eq!(size, before, "{head}");
    let note = head["checkpoint"].as_str().expect("checkpoint");
    assert_eq!(
        note.lines().nth(1),
        Some(size.to_string().as_str()),
        "{note}"
    );
    let checkpoint = curl(dir, &[&format!("{url}/checkpoint")]);
    assert_eq!(checkpoint.status, 200);
    assert_eq!(checkpoint.body, note.as_bytes());

    let entries = curl(dir, &[&format!("{url}/entries?start=0")]);
    assert_eq!(entries.status, 200);
    assert_eq!(
        entries.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(
        entries.header("trail-size"),
        Some(size.to_string().as_str())
    );
    let frames =
        trail_core::tiles::entry_bundle::decode(&entries.body, usize::MAX).expect("frames");
    assert_eq!(frames.len() as u64, size);
    let hashes: Vec<String> = frames.iter().map(|b| entry_hash(b).to_string()).collect();
    assert_eq!(head["head"].as_str(), hashes.last().map(String::as_str));
    let past_end = curl(dir, &[&format!("{url}/entries?start={size}")]);
    assert_eq!((past_end.status, past_end.body.len()), (200, 0));

    let old_head: EntryHash = head["head"].as_str().expect("head").parse().expect("hex");
    let last_time = Entry::from_bytes(frames.last().expect("an entry"))
        .expect("decodes")
        .unsigned
        .recorded_at;
    let first = signed_claim(size, old_head, last_time, "Signed by hand");
    let accepted = post(dir, &url, &[&first]);
    assert_eq!(
        accepted.status,
        200,
        "{}",
        String::from_utf8_lossy(&accepted.body)
    );
    let answer = accepted.json();
    let receipts = answer["entries"].as_array().expect("entries");
    assert_eq!(receipts.len(), 1, "{answer}");
    assert_eq!(receipts[0]["seq"], size);
    assert_eq!(receipts[0]["hash"], entry_hash(&first).to_string());
    let receipt = receipts[0]["receipt"].as_str().expect("receipt");
    assert!(receipt.starts_with("c2sp.org/tlog-proof@v1\n"), "{receipt}");
    // Resending what is already in the log is answered as before.
    let again = post(dir, &url, &[&first]);
    assert_eq!(again.status, 200);
    assert_eq!(again.body, accepted.body, "a resend got other receipts");

    // Another append moves the head on; the resend still gets the same answer.
    let first_time = Entry::from_bytes(&first)
        .expect("decodes")
        .unsigned
        .recorded_at;
    let second = signed_claim(size + 1, entry_hash(&first), first_time, "Second by hand");
    assert_eq!(post(dir, &url, &[&second]).status, 200);
    let late = post(dir, &url, &[&first]);
    assert_eq!(late.status, 200);
    assert_eq!(late.body, accepted.body, "a late resend got other receipts");
    // Something new signed against the old head is refused: the log moved on.
    let stale = signed_claim(size, old_head, last_time, "Signed against the old head");
    let refused = post(dir, &url, &[&stale]);
    assert_eq!(
        refused.status,
        409,
        "{}",
        String::from_utf8_lossy(&refused.body)
    );
    assert_eq!(
        refused.header("trail-size"),
        Some((size + 2).to_string().as_str())
    );
    assert_eq!(
        refused.header("trail-head"),
        Some(entry_hash(&second).to_string().as_str())
    );

    // The receipt verifies offline against the operator's key.
    let receipt_file = site.path("first.proof");
    fs::write(&receipt_file, receipt).expect("receipt file");
    let vkey = operator_vkey(
        &url,
        &site.path("cache-operator"),
        &operator,
        &site.path("operator.checkpoint"),
    );
    let checked = trail_run(&[
        "verify-proof",
        "--proof",
        arg(&receipt_file),
        "--operator-key",
        &vkey,
    ]);
    let want = format!(
        "ok: seq {size} (progress_claim, hash {})",
        entry_hash(&first)
    );
    assert!(checked.ok().starts_with(&want), "{}", checked.stdout);

    // What /entries served is what the log holds, read locally once the server is gone.
    let (code, _) = server.terminate();
    assert_eq!(code, Some(0));
    let log = seq_hashes(&show_json(&site.log));
    let local: Vec<&str> = log.iter().map(|(_, h)| h.as_str()).collect();
    assert_eq!(local.len() as u64, size + 2);
    assert_eq!(
        local[..hashes.len()],
        hashes.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    assert_eq!(local[size as usize], entry_hash(&first).to_string());
    assert_eq!(local[size as usize + 1], entry_hash(&second).to_string());
}
