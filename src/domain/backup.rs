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
    /// The snapshot cannot be trusted: never restored from (SPEC: a corrupt snapshot).
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupCategory {
    pub category: Category,
    pub item_count: i64,
    pub bad_items: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
}
