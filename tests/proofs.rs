//! End-to-end tests of checkpoints, cosignatures, proofs and fork detection
//! on the real binary. Proofs are checked from copies of the files alone, in
//! a directory with no log.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;
use trail_core::merkle::{Checkpoint, Note};

/// A working directory with keys and a log in `log`.
struct Site {
    dir: TempDir,
    operator_vkey: String,
    witness_vkeys: Vec<String>,
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("trail")
        .unwrap()
        .current_dir(dir)
        .env_remove("TRAIL_LOG")
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn line_after(text: &str, prefix: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no {prefix:?} line in {text}"))
        .to_owned()
}

impl Site {
    fn run(&self, args: &[&str]) -> Output {
        run_in(self.dir.path(), args)
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "trail {args:?} failed: {}",
            stderr(&out)
        );
        stdout(&out)
    }

    fn fails(&self, code: i32, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "trail {args:?}: stdout {} stderr {}",
            stdout(&out),
            stderr(&out)
        );
        stderr(&out)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn keygen(&self, name: &str) -> String {
        self.ok(&["keygen", "--unencrypted", "--out", name])
            .trim()
            .to_owned()
    }

    fn grant(&self, log: &str, actor: &str, public_key: &str, role: &str) {
        self.ok(&[
            "grant",
            "--log",
            log,
            "--key",
            "admin.key",
            "--actor",
            actor,
            "--body",
            "Some body",
            "--public-key",
            public_key,
            "--role",
            role,
        ]);
    }

    /// Appends `n` grants of fresh issuer keys named `prefix-i`.
    fn grow(&self, log: &str, prefix: &str, n: usize) {
        for i in 0..n {
            let key = self.keygen(&format!("{prefix}-{i}.key"));
            self.grant(log, &format!("{prefix}-{i}"), &key, "issuer");
        }
    }

    /// Signs a checkpoint of `log` into `out`, remembering the operator key.
    fn checkpoint(&mut self, log: &str, out: &str) {
        let printed = self.ok(&["checkpoint", "--log", log, "--key", "op.key", "--out", out]);
        self.operator_vkey = line_after(&printed, "operator key: ");
    }

    fn cosign(&self, log: &str, witness: &str, checkpoint: &str, since: Option<&str>) -> Output {
        let key = format!("{witness}.key");
        let mut args = vec![
            "cosign",
            "--log",
            log,
            "--key",
            &key,
            "--checkpoint",
            checkpoint,
        ];
        if let Some(since) = since {
            args.extend(["--since", since]);
        }
        self.run(&args)
    }
}

/// A log with an operator, witnesses w1 and w2, and eight entries.
fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let mut site = Site {
        dir,
        operator_vkey: String::new(),
        witness_vkeys: Vec::new(),
    };
    site.keygen("admin.key");
    let op = site.keygen("op.key");
    let w1 = site.keygen("w1.key");
    let w2 = site.keygen("w2.key");
    site.ok(&[
        "init",
        "--log",
        "log",
        "--name",
        "Proof test",
        "--key",
        "admin.key",
    ]);
    site.grant("log", "op", &op, "operator");
    site.grant("log", "w1", &w1, "witness");
    site.grant("log", "w2", &w2, "witness");
    site.grow("log", "issuer", 4);
    site.checkpoint("log", "cp");
    for w in ["w1", "w2"] {
        let out = site.cosign("log", w, "cp", None);
        assert!(out.status.success(), "{}", stderr(&out));
        site.witness_vkeys
            .push(line_after(&stdout(&out), "witness key: "));
    }
    site
}

/// Runs verify-proof in a fresh directory holding only copies of `files`.
fn verify_elsewhere(site: &Site, files: &[(&str, &[u8])], extra: &[&str]) -> Output {
    let fresh = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(fresh.path().join(name), bytes).unwrap();
    }
    let mut args = vec!["verify-proof", "--operator-key", &site.operator_vkey];
    for w in &site.witness_vkeys {
        args.extend(["--witness-key", w]);
    }
    args.extend(extra);
    run_in(fresh.path(), &args)
}

fn read(site: &Site, name: &str) -> Vec<u8> {
    std::fs::read(site.path(name)).unwrap()
}

#[test]
fn inclusion_proof_verifies_from_files_alone() {
    let site = site();
    site.ok(&[
        "prove",
        "inclusion",
        "--log",
        "log",
        "--seq",
        "3",
        "--out",
        "p3",
        "--entry-out",
        "e3",
    ]);
    let proof = read(&site, "p3");
    let entry = read(&site, "e3");

    // The checkpoint is a C2SP signed note with both cosignatures.
    let note = Note::parse(&read(&site, "cp")).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(checkpoint.size().0, 8);
    assert!(checkpoint.origin().starts_with("trail/"));
    assert_eq!(note.signatures().len(), 3);

    let out = verify_elsewhere(
        &site,
        &[("p", &proof)],
        &["--proof", "p", "--witnesses", "2"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("ok: seq 3 (key_granted"), "{text}");
    assert!(text.contains("cosigned by w1, w2"), "{text}");

    let out = verify_elsewhere(
        &site,
        &[("p", &proof), ("e", &entry)],
        &["--proof", "p", "--entry", "e", "--json"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["type"], "included");
    assert_eq!(json["data"]["seq"], 3);
    assert_eq!(json["data"]["size"], 8);

    // Trusted keys may also come from files.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(fresh.path().join("p"), &proof).unwrap();
    std::fs::write(
        fresh.path().join("op.vkey"),
        format!("{}\n", site.operator_vkey),
    )
    .unwrap();
    std::fs::write(fresh.path().join("w.vkeys"), site.witness_vkeys.join("\n")).unwrap();
    let out = run_in(
        fresh.path(),
        &[
            "verify-proof",
            "--proof",
            "p",
            "--operator-key",
            "op.vkey",
            "--witness-key",
            "w.vkeys",
            "--witnesses",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Replaces the first occurrence of `from` in the file with `to`.
fn altered(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in {text}");
    text.replacen(from, to, 1).into_bytes()
}

fn flip_base64_char(line: &str, at: usize) -> String {
    let mut chars: Vec<char> = line.chars().collect();
    chars[at] = if chars[at] == 'A' { 'B' } else { 'A' };
    chars.into_iter().collect()
}

#[test]
fn tampered_proofs_and_short_quorums_are_rejected_with_exit_1() {
    let site = site();
    site.ok(&[
        "prove",
        "inclusion",
        "--log",
        "log",
        "--seq",
        "5",
        "--out",
        "p5",
    ]);
    let proof = read(&site, "p5");
    let text = String::from_utf8(proof.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let path_line = lines[3];
    let root_line = lines
        .iter()
        .position(|l| *l == "8")
        .map(|i| lines[i + 1])
        .unwrap();
    let operator_sig = lines
        .iter()
        .find(|l| l.starts_with("\u{2014} trail/"))
        .unwrap();
    let w1_sig = lines
        .iter()
        .find(|l| l.starts_with("\u{2014} w1 "))
        .unwrap();
    let other_root = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

    let cases: Vec<(&str, Vec<u8>, Vec<&str>, &str)> = vec![
        (
            "tampered path",
            altered(&proof, path_line, &flip_base64_char(path_line, 7)),
            vec![],
            "does not verify",
        ),
        (
            "wrong root",
            altered(&proof, root_line, other_root),
            vec![],
            "does not verify",
        ),
        (
            "wrong size",
            altered(&proof, "\n8\n", "\n9\n"),
            vec![],
            "does not verify",
        ),
        (
            "wrong index",
            altered(&proof, "index 5", "index 4"),
            vec![],
            "seq",
        ),
        (
            "forged operator signature",
            altered(&proof, operator_sig, &flip_base64_char(operator_sig, 90)),
            vec![],
            "does not verify",
        ),
        (
            "missing operator signature",
            altered(&proof, &format!("{operator_sig}\n"), ""),
            vec![],
            "no valid signature from a trusted operator key",
        ),
        (
            "quorum one short",
            altered(&proof, &format!("{w1_sig}\n"), ""),
            vec!["--witnesses", "2"],
            "only 1 of the 2 required witness cosignatures",
        ),
        (
            "forged witness cosignature",
            altered(&proof, w1_sig, &flip_base64_char(w1_sig, 40)),
            vec!["--witnesses", "1"],
            "w1",
        ),
    ];
    for (what, bytes, extra, message) in cases {
        let mut args = vec!["--proof", "p"];
        args.extend(extra);
        let out = verify_elsewhere(&site, &[("p", &bytes)], &args);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", stderr(&out));
        assert!(stderr(&out).contains(message), "{what}: {}", stderr(&out));
    }

    // The untouched proof passes with two witnesses but not with an unknown operator.
    let out = verify_elsewhere(
        &site,
        &[("p", &proof)],
        &["--proof", "p", "--witnesses", "2"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let mut stranger = site.operator_vkey.clone();
    let at = stranger.len() - 5;
    stranger = flip_base64_char(&stranger, at);
    let fresh = tempfile::tempdir().unwrap();
    std::fs::write(fresh.path().join("p"), &proof).unwrap();
    let out = run_in(
        fresh.path(),
        &["verify-proof", "--proof", "p", "--operator-key", &stranger],
    );
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn consistency_proofs_verify_and_tampering_is_rejected() {
    let mut site = site();
    std::fs::copy(site.path("cp"), site.path("old")).unwrap();
    site.grow("log", "late", 3);
    site.checkpoint("log", "new");
    let out = site.cosign("log", "w1", "new", Some("old"));
    assert!(out.status.success(), "{}", stderr(&out));
    site.ok(&[
        "prove",
        "consistency",
        "--log",
        "log",
        "--from",
        "old",
        "--to",
        "new",
        "--out",
        "c",
    ]);
    let proof = read(&site, "c");
    assert!(proof.starts_with(b"trail.consistency-proof@v1\n"));
    let out = verify_elsewhere(
        &site,
        &[("c", &proof)],
        &["--proof", "c", "--witnesses", "1"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("the tree of 8 entries is a prefix of the tree of 11 entries"));

    let text = String::from_utf8(proof.clone()).unwrap();
    let hash_line = text.lines().nth(1).unwrap();
    let bad = altered(&proof, hash_line, &flip_base64_char(hash_line, 3));
    let out = verify_elsewhere(&site, &[("c", &bad)], &["--proof", "c"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let out = verify_elsewhere(
        &site,
        &[("c", &proof)],
        &["--proof", "c", "--witnesses", "2"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("only 1 of the 2"), "{}", stderr(&out));

    // verify --since accepts the older checkpoint.
    let text = site.ok(&["verify", "--log", "log", "--since", "old"]);
    assert!(
        text.contains("extends the checkpoint of 8 entries"),
        "{text}"
    );
}

#[test]
fn a_fork_is_reported_as_one_by_verify_since_and_by_cosign() {
    let mut site = site();
    site.ok(&["export", "--log", "log", "--out", "prefix.bundle"]);
    site.ok(&["import", "--bundle", "prefix.bundle", "--log", "other"]);
    // The witness cosigned 8 entries (in `cp`). Both copies now grow apart.
    site.grow("log", "a", 2);
    site.grow("other", "b", 2);
    site.checkpoint("log", "a.cp");
    site.checkpoint("other", "b.cp");
    let out = site.cosign("log", "w1", "a.cp", Some("cp"));
    assert!(out.status.success(), "{}", stderr(&out));

    // Same size, different roots, both signed by the one operator key.
    let err = site.fails(1, &["verify", "--log", "other", "--since", "a.cp"]);
    assert!(err.contains("fork"), "{err}");
    site.ok(&["export", "--log", "other", "--out", "other.bundle"]);
    let err = site.fails(
        1,
        &["verify", "--bundle", "other.bundle", "--since", "a.cp"],
    );
    assert!(err.contains("fork"), "{err}");
    let out = site.run(&["verify", "--log", "other", "--since", "a.cp", "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["data"]["fork"], true);

    // The witness that cosigned a.cp refuses b.cp, however it is shown it.
    let out = site.cosign("other", "w1", "b.cp", Some("a.cp"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("fork"), "{}", stderr(&out));
    let out = site.cosign("log", "w1", "b.cp", Some("a.cp"));
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("fork"), "{}", stderr(&out));
    // The shared prefix is still fine for both.
    site.ok(&["verify", "--log", "other", "--since", "cp"]);
}

#[test]
fn usage_and_input_problems_exit_2() {
    let site = site();
    site.fails(
        2,
        &[
            "prove",
            "inclusion",
            "--log",
            "log",
            "--seq",
            "99",
            "--out",
            "x",
        ],
    );
    let err = site.fails(
        2,
        &[
            "checkpoint",
            "--log",
            "log",
            "--key",
            "w1.key",
            "--out",
            "x",
        ],
    );
    assert!(err.contains("operator role"), "{err}");
    let out = site.cosign("log", "op", "cp", None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("witness role"));
    let out = verify_elsewhere(&site, &[], &["--proof", "missing"]);
    assert_eq!(out.status.code(), Some(2));
    let proof_path = site.path("cp");
    let out = verify_elsewhere(
        &site,
        &[],
        &["--proof", proof_path.to_str().unwrap(), "--witnesses", "3"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn bundles_carry_the_cosigned_checkpoint_to_an_imported_copy() {
    let site = site();
    site.ok(&["export", "--log", "log", "--out", "log.bundle"]);
    let text = site.ok(&["verify", "--bundle", "log.bundle"]);
    assert!(text.contains("intact: 8 entries"), "{text}");
    // The auditor is told the carried checkpoint was checked, and what it covers.
    assert!(
        text.contains("checkpoint (tree size 8) is signed by the log's operator"),
        "{text}"
    );
    let json = site.ok(&["verify", "--bundle", "log.bundle", "--json"]);
    assert!(json.contains("\"checkpoint_size\":8"), "{json}");
    let plain = site.ok(&["verify", "--log", "log"]);
    assert!(!plain.contains("checkpoint"), "{plain}");
    site.ok(&["import", "--bundle", "log.bundle", "--log", "copy"]);
    // The copy proves against the checkpoint it received, cosignatures included.
    site.ok(&[
        "prove",
        "inclusion",
        "--log",
        "copy",
        "--seq",
        "2",
        "--out",
        "p2",
    ]);
    let proof = read(&site, "p2");
    let out = verify_elsewhere(
        &site,
        &[("p", &proof)],
        &["--proof", "p", "--witnesses", "2"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A checkpoint record altered inside the bundle is refused (exit 1).
    let bundle = read(&site, "log.bundle");
    let at = bundle.windows(3).position(|w| w == b"\n8\n").unwrap();
    let mut bad = bundle.clone();
    bad[at + 1] = b'7';
    std::fs::write(site.path("bad.bundle"), bad).unwrap();
    site.fails(1, &["verify", "--bundle", "bad.bundle"]);
}

#[test]
fn verify_proof_takes_the_entry_from_a_bundle_and_checks_a_trusted_checkpoint() {
    let mut site = site();
    site.ok(&["export", "--log", "log", "--out", "log.bundle"]);
    site.ok(&[
        "prove",
        "inclusion",
        "--log",
        "log",
        "--seq",
        "4",
        "--out",
        "p4",
    ]);
    let with_extra = String::from_utf8(read(&site, "p4")).unwrap();
    let bare: String = with_extra
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("extra "))
        .collect();
    let bundle = read(&site, "log.bundle");
    let cp = read(&site, "cp");
    let files: [(&str, &[u8]); 3] = [("p", bare.as_bytes()), ("b", &bundle), ("cp", &cp)];
    let out = verify_elsewhere(&site, &files, &["--proof", "p", "--bundle", "b"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok: seq 4"));
    let out = verify_elsewhere(&site, &files, &["--proof", "p"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no entry given: {}",
        stderr(&out)
    );
    let out = verify_elsewhere(
        &site,
        &files,
        &["--proof", "p", "--bundle", "b", "--checkpoint", "cp"],
    );
    assert!(out.status.success(), "{}", stderr(&out));

    // A proof against another history of the same size as a trusted checkpoint.
    site.ok(&["import", "--bundle", "log.bundle", "--log", "other"]);
    site.grow("log", "a", 1);
    site.grow("other", "b", 1);
    site.checkpoint("log", "a.cp");
    site.checkpoint("other", "b.cp");
    site.ok(&[
        "prove",
        "inclusion",
        "--log",
        "other",
        "--seq",
        "8",
        "--checkpoint",
        "b.cp",
        "--out",
        "pb",
    ]);
    let proof = read(&site, "pb");
    let a_cp = read(&site, "a.cp");
    let out = verify_elsewhere(
        &site,
        &[("p", &proof), ("a.cp", &a_cp)],
        &["--proof", "p", "--checkpoint", "a.cp"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("fork"), "{}", stderr(&out));
    // prove refuses a checkpoint the log does not extend.
    let err = site.fails(
        1,
        &[
            "prove",
            "inclusion",
            "--log",
            "other",
            "--seq",
            "1",
            "--checkpoint",
            "a.cp",
            "--out",
            "x",
        ],
    );
    assert!(err.contains("fork"), "{err}");
}
