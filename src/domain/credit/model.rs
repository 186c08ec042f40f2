//! The ledger as read: credits, appreciation requests, and what a credit action did.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::CreditKind;

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
