//! Disk failures during append: a full disk or a read-only log directory
//! gives one clear error and leaves the log as it was (it verifies, with the
//! same head), and the log is usable again once the disk is.
//!
//! A full disk needs a small filesystem: the test mounts a 1 MiB tmpfs, which
//! works where the tests run as root with mount rights (as CI does here). A
//! read-only directory is made with chmod when not root (root ignores
//! permissions), else by remounting such a tmpfs read-only. A test that can
//! do neither prints why and passes without checking.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use common::*;
use serde_json::json;

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. "1m") at `dir`, or says why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        fs::create_dir_all(dir).unwrap();
        let out = Process::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs {
            dir: dir.to_owned(),
        })
    }

    /// Remounts it read-only (`true`) or read-write.
    fn set_read_only(&self, read_only: bool) {
        let how = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        let status = Process::new("mount")
            .args(["-o", how])
            .arg(&self.dir)
            .status()
            .unwrap();
        assert!(status.success(), "mount -o {how} failed");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Process::new("umount").arg(&self.dir).status();
    }
}

/// Copies the site's log directory to `to`.
fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The last entry's hash, as `show --json` gives it.
fn head_hash(log: &Path) -> String {
    let entries = show_json(log);
    entries.last().unwrap()["hash"].as_str().unwrap().to_owned()
}

/// `trail append` of one claim by syp to `log`, stopped if it hangs.
fn append_claim(site: &Site, log: &Path, n: usize) -> Run {
    let file = site.path("claim.json");
    let claim = json!({"type": "progress_claim", "rec": "REC-1", "subject": "syp",
        "status": "in_progress", "narrative": format!("Step {n} {}", "x".repeat(200)),
        "date": "2022-01-10"});
    fs::write(&file, claim.to_string()).unwrap();
    let mut cmd = trail();
    cmd.args(["append", "--log", arg(log), "--key", arg(&site.key("syp"))])
        .args(["--event", arg(&file)])
        .timeout(Duration::from_secs(60));
    run(cmd, None)
}

/// The hash an append printed (`seq N HASH`).
fn printed_hash(run: &Run) -> String {
    run.ok().split_whitespace().nth(2).unwrap().to_owned()
}

/// Fills the filesystem holding `dir` with one file, until it is full.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 4096];
    while file.write_all(&chunk).is_ok() {}
    // Whatever part of the last chunk did fit stays; a flush error is expected.
    let _ = file.sync_all();
    path
}

#[test]
fn a_full_disk_refuses_the_append_and_keeps_the_log() {
    let site = Site::new();
    let mount = match Tmpfs::mount(&site.path("small"), "1m") {
        Ok(m) => m,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "no small filesystem can be made ({why}), and CI is set: .ci/run runs as root"
            );
            println!("skipped: no small filesystem can be made here ({why})");
            return;
        }
    };
    let log = mount.dir.join("log");
    copy_dir(&site.log, &log);
    let mut count = entry_count(&log);
    let mut head = head_hash(&log);
    let filler = fill(&mount.dir);

    // sled may still have room in a page it already holds, so some appends
    // can succeed; each acknowledged one must stay, and one must fail.
    let mut refused = None;
    for n in 0..50 {
        let out = append_claim(&site, &log, n);
        if out.code == Some(0) {
            head = printed_hash(&out);
            count += 1;
            continue;
        }
        refused = Some(out);
        break;
    }
    let refused = refused.expect("an append on a full disk must fail");
    refused.fails(2, &["No space left on device"]);

    // Still full: sled writes a snapshot when it opens a store, so even a
    // read may be refused, but only ever as a full disk, never as damage
    // (sled leaves a cut-short snapshot file behind; see crates/core/src/store/mod.rs).
    for _ in 0..3 {
        let during = trail_run(&["verify", "--log", arg(&log)]);
        if during.code != Some(0) {
            during.fails(2, &["No space left on device"]);
        }
        assert!(!during.stderr.contains("damaged"), "{during:#?}");
    }

    // With space again, the log verifies and ends where it did.
    fs::remove_file(filler).unwrap();
    trail_run(&["verify", "--log", arg(&log)]).ok();
    assert_eq!(entry_count(&log), count, "the refused entry is not there");
    assert_eq!(
        head_hash(&log),
        head,
        "the head is the last acknowledged entry"
    );
    let next = append_claim(&site, &log, 1000);
    next.ok();
    assert_eq!(entry_count(&log), count + 1);
    trail_run(&["verify", "--log", arg(&log)]).ok();
}

/// Makes every file and directory under `dir` read-only (or writable again).
fn chmod_tree(dir: &Path, writable: bool) {
    use std::os::unix::fs::PermissionsExt;
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            chmod_tree(&path, writable);
        } else {
            let mode = if writable { 0o644 } else { 0o444 };
            fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    let mode = if writable { 0o755 } else { 0o555 };
    fs::set_permissions(dir, fs::Permissions::from_mode(mode)).unwrap();
}

/// Whether chmod stops this process writing (it does not for root).
fn permissions_bind_us(dir: &Path) -> bool {
    let probe = dir.join("probe");
    fs::create_dir_all(&probe).unwrap();
    chmod_tree(&probe, false);
    let bound = fs::write(probe.join("file"), b"x").is_err();
    chmod_tree(&probe, true);
    bound
}

/// An append to `log` fails clearly while it is read-only, and changes nothing.
fn append_is_refused_and_changes_nothing(
    site: &Site,
    log: &Path,
    make_read_only: impl FnOnce(),
    make_writable: impl FnOnce(),
    message: &str,
) {
    let count = entry_count(log);
    let head = head_hash(log);
    make_read_only();
    append_claim(site, log, 1).fails(2, &[arg(log), message]);
    make_writable();
    trail_run(&["verify", "--log", arg(log)]).ok();
    assert_eq!(entry_count(log), count);
    assert_eq!(head_hash(log), head);
    append_claim(site, log, 2).ok();
    assert_eq!(entry_count(log), count + 1);
}

#[test]
fn a_read_only_log_directory_refuses_the_append_and_keeps_the_log() {
    let site = Site::new();
    if permissions_bind_us(&site.path("check")) {
        append_is_refused_and_changes_nothing(
            &site,
            &site.log,
            || chmod_tree(&site.log, false),
            || chmod_tree(&site.log, true),
            "Permission denied",
        );
        return;
    }
    // Root ignores permissions: make the filesystem itself read-only.
    let mount = match Tmpfs::mount(&site.path("ro"), "4m") {
        Ok(m) => m,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "no read-only filesystem can be mounted ({why}), and CI is set: .ci/run runs as root"
            );
            println!(
                "skipped: running as root, so chmod cannot make a directory read-only, \
                 and no filesystem can be mounted read-only ({why})"
            );
            return;
        }
    };
    let log = mount.dir.join("log");
    copy_dir(&site.log, &log);
    append_is_refused_and_changes_nothing(
        &site,
        &log,
        || mount.set_read_only(true),
        || mount.set_read_only(false),
        "Read-only file system",
    );
}
