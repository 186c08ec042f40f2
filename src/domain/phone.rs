//! Phone numbers: turning what agents type or files contain into one E.164 form, and masking it.
//!
//! Customers identify themselves by phone number far more often than by account number, and
//! they read it out in every format there is, so lookups and imports must agree on one
//! canonical spelling.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A phone number in E.164 form: `+` then 8 to 15 digits, for example `+12065550123`.
///
/// The only ways to build one go through [`normalize_msisdn`] (deserializing included), so
/// holding an `Msisdn` means holding a number that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Msisdn(String);

impl Msisdn {
    /// The E.164 text, `+12065550123`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the leading `+`, `12065550123`.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }

    /// The last four digits, which agents use to confirm a caller without reading out the rest.
    pub fn last4(&self) -> &str {
        let digits = self.digits();
        &digits[digits.len().saturating_sub(4)..]
    }

    /// True for country code 1, the North American Numbering Plan.
    pub fn is_nanp(&self) -> bool {
        self.digits().starts_with('1')
    }

    /// The number with all but its last four digits hidden, for screens, logs and audit
    /// detail: `+1••••••0123`. For North American numbers the country code `1` stays visible
    /// because it identifies nobody; elsewhere the country code length varies, so every
    /// digit but the last four is hidden.
    pub fn masked(&self) -> String {
        let digits = self.digits();
        let (shown_prefix, rest) = if self.is_nanp() {
            digits.split_at(1)
        } else {
            ("", digits)
        };
        let hidden = rest.len().saturating_sub(4);
        let mut masked = String::with_capacity(1 + shown_prefix.len() + hidden * 3 + 4);
        masked.push('+');
        masked.push_str(shown_prefix);
        masked.extend(std::iter::repeat_n('•', hidden));
        masked.push_str(&rest[hidden..]);
        masked
    }
}

impl fmt::Display for Msisdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

impl AsRef<str> for Msisdn {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for Msisdn {
    type Err = PhoneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        normalize_msisdn(s)
    }
}

impl TryFrom<String> for Msisdn {
    type Error = PhoneError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        normalize_msisdn(&s)
    }
}

impl TryFrom<&str> for Msisdn {
    type Error = PhoneError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        normalize_msisdn(s)
    }
}

impl From<Msisdn> for String {
    fn from(m: Msisdn) -> String {
        m.0
    }
}

/// Characters people put between digits. Beyond ASCII this covers the non-breaking and other
/// Unicode spaces and the dashes word processors substitute when a number is pasted from a
/// document.
fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '-' | '.' | '(' | ')' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}'
        )
}

/// Reads a phone number in any common format and returns it in E.164.
///
/// - Separators (spaces of any kind, `-`, `.`, `(`, `)`, `/`) are ignored; `+` may only
///   come first; any other character is refused.
/// - 10 digits are a North American number and get `+1`; so do 11 digits starting with `1`.
///   Area code and exchange must not start with 0 or 1.
/// - `+`, `00` or `011` (the international prefixes dialled in Europe and North America)
///   introduce an international number of 8 to 15 digits whose country code cannot start
///   with 0. When that country code is `1` the North American rules above apply as well, so
///   `+1` numbers are held to the same standard however they were typed.
///
/// # Errors
///
/// [`PhoneError`], naming the input and saying what is wrong with it.
pub fn normalize_msisdn(input: &str) -> Result<Msisdn, PhoneError> {
    let fail = |kind| PhoneError {
        input: input.to_owned(),
        kind,
    };
    let text = input.trim();
    if text.is_empty() {
        return Err(fail(PhoneErrorKind::Empty));
    }
    let mut digits = String::with_capacity(16);
    let mut international = false;
    for (i, c) in text.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => international = true,
            '+' => return Err(fail(PhoneErrorKind::MisplacedPlus)),
            c if is_separator(c) => {}
            c => return Err(fail(PhoneErrorKind::InvalidCharacter(c))),
        }
    }
    let canonical = if international {
        international_number(&digits)
    } else if let Some(rest) = digits.strip_prefix("00") {
        international_number(rest)
    } else if let Some(rest) = digits.strip_prefix("011") {
        international_number(rest)
    } else if digits.len() == 10 {
        north_american_number(&digits)
    } else if digits.len() == 11 && digits.starts_with('1') {
        north_american_number(&digits[1..])
    } else {
        Err(PhoneErrorKind::WrongLength(digits.len()))
    };
    canonical.map(Msisdn).map_err(fail)
}

/// `+1` and the ten digits, after checking the area code and exchange.
fn north_american_number(ten: &str) -> Result<String, PhoneErrorKind> {
    let (area, rest) = ten.split_at(3);
    let exchange = &rest[..3];
    if area.starts_with(['0', '1']) {
        return Err(PhoneErrorKind::BadAreaCode(area.to_owned()));
    }
    if exchange.starts_with(['0', '1']) {
        return Err(PhoneErrorKind::BadExchange(exchange.to_owned()));
    }
    Ok(format!("+1{ten}"))
}

/// `+` and the digits after an international prefix.
fn international_number(digits: &str) -> Result<String, PhoneErrorKind> {
    if digits.starts_with('0') {
        return Err(PhoneErrorKind::CountryCodeStartsWithZero);
    }
    if let Some(national) = digits.strip_prefix('1') {
        if national.len() != 10 {
            return Err(PhoneErrorKind::NorthAmericanLength(digits.len()));
        }
        return north_american_number(national);
    }
    if !(8..=15).contains(&digits.len()) {
        return Err(PhoneErrorKind::InternationalLength(digits.len()));
    }
    Ok(format!("+{digits}"))
}

/// The ASCII digits of `s`, in order, with everything else dropped.
pub fn digits_only(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// True when `s` is made only of characters a phone number is written with and holds at
/// least seven digits, which is how a search box tells a phone number from a name.
pub fn looks_like_phone(s: &str) -> bool {
    let mut digit_count = 0;
    for c in s.chars() {
        if c.is_ascii_digit() {
            digit_count += 1;
        } else if !(c == '+' || is_separator(c)) {
            return false;
        }
    }
    digit_count >= 7
}

/// A phone number as error messages and logs may show it: with more than four digits, only
/// the last four ("…0123"); otherwise the text itself, cleaned and cut to 40 characters.
pub fn mask_phone_text(s: &str) -> String {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if digits.len() > 4 {
        format!("…{}", &digits[digits.len() - 4..])
    } else {
        super::text::sanitize(s).chars().take(40).collect()
    }
}

/// Text that could not be read as a phone number. Its message shows the number masked
/// ([`mask_phone_text`]): errors end up in logs and on shared screens.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("\"{}\" is not a phone number: {kind}", mask_phone_text(.input))]
pub struct PhoneError {
    /// The text exactly as given.
    pub input: String,
    pub kind: PhoneErrorKind,
}

/// Why a phone number was refused; each reads as the end of the sentence in [`PhoneError`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PhoneErrorKind {
    #[error("it is empty")]
    Empty,
    #[error("it contains {0:?}, which is not a digit or a separator")]
    InvalidCharacter(char),
    #[error("'+' may only come first")]
    MisplacedPlus,
    #[error(
        "it has {0} digits; expected a 10-digit North American number, or a country code and number after + or 00"
    )]
    WrongLength(usize),
    #[error("the area code {0} cannot start with 0 or 1")]
    BadAreaCode(String),
    #[error("the exchange {0} cannot start with 0 or 1")]
    BadExchange(String),
    #[error("a country code cannot start with 0")]
    CountryCodeStartsWithZero,
    #[error("a +1 number has 11 digits, this has {0}")]
    NorthAmericanLength(usize),
    #[error("an international number has 8 to 15 digits, this has {0}")]
    InternationalLength(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e164(s: &str) -> String {
        normalize_msisdn(s)
            .unwrap_or_else(|e| panic!("{s:?} should be accepted: {e}"))
            .as_str()
            .to_owned()
    }

    fn refusal(s: &str) -> PhoneErrorKind {
        normalize_msisdn(s).expect_err("should be refused").kind
    }

    #[test]
    fn every_common_north_american_format_gives_the_same_number() {
        for input in [
            "+1 206 555 0123",
            "(206) 555-0123",
            "206.555.0123",
            "2065550123",
            "12065550123",
            "1-206-555-0123",
            "206/555-0123",
            "  2065550123\t",
            "\u{a0}206\u{a0}555\u{a0}0123\u{a0}",
            "206\u{2013}555\u{2013}0123",
            "+12065550123",
            "001 206 555 0123",
            "011 1 206 555 0123",
        ] {
            assert_eq!(e164(input), "+12065550123", "input {input:?}");
        }
    }

    #[test]
    fn a_ten_digit_number_gets_the_north_american_prefix() {
        assert_eq!(e164("4155550199"), "+14155550199");
    }

    #[test]
    fn an_international_number_keeps_its_country_code() {
        assert_eq!(e164("+44 20 7946 0958"), "+442079460958");
        assert_eq!(e164("0044 20 7946 0958"), "+442079460958");
        assert_eq!(e164("011 44 20 7946 0958"), "+442079460958");
    }

    #[test]
    fn letters_and_other_symbols_are_refused() {
        assert_eq!(refusal("abc"), PhoneErrorKind::InvalidCharacter('a'));
        assert_eq!(
            refusal("206-555-0123 x12"),
            PhoneErrorKind::InvalidCharacter('x')
        );
        assert_eq!(
            refusal("206*555*0123"),
            PhoneErrorKind::InvalidCharacter('*')
        );
    }

    #[test]
    fn a_plus_anywhere_but_first_is_refused() {
        assert_eq!(refusal("1+2065550123"), PhoneErrorKind::MisplacedPlus);
        assert_eq!(refusal("++12065550123"), PhoneErrorKind::MisplacedPlus);
    }

    #[test]
    fn empty_input_is_refused() {
        assert_eq!(refusal(""), PhoneErrorKind::Empty);
        assert_eq!(refusal(" \t\u{a0}"), PhoneErrorKind::Empty);
    }

    #[test]
    fn north_american_area_codes_and_exchanges_cannot_start_with_0_or_1() {
        assert_eq!(
            refusal("0265550123"),
            PhoneErrorKind::BadAreaCode("026".into())
        );
        assert_eq!(
            refusal("1065550123"),
            PhoneErrorKind::BadAreaCode("106".into())
        );
        assert_eq!(
            refusal("2060550123"),
            PhoneErrorKind::BadExchange("055".into())
        );
        assert_eq!(
            refusal("2061550123"),
            PhoneErrorKind::BadExchange("155".into())
        );
        assert_eq!(
            refusal("+1 106 555 0123"),
            PhoneErrorKind::BadAreaCode("106".into())
        );
        assert_eq!(
            refusal("1 206 155 0123"),
            PhoneErrorKind::BadExchange("155".into())
        );
    }

    #[test]
    fn numbers_of_the_wrong_length_are_refused() {
        assert_eq!(refusal("555-0123"), PhoneErrorKind::WrongLength(7));
        assert_eq!(refusal("206555012"), PhoneErrorKind::WrongLength(9));
        assert_eq!(refusal("22065550123"), PhoneErrorKind::WrongLength(11));
        assert_eq!(refusal("+44 1234"), PhoneErrorKind::InternationalLength(6));
        assert_eq!(
            refusal("+44 1234 5678 9012 34"),
            PhoneErrorKind::InternationalLength(16)
        );
        assert_eq!(
            refusal("+1 206 555 012"),
            PhoneErrorKind::NorthAmericanLength(10)
        );
        assert_eq!(refusal("+"), PhoneErrorKind::InternationalLength(0));
    }

    #[test]
    fn a_country_code_cannot_start_with_zero() {
        assert_eq!(
            refusal("+044 20 7946 0958"),
            PhoneErrorKind::CountryCodeStartsWithZero
        );
        assert_eq!(
            refusal("000 44 20 7946"),
            PhoneErrorKind::CountryCodeStartsWithZero
        );
    }

    #[test]
    fn the_error_is_one_sentence_naming_the_input() {
        let err = normalize_msisdn("abc").expect_err("letters are refused");
        assert_eq!(
            err.to_string(),
            "\"abc\" is not a phone number: it contains 'a', which is not a digit or a separator"
        );
    }

    #[test]
    fn the_error_shows_only_the_last_four_digits_of_a_number() {
        let err = normalize_msisdn("+1 206 555 01234 x").expect_err("letters are refused");
        let text = err.to_string();
        assert!(
            text.starts_with("\"…1234\" is not a phone number"),
            "{text}"
        );
        assert!(!text.contains("206"), "{text}");
        assert_eq!(mask_phone_text("(206) 555-0123"), "…0123");
        assert_eq!(mask_phone_text("12\u{1b}[2J"), "12");
    }

    #[test]
    fn the_parts_of_a_number_are_available_without_reparsing() {
        let m = normalize_msisdn("(206) 555-0123").expect("valid");
        assert_eq!(m.as_str(), "+12065550123");
        assert_eq!(m.digits(), "12065550123");
        assert_eq!(m.last4(), "0123");
        assert_eq!(m.to_string(), "+12065550123");
        assert!(m.is_nanp());
    }

    #[test]
    fn a_north_american_number_is_masked_except_country_code_and_last_four() {
        let m = normalize_msisdn("2065550123").expect("valid");
        assert_eq!(m.masked(), "+1••••••0123");
    }

    #[test]
    fn an_international_number_is_masked_except_the_last_four() {
        let m = normalize_msisdn("+44 20 7946 0958").expect("valid");
        assert_eq!(m.masked(), "+••••••••0958");
        assert!(!m.is_nanp());
    }

    #[test]
    fn deserializing_validates_and_normalizes() {
        let m: Msisdn = serde_json::from_str("\"(206) 555-0123\"").expect("valid");
        assert_eq!(m.as_str(), "+12065550123");
        assert_eq!(
            serde_json::to_string(&m).ok().as_deref(),
            Some("\"+12065550123\"")
        );
        assert!(serde_json::from_str::<Msisdn>("\"call me\"").is_err());
    }

    #[test]
    fn digits_only_keeps_just_the_digits() {
        assert_eq!(digits_only("+1 (206) 555-0123"), "12065550123");
        assert_eq!(digits_only("abc"), "");
    }

    #[test]
    fn a_search_for_phone_digits_looks_like_a_phone_and_a_name_does_not() {
        assert!(looks_like_phone("(206) 555-0123"));
        assert!(looks_like_phone("555 0123"));
        assert!(looks_like_phone("+44 20 7946 0958"));
        assert!(!looks_like_phone("555-012"));
        assert!(!looks_like_phone("Jane 2065550123"));
        assert!(!looks_like_phone(""));
    }

    fn nanp_ten_digits() -> impl Strategy<Value = String> {
        ("[2-9][0-9]{2}", "[2-9][0-9]{2}", "[0-9]{4}").prop_map(|(a, e, l)| format!("{a}{e}{l}"))
    }

    proptest! {
        #[test]
        fn any_valid_north_american_number_normalizes_the_same_in_every_format(
            ten in nanp_ten_digits(),
        ) {
            let (a, rest) = ten.split_at(3);
            let (e, l) = rest.split_at(3);
            let expected = format!("+1{ten}");
            for text in [
                ten.clone(),
                format!("1{ten}"),
                format!("+1 {a} {e} {l}"),
                format!("({a}) {e}-{l}"),
                format!("{a}.{e}.{l}"),
                format!("1-{a}-{e}-{l}"),
                format!(" \u{a0}{a}\t{e} {l} "),
            ] {
                let got = normalize_msisdn(&text).map(|m| m.as_str().to_owned());
                prop_assert_eq!(got, Ok(expected.clone()), "input {:?}", text);
            }
        }

        #[test]
        fn normalizing_a_normalized_number_changes_nothing(s in "\\+?[0-9 ().-]{0,20}") {
            if let Ok(m) = normalize_msisdn(&s) {
                prop_assert_eq!(normalize_msisdn(m.as_str()), Ok(m.clone()));
            }
        }

        #[test]
        fn a_normalized_number_is_always_e164(s in "[+0-9 ().-]{0,24}") {
            if let Ok(m) = normalize_msisdn(&s) {
                let digits = m.digits();
                prop_assert!(m.as_str().starts_with('+'));
                prop_assert!((8..=15).contains(&digits.len()));
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                prop_assert!(!digits.starts_with('0'));
            }
        }

        #[test]
        fn masking_keeps_the_length_and_the_last_four_digits(s in "\\+[1-9][0-9]{7,14}") {
            if let Ok(m) = normalize_msisdn(&s) {
                let masked = m.masked();
                prop_assert_eq!(masked.chars().count(), m.as_str().chars().count());
                prop_assert!(masked.ends_with(m.last4()));
                prop_assert_eq!(digits_only(&masked).len(), if m.is_nanp() { 5 } else { 4 });
            }
        }

        #[test]
        fn normalizing_never_panics(s in "\\PC{0,30}") {
            let _ = normalize_msisdn(&s);
        }
    }
}
