//! The physical limits every figure is compared with, measured in the same
//! run on the same machine: the cost of the cryptography and of the disk
//! that no implementation of the format can avoid.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rayon::prelude::*;
use trail_core::merkle::{Hash, node_hash};
use trail_core::{entry_hash, merkle_leaf_hash, signing_input};

/// The batch sizes tried for the batch-verify limits: the limit is the
/// best of them, not the size trail happens to use.
pub const BATCH_SIZES: [usize; 7] = [64, 128, 256, 512, 1024, 2048, 4096];

/// Rates in operations per second, and the fdatasync floor.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Limits {
    /// BLAKE3 entry hashes per second over real entry bytes (one thread).
    pub blake3_per_s: f64,
    /// SHA-256 Merkle node hashes per second (one thread).
    pub node_hash_per_s: f64,
    /// ed25519 signatures per second, one thread.
    pub sign_per_s: f64,
    /// ed25519 signatures per second, all cores.
    pub sign_all_per_s: f64,
    /// ed25519 strict verifications per second, one by one, one thread.
    pub verify_per_s: f64,
    /// ed25519 batch verification, signatures per second, one thread, at
    /// the best batch size.
    pub batch_verify_per_s: f64,
    /// That size.
    pub batch_verify_size: usize,
    /// ed25519 batch verification, signatures per second, all cores, at
    /// the best batch size.
    pub batch_verify_all_per_s: f64,
    /// That size.
    pub batch_verify_all_size: usize,
    /// Median time of a 512-byte append followed by fdatasync, in seconds.
    pub fdatasync_p50_s: f64,
    /// 99th percentile of the same.
    pub fdatasync_p99_s: f64,
}

/// Runs `f` over `items` repeatedly for at least `budget`; returns items per second.
fn rate<T>(items: &[T], budget: Duration, mut f: impl FnMut(&[T])) -> f64 {
    let started = Instant::now();
    let mut done = 0usize;
    while started.elapsed() < budget {
        f(items);
        done += items.len();
    }
    done as f64 / started.elapsed().as_secs_f64()
}

/// The p-th percentile (0..=100) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Signed messages for re-measuring the batch-verify limit next to a figure.
pub struct Signed {
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
    key: VerifyingKey,
    /// The batch size the all-core limit is re-measured at: the best one
    /// found by [`measure`].
    pub all_cores_size: usize,
}

impl Signed {
    /// The signing inputs of `entries`, signed by a fixed key.
    pub fn new(entries: &[Vec<u8>]) -> Signed {
        let key = SigningKey::from_bytes(&[7; 32]);
        let messages: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| signing_input(&e[..e.len() - 64]))
            .collect();
        let signatures = messages.iter().map(|m| key.sign(m)).collect();
        Signed {
            messages,
            signatures,
            key: key.verifying_key(),
            all_cores_size: 1024,
        }
    }

    /// ed25519 batch verification on all cores at the best batch size,
    /// signatures per second.
    pub fn batch_verify_all(&self, budget: Duration) -> f64 {
        self.batch_verify_at(self.all_cores_size, true, budget)
    }

    /// ed25519 batch verification in batches of `size`, on all cores or
    /// on one, signatures per second.
    fn batch_verify_at(&self, size: usize, all_cores: bool, budget: Duration) -> f64 {
        let triples = self.triples();
        rate(&triples, budget, |ts| {
            if all_cores {
                ts.par_chunks(size).for_each(verify_group)
            } else {
                ts.chunks(size).for_each(verify_group)
            }
        })
    }

    /// The best batch-verify rate over [`BATCH_SIZES`], and its size.
    fn best_batch(&self, all_cores: bool, budget: Duration) -> (f64, usize) {
        // Each size gets a share of the budget; the whole sweep then runs
        // twice and keeps each size's better run, so that a moment of load
        // on this shared machine does not pick the size.
        let share = budget / BATCH_SIZES.len() as u32;
        let mut best = (0.0, BATCH_SIZES[0]);
        for _ in 0..2 {
            for size in BATCH_SIZES {
                let r = self.batch_verify_at(size, all_cores, share);
                if r > best.0 {
                    best = (r, size);
                }
            }
        }
        best
    }

    fn triples(&self) -> Vec<(&[u8], Signature, VerifyingKey)> {
        self.messages
            .iter()
            .zip(&self.signatures)
            .map(|(m, s)| (m.as_slice(), *s, self.key))
            .collect()
    }
}

fn verify_group(group: &[(&[u8], Signature, VerifyingKey)]) {
    let ms: Vec<&[u8]> = group.iter().map(|t| t.0).collect();
    let ss: Vec<Signature> = group.iter().map(|t| t.1).collect();
    let ks: Vec<VerifyingKey> = group.iter().map(|t| t.2).collect();
    assert!(ed25519_dalek::verify_batch(&ms, &ss, &ks).is_ok());
}

/// An open file for timing 512-byte append + fdatasync, one sample at a time,
/// interleaved with the operation it is the floor of.
pub struct Fsync {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl Fsync {
    /// Creates the probe file in `dir`.
    pub fn new(dir: &Path) -> std::io::Result<Fsync> {
        let path = dir.join("fdatasync-floor");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(Fsync { file, path })
    }

    /// One append + fdatasync, in seconds.
    pub fn sample(&mut self) -> std::io::Result<f64> {
        let t = Instant::now();
        self.file.write_all(&[0x5au8; 512])?;
        self.file.sync_data()?;
        Ok(t.elapsed().as_secs_f64())
    }
}

impl Drop for Fsync {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Measures every limit over `entries` (canonical entry bytes from the log).
/// The all-core batch size found best is left in `signed`, so that limits
/// re-measured beside later figures use it.
pub fn measure(
    entries: &[Vec<u8>],
    signed: &mut Signed,
    scratch: &Path,
    budget: Duration,
) -> std::io::Result<Limits> {
    let key = SigningKey::from_bytes(&[7; 32]);
    let messages = &signed.messages;
    let triples = signed.triples();

    let blake3_per_s = rate(entries, budget, |es| {
        for e in es {
            std::hint::black_box(entry_hash(e));
        }
    });
    let pairs: Vec<(Hash, Hash)> = entries
        .iter()
        .map(|e| (merkle_leaf_hash(e), merkle_leaf_hash(&e[1..])))
        .collect();
    let node_hash_per_s = rate(&pairs, budget, |ps| {
        for (l, r) in ps {
            std::hint::black_box(node_hash(l, r));
        }
    });
    let sign_per_s = rate(messages, budget, |ms| {
        for m in ms {
            std::hint::black_box(key.sign(m));
        }
    });
    let sign_all_per_s = rate(messages, budget, |ms| {
        ms.par_iter().for_each(|m| {
            std::hint::black_box(key.sign(m));
        });
    });
    let verify_per_s = rate(&triples, budget, |ts| {
        for (m, s, k) in ts {
            assert!(k.verify_strict(m, s).is_ok());
        }
    });
    let (batch_verify_per_s, batch_verify_size) = signed.best_batch(false, budget * 2);
    let (batch_verify_all_per_s, batch_verify_all_size) = signed.best_batch(true, budget * 2);
    signed.all_cores_size = batch_verify_all_size;

    let (fdatasync_p50_s, fdatasync_p99_s) = fdatasync_floor(scratch, budget)?;
    Ok(Limits {
        blake3_per_s,
        node_hash_per_s,
        sign_per_s,
        sign_all_per_s,
        verify_per_s,
        batch_verify_per_s,
        batch_verify_size,
        batch_verify_all_per_s,
        batch_verify_all_size,
        fdatasync_p50_s,
        fdatasync_p99_s,
    })
}

/// p50 and p99 of appending 512 bytes to a file and fdatasync-ing it: the
/// least any durable append can cost on this disk.
fn fdatasync_floor(scratch: &Path, budget: Duration) -> std::io::Result<(f64, f64)> {
    let mut probe = Fsync::new(scratch)?;
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < 50 || (started.elapsed() < budget * 2 && samples.len() < 2000) {
        samples.push(probe.sample()?);
    }
    samples.sort_by(f64::total_cmp);
    Ok((percentile(&samples, 50.0), percentile(&samples, 99.0)))
}
