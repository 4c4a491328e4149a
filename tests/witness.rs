//! Independent witnesses over C2SP tlog-witness: two `trail witness serve`
//! processes cosign a log's checkpoints to a 2-of-2 quorum, keep their state
//! across SIGKILL, and refuse a fork.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use common::served::grant_operator;
use common::{Run, Site, arg, trail_run};

/// A running witness; dropping it kills it.
struct WitnessProcess {
    child: Child,
    url: String,
    vkey: String,
}

impl WitnessProcess {
    fn start(site: &Site, name: &str, state: &Path, log_key: &str) -> WitnessProcess {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("trail"))
            .args([
                "witness",
                "serve",
                "--key",
                arg(&site.key(name)),
                "--name",
                name,
            ])
            .args([
                "--state",
                arg(state),
                "--listen",
                "127.0.0.1:0",
                "--log-key",
                log_key,
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start trail witness serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("a first line").unwrap();
        let second = lines.next().expect("a second line").unwrap();
        std::thread::spawn(move || for _ in lines {});
        let url = first.rsplit(" at ").next().unwrap().to_owned();
        let vkey = second
            .strip_prefix("witness key: ")
            .expect("the witness key")
            .to_owned();
        WitnessProcess { child, url, vkey }
    }
}

impl Drop for WitnessProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes witness key files (seeds 8 and 9) and grants them the witness role.
fn grant_witnesses(site: &Site) {
    for (name, byte) in [("w1", 8u8), ("w2", 9u8)] {
        site.grant_key(&site.log, name, byte, "witness");
    }
}

fn checkpoint(
    site: &Site,
    operator: &Path,
    out: &Path,
    witnesses: &[&WitnessProcess],
    quorum: usize,
) -> Run {
    let mut args = vec![
        "checkpoint".to_owned(),
        "--log".into(),
        arg(&site.log).into(),
        "--key".into(),
        arg(operator).into(),
        "--out".into(),
        arg(out).into(),
        "--quorum".into(),
        quorum.to_string(),
    ];
    for w in witnesses {
        args.extend(["--witness".to_owned(), w.url.clone()]);
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    trail_run(&refs)
}

fn operator_vkey(site: &Site, operator: &Path) -> String {
    let signed = trail_run(&[
        "checkpoint",
        "--log",
        arg(&site.log),
        "--key",
        arg(operator),
        "--out",
        arg(&site.path("plain.cp")),
    ]);
    common::printed_key(signed.ok(), "operator key")
}

fn grow(site: &Site, tag: &str, n: usize) {
    common::issue_recommendations(site, tag, 0..n);
}

#[test]
fn two_witnesses_cosign_keep_their_state_across_sigkill_and_refuse_a_fork() {
    let site = Site::new();
    let operator = grant_operator(&site);
    grant_witnesses(&site);
    let vkey = operator_vkey(&site, &operator);
    let (state1, state2): (PathBuf, PathBuf) = (site.path("w1-state"), site.path("w2-state"));
    let mut w1 = WitnessProcess::start(&site, "w1", &state1, &vkey);
    let w2 = WitnessProcess::start(&site, "w2", &state2, &vkey);

    let first = site.path("first.cp");
    let cosigned = checkpoint(&site, &operator, &first, &[&w1, &w2], 2);
    cosigned.ok();
    let text = std::fs::read_to_string(&first).unwrap();
    assert_eq!(text.matches("\n— w").count(), 2, "{text}");
    // The log as it was, as tiles: where a fork will start from.
    let old_tiles = site.path("old-tiles");
    trail_run(&["publish", "--log", arg(&site.log), "--out", arg(&old_tiles)]).ok();
    // An inclusion proof against the kept, cosigned checkpoint verifies
    // with both witnesses required.
    let proof = site.path("seq3.proof");
    trail_run(&[
        "prove",
        "inclusion",
        "--log",
        arg(&site.log),
        "--seq",
        "3",
        "--out",
        arg(&proof),
    ])
    .ok();
    let verified = trail_run(&[
        "verify-proof",
        "--proof",
        arg(&proof),
        "--operator-key",
        &vkey,
        "--witness-key",
        &w1.vkey,
        "--witness-key",
        &w2.vkey,
        "--witnesses",
        "2",
    ]);
    verified.ok();

    // The log grows; witness 1 is killed and restarted on its state: it
    // answers the client's first try with the size it holds (409), and the
    // client's consistency proof from there gets its cosignature.
    grow(&site, "MORE", 20);
    let _ = w1.child.kill();
    let _ = w1.child.wait();
    drop(w1);
    w1 = WitnessProcess::start(&site, "w1", &state1, &vkey);
    let second = site.path("second.cp");
    checkpoint(&site, &operator, &second, &[&w1, &w2], 2).ok();

    // An older checkpoint is refused now: the witnesses remember.
    let stale = checkpoint_from_note(&w1.url, &std::fs::read(&first).unwrap());
    assert!(stale.contains("409"), "{stale}");

    // The operator signs another history: a log that forks after the first
    // checkpoint. Of the size the witnesses hold, it is a same-size fork
    // (409); longer, its consistency proof fails (422). No quorum either way.
    let fork = Site::new();
    std::fs::remove_dir_all(&fork.log).unwrap();
    trail_run(&["mirror", "--from", arg(&old_tiles), "--log", arg(&fork.log)]).ok();
    std::fs::copy(&operator, fork.path("operator.key")).unwrap();
    grow(&fork, "FORK", 20);
    let fork_key = fork.path("operator.key");
    let same_size = checkpoint(&fork, &fork_key, &fork.path("fork.cp"), &[&w1, &w2], 1);
    same_size.fails(1, &["409", "a fork"]);
    grow(&fork, "FORK-MORE", 5);
    let longer = checkpoint(&fork, &fork_key, &fork.path("fork2.cp"), &[&w1, &w2], 1);
    longer.fails(1, &["422", "does not verify"]);
    // The honest log still gets its cosignatures.
    grow(&site, "LAST", 2);
    checkpoint(&site, &operator, &site.path("third.cp"), &[&w1, &w2], 2).ok();
}

/// Posts `old 0` with `note` to a witness and returns the status line and body.
fn checkpoint_from_note(url: &str, note: &[u8]) -> String {
    let body = [b"old 0\n\n".as_slice(), note].concat();
    let out = Command::new("curl")
        .args([
            "-sS",
            "-w",
            "\n%{http_code}",
            "--data-binary",
            "@-",
            &format!("{url}/add-checkpoint"),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(&body)?;
            child.wait_with_output()
        })
        .expect("curl is installed (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn a_served_log_collects_a_two_of_two_quorum_after_each_batch() {
    let site = Site::new();
    let operator = grant_operator(&site);
    grant_witnesses(&site);
    let vkey = operator_vkey(&site, &operator);
    let w1 = WitnessProcess::start(&site, "w1", &site.path("w1-state"), &vkey);
    let w2 = WitnessProcess::start(&site, "w2", &site.path("w2-state"), &vkey);
    let served = common::served::Served::start(
        &site.log,
        &operator,
        &["--witness", &w1.url, "--witness", &w2.url, "--quorum", "2"],
    );
    let event = site.path("issue.json");
    std::fs::write(
        &event,
        r#"{"type":"recommendation_issued","rec":"SERVED-1","report":"REP-1","addressees":["syp"],"subject":"Witnessed","date":"2021-11-23"}"#,
    )
    .unwrap();
    served
        .client(
            &site,
            "iopc",
            &[
                "append",
                "--key",
                arg(&site.key("iopc")),
                "--event",
                arg(&event),
            ],
        )
        .ok();
    // The cosigning runs beside the appends: wait (bounded) until the
    // served checkpoint of the whole log (12 entries, then SERVED-1)
    // carries both cosignatures.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let note = loop {
        let (status, body) = served.get("/checkpoint");
        assert_eq!(status, 200);
        let text = String::from_utf8(body).unwrap();
        let size: u64 = text.lines().nth(1).unwrap().parse().unwrap();
        if size == 13 && text.matches("\n— w").count() == 2 {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 2-of-2 checkpoint: {text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let file = site.path("served.cp");
    std::fs::write(&file, &note).unwrap();
    // Anyone can check the quorum with the witnesses' keys.
    let proof = site.path("proof");
    served
        .client(
            &site,
            "auditor",
            &[
                "prove",
                "inclusion",
                "--seq",
                "12",
                "--checkpoint",
                arg(&file),
                "--out",
                arg(&proof),
            ],
        )
        .ok();
    trail_run(&[
        "verify-proof",
        "--proof",
        arg(&proof),
        "--operator-key",
        &vkey,
        "--witness-key",
        &w1.vkey,
        "--witness-key",
        &w2.vkey,
        "--witnesses",
        "2",
    ])
    .ok();
}
