//! The credit rules of docs/commands.md, "Rules the commands keep": who is owed the incident credit and how much, and the
//! kinds of ledger entries.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account::AccountStatus;
use super::parse::{UnknownValue, parse_keyword};

pub mod model;
pub mod rules;

pub use model::{
    Credit, CreditOutcome, CreditRequest, RejectOutcome, RequestOutcome, RequestStatus, RequestView,
};
pub use rules::{
    ApprovalDecision, CreditRefusal, OVERLAPPING_PLANS, RejectionDecision, RequestDecision,
    ReversalDecision,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CreditKind {
    Incident,
    Appreciation,
    Goodwill,
    Reversal,
}

impl CreditKind {
    pub const ALL: [CreditKind; 4] = [
        Self::Incident,
        Self::Appreciation,
        Self::Goodwill,
        Self::Reversal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incident => "incident",
            Self::Appreciation => "appreciation",
            Self::Goodwill => "goodwill",
            Self::Reversal => "reversal",
        }
    }
}

impl fmt::Display for CreditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for CreditKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a credit kind", &Self::ALL, Self::as_str)
    }
}

/// One period of an account's plan history, as the rule needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanPeriod {
    pub data_plan: bool,
    pub price_cents: i64,
    pub valid_from: DateTime<Utc>,
    pub valid_to: Option<DateTime<Utc>>,
}

impl PlanPeriod {
    pub fn in_force_at(&self, at: DateTime<Utc>) -> bool {
        self.valid_from <= at && self.valid_to.is_none_or(|to| at < to)
    }
}

/// Why an account is not owed the incident credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ineligible {
    Closed,
    NoDataPlan,
}

impl Ineligible {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::NoDataPlan => "no-data-plan",
        }
    }

    pub fn explain(self) -> &'static str {
        match self {
            Self::Closed => "the account is closed",
            Self::NoDataPlan => "the account had no data plan at the incident's start",
        }
    }
}

/// The incident credit owed: `months` of the data-plan price in force at the incident's
/// start. A later plan change does not alter it; a closed account is not owed it.
pub fn incident_credit(
    status: AccountStatus,
    plans: &[PlanPeriod],
    incident_start: DateTime<Utc>,
    months: i64,
) -> Result<i64, Ineligible> {
    if status == AccountStatus::Closed {
        return Err(Ineligible::Closed);
    }
    plans
        .iter()
        .find(|p| p.in_force_at(incident_start))
        .filter(|p| p.data_plan && p.price_cents > 0)
        .and_then(|p| p.price_cents.checked_mul(months))
        .ok_or(Ineligible::NoDataPlan)
}

/// What the incident-credit rule decides for an account that holds no incident credit yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentCreditDecision {
    /// Owed this amount, from the plan at this index of the history given.
    Owed {
        amount_cents: i64,
        plan: usize,
    },
    Ineligible(Ineligible),
    /// More than one plan was in force at the incident's start: the data must be fixed
    /// before the account can be credited.
    OverlappingPlans,
}

impl IncidentCreditDecision {
    /// The amount a single credit of `account_no` writes, or the refusal it meets, in the
    /// rule's one message.
    pub fn owed(self, account_no: &str) -> Result<i64, CreditRefusal> {
        match self {
            Self::Owed { amount_cents, .. } => Ok(amount_cents),
            Self::Ineligible(why) => Err(CreditRefusal::NotOwed {
                account_no: account_no.to_string(),
                why,
            }),
            Self::OverlappingPlans => Err(CreditRefusal::OverlappingPlans {
                account_no: account_no.to_string(),
            }),
        }
    }
}

/// The incident-credit rule over an account's whole plan history: the plan in force at the
/// incident's start decides; two in force at once is a fault of the data, not a choice.
pub fn decide_incident_credit(
    status: AccountStatus,
    plans: &[PlanPeriod],
    incident_start: DateTime<Utc>,
    months: i64,
) -> IncidentCreditDecision {
    let mut in_force = plans
        .iter()
        .enumerate()
        .filter(|(_, p)| p.in_force_at(incident_start));
    let first = in_force.next();
    if in_force.next().is_some() {
        return IncidentCreditDecision::OverlappingPlans;
    }
    match incident_credit(status, plans, incident_start, months) {
        Ok(amount_cents) => IncidentCreditDecision::Owed {
            amount_cents,
            plan: first.map_or(0, |(i, _)| i),
        },
        Err(why) => IncidentCreditDecision::Ineligible(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
            .single()
            .expect("date")
    }

    fn plan(data: bool, cents: i64, from: DateTime<Utc>, to: Option<DateTime<Utc>>) -> PlanPeriod {
        PlanPeriod {
            data_plan: data,
            price_cents: cents,
            valid_from: from,
            valid_to: to,
        }
    }

    #[test]
    fn the_credit_follows_the_plan_in_force_at_the_incident_start() {
        let start = t(2009, 10, 2);
        let plans = [
            plan(true, 1999, t(2008, 1, 1), Some(t(2009, 10, 20))),
            plan(true, 2999, t(2009, 10, 20), None),
        ];
        assert_eq!(
            incident_credit(AccountStatus::Active, &plans, start, 1),
            Ok(1999)
        );
        assert_eq!(
            incident_credit(AccountStatus::Active, &plans, start, 2),
            Ok(3998)
        );
    }

    #[test]
    fn a_plan_that_starts_after_the_incident_does_not_count() {
        let plans = [plan(true, 1999, t(2009, 10, 3), None)];
        assert_eq!(
            incident_credit(AccountStatus::Active, &plans, t(2009, 10, 2), 1),
            Err(Ineligible::NoDataPlan)
        );
    }

    #[test]
    fn closed_accounts_and_voice_only_plans_are_ineligible() {
        let data = [plan(true, 1999, t(2008, 1, 1), None)];
        assert_eq!(
            incident_credit(AccountStatus::Closed, &data, t(2009, 10, 2), 1),
            Err(Ineligible::Closed)
        );
        assert_eq!(
            incident_credit(AccountStatus::Suspended, &data, t(2009, 10, 2), 1),
            Ok(1999)
        );
        let voice = [plan(false, 0, t(2008, 1, 1), None)];
        assert_eq!(
            incident_credit(AccountStatus::Active, &voice, t(2009, 10, 2), 1),
            Err(Ineligible::NoDataPlan)
        );
        assert_eq!(
            incident_credit(AccountStatus::Active, &[], t(2009, 10, 2), 1),
            Err(Ineligible::NoDataPlan)
        );
    }

    #[test]
    fn a_plan_ending_exactly_at_the_start_is_not_in_force() {
        let plans = [
            plan(true, 1999, t(2008, 1, 1), Some(t(2009, 10, 2))),
            plan(true, 2999, t(2009, 10, 2), None),
        ];
        assert_eq!(
            incident_credit(AccountStatus::Active, &plans, t(2009, 10, 2), 1),
            Ok(2999)
        );
    }

    #[test]
    fn two_plans_in_force_at_the_start_fail_rather_than_guess() {
        let start = t(2009, 10, 2);
        let overlapping = [
            plan(true, 1999, t(2008, 1, 1), None),
            plan(true, 2999, t(2009, 1, 1), None),
        ];
        assert_eq!(
            decide_incident_credit(AccountStatus::Active, &overlapping, start, 1),
            IncidentCreditDecision::OverlappingPlans
        );
        let history = [
            plan(false, 0, t(2007, 1, 1), Some(t(2008, 1, 1))),
            plan(true, 1999, t(2008, 1, 1), Some(t(2009, 11, 1))),
            plan(true, 2999, t(2009, 11, 1), None),
        ];
        assert_eq!(
            decide_incident_credit(AccountStatus::Active, &history, start, 1),
            IncidentCreditDecision::Owed {
                amount_cents: 1999,
                plan: 1
            }
        );
        assert_eq!(
            decide_incident_credit(AccountStatus::Closed, &history, start, 1),
            IncidentCreditDecision::Ineligible(Ineligible::Closed)
        );
        assert_eq!(
            decide_incident_credit(AccountStatus::Active, &history, start, 1).owed("100"),
            Ok(1999)
        );
        assert_eq!(
            decide_incident_credit(AccountStatus::Active, &overlapping, start, 1)
                .owed("100")
                .map_err(|e| e.to_string()),
            Err("account 100 cannot be credited: the plan history has overlapping plans at the incident's start".to_string())
        );
    }
}
