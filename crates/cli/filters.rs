//! The filters people asked for: which recommendations `replay` shows,
//! which entries `show` prints, which findings `check` reports. Each flag
//! may be repeated (any of its values matches); different flags combine
//! (all must match). The flags themselves are declared in args.rs; this is
//! what they do.

use std::collections::BTreeSet;

use trail_core::state::{ClosureStatus, RecView};
use trail_core::{Authority, Entry, EventKind, Finding, Id, Index, Log, RecSelection, Rule};

use crate::Failure;
use crate::args::{EntryFilter, FindingFilter, RecFilter};

impl RecFilter {
    /// What a replay need fold to answer this filter, when it names
    /// recommendations or reports: the named recommendations (the report
    /// filter then narrows them), else the reports'. `None` means the whole
    /// log. Ids that are not well formed name nothing.
    pub fn selection(&self) -> Option<RecSelection> {
        let ids = |v: &[String]| v.iter().filter_map(|s| Id::new(s).ok()).collect();
        if !self.recs.is_empty() {
            return Some(RecSelection {
                recs: ids(&self.recs),
                reports: Vec::new(),
            });
        }
        (!self.reports.is_empty()).then(|| RecSelection {
            recs: Vec::new(),
            reports: ids(&self.reports),
        })
    }

    /// Whether `rec` is to be shown.
    pub fn keeps(&self, rec: &RecView) -> bool {
        any(&self.recs, rec.rec.as_str())
            && any(&self.reports, rec.report.as_str())
            && (self.addressees.is_empty()
                || rec
                    .addressees
                    .iter()
                    .any(|a| any(&self.addressees, a.as_str())))
            && (!self.open || rec.closure.status == ClosureStatus::Open)
    }
}

impl EntryFilter {
    /// Refuses an event type no entry can have.
    pub fn check(&self) -> Result<(), Failure> {
        for t in &self.types {
            if !trail_core::EventKind::ALL.iter().any(|k| k.name() == t) {
                let known: Vec<&str> = trail_core::EventKind::ALL
                    .iter()
                    .map(|k| k.name())
                    .collect();
                return Err(Failure::input(format!(
                    "--type {}: not an event type; the types are {}",
                    crate::output::safe(t),
                    known.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Whether `entry` is to be shown.
    /// The seqs that can pass the --rec, --actor and --type flags, from the
    /// log's indexes (a superset: [`EntryFilter::keeps`] still decides), or
    /// `None` when none of those flags is given and every entry is a candidate.
    pub fn candidates(&self, log: &Log) -> Result<Option<Vec<u64>>, Failure> {
        let mut groups: Vec<BTreeSet<u64>> = Vec::new();
        let union =
            |lists: Vec<Vec<u64>>| -> BTreeSet<u64> { lists.into_iter().flatten().collect() };
        if !self.recs.is_empty() {
            let lists = self.recs.iter().map(|r| log.indexed(Index::Rec, r));
            groups.push(union(lists.collect::<Result<_, _>>()?));
        }
        if !self.actors.is_empty() {
            let lists = self.actors.iter().map(|a| log.indexed(Index::Actor, a));
            groups.push(union(lists.collect::<Result<_, _>>()?));
        }
        if !self.types.is_empty() {
            let kinds = EventKind::ALL
                .iter()
                .filter(|k| self.types.iter().any(|t| t == k.name()));
            groups.push(union(
                kinds
                    .map(|k| log.indexed_kind(*k))
                    .collect::<Result<_, _>>()?,
            ));
        }
        let Some(mut seqs) = groups.pop() else {
            return Ok(None);
        };
        for group in groups {
            seqs.retain(|s| group.contains(s));
        }
        Ok(Some(seqs.into_iter().collect()))
    }

    pub fn keeps(&self, entry: &Entry, authority: &Authority) -> bool {
        let u = &entry.unsigned;
        let date = u.event.date();
        (self.recs.is_empty() || u.event.rec().is_some_and(|r| any(&self.recs, r.as_str())))
            && (self.actors.is_empty()
                || authority
                    .actor_of(&u.signer)
                    .is_some_and(|a| any(&self.actors, a.as_str())))
            && any(&self.types, u.event.kind().name())
            && self.since.is_none_or(|d| date >= d)
            && self.until.is_none_or(|d| date <= d)
    }
}

impl FindingFilter {
    /// Refuses a rule id no finding can have.
    pub fn check(&self) -> Result<(), Failure> {
        for r in &self.rules {
            if !Rule::ALL.iter().any(|rule| rule.id() == r) {
                return Err(Failure::input(format!(
                    "--rule {}: not a rule; `trail check --help` lists them",
                    crate::output::safe(r)
                )));
            }
        }
        Ok(())
    }

    /// Whether `finding` is to be shown.
    pub fn keeps(&self, finding: &Finding) -> bool {
        any(&self.rules, finding.rule.id())
            && (self.severities.is_empty() || self.severities.contains(&finding.severity))
            && (self.recs.is_empty()
                || finding
                    .rec
                    .as_ref()
                    .is_some_and(|r| any(&self.recs, r.as_str())))
    }
}

/// Whether `value` is one of `wanted`, or nothing is wanted.
fn any(wanted: &[String], value: &str) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| w == value)
}
