//! The ledger as read: credits, appreciation requests, and what a credit action did.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::CreditKind;
use crate::domain::parse::{UnknownValue, parse_keyword};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Credit {
    pub id: i64,
    pub account_no: String,
    pub incident: String,
    pub kind: CreditKind,
    pub amount_cents: i64,
    pub currency: String,
    pub agent: String,
    pub approver: Option<String>,
    pub reason: String,
    pub batch_run_id: Option<i64>,
    pub reverses: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Where an appreciation request stands: waiting for a supervisor, approved (a credit was
/// written) or rejected with a reason. Decided once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestStatus {
    #[default]
    Pending,
    Approved,
    Rejected,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 3] = [Self::Pending, Self::Approved, Self::Rejected];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }

    /// The status a stored request is in: decided with a credit is approved, decided without
    /// one is rejected.
    pub fn of(decided_at: Option<DateTime<Utc>>, credit_id: Option<i64>) -> Self {
        match (decided_at, credit_id) {
            (_, Some(_)) => Self::Approved,
            (Some(_), None) => Self::Rejected,
            (None, None) => Self::Pending,
        }
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for RequestStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a request status", &Self::ALL, Self::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CreditRequest {
    pub id: i64,
    pub incident: String,
    pub kind: CreditKind,
    pub amount_cents: i64,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub credit_id: Option<i64>,
    #[serde(default)]
    pub status: RequestStatus,
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
    /// Why a supervisor rejected it (a rejected request only).
    #[serde(default)]
    pub rejection_reason: Option<String>,
}

/// One request as the approvals queue lists it: the request, and the account it is for with
/// the customer's name (masked for the roles the policy masks) and the incident's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RequestView {
    #[serde(flatten)]
    pub request: CreditRequest,
    pub account_id: i64,
    pub account_no: String,
    pub customer: String,
    pub currency: String,
}

impl RequestView {
    /// Masks the customer's name as search results are masked.
    pub fn mask(&mut self) {
        self.customer = crate::domain::privacy::mask_name(&self.customer);
    }
}

/// What a credit request did: a new ledger row, or the one an earlier identical request made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "result", content = "credit", rename_all = "kebab-case")]
pub enum CreditOutcome {
    Credited(Credit),
    AlreadyCredited(Credit),
}

impl CreditOutcome {
    pub fn credit(&self) -> &Credit {
        match self {
            Self::Credited(c) | Self::AlreadyCredited(c) => c,
        }
    }
    pub fn is_new(&self) -> bool {
        matches!(self, Self::Credited(_))
    }
}

/// What an appreciation request did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "result", content = "request", rename_all = "kebab-case")]
pub enum RequestOutcome {
    Requested(CreditRequest),
    AlreadyRequested(CreditRequest),
}

impl RequestOutcome {
    pub fn request(&self) -> &CreditRequest {
        match self {
            Self::Requested(r) | Self::AlreadyRequested(r) => r,
        }
    }
}

/// What a rejection did: the request marked rejected now, or found rejected before with the
/// same reason (a replay that changed nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "result", content = "request", rename_all = "kebab-case")]
pub enum RejectOutcome {
    Rejected(CreditRequest),
    AlreadyRejected(CreditRequest),
}

impl RejectOutcome {
    pub fn request(&self) -> &CreditRequest {
        match self {
            Self::Rejected(r) | Self::AlreadyRejected(r) => r,
        }
    }
    pub fn is_new(&self) -> bool {
        matches!(self, Self::Rejected(_))
    }
}
