//! Damage to any file of a log directory is located (issue 12): one byte is
//! flipped at each of 200 random offsets across every file of a 100-entry
//! log, one flip per copy, and for every copy `trail verify --log` either
//! passes (the byte was unused), or names the first affected seq (and
//! `trail export --partial` then rescues every entry before it), or names
//! the damaged derived data and says to run `trail repair`, after which the
//! log verifies whole. It never panics, hangs, or says only "corruption".

mod common;
#[path = "../crates/core/tests/common/segments.rs"]
mod segments;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{arg, assert_clean_error, trail, trail_run};
use trail_core::event::{AccountabilitySession, KeyGranted};
use trail_core::{Day, Event, Id, Log, Role, SecretKey};

const ENTRIES: u64 = 100;
const FLIPS: usize = 200;

/// A 100-entry log, closed, with a search text beside it.
fn pristine(dir: &Path) -> PathBuf {
    let log_dir = dir.join("log");
    let admin = SecretKey::from_seed(&[1; 32]);
    let funder = SecretKey::from_seed(&[2; 32]);
    let log = Log::create(
        &log_dir,
        "damage",
        &admin,
        Id::new("admin").unwrap(),
        "Admin",
    )
    .unwrap();
    let date = Day::new(2022, 1, 1).unwrap();
    log.append(
        &admin,
        Event::KeyGranted(KeyGranted {
            actor: Id::new("pcc").unwrap(),
            body: "PCC".into(),
            public_key: funder.public_key(),
            roles: vec![Role::Funder],
            date,
        }),
    )
    .unwrap();
    for batch in 0..7 {
        let sessions = (0..14)
            .map(|n| {
                Event::AccountabilitySession(AccountabilitySession {
                    forum: format!("Board {batch}-{n}"),
                    recs: vec![],
                    notes: Some(format!("Minutes of meeting {batch}-{n}")),
                    date,
                })
            })
            .collect();
        log.append_all(&funder, sessions).unwrap();
    }
    assert_eq!(log.tree_size(), ENTRIES);
    drop(log);
    trail_run(&["search", "--log", arg(&log_dir), "Minutes"]).ok();
    log_dir
}

/// Every non-empty file under `dir`, with its size.
fn files(dir: &Path) -> Vec<(PathBuf, usize)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            out.extend(files(&entry.path()));
        } else {
            let len = entry.metadata().unwrap().len() as usize;
            if len > 0 {
                out.push((entry.path(), len));
            }
        }
    }
    out.sort();
    out
}

/// A small deterministic generator (xorshift64*): the run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// The seq whose frame (or, for the header, whose segment) holds `offset`.
fn seq_at(segment: &[u8], offset: usize) -> u64 {
    let first = u64::from_be_bytes(segment[16..24].try_into().unwrap());
    if offset < segments::HEADER_LEN {
        return first;
    }
    segments::frames(segment)
        .iter()
        .find(|f| (f.start..f.end).contains(&offset))
        .expect("every byte past the header is in a frame")
        .seq
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let started = Instant::now();
    let out = trail()
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "trail {args:?} hung"
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("panicked"),
        "trail {args:?} panicked: {stderr}"
    );
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    }
}

fn verifies_whole(log: &Path) -> bool {
    let r = run(&["verify", "--log", arg(log)]);
    r.code == Some(0) && r.stdout.contains(&format!("intact: {ENTRIES} entries"))
}

#[derive(Default, Debug)]
struct Counts {
    passed: usize,
    named_seq: usize,
    derived_noted: usize,
    derived_refused: usize,
}

#[test]
fn a_flipped_byte_in_any_file_is_located_and_every_intact_entry_is_rescued() {
    let dir = tempfile::tempdir().unwrap();
    let log = pristine(dir.path());
    let all = files(&log);
    let names: Vec<String> = all
        .iter()
        .map(|(p, _)| p.strip_prefix(&log).unwrap().display().to_string())
        .collect();
    for needed in [
        "TRAIL_LOG",
        "segments/0000000000.seg",
        "segments/durable",
        "db",
        "conf",
    ] {
        assert!(names.iter().any(|n| n == needed), "{needed} in {names:?}");
    }
    let segment = std::fs::read(segments::segment_path(&log, 0)).unwrap();
    let frames = segments::frames(&segment);
    assert_eq!(frames.len() as u64, ENTRIES);
    let total: usize = all.iter().map(|(_, len)| len).sum();
    let seed = 0x0072_6169_6c2d_3132;
    let mut rng = Rng(seed);
    // The files in turn, each at random offsets: sled's mostly empty data
    // file would otherwise take nearly every flip.
    let flips: Vec<(usize, usize)> = (0..FLIPS)
        .map(|n| {
            let file = n % all.len();
            (file, rng.below(all[file].1))
        })
        .collect();
    let mut counts = Counts::default();
    let mut per_file: std::collections::BTreeMap<&str, usize> = Default::default();
    for (n, &(file, offset)) in flips.iter().enumerate() {
        let (path, _) = &all[file];
        let name = names[file].as_str();
        *per_file.entry(name).or_default() += 1;
        let copy = dir.path().join(format!("copy{n}"));
        common::copy_tree(&log, &copy);
        let target = copy.join(name);
        let mut bytes = std::fs::read(path).unwrap();
        bytes[offset] ^= 1 + (rng.next() % 255) as u8;
        std::fs::write(&target, &bytes).unwrap();
        let what = format!("flip {n}: {name} at {offset}");
        let verified = run(&["verify", "--log", arg(&copy)]);
        if name.starts_with("segments/") && name.ends_with(".seg") {
            // Every byte of a segment is an entry's, or its frame's.
            let seq = seq_at(&segment, offset);
            assert_eq!(verified.code, Some(1), "{what}: {}", verified.stderr);
            assert_clean_error(&verified.stderr);
            assert!(
                verified.stderr.contains(&format!("seq {seq}: ")),
                "{what}: must name seq {seq}: {}",
                verified.stderr
            );
            let out = copy.join("rescued.trail");
            let rescued = run(&[
                "export",
                "--log",
                arg(&copy),
                "--out",
                arg(&out),
                "--partial",
            ]);
            assert_eq!(rescued.code, Some(1), "{what}: {}", rescued.stderr);
            if seq == 0 {
                // Nothing precedes the genesis: no bundle, and a clear line.
                assert!(!out.exists(), "{what}");
                assert_clean_error(&rescued.stderr);
                counts.named_seq += 1;
                continue;
            }
            let saved = trail_core::bundle::verify_file(&out).unwrap();
            assert_eq!(saved.len(), seq, "{what}: every entry before it is rescued");
            if let Some(last) = seq.checked_sub(1) {
                let entry = trail_core::Entry::from_bytes(&frames[last as usize].bytes).unwrap();
                assert_eq!(saved.head_hash(), entry.hash(), "{what}: rescued as it was");
            }
            counts.named_seq += 1;
            continue;
        }
        let says_repair = |text: &str| text.contains("trail repair --log");
        match verified.code {
            Some(0)
                if verified
                    .stdout
                    .contains(&format!("intact: {ENTRIES} entries")) =>
            {
                if says_repair(&verified.stderr) {
                    counts.derived_noted += 1;
                } else {
                    assert!(verified.stderr.is_empty(), "{what}: {}", verified.stderr);
                    counts.passed += 1;
                    continue;
                }
            }
            Some(1 | 2) => {
                assert_clean_error(&verified.stderr);
                assert!(
                    !verified.stderr.contains("seq "),
                    "{what}: derived data is not an entry: {}",
                    verified.stderr
                );
                assert!(
                    says_repair(&verified.stderr),
                    "{what}: must name the damage and say how to mend it: {}",
                    verified.stderr
                );
                counts.derived_refused += 1;
            }
            other => panic!("{what}: verify ended with {other:?}: {}", verified.stderr),
        }
        // The advice works.
        let repaired = run(&["repair", "--log", arg(&copy)]);
        assert_eq!(
            repaired.code,
            Some(0),
            "{what}: repair: {}",
            repaired.stderr
        );
        assert!(verifies_whole(&copy), "{what}: verifies whole after repair");
        std::fs::remove_dir_all(&copy).unwrap();
    }
    eprintln!(
        "{} flips over {} files ({total} bytes; seed {seed:#x}): {} passed (unused byte), \
         {} named the first damaged seq and rescued every entry before it, {} read the \
         entries past damaged derived data and said to repair it, {} refused and said to \
         repair; flips per file: {per_file:?}",
        flips.len(),
        all.len(),
        counts.passed,
        counts.named_seq,
        counts.derived_noted,
        counts.derived_refused,
    );
    assert!(flips.len() >= FLIPS);
    assert!(counts.named_seq > 0, "{counts:?}");
}

#[test]
fn a_missing_or_cut_segment_is_named_and_what_precedes_it_is_rescued() {
    let dir = tempfile::tempdir().unwrap();
    let log = pristine(dir.path());
    let segment = std::fs::read(segments::segment_path(&log, 0)).unwrap();
    let frames = segments::frames(&segment);
    // Cut at a frame boundary: the durable record still counts 100.
    let copy = dir.path().join("cut");
    common::copy_tree(&log, &copy);
    std::fs::write(
        segments::segment_path(&copy, 0),
        &segment[..frames[40].start],
    )
    .unwrap();
    let verified = run(&["verify", "--log", arg(&copy)]);
    assert_eq!(verified.code, Some(1), "{}", verified.stderr);
    assert!(
        verified.stderr.contains("seq 40: entry is missing"),
        "{}",
        verified.stderr
    );
    let out = copy.join("rescued.trail");
    run(&[
        "export",
        "--log",
        arg(&copy),
        "--out",
        arg(&out),
        "--partial",
    ]);
    assert_eq!(trail_core::bundle::verify_file(&out).unwrap().len(), 40);
    // Without its segments a log is not a log.
    let copy = dir.path().join("gone");
    common::copy_tree(&log, &copy);
    std::fs::remove_dir_all(copy.join("segments")).unwrap();
    let verified = run(&["verify", "--log", arg(&copy)]);
    assert_eq!(verified.code, Some(2), "{}", verified.stderr);
    assert_clean_error(&verified.stderr);
}

#[test]
fn repair_rebuilds_what_is_derived_and_the_log_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let log = pristine(dir.path());
    assert!(log.join("search.text").is_file());
    let out = trail_run(&["repair", "--log", arg(&log)]).ok().to_owned();
    assert!(
        out.starts_with(&format!(
            "repaired {}: {ENTRIES} entries verified from the genesis; rebuilt the head record, the Merkle tree",
            log.display()
        )),
        "{out}"
    );
    assert!(
        !log.join("search.text").exists(),
        "the search text is dropped"
    );
    assert!(verifies_whole(&log));
    let found = trail_run(&["search", "--log", arg(&log), "Minutes"])
        .ok()
        .to_owned();
    assert!(
        found.contains("entries match"),
        "search works again: {found}"
    );
    // sled's files removed altogether: rebuilt from the segments.
    for name in ["db", "conf"] {
        std::fs::remove_file(log.join(name)).unwrap();
    }
    let json = trail_run(&["repair", "--log", arg(&log), "--json"])
        .ok()
        .to_owned();
    let line: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(line["type"], "repaired");
    assert_eq!(line["data"]["entries"], ENTRIES);
    assert!(verifies_whole(&log));
}
