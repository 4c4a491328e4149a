//! `trail publish` writes C2SP tlog-tiles that an independent verifier
//! reads: Go's golang.org/x/mod/sumdb/note and tlog (Debian's
//! golang-go and golang-golang-x-mod-dev, installed by .ci/run) check the
//! checkpoint, the hash tiles, entries from the entry bundles and
//! consistency between two publishes; `trail serve` serves the same bytes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::served::{Served, grant_operator};
use common::{Site, arg, trail_run};

/// Builds tests/go/tlogcheck with Go in GOPATH mode against Debian's copy
/// of golang.org/x/mod.
fn tlogcheck(site: &Site) -> PathBuf {
    let bin = site.path("tlogcheck");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/tlogcheck/main.go");
    let built = Command::new("go")
        .args(["build", "-o", arg(&bin), arg(&source)])
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            format!("{}:/usr/share/gocode", site.path("gopath").display()),
        )
        .env("GOCACHE", site.path("gocache"))
        .output()
        .expect("go is installed (.ci/run installs golang-go and golang-golang-x-mod-dev)");
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );
    bin
}

fn go_check(bin: &Path, dir: &Path, vkey: &str, old: Option<&Path>) -> std::process::Output {
    let mut cmd = Command::new(bin);
    cmd.args([arg(dir), vkey]);
    if let Some(old) = old {
        cmd.arg(old);
    }
    cmd.output().expect("run tlogcheck")
}

/// Appends `n` new recommendations in one batch.
fn grow(site: &Site, from: usize, n: usize) {
    common::issue_recommendations(site, "GROW", from..from + n);
}

/// Signs a checkpoint of the whole log and returns the operator's verifier key.
fn checkpoint(site: &Site, operator: &Path, out: &Path) -> String {
    site.checkpoint(&site.log, operator, out)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn go_reads_published_tiles_and_publishing_again_writes_only_what_is_new() {
    let site = Site::new();
    let operator = grant_operator(&site);
    grow(&site, 0, 600);
    let tiles = site.path("tiles");
    let first = site.path("first.cp");
    let vkey = checkpoint(&site, &operator, &first);
    let published = trail_run(&["publish", "--log", arg(&site.log), "--out", arg(&tiles)]);
    assert!(
        published.ok().contains("checkpoint of 610 entries"),
        "{}",
        published.stdout
    );
    let go = tlogcheck(&site);
    let checked = go_check(&go, &tiles, &vkey, None);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&checked.stdout).trim(), "ok 610");
    for name in [
        "tile/0/000",
        "tile/0/001",
        "tile/0/002.p/98",
        "tile/1/000.p/2",
        "tile/entries/002.p/98",
    ] {
        assert!(tiles.join(name).is_file(), "{name} missing");
    }
    assert_eq!(
        std::fs::metadata(tiles.join("tile/0/000")).unwrap().len(),
        8192
    );

    // Grow, publish again: full tiles already there are not rewritten.
    let before: Vec<(PathBuf, std::time::SystemTime)> = files_under(&tiles)
        .into_iter()
        .filter(|p| !p.ends_with("checkpoint"))
        .map(|p| {
            (
                p.clone(),
                std::fs::metadata(&p).unwrap().modified().unwrap(),
            )
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    grow(&site, 600, 200);
    checkpoint(&site, &operator, &site.path("second.cp"));
    let again = trail_run(&[
        "publish",
        "--log",
        arg(&site.log),
        "--out",
        arg(&tiles),
        "--key",
        arg(&operator),
    ]);
    assert!(
        again.ok().contains("checkpoint of 810 entries"),
        "{}",
        again.stdout
    );
    assert!(
        again.stdout.contains("it held 610 entries before"),
        "{}",
        again.stdout
    );
    for (path, modified) in before {
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified,
            "{} was rewritten",
            path.display()
        );
    }
    let grown = go_check(&go, &tiles, &vkey, Some(&first));
    assert!(
        grown.status.success(),
        "{}",
        String::from_utf8_lossy(&grown.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&grown.stdout).trim(), "ok 810");

    // The independent verifier notices one flipped byte in a hash tile.
    let victim = tiles.join("tile/0/001");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let tampered = go_check(&go, &tiles, &vkey, None);
    assert!(
        !tampered.status.success(),
        "a flipped tile byte went unnoticed"
    );
}

#[test]
fn the_server_serves_the_published_bytes_with_cache_headers() {
    let site = Site::new();
    let operator = grant_operator(&site);
    grow(&site, 0, 300);
    let tiles = site.path("tiles");
    checkpoint(&site, &operator, &site.path("cp"));
    trail_run(&["publish", "--log", arg(&site.log), "--out", arg(&tiles)]).ok();
    let served = Served::start(&site.log, &operator, &[]);
    for name in [
        "tile/0/000",
        "tile/0/001.p/54",
        "tile/1/000.p/1",
        "tile/entries/000",
        "tile/entries/001.p/54",
    ] {
        let (status, body) = served.get(&format!("/{name}"));
        assert_eq!(status, 200, "{name}");
        assert_eq!(
            body,
            std::fs::read(tiles.join(name)).unwrap(),
            "{name} differs"
        );
    }
    let (status, headers) = served.get_headers("/tile/0/000");
    assert_eq!(status, 200);
    assert!(
        headers.contains("cache-control: public, max-age=31536000, immutable"),
        "{headers}"
    );
    assert!(
        headers.contains("access-control-allow-origin: *"),
        "{headers}"
    );
    let (_, headers) = served.get_headers("/tile/0/001.p/54");
    assert!(headers.contains("cache-control: no-store"), "{headers}");
    // Beyond the tree, or not a tile path: 404.
    for path in [
        "/tile/0/002",
        "/tile/0/001.p/55",
        "/tile/0/x000/001",
        "/tile/entries/005",
    ] {
        assert_eq!(served.get(path).0, 404, "{path}");
    }
}

#[test]
fn a_log_with_a_url_origin_is_read_by_go_under_that_origin() {
    let site = Site::new();
    let log = site.path("linden");
    let origin = "watchdog.example.org/linden";
    trail_run(&[
        "init",
        "--log",
        arg(&log),
        "--name",
        "Linden",
        "--key",
        arg(&site.key("admin")),
        "--origin",
        origin,
    ])
    .ok();
    let operator = site.grant_key(&log, "operator", common::served::OPERATOR_SEED, "operator");
    let vkey = site.checkpoint(&log, &operator, &site.path("cp"));
    assert!(vkey.starts_with(&format!("{origin}+")), "{vkey}");
    let note = std::fs::read_to_string(site.path("cp")).unwrap();
    assert_eq!(note.lines().next(), Some(origin));
    let tiles = site.path("tiles");
    trail_run(&["publish", "--log", arg(&log), "--out", arg(&tiles)]).ok();
    let checked = go_check(&tlogcheck(&site), &tiles, &vkey, None);
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // A mirror and a bundle of it keep the origin: their checkpoints verify.
    let copy = site.path("copy");
    trail_run(&["mirror", "--from", arg(&tiles), "--log", arg(&copy)]).ok();
    trail_run(&[
        "verify",
        "--log",
        arg(&copy),
        "--since",
        arg(&site.path("cp")),
    ])
    .ok();
    trail_run(&[
        "init",
        "--log",
        arg(&site.path("bad")),
        "--name",
        "x",
        "--key",
        arg(&site.key("admin")),
        "--origin",
        "https://watchdog.example.org/linden",
    ])
    .fails(2, &["origin", "without its scheme"]);
}
