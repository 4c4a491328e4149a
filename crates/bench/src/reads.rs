//! Measurements of reads: Merkle proofs (section 6) and replay at dates (section 5).

use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use trail_core::merkle::{LeafIndex, TreeSize, verify_consistency, verify_inclusion};
use trail_core::{Cut, SnapshotOptions};
use trail_core::{Day, Log, Timestamp, merkle_leaf_hash};

use crate::limits::{Limits, percentile};
use crate::measure::{BoxError, secs};
use crate::report::{RatioKind, Row};

pub(crate) fn proofs(log: &Log, limits: &Limits, rows: &mut Vec<Row>) -> Result<(), BoxError> {
    let n = log.tree_size();
    let mut rng = SmallRng::seed_from_u64(6962);
    let samples = 1000;
    let mut cases = Vec::with_capacity(samples);
    for _ in 0..samples {
        let size = rng.random_range(1..=n);
        let seq = rng.random_range(0..size);
        let bytes = log
            .entries(seq, Some(seq))
            .next()
            .ok_or("missing entry")??
            .to_bytes();
        cases.push((seq, size, merkle_leaf_hash(&bytes), log.tree_root(size)?));
    }
    let (mut gen_t, mut ver_t, mut hashes) = (Vec::new(), Vec::new(), 0usize);
    for (seq, size, leaf, root) in &cases {
        let t = Instant::now();
        let proof = log.inclusion_proof(*seq, *size)?;
        gen_t.push(secs(t.elapsed()));
        let t = Instant::now();
        verify_inclusion(leaf, LeafIndex(*seq), TreeSize(*size), &proof, root)?;
        ver_t.push(secs(t.elapsed()));
        hashes += proof.len();
    }
    proof_rows(
        "inclusion",
        gen_t,
        ver_t,
        hashes as f64 / samples as f64,
        limits,
        rows,
    );

    let mut cases = Vec::with_capacity(samples);
    for _ in 0..samples {
        let new = rng.random_range(1..=n);
        let old = rng.random_range(1..=new);
        cases.push((old, new, log.tree_root(old)?, log.tree_root(new)?));
    }
    let (mut gen_t, mut ver_t, mut hashes) = (Vec::new(), Vec::new(), 0usize);
    for (old, new, old_root, new_root) in &cases {
        let t = Instant::now();
        let proof = log.consistency_proof(*old, *new)?;
        gen_t.push(secs(t.elapsed()));
        let t = Instant::now();
        verify_consistency(TreeSize(*old), TreeSize(*new), old_root, new_root, &proof)?;
        ver_t.push(secs(t.elapsed()));
        hashes += proof.len();
    }
    proof_rows(
        "consistency",
        gen_t,
        ver_t,
        hashes as f64 / samples as f64,
        limits,
        rows,
    );
    Ok(())
}

fn proof_rows(
    kind: &str,
    mut gen_t: Vec<f64>,
    mut ver_t: Vec<f64>,
    mean_len: f64,
    limits: &Limits,
    rows: &mut Vec<Row>,
) {
    gen_t.sort_by(f64::total_cmp);
    ver_t.sort_by(f64::total_cmp);
    // The least a proof can cost: hashing its path once.
    let floor = mean_len / limits.node_hash_per_s;
    let (g50, g99) = (percentile(&gen_t, 50.0), percentile(&gen_t, 99.0));
    let (v50, v99) = (percentile(&ver_t, 50.0), percentile(&ver_t, 99.0));
    rows.push(
        Row::plain(
            6,
            format!(
                "{kind} proof generation p50 (p99 {:.3} ms), {:.1} hashes",
                g99 * 1e3,
                mean_len
            ),
            g50 * 1e3,
            "ms",
        )
        .vs(
            "hashing the proof path",
            g50 / floor,
            RatioKind::MultipleOfFloor,
        )
        .target("< 1 ms", g99 < 1e-3),
    );
    rows.push(
        Row::plain(
            6,
            format!("{kind} proof verification p50 (p99 {:.4} ms)", v99 * 1e3),
            v50 * 1e3,
            "ms",
        )
        .vs(
            "hashing the proof path",
            v50 / floor,
            RatioKind::MultipleOfFloor,
        )
        .target("< 0.2 ms", v99 < 0.2e-3),
    );
}

pub(crate) fn replay(
    log: &Log,
    every: u64,
    budget_s: f64,
    rows: &mut Vec<Row>,
) -> Result<(), BoxError> {
    let head = log.head().ok_or("empty log")?;
    let first = log
        .entries(0, Some(0))
        .next()
        .ok_or("empty log")??
        .unsigned
        .recorded_at;
    let last = head.recorded_at;
    let first_day: Day = "2022-01-01".parse()?;
    let mut last_day = first_day;
    for e in log.entries(head.seq.saturating_sub(10_000), None) {
        last_day = last_day.max(e?.event().date());
    }
    let options = SnapshotOptions { every };

    // The reference: one replay at the head that verifies and folds every
    // entry. With snapshots on, that first replay also saves them (as the
    // first `trail replay` on a log does); the rows say which it was.
    let started = Instant::now();
    let state = log.replay_state(Cut::AtSeq(head.seq), options)?;
    drop(state.view(last_day));
    let full = secs(started.elapsed());
    let what = if every > 0 {
        format!("saving a snapshot every {every} entries")
    } else {
        "snapshots off".to_owned()
    };
    rows.push(Row::plain(
        5,
        format!(
            "full fold: first replay at the head, {what} (verify + State::apply x {}, view)",
            head.seq + 1
        ),
        full * 1e3,
        "ms",
    ));
    eprintln!("  full fold {full:.1} s");

    let per_axis = 100usize;
    let deadline = Instant::now() + Duration::from_secs_f64(budget_s);
    let mut rng = SmallRng::seed_from_u64(2026);
    let span_days = first_day.days_until(last_day).max(1);
    for axis in ["recorded-time (--known-at)", "effective-date (--at)"] {
        let mut times = Vec::with_capacity(per_axis);
        // Half the time budget per axis; what was done is reported.
        let axis_deadline = Instant::now() + (deadline - Instant::now()) / 2;
        for _ in 0..per_axis {
            if !times.is_empty() && Instant::now() > axis_deadline {
                break;
            }
            let (at, cut) = if axis.starts_with("recorded") {
                let micros = rng.random_range(first.micros()..=last.micros());
                let t = Timestamp::from_micros(micros).ok_or("bad time")?;
                (last_day, Cut::KnownAt(t))
            } else {
                let d = rng.random_range(0..=span_days) as i32;
                (
                    first_day.plus_days(d).ok_or("bad day")?,
                    Cut::AtSeq(head.seq),
                )
            };
            let t = Instant::now();
            let state = log.replay_state(cut, options)?;
            let view = state.view(at);
            times.push(secs(t.elapsed()));
            eprintln!(
                "  replay {axis} #{}: {:.3} s",
                times.len(),
                times[times.len() - 1]
            );
            drop((view, state));
        }
        times.sort_by(f64::total_cmp);
        let (p50, p99) = (percentile(&times, 50.0), percentile(&times, 99.0));
        let n = times.len();
        rows.push(
            Row::plain(
                5,
                format!("replay at {n} random dates, {axis}: p50 (Log::replay_state + view)"),
                p50 * 1e3,
                "ms",
            )
            .vs("full fold", p50 / full, RatioKind::MultipleOf)
            .target("< 20 ms", p50 < 0.020),
        );
        rows.push(
            Row::plain(
                5,
                format!("replay at {n} random dates, {axis}: p99"),
                p99 * 1e3,
                "ms",
            )
            .vs("full fold", p99 / full, RatioKind::MultipleOf)
            .target("< 100 ms", p99 < 0.100),
        );
    }
    Ok(())
}
