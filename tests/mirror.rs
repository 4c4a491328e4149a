//! `trail mirror`: a verified copy from a tile directory or a URL, fetching
//! only what it lacks, refusing a hostile source with its reason and
//! leaving the copy as it was.

mod common;

use std::path::{Path, PathBuf};

use common::served::{Served, grant_operator};
use common::{Run, Site, arg, trail_run};

fn grow(site: &Site, from: usize, n: usize) {
    common::issue_recommendations(site, "M", from..from + n);
}

/// Signs a checkpoint of the whole log and publishes it to `tiles`.
fn publish(site: &Site, operator: &Path, tiles: &Path) {
    trail_run(&[
        "publish",
        "--log",
        arg(&site.log),
        "--out",
        arg(tiles),
        "--key",
        arg(operator),
    ])
    .ok();
}

fn mirror(from: &str, copy: &Path) -> Run {
    trail_run(&["mirror", "--from", from, "--log", arg(copy)])
}

fn head(log: &Path) -> String {
    let verified = trail_run(&["verify", "--log", arg(log), "--json"]);
    let line: serde_json::Value = serde_json::from_str(verified.ok().trim()).unwrap();
    format!("{} {}", line["data"]["entries"], line["data"]["head"])
}

#[test]
fn a_mirror_of_a_tile_directory_fetches_only_what_it_lacks() {
    let site = Site::new();
    let operator = grant_operator(&site);
    grow(&site, 0, 300);
    let tiles = site.path("tiles");
    publish(&site, &operator, &tiles);
    let copy = site.path("copy");
    let first = mirror(arg(&tiles), &copy);
    assert!(
        first.ok().contains("mirrored 310 new entries"),
        "{}",
        first.stdout
    );
    assert_eq!(head(&copy), head(&site.log));
    let again = mirror(arg(&tiles), &copy);
    assert!(again.ok().contains("is up to date"), "{}", again.stdout);
    grow(&site, 300, 20);
    publish(&site, &operator, &tiles);
    let grown = mirror(arg(&tiles), &copy);
    assert!(
        grown.ok().contains("mirrored 20 new entries"),
        "{}",
        grown.stdout
    );
    assert_eq!(head(&copy), head(&site.log));
    // The copy is an ordinary log for every read command.
    let history = trail_run(&["history", "--log", arg(&copy), "M-310"]);
    assert!(history.ok().contains("M-310"), "{}", history.stdout);
}

#[test]
fn a_mirror_of_a_served_log_reads_the_same_tiles() {
    let site = Site::new();
    let operator = grant_operator(&site);
    grow(&site, 0, 260);
    let served = Served::start(&site.log, &operator, &[]);
    let copy = site.path("copy");
    let pulled = mirror(&served.url, &copy);
    assert!(
        pulled.ok().contains("mirrored 270 new entries"),
        "{}",
        pulled.stdout
    );
    drop(served);
    assert_eq!(head(&copy), head(&site.log));
}

/// A site, its tiles at 300 entries mirrored into `copy`, and the copy's head.
struct Mirrored {
    site: Site,
    operator: PathBuf,
    tiles: PathBuf,
    copy: PathBuf,
    head: String,
}

fn mirrored() -> Mirrored {
    let site = Site::new();
    let operator = grant_operator(&site);
    grow(&site, 0, 290);
    let tiles = site.path("tiles");
    publish(&site, &operator, &tiles);
    let copy = site.path("copy");
    mirror(arg(&tiles), &copy).ok();
    let head = head(&copy);
    Mirrored {
        site,
        operator,
        tiles,
        copy,
        head,
    }
}

/// Mirrors from `tiles` and checks it is refused, naming `reason`, with the copy unchanged.
fn refused(m: &Mirrored, tiles: &Path, reason: &[&str]) -> String {
    let run = mirror(arg(tiles), &m.copy);
    let message = run.fails(1, reason).to_owned();
    assert!(
        message.contains("the verified copy is unchanged"),
        "{message}"
    );
    assert_eq!(head(&m.copy), m.head, "the copy changed");
    message
}

#[test]
fn damaged_tiles_are_refused_and_the_copy_is_unchanged() {
    let m = mirrored();
    grow(&m.site, 290, 30);
    publish(&m.site, &m.operator, &m.tiles);
    // 330 entries: bundle 000 full, 001.p/74 partial; the copy holds 300,
    // so bundle 001 and level-0 tile 001 are what it fetches.
    let damaged = |name: &str, what: &str, damage: &dyn Fn(&mut Vec<u8>)| {
        let copy = m.site.path(&format!("damaged-{what}"));
        common::copy_tree(&m.tiles, &copy);
        let path = copy.join(name);
        let mut bytes = std::fs::read(&path).unwrap();
        damage(&mut bytes);
        std::fs::write(&path, bytes).unwrap();
        copy
    };
    let bundle = "tile/entries/001.p/74";
    let tile = "tile/0/001.p/74";
    let truncated = damaged(bundle, "truncated", &|b| b.truncate(b.len() - 10));
    refused(&m, &truncated, &[bundle, "ends inside"]);
    let flipped_hash = damaged(tile, "hash", &|b| b[40] ^= 1);
    refused(
        &m,
        &flipped_hash,
        &["tile/0/001.p/74 differs from the copy's own leaves"],
    );
    // A flipped hash past the copy's entries: the tiles no longer make the signed root.
    let flipped_new = damaged(tile, "new-hash", &|b| b[50 * 32] ^= 1);
    refused(
        &m,
        &flipped_new,
        &["hash tiles do not make the tree", "330 entries"],
    );
    let flipped_entry = damaged(bundle, "entry", &|b| {
        let last = b.len() - 1;
        b[last] ^= 1;
    });
    refused(
        &m,
        &flipped_entry,
        &["entry 329 of tile/entries/001.p/74 does not match"],
    );
    let short_tile = damaged(tile, "short", &|b| b.truncate(64));
    refused(&m, &short_tile, &["does not hold 74 hashes"]);
    // The bundle's last entry altered and the hash tile made to match it:
    // the tiles agree with each other, not with the signed root.
    let lie = m.site.path("lie");
    common::copy_tree(&m.tiles, &lie);
    let mut entries =
        trail_core::tiles::entry_bundle::decode(&std::fs::read(lie.join(bundle)).unwrap(), 256)
            .unwrap();
    let last = entries.last_mut().unwrap();
    let at = last.len() - 70;
    last[at] ^= 1;
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    std::fs::write(
        lie.join(bundle),
        trail_core::tiles::entry_bundle::encode(refs).unwrap(),
    )
    .unwrap();
    let hashes: Vec<u8> = entries
        .iter()
        .flat_map(|e| trail_core::merkle_leaf_hash(e).as_bytes().to_vec())
        .collect();
    std::fs::write(lie.join(tile), hashes).unwrap();
    refused(&m, &lie, &["hash tiles do not make the tree"]);
    // After all that, the honest tiles still mirror.
    let honest = mirror(arg(&m.tiles), &m.copy);
    assert!(
        honest.ok().contains("mirrored 30 new entries"),
        "{}",
        honest.stdout
    );
}

#[test]
fn a_fork_and_a_checkpoint_that_goes_backwards_are_refused() {
    let m = mirrored();
    // An older publish of the same log: consistent, but behind the copy.
    let older = m.site.path("older");
    common::copy_tree(&m.tiles, &older);
    grow(&m.site, 290, 5);
    publish(&m.site, &m.operator, &m.tiles);
    mirror(arg(&m.tiles), &m.copy).ok();
    let now = head(&m.copy);
    let behind = mirror(arg(&older), &m.copy);
    behind.fails(1, &["went backwards", "300 entries", "305"]);
    assert_eq!(head(&m.copy), now);

    // The operator signs a second history of the same size: a copy of the
    // log taken before the last five entries, grown with five others.
    let fork_site = Site::new();
    std::fs::remove_dir_all(&fork_site.log).unwrap();
    mirror(arg(&older), &fork_site.log).ok();
    for name in ["iopc.key", "operator.key"] {
        std::fs::copy(m.site.path(name), fork_site.path(name)).unwrap();
    }
    let lines: String = (0..5)
        .map(|i| {
            format!(
                "{{\"type\":\"recommendation_issued\",\"rec\":\"FORK-{i}\",\"report\":\"REP-1\",\
                 \"addressees\":[\"syp\"],\"subject\":\"Other {i}\",\"date\":\"2021-11-23\"}}\n"
            )
        })
        .collect();
    fork_site.append_text("iopc", &lines).ok();
    let fork_tiles = fork_site.path("tiles");
    publish(&fork_site, &fork_site.path("operator.key"), &fork_tiles);
    let evidence = m.site.path("evidence.txt");
    let run = trail_run(&[
        "mirror",
        "--from",
        arg(&fork_tiles),
        "--log",
        arg(&m.copy),
        "--evidence",
        arg(&evidence),
    ]);
    let message = run.fails(1, &["fork", "evidence.txt"]);
    assert!(
        message.contains("the verified copy is unchanged"),
        "{message}"
    );
    assert_eq!(head(&m.copy), now);
    let text = std::fs::read_to_string(&evidence).unwrap();
    // The forked entries under our own checkpoint: valid entries that do
    // not make the signed tree.
    let mixed = m.site.path("mixed");
    common::copy_tree(&fork_tiles, &mixed);
    std::fs::copy(m.tiles.join("checkpoint"), mixed.join("checkpoint")).unwrap();
    let fresh = m.site.path("fresh-copy");
    mirror(arg(&older), &fresh).ok();
    let fresh_head = head(&fresh);
    let not_the_tree = mirror(arg(&mixed), &fresh);
    not_the_tree.fails(
        1,
        &["do not make the tree its signed checkpoint of 305 entries"],
    );
    assert_eq!(head(&fresh), fresh_head);
    let theirs = std::fs::read_to_string(fork_tiles.join("checkpoint")).unwrap();
    let ours = std::fs::read_to_string(m.tiles.join("checkpoint")).unwrap();
    assert!(text.contains(&theirs) && text.contains(&ours), "{text}");
    assert_ne!(theirs, ours);
}

#[test]
fn a_checkpoint_not_signed_by_a_current_operator_is_refused_before_anything_is_kept() {
    let m = mirrored();
    grow(&m.site, 290, 5);
    publish(&m.site, &m.operator, &m.tiles);
    // The same tree, signed by iopc's key (an issuer, not an operator).
    let forged = m.site.path("forged");
    common::copy_tree(&m.tiles, &forged);
    let honest = std::fs::read_to_string(forged.join("checkpoint")).unwrap();
    let body = format!("{}\n", honest.split("\n\n").next().unwrap());
    let checkpoint = trail_core::merkle::Checkpoint::parse(&body).unwrap();
    let iopc = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
    let signer = trail_core::merkle::NoteSigner::new(checkpoint.origin(), iopc).unwrap();
    std::fs::write(
        forged.join("checkpoint"),
        checkpoint.sign(&signer).unwrap().to_bytes(),
    )
    .unwrap();
    refused(
        &m,
        &forged,
        &["not signed by a key that holds the operator role"],
    );
    // The honest tiles still mirror.
    let honest_run = mirror(arg(&m.tiles), &m.copy);
    assert!(
        honest_run.ok().contains("mirrored 5 new entries"),
        "{}",
        honest_run.stdout
    );
}
