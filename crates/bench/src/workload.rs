//! A realistic log, built through the public `Log` API in large batches.
//!
//! Recommendations are issued in rounds; each round also carries the
//! lifecycle of the recommendations of earlier rounds (responses, progress
//! claims with evidence, funding, assessments, deadline changes, closures and
//! a few corrections), so a recommendation collects about eight entries. Every
//! batch is signed by one actor, as `trail append` of a JSON Lines file would
//! be. The generator is seeded, so two runs build the same events.

use std::path::Path;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use trail_core::{Event, Id, Log, SecretKey};

/// Respondent bodies that recommendations are addressed to.
pub const RESPONDENTS: usize = 6;

/// The signers of the log, by role.
pub struct Keys {
    /// Admin (signs the genesis and the grants).
    pub admin: SecretKey,
    /// Issues reports and recommendations, extends deadlines, closes.
    pub issuer: SecretKey,
    /// One key per respondent body.
    pub respondents: Vec<SecretKey>,
    /// Records funding decisions and accountability sessions.
    pub funder: SecretKey,
    /// Records assessments.
    pub assessor: SecretKey,
    /// Signs checkpoints (the operator role), for publishing the log as tiles.
    pub operator: SecretKey,
}

impl Keys {
    fn new() -> Keys {
        let key = |seed: u8| SecretKey::from_seed(&[seed; 32]);
        Keys {
            admin: key(1),
            issuer: key(2),
            funder: key(3),
            assessor: key(4),
            operator: key(5),
            respondents: (0..RESPONDENTS as u8).map(|i| key(10 + i)).collect(),
        }
    }
}

/// What building the log measured.
pub struct Built {
    /// The open log.
    pub log: Log,
    /// The signers.
    pub keys: Keys,
    /// Entries in the log.
    pub entries: u64,
    /// Entries appended by `append_all` inside the timed part.
    pub timed_entries: u64,
    /// Time spent inside `append_all` for those entries.
    pub append_time: Duration,
    /// Number of `append_all` calls in the timed part.
    pub batches: u64,
    /// Recommendations issued.
    pub recs: u64,
    /// Recommendations issued per round (one report each).
    pub per_round: u64,
}

/// Actor id of respondent `i`.
pub fn respondent(i: usize) -> String {
    format!("force-{}", i + 1)
}

const WORDS: &[&str] = &[
    "the",
    "force",
    "has",
    "recorded",
    "every",
    "report",
    "of",
    "child",
    "exploitation",
    "within",
    "twenty-four",
    "hours",
    "and",
    "the",
    "inspection",
    "sampled",
    "cases",
    "from",
    "three",
    "districts",
    "training",
    "was",
    "delivered",
    "to",
    "officers",
    "supervisors",
    "audit",
    "found",
    "gaps",
    "in",
    "referral",
    "records",
    "board",
    "minutes",
    "show",
    "progress",
    "against",
    "plan",
    "budget",
    "approved",
    "for",
    "analysts",
    "victims",
    "were",
    "contacted",
    "by",
    "specialist",
    "staff",
    "policy",
    "revised",
    "after",
    "consultation",
    "with",
    "partners",
];

/// The id of recommendation `i` of round `round`.
pub(crate) fn rec_id(round: u64, i: u64) -> String {
    format!("R{round}-{i}")
}

/// The id of round `round`'s report.
pub(crate) fn report_id(round: u64) -> String {
    format!("REP-{round}")
}

/// Prose of about `len` bytes.
fn text(rng: &mut SmallRng, len: usize) -> String {
    let mut out = String::with_capacity(len + 16);
    while out.len() < len {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(WORDS[rng.random_range(0..WORDS.len())]);
    }
    out
}

pub(crate) fn day(round: u64, back: u64) -> String {
    // Round 0 is 2022-01-03; each round is two days, and `back` reaches into
    // the past as a backfilled entry would.
    let base = 738_463u64; // 2022-01-03 counted from 0000-03-01, as civil() counts
    civil(base + round * 2 - back.min(round * 2))
}

/// The civil date of a day number counted from 0000-03-01 (Howard Hinnant's algorithm).
fn civil(days: u64) -> String {
    let era = days / 146_097;
    let doe = days % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

fn digest(rng: &mut SmallRng) -> String {
    let bytes: [u8; 32] = rng.random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn event(value: Value) -> Event {
    Event::from_json(&value.to_string()).expect("benchmark events are valid")
}

fn pick<'a>(rng: &mut SmallRng, options: &[&'a str]) -> &'a str {
    options[rng.random_range(0..options.len())]
}

struct Generator {
    rng: SmallRng,
    per_round: u64,
    /// Seqs of respondent `i`'s responses in the previous round, for corrections.
    responses: Vec<Vec<(u64, String)>>,
}

impl Generator {
    fn rec(round: u64, i: u64) -> String {
        rec_id(round, i)
    }

    fn issue(&mut self, round: u64) -> Vec<Event> {
        let mut out = vec![event(json!({
            "type": "report_published", "report": report_id(round),
            "title": text(&mut self.rng, 120), "date": day(round, 0)
        }))];
        for i in 0..self.per_round {
            let subject_len = self.rng.random_range(250..520);
            out.push(event(json!({
                "type": "recommendation_issued", "rec": Self::rec(round, i),
                "report": report_id(round),
                "addressees": [respondent(i as usize % RESPONDENTS)],
                "subject": text(&mut self.rng, subject_len), "date": day(round, 0)
            })));
        }
        out
    }

    /// Recs of `round` addressed to respondent `who`.
    fn recs_of(&self, round: u64, who: usize) -> impl Iterator<Item = String> + use<> {
        (0..self.per_round)
            .filter(move |i| *i as usize % RESPONDENTS == who)
            .map(move |i| Self::rec(round, i))
    }

    fn respond(&mut self, round: u64, who: usize) -> (Vec<Event>, Vec<Option<String>>) {
        let mut out = Vec::new();
        let mut responded = Vec::new();
        let me = respondent(who);
        for rec in self.recs_of(round, who).collect::<Vec<_>>() {
            let len = self.rng.random_range(220..480);
            let position = pick(&mut self.rng, &["accepted", "accepted_in_part", "accepted"]);
            out.push(event(json!({
                "type": "response_recorded", "rec": rec, "position": position,
                "actions": text(&mut self.rng, len), "target": day(round + 180, 0),
                "date": day(round, 0)
            })));
            responded.push(Some(rec));
        }
        for back in 1..=4u64.min(round) {
            for rec in self.recs_of(round - back, who).collect::<Vec<_>>() {
                let len = self.rng.random_range(200..420);
                let status = if back == 4 {
                    "implemented"
                } else {
                    pick(&mut self.rng, &["in_progress", "partially_implemented"])
                };
                out.push(event(json!({
                    "type": "progress_claim", "rec": rec, "status": status, "subject": me,
                    "narrative": text(&mut self.rng, len),
                    "evidence": [{"name": "progress-report.pdf", "blake3": digest(&mut self.rng),
                                  "kind": "self_report", "dated": day(round, 3)}],
                    "date": day(round, self.rng.random_range(0..20))
                })));
                responded.push(None);
                if back == 1 && self.rng.random_ratio(1, 10) {
                    let len = self.rng.random_range(250..500);
                    out.push(event(json!({
                        "type": "target_revised", "rec": rec, "old_target": day(round + 179, 0),
                        "new_target": day(round + 300, 0), "reason": text(&mut self.rng, len),
                        "date": day(round, 0)
                    })));
                    responded.push(None);
                }
            }
        }
        // Corrections of last round's responses by the same body.
        for (seq, rec) in std::mem::take(&mut self.responses[who]) {
            if !self.rng.random_ratio(1, 30) {
                continue;
            }
            let len = self.rng.random_range(150..300);
            out.push(event(json!({
                "type": "correction", "target_seq": seq,
                "reason": "the response was recorded as accepted in full; it was accepted in part",
                "replacement": {"type": "response_recorded", "rec": rec,
                    "position": "accepted_in_part", "actions": text(&mut self.rng, len),
                    "target": day(round + 200, 0), "date": day(round - 1, 0)},
                "date": day(round, 0)
            })));
            responded.push(None);
        }
        (out, responded)
    }

    fn fund(&mut self, round: u64) -> Vec<Event> {
        let mut out = Vec::new();
        if round == 0 {
            return out;
        }
        for i in 0..self.per_round {
            if !self.rng.random_ratio(3, 10) {
                continue;
            }
            let len = self.rng.random_range(250..500);
            out.push(event(json!({
                "type": "funding_decision", "decision": format!("F{round}-{i}"),
                "amount_minor": self.rng.random_range(100_000u64..90_000_000),
                "currency": "GBP", "purpose": text(&mut self.rng, len),
                "recs": [Self::rec(round - 1, i)],
                "stage": pick(&mut self.rng, &["approved", "committed", "paid"]),
                "date": day(round, 1), "recipient": respondent(i as usize % RESPONDENTS)
            })));
        }
        for s in 0..5 {
            let recs: Vec<String> = (0..10)
                .map(|_| Self::rec(round - 1, self.rng.random_range(0..self.per_round)))
                .collect();
            let len = self.rng.random_range(200..400);
            out.push(event(json!({
                "type": "accountability_session", "forum": format!("Accountability board {s}"),
                "recs": recs, "notes": text(&mut self.rng, len), "date": day(round, 0)
            })));
        }
        out
    }

    fn assess(&mut self, round: u64) -> Vec<Event> {
        let mut out = Vec::new();
        if round < 2 {
            return out;
        }
        for i in 0..self.per_round {
            if !self.rng.random_ratio(1, 2) {
                continue;
            }
            let len = self.rng.random_range(220..460);
            out.push(event(json!({
                "type": "assessment", "rec": Self::rec(round - 2, i),
                "verdict": pick(&mut self.rng, &["verified", "some_respects", "not_implemented"]),
                "coverage": "full", "narrative": text(&mut self.rng, len),
                "evidence": [{"name": "inspection.pdf", "blake3": digest(&mut self.rng),
                              "kind": "independent_inspection", "dated": day(round, 5)}],
                "date": day(round, 0)
            })));
        }
        out
    }

    fn follow_up(&mut self, round: u64) -> Vec<Event> {
        let mut out = Vec::new();
        for i in 0..self.per_round {
            if self.rng.random_ratio(1, 10) {
                let len = self.rng.random_range(250..450);
                out.push(event(json!({
                    "type": "response_deadline_extended", "rec": Self::rec(round, i),
                    "new_due": day(round + 40, 0), "reason": text(&mut self.rng, len),
                    "requested_on": day(round, 0), "date": day(round, 0)
                })));
            }
            if round >= 5 && self.rng.random_ratio(2, 5) {
                let len = self.rng.random_range(250..450);
                out.push(event(json!({
                    "type": "recommendation_closed", "rec": Self::rec(round - 5, i),
                    "outcome": pick(&mut self.rng, &["implemented", "not_implemented"]),
                    "reason": text(&mut self.rng, len), "date": day(round, 0)
                })));
            }
        }
        out
    }
}

/// A `key_granted` event giving `actor` the key and one role.
pub(crate) fn grant(actor: &str, key: &SecretKey, role: &str) -> Event {
    event(json!({
        "type": "key_granted", "actor": actor, "body": format!("{actor} (benchmark)"),
        "public_key": key.public_key().to_string(), "roles": [role], "date": "2022-01-01"
    }))
}

/// Builds a log of `target` entries in `dir`, timing every `append_all` call.
pub fn build(dir: &Path, target: u64, mut progress: impl FnMut(u64)) -> trail_core::Result<Built> {
    let keys = Keys::new();
    let log = Log::create(
        dir,
        "benchmark log",
        &keys.admin,
        Id::new("admin").expect("id"),
        "Log administrator",
    )?;
    let mut grants = vec![
        grant("inspectorate", &keys.issuer, "issuer"),
        grant("commissioner", &keys.funder, "funder"),
        grant("inspector", &keys.assessor, "assessor"),
        grant("operator", &keys.operator, "operator"),
    ];
    for (i, k) in keys.respondents.iter().enumerate() {
        grants.push(grant(&respondent(i), k, "respondent"));
    }
    log.append_all(&keys.admin, grants)?;
    let mut built = Built {
        entries: log.tree_size(),
        log,
        keys,
        timed_entries: 0,
        append_time: Duration::ZERO,
        batches: 0,
        recs: 0,
        per_round: (target / 500).clamp(12, 2000),
    };
    let per_round = built.per_round;
    let mut generator = Generator {
        rng: SmallRng::seed_from_u64(0x7261_696c),
        per_round,
        responses: vec![Vec::new(); RESPONDENTS],
    };
    let mut round = 0u64;
    while built.entries < target {
        let issued = generator.issue(round);
        append(&mut built, Signer::Issuer, issued, target)?;
        built.recs += per_round;
        for who in 0..RESPONDENTS {
            let (events, responded) = generator.respond(round, who);
            let appended = append(&mut built, Signer::Respondent(who), events, target)?;
            generator.responses[who] = appended
                .iter()
                .zip(responded)
                .filter_map(|(seq, rec)| Some((*seq, rec?)))
                .collect();
        }
        let funded = generator.fund(round);
        append(&mut built, Signer::Funder, funded, target)?;
        let assessed = generator.assess(round);
        append(&mut built, Signer::Assessor, assessed, target)?;
        let followed = generator.follow_up(round);
        append(&mut built, Signer::Issuer, followed, target)?;
        progress(built.entries);
        round += 1;
    }
    Ok(built)
}

enum Signer {
    Issuer,
    Respondent(usize),
    Funder,
    Assessor,
}

/// Appends `events` (cut so the log does not pass `target`) in one timed call.
fn append(
    built: &mut Built,
    signer: Signer,
    mut events: Vec<Event>,
    target: u64,
) -> trail_core::Result<Vec<u64>> {
    let room = target.saturating_sub(built.entries) as usize;
    events.truncate(room);
    if events.is_empty() {
        return Ok(Vec::new());
    }
    let key = match signer {
        Signer::Issuer => &built.keys.issuer,
        Signer::Respondent(i) => &built.keys.respondents[i],
        Signer::Funder => &built.keys.funder,
        Signer::Assessor => &built.keys.assessor,
    };
    let n = events.len() as u64;
    let started = Instant::now();
    let appended = built.log.append_all(key, events)?;
    built.append_time += started.elapsed();
    built.timed_entries += n;
    built.entries += n;
    built.batches += 1;
    Ok(appended.iter().map(|a| a.seq).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(738_463), "2022-01-03");
        assert_eq!(day(1, 0), "2022-01-05");
        assert_eq!(day(0, 10), "2022-01-03");
    }
}
