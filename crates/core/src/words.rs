//! How trail writes values into sentences for people: lists of seqs, and
//! enum values (a verdict, a stage) in words. The check messages, the
//! reports and the served pages all use these, so they read alike.

use serde::Serialize;

/// "seq 4" or "seqs 4 and 9" or "seqs 4, 9 and 12"; "no entry" for none.
pub fn seq_list(seqs: &[u64]) -> String {
    match seqs {
        [] => "no entry".into(),
        [one] => format!("seq {one}"),
        [init @ .., last] => {
            let init: Vec<String> = init.iter().map(u64::to_string).collect();
            format!("seqs {} and {last}", init.join(", "))
        }
    }
}

/// The JSON name of an enum value such as a verdict or a stage
/// (`not_implemented`); empty for a value that serialises to no string.
pub fn json_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// The same in words: its JSON name with spaces (`not implemented`).
pub fn words<T: Serialize>(value: &T) -> String {
    json_name(value).replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Verdict;

    #[test]
    fn seq_lists_read_as_english() {
        assert_eq!(seq_list(&[]), "no entry");
        assert_eq!(seq_list(&[4]), "seq 4");
        assert_eq!(seq_list(&[4, 9]), "seqs 4 and 9");
        assert_eq!(seq_list(&[4, 9, 12]), "seqs 4, 9 and 12");
    }

    #[test]
    fn enum_values_in_words() {
        assert_eq!(json_name(&Verdict::NotImplemented), "not_implemented");
        assert_eq!(words(&Verdict::NotImplemented), "not implemented");
        assert_eq!(words(&7), "");
    }
}
