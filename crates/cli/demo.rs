//! `trail demo`: builds a log from the public facts of the Operation Linden
//! case (../shared/SCENARIO.md) plus clearly labelled illustrative entries for
//! a fictional force, then verifies it, exports it and verifies the bundle.

use std::path::PathBuf;

use serde_json::{Value, json};
use trail_core::{Digest, Event, Id, Log, Role, SecretKey, Timestamp, bundle};

use crate::Failure;
use crate::output;

/// One line of the demo's story: text, or a JSON Lines record with `--json`.
fn say(json: bool, text: impl std::fmt::Display) -> Result<(), Failure> {
    match json {
        true => output::json_line("demo", serde_json::json!({ "text": text.to_string() }))?,
        false => output::line(text)?,
    }
    Ok(())
}

/// Someone who signs in the demo: actor id, organisation, roles.
struct Signer {
    actor: &'static str,
    body: &'static str,
    roles: &'static [Role],
    key: SecretKey,
}

const ILLUSTRATIVE: &str = "ILLUSTRATIVE (fictional, for the demo): ";

fn signers() -> Vec<Signer> {
    let make = |actor, body, roles| Signer {
        actor,
        body,
        roles,
        key: SecretKey::generate(),
    };
    vec![
        make(
            "iopc",
            "Independent Office for Police Conduct",
            &[Role::Issuer],
        ),
        make("syp", "South Yorkshire Police", &[Role::Respondent]),
        make("college", "College of Policing", &[Role::Respondent]),
        make(
            "pcc-sy",
            "Police and Crime Commissioner for South Yorkshire",
            &[Role::Funder],
        ),
        make(
            "northshire",
            "Northshire Police (fictional)",
            &[Role::Respondent],
        ),
        make(
            "northshire-pcc",
            "Northshire Police and Crime Commissioner (fictional)",
            &[Role::Funder],
        ),
        make(
            "inspectorate",
            "Illustrative Inspectorate (fictional)",
            &[Role::Assessor],
        ),
        make(
            "oversight",
            "Illustrative Oversight Office (fictional)",
            &[Role::Issuer],
        ),
    ]
}

/// The twelve Linden recommendations, by the themes the press reported; the
/// split into twelve and the addressees of each are illustrative.
const LINDEN_THEMES: [(&str, &str); 4] = [
    (
        "Training for officers on child sexual exploitation, kept up to date as staff turn over",
        "college",
    ),
    ("Support provided to survivors", "syp"),
    ("Information sharing between forces", "college"),
    ("How child sexual exploitation offences are recorded", "syp"),
];

fn ev(value: Value) -> Result<Event, Failure> {
    Event::from_json(&value.to_string()).map_err(|e| Failure::input(format!("demo event: {e}")))
}

fn linden_events() -> Result<Vec<Event>, Failure> {
    let mut events = vec![ev(json!({
        "type": "report_published", "report": "LINDEN-2021",
        "title": "Operation Linden: IOPC investigation into South Yorkshire Police's response to child sexual exploitation in Rotherham, 1997-2013",
        "date": "2021-11-23"
    }))?];
    for n in 1..=12 {
        let (theme, addressee) = LINDEN_THEMES[(n - 1) / 3];
        events.push(ev(json!({
            "type": "recommendation_issued", "rec": format!("LINDEN-R{n}"), "report": "LINDEN-2021",
            "addressees": [addressee],
            "subject": format!("{theme} (theme as reported in the press; wording and addressee illustrative)"),
            "date": "2021-11-23"
        }))?);
    }
    Ok(events)
}

fn northshire_events() -> Result<Vec<Event>, Failure> {
    let report = vec![
        ev(json!({"type": "report_published", "report": "NORTH-2022",
            "title": format!("{ILLUSTRATIVE}review of Northshire Police crime recording"), "date": "2022-03-01"}))?,
        ev(
            json!({"type": "recommendation_issued", "rec": "NORTH-R1", "report": "NORTH-2022",
            "addressees": ["northshire"], "subject": format!("{ILLUSTRATIVE}record every reported crime against a child within 24 hours"),
            "date": "2022-03-01"}),
        )?,
        ev(
            json!({"type": "recommendation_issued", "rec": "NORTH-R2", "report": "NORTH-2022",
            "addressees": ["northshire"], "subject": format!("{ILLUSTRATIVE}audit crime recording quarterly and publish the results"),
            "date": "2022-03-01"}),
        )?,
    ];
    Ok(report)
}

/// Appends `events` signed by `who`, recorded at `recorded` (UTC): the demo
/// records its statements at plausible past times, so that what the log
/// said on a date (`--known-at`) and what was true on it (`--at`) can differ.
fn append(log: &Log, who: &Signer, recorded: &str, events: Vec<Event>) -> Result<u64, Failure> {
    log.set_clock(Some(instant(recorded)?));
    let appended = log.append_all(&who.key, events)?;
    Ok(appended.len() as u64)
}

fn instant(text: &str) -> Result<Timestamp, Failure> {
    text.parse().map_err(Failure::input)
}

/// When the inspection of 1 September 2023 was entered: months later, as
/// records of the past often are.
const BACKFILLED: &str = "2024-02-05T10:00:00Z";

pub fn run(dir: Option<PathBuf>, json: bool) -> Result<(), Failure> {
    let dir = match dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("trail-demo-{}", std::process::id())),
    };
    if dir.exists()
        && std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return Err(Failure::input(format!(
            "{}: directory is not empty; give --dir a new directory",
            dir.display()
        )));
    }
    let keys_dir = dir.join("keys");
    std::fs::create_dir_all(&keys_dir)
        .map_err(|e| Failure::input(format!("{}: {e}", keys_dir.display())))?;
    let log_dir = dir.join("log");

    // The demo's keys are throwaway and written unencrypted (as `keygen
    // --unencrypted` would) so that the demo runs without a passphrase prompt.
    let admin = SecretKey::generate();
    admin.write_new_file(&keys_dir.join("admin.key"))?;
    let log = Log::create_with(
        &log_dir,
        &admin,
        trail_core::NewLog {
            name: "Operation Linden recommendations (demo)".into(),
            actor: Id::new("admin").map_err(Failure::input)?,
            body: "Demo log administrator".into(),
            origin: None,
            recorded_at: Some(instant("2021-11-01T09:00:00Z")?),
        },
    )?;
    let people = signers();
    let by = |actor: &str| {
        people
            .iter()
            .find(|p| p.actor == actor)
            .ok_or_else(|| Failure::input("demo signer missing"))
    };
    let mut grants = Vec::new();
    for p in &people {
        p.key
            .write_new_file(&keys_dir.join(format!("{}.key", p.actor)))?;
        grants.push(ev(
            json!({"type": "key_granted", "actor": p.actor, "body": p.body,
            "public_key": p.key.public_key().to_string(), "roles": p.roles, "date": "2021-11-01"}),
        )?);
    }
    let mut count = 1 + append(
        &log,
        &Signer {
            actor: "admin",
            body: "",
            roles: &[],
            key: admin,
        },
        "2021-11-01T09:30:00Z",
        grants,
    )?;
    say(
        json,
        format!(
            "built a log in {} (its entries are recorded at plausible past times, from 1 November 2021)",
            log_dir.display()
        ),
    )?;

    // Public facts of 23 November 2021 (SCENARIO.md).
    count += append(&log, by("iopc")?, "2021-11-23T11:00:00Z", linden_events()?)?;
    count += append(
        &log,
        by("pcc-sy")?,
        "2021-11-23T16:00:00Z",
        vec![ev(json!({
        "type": "progress_claim", "rec": "LINDEN-R12", "status": "in_progress", "subject": "syp",
        "narrative": "The PCC said the force has already made progress in some of the areas the recommendations cover (as reported on 23 November 2021). No evidence was attached.",
        "date": "2021-11-23"}))?],
    )?;
    say(
        json,
        "  Operation Linden: the IOPC report and its 12 recommendations (23 Nov 2021), and the PCC's statement of progress, a third-party claim with no evidence",
    )?;

    // Illustrative entries for a fictional force: a claim that a later assessment contradicts.
    count += append(
        &log,
        by("oversight")?,
        "2022-03-01T10:00:00Z",
        northshire_events()?,
    )?;
    let north = by("northshire")?;
    count += append(
        &log,
        north,
        "2022-04-20T15:00:00Z",
        vec![
            ev(
                json!({"type": "response_recorded", "rec": "NORTH-R1", "position": "accepted",
            "actions": format!("{ILLUSTRATIVE}new recording desk staffed around the clock"), "target": "2022-12-31", "date": "2022-04-20"}),
            )?,
            ev(
                json!({"type": "response_recorded", "rec": "NORTH-R2", "position": "accepted_in_part",
            "actions": format!("{ILLUSTRATIVE}audits twice a year, not quarterly"), "target": "2023-06-30", "date": "2022-04-20"}),
            )?,
        ],
    )?;
    count += append(
        &log,
        by("northshire-pcc")?,
        "2022-05-10T12:00:00Z",
        vec![ev(json!({
        "type": "funding_decision", "decision": "N22/007", "amount_minor": 25_000_000, "currency": "GBP",
        "purpose": format!("{ILLUSTRATIVE}crime recording desk"), "recs": ["NORTH-R1"], "stage": "approved", "date": "2022-05-10"}))?],
    )?;
    let plan = Digest::of(b"Northshire Police crime recording plan (illustrative)");
    count += append(
        &log,
        north,
        "2023-01-15T09:00:00Z",
        vec![ev(json!({
        "type": "progress_claim", "rec": "NORTH-R1", "status": "implemented", "subject": "northshire",
        "narrative": format!("{ILLUSTRATIVE}the recording desk is open and all crimes against children are recorded within 24 hours"),
        "evidence": [{"name": "recording-plan.pdf", "blake3": plan.to_string(), "kind": "self_report"}],
        "date": "2023-01-15"}))?],
    )?;
    let inspection = Digest::of(b"Illustrative inspection report, Northshire, 2023");
    count += append(
        &log,
        by("inspectorate")?,
        BACKFILLED,
        vec![ev(json!({
        "type": "assessment", "rec": "NORTH-R1", "verdict": "not_implemented", "coverage": "full",
        "narrative": format!("{ILLUSTRATIVE}a sample of 200 reports found 31 crimes against children not recorded within 24 hours"),
        "evidence": [{"name": "inspection-2023.pdf", "blake3": inspection.to_string(), "kind": "independent_inspection"}],
        "date": "2023-09-01"}))?],
    )?;
    say(
        json,
        "  Northshire Police (fictional): responses, funding, an \"implemented\" claim on self-report evidence, and an inspection that finds it not implemented",
    )?;

    let verifier = log.verify_with(|_| Ok(()))?;
    say(
        json,
        format!(
            "verified the log: {} entries intact, head {}",
            verifier.len(),
            verifier.head_hash()
        ),
    )?;
    debug_assert_eq!(count, verifier.len());
    let bundle_path = dir.join("demo.trail");
    bundle::export(&log, &bundle_path)?;
    drop(log);
    let again = bundle::verify_file(&bundle_path)?;
    say(
        json,
        format!(
            "exported {} and verified the bundle on its own: {} entries, same head: {}",
            bundle_path.display(),
            again.len(),
            if again.head_hash() == verifier.head_hash() {
                "yes"
            } else {
                "NO"
            }
        ),
    )?;
    replay_and_check(&log_dir, json)?;
    say(
        json,
        format!(
            "try: trail show --log {}   (secret keys of the demo signers are in {})",
            log_dir.display(),
            keys_dir.display()
        ),
    )?;
    Ok(())
}

/// Shows the two questions auditors ask first, on the demo log.
fn replay_and_check(log_dir: &std::path::Path, json: bool) -> Result<(), Failure> {
    use crate::args::When;
    use crate::replay::view_for;
    let day = |s: &str| s.parse().map(When::Day).map_err(Failure::input);
    for (at, label) in [
        ("2023-01-31", "after Northshire's claim"),
        ("2023-12-31", "after the inspection"),
    ] {
        let view = view_for(log_dir, Some(day(at)?), None, None)?;
        let north = view.recs.values().find(|r| r.rec.as_str() == "NORTH-R1");
        let claimed = north
            .and_then(|r| r.claimed.as_ref())
            .map_or("nothing".into(), |c| trail_core::json_name(&c.status));
        let verified = north
            .and_then(|r| r.verified.as_ref())
            .map_or("not assessed yet".into(), |v| {
                format!("assessed {}", trail_core::json_name(&v.verdict))
            });
        say(
            json,
            format!("replayed the state on {at} ({label}): NORTH-R1 claimed {claimed}, {verified}"),
        )?;
    }
    // The two time axes part ways: on 31 December 2023 the inspection had
    // happened, but the log did not hold it yet.
    let assessed = |known: Option<When>| -> Result<String, Failure> {
        let view = view_for(log_dir, Some(day("2023-12-31")?), known, None)?;
        Ok(view
            .recs
            .values()
            .find(|r| r.rec.as_str() == "NORTH-R1")
            .and_then(|r| r.verified.as_ref())
            .map_or("not assessed".into(), |v| {
                format!("assessed {}", trail_core::json_name(&v.verdict))
            }))
    };
    say(
        json,
        format!(
            "the two time axes: on 2023-12-31 NORTH-R1 was {} as we know it today, but {} as the log stood that day \
         (the inspection of 2023-09-01 was recorded on {}): trail replay --at 2023-12-31 --known-at 2023-12-31",
            assessed(None)?,
            assessed(Some(day("2023-12-31")?))?,
            &BACKFILLED[..10]
        ),
    )?;
    let view = view_for(log_dir, None, None, None)?;
    let findings = trail_core::check(&view, &trail_core::CheckConfig::default());
    say(
        json,
        format!(
            "checked the record as of today: {} findings (trail check --log {} lists them all); on the fictional force:",
            findings.len(),
            log_dir.display()
        ),
    )?;
    for f in findings.iter().filter(|f| {
        f.rec
            .as_ref()
            .is_some_and(|r| r.as_str().starts_with("NORTH"))
    }) {
        say(json, format!("  {}", crate::replay::finding_line(f)))?;
    }
    Ok(())
}
