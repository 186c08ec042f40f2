//! Declaring a category permanently lost (a supervisor, once recovery is exhausted): the
//! declaration that opens the appreciation credit, and every reason it is refused.
//!
//! The service (from the database, inside the transaction that writes the declaration) and
//! the account screen (from the account it shows, to say why the action is unavailable) both
//! gather [`LossFacts`] and ask [`declare_loss`], so the two never disagree.

use super::backup::Verification;
use super::category::Category;
use super::detail::{AccountDetail, CategoryState};
use super::status::{CategoryStatus, DeviceState};

/// Why a category cannot be declared permanently lost.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LossRefusal {
    #[error("account {account_no} has no {category} recorded for {incident}")]
    NotRecorded {
        account_no: String,
        category: Category,
        incident: String,
    },
    #[error("account {account_no}'s {category} were not lost by the server")]
    NotLostByServer {
        account_no: String,
        category: Category,
    },
    #[error(
        "cannot declare account {account_no}'s {category} permanently lost: the category was restored in full"
    )]
    RestoredInFull {
        account_no: String,
        category: Category,
    },
    #[error(
        "cannot declare account {account_no}'s {category} permanently lost: the customer's device still holds a copy (have it re-synced and record the re-sync)"
    )]
    DeviceHoldsCopy {
        account_no: String,
        category: Category,
    },
    #[error(
        "cannot declare account {account_no}'s {category} permanently lost: {verification} backup {backup_id} still holds {items} of them; restore from it first"
    )]
    BackupCovers {
        account_no: String,
        category: Category,
        backup_id: String,
        verification: Verification,
        items: i64,
    },
}

impl LossRefusal {
    /// Naming a category the account has no impact for is a mistake in the request.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::NotRecorded { .. })
    }
}

/// What a declaration of permanent loss leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossDecision {
    /// Declared before: nothing to write.
    AlreadyDeclared,
    Declare,
}

/// What one of the account's backups holds of the category.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupHolding {
    pub backup_id: String,
    pub verification: Verification,
    /// Items of the category in the backup that match their hashes.
    pub good_items: i64,
    /// A restore from this backup into this category stands (applied and not undone): its
    /// items were tried already.
    pub restored_from: bool,
}

/// The category's facts as recorded for the incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LossFacts {
    pub server_lost: bool,
    /// Declared permanently lost before.
    pub permanent_loss: bool,
    pub device_state: DeviceState,
    /// The category's derived status.
    pub status: CategoryStatus,
    /// Every backup of the account that holds the category, whatever its verification.
    pub backups: Vec<BackupHolding>,
}

impl LossFacts {
    /// The facts as the account screen has them. A declared category shows as
    /// `permanent-loss` unless it came back in full, which refuses it before a replay is
    /// considered, so the status tells the declaration apart wherever it matters.
    pub fn of(detail: &AccountDetail, c: &CategoryState) -> Self {
        let backups = detail
            .backups
            .iter()
            .flat_map(|b| {
                b.categories
                    .iter()
                    .filter(|bc| bc.category == c.category)
                    .map(|bc| BackupHolding {
                        backup_id: b.id.clone(),
                        verification: b.verification,
                        good_items: bc.item_count - bc.bad_items,
                        restored_from: bc.restored,
                    })
            })
            .collect();
        Self {
            server_lost: c.server_lost,
            permanent_loss: c.status == CategoryStatus::PermanentLoss,
            device_state: c.device_state,
            status: c.status,
            backups,
        }
    }
}

/// Only a category the server lost and nothing can bring back can be declared permanently
/// lost: not while the customer's device holds a copy, not while a usable backup holds items
/// of it that no restore has tried, and not once it came back in full. Declaring it twice is
/// a replay.
pub fn declare_loss(
    account_no: &str,
    category: Category,
    incident: &str,
    facts: Option<&LossFacts>,
) -> Result<LossDecision, LossRefusal> {
    let Some(f) = facts else {
        return Err(LossRefusal::NotRecorded {
            account_no: account_no.to_string(),
            category,
            incident: incident.to_string(),
        });
    };
    let account_no = account_no.to_string();
    if !f.server_lost {
        return Err(LossRefusal::NotLostByServer {
            account_no,
            category,
        });
    }
    if f.status == CategoryStatus::RestoredFull {
        return Err(LossRefusal::RestoredInFull {
            account_no,
            category,
        });
    }
    if f.permanent_loss {
        return Ok(LossDecision::AlreadyDeclared);
    }
    if f.device_state == DeviceState::HoldsCopy {
        return Err(LossRefusal::DeviceHoldsCopy {
            account_no,
            category,
        });
    }
    if let Some(b) = f
        .backups
        .iter()
        .filter(|b| b.verification.restorable() && b.good_items > 0 && !b.restored_from)
        .max_by_key(|b| b.good_items)
    {
        return Err(LossRefusal::BackupCovers {
            account_no,
            category,
            backup_id: b.backup_id.clone(),
            verification: b.verification,
            items: b.good_items,
        });
    }
    Ok(LossDecision::Declare)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Contacts the server lost, the phone wiped, no backup: a loss to declare.
    fn lost() -> LossFacts {
        LossFacts {
            server_lost: true,
            permanent_loss: false,
            device_state: DeviceState::Wiped,
            status: CategoryStatus::Lost,
            backups: Vec::new(),
        }
    }

    fn holding(id: &str, verification: Verification, good_items: i64) -> BackupHolding {
        BackupHolding {
            backup_id: id.into(),
            verification,
            good_items,
            restored_from: false,
        }
    }

    fn decide(f: &LossFacts) -> Result<LossDecision, LossRefusal> {
        declare_loss("310000001", Category::Contacts, "i", Some(f))
    }

    fn refusal(f: &LossFacts) -> String {
        decide(f).expect_err("refused").to_string()
    }

    #[test]
    fn a_category_nothing_can_bring_back_is_declared_and_only_once() {
        assert_eq!(decide(&lost()), Ok(LossDecision::Declare));
        let declared = LossFacts {
            permanent_loss: true,
            status: CategoryStatus::PermanentLoss,
            ..lost()
        };
        assert_eq!(decide(&declared), Ok(LossDecision::AlreadyDeclared));
    }

    #[test]
    fn a_category_the_server_kept_or_nobody_recorded_is_refused() {
        let e = declare_loss(
            "100",
            Category::Photos,
            "i",
            Some(&LossFacts {
                server_lost: false,
                status: CategoryStatus::NotAffected,
                ..lost()
            }),
        )
        .expect_err("intact");
        assert_eq!(
            e.to_string(),
            "account 100's photos were not lost by the server"
        );
        assert!(!e.is_bad_input());
        let e = declare_loss("100", Category::Notes, "i", None).expect_err("unknown");
        assert_eq!(e.to_string(), "account 100 has no notes recorded for i");
        assert!(e.is_bad_input());
    }

    #[test]
    fn a_category_still_on_the_device_is_refused() {
        let f = LossFacts {
            device_state: DeviceState::HoldsCopy,
            status: CategoryStatus::AtRisk,
            ..lost()
        };
        assert_eq!(
            refusal(&f),
            "cannot declare account 310000001's contacts permanently lost: the customer's device still holds a copy (have it re-synced and record the re-sync)"
        );
        // After a partial restore the device's copy is still there to re-sync.
        let f = LossFacts {
            status: CategoryStatus::RestoredPartial,
            ..f
        };
        assert!(matches!(
            decide(&f),
            Err(LossRefusal::DeviceHoldsCopy { .. })
        ));
    }

    #[test]
    fn a_category_a_usable_backup_still_covers_is_refused_until_a_restore_tried_it() {
        let covered = LossFacts {
            status: CategoryStatus::Restorable,
            backups: vec![holding("bk-1", Verification::Verified, 64)],
            ..lost()
        };
        assert_eq!(
            refusal(&covered),
            "cannot declare account 310000001's contacts permanently lost: verified backup bk-1 still holds 64 of them; restore from it first"
        );
        let partial = LossFacts {
            backups: vec![holding("bk-2", Verification::Partial, 3)],
            ..covered.clone()
        };
        assert!(matches!(
            decide(&partial),
            Err(LossRefusal::BackupCovers { items: 3, .. })
        ));
        // Backups that cannot be restored from, or hold no good item, do not count.
        let useless = LossFacts {
            backups: vec![
                holding("bad", Verification::Corrupt, 300),
                holding("man", Verification::Manifest, 300),
                holding("empty", Verification::Verified, 0),
            ],
            ..covered.clone()
        };
        assert_eq!(decide(&useless), Ok(LossDecision::Declare));
        // Once restored from (64 of 300 contacts back), the rest is declared lost.
        let tried = LossFacts {
            status: CategoryStatus::RestoredPartial,
            backups: vec![BackupHolding {
                restored_from: true,
                ..holding("bk-1", Verification::Verified, 64)
            }],
            ..lost()
        };
        assert_eq!(decide(&tried), Ok(LossDecision::Declare));
        // Another backup not yet tried still refuses it, naming the one holding most.
        let another = LossFacts {
            backups: [
                tried.backups.clone(),
                vec![
                    holding("bk-small", Verification::Verified, 5),
                    holding("bk-big", Verification::Verified, 80),
                ],
            ]
            .concat(),
            ..tried
        };
        assert!(matches!(
            decide(&another),
            Err(LossRefusal::BackupCovers { backup_id, items: 80, .. }) if backup_id == "bk-big"
        ));
    }

    #[test]
    fn a_category_restored_in_full_is_refused_even_when_declared_before() {
        let full = LossFacts {
            status: CategoryStatus::RestoredFull,
            ..lost()
        };
        assert_eq!(
            refusal(&full),
            "cannot declare account 310000001's contacts permanently lost: the category was restored in full"
        );
        let declared_then_restored = LossFacts {
            permanent_loss: true,
            ..full
        };
        assert!(matches!(
            decide(&declared_then_restored),
            Err(LossRefusal::RestoredInFull { .. })
        ));
    }

    #[test]
    fn every_refusal_but_a_wrong_category_is_a_rule_not_bad_input() {
        let refusals = [
            LossFacts {
                status: CategoryStatus::RestoredFull,
                ..lost()
            },
            LossFacts {
                device_state: DeviceState::HoldsCopy,
                ..lost()
            },
            LossFacts {
                backups: vec![holding("b", Verification::Verified, 1)],
                ..lost()
            },
        ];
        for f in &refusals {
            assert!(!decide(f).expect_err("refused").is_bad_input());
        }
    }
}
