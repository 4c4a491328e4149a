//! Text from the log made fit to show a reader. maud escapes markup; this
//! also makes inert what escaping leaves alone: control characters, and the
//! bidirectional and zero-width characters that could reorder or hide what a
//! reader sees.

/// Characters that change how the text around them is shown without being
/// seen themselves: bidirectional controls, zero-width characters and line
/// separators.
pub fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00ad}' | '\u{061c}' | '\u{180e}' | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}' | '\u{2060}'..='\u{206f}' | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}' | '\u{e0000}'..='\u{e007f}')
}

/// `text` with line breaks and tabs as spaces, and other control and
/// invisible characters as visible `\u{..}` escapes. Markup escaping is
/// the caller's, per format (maud's, in the pages).
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '\n' | '\r' | '\t') {
            out.push(' ');
        } else if c.is_control() || invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// `value` percent-encoded for a URL path segment or query value: everything but unreserved
/// characters (RFC 3986), so that a timestamp's `+` or `:` survives.
pub(crate) fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// At most `max` characters of `text`, made inert, with an ellipsis when cut.
pub(super) fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", inert(&text[..i])),
        None => inert(text),
    }
}

/// An amount in minor units as "GBP 250,000.00" (no decimals for the
/// currencies ISO 4217 gives none).
pub fn money(minor: u64, currency: &str) -> String {
    let zero_decimals = matches!(
        currency,
        "BIF"
            | "CLP"
            | "DJF"
            | "GNF"
            | "ISK"
            | "JPY"
            | "KMF"
            | "KRW"
            | "PYG"
            | "RWF"
            | "UGX"
            | "UYI"
            | "VND"
            | "VUV"
            | "XAF"
            | "XOF"
            | "XPF"
    );
    let (major, cents) = if zero_decimals {
        (minor, None)
    } else {
        (minor / 100, Some(minor % 100))
    };
    let digits = major.to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match cents {
        Some(c) => format!("{} {grouped}.{c:02}", inert(currency)),
        None => format!("{} {grouped}", inert(currency)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inert_makes_controls_and_bidi_visible() {
        assert_eq!(inert("a\u{202e}b"), "a\\u{202e}b");
        assert_eq!(inert("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(inert("x\u{200b}\u{2066}y"), "x\\u{200b}\\u{2066}y");
        assert_eq!(
            inert("soft\u{ad}hyphen\u{e0041}"),
            "soft\\u{ad}hyphen\\u{e0041}"
        );
        assert_eq!(inert("line\nnext\tcol"), "line next col");
        assert_eq!(inert("plain é ✓"), "plain é ✓");
    }

    #[test]
    fn excerpt_cuts_on_characters() {
        assert_eq!(excerpt("ééé", 2), "éé…");
        assert_eq!(excerpt("ab", 2), "ab");
    }

    #[test]
    fn money_uses_currency_decimals() {
        assert_eq!(money(25_000_000, "GBP"), "GBP 250,000.00");
        assert_eq!(money(5, "EUR"), "EUR 0.05");
        assert_eq!(money(1_234_567, "JPY"), "JPY 1,234,567");
    }
}
