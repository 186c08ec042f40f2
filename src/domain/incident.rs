//! An incident: what was lost when, what agents read out, and its credit policy.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::category::Category;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Incident {
    pub id: String,
    pub title: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub snapshot_as_of: DateTime<Utc>,
    pub categories: Vec<Category>,
    pub advisory: String,
    pub credit_months: i64,
    pub appreciation_cents: i64,
    pub currency: String,
}
