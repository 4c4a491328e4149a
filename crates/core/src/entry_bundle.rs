//! Entry bundles: entries' canonical bytes, each after its length as a
//! big-endian u16, back to back (docs/FORMAT.md, "Entry bundles"). This is
//! the framing of C2SP tlog-tiles entry bundles, and of the bodies that a
//! served log and its clients exchange.

use std::fmt;

use crate::limits::MAX_ENTRY_BYTES;

/// Why bytes are not an entry bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleFramingError {
    /// The bytes end inside a length or inside an entry.
    Truncated {
        /// Which entry of the bundle, from 0.
        index: usize,
    },
    /// A length of zero: no entry is empty.
    EmptyEntry {
        /// Which entry of the bundle, from 0.
        index: usize,
    },
    /// More entries than the caller accepts.
    TooMany {
        /// The caller's limit.
        limit: usize,
    },
}

impl fmt::Display for BundleFramingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BundleFramingError::Truncated { index } => {
                write!(f, "entry bundle ends inside entry {}", index + 1)
            }
            BundleFramingError::EmptyEntry { index } => {
                write!(f, "entry {} of the entry bundle has length zero", index + 1)
            }
            BundleFramingError::TooMany { limit } => {
                write!(f, "entry bundle holds more than {limit} entries")
            }
        }
    }
}

impl std::error::Error for BundleFramingError {}

/// Appends one entry's frame to `out`; refuses an entry too long to frame.
pub fn push(out: &mut Vec<u8>, entry: &[u8]) -> Result<(), crate::Error> {
    let len = u16::try_from(entry.len())
        .ok()
        .filter(|len| usize::from(*len) <= MAX_ENTRY_BYTES)
        .ok_or(crate::Error::EntryTooLarge {
            size: entry.len(),
            limit: MAX_ENTRY_BYTES,
        })?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(entry);
    Ok(())
}

/// Frames `entries` as one entry bundle.
pub fn encode<'a>(entries: impl IntoIterator<Item = &'a [u8]>) -> Result<Vec<u8>, crate::Error> {
    let mut out = Vec::new();
    for entry in entries {
        push(&mut out, entry)?;
    }
    Ok(out)
}

/// Splits an entry bundle into its entries, refusing more than `limit`.
pub fn decode(mut bytes: &[u8], limit: usize) -> Result<Vec<Vec<u8>>, BundleFramingError> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let index = entries.len();
        if index == limit {
            return Err(BundleFramingError::TooMany { limit });
        }
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(BundleFramingError::Truncated { index })?;
        let len = usize::from(u16::from_be_bytes(*len));
        if len == 0 {
            return Err(BundleFramingError::EmptyEntry { index });
        }
        let (entry, rest) = rest
            .split_at_checked(len)
            .ok_or(BundleFramingError::Truncated { index })?;
        entries.push(entry.to_vec());
        bytes = rest;
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_exact_bytes() {
        let bundle = encode([&b"ab"[..], &[7u8; 300][..]]).unwrap();
        assert_eq!(&bundle[..4], &[0, 2, b'a', b'b']);
        assert_eq!(&bundle[4..6], &300u16.to_be_bytes());
        assert_eq!(
            decode(&bundle, 10).unwrap(),
            vec![b"ab".to_vec(), vec![7u8; 300]]
        );
        assert_eq!(decode(&[], 10).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn refuses_bad_framing() {
        let bundle = encode([&b"ab"[..], &b"cd"[..]]).unwrap();
        for cut in [1, 3, 5, 7] {
            assert!(matches!(
                decode(&bundle[..cut], 10),
                Err(BundleFramingError::Truncated { .. })
            ));
        }
        assert_eq!(
            decode(&[0, 0], 10),
            Err(BundleFramingError::EmptyEntry { index: 0 })
        );
        assert_eq!(
            decode(&bundle, 1),
            Err(BundleFramingError::TooMany { limit: 1 })
        );
        let too_long = vec![0u8; MAX_ENTRY_BYTES + 1];
        assert!(matches!(
            encode([too_long.as_slice()]),
            Err(crate::Error::EntryTooLarge { .. })
        ));
    }
}
