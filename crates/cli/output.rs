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

/// Longest text a table cell shows before it is cut, with "…".
pub const MAX_CELL: usize = 72;

/// Text from a log made safe, and cut to `max` characters with "…".
pub fn cell(text: &str, max: usize) -> String {
    let safe = safe(text);
    if safe.chars().count() <= max {
        return safe;
    }
    let mut cut: String = safe.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// A table's row: each cell padded to its column's width, two spaces
/// between columns, the last one unpadded.
pub fn row(cells: &[String], widths: &[usize]) -> String {
    let mut out = String::new();
    for (i, (text, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            out.push_str("  ");
        }
        if i + 1 == cells.len() {
            out.push_str(text);
        } else {
            out.push_str(text);
            out.extend(std::iter::repeat_n(
                ' ',
                width.saturating_sub(text.chars().count()),
            ));
        }
    }
    out.trim_end().to_owned()
}

/// Column widths that fit a header and rows.
pub fn widths(header: &[&str], rows: &[Vec<String>]) -> Vec<usize> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    widths
}

/// Prints `header` and `rows` as a table, each column as wide as its
/// widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let widths = widths(header, rows);
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    line(row(&header, &widths))?;
    for r in rows {
        line(row(r, &widths))?;
    }
    Ok(())
}

/// Whether a file argument is `-`: standard input or output.
pub fn is_dash(path: &std::path::Path) -> bool {
    path.as_os_str() == "-"
}

/// How to name an output file in a message: `-` is standard output.
pub fn name(path: &std::path::Path) -> String {
    match is_dash(path) {
        true => "standard output".into(),
        false => path.display().to_string(),
    }
}

/// A line saying what a command wrote to `out`: on standard output, unless
/// the command wrote its result there (`--out -`), then on standard error.
pub fn status(out: &std::path::Path, text: impl std::fmt::Display) -> std::io::Result<()> {
    if is_dash(out) {
        eprintln!("{text}");
        Ok(())
    } else {
        line(text)
    }
}

/// Says what a command that wrote `out` did: one JSON Lines record with
/// `--json`, else its lines of text; on standard error when the command's
/// own output went to standard output (`--out -`).
pub fn result(
    out: &std::path::Path,
    json: bool,
    kind: &str,
    data: serde_json::Value,
    lines: &[String],
) -> Result<(), crate::Failure> {
    match (json, is_dash(out)) {
        (true, false) => json_line(kind, data)?,
        (true, true) => eprintln!("{}", serde_json::json!({ "type": kind, "data": data })),
        (false, _) => {
            for text in lines {
                status(out, text)?;
            }
        }
    }
    Ok(())
}

/// Writes `bytes` to the file `path` whole or not at all (a temporary file
/// renamed into place), or to standard output for `-`.
pub fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), crate::Failure> {
    let fail = |e: std::io::Error| crate::Failure::input(format!("{}: {e}", path.display()));
    if is_dash(path) {
        let mut out = std::io::stdout().lock();
        out.write_all(bytes).map_err(crate::Failure::from)?;
        return out.flush().map_err(crate::Failure::from);
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes).map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// For a file argument of `-`, standard input saved to a temporary file
/// (for readers that need a file they can read twice); else `None`.
pub fn stdin_if_dash(
    path: &std::path::Path,
) -> Result<Option<tempfile::NamedTempFile>, crate::Failure> {
    if !is_dash(path) {
        return Ok(None);
    }
    let fail = |e: std::io::Error| crate::Failure::input(format!("standard input: {e}"));
    let mut file = tempfile::NamedTempFile::new().map_err(fail)?;
    std::io::copy(&mut std::io::stdin().lock(), &mut file).map_err(fail)?;
    file.flush().map_err(fail)?;
    Ok(Some(file))
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
    fn ids_sort_the_way_people_number_them() {
        let mut ids = ["R10", "R2", "R1", "R1a", "LINDEN-R12", "LINDEN-R3"];
        ids.sort_by_key(|i| trail_core::Id::natural_key(i));
        assert_eq!(ids, ["LINDEN-R3", "LINDEN-R12", "R1", "R1a", "R2", "R10"]);
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis() {
        assert_eq!(super::cell("short", 10), "short");
        assert_eq!(super::cell("a much longer text", 10), "a much lo…");
        assert_eq!(super::cell("a much longer text", 10).chars().count(), 10);
    }

    #[test]
    fn escapes_terminal_controls_and_bidi() {
        assert_eq!(safe("ok"), "ok");
        assert_eq!(safe("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(safe("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(safe("line\nnext"), "line\\u{a}next");
    }
}
