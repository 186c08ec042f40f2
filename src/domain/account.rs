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

/// One line of a search result or worklist.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountSummary {
    /// The database's own id: the screens open an account by it, through a server too.
    pub id: i64,
    pub account_no: String,
    pub msisdn: String,
    pub name: String,
    pub email: String,
    pub account_status: AccountStatus,
    /// The derived loss status (the most urgent category).
    pub status: super::status::CategoryStatus,
}

impl AccountSummary {
    /// Leaves the account number and statuses, masks the name, e-mail and phone number.
    pub fn mask(&mut self) {
        self.name = super::privacy::mask_name(&self.name);
        self.email = super::privacy::mask_email(&self.email);
        self.msisdn = super::privacy::mask_msisdn(&self.msisdn);
    }
}

/// One period of an account's plan history, as stored and shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Plan {
    pub plan_code: String,
    pub data_plan: bool,
    pub price_cents: i64,
    pub currency: String,
    pub valid_from: chrono::DateTime<chrono::Utc>,
    pub valid_to: Option<chrono::DateTime<chrono::Utc>>,
}

impl Plan {
    /// The period as the credit rule reads it.
    pub fn period(&self) -> super::credit::PlanPeriod {
        super::credit::PlanPeriod {
            data_plan: self.data_plan,
            price_cents: self.price_cents,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
        }
    }
}
