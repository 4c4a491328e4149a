//! Small value types shared by events and entries: dates, timestamps, keys, digests and ids.
//!
//! Each type has one JSON form (the public input and output format) and one
//! canonical binary form (written by `encoding`). Parsing is strict: a value that
//! would not survive a round trip is refused.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ParseError;
use crate::limits;

/// A civil (calendar) date with no time zone: the date an event speaks about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub jiff::civil::Date);

impl Day {
    /// Builds a day from year, month and day, if that date exists.
    pub fn new(year: i16, month: i8, day: i8) -> Option<Day> {
        jiff::civil::Date::new(year, month, day).ok().map(Day)
    }

    /// The day `days` after this one (negative goes back), if it is representable.
    pub fn plus_days(self, days: i32) -> Option<Day> {
        // try_days: a span of more days than jiff allows is None, not a panic.
        let span = jiff::Span::new().try_days(days).ok()?;
        self.0.checked_add(span).ok().map(Day)
    }

    /// The UTC calendar date of a timestamp.
    pub fn of_timestamp(at: Timestamp) -> Day {
        Day(at.0.to_zoned(jiff::tz::TimeZone::UTC).date())
    }

    /// Whole days from `self` to `later` (negative when `later` is earlier).
    pub fn days_until(self, later: Day) -> i64 {
        let span = later.0 - self.0;
        i64::from(span.get_days())
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Day {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // jiff accepts only the ISO 8601 extended form YYYY-MM-DD here.
        let date: jiff::civil::Date = s.parse().map_err(|_| ParseError::Day(s.to_owned()))?;
        if date.to_string() != s {
            return Err(ParseError::Day(s.to_owned()));
        }
        Ok(Day(date))
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC instant with microsecond precision: when an entry was recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub jiff::Timestamp);

impl Timestamp {
    /// The current time, truncated to whole microseconds (the stored precision).
    pub fn now() -> Timestamp {
        Timestamp::from_micros(jiff::Timestamp::now().as_microsecond())
            .unwrap_or(Timestamp(jiff::Timestamp::UNIX_EPOCH))
    }

    /// Microseconds since 1970-01-01T00:00:00Z.
    pub fn micros(self) -> i64 {
        self.0.as_microsecond()
    }

    /// The instant `micros` microseconds after the Unix epoch, if representable.
    pub fn from_micros(micros: i64) -> Option<Timestamp> {
        jiff::Timestamp::from_microsecond(micros)
            .ok()
            .map(Timestamp)
    }

    /// The last microsecond of a UTC day: "known at D" includes all of D.
    pub fn end_of_day(day: Day) -> Timestamp {
        let next = day.plus_days(1).unwrap_or(day);
        let start = next
            .0
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp().as_microsecond())
            .unwrap_or(i64::MAX);
        Timestamp::from_micros(start.saturating_sub(1)).unwrap_or(Timestamp(jiff::Timestamp::MAX))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.6}", self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseError::Timestamp(s.to_owned());
        let ts: jiff::Timestamp = s.parse().map_err(|_| bad())?;
        Timestamp::from_micros(ts.as_microsecond()).ok_or_else(bad)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Declares a 32-byte value written as lowercase hex in JSON and raw in binary.
macro_rules! bytes32 {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&hex::encode(self.0))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), hex::encode(self.0))
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let mut out = [0u8; 32];
                let bad = ParseError::Hex { what: $what };
                if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
                    return Err(bad);
                }
                hex::decode_to_slice(s, &mut out).map_err(|_| bad)?;
                Ok($name(out))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

bytes32!(
    /// An ed25519 public key (the 32-byte compressed point).
    PublicKey,
    "a public key"
);
bytes32!(
    /// A BLAKE3 digest of a document cited as evidence.
    Digest,
    "a blake3 digest"
);
bytes32!(
    /// The hash of an entry (see docs/FORMAT.md, "Entry hash").
    EntryHash,
    "an entry hash"
);

impl PublicKey {
    /// The key as an ed25519-dalek verifying key, if the bytes are a valid point.
    pub fn verifying_key(&self) -> Option<ed25519_dalek::VerifyingKey> {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).ok()
    }

    /// The first 8 hex digits, enough to tell keys apart in messages.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl Digest {
    /// BLAKE3 of a document's bytes, as cited in evidence.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(*blake3::hash(bytes).as_bytes())
    }

    /// BLAKE3 of everything `reader` yields, read in a streaming pass.
    pub fn of_reader(reader: impl std::io::Read) -> std::io::Result<Digest> {
        let mut hasher = blake3::Hasher::new();
        hasher.update_reader(reader)?;
        Ok(Digest(*hasher.finalize().as_bytes()))
    }
}

/// An ed25519 signature over an entry's signing input.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl Serialize for Signature {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An identifier chosen by people: an actor, a report, a recommendation, a funding decision.
///
/// Ids are short and printable so that they can be typed, shown in a terminal
/// and compared without surprises: ASCII letters, digits and `- _ . / :`, at
/// most [`limits::MAX_ID_LEN`] bytes. Control characters and bidirectional
/// overrides can therefore never reach an auditor's screen through an id.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Id(String);

impl Id {
    /// A sort key that orders ids the way people number them: R2 before
    /// R10 (runs of digits compare as numbers).
    pub fn natural_key(id: &str) -> Vec<(String, u64)> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut digits = String::new();
        for c in id.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else {
                if !digits.is_empty() {
                    parts.push((
                        std::mem::take(&mut text),
                        digits.parse().unwrap_or(u64::MAX),
                    ));
                    digits.clear();
                }
                text.push(c);
            }
        }
        parts.push((text, digits.parse().unwrap_or(0)));
        parts
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Checks that `s` is a well-formed id and wraps it.
    pub fn new(s: &str) -> Result<Id, ParseError> {
        if s.is_empty() {
            return Err(ParseError::EmptyId);
        }
        if s.len() > limits::MAX_ID_LEN {
            return Err(ParseError::IdTooLong {
                len: s.len(),
                max: limits::MAX_ID_LEN,
            });
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "-_./:".contains(*c)))
        {
            return Err(ParseError::IdCharacter {
                id: s.escape_default().to_string(),
                found: c,
            });
        }
        Ok(Id(s.to_owned()))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Id {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Id::new(s)
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Id::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_parses_only_iso_dates() {
        assert_eq!(
            "2021-11-23".parse::<Day>().unwrap(),
            Day::new(2021, 11, 23).unwrap()
        );
        for bad in [
            "2021-11-31",
            "2021-1-23",
            "23/11/2021",
            "2021-11-23T00:00:00Z",
            "",
        ] {
            assert!(bad.parse::<Day>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn fifty_six_day_period_ends_on_day_fifty_five() {
        let issued = Day::new(2021, 11, 23).unwrap();
        assert_eq!(issued.plus_days(55).unwrap().to_string(), "2022-01-17");
        assert_eq!(issued.days_until(issued.plus_days(55).unwrap()), 55);
    }

    #[test]
    fn ids_refuse_controls_and_bidi_overrides() {
        assert!(Id::new("LINDEN-R1").is_ok());
        assert!(Id::new("21/034").is_ok());
        for bad in ["", "a b", "rec\u{202e}1", "x\u{1b}[2J", "é"] {
            assert!(Id::new(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(Id::new(&"a".repeat(limits::MAX_ID_LEN + 1)).is_err());
    }

    #[test]
    fn hex_values_must_be_lowercase_and_exact() {
        let hex = "ab".repeat(32);
        assert!(hex.parse::<PublicKey>().is_ok());
        assert!(hex.to_uppercase().parse::<PublicKey>().is_err());
        assert!(hex[..62].parse::<PublicKey>().is_err());
    }

    #[test]
    fn huge_day_offsets_are_refused_not_panics() {
        let day = Day::new(2021, 11, 23).unwrap();
        assert_eq!(day.plus_days(i32::MAX), None);
        assert_eq!(day.plus_days(i32::MIN), None);
    }

    #[test]
    fn end_of_day_is_last_microsecond() {
        let day = Day::new(2022, 1, 17).unwrap();
        let end = Timestamp::end_of_day(day);
        assert_eq!(end.to_string(), "2022-01-17T23:59:59.999999Z");
        assert_eq!(Day::of_timestamp(end), day);
    }
}
