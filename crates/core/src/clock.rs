//! Clock rules for appends.
//!
//! Every entry carries two times: when it was recorded (the signer's clock at
//! append) and its effective date (the day the event speaks about). Two rules
//! keep them honest at append:
//!
//! * an entry is never recorded earlier than the head: a writer whose clock
//!   runs behind the log's is refused ([`crate::Error::ClockBehind`]), so
//!   recorded times never go backwards and "what did the log say at T" stays
//!   answerable;
//! * an effective date more than [`MAX_FUTURE_DAYS`] days after the day the
//!   entry is recorded is refused ([`crate::Error::FutureDate`]) unless the
//!   caller allows it with [`AppendOptions::allow_future_dates`]. A date that
//!   far ahead is almost always a typo (2062 for 2026) and would make replay
//!   count the event as done years before it happens.
//!
//! The future-date rule applies at append only: verification accepts such an
//! entry, since an append that allowed it is legitimate. Deadlines and target
//! dates inside an event (e.g. a revised target) are not effective dates and
//! may lie as far ahead as they need.

use crate::error::Error;
use crate::event::Event;
use crate::types::{Day, Timestamp};

/// How many days after its recorded day an entry's effective date may lie
/// without [`AppendOptions::allow_future_dates`]: a year and a day, so that a
/// statement dated "same day next year" (leap years included) is accepted.
pub const MAX_FUTURE_DAYS: i32 = 366;

/// Options for [`crate::Log::append_all_with`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppendOptions {
    /// Accept effective dates more than [`MAX_FUTURE_DAYS`] after the recorded day.
    pub allow_future_dates: bool,
}

impl AppendOptions {
    /// The default rules, with far-future effective dates allowed.
    pub fn allowing_future_dates() -> AppendOptions {
        AppendOptions {
            allow_future_dates: true,
        }
    }
}

/// Refuses the first event whose effective date lies more than
/// [`MAX_FUTURE_DAYS`] after the day of `recorded_at`, unless allowed.
pub(crate) fn check_dates(
    events: &[Event],
    recorded_at: Timestamp,
    options: AppendOptions,
) -> Result<(), Error> {
    if options.allow_future_dates {
        return Ok(());
    }
    let recorded = Day::of_timestamp(recorded_at);
    // A recorded day so late that the limit is unrepresentable has no limit.
    let Some(latest) = recorded.plus_days(MAX_FUTURE_DAYS) else {
        return Ok(());
    };
    for (index, event) in events.iter().enumerate() {
        let date = event.date();
        if date > latest {
            let refused = Error::FutureDate {
                date,
                recorded,
                max_days: MAX_FUTURE_DAYS,
            };
            return Err(match events.len() {
                1 => refused,
                _ => Error::InBatch {
                    index,
                    source: Box::new(refused),
                },
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, KeyRevoked};
    use crate::types::PublicKey;

    fn dated(date: Day) -> Event {
        Event::KeyRevoked(KeyRevoked {
            public_key: PublicKey([1; 32]),
            reason: "r".into(),
            date,
        })
    }

    fn at(day: Day) -> Timestamp {
        Timestamp::end_of_day(day)
    }

    #[test]
    fn the_limit_is_inclusive_and_the_option_lifts_it() {
        let today = Day::new(2026, 11, 23).unwrap();
        let edge = today.plus_days(MAX_FUTURE_DAYS).unwrap();
        let past = edge.plus_days(1).unwrap();
        let strict = AppendOptions::default();
        assert!(check_dates(&[dated(edge)], at(today), strict).is_ok());
        assert!(check_dates(&[dated(Day::new(1900, 1, 1).unwrap())], at(today), strict).is_ok());
        assert!(matches!(
            check_dates(&[dated(past)], at(today), strict),
            Err(Error::FutureDate { max_days: 366, .. })
        ));
        assert!(matches!(
            check_dates(&[dated(today), dated(past)], at(today), strict),
            Err(Error::InBatch { index: 1, .. })
        ));
        let allowed = AppendOptions::allowing_future_dates();
        assert!(check_dates(&[dated(today), dated(past)], at(today), allowed).is_ok());
        let message = check_dates(&[dated(past)], at(today), strict)
            .unwrap_err()
            .to_string();
        assert!(
            message.contains(&past.to_string()) && message.contains("366 days"),
            "{message}"
        );
    }
}
