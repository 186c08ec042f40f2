//! The shared error, and the matching rule, for words that must name one of a fixed set of values.

use thiserror::Error;

/// A word (from a command line, a CSV cell or a config file) that names none of the values
/// it was meant to name.
///
/// The message lists the valid spellings so the person at the keyboard can fix the input
/// without reading documentation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not {what}; expected one of: {}", .expected.join(", "))]
pub struct UnknownValue {
    /// What was expected, with its article ("a category", "an account status").
    pub what: &'static str,
    /// The text as given, before trimming, so the message shows exactly what was typed.
    pub input: String,
    /// The canonical spellings that would have been accepted.
    pub expected: Vec<&'static str>,
}

/// Finds the value in `all` whose canonical name matches `input`.
///
/// Spreadsheets and people write `Holds Copy`, `HOLDS_COPY` or ` holds-copy `, so the match
/// ignores case and surrounding whitespace and treats `_` and inner spaces like `-`.
pub(crate) fn parse_keyword<T: Copy>(
    input: &str,
    what: &'static str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, UnknownValue> {
    let key: String = input
        .trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    all.iter()
        .copied()
        .find(|&value| name(value) == key)
        .ok_or_else(|| UnknownValue {
            what,
            input: input.to_owned(),
            expected: all.iter().map(|&value| name(value)).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORDS: [&str; 2] = ["holds-copy", "wiped"];

    fn parse(input: &str) -> Result<&'static str, UnknownValue> {
        parse_keyword(input, "a device state", &WORDS, |w| w)
    }

    #[test]
    fn case_whitespace_and_underscores_do_not_matter() {
        assert_eq!(parse(" Holds_Copy "), Ok("holds-copy"));
        assert_eq!(parse("HOLDS COPY"), Ok("holds-copy"));
        assert_eq!(parse("wiped"), Ok("wiped"));
    }

    #[test]
    fn an_unknown_word_is_named_in_the_error_with_the_valid_choices() {
        let err = parse("melted").expect_err("melted is not a state");
        assert_eq!(
            err.to_string(),
            "\"melted\" is not a device state; expected one of: holds-copy, wiped"
        );
    }

    #[test]
    fn an_empty_word_is_refused() {
        assert!(parse("   ").is_err());
    }
}
