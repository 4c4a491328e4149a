//! Entries signed elsewhere. A client of a served log signs on its own
//! machine against its verified copy, and the server appends what it sent
//! ([`Arrival::Submitted`]); a copy of a log takes the entries it fetched from
//! the log ([`Arrival::Copied`]).
//!
//! Either way each entry is checked as verification checks it (seq, link,
//! recorded-time order, signature, event rules, the signer's authority), in
//! the writer lock and in one batch with one flush, as a local append is. A
//! submitted entry is also held to the log's clock, so that recorded times
//! stay the log's and not whatever a signer's machine says.

use std::time::Duration;

use super::{Appended, Error, Head, Log, Result, Staged};
use crate::clock::AppendOptions;
use crate::limits::MAX_ENTRY_BYTES;
use crate::types::Timestamp;
use crate::verify::{Prepared, PreparedItem, Problem, VerifyError};

/// Where a batch of signed entries landed, and whether it was written now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedBatch {
    /// Each entry's seq and hash.
    pub appended: Vec<Appended>,
    /// False when every entry was already in the log, as sent.
    pub written: bool,
}

/// How far a submitted entry's recorded time may be from the log's clock.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// Where signed entries come from, which decides the rules for their times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arrival {
    /// Sent by their signer to be appended now: recorded within
    /// [`MAX_CLOCK_SKEW`] of the log's clock, and effective dates under the
    /// clock rules as relaxed by the options.
    Submitted(AppendOptions),
    /// Copied from the log that holds them: only verification's rules apply.
    Copied,
}

impl Log {
    /// Creates an empty log in `dir` (which must not hold one) that is to be
    /// filled with entries copied from another log, genesis included, by
    /// [`Log::append_signed`] with [`Arrival::Copied`].
    pub fn create_copy(dir: &std::path::Path) -> Result<Log> {
        let log = Log::create_empty(dir)?;
        log.finish_import()?;
        super::sync_dir(dir)?;
        super::sync_dir(super::parent_dir(dir))?;
        Ok(log)
    }

    /// Appends entries signed elsewhere, given as canonical bytes, all or
    /// nothing, once each is checked; returns once they are on disk.
    ///
    /// A submitted batch signed against an older head is refused with
    /// [`Error::HeadMoved`]; one that is already in the log, byte for byte at
    /// the same seqs, is accepted again without writing anything, so a
    /// client may resend a batch whose answer it did not get. Any other bad
    /// entry is an [`Error::Verify`] naming its seq.
    pub fn append_signed(&self, entries: Vec<Vec<u8>>, arrival: Arrival) -> Result<Vec<Appended>> {
        self.append_signed_batch(entries, arrival)
            .map(|b| b.appended)
    }

    /// [`Log::append_signed`], saying whether the batch was written now or
    /// was already in the log (a resend): a server counts quotas by it.
    pub fn append_signed_batch(
        &self,
        entries: Vec<Vec<u8>>,
        arrival: Arrival,
    ) -> Result<SignedBatch> {
        let mut written = true;
        let appended = self.append_signed_inner(entries, arrival, &mut written)?;
        Ok(SignedBatch { appended, written })
    }

    fn append_signed_inner(
        &self,
        entries: Vec<Vec<u8>>,
        arrival: Arrival,
        written: &mut bool,
    ) -> Result<Vec<Appended>> {
        let batch_len = entries.len();
        // Decoding and signature checks need no lock: done on every core first.
        let prepared = Prepared::new(entries);
        self.write_batch(|authority, head, now| {
            let mut items = prepared.into_items().peekable();
            let next_seq = head.map_or(0, |h| h.seq + 1);
            if let Some((_, Ok((first, _)), _)) = items.peek()
                && first.unsigned.seq < next_seq
                && arrival != Arrival::Copied
            {
                *written = false;
                return self.already_stored(items, head);
            }
            let mut staged = Staged::new(self, head, batch_len);
            for (index, (bytes, decoded, signature_ok)) in items.enumerate() {
                let seq = staged.next_seq();
                let fail = |problem| Error::Verify(VerifyError { seq, problem });
                if bytes.len() > MAX_ENTRY_BYTES {
                    return Err(Error::EntryTooLarge {
                        size: bytes.len(),
                        limit: MAX_ENTRY_BYTES,
                    });
                }
                let (entry, _) = decoded.map_err(|e| fail(Problem::Undecodable(e)))?;
                let u = &entry.unsigned;
                let links = u.seq == seq && u.prev_hash == staged.prev_hash();
                if index == 0 && !links && arrival != Arrival::Copied {
                    return Err(head_moved(head));
                }
                if u.seq != seq {
                    return Err(fail(Problem::WrongSeq { found: u.seq }));
                }
                if u.prev_hash != staged.prev_hash() {
                    return Err(fail(Problem::BrokenLink {
                        expected: staged.prev_hash(),
                        found: u.prev_hash,
                    }));
                }
                if let Some(previous) = staged.head
                    && u.recorded_at < previous.recorded_at
                {
                    return Err(fail(Problem::TimeWentBack {
                        previous: previous.recorded_at,
                        found: u.recorded_at,
                    }));
                }
                if !signature_ok {
                    let signer = authority.actor_of(&u.signer).map_or_else(
                        || format!("unregistered key {}", u.signer.short()),
                        |a| a.to_string(),
                    );
                    return Err(fail(Problem::BadSignature { signer }));
                }
                if let Arrival::Submitted(options) = arrival {
                    check_clock(seq, u.recorded_at, now)?;
                    crate::clock::check_dates(
                        std::slice::from_ref(&u.event),
                        u.recorded_at,
                        options,
                    )?;
                }
                staged.admit(authority, &u.signer, &u.event).map_err(fail)?;
                staged.record(authority, &entry, bytes)?;
            }
            staged.finish(authority)
        })
    }

    /// A resent batch: accepted if every entry is stored as sent, else the
    /// head moved under it. Writes nothing either way.
    fn already_stored(
        &self,
        items: impl Iterator<Item = PreparedItem>,
        head: Option<Head>,
    ) -> Result<super::Built> {
        let mut appended: Vec<Appended> = Vec::new();
        for (bytes, decoded, _) in items {
            let Ok((entry, hash)) = decoded else {
                return Err(head_moved(head));
            };
            let seq = entry.unsigned.seq;
            // A batch is consecutive entries; anything else was never one.
            if appended.last().is_some_and(|a| a.seq + 1 != seq) {
                return Err(head_moved(head));
            }
            let stored = self.segments.get(seq).ok();
            if stored.as_deref() != Some(bytes.as_slice()) {
                return Err(head_moved(head));
            }
            appended.push(Appended { seq, hash });
        }
        Ok((sled::Batch::default(), None, appended, Vec::new()))
    }
}

fn head_moved(head: Option<Head>) -> Error {
    Error::HeadMoved {
        size: head.map_or(0, |h| h.seq + 1),
        head: head.map(|h| h.hash).unwrap_or_default(),
    }
}

/// Refuses a recorded time more than [`MAX_CLOCK_SKEW`] from `now`.
fn check_clock(seq: u64, recorded: Timestamp, now: Timestamp) -> Result<()> {
    let skew = recorded.micros().abs_diff(now.micros());
    if u128::from(skew) > MAX_CLOCK_SKEW.as_micros() {
        return Err(Error::ClockSkew {
            seq,
            recorded,
            now,
            max_seconds: MAX_CLOCK_SKEW.as_secs(),
        });
    }
    Ok(())
}
