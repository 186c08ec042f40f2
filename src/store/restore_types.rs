//! What a backup import hands the store: snapshots with their items.

use crate::domain::Category;
use chrono::{DateTime, Utc};

/// One snapshot to import (a line of a backups file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackup {
    pub line: u64,
    pub id: String,
    pub account_no: String,
    pub taken_at: DateTime<Utc>,
    pub source: String,
    pub checksum: String,
    /// verified, partial, corrupt or manifest.
    pub verification: String,
    /// Per category: items, of which bad (not matching their hash).
    pub categories: Vec<(Category, i64, i64)>,
    pub items: Vec<NewBackupItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBackupItem {
    pub category: Category,
    pub uid: String,
    /// The payload's canonical JSON text (what its hash is computed over).
    pub payload: String,
    /// The hash the file gave.
    pub content_hash: String,
    pub hash_ok: bool,
}
