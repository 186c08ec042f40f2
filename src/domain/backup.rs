//! Backups as an agent sees them: a snapshot per account, its categories and whether its
//! items can be trusted.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::category::Category;
use super::parse::{UnknownValue, parse_keyword};

/// How far a snapshot's items match their hashes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verification {
    /// Every item matches its hash.
    Verified,
    /// Some items fail their hash; the others can be restored.
    Partial,
    /// The snapshot cannot be trusted: never restored from (docs/commands.md: a corrupt snapshot).
    Corrupt,
    /// Only the manifest is loaded, not the items.
    Manifest,
}

impl Verification {
    pub const ALL: [Verification; 4] =
        [Self::Verified, Self::Partial, Self::Corrupt, Self::Manifest];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "verified",
            Self::Partial => "partial",
            Self::Corrupt => "corrupt",
            Self::Manifest => "manifest",
        }
    }

    /// Whether items can be restored from such a snapshot.
    pub fn restorable(self) -> bool {
        matches!(self, Self::Verified | Self::Partial)
    }
}

impl fmt::Display for Verification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Verification {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a backup verification", &Self::ALL, Self::as_str)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct BackupCategory {
    pub category: Category,
    pub item_count: i64,
    pub bad_items: i64,
    /// A restore from this backup into this category stands (applied, not undone).
    #[serde(default)]
    pub restored: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Backup {
    pub id: String,
    pub taken_at: DateTime<Utc>,
    pub source: String,
    pub verification: Verification,
    pub categories: Vec<BackupCategory>,
}

impl Backup {
    /// Whether items can be restored from it (never from a corrupt snapshot).
    pub fn verified(&self) -> bool {
        self.verification.restorable()
    }
}

/// Why an account has nothing to restore from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NoRestoreSource {
    #[error("the backup is corrupt and cannot be restored from")]
    Corrupt,
    #[error("the snapshot's items are not loaded yet (manifest only); nothing to restore from")]
    ManifestOnly,
    #[error("this account has no backup to restore from")]
    NoBackup,
    #[error("the backup holds no good items")]
    NoGoodItems,
}

/// The backup a restore starts from: the newest that can be restored from, with the
/// categories in which it holds good items.
pub fn restore_source(backups: &[Backup]) -> Result<(&Backup, Vec<Category>), NoRestoreSource> {
    let Some(b) = backups
        .iter()
        .filter(|b| b.verified())
        .max_by_key(|b| b.taken_at)
    else {
        let has = |v| backups.iter().any(|b| b.verification == v);
        return Err(if has(Verification::Corrupt) {
            NoRestoreSource::Corrupt
        } else if has(Verification::Manifest) {
            NoRestoreSource::ManifestOnly
        } else {
            NoRestoreSource::NoBackup
        });
    };
    let categories: Vec<Category> = b
        .categories
        .iter()
        .filter(|c| c.item_count > c.bad_items)
        .map(|c| c.category)
        .collect();
    if categories.is_empty() {
        return Err(NoRestoreSource::NoGoodItems);
    }
    Ok((b, categories))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_verified_and_partial_snapshots_are_restorable() {
        for v in Verification::ALL {
            assert_eq!(v.as_str().parse::<Verification>(), Ok(v));
        }
        assert!(Verification::Verified.restorable());
        assert!(Verification::Partial.restorable());
        assert!(!Verification::Corrupt.restorable());
        assert!(!Verification::Manifest.restorable());
        assert!("fine".parse::<Verification>().is_err());
    }

    fn backup(id: &str, day: i64, verification: Verification, good: bool) -> Backup {
        Backup {
            id: id.into(),
            taken_at: DateTime::from_timestamp(day * 86_400, 0).expect("time"),
            source: "s".into(),
            verification,
            categories: vec![BackupCategory {
                category: Category::Contacts,
                item_count: 10,
                bad_items: if good { 0 } else { 10 },
                restored: false,
            }],
        }
    }

    #[test]
    fn a_restore_starts_from_the_newest_usable_backup_or_says_why_there_is_none() {
        let old = backup("old", 1, Verification::Verified, true);
        let new = backup("new", 2, Verification::Partial, true);
        let bad = backup("bad", 3, Verification::Corrupt, true);
        let all = [old, new, bad.clone()];
        let (b, cats) = restore_source(&all).expect("a source");
        assert_eq!((b.id.as_str(), cats), ("new", vec![Category::Contacts]));
        assert_eq!(restore_source(&[bad]), Err(NoRestoreSource::Corrupt));
        assert_eq!(
            restore_source(&[backup("m", 1, Verification::Manifest, true)]),
            Err(NoRestoreSource::ManifestOnly)
        );
        assert_eq!(restore_source(&[]), Err(NoRestoreSource::NoBackup));
        assert_eq!(
            restore_source(&[backup("e", 1, Verification::Verified, false)]),
            Err(NoRestoreSource::NoGoodItems)
        );
    }
}
