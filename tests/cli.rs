//! End-to-end tests of the `trail` command: the README's walk-through, the
//! environment, the helper commands, key files, exit codes and help.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use serde_json::{Value, json};
use trail_core::{Digest, SecretKey};

/// Runs `trail keygen --unencrypted --out PATH` and returns the public key it printed.
#[track_caller]
fn keygen(path: &Path) -> String {
    let out = trail_run(&["keygen", "--unencrypted", "--out", arg(path)]);
    let public = out.ok().trim().to_string();
    assert_eq!(
        public.len(),
        64,
        "keygen prints the public key in hex: {public:?}"
    );
    assert!(
        public
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    public
}

/// Every `show --json` entry must have exactly these fields.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only by serde, to pin the schema
struct ShownEntry {
    seq: u64,
    hash: String,
    prev_hash: String,
    recorded_at: String,
    signer: String,
    actor: Option<String>,
    event: Value,
    signature: String,
}

#[test]
fn walk_through_from_keygen_to_an_imported_log() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let log = p("log");

    let admin = keygen(&p("admin.key"));
    let iopc = keygen(&p("iopc.key"));
    let syp = keygen(&p("syp.key"));
    let pcc = keygen(&p("pcc.key"));

    let out = trail_run(&[
        "init",
        "--log",
        arg(&log),
        "--name",
        "Linden recommendations",
        "--key",
        arg(&p("admin.key")),
    ]);
    let mut hashes: Vec<String> = Vec::new();
    let init_out = out.ok();
    assert!(init_out.contains("created log"), "{init_out}");
    let genesis_line = init_out
        .lines()
        .find(|l| l.starts_with("seq 0 "))
        .expect("seq 0 line");
    hashes.push(genesis_line["seq 0 ".len()..].to_string());

    let mut expect_seq = 1u64;
    let mut record = |out: &Run, n: usize| {
        let stdout = out.ok();
        let seqs = appended_seqs(stdout);
        assert_eq!(
            seqs,
            (expect_seq..expect_seq + n as u64).collect::<Vec<_>>(),
            "{stdout}"
        );
        expect_seq += n as u64;
        hashes.extend(
            stdout
                .lines()
                .map(|l| l.split_whitespace().nth(2).unwrap().to_string()),
        );
    };

    // Grants: one key with two roles (repeated --role), and single-role keys.
    let grants = [
        (
            "iopc",
            "Independent Office for Police Conduct",
            iopc.as_str(),
            &["issuer", "assessor"][..],
        ),
        (
            "syp",
            "South Yorkshire Police",
            syp.as_str(),
            &["respondent"][..],
        ),
        (
            "pcc",
            "Police and Crime Commissioner",
            pcc.as_str(),
            &["funder"][..],
        ),
    ];
    let admin_key = p("admin.key");
    for (actor, body, public, roles) in grants {
        let mut args = vec![
            "grant",
            "--log",
            arg(&log),
            "--key",
            arg(&admin_key),
            "--actor",
            actor,
            "--body",
            body,
            "--public-key",
            public,
            "--date",
            "2021-11-01",
        ];
        for r in roles {
            args.extend(["--role", r]);
        }
        record(&trail_run(&args), 1);
    }

    // One event in a (pretty-printed) JSON file.
    let report = json!({"type": "report_published", "report": "LINDEN-2021", "title": "Operation Linden",
        "date": "2021-11-23", "document": {"name": "report.pdf", "blake3": Digest::of(b"report").to_string()}});
    fs::write(
        p("report.json"),
        serde_json::to_string_pretty(&report).unwrap(),
    )
    .unwrap();
    let append = |key: &str, file: &str| {
        trail_run(&[
            "append",
            "--log",
            arg(&log),
            "--key",
            arg(&p(key)),
            "--event",
            file,
        ])
    };
    record(&append("iopc.key", arg(&p("report.json"))), 1);

    // A JSON Lines file: several entries in one go.
    let recs = [
        json!({"type": "recommendation_issued", "rec": "LINDEN-R1", "report": "LINDEN-2021",
            "addressees": ["syp"], "subject": "Training", "date": "2021-11-23"}),
        json!({"type": "recommendation_issued", "rec": "LINDEN-R2", "report": "LINDEN-2021",
            "addressees": ["syp"], "subject": "Support", "date": "2021-11-23", "response_due": "2022-02-01"}),
    ];
    let lines: String = recs.iter().map(|r| format!("{r}\n")).collect();
    fs::write(p("recs.jsonl"), &lines).unwrap();
    record(&append("iopc.key", arg(&p("recs.jsonl"))), 2);

    // Standard input with `--event -`.
    let response = json!({"type": "response_recorded", "rec": "LINDEN-R1", "position": "accepted",
        "actions": "New training", "target": "2022-06-30", "date": "2021-12-10"});
    let mut cmd = trail();
    cmd.args([
        "append",
        "--log",
        arg(&log),
        "--key",
        arg(&p("syp.key")),
        "--event",
        "-",
    ]);
    record(&run(cmd, Some(format!("{response}\n").as_bytes())), 1);

    let funding = json!({"type": "funding_decision", "decision": "21/034", "amount_minor": 25_000_000u64,
        "currency": "GBP", "purpose": "Training", "recs": ["LINDEN-R1"], "stage": "approved", "date": "2021-11-23"});
    fs::write(p("funding.json"), funding.to_string()).unwrap();
    record(&append("pcc.key", arg(&p("funding.json"))), 1);
    let count = hashes.len();
    assert_eq!(count, 9);
    let head = hashes.last().unwrap().clone();

    // verify: intact, with the head hash append printed last.
    let out = trail_run(&["verify", "--log", arg(&log)]);
    assert!(
        out.ok()
            .contains(&format!("intact: {count} entries, head {head}")),
        "{}",
        out.stdout
    );

    // show (table): a header, then one line per entry, in order, naming the signer's actor.
    let out = trail_run(&["show", "--log", arg(&log)]);
    let mut lines = out.ok().lines();
    assert!(
        lines.next().is_some_and(|h| h.starts_with("seq ")),
        "{}",
        out.stdout
    );
    let table: Vec<&str> = lines.collect();
    assert_eq!(table.len(), count);
    for (i, line) in table.iter().enumerate() {
        assert_eq!(
            line.split_whitespace().next(),
            Some(i.to_string().as_str()),
            "{line}"
        );
    }
    assert!(
        table[4].contains("iopc") && table[4].contains("report_published"),
        "{}",
        table[4]
    );
    assert!(
        table[7].contains("syp") && table[7].contains("response_recorded"),
        "{}",
        table[7]
    );

    // show --json: envelopes with a fixed schema, a chain of hashes, our events.
    let out = trail_run(&["show", "--log", arg(&log), "--json"]);
    let shown: Vec<ShownEntry> = out
        .ok()
        .lines()
        .map(|line| {
            let env: Envelope = serde_json::from_str(line).expect("envelope");
            assert_eq!(env.kind, "entry");
            serde_json::from_value(env.data)
                .unwrap_or_else(|e| panic!("schema drift ({e}): {line}"))
        })
        .collect();
    assert_eq!(shown.len(), count);
    for (i, e) in shown.iter().enumerate() {
        assert_eq!(e.seq, i as u64);
        assert_eq!(
            e.hash, hashes[i],
            "seq {i}: show and append disagree on the hash"
        );
        let prev = if i == 0 {
            "0".repeat(64)
        } else {
            hashes[i - 1].clone()
        };
        assert_eq!(e.prev_hash, prev, "seq {i}: prev_hash");
        assert_eq!(e.signature.len(), 128);
        assert!(e.recorded_at.ends_with('Z'), "{}", e.recorded_at);
        if i > 0 {
            assert!(shown[i - 1].recorded_at <= e.recorded_at, "time order");
        }
    }
    assert_eq!(shown[0].signer, admin);
    assert_eq!(shown[0].event["type"], "log_created");
    assert_eq!(shown[0].event["name"], "Linden recommendations");
    assert_eq!(shown[0].event["public_key"], admin.as_str());
    assert_eq!(shown[1].event["roles"], json!(["issuer", "assessor"]));
    assert_eq!(shown[1].event["public_key"], iopc.as_str());
    assert_eq!(shown[4].event, report);
    assert_eq!(shown[4].signer, iopc);
    assert_eq!(shown[4].actor.as_deref(), Some("iopc"));
    // The 56-day period beginning with 2021-11-23 ends on 2022-01-17.
    let mut r1 = recs[0].clone();
    r1["response_due"] = json!("2022-01-17");
    assert_eq!(shown[5].event, r1);
    assert_eq!(shown[6].event, recs[1]);
    assert_eq!(shown[7].event, response);
    assert_eq!(shown[7].actor.as_deref(), Some("syp"));
    assert_eq!(shown[8].event, funding);

    // --from/--to select a range.
    let out = trail_run(&[
        "show",
        "--log",
        arg(&log),
        "--json",
        "--from",
        "2",
        "--to",
        "4",
    ]);
    let seqs: Vec<u64> = out
        .ok()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["data"]["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(seqs, [2, 3, 4]);

    // export, then the bundle holds exactly those entries: hashes computed
    // here from its bytes match what trail printed.
    let bundle = p("linden.trail");
    let out = trail_run(&["export", "--log", arg(&log), "--out", arg(&bundle)]);
    assert!(
        out.ok()
            .contains(&format!("exported {count} verified entries")),
        "{}",
        out.stdout
    );
    let bytes = fs::read(&bundle).unwrap();
    let computed: Vec<String> = bundle_entries(&bytes)
        .iter()
        .map(|e| trail_core::entry_hash(e).to_string())
        .collect();
    assert_eq!(computed, hashes);

    // verify --bundle, plain and JSON.
    let out = trail_run(&["verify", "--bundle", arg(&bundle)]);
    assert!(
        out.ok()
            .contains(&format!("intact: {count} entries, head {head}")),
        "{}",
        out.stdout
    );
    let out = trail_run(&["verify", "--bundle", arg(&bundle), "--json"]);
    let env: Envelope = serde_json::from_str(out.ok().trim()).unwrap();
    assert_eq!(env.kind, "verified");
    assert_eq!(env.data, json!({"entries": count, "head": head}));

    // import, then the new log verifies and shows the same entries.
    let imported = p("imported");
    let out = trail_run(&["import", "--bundle", arg(&bundle), "--log", arg(&imported)]);
    assert!(
        out.ok()
            .contains(&format!("imported {count} verified entries")),
        "{}",
        out.stdout
    );
    let out = trail_run(&["verify", "--log", arg(&imported)]);
    assert!(out.ok().contains(&format!("head {head}")), "{}", out.stdout);
    assert_eq!(show_json(&imported), show_json(&log));

    // The imported log takes new entries as the original would.
    let claim = json!({"type": "progress_claim", "rec": "LINDEN-R1", "status": "in_progress", "subject": "syp",
        "narrative": "Half the officers trained", "date": "2022-05-01"});
    fs::write(p("claim.json"), claim.to_string()).unwrap();
    let out = trail_run(&[
        "append",
        "--log",
        arg(&imported),
        "--key",
        arg(&p("syp.key")),
        "--event",
        arg(&p("claim.json")),
    ]);
    assert_eq!(appended_seqs(out.ok()), [count as u64]);
    assert_eq!(entry_count(&imported), count + 1);
}

#[test]
fn trail_log_environment_variable_stands_in_for_log() {
    let site = Site::new();
    let count = site.count();
    let with_env = |args: &[&str]| {
        let mut cmd = trail();
        cmd.args(args).env("TRAIL_LOG", &site.log);
        run(cmd, None)
    };
    assert!(
        with_env(&["verify"])
            .ok()
            .contains(&format!("intact: {count} entries"))
    );
    assert_eq!(with_env(&["show", "--json"]).ok().lines().count(), count);
    let event = json!({"type": "response_recorded", "rec": "REC-1", "position": "neither", "date": "2021-12-01"});
    fs::write(site.path("e.json"), event.to_string()).unwrap();
    let out = with_env(&[
        "append",
        "--key",
        arg(&site.key("syp")),
        "--event",
        arg(&site.path("e.json")),
    ]);
    assert_eq!(appended_seqs(out.ok()), [count as u64]);
    let bundle = site.path("b.trail");
    with_env(&["export", "--out", arg(&bundle)]).ok();
    assert!(bundle.is_file());
    assert_eq!(site.count(), count + 1);

    // An explicit --log wins over the environment.
    let mut cmd = trail();
    cmd.args(["verify", "--log", arg(&site.log)])
        .env("TRAIL_LOG", site.path("nowhere"));
    run(cmd, None).ok();
    // And without either, verify is a usage error.
    let out = trail_run(&["verify"]);
    assert_eq!(out.code, Some(2), "{out:#?}");
}

#[test]
fn evidence_prints_the_blake3_of_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("training plan.pdf");
    let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
    fs::write(&file, &bytes).unwrap();
    let out = trail_run(&["evidence", arg(&file)]);
    let printed = out.ok().split_whitespace().next().unwrap().to_string();
    assert_eq!(printed, Digest::of(&bytes).to_string());

    let empty = dir.path().join("empty");
    fs::write(&empty, b"").unwrap();
    // BLAKE3 of the empty input, from the BLAKE3 specification's test vectors.
    let expected = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";
    assert!(
        trail_run(&["evidence", arg(&empty)])
            .ok()
            .starts_with(expected)
    );

    let missing = dir.path().join("missing.pdf");
    trail_run(&["evidence", arg(&missing)]).fails(2, &["missing.pdf"]);
}

#[test]
fn demo_builds_verifies_and_exports_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let demo = dir.path().join("demo");
    let out = trail_run(&["demo", "--dir", arg(&demo)]);
    let text = out.ok();
    let verified = text
        .lines()
        .find(|l| l.starts_with("verified the log: "))
        .unwrap_or_else(|| panic!("no 'verified the log' line: {text}"));
    let head = verified.rsplit(' ').next().unwrap();
    assert!(text.contains("verified the bundle"), "{text}");
    assert!(text.contains("same head: yes"), "{text}");
    assert!(text.contains("Operation Linden"), "{text}");
    assert!(
        text.to_lowercase().contains("fictional"),
        "illustrative entries are labelled: {text}"
    );
    let log = demo.join("log");
    assert!(
        trail_run(&["verify", "--log", arg(&log)])
            .ok()
            .contains(head)
    );
    let bundle = demo.join("demo.trail");
    assert!(
        trail_run(&["verify", "--bundle", arg(&bundle)])
            .ok()
            .contains(head)
    );
    let n: usize = verified["verified the log: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(entry_count(&log), n);
}

#[test]
fn keygen_writes_a_private_key_file_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.key");
    let public = keygen(&path);
    let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
    assert_eq!(
        SecretKey::load(&path).unwrap().public_key().to_string(),
        public
    );

    let before = fs::read(&path).unwrap();
    let out = trail_run(&["keygen", "--out", arg(&path)]);
    out.fails(2, &["k.key"]);
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "the key file was overwritten"
    );

    // Two keys are different keys.
    assert_ne!(keygen(&dir.path().join("other.key")), public);
}

#[test]
fn a_key_file_readable_by_group_or_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("admin.key");
    keygen(&key);
    for mode in [0o644, 0o640, 0o604, 0o660] {
        fs::set_permissions(&key, fs::Permissions::from_mode(mode)).unwrap();
        let log = dir.path().join("log");
        trail_run(&[
            "init",
            "--log",
            arg(&log),
            "--name",
            "x",
            "--key",
            arg(&key),
        ])
        .fails(2, &["admin.key", "readable by others", "chmod 600"]);
        assert!(
            !log.exists(),
            "mode {mode:o}: init created a log with a refused key"
        );
    }
    fs::set_permissions(&key, fs::Permissions::from_mode(0o400)).unwrap();
    let log = dir.path().join("log");
    trail_run(&[
        "init",
        "--log",
        arg(&log),
        "--name",
        "x",
        "--key",
        arg(&key),
    ])
    .ok();
}

#[test]
fn exit_codes_are_0_1_and_2_as_documented() {
    let site = Site::new();
    // 0: intact.
    assert_eq!(
        trail_run(&["verify", "--log", arg(&site.log)]).code,
        Some(0)
    );
    // 1: verification failed.
    let bundle = site.path("b.trail");
    trail_run(&["export", "--log", arg(&site.log), "--out", arg(&bundle)]).ok();
    let mut bytes = fs::read(&bundle).unwrap();
    let records = parse_bundle(&bytes);
    bytes[records[3].payload.start + 20] ^= 0x10;
    fs::write(&bundle, &bytes).unwrap();
    trail_run(&["verify", "--bundle", arg(&bundle)]).fails(1, &["seq 3:"]);
    // 2: usage errors (clap's own messages may take several lines).
    for args in [
        &["frobnicate"][..],
        &["verify", "--log", "a", "--bundle", "b"],
        &["show", "--log", arg(&site.log), "--from", "minus-one"],
        &[
            "grant",
            "--log",
            arg(&site.log),
            "--key",
            "k",
            "--actor",
            "a",
            "--body",
            "b",
            "--public-key",
            "00",
        ],
        &["init", "--log", "x"],
        &[],
    ] {
        let out = trail_run(args);
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        assert!(!out.stderr.contains("panicked"), "{args:?}: {}", out.stderr);
    }
    // 2: input and I/O errors.
    trail_run(&["verify", "--bundle", arg(&site.path("missing.trail"))])
        .fails(2, &["missing.trail"]);
    trail_run(&["show", "--log", arg(&site.path("missing"))]).fails(2, &["not a trail log"]);
    site.append_text("syp", "{").fails(2, &[]);
}

#[test]
fn help_of_every_command_exits_0() {
    let commands = [
        "keygen", "init", "grant", "revoke", "append", "verify", "show", "export", "import",
        "evidence", "demo",
    ];
    let top = trail_run(&["--help"]);
    let text = top.ok();
    for c in commands {
        assert!(text.contains(c), "--help does not list {c}");
    }
    assert!(
        text.contains("Exit codes"),
        "--help documents the exit codes"
    );
    for c in commands {
        for flag in ["--help", "-h"] {
            let out = trail_run(&[c, flag]);
            assert!(out.ok().contains("Usage:"), "{c} {flag}: {}", out.stdout);
        }
    }
    assert!(trail_run(&["help", "append"]).ok().contains("--event"));
    assert!(trail_run(&["--version"]).ok().starts_with("trail "));
}

/// Several threads each build a log through the library, drop it, and run
/// the binary on it straight away.
#[test]

fn a_log_dropped_by_the_library_is_free_for_the_binary_at_once() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|sc| {
        for t in 0..4 {
            let dir = dir.path();
            sc.spawn(move || {
                for i in 0..15 {
                    let log = dir.join(format!("log{t}-{i}"));
                    let created = trail_core::Log::create(&log, "x", &seed(1), "admin".parse().unwrap(), "Admin").unwrap();
                    created.append(&seed(1), event(&json!({"type": "key_granted", "actor": "a", "body": "b",
                        "public_key": seed(2).public_key().to_string(), "roles": ["issuer"], "date": "2021-11-01"}))).unwrap();
                    drop(created);
                    let out = trail_run(&["show", "--log", arg(&log), "--json"]);
                    assert_eq!(out.code, Some(0), "{t}-{i}: {}", out.stderr);
                }
            });
        }
    });
}

#[test]
fn append_quiet_prints_nothing_and_still_appends() {
    let site = Site::new();
    let before = site.count();
    let file = site.path("quiet.jsonl");
    let lines: String = (0..3)
        .map(|i| {
            format!(
                "{{\"type\":\"recommendation_issued\",\"rec\":\"Q-{i}\",\"report\":\"REP-1\",\
                 \"addressees\":[\"syp\"],\"subject\":\"S\",\"date\":\"2021-11-23\"}}\n"
            )
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    let quiet = trail_run(&[
        "append",
        "--log",
        arg(&site.log),
        "--key",
        arg(&site.key("iopc")),
        "--event",
        arg(&file),
        "--quiet",
    ]);
    assert_eq!(quiet.ok(), "");
    assert_eq!(site.count(), before + 3);
}
