//! Readers are never locked out (issue 12): while one process appends, other
//! processes run every read command on the log at once, and each sees a
//! consistent, durable prefix: at least every entry acknowledged before it
//! started, at most those acknowledged by the time it ended (and the one in
//! flight). A second writer is still told the log is busy.
//!
//! The writer is this test binary run again as a child process (selected by
//! an environment variable): it appends through the library and prints each
//! seq only after the append has returned.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use trail_core::event::{AccountabilitySession, KeyGranted};
use trail_core::{Day, Event, Id, Log, Role, SecretKey};

const CHILD_ENV: &str = "TRAIL_READERS_CHILD";

fn admin() -> SecretKey {
    SecretKey::from_seed(&[1; 32])
}
fn issuer() -> SecretKey {
    SecretKey::from_seed(&[2; 32])
}
fn operator() -> SecretKey {
    SecretKey::from_seed(&[3; 32])
}

fn grant(actor: &str, key: &SecretKey, role: Role) -> Event {
    Event::KeyGranted(KeyGranted {
        actor: Id::new(actor).unwrap(),
        body: actor.to_uppercase(),
        public_key: key.public_key(),
        roles: vec![role],
        date: Day::new(2021, 11, 1).unwrap(),
    })
}

fn json_event(json: &str) -> Event {
    Event::from_json(json).unwrap()
}

/// A log with a recommendation, and a signed checkpoint kept with it.
fn new_log(dir: &Path) -> PathBuf {
    let log_dir = dir.join("log");
    let log = Log::create(
        &log_dir,
        "readers",
        &admin(),
        Id::new("admin").unwrap(),
        "Admin",
    )
    .unwrap();
    log.append_all(
        &admin(),
        vec![
            grant("iopc", &issuer(), Role::Issuer),
            grant("operator", &operator(), Role::Operator),
        ],
    )
    .unwrap();
    log.append_all(
        &issuer(),
        vec![
            json_event(
                r#"{"type": "report_published", "report": "REP-1", "title": "A report", "date": "2021-11-23"}"#,
            ),
            json_event(
                r#"{"type": "recommendation_issued", "rec": "REC-1", "report": "REP-1",
                    "addressees": ["iopc"], "subject": "Training", "date": "2021-11-23"}"#,
            ),
        ],
    )
    .unwrap();
    drop(log);
    let key = dir.join("operator.key");
    operator().write_new_file(&key).unwrap();
    common::trail_run(&[
        "checkpoint",
        "--log",
        common::arg(&log_dir),
        "--key",
        common::arg(&key),
        "--out",
        common::arg(&dir.join("checkpoint.txt")),
    ])
    .ok();
    log_dir
}

fn child_main(dir: &Path) {
    let log = Log::open(dir).unwrap();
    for n in 0.. {
        let session = Event::AccountabilitySession(AccountabilitySession {
            forum: format!("Board meeting {n}"),
            recs: vec![Id::new("REC-1").unwrap()],
            notes: None,
            date: Day::new(2022, 1, 1).unwrap(),
        });
        let appended = log.append(&issuer(), session).unwrap();
        println!("{}", appended.seq);
    }
}

/// How many entries a reader's output says it saw, for the commands that
/// say; `None` for the others.
fn entries_seen(command: &str, stdout: &str, dir: &Path) -> Option<u64> {
    match command {
        "verify" => {
            let at = stdout.find("intact: ")? + "intact: ".len();
            stdout[at..].split_whitespace().next()?.parse().ok()
        }
        "show" => Some(
            stdout
                .lines()
                .filter(|l| {
                    l.split_whitespace()
                        .next()
                        .is_some_and(|w| w.parse::<u64>().is_ok())
                })
                .count() as u64,
        ),
        "export" => Some(
            trail_core::bundle::verify_file(&dir.join("export.trail"))
                .unwrap()
                .len(),
        ),
        _ => None,
    }
}

#[test]
fn every_read_command_runs_beside_a_writer_and_sees_a_durable_prefix() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        child_main(Path::new(&dir));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = new_log(dir.path());
    let mut writer = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "every_read_command_runs_beside_a_writer_and_sees_a_durable_prefix",
            "--nocapture",
        ])
        .env(CHILD_ENV, &log)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Entries acknowledged so far (the seq after the last acknowledged one).
    let acknowledged = Arc::new(AtomicU64::new(5));
    let lines = BufReader::new(writer.stdout.take().unwrap());
    let seen = acknowledged.clone();
    std::thread::spawn(move || {
        for line in lines.lines() {
            let Ok(seq) = line.unwrap_or_default().trim().parse::<u64>() else {
                continue;
            };
            seen.store(seq + 1, Ordering::SeqCst);
        }
    });
    let started = Instant::now();
    while acknowledged.load(Ordering::SeqCst) < 30 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the writer appends nothing"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let l = log.display().to_string();
    let out = |name: &str| dir.path().join(name).display().to_string();
    let commands: Vec<(&str, Vec<String>)> = vec![
        ("verify", vec!["verify".into(), "--log".into(), l.clone()]),
        ("show", vec!["show".into(), "--log".into(), l.clone()]),
        (
            "history",
            vec!["history".into(), "--log".into(), l.clone(), "REC-1".into()],
        ),
        ("replay", vec!["replay".into(), "--log".into(), l.clone()]),
        ("check", vec!["check".into(), "--log".into(), l.clone()]),
        (
            "report",
            vec![
                "report".into(),
                "--log".into(),
                l.clone(),
                "--format".into(),
                "html".into(),
                "--out".into(),
                out("report.html"),
            ],
        ),
        (
            "export",
            vec![
                "export".into(),
                "--log".into(),
                l.clone(),
                "--out".into(),
                out("export.trail"),
            ],
        ),
        (
            "prove",
            vec![
                "prove".into(),
                "inclusion".into(),
                "--log".into(),
                l.clone(),
                "--seq".into(),
                "3".into(),
                "--out".into(),
                out("inclusion.proof"),
            ],
        ),
        (
            "search",
            vec!["search".into(), "--log".into(), l.clone(), "Board".into()],
        ),
    ];
    let mut seen_counts = Vec::new();
    for round in 0..3 {
        let before = acknowledged.load(Ordering::SeqCst);
        let children: Vec<_> = commands
            .iter()
            .map(|(name, args)| {
                let child = Command::new(env!("CARGO_BIN_EXE_trail"))
                    .args(args)
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                (*name, child)
            })
            .collect();
        for (name, child) in children {
            let output = child.wait_with_output().unwrap();
            let after = acknowledged.load(Ordering::SeqCst);
            let stdout = String::from_utf8_lossy(&output.stdout);
            let stderr = String::from_utf8_lossy(&output.stderr);
            // `check` exits 3 when it has findings at or above error: its answer.
            let answered = match name {
                "check" => [Some(0), Some(3)].contains(&output.status.code()) && !stdout.is_empty(),
                _ => output.status.code() == Some(0),
            };
            assert!(
                answered,
                "round {round}: trail {name} beside the writer: {stderr}"
            );
            if let Some(n) = entries_seen(name, &stdout, dir.path()) {
                assert!(
                    (before..=after + 1).contains(&n),
                    "round {round}: trail {name} saw {n} entries; {before} were acknowledged \
                     before it started and {after} when it ended"
                );
                seen_counts.push((name, n));
            }
        }
        assert!(std::fs::metadata(out("report.html")).unwrap().len() > 0);
        assert!(
            std::fs::read_to_string(out("inclusion.proof"))
                .unwrap()
                .starts_with("c2sp.org/tlog-proof@v1")
        );
    }
    // A second writer is kept out.
    std::fs::write(
        dir.path().join("late.json"),
        r#"{"type": "report_published", "report": "REP-2", "title": "Late", "date": "2021-11-23"}"#,
    )
    .unwrap();
    issuer()
        .write_new_file(&dir.path().join("issuer.key"))
        .unwrap();
    let second = common::trail_run(&[
        "append",
        "--log",
        &l,
        "--key",
        &out("issuer.key"),
        "--event",
        &out("late.json"),
    ]);
    second.fails(2, &["log is busy"]);
    writer.kill().unwrap();
    writer.wait().unwrap();
    let last = acknowledged.load(Ordering::SeqCst);
    let log = Log::open(&log).unwrap();
    assert!(log.tree_size() >= last, "every acknowledged entry is kept");
    assert!(log.verify_with(|_| Ok(())).is_ok());
    eprintln!(
        "entries seen by readers beside the writer: {seen_counts:?}; {last} acknowledged in all"
    );
}
