//! The account's own lifecycle status and the shape of an account number.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::parse::{UnknownValue, parse_keyword};

/// Whether the customer's account is in service. Independent of incident impact: a closed
/// account can still have lost data and be owed a credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccountStatus {
    Active,
    Suspended,
    Closed,
}

impl AccountStatus {
    pub const ALL: [AccountStatus; 3] = [
        AccountStatus::Active,
        AccountStatus::Suspended,
        AccountStatus::Closed,
    ];

    /// The name used on the command line, in files and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Suspended => "suspended",
            AccountStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for AccountStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for AccountStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(
            s,
            "an account status",
            &AccountStatus::ALL,
            AccountStatus::as_str,
        )
    }
}

/// True when `s` (ignoring surrounding whitespace) is 6 to 12 ASCII digits, the shape of an
/// account number.
///
/// Callers still have to decide between an account number and a phone number, since a
/// 10-digit account number also looks like a phone number.
pub fn is_account_no(s: &str) -> bool {
    let s = s.trim();
    (6..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_parses_back_from_its_name() {
        for s in AccountStatus::ALL {
            assert_eq!(s.as_str().parse::<AccountStatus>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
        }
        assert_eq!(
            "Suspended ".parse::<AccountStatus>(),
            Ok(AccountStatus::Suspended)
        );
    }

    #[test]
    fn an_unknown_status_is_named_in_the_error() {
        let err = "frozen".parse::<AccountStatus>().expect_err("not a status");
        assert_eq!(
            err.to_string(),
            "\"frozen\" is not an account status; expected one of: active, suspended, closed"
        );
    }

    #[test]
    fn statuses_serialize_in_lowercase() {
        assert_eq!(
            serde_json::to_string(&AccountStatus::Closed)
                .ok()
                .as_deref(),
            Some("\"closed\"")
        );
    }

    #[test]
    fn six_to_twelve_digits_make_an_account_number() {
        assert!(is_account_no("123456"));
        assert!(is_account_no(" 123456789012 "));
        assert!(!is_account_no("12345"));
        assert!(!is_account_no("1234567890123"));
        assert!(!is_account_no("12345a"));
        assert!(!is_account_no("123 456"));
        assert!(!is_account_no("１２３４５６"));
        assert!(!is_account_no(""));
    }
}
