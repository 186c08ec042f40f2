//! Restore planning: what a restore of one category from one backup adds, fills in, flags or
//! removes among the customer's live items. Pure: the store gathers both sides, writes what
//! the plan says and checks afterwards that the database holds what the plan predicted.
//!
//! Each good backup item (its payload still matches its content hash) is, against the live
//! items of its category:
//! - **present** when a live item carries its content under the same natural key (see
//!   `items.rs` for the keys), or when its restored copy (uid `BACKUP/UID`) is still live,
//!   whatever the customer did to it since: a backup item is restored once;
//! - **conflicting** when live items have its natural key but none its content;
//! - **to add** otherwise.
//!
//! Items whose payload no longer matches their hash are **corrupt** and never restored.
//!
//! What the modes write:
//! - `merge`: adds the missing items, and fills the empty top-level fields of the live items
//!   that share a natural key with backup items (from all of them, in uid order). Live values
//!   win: nothing live is deleted, and no non-empty live field is changed.
//! - `keep-both`: adds the missing items, and each conflicting backup item as a copy flagged
//!   for review. Live items are not touched.
//! - `replace`: the live set of the category becomes the backup's good items: live items
//!   matching a backup item one to one (same key and content) stay, every other live item is
//!   removed and every unmatched backup item added.
//!
//! Planning the same restore again after it was applied writes nothing in any mode.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Category;
use super::items::{content_hash, natural_key};
use super::parse::{UnknownValue, parse_keyword};
use super::role::Permission;

pub mod report;
pub mod undo;

pub use report::{
    RestoreCategory, RestoreOutcome, RestoreRecord, RestoreReport, ResyncReport, UndoCategory,
    UndoReport,
};
pub use undo::{RestoreRefusal, UndoPlan};

/// How a restore treats live items that match backup items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Merge,
    KeepBoth,
    Replace,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Merge, Mode::KeepBoth, Mode::Replace];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Merge => "merge",
            Mode::KeepBoth => "keep-both",
            Mode::Replace => "replace",
        }
    }

    /// What running a restore in this mode needs: `replace` can remove live items, so only a
    /// supervisor may run it.
    pub fn permission(self) -> Permission {
        match self {
            Mode::Merge | Mode::KeepBoth => Permission::RestoreMerge,
            Mode::Replace => Permission::RestoreReplace,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = UnknownValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_keyword(s, "a restore mode", &Mode::ALL, Mode::as_str)
    }
}

/// One item of a snapshot, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupItem {
    pub uid: String,
    pub payload: Value,
    /// The hash the snapshot recorded for the item.
    pub content_hash: String,
    /// Whether the payload matched that hash when the snapshot was imported.
    pub hash_ok: bool,
}

impl BackupItem {
    /// Whether the item can be restored: it matched its hash at import and still does.
    pub fn is_good(&self) -> bool {
        self.hash_ok && content_hash(&self.payload) == self.content_hash
    }
}

/// One item the customer holds now.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveItem {
    /// The row's id in the store (0 for an item that is not stored yet).
    pub id: i64,
    pub uid: String,
    pub natural_key: String,
    pub payload: Value,
    pub content_hash: String,
    pub review: bool,
}

/// An item a restore writes: a new live item, or new content for an existing one (`live_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemWrite {
    pub live_id: Option<i64>,
    pub uid: String,
    pub natural_key: String,
    pub payload: Value,
    pub content_hash: String,
    /// A keep-both copy an agent should look at with the customer.
    pub review: bool,
}

/// What one category's restore finds and would write, for previews, reports and records.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryCounts {
    pub in_backup: i64,
    pub to_add: i64,
    pub present: i64,
    pub conflicting: i64,
    pub corrupt: i64,
    /// Items the mode writes as new live items (missing ones, keep-both copies, replace's).
    pub add: i64,
    /// Live items whose empty fields merge fills in (or whose content replace restores).
    pub fill: i64,
    /// Of `add`, the keep-both copies flagged for review.
    pub flag: i64,
    /// Live items replace removes.
    pub remove: i64,
    pub live_before: i64,
    pub live_after: i64,
    /// Good backup items whose natural key the live set holds after the restore.
    pub recovered: i64,
}

/// The plan for one category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryPlan {
    pub category: Category,
    pub counts: CategoryCounts,
    pub adds: Vec<ItemWrite>,
    pub updates: Vec<ItemWrite>,
    /// Live items to remove: (id, uid).
    pub removes: Vec<(i64, String)>,
    /// The natural keys of the good backup items, which must all be live afterwards.
    pub good_keys: Vec<String>,
}

impl CategoryPlan {
    pub fn writes_anything(&self) -> bool {
        !(self.adds.is_empty() && self.updates.is_empty() && self.removes.is_empty())
    }
}

/// The uid of a backup item's restored copy. Stable, so a replay finds it.
pub fn restored_uid(backup_id: &str, uid: &str) -> String {
    format!("{backup_id}/{uid}")
}

/// Whether a field counts as empty for merge: missing, null, a blank string, an empty list
/// or an empty object.
pub fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

/// `live` with its empty top-level fields taken from `backup`; `None` when nothing changes
/// (either is not an object, or the backup has nothing for the live item's empty fields).
pub fn fill_empty(live: &Value, backup: &Value) -> Option<Value> {
    let (Value::Object(l), Value::Object(b)) = (live, backup) else {
        return None;
    };
    let mut out = l.clone();
    let mut changed = false;
    for (k, bv) in b {
        if is_empty_value(bv) {
            continue;
        }
        if l.get(k).is_none_or(is_empty_value) {
            out.insert(k.clone(), bv.clone());
            changed = true;
        }
    }
    changed.then_some(Value::Object(out))
}

/// Plans the restore of `category` from `backup` (the snapshot `backup_id`'s items of that
/// category) against `live` (the customer's items of that category), in `mode`.
pub fn plan_category(
    category: Category,
    mode: Mode,
    backup_id: &str,
    backup: &[BackupItem],
    live: &[LiveItem],
) -> CategoryPlan {
    let mut counts = CategoryCounts {
        in_backup: backup.len() as i64,
        live_before: live.len() as i64,
        ..CategoryCounts::default()
    };
    let mut good: Vec<(&BackupItem, String)> = Vec::with_capacity(backup.len());
    for b in backup {
        if b.is_good() {
            good.push((b, natural_key(category, &b.payload)));
        } else {
            counts.corrupt += 1;
        }
    }
    // Deterministic whatever order the store read them in.
    good.sort_by(|a, b| a.0.uid.cmp(&b.0.uid));
    let mut by_key: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_uid: HashMap<&str, usize> = HashMap::new();
    for (i, l) in live.iter().enumerate() {
        by_key.entry(l.natural_key.as_str()).or_default().push(i);
        by_uid.insert(l.uid.as_str(), i);
    }
    let mut adds: Vec<ItemWrite> = Vec::new();
    let mut updates: Vec<ItemWrite> = Vec::new();
    let mut removes: Vec<(i64, String)> = Vec::new();
    let new_item = |b: &BackupItem, key: &str, review: bool| ItemWrite {
        live_id: None,
        uid: restored_uid(backup_id, &b.uid),
        natural_key: key.to_string(),
        payload: b.payload.clone(),
        content_hash: b.content_hash.clone(),
        review,
    };

    match mode {
        Mode::Merge | Mode::KeepBoth => {
            // Merge fills every live item of a key from every good backup item of that key,
            // in uid order (later ones see the earlier fills), whether the item counts as
            // present or conflicting: the result depends only on the backup and the key, so a
            // second merge finds nothing left to fill. The backup's own restored copies are
            // never filled from their siblings: they were not there the first time.
            let copy_prefix = format!("{backup_id}/");
            let mut filled: HashMap<usize, Value> = HashMap::new();
            for (b, key) in &good {
                let ruid = restored_uid(backup_id, &b.uid);
                let same_key = by_key.get(key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                if by_uid.contains_key(ruid.as_str())
                    || same_key
                        .iter()
                        .any(|&i| live[i].content_hash == b.content_hash)
                {
                    counts.present += 1;
                } else if same_key.is_empty() {
                    counts.to_add += 1;
                    adds.push(new_item(b, key, false));
                } else {
                    counts.conflicting += 1;
                    if mode == Mode::KeepBoth {
                        counts.flag += 1;
                        adds.push(new_item(b, key, true));
                    }
                }
                if mode == Mode::Merge {
                    for &i in same_key {
                        if live[i].uid.starts_with(&copy_prefix) {
                            continue;
                        }
                        let current = filled.get(&i).unwrap_or(&live[i].payload);
                        if let Some(v) = fill_empty(current, &b.payload) {
                            filled.insert(i, v);
                        }
                    }
                }
            }
            let mut filled: Vec<(usize, Value)> = filled.into_iter().collect();
            filled.sort_by_key(|(i, _)| *i);
            for (i, payload) in filled {
                let l = &live[i];
                updates.push(ItemWrite {
                    live_id: Some(l.id),
                    uid: l.uid.clone(),
                    natural_key: natural_key(category, &payload),
                    content_hash: content_hash(&payload),
                    payload,
                    review: l.review,
                });
            }
        }
        Mode::Replace => {
            let mut matched = vec![false; live.len()];
            let mut unmatched: Vec<(&BackupItem, &str)> = Vec::new();
            // First each backup item's own restored copy, then any live item with its key
            // and content, so a replay matches every item to what it wrote the first time.
            let mut done = vec![false; good.len()];
            for (n, (b, _)) in good.iter().enumerate() {
                if let Some(&i) = by_uid.get(restored_uid(backup_id, &b.uid).as_str())
                    && live[i].content_hash == b.content_hash
                {
                    matched[i] = true;
                    done[n] = true;
                    counts.present += 1;
                }
            }
            for (n, (b, key)) in good.iter().enumerate() {
                if done[n] {
                    continue;
                }
                let same_key = by_key.get(key.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                if let Some(&i) = same_key
                    .iter()
                    .find(|&&i| !matched[i] && live[i].content_hash == b.content_hash)
                {
                    matched[i] = true;
                    counts.present += 1;
                } else {
                    if same_key.is_empty() {
                        counts.to_add += 1;
                    } else {
                        counts.conflicting += 1;
                    }
                    unmatched.push((b, key));
                }
            }
            // A backup item whose restored copy is live but changed gets its content back
            // in place; every other unmatched live item goes.
            let mut rewritten = vec![false; live.len()];
            for (b, key) in unmatched {
                let ruid = restored_uid(backup_id, &b.uid);
                match by_uid.get(ruid.as_str()) {
                    Some(&i) if !matched[i] => {
                        rewritten[i] = true;
                        updates.push(ItemWrite {
                            live_id: Some(live[i].id),
                            ..new_item(b, key, false)
                        });
                    }
                    _ => adds.push(new_item(b, key, false)),
                }
            }
            for (i, l) in live.iter().enumerate() {
                if !matched[i] && !rewritten[i] {
                    removes.push((l.id, l.uid.clone()));
                }
            }
        }
    }
    // A new item never takes the uid of a live item that stays (possible only when a live
    // item took over another backup item's restored uid).
    let kept: HashSet<&str> = live
        .iter()
        .map(|l| l.uid.as_str())
        .filter(|u| !removes.iter().any(|(_, r)| r == u))
        .collect();
    let mut taken: HashSet<String> = HashSet::new();
    for a in &mut adds {
        let base = a.uid.clone();
        let mut n = 1;
        while kept.contains(a.uid.as_str()) || taken.contains(&a.uid) {
            n += 1;
            a.uid = format!("{base}~{n}");
        }
        taken.insert(a.uid.clone());
    }
    counts.add = adds.len() as i64;
    counts.fill = updates.len() as i64;
    counts.remove = removes.len() as i64;
    counts.live_after = counts.live_before + counts.add - counts.remove;
    let good_keys: Vec<String> = good.into_iter().map(|(_, k)| k).collect();
    // The keys the live set holds afterwards: what stays, with updated keys, plus the adds.
    let removed: HashSet<i64> = removes.iter().map(|(id, _)| *id).collect();
    let updated: HashMap<i64, &str> = updates
        .iter()
        .filter_map(|u| u.live_id.map(|id| (id, u.natural_key.as_str())))
        .collect();
    let after_keys: HashSet<&str> = live
        .iter()
        .filter(|l| !removed.contains(&l.id))
        .map(|l| {
            updated
                .get(&l.id)
                .copied()
                .unwrap_or(l.natural_key.as_str())
        })
        .chain(adds.iter().map(|a| a.natural_key.as_str()))
        .collect();
    counts.recovered = covered(&good_keys, &after_keys);
    CategoryPlan {
        category,
        counts,
        adds,
        updates,
        removes,
        good_keys,
    }
}

/// How many good backup items the live set covers after a restore: those whose natural key
/// some live item holds. The store counts this from what it reads back after writing.
pub fn covered(good_keys: &[String], live_keys: &HashSet<&str>) -> i64 {
    good_keys
        .iter()
        .filter(|k| live_keys.contains(k.as_str()))
        .count() as i64
}

/// The live items after `plan` is carried out (what the store does, for tests and checks).
pub fn apply_in_memory(live: &[LiveItem], plan: &CategoryPlan) -> Vec<LiveItem> {
    let removed: HashSet<i64> = plan.removes.iter().map(|(id, _)| *id).collect();
    let updated: HashMap<i64, &ItemWrite> = plan
        .updates
        .iter()
        .filter_map(|u| u.live_id.map(|id| (id, u)))
        .collect();
    let mut out: Vec<LiveItem> = live
        .iter()
        .filter(|l| !removed.contains(&l.id))
        .map(|l| match updated.get(&l.id) {
            Some(u) => LiveItem {
                id: l.id,
                uid: u.uid.clone(),
                natural_key: u.natural_key.clone(),
                payload: u.payload.clone(),
                content_hash: u.content_hash.clone(),
                review: u.review,
            },
            None => l.clone(),
        })
        .collect();
    let first_new = live.iter().map(|l| l.id).max().unwrap_or(0) + 1;
    for (id, a) in (first_new..).zip(&plan.adds) {
        out.push(LiveItem {
            id,
            uid: a.uid.clone(),
            natural_key: a.natural_key.clone(),
            payload: a.payload.clone(),
            content_hash: a.content_hash.clone(),
            review: a.review,
        });
    }
    out
}

#[cfg(test)]
mod tests;
