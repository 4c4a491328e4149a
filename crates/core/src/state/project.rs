//! From a [`State`] to a [`View`] on one effective date.
//!
//! Corrections are resolved here rather than in the fold, because whether a
//! correction applies depends on the date asked about: a correction counts
//! once its own effective date is on or before `at`. When several corrections
//! of one entry count, the latest in log order decides; the ones before it are
//! shown as replaced by it.

use std::collections::{BTreeMap, BTreeSet};

use super::view::*;
use super::{Record, State};
use crate::event::{Correction, Event, Verdict};
use crate::types::{Day, Id};

/// A statement and the recommendations it concerns.
struct Placed {
    statement: Statement,
    recs: Vec<Id>,
}

/// The recommendations an event concerns: the one it names, or those it lists.
fn recs_of(event: &Event) -> Vec<Id> {
    event.recs().into_iter().cloned().collect()
}

fn correction_of(record: &Record) -> Option<&Correction> {
    match &record.event {
        Event::Correction(c) => Some(c),
        _ => None,
    }
}

impl State {
    /// The state as on effective date `at`: statements dated after `at` do not
    /// count, and statuses such as "overdue" are judged on `at`.
    pub fn view(&self, at: Day) -> View {
        let placed = self.statements(at);
        let mut by_rec: BTreeMap<Id, Vec<Statement>> = BTreeMap::new();
        let mut funding: BTreeMap<Id, Vec<Statement>> = BTreeMap::new();
        let mut sessions = Vec::new();
        let mut reports = BTreeMap::new();
        for Placed { statement, recs } in placed {
            if statement.in_force() {
                match &statement.event {
                    Event::FundingDecision(f) => {
                        funding
                            .entry(f.decision.clone())
                            .or_default()
                            .push(statement.clone());
                    }
                    Event::AccountabilitySession(s) => sessions.push(SessionView {
                        forum: s.forum.clone(),
                        date: s.date,
                        recs: s.recs.clone(),
                        actor: statement.actor.clone(),
                        seqs: statement.seqs(),
                    }),
                    Event::ReportPublished(r) => {
                        reports.insert(
                            r.report.clone(),
                            ReportView {
                                report: r.report.clone(),
                                title: r.title.clone(),
                                date: r.date,
                                issuer: statement.actor.clone(),
                                recs: Vec::new(),
                                seqs: statement.seqs(),
                            },
                        );
                    }
                    _ => {}
                }
            }
            let mut recs = recs;
            recs.sort();
            recs.dedup();
            // Cloned for all but the last rec and moved into that one: most
            // statements concern one rec, and cloning events dominated views
            // of large logs.
            if let Some(last) = recs.pop() {
                for rec in recs {
                    by_rec.entry(rec).or_default().push(statement.clone());
                }
                by_rec.entry(last).or_default().push(statement);
            }
        }
        sessions.sort_by_key(|s| (s.date, s.seqs.last().copied()));
        let funding: BTreeMap<Id, FundingView> = funding
            .into_iter()
            .filter_map(|(id, steps)| funding_view(id.clone(), steps).map(|v| (id, v)))
            .collect();
        // The decisions citing each rec, in decision order: one pass over the
        // decisions rather than one per rec (which is quadratic in a big log).
        let mut linked: BTreeMap<Id, Vec<Id>> = BTreeMap::new();
        for f in funding.values() {
            for rec in &f.recs {
                let decisions = linked.entry(rec.clone()).or_default();
                if decisions.last() != Some(&f.decision) {
                    decisions.push(f.decision.clone());
                }
            }
        }
        let mut recs = BTreeMap::new();
        for (rec, mut history) in by_rec {
            history.sort_by_key(|s| (s.date(), s.seq));
            let linked = linked.remove(&rec).unwrap_or_default();
            if let Some(view) = rec_view(&rec, history, at, linked) {
                recs.insert(rec, view);
            }
        }
        for view in recs.values() {
            if let Some(report) = reports.get_mut(&view.report) {
                report.recs.push(view.rec.clone());
            }
        }
        View {
            at,
            known_at: None,
            last_seq: self.last_seq,
            last_hash: self.last_hash,
            reports,
            recs,
            funding,
            sessions,
            actors: self.actor_views(at),
            keys: self.registry.keys.clone(),
            successions: self.registry.successions.clone(),
        }
    }

    /// Every statement that speaks on or before `at`, with its standing there.
    fn statements(&self, at: Day) -> Vec<Placed> {
        let mut out = Vec::new();
        for record in self.records.values() {
            if correction_of(record).is_some() {
                continue;
            }
            let applicable: Vec<(&Record, &Correction)> = self
                .corrections
                .get(&record.seq)
                .into_iter()
                .flatten()
                .filter_map(|seq| self.records.get(seq))
                .filter_map(|r| correction_of(r).map(|c| (r, c)))
                .filter(|(_, c)| c.date <= at)
                .collect();
            let standing_after = |i: usize| match applicable.get(i + 1) {
                Some((r, c)) if c.replacement.is_some() => Standing::Replaced { by: r.seq },
                Some((r, _)) => Standing::Retracted { by: r.seq },
                None => Standing::InForce,
            };
            let recs = recs_of(&record.event);
            if record.event.date() <= at {
                out.push(Placed {
                    statement: statement(record, None, standing_after_first(&applicable)),
                    recs: recs.clone(),
                });
            }
            for (i, (corr, c)) in applicable.iter().enumerate() {
                let (event, mut about) = match &c.replacement {
                    Some(r) => (r.0.as_ref().clone(), recs_of(&r.0)),
                    None => (corr.event.clone(), Vec::new()),
                };
                if event.date() > at {
                    continue;
                }
                // A correction concerns both what it corrects and what it says instead.
                about.extend(recs.iter().cloned());
                let mut st = statement(record, Some(corr), standing_after(i));
                st.event = event;
                out.push(Placed {
                    statement: st,
                    recs: about,
                });
            }
        }
        out
    }

    fn actor_views(&self, at: Day) -> BTreeMap<Id, ActorView> {
        let mut actors: BTreeMap<Id, ActorView> = BTreeMap::new();
        for (key, info) in &self.registry.keys {
            let Some(granted_on) = info.granted_on().filter(|d| *d <= at) else {
                continue;
            };
            let revoked = info.revoked.as_ref().filter(|r| r.date <= at);
            let view = actors
                .entry(info.actor.clone())
                .or_insert_with(|| ActorView {
                    body: self
                        .registry
                        .actors
                        .get(&info.actor)
                        .cloned()
                        .unwrap_or_default(),
                    keys: Vec::new(),
                    roles: Vec::new(),
                    succeeded_by: None,
                    succession_seq: None,
                });
            let roles = info.roles_on(at);
            if revoked.is_none() {
                view.roles.extend(roles.iter().copied());
            }
            view.keys.push(KeyView {
                public_key: *key,
                roles,
                granted_on,
                grant_seqs: info
                    .grants
                    .iter()
                    .filter(|g| g.date <= at)
                    .map(|g| g.seq)
                    .collect(),
                revoked_on: revoked.map(|r| r.date),
                revoked_seq: revoked.map(|r| r.seq),
            });
        }
        for (actor, view) in &mut actors {
            view.roles.sort();
            view.roles.dedup();
            if let Some(s) = self
                .registry
                .successions
                .get(actor)
                .filter(|s| s.date <= at)
            {
                view.succeeded_by = Some(s.successor.clone());
                view.succession_seq = Some(s.seq);
            }
        }
        actors
    }
}

/// The original's standing: decided by the latest applicable correction.
fn standing_after_first(applicable: &[(&Record, &Correction)]) -> Standing {
    match applicable.last() {
        Some((r, c)) if c.replacement.is_some() => Standing::Replaced { by: r.seq },
        Some((r, _)) => Standing::Retracted { by: r.seq },
        None => Standing::InForce,
    }
}

/// A statement for `record`, or for a correction of it (which speaks with the
/// original's signer, because it fixes what that signer said).
fn statement(record: &Record, correction: Option<&Record>, standing: Standing) -> Statement {
    let (seq, replaces, reason, party) = match correction {
        Some(c) => (
            c.seq,
            Some(record.seq),
            correction_of(c).map(|c| c.reason.clone()),
            c.party,
        ),
        None => (record.seq, None, None, record.party),
    };
    Statement {
        seq,
        replaces,
        correction_reason: reason,
        recorded_at: correction.map_or(record.recorded_at, |c| c.recorded_at),
        signer: record.signer,
        actor: record.actor.clone(),
        party,
        standing,
        event: record.event.clone(),
    }
}

fn funding_view(decision: Id, mut statements: Vec<Statement>) -> Option<FundingView> {
    statements.sort_by_key(|s| (s.date(), s.seq));
    let mut stages = Vec::new();
    let mut recs = BTreeSet::new();
    let mut recipient = None;
    let mut latest = None;
    for s in &statements {
        let Event::FundingDecision(f) = &s.event else {
            continue;
        };
        recs.extend(f.recs.iter().cloned());
        if f.recipient.is_some() {
            recipient.clone_from(&f.recipient);
        }
        stages.push(FundingStep {
            stage: f.stage,
            date: f.date,
            amount_minor: f.amount_minor,
            recs: f.recs.clone(),
            period_end: f.period_end,
            actor: s.actor.clone(),
            seqs: s.seqs(),
        });
        latest = Some(f);
    }
    let latest = latest?;
    Some(FundingView {
        decision,
        currency: latest.currency.clone(),
        purpose: latest.purpose.clone(),
        recipient,
        stage: latest.stage,
        recs: recs.into_iter().collect(),
        stages,
    })
}

/// Builds one recommendation's view from its history, if it is issued by `at`.
fn rec_view(rec: &Id, history: Vec<Statement>, at: Day, linked: Vec<Id>) -> Option<RecView> {
    let live: Vec<&Statement> = history.iter().filter(|s| s.in_force()).collect();
    let (issue, issued) = live.iter().find_map(|s| match &s.event {
        Event::RecommendationIssued(r) if r.rec == *rec => Some((*s, r)),
        _ => None,
    })?;
    let response_clock = clock(&live, issue, issued.date, issued.response_due, at);
    let position = live.iter().rev().find_map(|s| match &s.event {
        Event::ResponseRecorded(r) => Some(PositionView {
            position: r.position,
            date: r.date,
            actor: s.actor.clone(),
            seqs: s.seqs(),
        }),
        _ => None,
    });
    let claims: Vec<ClaimView> = live
        .iter()
        .filter_map(|s| match &s.event {
            Event::ProgressClaim(c) => Some(ClaimView {
                status: c.status,
                subject: c.subject.clone(),
                actor: s.actor.clone(),
                party: s.party.unwrap_or(Party::ThirdParty),
                date: c.date,
                evidence: c.evidence.len(),
                seqs: s.seqs(),
            }),
            _ => None,
        })
        .collect();
    let claimed = claims
        .iter()
        .rev()
        .find(|c| c.party == Party::FirstParty)
        .cloned();
    let verified = live.iter().rev().find_map(|s| match &s.event {
        Event::Assessment(a) => Some(AssessmentView {
            verdict: a.verdict,
            coverage: a.coverage,
            date: a.date,
            actor: s.actor.clone(),
            seqs: s.seqs(),
        }),
        _ => None,
    });
    let closure = live
        .iter()
        .rev()
        .find_map(|s| match &s.event {
            Event::RecommendationClosed(c) => Some(ClosureView {
                status: c.outcome.into(),
                date: Some(c.date),
                actor: s.actor.clone(),
                seqs: s.seqs(),
            }),
            _ => None,
        })
        .unwrap_or(ClosureView {
            status: ClosureStatus::Open,
            date: None,
            actor: None,
            seqs: Vec::new(),
        });
    let schedule = schedule(&live, at, verified.as_ref(), &closure);
    let sessions = live
        .iter()
        .filter(|s| matches!(&s.event, Event::AccountabilitySession(_)))
        .map(|s| s.seq)
        .collect();
    Some(RecView {
        rec: rec.clone(),
        report: issued.report.clone(),
        subject: issued.subject.clone(),
        issued_on: issued.date,
        issuer: issue.actor.clone(),
        addressees: issued.addressees.clone(),
        issued_seqs: issue.seqs(),
        response_clock,
        position,
        claimed,
        claims,
        verified,
        schedule,
        closure,
        funding: linked,
        sessions,
        history,
    })
}

fn clock(
    live: &[&Statement],
    issue: &Statement,
    issued_on: Day,
    due: Option<Day>,
    at: Day,
) -> ClockView {
    // Verified entries always state the due date; the fallback keeps replay total.
    let original_due = due.or_else(|| issued_on.plus_days(55)).unwrap_or(issued_on);
    let mut due = original_due;
    let mut extensions = Vec::new();
    let mut seqs = issue.seqs();
    for s in live {
        if let Event::ResponseDeadlineExtended(e) = &s.event {
            extensions.push(ExtensionView {
                previous_due: due,
                new_due: e.new_due,
                requested_on: e.requested_on.unwrap_or(e.date),
                granted_on: e.date,
                seqs: s.seqs(),
            });
            seqs.extend(s.seqs());
            due = e.new_due;
        }
    }
    let first = live.iter().find_map(|s| match &s.event {
        Event::ResponseRecorded(r) => Some((*s, r.date)),
        _ => None,
    });
    let status = match first {
        Some((s, _)) => {
            seqs.extend(s.seqs());
            ResponseClock::Responded
        }
        None if at > due => ResponseClock::Overdue,
        None if !extensions.is_empty() => ResponseClock::Extended,
        None => ResponseClock::Awaiting,
    };
    ClockView {
        status,
        original_due,
        due,
        extensions,
        responded_on: first.map(|(_, d)| d),
        seqs,
    }
}

/// Every change of target date, in effective order.
pub(crate) fn target_changes(live: &[&Statement]) -> Vec<TargetChange> {
    let mut current = None;
    let mut changes = Vec::new();
    for s in live {
        let (to, revision) = match &s.event {
            Event::ResponseRecorded(r) => match r.target {
                Some(t) => (t, false),
                None => continue,
            },
            Event::TargetRevised(t) => (t.new_target, true),
            _ => continue,
        };
        if current == Some(to) && !revision {
            continue;
        }
        changes.push(TargetChange {
            from: current,
            to,
            date: s.date(),
            revision,
            seqs: s.seqs(),
        });
        current = Some(to);
    }
    changes
}

fn schedule(
    live: &[&Statement],
    at: Day,
    verified: Option<&AssessmentView>,
    closure: &ClosureView,
) -> ScheduleView {
    let changes = target_changes(live);
    let original_target = changes.first().map(|c| c.to);
    let target = changes.last().map(|c| c.to);
    let mut seqs: Vec<u64> = changes.last().map(|c| c.seqs.clone()).unwrap_or_default();
    let verified_done = verified.filter(|v| v.verdict == Verdict::Verified);
    let status = if let Some(v) = verified_done {
        seqs.extend(v.seqs.iter().copied());
        ScheduleStatus::Met
    } else if closure.status == ClosureStatus::Implemented {
        seqs.extend(closure.seqs.iter().copied());
        ScheduleStatus::Met
    } else {
        match target {
            None => ScheduleStatus::NoTarget,
            Some(t) if t < at => ScheduleStatus::Late,
            Some(t) if Some(t) != original_target => ScheduleStatus::Revised,
            Some(_) => ScheduleStatus::OnTrack,
        }
    };
    ScheduleView {
        status,
        original_target,
        target,
        slip_days: original_target.zip(target).map(|(o, t)| o.days_until(t)),
        changes,
        seqs,
    }
}
