//! Money: integer cents, how amounts are parsed from people and files, and how they are shown.
//!
//! Floating point never touches an amount: credits are summed over a million accounts and the
//! ledger must reconcile to the cent.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// An amount of money in integer cents (hundredths of the currency unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    /// Adds two amounts, or `None` when the sum would not fit.
    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    /// Subtracts `other`, or `None` when the difference would not fit.
    pub fn checked_sub(self, other: Cents) -> Option<Cents> {
        self.0.checked_sub(other.0).map(Cents)
    }

    /// Multiplies by a count (months, accounts), or `None` when the product would not fit.
    pub fn checked_mul(self, factor: i64) -> Option<Cents> {
        self.0.checked_mul(factor).map(Cents)
    }

    /// The opposite amount (a reversal of a credit), or `None` for the one value that has none.
    pub fn checked_neg(self) -> Option<Cents> {
        self.0.checked_neg().map(Cents)
    }

    /// Sums amounts, or `None` as soon as the running total would not fit.
    pub fn checked_sum<I: IntoIterator<Item = Cents>>(amounts: I) -> Option<Cents> {
        amounts
            .into_iter()
            .try_fold(Cents::ZERO, Cents::checked_add)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Reads an amount as people and spreadsheets write it: `19.99`, `$19.99`, `-$5`,
    /// `1,234,567.89`, `0.5` (fifty cents).
    ///
    /// Surrounding whitespace is ignored. Thousands separators, when present, must group by
    /// three so that a European `1,50` is refused instead of silently read as 150 dollars.
    /// More than two decimals are refused rather than rounded, because rounding would
    /// credit an amount nobody typed.
    ///
    /// # Errors
    ///
    /// [`MoneyError`], naming the input and saying what is wrong with it.
    pub fn parse(input: &str) -> Result<Cents, MoneyError> {
        let fail = |kind| MoneyError {
            input: input.to_owned(),
            kind,
        };
        let text = input.trim();
        if text.is_empty() {
            return Err(fail(MoneyErrorKind::Empty));
        }
        let (negative, text) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let text = text.strip_prefix('$').unwrap_or(text);
        if let Some(bad) = text
            .chars()
            .find(|&c| !(c.is_ascii_digit() || c == ',' || c == '.'))
        {
            return Err(fail(MoneyErrorKind::InvalidCharacter(bad)));
        }
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        if whole.is_empty() {
            return Err(fail(MoneyErrorKind::MissingDigits));
        }
        if whole.contains(',') && !well_grouped(whole) {
            return Err(fail(MoneyErrorKind::MisplacedSeparator));
        }
        let fraction_cents = match fraction {
            None => 0,
            Some(f) if f.contains('.') => return Err(fail(MoneyErrorKind::SecondDecimalPoint)),
            Some(f) if f.contains(',') => return Err(fail(MoneyErrorKind::MisplacedSeparator)),
            Some("") => return Err(fail(MoneyErrorKind::MissingDecimals)),
            Some(f) if f.len() > 2 => return Err(fail(MoneyErrorKind::TooManyDecimals)),
            Some(f) => {
                let value = digits_value(f).ok_or_else(|| fail(MoneyErrorKind::Overflow))?;
                // "0.5" means fifty cents, not five.
                if f.len() == 1 { value * 10 } else { value }
            }
        };
        let whole_value = digits_value(whole).ok_or_else(|| fail(MoneyErrorKind::Overflow))?;
        let magnitude = whole_value
            .checked_mul(100)
            .and_then(|cents| cents.checked_add(fraction_cents))
            .ok_or_else(|| fail(MoneyErrorKind::Overflow))?;
        let signed = if negative { -magnitude } else { magnitude };
        i64::try_from(signed)
            .map(Cents)
            .map_err(|_| fail(MoneyErrorKind::Overflow))
    }
}

/// The largest magnitude any amount can have; anything bigger is an overflow however it is
/// signed, and checking against it keeps the i128 accumulator itself from overflowing.
const MAX_MAGNITUDE: i128 = 1 << 63;

/// The value of a run of ASCII digits (commas skipped), or `None` beyond any i64 amount.
fn digits_value(digits: &str) -> Option<i128> {
    let mut value: i128 = 0;
    for digit in digits.bytes().filter(u8::is_ascii_digit) {
        value = value * 10 + i128::from(digit - b'0');
        if value > MAX_MAGNITUDE {
            return None;
        }
    }
    Some(value)
}

/// True when commas split `whole` into a leading group of 1–3 digits and groups of exactly 3.
fn well_grouped(whole: &str) -> bool {
    let mut groups = whole.split(',');
    let first_ok = groups.next().is_some_and(|g| (1..=3).contains(&g.len()));
    first_ok && groups.all(|g| g.len() == 3)
}

/// Writes `magnitude` cents as `1,234.56`, without sign or currency.
fn grouped_amount(magnitude: u64) -> String {
    let units = (magnitude / 100).to_string();
    let mut grouped = String::with_capacity(units.len() + units.len() / 3 + 3);
    for (i, digit) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped}.{:02}", magnitude % 100)
}

impl fmt::Display for Cents {
    /// Shows dollars as agents read them out: `$1,234.56`, `-$5.00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        // pad() rather than write!() so tables can right-align amounts with `{:>12}`.
        f.pad(&format!("{sign}${}", grouped_amount(self.0.unsigned_abs())))
    }
}

impl FromStr for Cents {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cents::parse(s)
    }
}

/// Shows an amount in its currency: `$19.99` for US dollars, `19.99 EUR` for anything else.
///
/// The currency code comes from stored data, so only its ASCII letters and digits are kept:
/// nothing from the database reaches the terminal unfiltered.
pub fn format_cents(cents: i64, currency: &str) -> String {
    let code: String = currency
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if code == "USD" {
        return Cents(cents).to_string();
    }
    let sign = if cents < 0 { "-" } else { "" };
    let amount = grouped_amount(cents.unsigned_abs());
    if code.is_empty() {
        format!("{sign}{amount}")
    } else {
        format!("{sign}{amount} {code}")
    }
}

/// Text that could not be read as an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{input:?} is not an amount of money: {kind}")]
pub struct MoneyError {
    /// The text exactly as given.
    pub input: String,
    pub kind: MoneyErrorKind,
}

/// Why an amount was refused; each reads as the end of the sentence in [`MoneyError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MoneyErrorKind {
    #[error("it is empty")]
    Empty,
    #[error("it contains {0:?}; write amounts like 19.99, $19.99 or 1,234.50")]
    InvalidCharacter(char),
    #[error("it has no digits before the decimal point")]
    MissingDigits,
    #[error("it has a decimal point with no digits after it")]
    MissingDecimals,
    #[error("it has more than two digits after the decimal point")]
    TooManyDecimals,
    #[error("it has more than one decimal point")]
    SecondDecimalPoint,
    #[error("its thousands separators are misplaced (write 1,234,567.89)")]
    MisplacedSeparator,
    #[error("it is too large")]
    Overflow,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parsed(s: &str) -> i64 {
        Cents::parse(s)
            .unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
            .0
    }

    fn refusal(s: &str) -> MoneyErrorKind {
        Cents::parse(s).expect_err("should be refused").kind
    }

    #[test]
    fn amounts_show_as_dollars_with_two_decimals() {
        assert_eq!(Cents(1999).to_string(), "$19.99");
        assert_eq!(Cents(-500).to_string(), "-$5.00");
        assert_eq!(Cents(0).to_string(), "$0.00");
        assert_eq!(Cents(7).to_string(), "$0.07");
    }

    #[test]
    fn large_amounts_show_thousands_separators() {
        assert_eq!(Cents(123_456_789).to_string(), "$1,234,567.89");
        assert_eq!(Cents(100_000).to_string(), "$1,000.00");
        assert_eq!(Cents(99_999).to_string(), "$999.99");
    }

    #[test]
    fn the_most_negative_amount_still_displays() {
        assert_eq!(Cents(i64::MIN).to_string(), "-$92,233,720,368,547,758.08");
    }

    #[test]
    fn display_honours_width_so_tables_line_up() {
        assert_eq!(format!("{:>8}", Cents(1999)), "  $19.99");
    }

    #[test]
    fn plain_and_dollar_amounts_parse_to_cents() {
        assert_eq!(parsed("19.99"), 1999);
        assert_eq!(parsed("$19.99"), 1999);
        assert_eq!(parsed("100"), 10_000);
        assert_eq!(parsed(" $1,234,567.89 "), 123_456_789);
        assert_eq!(parsed("-$5"), -500);
        assert_eq!(parsed("-5.00"), -500);
        assert_eq!(parsed("-0"), 0);
    }

    #[test]
    fn a_single_decimal_digit_means_tens_of_cents() {
        assert_eq!(parsed("0.5"), 50);
        assert_eq!(parsed("19.9"), 1990);
    }

    #[test]
    fn more_than_two_decimals_are_refused_rather_than_rounded() {
        assert_eq!(refusal("19.999"), MoneyErrorKind::TooManyDecimals);
        assert_eq!(refusal("0.001"), MoneyErrorKind::TooManyDecimals);
    }

    #[test]
    fn empty_text_letters_and_stray_signs_are_refused() {
        assert_eq!(refusal(""), MoneyErrorKind::Empty);
        assert_eq!(refusal("   "), MoneyErrorKind::Empty);
        assert_eq!(refusal("abc"), MoneyErrorKind::InvalidCharacter('a'));
        assert_eq!(refusal("1999c"), MoneyErrorKind::InvalidCharacter('c'));
        assert_eq!(refusal("1e3"), MoneyErrorKind::InvalidCharacter('e'));
        assert_eq!(refusal("$-5"), MoneyErrorKind::InvalidCharacter('-'));
        assert_eq!(refusal("--5"), MoneyErrorKind::InvalidCharacter('-'));
        assert_eq!(refusal("$"), MoneyErrorKind::MissingDigits);
        assert_eq!(refusal("-"), MoneyErrorKind::MissingDigits);
    }

    #[test]
    fn malformed_decimal_points_are_refused() {
        assert_eq!(refusal(".50"), MoneyErrorKind::MissingDigits);
        assert_eq!(refusal("19."), MoneyErrorKind::MissingDecimals);
        assert_eq!(refusal("1.2.3"), MoneyErrorKind::SecondDecimalPoint);
    }

    #[test]
    fn thousands_separators_must_group_by_three() {
        assert_eq!(refusal("1,50"), MoneyErrorKind::MisplacedSeparator);
        assert_eq!(refusal("1234,567"), MoneyErrorKind::MisplacedSeparator);
        assert_eq!(refusal(",123"), MoneyErrorKind::MisplacedSeparator);
        assert_eq!(refusal("1,,234"), MoneyErrorKind::MisplacedSeparator);
        assert_eq!(refusal("1.23,4"), MoneyErrorKind::MisplacedSeparator);
    }

    #[test]
    fn amounts_beyond_an_i64_of_cents_are_refused() {
        assert_eq!(refusal("92233720368547758.08"), MoneyErrorKind::Overflow);
        assert_eq!(
            refusal("99999999999999999999999999999999999"),
            MoneyErrorKind::Overflow
        );
        assert_eq!(parsed("92233720368547758.07"), i64::MAX);
        assert_eq!(parsed("-92233720368547758.08"), i64::MIN);
    }

    #[test]
    fn the_error_message_names_the_input() {
        let err = Cents::parse("12abc").expect_err("letters are refused");
        assert_eq!(
            err.to_string(),
            "\"12abc\" is not an amount of money: it contains 'a'; write amounts like 19.99, $19.99 or 1,234.50"
        );
    }

    #[test]
    fn checked_arithmetic_reports_overflow_instead_of_wrapping() {
        assert_eq!(Cents(1999).checked_add(Cents(1)), Some(Cents(2000)));
        assert_eq!(Cents(i64::MAX).checked_add(Cents(1)), None);
        assert_eq!(Cents(1999).checked_mul(3), Some(Cents(5997)));
        assert_eq!(Cents(i64::MAX).checked_mul(2), None);
        assert_eq!(Cents(i64::MIN).checked_neg(), None);
        assert_eq!(Cents::checked_sum([Cents(1), Cents(2)]), Some(Cents(3)));
        assert_eq!(Cents::checked_sum([Cents(i64::MAX), Cents(1)]), None);
    }

    #[test]
    fn cents_serialize_as_a_bare_integer() {
        assert_eq!(
            serde_json::to_string(&Cents(1999)).ok().as_deref(),
            Some("1999")
        );
    }

    #[test]
    fn us_dollars_format_with_a_dollar_sign_and_others_with_their_code() {
        assert_eq!(format_cents(1999, "USD"), "$19.99");
        assert_eq!(format_cents(1999, "usd"), "$19.99");
        assert_eq!(format_cents(123_456, "EUR"), "1,234.56 EUR");
        assert_eq!(format_cents(-500, "GBP"), "-5.00 GBP");
        assert_eq!(format_cents(1999, ""), "19.99");
    }

    #[test]
    fn a_currency_code_cannot_smuggle_escape_sequences_to_the_terminal() {
        assert_eq!(format_cents(100, "E\u{1b}[31mUR"), "1.00 E31MUR");
    }

    proptest! {
        #[test]
        fn every_displayed_amount_parses_back_to_itself(n in any::<i64>()) {
            prop_assert_eq!(Cents::parse(&Cents(n).to_string()), Ok(Cents(n)));
        }

        #[test]
        fn plain_decimal_text_parses_to_the_same_cents(n in any::<i64>()) {
            let magnitude = n.unsigned_abs();
            let sign = if n < 0 { "-" } else { "" };
            let text = format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100);
            prop_assert_eq!(Cents::parse(&text), Ok(Cents(n)));
        }

        #[test]
        fn parsing_never_panics_on_arbitrary_text(s in "\\PC{0,30}") {
            let _ = Cents::parse(&s);
        }

        #[test]
        fn parsing_never_panics_on_money_shaped_text(s in "-?\\$?[0-9,]{0,25}(\\.[0-9,.]{0,4})?") {
            let _ = Cents::parse(&s);
        }

        #[test]
        fn three_or_more_decimals_are_always_refused(whole in 0u32..1_000_000, decimals in "[0-9]{3,8}") {
            let text = format!("{whole}.{decimals}");
            prop_assert_eq!(Cents::parse(&text).map_err(|e| e.kind), Err(MoneyErrorKind::TooManyDecimals));
        }

        #[test]
        fn a_successful_parse_round_trips_through_display(s in "-?\\$?[0-9]{1,12}(\\.[0-9]{1,2})?") {
            if let Ok(cents) = Cents::parse(&s) {
                prop_assert_eq!(Cents::parse(&cents.to_string()), Ok(cents));
            }
        }
    }
}
