//! Helpers shared by the end-to-end tests: running the real `trail` binary,
//! setting up keys and logs in temporary directories, counting entries, and
//! taking bundles apart and putting them back together.

// Each test file is its own crate and uses a different subset of these helpers.
#![allow(dead_code)]

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use assert_cmd::Command;
use tempfile::TempDir;
use trail_core::{Event, PublicKey, SecretKey};

pub mod browser;
pub mod served;

/// The `trail` binary built from this package, with a clean environment for
/// the variables that change its behaviour.
pub fn trail() -> Command {
    let mut cmd = Command::cargo_bin("trail").expect("the trail binary is built");
    cmd.env_remove("TRAIL_LOG")
        .env_remove("TRAIL_PASSPHRASE")
        .env_remove("RUST_BACKTRACE");
    cmd
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    /// Exit code (None if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "expected success: {self:#?}");
        assert!(self.stderr.is_empty(), "stderr on success: {self:#?}");
        &self.stdout
    }

    /// Asserts that the run failed with `code` and a short, plain stderr message
    /// containing every one of `needles`; returns the message.
    #[track_caller]
    pub fn fails(&self, code: i32, needles: &[&str]) -> &str {
        assert_eq!(self.code, Some(code), "wrong exit code: {self:#?}");
        assert_clean_error(&self.stderr);
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr does not mention {needle:?}: {:?}",
                self.stderr
            );
        }
        &self.stderr
    }
}

/// Asserts that stderr is one plain line from trail: no panic, no backtrace
/// hint, no Debug dump.
#[track_caller]
pub fn assert_clean_error(stderr: &str) {
    assert!(!stderr.contains("panicked"), "panic on stderr: {stderr}");
    assert!(
        !stderr.contains("RUST_BACKTRACE"),
        "backtrace hint: {stderr}"
    );
    assert!(
        !stderr.contains("Error {") && !stderr.contains("kind:"),
        "Debug dump on stderr: {stderr}"
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr: {stderr:?}");
    assert!(
        lines[0].starts_with("trail: "),
        "error line should start with `trail: `: {stderr:?}"
    );
    assert!(
        lines[0].len() > "trail: ".len() + 5,
        "empty message: {stderr:?}"
    );
}

/// Runs `cmd` (optionally feeding stdin) and collects what it did.
pub fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Run {
    if let Some(input) = stdin {
        cmd.write_stdin(input.to_vec());
    }
    let out = cmd.output().expect("trail runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `trail ARGS...`.
pub fn trail_run(args: &[&str]) -> Run {
    let mut cmd = trail();
    cmd.args(args);
    run(cmd, None)
}

/// Turns a path into an argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// One `show --json` line, with its envelope, as documented.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    /// Record type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Record body.
    pub data: serde_json::Value,
}

/// Every entry of the log at `log`, as `show --json` prints them.
#[track_caller]
pub fn show_json(log: &Path) -> Vec<serde_json::Value> {
    let out = trail_run(&["show", "--log", arg(log), "--json"]);
    out.ok()
        .lines()
        .map(|line| {
            let env: Envelope = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("show --json line is not an envelope ({e}): {line}"));
            assert_eq!(env.kind, "entry", "{line}");
            env.data
        })
        .collect()
}

/// How many entries the log at `log` holds, according to `show --json`.
#[track_caller]
pub fn entry_count(log: &Path) -> usize {
    show_json(log).len()
}

/// The 32-byte seed made of one repeated byte, as docs/FORMAT.md's vectors use.
pub fn seed(byte: u8) -> SecretKey {
    SecretKey::from_seed(&[byte; 32])
}

/// One signer set up in a [`Site`].
pub struct Signer {
    /// Actor id.
    pub actor: &'static str,
    /// Seed byte of its key.
    pub seed: u8,
    /// Role names granted (none for the genesis admin, whom `init` makes admin).
    pub roles: &'static [&'static str],
}

/// The signers every [`Site`] has: one per role, plus a second respondent so
/// that "not addressed to you" can be tested.
pub const SIGNERS: &[Signer] = &[
    Signer {
        actor: "admin",
        seed: 1,
        roles: &[],
    },
    Signer {
        actor: "iopc",
        seed: 2,
        roles: &["issuer"],
    },
    Signer {
        actor: "syp",
        seed: 3,
        roles: &["respondent"],
    },
    Signer {
        actor: "pcc",
        seed: 4,
        roles: &["funder"],
    },
    Signer {
        actor: "hmicfrs",
        seed: 5,
        roles: &["assessor"],
    },
    Signer {
        actor: "college",
        seed: 6,
        roles: &["respondent"],
    },
];

/// A temporary directory with a key file per signer (mode 0600) and a log
/// `log/` holding: genesis, a grant per signer, report REP-1, recommendation
/// REC-1 addressed to syp and REC-2 addressed to college (9 entries).
pub struct Site {
    /// Keeps the directory alive.
    pub tmp: TempDir,
    /// The log directory.
    pub log: PathBuf,
}

/// Builds the standard site's log once per test binary with the real binary,
/// so each [`Site`] is a copy of a finished directory. (Building it in this
/// process through the library would leave sled's file lock held for a
/// moment after the `Log` is dropped, and the binary could find it busy.)
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let tmp = tempfile::tempdir().expect("temp dir");
            let dir = tmp.path();
            for s in SIGNERS {
                seed(s.seed)
                    .write_new_file(&dir.join(format!("{}.key", s.actor)))
                    .expect("key file");
            }
            let log = dir.join("log");
            let admin_key = dir.join("admin.key");
            trail_run(&[
                "init",
                "--log",
                arg(&log),
                "--name",
                "test log",
                "--key",
                arg(&admin_key),
            ])
            .ok();
            for s in SIGNERS.iter().filter(|s| !s.roles.is_empty()) {
                let public = seed(s.seed).public_key().to_string();
                let body = format!("Body of {}", s.actor);
                let mut args = vec![
                    "grant",
                    "--log",
                    arg(&log),
                    "--key",
                    arg(&admin_key),
                    "--actor",
                    s.actor,
                    "--body",
                    &body,
                    "--public-key",
                    &public,
                    "--date",
                    "2021-11-01",
                ];
                for role in s.roles {
                    args.extend(["--role", role]);
                }
                trail_run(&args).ok();
            }
            let setup = [
                serde_json::json!({"type": "report_published", "report": "REP-1",
                    "title": "A report", "date": "2021-11-23"}),
                serde_json::json!({"type": "recommendation_issued", "rec": "REC-1",
                    "report": "REP-1", "addressees": ["syp"], "subject": "Training",
                    "date": "2021-11-23"}),
                serde_json::json!({"type": "recommendation_issued", "rec": "REC-2",
                    "report": "REP-1", "addressees": ["college"], "subject": "Guidance",
                    "date": "2021-11-23"}),
            ];
            let lines: String = setup.iter().map(|e| format!("{e}\n")).collect();
            let file = dir.join("setup.jsonl");
            fs::write(&file, lines).expect("setup events");
            let key = dir.join("iopc.key");
            trail_run(&[
                "append",
                "--log",
                arg(&log),
                "--key",
                arg(&key),
                "--event",
                arg(&file),
            ])
            .ok();
            fs::remove_file(file).expect("remove setup events");
            tmp
        })
        .path()
}

/// Copies a directory tree, keeping file modes (key files stay 0600).
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("create dir");
    for entry in fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

impl Site {
    /// A fresh copy of the standard site.
    pub fn new() -> Site {
        let tmp = tempfile::tempdir().expect("temp dir");
        copy_tree(template(), tmp.path());
        let log = tmp.path().join("log");
        Site { tmp, log }
    }

    /// A path inside the site's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Writes the key file of `actor` (from seed `byte`) if it is missing, and
    /// grants that key `role` for `actor` in `log` (dated 2021-11-01, before
    /// every event the tests record); returns the key file.
    pub fn grant_key(&self, log: &Path, actor: &str, byte: u8, role: &str) -> PathBuf {
        let key = self.key(actor);
        if !key.exists() {
            seed(byte).write_new_file(&key).expect("key file");
        }
        let public = seed(byte).public_key().to_string();
        let body = format!("Body of {actor}");
        trail_run(&[
            "grant",
            "--log",
            arg(log),
            "--key",
            arg(&self.key("admin")),
            "--actor",
            actor,
            "--body",
            &body,
            "--public-key",
            &public,
            "--role",
            role,
            "--date",
            "2021-11-01",
        ])
        .ok();
        key
    }

    /// Signs a checkpoint of `log` with the operator key file `key` into
    /// `out`; returns the operator's verifier key that `trail checkpoint` prints.
    pub fn checkpoint(&self, log: &Path, key: &Path, out: &Path) -> String {
        let signed = trail_run(&[
            "checkpoint",
            "--log",
            arg(log),
            "--key",
            arg(key),
            "--out",
            arg(out),
        ]);
        printed_key(signed.ok(), "operator key")
    }

    /// The key file of `actor`.
    pub fn key(&self, actor: &str) -> PathBuf {
        self.path(&format!("{actor}.key"))
    }

    /// The public key of `actor`, as hex.
    pub fn public(&self, actor: &str) -> String {
        let s = SIGNERS
            .iter()
            .find(|s| s.actor == actor)
            .unwrap_or_else(|| panic!("no signer {actor}"));
        seed(s.seed).public_key().to_string()
    }

    /// Runs `trail append` signed by `actor` with `text` as the event file.
    pub fn append_text(&self, actor: &str, text: &str) -> Run {
        let file = self.path("event.json");
        fs::write(&file, text).expect("write event file");
        trail_run(&[
            "append",
            "--log",
            arg(&self.log),
            "--key",
            arg(&self.key(actor)),
            "--event",
            arg(&file),
        ])
    }

    /// Runs `trail append` signed by `actor` with one JSON event.
    pub fn append(&self, actor: &str, event: &serde_json::Value) -> Run {
        self.append_text(actor, &event.to_string())
    }

    /// syp accepts REC-1 with a target of 2022-12-31, then claims it
    /// implemented on 2022-06-01 with `narrative`.
    pub fn accept_and_claim_rec1(&self, narrative: &str) {
        self.append(
            "syp",
            &serde_json::json!({"type": "response_recorded", "rec": "REC-1", "position": "accepted",
                "actions": "Train every officer", "target": "2022-12-31", "date": "2022-01-10"}),
        )
        .ok();
        self.append(
            "syp",
            &serde_json::json!({"type": "progress_claim", "rec": "REC-1", "status": "implemented",
                "subject": "syp", "narrative": narrative, "date": "2022-06-01"}),
        )
        .ok();
    }

    /// The number of entries in the site's log.
    pub fn count(&self) -> usize {
        entry_count(&self.log)
    }
}

/// Issues recommendations `{tag}-{i}` for each `i` of `range` under REP-1,
/// addressed to syp, in one batch signed by iopc.
pub fn issue_recommendations(site: &Site, tag: &str, range: Range<usize>) {
    let lines: String = range
        .map(|i| {
            format!(
                "{{\"type\":\"recommendation_issued\",\"rec\":\"{tag}-{i}\",\"report\":\"REP-1\",\
                 \"addressees\":[\"syp\"],\"subject\":\"Subject {i}\",\"date\":\"2021-11-23\"}}\n"
            )
        })
        .collect();
    site.append_text("iopc", &lines).ok();
}

/// The key a command printed on a line `{label}: <key>`, e.g. the operator
/// key `trail checkpoint` prints.
#[track_caller]
pub fn printed_key(output: &str, label: &str) -> String {
    let prefix = format!("{label}: ");
    output
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {label:?} line in: {output}"))
        .trim()
        .to_owned()
}

/// Parses an event from its JSON form, panicking on a test's own mistake.
#[track_caller]
pub fn event(value: &serde_json::Value) -> Event {
    Event::from_json(&value.to_string()).unwrap_or_else(|e| panic!("bad test event {value}: {e}"))
}

/// The seq printed by `trail append` on a line `seq N HASH`.
#[track_caller]
pub fn appended_seqs(stdout: &str) -> Vec<u64> {
    stdout
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            assert_eq!(parts.next(), Some("seq"), "unexpected append output: {l}");
            let seq = parts.next().and_then(|s| s.parse().ok());
            let hash = parts.next().expect("a hash after the seq");
            assert_eq!(hash.len(), 64, "hash should be 64 hex digits: {l}");
            seq.unwrap_or_else(|| panic!("no seq in {l}"))
        })
        .collect()
}

// ---- Bundles, laid out as docs/FORMAT.md ("Bundle") says ----

/// Bundle magic.
pub const MAGIC: &[u8; 8] = b"TRAILBDL";
/// Entry record tag.
pub const TAG_ENTRY: u8 = 0x01;
/// End record tag.
pub const TAG_END: u8 = 0xff;
/// Bytes before the first record: magic and u16 version.
pub const HEADER_LEN: usize = 10;
/// Bytes of a record's tag and length.
pub const RECORD_HEAD_LEN: usize = 5;

/// One record's place in a bundle.
#[derive(Clone, Debug)]
pub struct Record {
    /// Its tag.
    pub tag: u8,
    /// Where the record starts (its tag byte).
    pub start: usize,
    /// Its payload's byte range.
    pub payload: Range<usize>,
}

/// Splits a bundle into records, checking the header and framing.
#[track_caller]
pub fn parse_bundle(bytes: &[u8]) -> Vec<Record> {
    assert_eq!(&bytes[..8], MAGIC, "magic");
    assert_eq!(u16::from_le_bytes([bytes[8], bytes[9]]), 1, "version");
    let mut at = HEADER_LEN;
    let mut records = Vec::new();
    while at < bytes.len() {
        let tag = bytes[at];
        let len = u32::from_le_bytes(bytes[at + 1..at + 5].try_into().expect("4 bytes")) as usize;
        let payload = at + RECORD_HEAD_LEN..at + RECORD_HEAD_LEN + len;
        assert!(payload.end <= bytes.len(), "record runs past the end");
        records.push(Record {
            tag,
            start: at,
            payload: payload.clone(),
        });
        at = payload.end;
    }
    let last = records.last().expect("at least one record");
    assert_eq!(last.tag, TAG_END, "last record is the end record");
    assert!(
        records[..records.len() - 1]
            .iter()
            .all(|r| r.tag == TAG_ENTRY),
        "every other record is an entry"
    );
    records
}

/// The canonical bytes of each entry in a bundle, in order.
pub fn bundle_entries(bytes: &[u8]) -> Vec<Vec<u8>> {
    parse_bundle(bytes)
        .iter()
        .filter(|r| r.tag == TAG_ENTRY)
        .map(|r| bytes[r.payload.clone()].to_vec())
        .collect()
}

/// Writes a bundle from entry bytes, with an end record that matches them
/// (count and the hash of the last entry's bytes), as a forger would.
pub fn make_bundle(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&1u16.to_le_bytes());
    for e in entries {
        out.push(TAG_ENTRY);
        out.extend_from_slice(&(e.len() as u32).to_le_bytes());
        out.extend_from_slice(e);
    }
    let last = entries
        .last()
        .map(|e| trail_core::entry_hash(e).0)
        .unwrap_or([0; 32]);
    out.push(TAG_END);
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(entries.len() as u64).to_le_bytes());
    out.extend_from_slice(&last);
    out
}

/// Verifies bundle bytes in memory with the library.
pub fn verify_bytes(bytes: &[u8]) -> trail_core::Result<trail_core::Verifier> {
    trail_core::bundle::verify_reader(bytes, |_, _| Ok(()))
}

/// The secret key for a public key, among the seeds 1..=16 the tests use.
pub fn key_for(public: &PublicKey) -> SecretKey {
    (1..=16u8)
        .map(seed)
        .find(|k| k.public_key() == *public)
        .expect("a key made from a test seed")
}
