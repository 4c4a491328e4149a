//! How results reach the terminal: JSON Lines envelopes and escaping of
//! text that came from a log, so a hostile entry cannot rewrite an auditor's screen.

use std::io::Write;

use serde::Serialize;

/// Prints one JSON Lines record in the `{"type": ..., "data": ...}` envelope.
pub fn json_line(kind: &str, data: impl Serialize) -> std::io::Result<()> {
    let line = serde_json::json!({ "type": kind, "data": data });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")
}

/// Prints a line of text to standard output.
pub fn line(text: impl std::fmt::Display) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
}

/// Text from a log, made safe to print: control characters and bidirectional
/// overrides are shown as `\u{..}` escapes instead of acting on the terminal.
pub fn safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::safe;

    #[test]
    fn escapes_terminal_controls_and_bidi() {
        assert_eq!(safe("ok"), "ok");
        assert_eq!(safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(safe("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(safe("line\nnext"), "line\\u{a}next");
    }
}
