//! A C2SP tlog-witness (<https://c2sp.org/tlog-witness>): cosigns checkpoints
//! of the logs it is configured for, each only after checking that it
//! extends the last checkpoint it cosigned for that origin. It works for any
//! C2SP log whose origin and key it is given, not only trail logs.
//!
//! The state, one file per origin holding the size and root last cosigned,
//! is written (synced and renamed into place) before a cosignature is
//! returned, and the check and the write happen under one lock, so the
//! witness never cosigns two sizes inconsistently, across restarts and
//! crashes included.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::Digest;

use crate::merkle::note::SignatureVerifier;
use crate::merkle::tree::TreeSize;
use crate::merkle::verify::verify_consistency;
use crate::merkle::{Checkpoint, CosignatureSigner, Hash, Note, NoteVerifier, VerifierSet};

/// Most consistency proof lines a request may hold (the spec's limit).
pub const MAX_PROOF_LINES: usize = 63;

/// Why a witness did not cosign, each with the status the spec gives it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError {
    /// 400: the request is malformed, or its old size is above the checkpoint's.
    #[error("{0}")]
    Malformed(String),
    /// 404: the witness knows no log of this origin.
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// 403: no signature of a trusted key of the log verifies.
    #[error("the checkpoint carries no valid signature of a trusted key for {0:?}")]
    NotSigned(String),
    /// 409: the old size is not the size last cosigned (the answer body).
    #[error("the last checkpoint cosigned for this log has size {latest}")]
    WrongOldSize {
        /// The size last cosigned.
        latest: u64,
    },
    /// 409: a checkpoint of the size last cosigned, with another root.
    #[error("a checkpoint of size {size} with another root was cosigned before: a fork")]
    SameSizeFork {
        /// The size.
        size: u64,
    },
    /// 422: the consistency proof does not verify.
    #[error("the consistency proof from size {old} to {new} does not verify: {reason}")]
    BadProof {
        /// The old size.
        old: u64,
        /// The checkpoint's size.
        new: u64,
        /// Why.
        reason: String,
    },
    /// The witness's own state could not be read or written.
    #[error("{}: {source}", path.display())]
    State {
        /// The state file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// What a witness last cosigned for one log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The tree size.
    pub size: u64,
    /// The root.
    pub root: Hash,
}

/// A witness: its key, the logs it watches, and its durable state.
pub struct Witness {
    signer: CosignatureSigner,
    logs: BTreeMap<String, Vec<NoteVerifier>>,
    state: PathBuf,
    /// Held from reading the state to writing the new one.
    lock: Mutex<()>,
}

impl Witness {
    /// A witness that signs with `signer`, trusts each log key (its name is
    /// the log's origin), and keeps its state in `state` (made if missing).
    pub fn new(
        signer: CosignatureSigner,
        log_keys: Vec<NoteVerifier>,
        state: &Path,
    ) -> Result<Witness, WitnessError> {
        std::fs::create_dir_all(state).map_err(|source| WitnessError::State {
            path: state.to_owned(),
            source,
        })?;
        let mut logs: BTreeMap<String, Vec<NoteVerifier>> = BTreeMap::new();
        for key in log_keys {
            logs.entry(key.name().to_owned()).or_default().push(key);
        }
        Ok(Witness {
            signer,
            logs,
            state: state.to_owned(),
            lock: Mutex::new(()),
        })
    }

    /// The witness's cosigner (its name and key).
    pub fn signer(&self) -> &CosignatureSigner {
        &self.signer
    }

    /// What was last cosigned for `origin`, if anything.
    pub fn latest(&self, origin: &str) -> Result<Option<Cosigned>, WitnessError> {
        let path = self.state_file(origin);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(WitnessError::State { path, source }),
        };
        let damaged = || WitnessError::State {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "damaged state file"),
        };
        let mut lines = text.lines();
        let (Some(stored_origin), Some(size), Some(root)) =
            (lines.next(), lines.next(), lines.next())
        else {
            return Err(damaged());
        };
        if stored_origin != origin {
            return Err(damaged());
        }
        let size = size.parse().map_err(|_| damaged())?;
        let root = Hash::from_base64(root).map_err(|_| damaged())?;
        Ok(Some(Cosigned { size, root }))
    }

    /// Handles an `add-checkpoint` request body; returns the cosignature
    /// line(s) to answer with, timestamped `timestamp` (Unix seconds).
    pub fn add_checkpoint(&self, body: &[u8], timestamp: u64) -> Result<Vec<u8>, WitnessError> {
        let request = Request::parse(body)?;
        let checkpoint = Checkpoint::parse(request.note.text())
            .map_err(|e| WitnessError::Malformed(format!("not a checkpoint: {e}")))?;
        let origin = checkpoint.origin().to_owned();
        let keys = self
            .logs
            .get(&origin)
            .ok_or_else(|| WitnessError::UnknownOrigin(origin.clone()))?;
        let mut trusted = VerifierSet::new();
        for key in keys {
            trusted
                .add(key.clone())
                .map_err(|e| WitnessError::Malformed(e.to_string()))?;
        }
        // Signatures of keys the witness does not know are ignored; one bad
        // signature of a trusted key, or none at all, refuses the checkpoint.
        request
            .note
            .verify(&trusted)
            .map_err(|_| WitnessError::NotSigned(origin.clone()))?;
        let TreeSize(size) = checkpoint.size();
        if request.old > size {
            return Err(WitnessError::Malformed(format!(
                "old size {} is above the checkpoint's size {size}",
                request.old
            )));
        }
        // c2sp.org/tlog-witness: no proof from size 0, and none between equal sizes.
        if (request.old == 0 || request.old == size) && !request.proof.is_empty() {
            return Err(WitnessError::BadProof {
                old: request.old,
                new: size,
                reason: "the proof must be empty".into(),
            });
        }
        let _held = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let latest = self.latest(&origin)?;
        let latest_size = latest.map_or(0, |c| c.size);
        if request.old != latest_size {
            return Err(WitnessError::WrongOldSize {
                latest: latest_size,
            });
        }
        match latest {
            Some(last) if last.size == size && last.root != *checkpoint.root() => {
                return Err(WitnessError::SameSizeFork { size });
            }
            Some(last) if last.size == size => {}
            Some(last) => verify_consistency(
                TreeSize(last.size),
                TreeSize(size),
                &last.root,
                checkpoint.root(),
                &request.proof,
            )
            .map_err(|e| WitnessError::BadProof {
                old: last.size,
                new: size,
                reason: e.to_string(),
            })?,
            // Nothing cosigned yet: the first checkpoint is taken as it is.
            None => {}
        }
        self.keep(
            &origin,
            Cosigned {
                size,
                root: *checkpoint.root(),
            },
        )?;
        let cosignature = self
            .signer
            .cosign(&checkpoint, timestamp)
            .map_err(|e| WitnessError::Malformed(e.to_string()))?;
        Ok(cosignature.to_line().into_bytes())
    }

    fn state_file(&self, origin: &str) -> PathBuf {
        let name = hex::encode(sha2::Sha256::digest(origin.as_bytes()));
        self.state.join(name)
    }

    /// Writes the new state durably: a synced file renamed over the old.
    fn keep(&self, origin: &str, cosigned: Cosigned) -> Result<(), WitnessError> {
        let path = self.state_file(origin);
        let fail = |source| WitnessError::State {
            path: path.clone(),
            source,
        };
        let mut temp = tempfile::NamedTempFile::new_in(&self.state).map_err(fail)?;
        write!(
            temp,
            "{origin}\n{}\n{}\n",
            cosigned.size,
            cosigned.root.to_base64()
        )
        .map_err(fail)?;
        temp.as_file().sync_all().map_err(fail)?;
        temp.persist(&path).map_err(|e| fail(e.error))?;
        std::fs::File::open(&self.state)
            .and_then(|d| d.sync_all())
            .map_err(fail)?;
        Ok(())
    }
}

/// A parsed `add-checkpoint` body.
struct Request {
    old: u64,
    proof: Vec<Hash>,
    note: Note,
}

impl Request {
    fn parse(body: &[u8]) -> Result<Request, WitnessError> {
        let bad = |why: &str| WitnessError::Malformed(why.to_owned());
        let text = std::str::from_utf8(body).map_err(|_| bad("the body is not UTF-8"))?;
        let (head, note) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no empty line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| *n == "0" || (!n.is_empty() && !n.starts_with('0')))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| bad("the first line must be `old SIZE`"))?;
        let proof = lines
            .map(|l| Hash::from_base64(l).map_err(|_| bad("a proof line is not a base64 hash")))
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        let note = Note::parse(note.as_bytes())
            .map_err(|e| WitnessError::Malformed(format!("not a signed note: {e}")))?;
        Ok(Request { old, proof, note })
    }
}

/// The body of an `add-checkpoint` request: the old size, the proof and the
/// signed checkpoint note.
pub fn add_checkpoint_body(old: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&hash.to_base64());
        body.push('\n');
    }
    body.push('\n');
    let mut body = body.into_bytes();
    body.extend_from_slice(note);
    body
}

/// Sends one `add-checkpoint` request (witness URL, body) and returns the
/// answer's status and body, or why there was none.
pub type PostCheckpoint<'a> = dyn FnMut(&str, &[u8]) -> Result<(u16, Vec<u8>), String> + 'a;

/// Cosignatures collected for one checkpoint, and what went wrong with the
/// witnesses that gave none.
pub struct Collected {
    /// The checkpoint with every cosignature that verified added.
    pub note: Note,
    /// One line per witness that gave no valid cosignature, naming it.
    pub problems: Vec<String>,
}

/// Asks each witness (by URL) to cosign `note`, a checkpoint of `log`:
/// first with old size 0, then, on a 409 naming the size it holds, with the
/// consistency proof from there. `post(url, body)` sends one
/// `add-checkpoint` request and returns the status and body, or why it could
/// not. Keeps only cosignatures that verify against a key holding the
/// witness role in the log (`log_witnesses`); the caller decides whether
/// enough did.
pub fn collect_cosignatures(
    log: &crate::Log,
    note: &[u8],
    witnesses: &[String],
    post: &mut PostCheckpoint<'_>,
) -> Result<Collected, crate::Error> {
    let (mut cosigned, checkpoint) = crate::transparency::parse_checkpoint_note(note)?;
    let TreeSize(size) = checkpoint.size();
    let mut trusted = VerifierSet::new();
    for w in crate::transparency::log_witnesses(log)? {
        let _ = trusted.add(w);
    }
    let mut problems = Vec::new();
    for url in witnesses {
        let lines = match cosignature_lines(log, note, url, size, post) {
            Ok(lines) => lines,
            Err(problem) => {
                problems.push(format!("{url}: {problem}"));
                continue;
            }
        };
        let before = cosigned.signatures().len();
        for line in lines {
            // An unknown or invalid line is ignored, as the spec says.
            let Ok(signature) = crate::merkle::NoteSignature::parse_line(&line) else {
                continue;
            };
            let mut with = cosigned.clone();
            if with.add_signature(signature.clone()).is_err() {
                continue;
            }
            if with
                .verify(&trusted)
                .is_ok_and(|v| v.is_signed_by(signature.name(), signature.key_id()))
            {
                cosigned = with;
            }
        }
        if cosigned.signatures().len() == before {
            problems.push(format!(
                "{url}: no cosignature by a witness key of this log"
            ));
        }
    }
    Ok(Collected {
        note: cosigned,
        problems,
    })
}

/// The signature lines one witness answers for a checkpoint of `size`.
fn cosignature_lines(
    log: &crate::Log,
    note: &[u8],
    url: &str,
    size: u64,
    post: &mut PostCheckpoint<'_>,
) -> Result<Vec<String>, String> {
    let mut old = 0;
    // At most two tries: the first tells the client the size it holds.
    for _ in 0..2 {
        let proof = match old {
            0 => Vec::new(),
            _ => log
                .consistency_proof(old, size)
                .map_err(|e| e.to_string())?,
        };
        let (status, answer) = post(url, &add_checkpoint_body(old, &proof, note))?;
        let text = String::from_utf8_lossy(&answer).trim().to_owned();
        // A refusal's text goes into one line of ours: its first line,
        // control characters escaped, cut short.
        let first_line = || -> String {
            text.lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .flat_map(char::escape_default)
                .collect()
        };
        match (status, text.parse::<u64>()) {
            (200, _) => return Ok(text.lines().map(str::to_owned).collect()),
            (409, Ok(theirs)) if theirs > size => {
                return Err(format!(
                    "the witness has cosigned {theirs} entries, more than this checkpoint's {size}"
                ));
            }
            (409, Ok(theirs)) if theirs != old => old = theirs,
            _ => return Err(format!("{status}: {}", first_line())),
        }
    }
    Err("the witness kept answering 409".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::tree::{MemoryStore, consistency_proof, root};
    use crate::merkle::{NoteSigner, leaf_hash};
    use ed25519_dalek::SigningKey;

    struct Fixture {
        tree: MemoryStore,
        log: NoteSigner,
        witness: Witness,
        _dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let log = NoteSigner::new("example.org/log", SigningKey::from_bytes(&[7; 32])).unwrap();
        let signer = CosignatureSigner::new("w1", SigningKey::from_bytes(&[8; 32])).unwrap();
        let witness = Witness::new(signer, vec![log.verifier()], dir.path()).unwrap();
        Fixture {
            tree: MemoryStore::new(),
            log,
            witness,
            _dir: dir,
        }
    }

    impl Fixture {
        fn grow(&mut self, n: u64) {
            for i in 0..n {
                self.tree.push(leaf_hash(&i.to_be_bytes())).unwrap();
            }
        }
        fn size(&self) -> u64 {
            self.tree.size().0
        }
        fn note(&self, signer: &NoteSigner) -> Vec<u8> {
            let size = TreeSize(self.size());
            Checkpoint::new("example.org/log", size, root(&self.tree, size).unwrap())
                .unwrap()
                .sign(signer)
                .unwrap()
                .to_bytes()
        }
        fn add(&self, old: u64) -> Result<Vec<u8>, WitnessError> {
            let proof = if old == 0 {
                Vec::new()
            } else {
                consistency_proof(&self.tree, TreeSize(old), TreeSize(self.size())).unwrap()
            };
            let body = add_checkpoint_body(old, &proof, &self.note(&self.log));
            self.witness.add_checkpoint(&body, 1_700_000_000)
        }
    }

    #[test]
    fn cosigns_a_growing_log_and_refuses_a_stale_old_size() {
        let mut f = fixture();
        f.grow(5);
        let line = String::from_utf8(f.add(0).unwrap()).unwrap();
        assert!(line.starts_with("— w1 ") && line.ends_with('\n'), "{line}");
        f.grow(3);
        assert!(matches!(
            f.add(0),
            Err(WitnessError::WrongOldSize { latest: 5 })
        ));
        f.add(5).unwrap();
        assert_eq!(
            f.witness.latest("example.org/log").unwrap().unwrap().size,
            8
        );
        // The same checkpoint again is fine, but only with an empty proof.
        f.add(8).unwrap();
        let some_proof = consistency_proof(&f.tree, TreeSize(5), TreeSize(8)).unwrap();
        let body = add_checkpoint_body(8, &some_proof, &f.note(&f.log));
        assert!(matches!(
            f.witness.add_checkpoint(&body, 1),
            Err(WitnessError::BadProof { old: 8, new: 8, .. })
        ));
    }

    #[test]
    fn refuses_forks_bad_proofs_unknown_logs_and_bad_signatures() {
        let mut f = fixture();
        f.grow(4);
        f.add(0).unwrap();
        // Another history of size 4.
        let mut other = fixture();
        other.grow(3);
        other.tree.push(leaf_hash(b"other")).unwrap();
        let note = other.note(&f.log);
        let body = add_checkpoint_body(4, &[], &note);
        assert!(matches!(
            f.witness.add_checkpoint(&body, 1),
            Err(WitnessError::SameSizeFork { size: 4 })
        ));
        // A bigger tree that does not extend the cosigned one.
        other.grow(4);
        let proof = consistency_proof(&other.tree, TreeSize(4), TreeSize(8)).unwrap();
        let body = add_checkpoint_body(4, &proof, &other.note(&f.log));
        assert!(matches!(
            f.witness.add_checkpoint(&body, 1),
            Err(WitnessError::BadProof { old: 4, new: 8, .. })
        ));
        assert_eq!(
            f.witness.latest("example.org/log").unwrap().unwrap().size,
            4
        );
        // Signed by a key the witness does not trust for this origin.
        let stranger =
            NoteSigner::new("example.org/log", SigningKey::from_bytes(&[9; 32])).unwrap();
        let body = add_checkpoint_body(4, &[], &f.note(&stranger));
        assert!(matches!(
            f.witness.add_checkpoint(&body, 1),
            Err(WitnessError::NotSigned(_))
        ));
        let unknown =
            NoteSigner::new("example.org/other", SigningKey::from_bytes(&[7; 32])).unwrap();
        let note = Checkpoint::new("example.org/other", TreeSize(1), leaf_hash(b"x"))
            .unwrap()
            .sign(&unknown)
            .unwrap()
            .to_bytes();
        assert!(matches!(
            f.witness
                .add_checkpoint(&add_checkpoint_body(0, &[], &note), 1),
            Err(WitnessError::UnknownOrigin(_))
        ));
        for body in [
            &b"old 01\n\nx"[..],
            b"new 1\n\n",
            b"old 1\nnot-base64\n\n",
            b"old 5",
        ] {
            assert!(matches!(
                f.witness.add_checkpoint(body, 1),
                Err(WitnessError::Malformed(_))
            ));
        }
        let too_old = add_checkpoint_body(9, &[], &f.note(&f.log));
        assert!(matches!(
            f.witness.add_checkpoint(&too_old, 1),
            Err(WitnessError::Malformed(_))
        ));
    }

    #[test]
    fn state_survives_a_new_witness_on_the_same_directory() {
        let mut f = fixture();
        f.grow(6);
        f.add(0).unwrap();
        let signer = CosignatureSigner::new("w1", SigningKey::from_bytes(&[8; 32])).unwrap();
        let again = Witness::new(signer, vec![f.log.verifier()], &f.witness.state).unwrap();
        assert_eq!(
            again.latest("example.org/log").unwrap(),
            f.witness.latest("example.org/log").unwrap()
        );
        f.witness = again;
        assert!(matches!(
            f.add(0),
            Err(WitnessError::WrongOldSize { latest: 6 })
        ));
    }
}
