//! Batch credit runs as the domain sees them: each account's outcome, the run's tally (which
//! must reconcile), and the run's record.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::credit::Ineligible;
use super::parse::{UnknownValue, parse_keyword};

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Finished,
}

impl RunState {
    pub const ALL: [RunState; 2] = [Self::Running, Self::Finished];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Finished => "finished",
        }
    }
}

impl fmt::Display for RunState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for RunState {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a run state", &Self::ALL, Self::as_str)
    }
}

/// One account's outcome in a batch run (or in a single credit's preview).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Credited (or, in a plan, would be credited) now.
    Credited,
    /// Already holds its incident credit (from an earlier run or an agent).
    AlreadyCredited,
    Ineligible(Ineligible),
    /// Its data cannot be credited as it stands (for example overlapping plans).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AccountOutcome {
    #[serde(skip, default)]
    pub account_id: i64,
    pub account_no: String,
    pub outcome: Outcome,
    pub amount_cents: i64,
    pub currency: String,
    pub credit_id: Option<i64>,
    /// The batch run that made the account's incident credit, if one did.
    pub credit_run: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Tally {
    pub selected: i64,
    pub credited: i64,
    pub already_credited: i64,
    pub ineligible: i64,
    pub invalid: i64,
    pub failed: i64,
    pub total_cents: i64,
}

impl Tally {
    pub fn add(&mut self, o: &AccountOutcome) {
        self.selected += 1;
        match &o.outcome {
            Outcome::Credited => {
                self.credited += 1;
                self.total_cents += o.amount_cents;
            }
            Outcome::AlreadyCredited => self.already_credited += 1,
            Outcome::Ineligible(_) => self.ineligible += 1,
            Outcome::Failed(_) => self.failed += 1,
        }
    }

    pub fn reconciles(&self) -> bool {
        self.selected
            == self.credited + self.already_credited + self.ineligible + self.invalid + self.failed
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BatchRun {
    pub id: i64,
    pub incident: String,
    pub params_hash: String,
    pub selection: String,
    pub shard_k: i64,
    pub shard_n: i64,
    pub max_total_cents: Option<i64>,
    pub state: RunState,
    pub cursor: i64,
    pub tally: Tally,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl AccountOutcome {
    /// Why a single credit of this account is refused, in the rule's one message; `None`
    /// when it is credited or already was.
    pub fn refusal(&self) -> Option<super::credit::CreditRefusal> {
        use super::credit::CreditRefusal;
        match &self.outcome {
            Outcome::Ineligible(why) => Some(CreditRefusal::NotOwed {
                account_no: self.account_no.clone(),
                why: *why,
            }),
            Outcome::Failed(_) => Some(CreditRefusal::OverlappingPlans {
                account_no: self.account_no.clone(),
            }),
            Outcome::Credited | Outcome::AlreadyCredited => None,
        }
    }
}
