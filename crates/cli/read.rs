//! Commands that read: verify, show, export, import.

use std::path::Path;

use serde_json::json;
use trail_core::{Authority, Entry, Event, Log, bundle};

use crate::Failure;
use crate::args::Source;
use crate::output;
use crate::progress::Progress;

type Outcome = Result<(), Failure>;

pub fn verify(source: &Source, json: bool) -> Outcome {
    let (stdin, bundle_path) = source.bundle_file()?;
    let (what, result) = match &bundle_path {
        Some(bundle) => {
            let bar = Progress::entries("verifying", None, json);
            let result = bundle::verify_file_with_checkpoint(bundle, &mut |done| bar.set(done));
            let name = match &stdin {
                Some(_) => "standard input".to_owned(),
                None => bundle.display().to_string(),
            };
            (name, result)
        }
        None => {
            let dir = source.dir()?;
            let log = Log::open_read(&dir)?;
            let bar = Progress::entries("verifying", log.head().map(|h| h.seq + 1), json);
            let mut done = 0;
            let result = log.verify_with(|chunk| {
                done += chunk.len() as u64;
                bar.set(done);
                Ok(())
            });
            if let Some(damage) = log.derived_damage() {
                // The entries were read from the segments, which sled's
                // files never hold: a note on the derived data, and the fix.
                eprintln!(
                    "trail: {}: the derived data in sled's files is damaged ({damage}) and was \
                     rebuilt in memory from the entries; run trail repair --log {} to rebuild it on disk",
                    dir.display(),
                    dir.display()
                );
            }
            (source.describe(&dir), result.map(|v| (v, None)))
        }
    };
    match result {
        Ok((verifier, checkpoint)) => {
            // The size of the checkpoint a bundle carries, checked by now.
            let checkpoint_size = checkpoint.map(|c| c.checkpoint.size().0);
            if verifier.indexes_rebuilt() {
                // Derived data only: the entries are intact, so this is a note, not a failure.
                eprintln!(
                    "trail: {what}: the query indexes did not match the entries and were rebuilt from them"
                );
            }
            if json {
                let mut record =
                    json!({ "entries": verifier.len(), "head": verifier.head_hash().to_string() });
                if verifier.indexes_rebuilt() {
                    record["indexes_rebuilt"] = json!(true);
                }
                if let Some(size) = checkpoint_size {
                    record["checkpoint_size"] = json!(size);
                }
                output::json_line("verified", record)?;
            } else {
                output::line(format!(
                    "{what}: intact: {} entries, head {}",
                    verifier.len(),
                    verifier.head_hash()
                ))?;
                if let Some(size) = checkpoint_size {
                    output::line(format!(
                        "{what}: its checkpoint (tree size {size}) is signed by the log's operator \
                         and matches these entries; check witnesses with trail verify-proof"
                    ))?;
                }
            }
            Ok(())
        }
        Err(e) => {
            if json {
                let seq = match &e {
                    trail_core::Error::Verify(v) => Some(v.seq),
                    _ => None,
                };
                output::json_line("failed", json!({ "seq": seq, "problem": e.to_string() }))?;
            }
            match bundle_path {
                Some(_) => Err(in_bundle(&what)(e)),
                None => Err(e.into()),
            }
        }
    }
}

/// An error met reading a bundle, named by the file (`name`): every bundle
/// problem, a bad entry in it included, then says which file, as every
/// other file error does.
pub fn in_bundle(name: &str) -> impl Fn(trail_core::Error) -> Failure + '_ {
    move |e| {
        let named = matches!(
            e,
            trail_core::Error::Bundle(_)
                | trail_core::Error::NotABundle { .. }
                | trail_core::Error::BundleRead(_)
                | trail_core::Error::Verify(_)
        );
        let mut failure = Failure::from(e);
        if named {
            let message = failure.message.trim_start_matches("bundle: ").to_owned();
            failure.message = format!("{name}: {message}");
        }
        failure
    }
}

/// A one-line summary of an event for the table view.
pub fn summary(event: &Event) -> String {
    event.summary()
}

fn signer_name(authority: &Authority, entry: &Entry) -> String {
    authority
        .actor_of(&entry.unsigned.signer)
        .map_or_else(|| entry.unsigned.signer.short(), |a| a.to_string())
}

pub fn show(
    dir: &Path,
    from: u64,
    to: Option<u64>,
    filter: &crate::args::EntryFilter,
    json: bool,
) -> Outcome {
    let log = Log::open_read(dir)?;
    let authority = log.authority()?;
    // The table streams (a log may hold millions of entries), so its widths
    // come from what can be known first: the registry's actor ids and the
    // longest event type.
    let header = ["seq", "recorded (UTC)", "signer", "type", "date", "summary"];
    let widths = [
        5,
        19,
        authority
            .actors
            .keys()
            .map(|a| a.as_str().chars().count())
            .chain([6, 8])
            .max()
            .unwrap_or(8),
        trail_core::EventKind::ALL
            .iter()
            .map(|k| k.name().len())
            .max()
            .unwrap_or(26),
        10,
        0,
    ];
    if !json {
        output::line(output::row(&header.map(str::to_owned), &widths))?;
    }
    // With --rec, --actor or --type, the indexes say which entries to read.
    let entries: Box<dyn Iterator<Item = trail_core::Result<Entry>>> =
        match filter.candidates(&log)? {
            Some(seqs) => Box::new(
                seqs.into_iter()
                    .filter(move |s| *s >= from && to.is_none_or(|to| *s <= to))
                    .flat_map(|s| log.entries(s, Some(s)).collect::<Vec<_>>()),
            ),
            None => Box::new(log.entries(from, to)),
        };
    for entry in entries {
        let entry = entry?;
        if !filter.keeps(&entry, &authority) {
            continue;
        }
        let u = &entry.unsigned;
        if json {
            output::json_line(
                "entry",
                json!({
                    "seq": u.seq,
                    "hash": entry.hash().to_string(),
                    "prev_hash": u.prev_hash.to_string(),
                    "recorded_at": u.recorded_at.to_string(),
                    "signer": u.signer.to_string(),
                    "actor": authority.actor_of(&u.signer).map(|a| a.to_string()),
                    "event": &u.event,
                    "signature": entry.signature.to_string(),
                }),
            )?;
        } else {
            let cells = [
                u.seq.to_string(),
                u.recorded_at.0.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                output::cell(&signer_name(&authority, &entry), output::MAX_CELL),
                u.event.kind().name().to_owned(),
                u.event.date().to_string(),
                output::cell(&summary(&u.event), output::MAX_CELL),
            ];
            output::line(output::row(&cells, &widths))?;
        }
    }
    Ok(())
}

/// Says what a command did: a JSON Lines record with `--json`, else a line
/// of text, on standard error when the command's output went to standard output.
fn done(out: &Path, json: bool, kind: &str, data: serde_json::Value, text: String) -> Outcome {
    output::result(out, json, kind, data, &[text])
}

pub fn repair(dir: &Path, json: bool) -> Outcome {
    let repaired = Log::repair_dir(dir).map_err(|e| {
        let bad_entry = matches!(e, trail_core::Error::Verify(_));
        let mut failure = Failure::from(e);
        if bad_entry {
            failure.message.push_str(
                "; a repair cannot mend an entry: trail export --partial saves the entries before it",
            );
        }
        failure
    })?;
    let head = if repaired.head_rewritten {
        "the head record (it was wrong), "
    } else {
        "the head record, "
    };
    let mended = match (repaired.sled_recreated, repaired.marker_rewritten) {
        (true, true) => "; sled's damaged files were replaced and the marker file rewritten",
        (true, false) => "; sled's damaged files were replaced",
        (false, true) => "; the damaged marker file was rewritten",
        (false, false) => "",
    };
    done(
        Path::new(""),
        json,
        "repaired",
        json!({ "log": dir.display().to_string(), "entries": repaired.entries,
                "head_rewritten": repaired.head_rewritten,
                "sled_recreated": repaired.sled_recreated,
                "marker_rewritten": repaired.marker_rewritten }),
        format!(
            "repaired {}: {} entries verified from the genesis; rebuilt {head}the Merkle tree, \
             the registry rows and the indexes (replay snapshots and the search text are \
             rebuilt when next needed){mended}",
            dir.display(),
            repaired.entries
        ),
    )
}

pub fn export(dir: &Path, out: &Path, partial: bool, json: bool) -> Outcome {
    let log = Log::open_read(dir)?;
    if output::is_dash(out) {
        if partial {
            return Err(Failure::input("--partial writes a file: give --out FILE"));
        }
        let mut stdout = std::io::stdout().lock();
        let count =
            bundle::export_to(&log, &mut stdout, Path::new("standard output"), &mut |_| {})?;
        drop(stdout);
        return done(
            out,
            json,
            "exported",
            json!({ "entries": count, "file": "-" }),
            format!("exported {count} verified entries to standard output"),
        );
    }
    if partial {
        let saved = bundle::export_partial(&log, out)?;
        done(
            out,
            json,
            "exported",
            json!({ "entries": saved.entries, "file": out.display().to_string(),
                    "partial": true, "stopped": saved.stopped.as_ref().map(|e| e.to_string()) }),
            format!(
                "saved {} verified entries (seq 0 to {}) to {}",
                saved.entries,
                saved.entries.saturating_sub(1),
                out.display()
            ),
        )?;
        return match saved.stopped {
            None => Ok(()),
            Some(e) => {
                let mut failure = Failure::from(e);
                failure.code = 1;
                if !failure.message.starts_with("seq ") {
                    failure.message = format!("seq {}: {}", saved.entries, failure.message);
                }
                failure.message = format!("stopped at {}", failure.message);
                Err(failure)
            }
        };
    }
    let bar = Progress::entries("exporting", log.head().map(|h| h.seq + 1), json);
    let count = bundle::export_with(&log, out, &mut |n| bar.set(n))?;
    drop(bar);
    done(
        out,
        json,
        "exported",
        json!({ "entries": count, "file": out.display().to_string() }),
        format!("exported {count} verified entries to {}", out.display()),
    )
}

pub fn import(bundle_path: &Path, dir: &Path, json: bool) -> Outcome {
    let stdin = output::stdin_if_dash(bundle_path)?;
    let bundle_name = match &stdin {
        Some(_) => "standard input".to_owned(),
        None => bundle_path.display().to_string(),
    };
    let bundle_path = stdin.as_ref().map_or(bundle_path, |f| f.path());
    if dir.join("TRAIL_LOG").is_file() {
        let log = Log::open(dir)?;
        let bar = Progress::entries("importing", None, json);
        let extended = bundle::extend(bundle_path, &log, &mut |n| bar.set(n))
            .map_err(in_bundle(&bundle_name))?;
        drop(bar);
        let added = extended.after - extended.before;
        if json {
            return Ok(output::json_line(
                "imported",
                json!({ "log": dir.display().to_string(), "appended": added,
                        "entries": extended.after }),
            )?);
        }
        return output::line(match added {
            0 => format!(
                "{} already holds every entry of the bundle ({} entries)",
                dir.display(),
                extended.after
            ),
            _ => format!(
                "appended {added} verified entries to {} (it now holds {})",
                dir.display(),
                extended.after
            ),
        })
        .map_err(Failure::from);
    }
    let bar = Progress::entries("importing", None, json);
    let count = bundle::import_with(bundle_path, dir, &mut |n| bar.set(n))
        .map_err(in_bundle(&bundle_name))?;
    drop(bar);
    if json {
        output::json_line(
            "imported",
            json!({ "log": dir.display().to_string(), "appended": count, "entries": count }),
        )?;
    } else {
        output::line(format!(
            "imported {count} verified entries into {}",
            dir.display()
        ))?;
    }
    Ok(())
}
