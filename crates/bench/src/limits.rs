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

/// Signatures per ed25519 batch, as in trail-core's verifier.
const BATCH: usize = 128;

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
    /// ed25519 batch verification, signatures per second, one thread.
    pub batch_verify_per_s: f64,
    /// ed25519 batch verification, signatures per second, all cores.
    pub batch_verify_all_per_s: f64,
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
        }
    }

    /// ed25519 batch verification on all cores, signatures per second.
    pub fn batch_verify_all(&self, budget: Duration) -> f64 {
        let triples = self.triples();
        rate(&triples, budget, |ts| {
            ts.par_chunks(BATCH).for_each(verify_group)
        })
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
pub fn measure(entries: &[Vec<u8>], scratch: &Path, budget: Duration) -> std::io::Result<Limits> {
    let key = SigningKey::from_bytes(&[7; 32]);
    let signed = Signed::new(entries);
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
    let batch_verify_per_s = rate(&triples, budget, |ts| {
        ts.chunks(BATCH).for_each(verify_group)
    });
    let batch_verify_all_per_s = signed.batch_verify_all(budget);

    let (fdatasync_p50_s, fdatasync_p99_s) = fdatasync_floor(scratch, budget)?;
    Ok(Limits {
        blake3_per_s,
        node_hash_per_s,
        sign_per_s,
        sign_all_per_s,
        verify_per_s,
        batch_verify_per_s,
        batch_verify_all_per_s,
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
