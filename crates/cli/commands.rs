//! Commands that write: keygen, init, grant, revoke, append; and evidence.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use trail_core::event::{KeyGranted, KeyRevoked};
use trail_core::{
    Appended, Day, Event, Id, Log, OpenOptions, PublicKey, Role, SecretKey, Timestamp,
};

use crate::Failure;
use crate::args::WriteArgs;
use crate::output;

type Outcome = Result<(), Failure>;

pub fn keygen(out: &Path) -> Outcome {
    let key = SecretKey::generate();
    key.write_new_file(out)?;
    output::line(key.public_key())?;
    Ok(())
}

pub fn init(dir: &Path, name: &str, key: &Path, actor: Id, body: &str) -> Outcome {
    let key = SecretKey::load(key)?;
    let log = Log::create(dir, name, &key, actor, body)?;
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

fn open_for_write(write: &WriteArgs) -> Result<(Log, SecretKey), Failure> {
    let key = SecretKey::load(&write.key)?;
    let options = OpenOptions {
        wait: write.wait.map(Duration::from_secs),
    };
    let log = Log::open_with(&write.log.log, options)?;
    Ok((log, key))
}

fn report(appended: &[Appended], json: bool) -> Outcome {
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
    let (log, key) = open_for_write(write)?;
    let event = Event::KeyGranted(KeyGranted {
        actor,
        body,
        public_key,
        roles,
        date: date.unwrap_or_else(today),
    });
    report(&[log.append(&key, event)?], write.json)
}

pub fn revoke(
    write: &WriteArgs,
    public_key: PublicKey,
    reason: String,
    date: Option<Day>,
) -> Outcome {
    let (log, key) = open_for_write(write)?;
    let event = Event::KeyRevoked(KeyRevoked {
        public_key,
        reason,
        date: date.unwrap_or_else(today),
    });
    report(&[log.append(&key, event)?], write.json)
}

/// Reads one JSON event, or JSON Lines of events, naming the line of any error.
fn parse_events(text: &str) -> Result<Vec<Event>, Failure> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(Failure::input("the event file is empty"));
    }
    // A single (possibly pretty-printed) JSON object is one event.
    if let Ok(event) = Event::from_json(trimmed) {
        return Ok(vec![event]);
    }
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    if lines.len() == 1 {
        return Event::from_json(trimmed)
            .map(|e| vec![e])
            .map_err(Failure::input);
    }
    lines
        .into_iter()
        .map(|(n, l)| {
            Event::from_json(l).map_err(|e| Failure::input(format!("line {}: {e}", n + 1)))
        })
        .collect()
}

pub fn append(write: &WriteArgs, event_file: &Path) -> Outcome {
    let text = if event_file == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| Failure::input(format!("standard input: {e}")))?;
        text
    } else {
        std::fs::read_to_string(event_file)
            .map_err(|e| Failure::input(format!("{}: {e}", event_file.display())))?
    };
    let events = parse_events(&text)?;
    let (log, key) = open_for_write(write)?;
    let count = events.len();
    let appended = log.append_all(&key, events).map_err(|e| {
        let mut failure = Failure::from(e);
        if count > 1 {
            failure.message = format!("{} (nothing was appended)", failure.message);
        }
        failure
    })?;
    report(&appended, write.json)
}

pub fn evidence(file: &Path) -> Outcome {
    let f = std::fs::File::open(file)
        .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
    let digest = trail_core::Digest::of_reader(f)
        .map_err(|e| Failure::input(format!("{}: {e}", file.display())))?;
    output::line(format!("{digest}  {}", file.display()))?;
    Ok(())
}
