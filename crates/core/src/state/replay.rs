//! Whole-log replay on both time axes.

use super::{OutOfOrder, State, View};
use crate::types::{Day, Timestamp};
use crate::verify::VerifiedEntry;

/// "What did the log say on `known_at` about `at`?": folds the entries
/// recorded up to `known_at`, then views them as on effective date `at`.
///
/// `entries` must be a verified log from seq 0 in order. Because a verified
/// log never goes back in recorded time, the entries recorded up to
/// `known_at` are a prefix of it; the filter is applied to every entry anyway,
/// so the answer does not depend on that.
pub fn as_of<'a>(
    entries: impl IntoIterator<Item = &'a VerifiedEntry>,
    at: Day,
    known_at: Timestamp,
) -> Result<View, OutOfOrder> {
    let mut state = State::new();
    for entry in entries {
        if entry.entry().unsigned.recorded_at <= known_at {
            state.apply(entry)?;
        }
    }
    let mut view = state.view(at);
    view.known_at = Some(known_at);
    Ok(view)
}

/// The log up to and including entry `seq`, viewed as on effective date `at`.
pub fn up_to_seq<'a>(
    entries: impl IntoIterator<Item = &'a VerifiedEntry>,
    seq: u64,
    at: Day,
) -> Result<View, OutOfOrder> {
    let mut state = State::new();
    for entry in entries.into_iter().take_while(|e| e.seq() <= seq) {
        state.apply(entry)?;
    }
    Ok(state.view(at))
}
