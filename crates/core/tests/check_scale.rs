//! `check` is linear in the claims on one recommendation (issue 11): 100,000
//! claims on one recommendation, every one of them "implemented" and every
//! other one contradicted by a later assessment, are verified, folded and
//! checked in well under a minute. Before the rules compared each claim with
//! every assessment, 40,000 claims took 4.7 s and 240,000 over ten minutes.

#[path = "fixtures/northshire.rs"]
#[allow(dead_code)]
mod northshire;

use std::time::{Duration, Instant};

use northshire::*;
use trail_core::check::Rule;
use trail_core::state::as_of;
use trail_core::{CheckConfig, Event, check};

const CLAIMS: usize = 100_000;

#[test]
fn a_hundred_thousand_claims_on_one_recommendation_are_checked_in_seconds() {
    let f = Fixture::new();
    f.grant(
        ISSUER,
        "noo",
        "Oversight Office",
        r#""issuer""#,
        "2020-01-01",
    );
    f.grant(NSP, "nsp", "Police", r#""respondent""#, "2020-01-01");
    f.grant(INSP, "insp", "Inspectorate", r#""assessor""#, "2020-01-01");
    f.one(
        ISSUER,
        r#"{"type":"report_published","report":"REP","title":"Review","date":"2009-01-01"}"#.into(),
    );
    f.one(ISSUER, issue("R1", "REP", "nsp", "2009-01-01"));
    f.one(
        NSP,
        respond(
            "R1",
            "accepted",
            r#","actions":"a","target":"2009-12-31""#,
            "2009-01-10",
        ),
    );
    // Forty claims a day from 2010-01-01 (effective dates may not be far in
    // the future); an assessment of not_implemented for every other claim,
    // dated on its day.
    let start = day("2010-01-01");
    let on = |i: usize| {
        start
            .0
            .checked_add(jiff::Span::new().days((i / 40) as i64))
            .unwrap()
            .to_string()
    };
    let claims: Vec<Event> = (0..CLAIMS)
        .map(|i| {
            Event::from_json(&claim(
                "R1",
                "implemented",
                "nsp",
                &evidence("audit", &on(i)),
                "",
                &on(i),
            ))
            .unwrap()
        })
        .collect();
    for batch in claims.chunks(10_000) {
        f.log.append_all(&key(NSP), batch.to_vec()).unwrap();
    }
    let verdicts: Vec<Event> = (0..CLAIMS / 2)
        .map(|i| Event::from_json(&assess("R1", "not_implemented", "full", &on(2 * i))).unwrap())
        .collect();
    f.log.append_all(&key(INSP), verdicts).unwrap();

    let started = Instant::now();
    let view = as_of(
        &f.verified(),
        day("2030-01-01"),
        trail_core::Timestamp::now(),
    )
    .unwrap();
    let findings = check(&view, &CheckConfig::default());
    let took = started.elapsed();
    eprintln!("verified, folded and checked {CLAIMS} claims in {took:?}");

    // Every day has assessments, appended after all the claims, so each
    // claim is followed in effective order (same day, later seq) by one.
    let contradicted = findings
        .iter()
        .filter(|x| x.rule == Rule::ClaimContradicted)
        .count();
    assert_eq!(contradicted, CLAIMS);
    assert!(
        took < Duration::from_secs(30),
        "check of {CLAIMS} claims took {took:?}"
    );
}
