//! Size limits enforced at append and at verify, so that neither a careless
//! signer nor a hostile bundle can make an entry that is too big to handle.
//! docs/FORMAT.md ("Limits") lists the same numbers.

/// Longest id (actor, report, recommendation, funding decision), in bytes.
pub const MAX_ID_LEN: usize = 64;
/// Longest short text (a log or body name, title, forum, document or evidence name,
/// revocation reason), in bytes.
pub const MAX_SHORT_TEXT: usize = 1024;
/// Longest free text (a subject, narrative, purpose, actions, reasons, notes), in bytes.
pub const MAX_LONG_TEXT: usize = 16 * 1024;
/// Most items in one list (addressees, recommendations, evidence, roles).
pub const MAX_LIST: usize = 64;
/// Largest canonical entry, in bytes; decoding refuses anything longer.
/// 65,535 and not 65,536: C2SP tlog-tiles entry bundles, which trail serves,
/// frame each entry with a 16-bit length.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;
