//! What a restore, an undo and a device re-sync report, and a restore as recorded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CategoryCounts, Mode};
use crate::domain::category::Category;
use crate::domain::status::CategoryStatus;

/// One category of a restore: what the backup holds against the live items, what the mode
/// writes, and where the category stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreCategory {
    pub category: Category,
    #[serde(flatten)]
    pub counts: CategoryCounts,
    /// Items the server held before the incident (None: no impact is recorded for it).
    pub items_before: Option<i64>,
    /// `restored-full` or `restored-partial`: the items back against `items_before` (against
    /// the backup's count when no impact is recorded).
    pub result: String,
    /// The category's status: now for a preview, after the restore for an apply.
    pub status: Option<CategoryStatus>,
    /// The recovered-items fact before the restore, and the value the restore set, so undo
    /// can put the first back (unless something later changed it again).
    pub prior_recovered: Option<i64>,
    pub set_recovered: Option<i64>,
}

/// What a preview found or an apply did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestoreOutcome {
    /// A preview: nothing was written.
    Preview,
    Restored,
    /// The same restore was applied before and nothing changed since: nothing was written.
    AlreadyRestored,
    /// The live items already hold everything the backup could give: nothing was written.
    NothingToRestore,
}

impl RestoreOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Preview => "preview",
            Self::Restored => "restored",
            Self::AlreadyRestored => "already-restored",
            Self::NothingToRestore => "nothing-to-restore",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RestoreReport {
    /// The restore's record (apply), the earlier one (already restored), or none.
    pub restore_id: Option<i64>,
    pub outcome: RestoreOutcome,
    pub account_no: String,
    pub backup_id: String,
    /// verified or partial (corrupt and manifest-only snapshots are refused).
    pub verification: crate::domain::backup::Verification,
    pub mode: Mode,
    /// `restored-full` when every category is, else `restored-partial`.
    pub result: String,
    pub categories: Vec<RestoreCategory>,
}

impl RestoreReport {
    /// Items that failed their hash and were (or would be) left out.
    pub fn corrupt(&self) -> i64 {
        self.categories.iter().map(|c| c.counts.corrupt).sum()
    }
}

/// A restore as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RestoreRecord {
    pub id: i64,
    pub account_no: String,
    pub backup_id: String,
    pub mode: Mode,
    pub categories: Vec<RestoreCategory>,
    pub agent: String,
    pub result: String,
    pub created_at: DateTime<Utc>,
    pub undone_by: Option<String>,
    pub undone_at: Option<DateTime<Utc>>,
}

/// What an undo did, per category: items removed (the restore's additions), put back (items
/// it changed or removed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UndoReport {
    pub restore_id: i64,
    pub account_no: String,
    /// The restore had been undone before: nothing was written.
    pub already_undone: bool,
    pub undone_by: Option<String>,
    pub categories: Vec<UndoCategory>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct UndoCategory {
    pub category: Category,
    pub removed: i64,
    pub put_back: i64,
    pub live_after: i64,
    pub status: Option<CategoryStatus>,
}

/// A device re-sync recorded for one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ResyncReport {
    pub account_no: String,
    pub category: Category,
    pub items: i64,
    pub items_before: i64,
    /// False when the same (or a larger) recovery was already recorded.
    pub changed: bool,
    pub status_before: CategoryStatus,
    pub status: CategoryStatus,
}
