//! The undo rule: a restore is undone only when no later restore touched its categories and
//! the live items are exactly what the restore left (nothing the customer or an agent did
//! since would be lost); then the archive says what to remove and what to put back.

use std::collections::{BTreeMap, HashMap};

use crate::domain::category::Category;

/// Why a restore cannot be undone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreRefusal {
    #[error(
        "restore #{later} came after restore #{restore_id} and also touched account {account_no}'s {shared}; undo #{later} first"
    )]
    LaterRestore {
        later: i64,
        restore_id: i64,
        account_no: String,
        shared: String,
    },
    #[error(
        "account {account_no}'s data changed since restore #{restore_id} ({drift}); undoing it would lose those changes, so nothing was undone"
    )]
    Drifted {
        account_no: String,
        restore_id: i64,
        drift: String,
    },
}

/// Items keyed by (category, uid), with their content hash.
pub type ItemHashes = BTreeMap<(String, String), String>;

/// What undoing a restore writes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UndoPlan {
    /// Per category: (items the restore added, items it changed or removed).
    pub per_category: BTreeMap<String, (i64, i64)>,
    /// The (category, uid) of each kind of change the restore made: `added` (to remove),
    /// `updated` and `removed` (to put back from the archive).
    pub by_change: HashMap<String, Vec<(String, String)>>,
}

/// Refuses the undo of `restore_id` (over `cats`) while a later restore that is not undone
/// (`later`: id and categories, newest first) touched one of the same categories.
pub fn check_later_restores(
    restore_id: i64,
    account_no: &str,
    cats: &[Category],
    later: &[(i64, Vec<Category>)],
) -> Result<(), RestoreRefusal> {
    for (id, theirs) in later {
        let shared: Vec<&str> = theirs
            .iter()
            .filter(|c| cats.contains(c))
            .map(|c| c.as_str())
            .collect();
        if !shared.is_empty() {
            return Err(RestoreRefusal::LaterRestore {
                later: *id,
                restore_id,
                account_no: account_no.to_string(),
                shared: shared.join(", "),
            });
        }
    }
    Ok(())
}

/// Per category, the items that differ between what undo expects and what is live.
#[derive(Default)]
struct Drift {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
}

impl Drift {
    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.changed.is_empty() && self.removed.is_empty()
    }

    fn describe(&self, cat: &str) -> String {
        let mut parts = Vec::new();
        for (n, what) in [
            (self.added.len(), "added"),
            (self.changed.len(), "changed"),
            (self.removed.len(), "removed"),
        ] {
            if n > 0 {
                parts.push(format!("{n} item{} {what}", if n == 1 { "" } else { "s" }));
            }
        }
        let mut uids: Vec<&str> = self
            .added
            .iter()
            .chain(&self.changed)
            .chain(&self.removed)
            .map(String::as_str)
            .collect();
        uids.sort_unstable();
        let more = uids.len().saturating_sub(5);
        uids.truncate(5);
        format!(
            "{cat}: {} (uid {}{})",
            parts.join(", "),
            uids.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )
    }
}

/// Plans the undo of a restore: `archive` is the live state before it (category, uid, hash),
/// `changes` what it did (category, uid, change, hash after), `live` the items now. Refused
/// when anything changed since the restore.
pub fn plan_undo(
    restore_id: i64,
    account_no: &str,
    archive: Vec<(String, String, String)>,
    changes: Vec<(String, String, String, String)>,
    live: &ItemHashes,
) -> Result<UndoPlan, RestoreRefusal> {
    // What the live items must be for nothing to have changed since the restore.
    let mut expected: ItemHashes = archive.into_iter().map(|(c, u, h)| ((c, u), h)).collect();
    let mut plan = UndoPlan::default();
    for (c, u, change, h) in changes {
        plan.by_change
            .entry(change.clone())
            .or_default()
            .push((c.clone(), u.clone()));
        let e = plan.per_category.entry(c.clone()).or_default();
        if change == "added" {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
        if change == "removed" {
            expected.remove(&(c, u));
        } else {
            expected.insert((c, u), h);
        }
    }
    let mut drift: BTreeMap<&str, Drift> = BTreeMap::new();
    for ((c, u), h) in live {
        match expected.get(&(c.clone(), u.clone())) {
            None => drift.entry(c).or_default().added.push(u.clone()),
            Some(e) if e != h => drift.entry(c).or_default().changed.push(u.clone()),
            Some(_) => {}
        }
    }
    for (c, u) in expected.keys() {
        if !live.contains_key(&(c.clone(), u.clone())) {
            drift.entry(c).or_default().removed.push(u.clone());
        }
    }
    drift.retain(|_, d| !d.is_empty());
    if !drift.is_empty() {
        return Err(RestoreRefusal::Drifted {
            account_no: account_no.to_string(),
            restore_id,
            drift: drift
                .iter()
                .map(|(c, d)| d.describe(c))
                .collect::<Vec<_>>()
                .join("; "),
        });
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn live(items: &[(&str, &str, &str)]) -> ItemHashes {
        items.iter().map(|(c, u, h)| ((s(c), s(u)), s(h))).collect()
    }

    #[test]
    fn a_later_restore_of_the_same_category_must_be_undone_first() {
        let later = [
            (9, vec![Category::Photos]),
            (8, vec![Category::Contacts, Category::Notes]),
        ];
        let e = check_later_restores(5, "100", &[Category::Contacts], &later).expect_err("blocked");
        assert_eq!(
            e.to_string(),
            "restore #8 came after restore #5 and also touched account 100's contacts; undo #8 first"
        );
        assert!(check_later_restores(5, "100", &[Category::Calendar], &later).is_ok());
    }

    #[test]
    fn an_untouched_restore_undoes_by_its_archive() {
        let archive = vec![(s("contacts"), s("a"), s("h1"))];
        let changes = vec![
            (s("contacts"), s("b"), s("added"), s("h2")),
            (s("contacts"), s("a"), s("updated"), s("h3")),
        ];
        let plan = plan_undo(
            5,
            "100",
            archive,
            changes,
            &live(&[("contacts", "a", "h3"), ("contacts", "b", "h2")]),
        )
        .expect("nothing changed since");
        assert_eq!(plan.per_category.get("contacts"), Some(&(1, 1)));
        assert_eq!(plan.by_change["added"], vec![(s("contacts"), s("b"))]);
        assert_eq!(plan.by_change["updated"], vec![(s("contacts"), s("a"))]);
    }

    #[test]
    fn any_change_since_the_restore_refuses_the_undo_and_names_it() {
        let archive = vec![(s("contacts"), s("a"), s("h1"))];
        let changes = vec![(s("contacts"), s("b"), s("added"), s("h2"))];
        let now = live(&[
            ("contacts", "a", "h1"),
            ("contacts", "b", "h9"),
            ("contacts", "c", "h4"),
        ]);
        let e = plan_undo(5, "100", archive, changes, &now).expect_err("drifted");
        assert_eq!(
            e.to_string(),
            "account 100's data changed since restore #5 (contacts: 1 item added, 1 item changed (uid b, c)); undoing it would lose those changes, so nothing was undone"
        );
    }
}
