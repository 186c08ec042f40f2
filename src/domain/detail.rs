//! Everything the account screen shows about one account, as one value.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::account::{AccountSummary, Plan};
use super::backup::Backup;
use super::category::Category;
use super::credit::{Credit, CreditKind, CreditRequest};
use super::incident::{Incident, IncidentRefusal};
use super::status::{CategoryStatus, DeviceState};
use super::timeline;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct CategoryState {
    pub incident: String,
    pub category: Category,
    pub status: CategoryStatus,
    pub server_lost: bool,
    pub device_state: DeviceState,
    pub items_before: i64,
    pub items_live: i64,
    /// Items the best usable backup holds for this category, if any backup covers it.
    pub items_backup: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Note {
    pub id: i64,
    pub agent: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

/// One event on an account's timeline, newest first: an audit record (its action and masked
/// detail as written) or a note (action `note`, its text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TimelineEvent {
    pub at: DateTime<Utc>,
    pub agent: String,
    pub action: String,
    pub text: String,
    /// What the record is about (a credit's id, "restore 4"), when it names something.
    #[serde(default)]
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AccountDetail {
    pub summary: AccountSummary,
    pub device_model: String,
    pub created_at: DateTime<Utc>,
    pub plans: Vec<Plan>,
    pub categories: Vec<CategoryState>,
    pub backups: Vec<Backup>,
    pub credits: Vec<Credit>,
    pub requests: Vec<CreditRequest>,
    pub notes: Vec<Note>,
    pub timeline: Vec<TimelineEvent>,
    /// The database's incidents, oldest first (the account's categories name theirs).
    pub incidents: Vec<Incident>,
    /// Each incident's advisory as given to the customer (one per incident at most).
    #[serde(default)]
    pub advice: Vec<super::contact::Advice>,
    /// Callbacks still pending, earliest first.
    #[serde(default)]
    pub callbacks: Vec<super::contact::Callback>,
    /// The name, e-mail and phone number are masked (the viewer's role sees less).
    pub masked: bool,
}

impl AccountDetail {
    /// The plan in force at `at`.
    pub fn plan_at(&self, at: DateTime<Utc>) -> Option<&Plan> {
        self.plans.iter().find(|p| p.period().in_force_at(at))
    }

    /// The plan in force now: the open-ended one, else the latest.
    pub fn current_plan(&self) -> Option<&Plan> {
        self.plans
            .iter()
            .find(|p| p.valid_to.is_none())
            .or_else(|| self.plans.last())
    }

    pub fn at_risk(&self) -> Vec<Category> {
        self.categories
            .iter()
            .filter(|c| c.status == CategoryStatus::AtRisk)
            .map(|c| c.category)
            .collect()
    }

    /// Whether any category of the account is in permanent-loss (for `incident`, or any).
    pub fn has_permanent_loss(&self, incident: Option<&str>) -> bool {
        self.categories.iter().any(|c| {
            c.status == CategoryStatus::PermanentLoss && incident.is_none_or(|i| c.incident == i)
        })
    }

    /// The incidents that touched this account (it has categories recorded for them).
    pub fn touched_by(&self) -> Vec<&Incident> {
        self.incidents
            .iter()
            .filter(|i| self.categories.iter().any(|c| c.incident == i.id))
            .collect()
    }

    /// The incident an action on the account screen is about: the selected category's, else
    /// the only incident that touched the account, else the one a command naming none gets.
    pub fn acting_incident(
        &self,
        selected_category: Option<usize>,
        now: DateTime<Utc>,
    ) -> Result<&Incident, IncidentRefusal> {
        let by_category = selected_category
            .and_then(|i| self.categories.get(i))
            .and_then(|c| self.incidents.iter().find(|i| i.id == c.incident));
        if let Some(i) = by_category {
            return Ok(i);
        }
        match self.touched_by().as_slice() {
            [only] => Ok(only),
            _ => super::incident::choose(&self.incidents, None, now),
        }
    }

    /// The at-risk categories by incident, with the advisory to read out for each.
    pub fn advisories(&self) -> Vec<(&Incident, Vec<Category>)> {
        self.incidents
            .iter()
            .filter_map(|i| {
                let cats: Vec<Category> = self
                    .categories
                    .iter()
                    .filter(|c| c.incident == i.id && c.status == CategoryStatus::AtRisk)
                    .map(|c| c.category)
                    .collect();
                (!cats.is_empty()).then_some((i, cats))
            })
            .collect()
    }

    /// The account's incident credit for `incident`, if it holds one.
    pub fn incident_credit(&self, incident: &str) -> Option<&Credit> {
        self.credits
            .iter()
            .find(|c| c.kind == CreditKind::Incident && c.incident == incident)
    }

    /// A timeline event as an agent reads it aloud ("$19.99 incident credit by alice"),
    /// amounts in the currency of the credit it names, else of the incident that touched the account.
    pub fn describe(&self, e: &TimelineEvent) -> String {
        let credit = e
            .object_id
            .as_deref()
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|_| e.action.starts_with("credit."))
            .and_then(|id| self.credits.iter().find(|c| c.id == id));
        let currency = credit
            .map(|c| c.currency.as_str())
            .or_else(|| self.touched_by().first().map(|i| i.currency.as_str()))
            .or_else(|| self.incidents.last().map(|i| i.currency.as_str()))
            .unwrap_or("USD");
        let said = timeline::sentence(
            &timeline::Record {
                action: &e.action,
                agent: &e.agent,
                object_id: e.object_id.as_deref(),
                detail: &e.text,
            },
            currency,
        );
        // A rejection's reason is kept with the request, not in the audit (it is typed by an
        // agent and may name the customer): the requester reads it here, as a note's text.
        match self.rejection_reason(e) {
            Some(reason) => format!("{said}: {reason}"),
            None => said,
        }
    }

    /// The reason of the rejection `e` records, when the account's request holds one.
    fn rejection_reason(&self, e: &TimelineEvent) -> Option<&str> {
        if e.action != "credit.reject" {
            return None;
        }
        let id: i64 = e
            .object_id
            .as_deref()?
            .strip_prefix("request ")?
            .parse()
            .ok()?;
        self.requests
            .iter()
            .find(|r| r.id == id)?
            .rejection_reason
            .as_deref()
    }

    /// The account's appreciation request for `incident`, if there is one.
    pub fn appreciation_request(&self, incident: &str) -> Option<&CreditRequest> {
        self.requests
            .iter()
            .find(|r| r.kind == CreditKind::Appreciation && r.incident == incident)
    }
}
