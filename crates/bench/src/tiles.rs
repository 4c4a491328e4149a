//! C2SP tlog-tiles on the big log (section 9): `trail_core::publish`
//! writing its checkpoint, hash tiles and entry bundles into a directory,
//! set against hashing every leaf and node of its tree once; and the real
//! `trail mirror` binary, in a child process, copying that directory into a
//! fresh log, set against all-core batch verification measured around it.

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;
use trail_core::merkle::{EMPTY_ROOT, Hash, leaf_hash, node_hash};
use trail_core::transparency::sign_checkpoint;
use trail_core::{Log, SecretKey};
use trail_core::{Published, publish};

use crate::child::{Peak, run};
use crate::limits::{Fsync, Signed, percentile};
use crate::measure::{BoxError, apparent_bytes, around, disk_bytes, secs, verify_row};
use crate::report::{RatioKind, Row};

/// The section these rows belong to.
const SECTION: u8 = 9;
/// Entries read from the log at a time for the hashing floor.
const CHUNK: u64 = 4096;
/// fdatasync samples taken before, between and after the publishes.
const FSYNC_SAMPLES: usize = 30;
/// No-op mirrors timed; the median is reported.
const NO_OPS: usize = 3;
/// Bare starts of the binary timed before and after the no-op mirrors.
const STARTS: usize = 5;

/// Publishes the log at `log` (the big log; `operator` holds the operator
/// role in it) into `scratch`, then mirrors the result with the `trail`
/// binary beside this one.
pub fn measure(
    log: &Log,
    operator: &SecretKey,
    scratch: &Path,
    signed: &Signed,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let size = log.tree_size();
    let floor = hash_once(log, size)?;
    let root = log.tree_root(size)?;
    if floor.root != root {
        return Err(format!(
            "hashing the tree of {size} entries gave {}, the log's root is {root}",
            floor.root
        )
        .into());
    }
    let floor_s = secs(floor.hashing);
    sign_checkpoint(log, operator)?;

    let out = scratch.join("tiles");
    let mut probe = Fsync::new(scratch)?;
    let before = fsync_samples(&mut probe)?;
    let started = Instant::now();
    let first = publish(log, &out, &mut |_, _| {})?;
    let publish_s = secs(started.elapsed());
    let between = fsync_samples(&mut probe)?;
    let started = Instant::now();
    let again = publish(log, &out, &mut |_, _| {})?;
    let again_s = secs(started.elapsed());
    let after = fsync_samples(&mut probe)?;
    check_published(&first, 0, size)?;
    check_published(&again, size, size)?;
    if again.files != 0 {
        return Err(format!("publishing again wrote {} files", again.files).into());
    }

    rows.push(
        Row::plain(
            SECTION,
            format!(
                "publish {size} entries as tlog-tiles (publish::publish, {} files, each synced)",
                first.files
            ),
            publish_s,
            "s",
        )
        .vs(
            format!("hashing every leaf and node once (SHA-256, one core): {floor_s:.3} s"),
            publish_s / floor_s,
            RatioKind::MultipleOfFloor,
        ),
    );
    // Each publish against the fdatasync samples taken just before and after it.
    let fsync_first = median([before, between.clone()].concat());
    let fsync_again = median([between, after].concat());
    let fsync_text = |p50: f64| format!("fdatasync floor p50, interleaved: {:.3} ms", p50 * 1e3);
    let per_file = publish_s / first.files as f64;
    rows.push(
        Row::plain(SECTION, "publish, per file written", per_file * 1e3, "ms").vs(
            fsync_text(fsync_first),
            per_file / fsync_first,
            RatioKind::MultipleOfFloor,
        ),
    );
    rows.push(
        Row::plain(
            SECTION,
            "publish again, nothing new (incremental no-op: checkpoint rewritten)",
            again_s * 1e3,
            "ms",
        )
        .vs(
            fsync_text(fsync_again),
            again_s / fsync_again,
            RatioKind::MultipleOfFloor,
        ),
    );
    let (disk, apparent) = (disk_bytes(&out)?, apparent_bytes(&out)?);
    let raw = floor.raw_bytes as f64;
    rows.push(
        Row::plain(
            SECTION,
            "tile directory on disk (du), per entry",
            disk as f64 / size as f64,
            "bytes",
        )
        .vs(
            format!(
                "raw canonical bytes per entry (file bytes without blocks: {:.2}x)",
                apparent as f64 / raw
            ),
            disk as f64 / raw,
            RatioKind::MultipleOfFloor,
        ),
    );

    let trail = std::env::current_exe()?.with_file_name("trail");
    if !trail.is_file() {
        let why = format!(
            "trail mirror: skipped, no trail binary at {} (run `cargo build --release` first)",
            trail.display()
        );
        eprintln!("trail-bench: {why}");
        rows.push(Row::plain(SECTION, why, f64::NAN, ""));
        return Ok(());
    }
    mirror_rows(&trail, &out, scratch, size, floor.raw_bytes, signed, rows)
}

fn mirror_rows(
    trail: &Path,
    tiles: &Path,
    scratch: &Path,
    size: u64,
    raw_bytes: u64,
    signed: &Signed,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let copy = scratch.join("mirror");
    let peak = Peak::available();
    let mut first = None;
    let (rate, limit) = around(signed, || {
        let run = mirror(trail, tiles, &copy, peak)?;
        let rate = size as f64 / secs(run.wall);
        first = Some(run);
        Ok(rate)
    })?;
    let first = first.ok_or("no mirror run")?;
    first.expect(0, size)?;
    rows.push(verify_row(
        SECTION,
        &format!("mirror {size} entries from the tile directory (trail mirror, child process)"),
        rate,
        limit,
    ));
    let mib = |bytes: f64| bytes / (1024.0 * 1024.0);
    match first.peak_kib {
        Some(kib) => rows.push(
            Row::plain(
                SECTION,
                format!("mirror peak RSS (child, {})", peak.how()),
                mib(kib as f64 * 1024.0),
                "MiB",
            )
            .vs(
                format!(
                    "raw canonical bytes mirrored: {:.0} MiB",
                    mib(raw_bytes as f64)
                ),
                kib as f64 * 1024.0 / raw_bytes as f64,
                RatioKind::MultipleOf,
            ),
        ),
        None => rows.push(Row::plain(
            SECTION,
            format!("mirror peak RSS: {} did not report it", peak.how()),
            f64::NAN,
            "MiB",
        )),
    }

    let mut starts = bare_starts(trail)?;
    let mut no_ops = Vec::with_capacity(NO_OPS);
    for _ in 0..NO_OPS {
        let run = mirror(trail, tiles, &copy, Peak::None)?;
        run.expect(size, size)?;
        no_ops.push(secs(run.wall));
    }
    starts.append(&mut bare_starts(trail)?);
    let (start, no_op) = (median(starts), median(no_ops));
    rows.push(
        Row::plain(
            SECTION,
            format!("mirror again, nothing new (whole process, median of {NO_OPS})"),
            no_op * 1e3,
            "ms",
        )
        .vs(
            format!(
                "bare start of the same binary (trail --version), before and after: {:.1} ms",
                start * 1e3
            ),
            no_op / start,
            RatioKind::MultipleOf,
        ),
    );
    Ok(())
}

fn check_published(p: &Published, from: u64, size: u64) -> Result<(), BoxError> {
    if p.from_size != from || p.size != size {
        return Err(format!(
            "publish went from {} to {} entries; {from} to {size} expected",
            p.from_size, p.size
        )
        .into());
    }
    Ok(())
}

fn fsync_samples(probe: &mut Fsync) -> std::io::Result<Vec<f64>> {
    (0..FSYNC_SAMPLES).map(|_| probe.sample()).collect()
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    percentile(&samples, 50.0)
}

/// What hashing the tree once took.
struct Floor {
    /// Time spent hashing, reads excluded.
    hashing: Duration,
    /// Canonical bytes of the entries hashed.
    raw_bytes: u64,
    /// The root the hashes make, to check against the log's.
    root: Hash,
}

/// Hashes every entry's leaf and every internal node of the tree of the
/// first `size` entries once, on one core, timing only the hashing: the
/// entries are read from the log in chunks between the timed parts.
fn hash_once(log: &Log, size: u64) -> Result<Floor, BoxError> {
    let mut tree = Subtrees::default();
    let (mut hashing, mut raw_bytes, mut seq) = (Duration::ZERO, 0u64, 0u64);
    while seq < size {
        let last = (seq + CHUNK).min(size) - 1;
        let chunk: Vec<Vec<u8>> = log.entry_bytes(seq, last).collect::<Result<_, _>>()?;
        if chunk.len() as u64 != last + 1 - seq {
            return Err(format!("the log has a gap in entries {seq}..={last}").into());
        }
        raw_bytes += chunk.iter().map(|e| e.len() as u64).sum::<u64>();
        let started = Instant::now();
        for bytes in &chunk {
            tree.push(leaf_hash(bytes));
        }
        hashing += started.elapsed();
        seq = last + 1;
    }
    let started = Instant::now();
    let root = tree.root();
    hashing += started.elapsed();
    Ok(Floor {
        hashing,
        raw_bytes,
        root,
    })
}

/// A Merkle tree (RFC 9162) grown leaf by leaf, keeping only the roots of
/// its full subtrees. Each join makes one node of two subtrees, so n leaves
/// take n - 1 node hashes in all, each node hashed once.
#[derive(Default)]
struct Subtrees {
    /// Roots of the full subtrees, largest (leftmost) first.
    roots: Vec<Hash>,
    leaves: u64,
}

impl Subtrees {
    fn join(&mut self) {
        let right = self.roots.pop().expect("a right subtree");
        let left = self.roots.pop().expect("a left subtree");
        self.roots.push(node_hash(&left, &right));
    }

    fn push(&mut self, leaf: Hash) {
        self.roots.push(leaf);
        self.leaves += 1;
        // The subtree ending here is as big as the largest power of two
        // dividing the leaves so far: one join per trailing zero bit.
        for _ in 0..self.leaves.trailing_zeros() {
            self.join();
        }
    }

    /// The root: the full subtrees joined from the right.
    fn root(mut self) -> Hash {
        while self.roots.len() > 1 {
            self.join();
        }
        self.roots.pop().unwrap_or(EMPTY_ROOT)
    }
}

/// What `trail mirror --json` says.
#[derive(Deserialize)]
struct Line {
    #[serde(rename = "type")]
    kind: String,
    data: Mirrored,
}

#[derive(Deserialize)]
struct Mirrored {
    before: u64,
    entries: u64,
}

/// One `trail mirror` run.
struct MirrorRun {
    wall: Duration,
    peak_kib: Option<u64>,
    mirrored: Mirrored,
}

impl MirrorRun {
    fn expect(&self, before: u64, entries: u64) -> Result<(), BoxError> {
        let m = &self.mirrored;
        if m.before != before || m.entries != entries {
            return Err(format!(
                "trail mirror went from {} to {} entries; {before} to {entries} expected",
                m.before, m.entries
            )
            .into());
        }
        Ok(())
    }
}

fn mirror(trail: &Path, tiles: &Path, copy: &Path, peak: Peak) -> Result<MirrorRun, BoxError> {
    let args: [&OsStr; 6] = [
        "mirror".as_ref(),
        "--from".as_ref(),
        tiles.as_os_str(),
        "--log".as_ref(),
        copy.as_os_str(),
        "--json".as_ref(),
    ];
    let ran = run(trail, &args, peak)?;
    let mirrored = String::from_utf8_lossy(&ran.output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .find(|l| l.kind == "mirrored")
        .ok_or("trail mirror --json printed no \"mirrored\" line")?
        .data;
    Ok(MirrorRun {
        wall: ran.wall,
        peak_kib: ran.peak_kib,
        mirrored,
    })
}

/// Wall times of `trail --version`, the least any run of the binary costs.
fn bare_starts(trail: &Path) -> Result<Vec<f64>, BoxError> {
    (0..STARTS)
        .map(|_| Ok(secs(run(trail, &["--version".as_ref()], Peak::None)?.wall)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// MTH(D[n]) as RFC 9162 §2.1.1 writes it: split at the largest power
    /// of two below n.
    fn naive(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = 1 << (n - 1).ilog2();
                node_hash(&naive(&leaves[..k]), &naive(&leaves[k..]))
            }
        }
    }

    #[test]
    fn subtrees_make_the_rfc_9162_root() {
        let leaves: Vec<Hash> = (0..70u8).map(|i| leaf_hash(&[i])).collect();
        for n in 0..=leaves.len() {
            let mut tree = Subtrees::default();
            for leaf in &leaves[..n] {
                tree.push(*leaf);
            }
            assert_eq!(tree.root(), naive(&leaves[..n]), "{n} leaves");
        }
    }
}
