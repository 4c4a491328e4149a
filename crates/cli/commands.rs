//! Commands that write: keygen, init, grant, revoke, append; and evidence.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use trail_core::event::{KeyGranted, KeyRevoked, KeyRotated};
use trail_core::{
    Appended, Day, Event, Id, Log, OpenOptions, PublicKey, Role, SecretKey, Timestamp,
};

use crate::Failure;
use crate::args::WriteArgs;
use crate::output;
use crate::remote::Submitted;

type Outcome = Result<(), Failure>;

pub fn keygen(out: &Path, unencrypted: bool, json: bool) -> Outcome {
    let key = SecretKey::generate();
    crate::keyfile::write_new(&key, out, unencrypted)?;
    if json {
        output::json_line(
            "key",
            json!({ "public_key": key.public_key().to_string(), "file": out.display().to_string(),
                    "encrypted": !unencrypted }),
        )?;
    } else {
        output::line(key.public_key())?;
    }
    Ok(())
}

pub fn init(
    dir: &Path,
    name: &str,
    key: &Path,
    actor: Id,
    body: &str,
    origin: Option<String>,
) -> Outcome {
    let key = crate::keyfile::load(key)?;
    let new = trail_core::NewLog {
        name: name.to_owned(),
        actor,
        body: body.to_owned(),
        origin,
        recorded_at: None,
    };
    let log = Log::create_with(dir, &key, new)?;
    let head = log
        .head()
        .ok_or_else(|| Failure::input("log has no genesis entry"))?;
    output::line(format!(
        "created log {:?} in {}",
        output::safe(name),
        dir.display()
    ))?;
    output::line(format!("seq 0 {}", head.hash))?;
    Ok(())
}

fn today() -> Day {
    Day::of_timestamp(Timestamp::now())
}

fn open_for_write(write: &WriteArgs, dir: &Path) -> Result<Log, Failure> {
    let options = OpenOptions {
        wait: Some(
            write
                .wait
                .map_or(trail_core::BRIEF_WAIT, Duration::from_secs),
        ),
    };
    Ok(Log::open_with(dir, options)?)
}

/// Appends `events` signed with the --key, all or nothing: to the log
/// directory, or, with --remote, signed here and sent to the served log.
fn submit(
    write: &WriteArgs,
    events: Vec<Event>,
    options: trail_core::AppendOptions,
) -> Result<Vec<Appended>, Submitted> {
    let key = crate::keyfile::load(&write.key)?;
    if let Some(url) = &write.log.remote.remote {
        let server = crate::remote::Server::new(
            url,
            write.token.clone(),
            write.log.remote.ca_cert.as_deref(),
        )?;
        let cache = write.log.remote.cache.as_deref();
        return crate::remote::append(
            &server,
            cache,
            &key,
            events,
            options,
            write.receipt.as_deref(),
        );
    }
    if write.receipt.is_some() {
        return Err(Failure::input(
            "--receipt needs --remote: a local append has no server to give one",
        )
        .into());
    }
    let dir = write.log.dir()?;
    let log = open_for_write(write, &dir)?;
    log.append_all_with(&key, events, options)
        .map_err(Submitted::Refused)
}

/// Appends one event, reporting a refusal with advice.
fn submit_one(write: &WriteArgs, event: Event) -> Outcome {
    let appended =
        submit(write, vec![event], trail_core::AppendOptions::default()).map_err(|e| match e {
            Submitted::Refused(e) => advise(e),
            Submitted::Failed(f) => f,
        })?;
    report(&appended, write)
}

fn report(appended: &[Appended], write: &WriteArgs) -> Outcome {
    if write.quiet {
        return Ok(());
    }
    let json = write.json;
    for a in appended {
        if json {
            output::json_line(
                "appended",
                json!({ "seq": a.seq, "hash": a.hash.to_string() }),
            )?;
        } else {
            output::line(format!("seq {} {}", a.seq, a.hash))?;
        }
    }
    Ok(())
}

pub fn grant(
    write: &WriteArgs,
    actor: Id,
    body: String,
    public_key: PublicKey,
    roles: Vec<Role>,
    date: Option<Day>,
) -> Outcome {
    let event = Event::KeyGranted(KeyGranted {
        actor,
        body,
        public_key,
        roles,
        date: date.unwrap_or_else(today),
    });
    submit_one(write, event)
}

pub fn revoke(
    write: &WriteArgs,
    public_key: PublicKey,
    reason: String,
    date: Option<Day>,
) -> Outcome {
    let event = Event::KeyRevoked(KeyRevoked {
        public_key,
        reason,
        date: date.unwrap_or_else(today),
    });
    submit_one(write, event)
}

/// Appends a `key_rotated` entry signed by the old key (`--key`).
pub fn rotate(write: &WriteArgs, new_public_key: PublicKey, date: Option<Day>) -> Outcome {
    let event = Event::KeyRotated(KeyRotated {
        new_public_key,
        date: date.unwrap_or_else(today),
    });
    submit_one(write, event)
}

/// Reads one JSON event, or JSON Lines of events, naming the line of any error.
/// Reads one JSON event, or JSON Lines of events, naming the line of any
/// error. Returns each event with the line it starts on.
fn parse_events(text: &str, source: &str) -> Result<Vec<(usize, Event)>, Failure> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Failure::input(format!("{source}: the event file is empty")));
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(n, l)| (n + 1, l))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    // A single (possibly pretty-printed) JSON object is one event.
    let first_line = lines.first().map_or(1, |(n, _)| *n);
    match Event::from_json(trimmed) {
        Ok(event) => return Ok(vec![(first_line, event)]),
        Err(e) if lines.len() == 1 => return Err(Failure::input(format!("{source}: {e}"))),
        Err(_) => {}
    }
    lines
        .into_iter()
        .map(|(n, l)| {
            Event::from_json(l)
                .map(|e| (n, e))
                .map_err(|e| Failure::input(format!("{source}: line {n}: {e}")))
        })
        .collect()
}

/// A library error as a failure, with advice where the CLI has a flag for it.
fn advise(e: trail_core::Error) -> Failure {
    let future = matches!(e, trail_core::Error::FutureDate { .. });
    let mut failure = Failure::from(e);
    if future {
        failure
            .message
            .push_str(" (pass --allow-future-dates if the date is right)");
    }
    failure
}

pub fn append(write: &WriteArgs, event_file: &Path, allow_future_dates: bool) -> Outcome {
    let (text, source) = if event_file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::input(format!("standard input: {e}")))?;
        (text, "standard input".to_owned())
    } else {
        let text = std::fs::read_to_string(event_file)
            .map_err(|e| Failure::input(format!("{}: {e}", event_file.display())))?;
        (text, event_file.display().to_string())
    };
    let parsed = parse_events(&text, &source)?;
    let lines: Vec<usize> = parsed.iter().map(|(n, _)| *n).collect();
    let events: Vec<Event> = parsed.into_iter().map(|(_, e)| e).collect();
    let mut options = trail_core::AppendOptions::default();
    options.allow_future_dates = allow_future_dates;
    let appended = submit(write, events, options).map_err(|e| match e {
        Submitted::Failed(f) => f,
        Submitted::Refused(trail_core::Error::InBatch {
            index,
            source: inner,
        }) => {
            let mut failure = advise(*inner);
            let line = lines.get(index).copied().unwrap_or(index + 1);
            failure.message = format!(
                "{source}: line {line}: {} (nothing was appended)",
                failure.message
            );
            failure
        }
        Submitted::Refused(other) => advise(other),
    })?;
    report(&appended, write)
}

pub fn evidence(file: &Path, json: bool) -> Outcome {
    let f: Box<dyn Read> = match output::is_dash(file) {
        true => Box::new(std::io::stdin()),
        false => Box::new(
            std::fs::File::open(file)
                .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?,
        ),
    };
    let digest = trail_core::Digest::of_reader(f)
        .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
    if json {
        output::json_line(
            "evidence",
            json!({ "blake3": digest.to_string(), "file": file.display().to_string() }),
        )?;
    } else {
        output::line(format!("{digest}  {}", file.display()))?;
    }
    Ok(())
}
