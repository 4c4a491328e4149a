//! C2SP transparency-log checkpoints (c2sp.org/tlog-checkpoint): the signed
//! note body naming a log, a tree size and that tree's root.
//!
//! ```text
//! <origin>\n
//! <tree size, decimal, no leading zeros>\n
//! <base64 root hash>\n
//! [<extension line>\n]*
//! ```
//!
//! Parsing is strict so that one checkpoint has exactly one spelling: a
//! signature then commits to exactly one (origin, size, root).

use std::fmt;

use super::hash::Hash;
use super::keys::NoteSigner;
use super::note::{MAX_NOTE_SIZE, Note, NoteError, Verification, VerifierSet};
use super::tree::TreeSize;

/// Why a checkpoint was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The body is larger than a note may be.
    #[error("checkpoint is larger than {MAX_NOTE_SIZE} bytes")]
    TooLarge,
    /// The body does not end with a newline.
    #[error("checkpoint does not end with a newline")]
    MissingFinalNewline,
    /// One of the three mandatory lines is absent.
    #[error("checkpoint has no {0} line")]
    MissingLine(&'static str),
    /// The origin line is empty.
    #[error("checkpoint origin is empty")]
    EmptyOrigin,
    /// A line holds a control character (or a newline where none may be).
    #[error("checkpoint contains a control character")]
    ControlCharacter,
    /// The tree size is not canonical decimal or does not fit 64 bits.
    #[error("invalid tree size: {0}")]
    InvalidSize(&'static str),
    /// The root hash is not canonical base64 of exactly 32 bytes.
    #[error("root hash is not base64 of 32 bytes")]
    InvalidRoot,
    /// An extension line is empty (which would also end the note text).
    #[error("extension line {0} is empty")]
    EmptyExtension(usize),
    /// The checkpoint names a different log than the one expected.
    #[error("checkpoint origin {found:?} is not the expected {expected:?}")]
    OriginMismatch {
        /// Origin the caller trusts.
        expected: String,
        /// Origin in the checkpoint.
        found: String,
    },
    /// The enclosing signed note is malformed or not properly signed.
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
}

/// A parsed or to-be-signed checkpoint body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: TreeSize,
    root: Hash,
    extensions: Vec<String>,
}

/// Rejects any ASCII control character, newline included: each field is one line.
/// c2sp.org/tlog-checkpoint forbids only characters below U+0020 in a line;
/// DEL and everything above are allowed.
fn check_line(line: &str) -> Result<(), CheckpointError> {
    if line.chars().any(|c| u32::from(c) < 0x20) {
        return Err(CheckpointError::ControlCharacter);
    }
    Ok(())
}

/// Parses canonical unsigned decimal: digits only, no sign, no leading zero
/// unless the value is 0, within u64. Shared with tlog-proof indexes.
pub(crate) fn parse_decimal(text: &str) -> Result<u64, &'static str> {
    if text.is_empty() {
        return Err("empty");
    }
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not decimal digits");
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err("leading zero");
    }
    text.parse::<u64>().map_err(|_| "does not fit in 64 bits")
}

impl Checkpoint {
    /// Builds a checkpoint; the origin must be non-empty, single-line text.
    pub fn new(origin: &str, size: TreeSize, root: Hash) -> Result<Self, CheckpointError> {
        if origin.is_empty() {
            return Err(CheckpointError::EmptyOrigin);
        }
        check_line(origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// Adds extension lines (each non-empty, single-line). C2SP discourages
    /// them because monitors cannot audit them.
    pub fn with_extensions(mut self, extensions: Vec<String>) -> Result<Self, CheckpointError> {
        for (i, e) in extensions.iter().enumerate() {
            if e.is_empty() {
                return Err(CheckpointError::EmptyExtension(i + 1));
            }
            check_line(e)?;
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Parses a checkpoint body (the note text, final newline included).
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        if text.len() > MAX_NOTE_SIZE {
            return Err(CheckpointError::TooLarge);
        }
        let body = text
            .strip_suffix('\n')
            .ok_or(CheckpointError::MissingFinalNewline)?;
        let mut lines = body.split('\n');
        let origin = lines.next().ok_or(CheckpointError::MissingLine("origin"))?;
        let size = lines
            .next()
            .ok_or(CheckpointError::MissingLine("tree size"))?;
        let root = lines
            .next()
            .ok_or(CheckpointError::MissingLine("root hash"))?;
        let size = parse_decimal(size).map_err(CheckpointError::InvalidSize)?;
        let root = Hash::from_base64(root).map_err(|_| CheckpointError::InvalidRoot)?;
        let extensions = lines.map(str::to_owned).collect();
        Self::new(origin, TreeSize(size), root)?.with_extensions(extensions)
    }

    /// The log's origin line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree size.
    pub fn size(&self) -> TreeSize {
        self.size
    }

    /// The root hash of the tree at that size.
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// The extension lines, if any.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The body text, as signed.
    pub fn to_text(&self) -> String {
        self.to_string()
    }

    /// An unsigned note carrying this checkpoint.
    pub fn to_note(&self) -> Result<Note, CheckpointError> {
        Ok(Note::new(self.to_text())?)
    }

    /// Signs the checkpoint as its log (whose key name should be the origin).
    pub fn sign(&self, signer: &NoteSigner) -> Result<Note, CheckpointError> {
        let mut note = self.to_note()?;
        note.sign(signer)?;
        Ok(note)
    }

    /// Parses and verifies a signed checkpoint note for the log `origin`.
    ///
    /// Returns which trusted keys signed; deciding whether that satisfies a
    /// policy (the log's own key, a witness quorum) is up to the caller.
    pub fn open(
        msg: &[u8],
        origin: &str,
        known: &VerifierSet,
    ) -> Result<(Self, Verification), CheckpointError> {
        Self::from_note(&Note::parse(msg)?, origin, known)
    }

    /// Like [`Checkpoint::open`] for an already parsed note.
    pub fn from_note(
        note: &Note,
        origin: &str,
        known: &VerifierSet,
    ) -> Result<(Self, Verification), CheckpointError> {
        let checkpoint = Self::parse(note.text())?;
        if checkpoint.origin != origin {
            return Err(CheckpointError::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin,
            });
        }
        let verification = note.verify(known)?;
        Ok((checkpoint, verification))
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\n{}\n{}\n",
            self.origin,
            self.size.0,
            self.root.to_base64()
        )?;
        for e in &self.extensions {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "checkpoint_tests.rs"]
mod tests;
