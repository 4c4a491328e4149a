//! Transparency commands: checkpoint, cosign, prove, verify-proof, and
//! `verify --since`. The formats are in docs/FORMAT.md ("Checkpoints",
//! "Cosignatures", "Proof files").

use std::io::Read;
use std::path::Path;

use serde_json::json;
use trail_core::merkle::tree::LeafIndex;
use trail_core::merkle::{Note, TlogProof};
use trail_core::transparency::{
    self, ConsistencyProofFile, Policy, TransparencyError, check_against_log, cosign_with_log,
    inclusion_proof_file, log_origin, operator_signer, parse_checkpoint_note, sign_checkpoint,
    witness_signer,
};
use trail_core::{Log, bundle};

use crate::Failure;
use crate::args::{CheckpointArgs, CosignArgs, Prove, Source, VerifyProofArgs};
use crate::output;

type Outcome = Result<(), Failure>;

impl From<TransparencyError> for Failure {
    fn from(e: TransparencyError) -> Self {
        Failure::from(trail_core::Error::from(e))
    }
}

/// Largest proof, checkpoint or entry file read (they are a few KiB).
const MAX_FILE: u64 = 4 << 20;
/// Largest recommendation record read: it carries every key entry of the
/// log and each of the recommendation's entries, each with its path.
const MAX_RECORD: u64 = 256 << 20;

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    read_file_up_to(path, MAX_FILE)
}

fn read_file_up_to(path: &Path, max: u64) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| Failure::input(format!("{}: {e}", path.display()));
    let file: Box<dyn Read> = match output::is_dash(path) {
        true => Box::new(std::io::stdin()),
        false => Box::new(std::fs::File::open(path).map_err(fail)?),
    };
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(fail)?;
    if bytes.len() as u64 > max {
        return Err(Failure::input(format!(
            "{}: file is larger than {max} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn describe(note: &Note) -> String {
    match trail_core::merkle::Checkpoint::parse(note.text()) {
        Ok(cp) => format!("{} entries, root {}", cp.size(), cp.root().to_base64()),
        Err(_) => "an unreadable checkpoint".into(),
    }
}

pub fn checkpoint(args: &CheckpointArgs) -> Outcome {
    let key = crate::keyfile::load(&args.key)?;
    let log = Log::open(&args.log.dir()?)?;
    let note = if args.witness.is_empty() && args.quorum == 0 {
        sign_checkpoint(&log, &key)?
    } else {
        // Kept only once the witnesses have cosigned it to the quorum.
        let signed = trail_core::transparency::sign_checkpoint_at(&log, &key, log.tree_size())?;
        let note = crate::witness::collect(&log, &signed.to_bytes(), &args.witness, args.quorum)?;
        log.keep_checkpoint(&note.to_bytes())?;
        note
    };
    output::write_file(&args.out, &note.to_bytes())?;
    let origin = log_origin(&log)?;
    let vkey = operator_signer(&origin, &key)?.verifier().vkey();
    let (_, cp) = parse_checkpoint_note(&note.to_bytes())?;
    output::result(
        &args.out,
        args.json,
        "checkpoint",
        json!({ "size": cp.size().0, "root": cp.root().to_base64(), "origin": origin,
                "file": output::name(&args.out), "operator_key": vkey,
                "signatures": note.signatures().len() }),
        &[
            format!(
                "checkpoint of {}, written to {}",
                describe(&note),
                output::name(&args.out)
            ),
            format!("operator key: {vkey}"),
        ],
    )
}

pub fn cosign(args: &CosignArgs) -> Outcome {
    let key = crate::keyfile::load(&args.key)?;
    let log = Log::open(&args.log.dir()?)?;
    let checkpoint = read_file(&args.checkpoint)?;
    let since = args.since.as_deref().map(read_file).transpose()?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let note = cosign_with_log(&log, &key, &checkpoint, since.as_deref(), now)?;
    output::write_file(&args.checkpoint, &note.to_bytes())?;
    let authority = log.authority()?;
    let actor = authority
        .actor_of(&key.public_key())
        .ok_or_else(|| Failure::input("the witness key is not registered"))?;
    let vkey = witness_signer(actor, &key)?.verifier().vkey();
    let (_, cp) = parse_checkpoint_note(&note.to_bytes())?;
    output::result(
        &args.checkpoint,
        args.json,
        "cosigned",
        json!({ "size": cp.size().0, "root": cp.root().to_base64(), "witness": actor.to_string(),
                "file": output::name(&args.checkpoint), "witness_key": vkey }),
        &[
            format!(
                "cosigned the checkpoint of {} as {actor}, written to {}",
                describe(&note),
                output::name(&args.checkpoint)
            ),
            format!("witness key: {vkey}"),
        ],
    )
}

pub fn prove(what: &Prove) -> Outcome {
    match what {
        Prove::Inclusion {
            log,
            seq,
            checkpoint,
            out,
            entry_out,
            json,
        } => prove_inclusion(
            &log.dir()?,
            *seq,
            checkpoint.as_deref(),
            (out, entry_out.as_deref()),
            *json,
        ),
        Prove::Consistency {
            log,
            from,
            to,
            out,
            json,
        } => prove_consistency(&log.dir()?, from, to, out, *json),
        Prove::Recommendation {
            log,
            rec,
            checkpoint,
            out,
            json,
        } => {
            let dir = log.dir()?;
            let log = Log::open_read(&dir)?;
            let note = checkpoint_note(&log, checkpoint.as_deref())?;
            crate::record::prove(&log, rec, &note, out, *json)
        }
    }
}

/// The signed checkpoint to prove against: the file given, else the latest
/// one kept with the log.
fn checkpoint_note(log: &Log, checkpoint: Option<&Path>) -> Result<Vec<u8>, Failure> {
    match checkpoint {
        Some(path) => read_file(path),
        None => log.latest_checkpoint()?.ok_or_else(|| {
            Failure::input(
                "no checkpoint is kept with this log: run trail checkpoint, or give --checkpoint",
            )
        }),
    }
}

fn prove_inclusion(
    dir: &Path,
    seq: u64,
    checkpoint: Option<&Path>,
    (out, entry_out): (&Path, Option<&Path>),
    json: bool,
) -> Outcome {
    let log = Log::open_read(dir)?;
    let note_bytes = checkpoint_note(&log, checkpoint)?;
    let cp = check_against_log(&log, &note_bytes)?;
    let size = cp.size().0;
    let (note, _) = parse_checkpoint_note(&note_bytes)?;
    let proof = inclusion_proof_file(&log, seq, size, note)?;
    output::write_file(out, &proof)?;
    if let Some(entry_out) = entry_out {
        let entry = log
            .entry_bytes(seq, seq)
            .next()
            .ok_or_else(|| Failure::input(format!("no entry at seq {seq}")))??;
        output::write_file(entry_out, &entry)?;
    }
    output::result(
        out,
        json,
        "proof",
        json!({ "kind": "inclusion", "seq": seq, "size": size, "file": output::name(out) }),
        &[format!(
            "inclusion proof of seq {seq} in the tree of {size} entries, written to {}",
            output::name(out)
        )],
    )
}

fn prove_consistency(dir: &Path, from: &Path, to: &Path, out: &Path, json: bool) -> Outcome {
    let log = Log::open_read(dir)?;
    let (old_bytes, new_bytes) = (read_file(from)?, read_file(to)?);
    let old = check_against_log(&log, &old_bytes)?;
    let new = check_against_log(&log, &new_bytes)?;
    let proof = log.consistency_proof(old.size().0, new.size().0)?;
    let file = ConsistencyProofFile {
        proof,
        old: parse_checkpoint_note(&old_bytes)?.0,
        new: parse_checkpoint_note(&new_bytes)?.0,
    };
    output::write_file(out, &file.to_bytes())?;
    output::result(
        out,
        json,
        "proof",
        json!({ "kind": "consistency", "old_size": old.size().0, "new_size": new.size().0,
                "file": output::name(out) }),
        &[format!(
            "consistency proof from {} to {} entries, written to {}",
            old.size(),
            new.size(),
            output::name(out)
        )],
    )
}

/// Verifier keys given inline or as files of one key per line.
fn vkeys(args: &[String]) -> Result<Vec<String>, Failure> {
    let mut out = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if path.is_file() {
            let text = String::from_utf8(read_file(path)?)
                .map_err(|_| Failure::input(format!("{arg}: not UTF-8 text")))?;
            out.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_owned),
            );
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

pub fn verify_proof(args: &VerifyProofArgs) -> Outcome {
    let policy = Policy::from_vkeys(
        &vkeys(&args.operator_keys)?,
        &vkeys(&args.witness_keys)?,
        args.witnesses,
    )?;
    let proof = read_file_up_to(&args.proof, MAX_RECORD)?;
    if !proof.starts_with(transparency::RECORD_HEADER.as_bytes()) && proof.len() as u64 > MAX_FILE {
        return Err(Failure::input(format!(
            "{}: file is larger than {MAX_FILE} bytes",
            args.proof.display()
        )));
    }
    if proof.starts_with(transparency::RECORD_HEADER.as_bytes()) {
        return crate::record::verify(&proof, &policy, args.at, args.json);
    }
    if proof.starts_with(transparency::CONSISTENCY_HEADER.as_bytes()) {
        let (old, new) = transparency::verify_consistency_file(&proof, &policy)?;
        let (old, new) = (old.checkpoint, new.checkpoint);
        if args.json {
            output::json_line(
                "consistent",
                json!({ "origin": new.origin(), "old_size": old.size().0, "new_size": new.size().0,
                        "new_root": new.root().to_base64() }),
            )?;
        } else {
            output::line(format!(
                "ok: the tree of {} entries is a prefix of the tree of {} entries of {}",
                old.size(),
                new.size(),
                new.origin()
            ))?;
        }
        return Ok(());
    }
    let entry = match (&args.entry, &args.bundle) {
        (Some(path), _) => Some(read_file(path)?),
        (None, Some(bundle)) => {
            let stdin = output::stdin_if_dash(bundle)?;
            Some(entry_from_bundle(
                stdin.as_ref().map_or(bundle.as_path(), |f| f.path()),
                &proof,
            )?)
        }
        (None, None) => None,
    };
    let verified = transparency::verify_inclusion(&proof, entry.as_deref(), &policy)?;
    let cp = &verified.checkpoint.checkpoint;
    if let Some(trusted) = &args.checkpoint {
        let (_, trusted) = parse_checkpoint_note(&read_file(trusted)?)?;
        // Equal sizes must have equal roots; anything else needs a consistency proof.
        transparency::check_consistent(&trusted, cp, &[]).map_err(|e| match e {
            TransparencyError::BadProof(_) | TransparencyError::RolledBack { .. } => {
                Failure::input(format!(
                    "the proof is against the checkpoint of {} entries, not the given one of {}; prove consistency between them",
                    cp.size(),
                    trusted.size()
                ))
            }
            other => other.into(),
        })?;
    }
    let u = &verified.entry.unsigned;
    let witnesses = &verified.checkpoint.witnesses;
    if args.json {
        output::json_line(
            "included",
            json!({ "seq": u.seq, "hash": verified.entry.hash().to_string(),
                    "kind": u.event.kind().name(), "origin": cp.origin(),
                    "size": cp.size().0, "root": cp.root().to_base64(), "witnesses": witnesses }),
        )?;
    } else {
        output::line(format!(
            "ok: seq {} ({}, hash {}) is in the tree of {} entries of {}, root {}{}",
            u.seq,
            u.event.kind().name(),
            verified.entry.hash(),
            cp.size(),
            cp.origin(),
            cp.root().to_base64(),
            cosigned_by(witnesses)
        ))?;
    }
    Ok(())
}

/// ", cosigned by w1, w2" for the witnesses whose cosignatures verified, or nothing.
pub fn cosigned_by(witnesses: &[String]) -> String {
    if witnesses.is_empty() {
        String::new()
    } else {
        format!(", cosigned by {}", output::safe(&witnesses.join(", ")))
    }
}

/// The canonical bytes of the entry a proof is about, from a verified
/// bundle of the same log.
fn entry_from_bundle(path: &Path, proof: &[u8]) -> Result<Vec<u8>, Failure> {
    let parsed = TlogProof::parse(proof).map_err(|e| {
        Failure::from(trail_core::Error::from(TransparencyError::Malformed {
            what: "inclusion proof",
            reason: e.to_string(),
        }))
    })?;
    let LeafIndex(index) = parsed.index;
    let (_, cp) = parse_checkpoint_note(&parsed.checkpoint.to_bytes())?;
    let mut found = None;
    let mut origin = None;
    bundle::verify_reader(bundle::open(path)?, |_, chunk| {
        for e in chunk {
            origin.get_or_insert_with(|| transparency::origin_of_genesis(e.entry()));
            if e.seq() == index {
                found = Some(e.bytes().to_vec());
            }
        }
        Ok(())
    })?;
    if let Some(origin) = origin
        && origin != cp.origin()
    {
        return Err(trail_core::Error::from(TransparencyError::WrongLog {
            expected: origin,
            found: cp.origin().to_owned(),
        })
        .into());
    }
    found.ok_or_else(|| Failure::input(format!("the bundle holds no entry at seq {index}")))
}

/// `trail verify --since CHECKPOINT`: verify everything, then that the log
/// or bundle extends what the checkpoint committed to.
pub fn verify_since(source: &Source, since: &Path, json: bool) -> Outcome {
    let note = read_file(since)?;
    let (_stdin, bundle) = source.bundle_file()?;
    let (what, result) = match &bundle {
        Some(bundle) => (
            bundle.display().to_string(),
            bundle::check_against_bundle(bundle, &note).map(|(v, cp)| (v.len(), v.head_hash(), cp)),
        ),
        None => {
            let dir = source.dir()?;
            let log = Log::open_read(&dir)?;
            let result = log.verify_with(|_| Ok(())).and_then(|v| {
                check_against_log(&log, &note).map(|cp| (v.len(), v.head_hash(), cp))
            });
            (source.describe(&dir), result)
        }
    };
    match result {
        Ok((entries, head, cp)) => {
            if json {
                output::json_line(
                    "verified",
                    json!({ "entries": entries, "head": head.to_string(),
                            "extends": { "size": cp.size().0, "root": cp.root().to_base64() } }),
                )?;
            } else {
                output::line(format!(
                    "{what}: intact: {entries} entries, head {head}; extends the checkpoint of {} entries (root {})",
                    cp.size(),
                    cp.root().to_base64()
                ))?;
            }
            Ok(())
        }
        Err(e) => {
            if json {
                let fork = matches!(
                    e,
                    trail_core::Error::Transparency(TransparencyError::Fork(_))
                );
                output::json_line("failed", json!({ "fork": fork, "problem": e.to_string() }))?;
            }
            Err(e.into())
        }
    }
}
