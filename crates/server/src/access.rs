//! Who may write, and how much: bearer tokens for the transport and
//! per-key daily quotas. Both are checked before any signature is, so
//! anonymous or runaway traffic costs the server almost nothing.
//!
//! Tokens are not signing keys: a token only lets an organisation's
//! requests in; what an entry may say is still decided by the key that
//! signed it and the roles the log gives that key.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;

use trail_core::{Day, PublicKey, Timestamp};

use crate::ServeError;

/// The bearer tokens that may write, each with the organisation it belongs to.
#[derive(Clone, Default)]
pub struct Tokens {
    /// BLAKE3 of each token, with its organisation's name. Only hashes are
    /// kept, and comparing `blake3::Hash` values takes constant time.
    by_hash: Vec<(blake3::Hash, String)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} organisations)", self.by_hash.len())
    }
}

/// Tokens shorter than this are refused: they could be guessed.
const MIN_TOKEN_LEN: usize = 16;

impl Tokens {
    /// Reads a tokens file: one `ORGANISATION TOKEN` pair a line; blank
    /// lines and lines starting with `#` are skipped.
    pub fn read(path: &Path) -> Result<Tokens, ServeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::Io {
            path: path.to_owned(),
            source,
        })?;
        Tokens::parse(&text)
            .map_err(|reason| ServeError::Config(format!("{}: {reason}", path.display())))
    }

    /// Parses the text of a tokens file.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut by_hash = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut words = line.split_whitespace();
            let (Some(org), Some(token), None) = (words.next(), words.next(), words.next()) else {
                return Err(format!("line {}: expected ORGANISATION TOKEN", number + 1));
            };
            if token.len() < MIN_TOKEN_LEN {
                return Err(format!(
                    "line {}: the token of {org} is shorter than {MIN_TOKEN_LEN} characters",
                    number + 1
                ));
            }
            by_hash.push((blake3::hash(token.as_bytes()), org.to_owned()));
        }
        if by_hash.is_empty() {
            return Err("no tokens in the file".into());
        }
        Ok(Tokens { by_hash })
    }

    /// The organisation whose token this is, if any.
    pub fn organisation(&self, token: &str) -> Option<&str> {
        let hash = blake3::hash(token.as_bytes());
        // Every entry is compared, so the time taken says nothing about which matched.
        let mut found = None;
        for (known, org) in &self.by_hash {
            if *known == hash {
                found = Some(org.as_str());
            }
        }
        found
    }
}

/// Entries accepted per signing key per UTC day, counted since the server started.
pub(crate) struct Quotas {
    per_day: Option<u64>,
    /// The day counted, and each key's count on it; a new day starts afresh.
    used: Mutex<(Option<Day>, HashMap<PublicKey, u64>)>,
}

impl Quotas {
    pub(crate) fn new(per_day: Option<u64>) -> Quotas {
        Quotas {
            per_day,
            used: Mutex::new((None, HashMap::new())),
        }
    }

    /// Whether there is a quota to count against.
    pub(crate) fn is_on(&self) -> bool {
        self.per_day.is_some()
    }

    /// Counts `counts` against today's quotas, or refuses them all if any
    /// key would pass its quota; on refusal, says how many seconds remain
    /// until the quotas are renewed.
    pub(crate) fn reserve(
        &self,
        counts: &HashMap<PublicKey, u64>,
        now: Timestamp,
    ) -> Result<(), u64> {
        let Some(limit) = self.per_day else {
            return Ok(());
        };
        let today = Day::of_timestamp(now);
        let mut guard = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let (day, used) = &mut *guard;
        if *day != Some(today) {
            *day = Some(today);
            used.clear();
        }
        for (key, n) in counts {
            let so_far = used.get(key).copied().unwrap_or(0);
            if so_far.saturating_add(*n) > limit {
                let midnight = Timestamp::end_of_day(today).micros().saturating_add(1);
                let left = midnight.saturating_sub(now.micros()) / 1_000_000;
                return Err(u64::try_from(left).unwrap_or(0).max(1));
            }
        }
        for (key, n) in counts {
            let count = used.entry(*key).or_insert(0);
            *count = count.saturating_add(*n);
        }
        Ok(())
    }

    /// Gives back what [`Quotas::reserve`] counted for a batch that was
    /// refused or wrote nothing.
    pub(crate) fn release(&self, counts: &HashMap<PublicKey, u64>, now: Timestamp) {
        let mut guard = self.used.lock().unwrap_or_else(|p| p.into_inner());
        let (day, used) = &mut *guard;
        if *day != Some(Day::of_timestamp(now)) {
            return;
        }
        for (key, n) in counts {
            if let Some(count) = used.get_mut(key) {
                *count = count.saturating_sub(*n);
                if *count == 0 {
                    used.remove(key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_organisation() {
        let tokens =
            Tokens::parse("# comment\nsyp 0123456789abcdef0123\n\niopc fedcba9876543210fedc\n")
                .unwrap();
        assert_eq!(tokens.organisation("0123456789abcdef0123"), Some("syp"));
        assert_eq!(tokens.organisation("fedcba9876543210fedc"), Some("iopc"));
        assert_eq!(tokens.organisation("0123456789abcdef012"), None);
        assert!(Tokens::parse("syp short").unwrap_err().contains("shorter"));
        assert!(Tokens::parse("syp").unwrap_err().contains("line 1"));
        assert!(Tokens::parse("# only a comment\n").is_err());
    }

    #[test]
    fn quotas_refuse_past_the_limit_until_midnight() {
        let quotas = Quotas::new(Some(3));
        let key = PublicKey([1; 32]);
        let now: Timestamp = "2026-12-01T23:59:00Z".parse().unwrap();
        let two = HashMap::from([(key, 2)]);
        assert_eq!(quotas.reserve(&two, now), Ok(()));
        // 2 + 2 > 3: refused whole, with the seconds left until midnight.
        assert_eq!(quotas.reserve(&two, now), Err(60));
        quotas.release(&two, now);
        assert_eq!(quotas.reserve(&two, now), Ok(()));
        let one = HashMap::from([(key, 1)]);
        assert_eq!(quotas.reserve(&one, now), Ok(()));
        assert_eq!(quotas.reserve(&one, now), Err(60));
        let tomorrow: Timestamp = "2026-12-02T00:00:01Z".parse().unwrap();
        let other = HashMap::from([(PublicKey([2; 32]), 1)]);
        assert_eq!(quotas.reserve(&other, tomorrow), Ok(()));
        // A new day starts a new table: yesterday's keys are gone.
        assert_eq!(quotas.used.lock().unwrap().1.len(), 1);
        quotas.release(&other, tomorrow);
        assert!(quotas.used.lock().unwrap().1.is_empty());
        assert_eq!(quotas.reserve(&two, tomorrow), Ok(()));
        assert_eq!(
            Quotas::new(None).reserve(&HashMap::from([(key, 1_000)]), now),
            Ok(())
        );
    }
}
