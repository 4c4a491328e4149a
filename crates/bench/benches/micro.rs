//! Criterion micro-benchmarks of trail's hot functions, so that a regression
//! in one of them shows up in `cargo bench -p trail-bench`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use trail_core::UnsignedEntry;
use trail_core::merkle::{MemoryStore, TreeSize, append_leaf, leaf_hash, root};
use trail_core::{
    Entry, EntryHash, Event, SecretKey, State, Timestamp, VerifiedEntry, Verifier, entry_hash,
    merkle_leaf_hash,
};

fn key(seed: u8) -> SecretKey {
    SecretKey::from_seed(&[seed; 32])
}

/// A small verified log: genesis, grants, a report, a recommendation and claims.
fn log(claims: usize) -> Vec<VerifiedEntry> {
    let (admin, issuer, force) = (key(1), key(2), key(3));
    let mut events = vec![(
        1u8,
        format!(
            r#"{{"type":"log_created","name":"bench","actor":"admin","body":"Admin","public_key":"{}","date":"2022-01-01"}}"#,
            admin.public_key()
        ),
    )];
    events.push((1, format!(
        r#"{{"type":"key_granted","actor":"inspectorate","body":"Inspectorate","public_key":"{}","roles":["issuer"],"date":"2022-01-01"}}"#,
        issuer.public_key()
    )));
    events.push((1, format!(
        r#"{{"type":"key_granted","actor":"force-1","body":"Force 1","public_key":"{}","roles":["respondent"],"date":"2022-01-01"}}"#,
        force.public_key()
    )));
    events.push((
        2,
        r#"{"type":"report_published","report":"REP","title":"A report","date":"2022-01-02"}"#
            .into(),
    ));
    events.push((2, r#"{"type":"recommendation_issued","rec":"R1","report":"REP","addressees":["force-1"],"subject":"Record every referral of a child at risk within twenty-four hours, and audit a sample of the records each quarter","date":"2022-01-02"}"#.into()));
    for i in 0..claims {
        events.push((3, format!(
            r#"{{"type":"progress_claim","rec":"R1","status":"in_progress","subject":"force-1","narrative":"claim {i}: the force has recorded every report of child exploitation within twenty-four hours and the inspection sampled cases from three districts; training was delivered to officers and supervisors, and the audit found gaps in referral records that the board minutes show are being closed","evidence":[{{"name":"plan.pdf","blake3":"3e7bf5f4a7d867a99fdf05e9b1301e3237b4274b5306e25bbcd36013943155a1","kind":"self_report","dated":"2022-02-01"}}],"date":"2022-02-01"}}"#
        )));
    }
    let mut verifier = Verifier::new();
    let mut out = Vec::new();
    for (seq, (seed, json)) in events.into_iter().enumerate() {
        let unsigned = UnsignedEntry {
            seq: seq as u64,
            prev_hash: if seq == 0 {
                EntryHash::default()
            } else {
                verifier.head_hash()
            },
            recorded_at: Timestamp::from_micros(1_700_000_000_000_000 + seq as i64).expect("time"),
            signer: key(seed).public_key(),
            event: Event::from_json(&json).expect("event"),
        };
        let bytes = unsigned.sign(&key(seed)).to_bytes();
        out.push(verifier.verify_one(bytes).expect("verifies"));
    }
    out
}

fn entry_codec(c: &mut Criterion) {
    let entries = log(1);
    let last = entries.last().expect("entry");
    let entry: Entry = last.entry().clone();
    let bytes = last.bytes().to_vec();
    c.bench_function("entry encode (to_bytes)", |b| b.iter(|| entry.to_bytes()));
    c.bench_function("entry decode (from_bytes)", |b| {
        b.iter(|| Entry::from_bytes(std::hint::black_box(&bytes)).expect("decodes"))
    });
    c.bench_function("entry hash (BLAKE3, derive-key)", |b| {
        b.iter(|| entry_hash(std::hint::black_box(&bytes)))
    });
    c.bench_function("entry Merkle leaf hash (SHA-256)", |b| {
        b.iter(|| merkle_leaf_hash(std::hint::black_box(&bytes)))
    });
}

fn merkle(c: &mut Criterion) {
    let mut store = MemoryStore::new();
    // One less than a power of two: the next append completes the most parents.
    let n: u64 = (1 << 16) - 1;
    for i in 0..n {
        store.push(leaf_hash(&i.to_le_bytes())).expect("push");
    }
    let leaf = leaf_hash(b"next");
    c.bench_function("Merkle append (nodes for one leaf, 65535 leaves)", |b| {
        b.iter(|| append_leaf(&store, TreeSize(n), leaf).expect("append"))
    });
    c.bench_function("Merkle root update (root at size 65535)", |b| {
        b.iter(|| root(&store, TreeSize(std::hint::black_box(n))).expect("root"))
    });
}

fn fold(c: &mut Criterion) {
    let entries = log(200);
    let (next, prefix) = entries.split_last().expect("entries");
    let mut base = State::new();
    for e in prefix {
        base.apply(e).expect("in order");
    }
    c.bench_function("replay fold step (State::apply of a progress claim)", |b| {
        b.iter_batched(
            || base.clone(),
            |mut state| {
                state.apply(next).expect("in order");
                state
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, entry_codec, merkle, fold);
criterion_main!(benches);
