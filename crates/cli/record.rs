//! `trail prove recommendation` and the checking of its file by
//! `trail verify-proof`: one recommendation's record, checkable offline.

use std::path::Path;

use serde_json::json;
use trail_core::transparency::{Policy, record_file, verify_record};
use trail_core::{Day, Id, Log, Timestamp};

use crate::Failure;
use crate::output;

/// Writes the record of `rec` against the signed checkpoint `note`.
pub fn prove(log: &Log, rec: &str, note: &[u8], out: &Path, json: bool) -> Result<(), Failure> {
    let unknown = || Failure::input(format!("unknown recommendation {}", output::safe(rec)));
    let id = Id::new(rec).map_err(|_| unknown())?;
    let file = record_file(log, &id, note)?;
    // A record with no issue of the recommendation would prove nothing about it.
    let issued = file.entries.iter().any(|e| {
        trail_core::Entry::from_bytes(&e.bytes).is_ok_and(|entry| {
            matches!(entry.event(), trail_core::Event::RecommendationIssued(r) if r.rec == id)
        })
    });
    if !issued {
        return Err(unknown());
    }
    output::write_file(out, &file.to_bytes())?;
    let size = trail_core::transparency::parse_checkpoint_note(note)?
        .1
        .size()
        .0;
    output::result(
        out,
        json,
        "record",
        json!({ "rec": rec, "entries": file.entries.len(), "size": size, "file": output::name(out) }),
        &[format!(
            "wrote the record of {} to {}: {} entries, each with its proof of inclusion in the tree of {size} entries",
            output::safe(rec),
            output::name(out),
            file.entries.len()
        )],
    )
}

/// Checks a record with `policy` and prints the recommendation's state.
pub fn verify(bytes: &[u8], policy: &Policy, at: Option<Day>, json: bool) -> Result<(), Failure> {
    let at = at.unwrap_or_else(|| Day::of_timestamp(Timestamp::now()));
    let verified = verify_record(bytes, policy, at)?;
    let cp = &verified.checkpoint.checkpoint;
    let witnesses = &verified.checkpoint.witnesses;
    let rec = verified
        .view
        .recs
        .get(&verified.rec)
        .ok_or_else(|| Failure::input("the record holds no state for its recommendation"))?;
    if json {
        output::json_line(
            "record",
            json!({ "rec": verified.rec, "entries": verified.entries.len(), "origin": cp.origin(),
                    "size": cp.size().0, "root": cp.root().to_base64(), "witnesses": witnesses,
                    "at": at, "state": rec }),
        )?;
        return Ok(());
    }
    output::line(format!(
        "ok: the record of {} ({} entries: its own and the key entries they rest on) is in the tree of {} entries of {}, root {}{}",
        verified.rec,
        verified.entries.len(),
        cp.size(),
        cp.origin(),
        cp.root().to_base64(),
        crate::proofs::cosigned_by(witnesses)
    ))?;
    let [
        _,
        addressees,
        position,
        claimed,
        assessed,
        schedule,
        closure,
        due,
    ] = crate::replay::row(rec);
    output::line(format!(
        "{} on {at}: addressed to {addressees}; position {position}; claimed {claimed}; \
         assessed {assessed}; schedule {schedule}; closure {closure}; response due {due}",
        verified.rec
    ))?;
    output::line(
        "the record shows what it holds; that nothing about the recommendation was left out needs the log itself",
    )?;
    Ok(())
}
