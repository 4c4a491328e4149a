//! Progress bars for long operations (verify, export, import): drawn on
//! standard error only when it is a terminal and the output is not JSON, so
//! scripts and pipes never see them.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting entries, or nothing when no one is watching a terminal.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    /// A bar towards `total` entries (a spinner with a count if unknown).
    pub fn entries(what: &str, total: Option<u64>, json: bool) -> Progress {
        if json || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = match total {
            Some(total) => ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {pos}/{len} entries ({rate}, {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("rate", rate)
                .progress_chars("=> "),
            ),
            None => ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg} {pos} entries ({rate})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner())
                    .with_key("rate", rate),
            ),
        };
        bar.set_message(what.to_owned());
        Progress(Some(bar))
    }

    /// Entries done so far.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.0 {
            bar.set_position(done);
        }
    }
}

/// Entries per second, rounded: `66,628/s`, not `66,628.3994/s`.
fn rate(state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
    let _ = write!(out, "{}/s", grouped(state.per_sec().round() as u64));
}

/// A whole number with thousands separated by commas.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rates_are_whole_numbers_in_groups_of_three() {
        assert_eq!(super::grouped(0), "0");
        assert_eq!(super::grouped(999), "999");
        assert_eq!(super::grouped(66_628), "66,628");
        assert_eq!(super::grouped(1_234_567), "1,234,567");
    }
}
