//! Crashes and concurrent writers: a killed appender loses no acknowledged
//! entry and leaves a log that verifies; several processes appending at once
//! never fork the log.
//!
//! The crash tests re-run this test binary as the child process (selected by
//! an environment variable), so the child appends through the real library and
//! prints each seq only after the append has returned.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use trail_core::event::{AccountabilitySession, KeyGranted};
use trail_core::{Day, Event, Id, Log, Role, SecretKey};

const CHILD_ENV: &str = "TRAIL_RELIABILITY_CHILD";

fn admin() -> SecretKey {
    SecretKey::from_seed(&[1; 32])
}
fn issuer() -> SecretKey {
    SecretKey::from_seed(&[2; 32])
}

fn session(n: u64) -> Event {
    Event::AccountabilitySession(AccountabilitySession {
        forum: format!("Public Accountability Board meeting {n}"),
        recs: vec![],
        notes: None,
        date: Day::new(2022, 1, 1).unwrap(),
    })
}

fn new_log(dir: &Path) {
    let log = Log::create(
        dir,
        "reliability",
        &admin(),
        Id::new("admin").unwrap(),
        "Admin",
    )
    .unwrap();
    log.append(
        &admin(),
        Event::KeyGranted(KeyGranted {
            actor: Id::new("iopc").unwrap(),
            body: "IOPC".into(),
            public_key: issuer().public_key(),
            roles: vec![Role::Issuer],
            date: Day::new(2021, 11, 1).unwrap(),
        }),
    )
    .unwrap();
}

/// The child: appends until killed, printing "seq" (or "first..last") after each append returns.
fn child_main(dir: &Path, batch: usize) {
    let log = Log::open(dir).unwrap();
    for n in 0.. {
        let events = (0..batch).map(|i| session(n * 100 + i as u64)).collect();
        let appended = log.append_all(&issuer(), events).unwrap();
        let first = appended.first().unwrap().seq;
        let last = appended.last().unwrap().seq;
        println!("{first} {last}");
    }
}

/// Kills a child appender at random moments, `rounds` times, checking after each.
fn crash_rounds(test_name: &str, batch: usize, rounds: usize) {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    new_log(&log_dir);
    let mut acknowledged: Vec<(u64, u64)> = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..rounds {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, format!("{}|{batch}", log_dir.display()))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // A cheap xorshift picks how long the child runs: 5 to 60 ms after its first ack.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let run_for = Duration::from_millis(5 + seed % 55);
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    let mut parts = l.split_whitespace().map(|p| p.parse::<u64>());
                    match (parts.next(), parts.next()) {
                        (Some(Ok(a)), Some(Ok(b))) => Some((a, b)),
                        _ => None,
                    }
                })
                .collect::<Vec<_>>()
        });
        std::thread::sleep(run_for);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        acknowledged.extend(reader.join().unwrap());

        let log = Log::open(&log_dir).expect("log reopens after a crash");
        let verifier = log
            .verify_with(|_| Ok(()))
            .expect("log verifies after a crash");
        let count = verifier.len();
        for (first, last) in &acknowledged {
            assert!(
                *last < count,
                "acknowledged seqs {first}..{last} lost; log has {count} entries"
            );
        }
        // All or nothing: the two setup entries, then whole batches only.
        assert_eq!(
            (count - 2) % batch as u64,
            0,
            "a batch was partly written: {count} entries"
        );
    }
    assert!(
        !acknowledged.is_empty(),
        "the child never acknowledged anything"
    );
}

fn run_child_if_asked() -> bool {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return false;
    };
    let (dir, batch) = spec.rsplit_once('|').unwrap();
    child_main(Path::new(dir), batch.parse().unwrap());
    true
}

#[test]
fn killed_single_appender_loses_no_acknowledged_entry() {
    if run_child_if_asked() {
        return;
    }
    crash_rounds("killed_single_appender_loses_no_acknowledged_entry", 1, 30);
}

#[test]
fn killed_batch_appender_writes_whole_batches_only() {
    if run_child_if_asked() {
        return;
    }
    crash_rounds("killed_batch_appender_writes_whole_batches_only", 10, 25);
}

#[test]
fn concurrent_processes_with_wait_all_land_without_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    new_log(&log_dir);
    let key_file = dir.path().join("issuer.key");
    issuer().write_new_file(&key_file).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"type":"accountability_session","forum":"Board","recs":[],"date":"2022-01-01"}"#,
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_trail");
    let writers: Vec<_> = (0..4)
        .map(|_| {
            let (log_dir, key_file, event) = (log_dir.clone(), key_file.clone(), event.clone());
            std::thread::spawn(move || {
                let mut seqs = Vec::new();
                for _ in 0..5 {
                    let out = Command::new(bin)
                        .args(["append", "--wait", "60", "--log"])
                        .arg(&log_dir)
                        .arg("--key")
                        .arg(&key_file)
                        .arg("--event")
                        .arg(&event)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    let text = String::from_utf8(out.stdout).unwrap();
                    let seq: u64 = text.split_whitespace().nth(1).unwrap().parse().unwrap();
                    seqs.push(seq);
                }
                seqs
            })
        })
        .collect();
    let mut seqs: Vec<u64> = writers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(
        seqs,
        (2..22).collect::<Vec<_>>(),
        "every append got its own seq"
    );
    let log = Log::open(&log_dir).unwrap();
    assert_eq!(log.verify_with(|_| Ok(())).unwrap().len(), 22);
}

#[test]
fn a_second_writer_without_wait_is_told_the_log_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    new_log(&log_dir);
    let held = Log::open(&log_dir).unwrap();
    let key_file = dir.path().join("issuer.key");
    issuer().write_new_file(&key_file).unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"type": "report_published", "report": "R", "title": "T", "date": "2021-11-23"}"#,
    )
    .unwrap();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["append", "--log"])
        .arg(&log_dir)
        .arg("--key")
        .arg(&key_file)
        .arg("--event")
        .arg(&event)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("log is busy"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(10), "must not hang");
    // A reader is not kept out by the writer.
    let out = Command::new(env!("CARGO_BIN_EXE_trail"))
        .args(["verify", "--log"])
        .arg(&log_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("2 entries"), "{stdout}");
    drop(held);
}

#[test]
fn threads_sharing_one_log_get_distinct_seqs() {
    let dir = tempfile::tempdir().unwrap();
    let log_dir = dir.path().join("log");
    new_log(&log_dir);
    let log = Log::open(&log_dir).unwrap();
    let seqs = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (log, seqs) = (&log, &seqs);
            s.spawn(move || {
                for i in 0..10 {
                    let a = log.append(&issuer(), session(t * 100 + i)).unwrap();
                    seqs.lock().unwrap().push(a.seq);
                }
            });
        }
    });
    let mut seqs = seqs.into_inner().unwrap();
    seqs.sort_unstable();
    assert_eq!(seqs, (2..42).collect::<Vec<_>>());
    assert_eq!(log.verify_with(|_| Ok(())).unwrap().len(), 42);
}

#[test]
fn killed_import_leaves_no_log_or_a_whole_one() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    new_log(&source);
    let log = Log::open(&source).unwrap();
    log.append_all(&issuer(), (0..3000).map(session).collect())
        .unwrap();
    let bundle = dir.path().join("log.trail");
    trail_core::bundle::export(&log, &bundle).unwrap();
    drop(log);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut killed_midway = 0;
    for round in 0..20 {
        let target = dir.path().join(format!("copy{round}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_trail"))
            .args(["import", "--bundle"])
            .arg(&bundle)
            .arg("--log")
            .arg(&target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(seed % 400));
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !target.exists() {
            assert!(!status.success(), "import reported success but left no log");
            killed_midway += 1;
            // A later import into the same place succeeds: what the killed one
            // left behind (its staging directory) is cleared.
            let out = Command::new(env!("CARGO_BIN_EXE_trail"))
                .args(["import", "--bundle"])
                .arg(&bundle)
                .arg("--log")
                .arg(&target)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // The log appears only by a rename after everything is on disk.
        let log = Log::open(&target).expect("an imported log opens");
        assert_eq!(log.verify_with(|_| Ok(())).unwrap().len(), 3002);
    }
    assert!(killed_midway > 0, "no import was killed before it finished");
}
