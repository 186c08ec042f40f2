//! The status of a customer's data: the facts recorded per category, the one rule that turns
//! them into a status, and how an account's status follows from its categories.
//!
//! Statuses are derived, never typed in, so two screens can never disagree about a customer.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::parse::{UnknownValue, parse_keyword};

/// What the customer's handset still holds for a category.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceState {
    /// The device kept its copy in memory; it is lost if the battery comes out or runs flat.
    HoldsCopy,
    /// The device was reset or lost power and has no copy left.
    Wiped,
    /// Nobody has asked the customer yet.
    #[default]
    Unknown,
}

impl DeviceState {
    pub const ALL: [DeviceState; 3] = [
        DeviceState::HoldsCopy,
        DeviceState::Wiped,
        DeviceState::Unknown,
    ];

    /// The name used on the command line, in files and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::HoldsCopy => "holds-copy",
            DeviceState::Wiped => "wiped",
            DeviceState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for DeviceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for DeviceState {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a device state", &DeviceState::ALL, DeviceState::as_str)
    }
}

/// Where a category of a customer's data stands.
///
/// The declaration order is the urgency order, most urgent first, and the derived `Ord`
/// follows it: sorting ascending puts the calls to make first on a worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CategoryStatus {
    /// The server lost it but the device still holds it: one battery pull from losing it.
    AtRisk,
    /// Server and device lost it, and a verified backup covers it.
    Restorable,
    /// No known source yet.
    Lost,
    /// A supervisor declared it gone after recovery was exhausted.
    PermanentLoss,
    /// Restored or re-synced, with fewer items than before the incident.
    RestoredPartial,
    /// Restored or re-synced, with at least as many items as before the incident.
    RestoredFull,
    /// The server copy survived.
    NotAffected,
}

impl CategoryStatus {
    /// Every status, most urgent first.
    pub const ALL: [CategoryStatus; 7] = [
        CategoryStatus::AtRisk,
        CategoryStatus::Restorable,
        CategoryStatus::Lost,
        CategoryStatus::PermanentLoss,
        CategoryStatus::RestoredPartial,
        CategoryStatus::RestoredFull,
        CategoryStatus::NotAffected,
    ];

    /// The name used on the command line, in files and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CategoryStatus::AtRisk => "at-risk",
            CategoryStatus::Restorable => "restorable",
            CategoryStatus::Lost => "lost",
            CategoryStatus::PermanentLoss => "permanent-loss",
            CategoryStatus::RestoredPartial => "restored-partial",
            CategoryStatus::RestoredFull => "restored-full",
            CategoryStatus::NotAffected => "not-affected",
        }
    }

    /// Position in the urgency order, 0 for the most urgent. Stored as an integer so the
    /// database can sort and take the minimum without knowing the names.
    pub fn rank(self) -> i64 {
        match self {
            CategoryStatus::AtRisk => 0,
            CategoryStatus::Restorable => 1,
            CategoryStatus::Lost => 2,
            CategoryStatus::PermanentLoss => 3,
            CategoryStatus::RestoredPartial => 4,
            CategoryStatus::RestoredFull => 5,
            CategoryStatus::NotAffected => 6,
        }
    }

    /// The status at `rank`, or `None` for a number no status has.
    pub fn from_rank(rank: i64) -> Option<Self> {
        usize::try_from(rank)
            .ok()
            .and_then(|i| CategoryStatus::ALL.get(i))
            .copied()
    }

    /// True while someone still has to do something for the customer: warn them, restore,
    /// keep looking, or follow up on a partial restore (and a permanent loss is owed an
    /// appreciation credit).
    pub fn needs_action(self) -> bool {
        !matches!(
            self,
            CategoryStatus::RestoredFull | CategoryStatus::NotAffected
        )
    }
}

impl fmt::Display for CategoryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for CategoryStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(
            s,
            "a category status",
            &CategoryStatus::ALL,
            CategoryStatus::as_str,
        )
    }
}

/// Everything recorded about one category of one account in one incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CategoryFacts {
    /// The server copy was lost in the incident.
    pub server_lost: bool,
    pub device_state: DeviceState,
    /// How many items the server held before the incident.
    pub items_before: i64,
    /// A backup whose items match their hashes covers this category.
    pub verified_backup: bool,
    /// A supervisor declared the loss permanent.
    pub permanent_loss: bool,
    /// Items back after the latest restore or device re-sync; `None` until one happened.
    pub recovered_items: Option<i64>,
}

/// The status of a category, from its facts. The rules apply in this order:
///
/// 1. the server copy was not lost → `not-affected`;
/// 2. a restore or re-sync brought back at least `items_before` items → `restored-full`
///    (this outranks a permanent-loss declaration: the data is back, whatever was declared);
/// 3. a supervisor declared permanent loss → `permanent-loss`;
/// 4. a restore or re-sync brought back fewer items → `restored-partial`;
/// 5. the device still holds a copy → `at-risk` (before `restorable`, because the device
///    copy may be newer than any backup and the customer must be warned not to lose it);
/// 6. a verified backup covers it → `restorable`;
/// 7. otherwise → `lost`.
pub fn derive_category_status(f: &CategoryFacts) -> CategoryStatus {
    if !f.server_lost {
        return CategoryStatus::NotAffected;
    }
    match f.recovered_items {
        Some(n) if n >= f.items_before => CategoryStatus::RestoredFull,
        _ if f.permanent_loss => CategoryStatus::PermanentLoss,
        Some(_) => CategoryStatus::RestoredPartial,
        None if f.device_state == DeviceState::HoldsCopy => CategoryStatus::AtRisk,
        None if f.verified_backup => CategoryStatus::Restorable,
        None => CategoryStatus::Lost,
    }
}

/// An account's status: its most urgent category's, or `not-affected` when it has none.
pub fn account_status<I: IntoIterator<Item = CategoryStatus>>(it: I) -> CategoryStatus {
    it.into_iter().min().unwrap_or(CategoryStatus::NotAffected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lost_on_server() -> CategoryFacts {
        CategoryFacts {
            server_lost: true,
            items_before: 300,
            ..CategoryFacts::default()
        }
    }

    #[test]
    fn an_intact_server_copy_is_not_affected_whatever_else_is_recorded() {
        let facts = CategoryFacts {
            server_lost: false,
            device_state: DeviceState::HoldsCopy,
            permanent_loss: true,
            recovered_items: Some(0),
            ..lost_on_server()
        };
        assert_eq!(derive_category_status(&facts), CategoryStatus::NotAffected);
    }

    #[test]
    fn a_restore_that_brings_back_every_item_is_full() {
        let facts = CategoryFacts {
            recovered_items: Some(300),
            ..lost_on_server()
        };
        assert_eq!(derive_category_status(&facts), CategoryStatus::RestoredFull);
        let more = CategoryFacts {
            recovered_items: Some(310),
            ..lost_on_server()
        };
        assert_eq!(derive_category_status(&more), CategoryStatus::RestoredFull);
    }

    #[test]
    fn a_full_restore_outranks_a_permanent_loss_declaration() {
        let facts = CategoryFacts {
            permanent_loss: true,
            recovered_items: Some(300),
            ..lost_on_server()
        };
        assert_eq!(derive_category_status(&facts), CategoryStatus::RestoredFull);
    }

    #[test]
    fn a_permanent_loss_declaration_outranks_a_partial_restore() {
        let facts = CategoryFacts {
            permanent_loss: true,
            recovered_items: Some(64),
            verified_backup: true,
            ..lost_on_server()
        };
        assert_eq!(
            derive_category_status(&facts),
            CategoryStatus::PermanentLoss
        );
    }

    #[test]
    fn sixty_four_of_three_hundred_contacts_back_is_a_partial_restore() {
        let facts = CategoryFacts {
            recovered_items: Some(64),
            device_state: DeviceState::HoldsCopy,
            ..lost_on_server()
        };
        assert_eq!(
            derive_category_status(&facts),
            CategoryStatus::RestoredPartial
        );
    }

    #[test]
    fn a_device_still_holding_its_copy_is_at_risk_even_with_a_backup() {
        let facts = CategoryFacts {
            device_state: DeviceState::HoldsCopy,
            verified_backup: true,
            ..lost_on_server()
        };
        assert_eq!(derive_category_status(&facts), CategoryStatus::AtRisk);
    }

    #[test]
    fn a_wiped_device_with_a_verified_backup_is_restorable() {
        let facts = CategoryFacts {
            device_state: DeviceState::Wiped,
            verified_backup: true,
            ..lost_on_server()
        };
        assert_eq!(derive_category_status(&facts), CategoryStatus::Restorable);
    }

    #[test]
    fn with_no_source_at_all_the_data_is_lost() {
        for device_state in [DeviceState::Wiped, DeviceState::Unknown] {
            let facts = CategoryFacts {
                device_state,
                ..lost_on_server()
            };
            assert_eq!(derive_category_status(&facts), CategoryStatus::Lost);
        }
    }

    #[test]
    fn an_account_takes_the_status_of_its_most_urgent_category() {
        use CategoryStatus::*;
        assert_eq!(account_status([NotAffected, RestoredPartial, Lost]), Lost);
        assert_eq!(account_status([Restorable, AtRisk]), AtRisk);
        assert_eq!(account_status([RestoredFull, NotAffected]), RestoredFull);
    }

    #[test]
    fn an_account_with_no_categories_is_not_affected() {
        assert_eq!(account_status([]), CategoryStatus::NotAffected);
    }

    #[test]
    fn the_urgency_order_is_the_one_the_spec_gives() {
        let mut shuffled = CategoryStatus::ALL;
        shuffled.reverse();
        shuffled.sort();
        assert_eq!(shuffled, CategoryStatus::ALL);
        let names: Vec<_> = CategoryStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "at-risk",
                "restorable",
                "lost",
                "permanent-loss",
                "restored-partial",
                "restored-full",
                "not-affected"
            ]
        );
    }

    #[test]
    fn rank_and_from_rank_agree_with_the_order() {
        for (i, status) in CategoryStatus::ALL.into_iter().enumerate() {
            let rank = i64::try_from(i).expect("small");
            assert_eq!(status.rank(), rank);
            assert_eq!(CategoryStatus::from_rank(rank), Some(status));
        }
        assert_eq!(CategoryStatus::from_rank(-1), None);
        assert_eq!(CategoryStatus::from_rank(7), None);
    }

    #[test]
    fn only_full_restores_and_untouched_data_need_no_action() {
        let idle: Vec<_> = CategoryStatus::ALL
            .into_iter()
            .filter(|s| !s.needs_action())
            .collect();
        assert_eq!(
            idle,
            [CategoryStatus::RestoredFull, CategoryStatus::NotAffected]
        );
    }

    #[test]
    fn statuses_and_device_states_parse_back_from_their_names() {
        for s in CategoryStatus::ALL {
            assert_eq!(s.as_str().parse::<CategoryStatus>(), Ok(s));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(
                serde_json::to_string(&s).ok(),
                Some(format!("\"{}\"", s.as_str()))
            );
        }
        for d in DeviceState::ALL {
            assert_eq!(d.as_str().parse::<DeviceState>(), Ok(d));
            assert_eq!(d.to_string(), d.as_str());
            assert_eq!(
                serde_json::to_string(&d).ok(),
                Some(format!("\"{}\"", d.as_str()))
            );
        }
        assert_eq!(
            "Permanent Loss".parse::<CategoryStatus>(),
            Ok(CategoryStatus::PermanentLoss)
        );
        assert_eq!(
            "HOLDS_COPY".parse::<DeviceState>(),
            Ok(DeviceState::HoldsCopy)
        );
    }

    #[test]
    fn an_unknown_device_state_is_named_in_the_error() {
        let err = "broken".parse::<DeviceState>().expect_err("not a state");
        assert_eq!(
            err.to_string(),
            "\"broken\" is not a device state; expected one of: holds-copy, wiped, unknown"
        );
    }

    #[test]
    fn facts_default_to_an_unknown_device_and_no_loss() {
        let facts = CategoryFacts::default();
        assert_eq!(facts.device_state, DeviceState::Unknown);
        assert_eq!(derive_category_status(&facts), CategoryStatus::NotAffected);
    }
}
