//! What a restore reads: the backup's head and items, the live items, impact facts, and the checks after writing.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::restore::{self as rules, BackupItem, CategoryPlan, LiveItem, Mode};
use crate::domain::{Category, CategoryStatus};
use crate::error::{Error, Result};

pub(super) fn sys(what: &str) -> impl Fn(serde_json::Error) -> Error + '_ {
    move |e| Error::System(format!("unreadable {what}: {e}"))
}

/// Rows aggregated into one JSON array by the database (one row instead of thousands).
pub(super) fn parse_agg<T: DeserializeOwned>(json: Option<String>, what: &str) -> Result<Vec<T>> {
    match json.as_deref() {
        None | Some("") => Ok(Vec::new()),
        Some(j) => serde_json::from_str(j).map_err(sys(what)),
    }
}

/// A boolean column inside aggregated JSON: SQLite writes 0 or 1, PostgreSQL true or false.
pub(super) fn json_bool(v: &Value) -> bool {
    v.as_bool().unwrap_or_else(|| v.as_i64() == Some(1))
}

pub(super) fn category(s: &str) -> Result<Category> {
    Category::from_str(s)
        .map_err(|_| Error::System(format!("the database holds an unknown category \"{s}\"")))
}

pub(super) fn cats_json(cats: &[Category]) -> String {
    let names: Vec<&str> = cats.iter().map(|c| c.as_str()).collect();
    json!(names).to_string()
}

pub(super) fn cats_text(cats: &[Category]) -> String {
    cats.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

pub(super) fn parse_cats(s: &str) -> Result<Vec<Category>> {
    s.split(',')
        .filter(|c| !c.is_empty())
        .map(category)
        .collect()
}

/// Takes the account's row lock on PostgreSQL so restores, undos and re-syncs of one account
/// run one after another (SQLite's write transaction already does); returns its number.
pub(super) async fn lock_account(tx: &mut Transaction<'_, Db>, account_id: i64) -> Result<String> {
    let no: Option<String> = sqlx::query_scalar(pick(
        "SELECT account_no FROM accounts WHERE id = $1",
        "SELECT account_no FROM accounts WHERE id = $1 FOR UPDATE",
    ))
    .bind(account_id)
    .fetch_optional(&mut **tx)
    .await?;
    no.ok_or_else(|| Error::invalid("the account does not exist"))
}

/// A snapshot's header.
pub(super) struct Head {
    pub(super) account_id: i64,
    pub(super) account_no: String,
    pub(super) verification: crate::domain::Verification,
    /// (category, items, bad items), in category order.
    pub(super) categories: Vec<(Category, i64, i64)>,
}

pub(super) async fn backup_head(
    tx: &mut Transaction<'_, Db>,
    backup_id: &str,
) -> Result<Option<Head>> {
    let Some(row) = sqlx::query(
        "SELECT b.account_id, a.account_no, b.verification FROM backups b JOIN accounts a ON a.id = b.account_id WHERE b.id = $1",
    )
    .bind(backup_id)
    .fetch_optional(&mut **tx)
    .await?
    else {
        return Ok(None);
    };
    let mut categories = Vec::new();
    for r in sqlx::query(
        "SELECT category, item_count, bad_items FROM backup_categories WHERE backup_id = $1",
    )
    .bind(backup_id)
    .fetch_all(&mut **tx)
    .await?
    {
        categories.push((
            category(&r.try_get::<String, _>("category")?)?,
            r.try_get("item_count")?,
            r.try_get("bad_items")?,
        ));
    }
    categories.sort();
    Ok(Some(Head {
        account_id: row.try_get("account_id")?,
        account_no: row.try_get("account_no")?,
        verification: super::col(&row, "verification")?,
        categories,
    }))
}

/// The impact facts of one category (over incidents: the largest pre-incident count and
/// recovery, the most urgent status).
#[derive(Debug, Clone, Copy)]
pub(super) struct ImpactFacts {
    pub(super) items_before: i64,
    pub(super) recovered: Option<i64>,
    pub(super) status: CategoryStatus,
}

pub(super) async fn impact_of(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
) -> Result<HashMap<Category, ImpactFacts>> {
    let mut out: HashMap<Category, ImpactFacts> = HashMap::new();
    for r in sqlx::query(
        "SELECT category, items_before, recovered_items, status FROM impact WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?
    {
        let cat = category(&r.try_get::<String, _>("category")?)?;
        let status: String = r.try_get("status")?;
        let facts = ImpactFacts {
            items_before: r.try_get("items_before")?,
            recovered: r.try_get("recovered_items")?,
            status: CategoryStatus::from_str(&status).map_err(|_| {
                Error::System(format!("the database holds an unknown status \"{status}\""))
            })?,
        };
        out.entry(cat)
            .and_modify(|f| {
                f.items_before = f.items_before.max(facts.items_before);
                f.recovered = f.recovered.max(facts.recovered);
                f.status = f.status.min(facts.status);
            })
            .or_insert(facts);
    }
    Ok(out)
}

/// (category, uid, payload, content_hash, hash_ok)
pub(super) type BackupRow = (String, String, String, String, Value);
/// (id, category, uid, natural_key, payload, content_hash, review)
pub(super) type LiveRow = (i64, String, String, String, String, String, Value);

pub(super) async fn backup_items(
    tx: &mut Transaction<'_, Db>,
    backup_id: &str,
    cats: &[Category],
) -> Result<HashMap<Category, Vec<BackupItem>>> {
    let json: Option<String> = sqlx::query_scalar(pick(
        "SELECT json_group_array(json_array(category, uid, payload, content_hash, hash_ok)) FROM backup_items \
         WHERE backup_id = $1 AND category IN (SELECT value FROM jsonb_each(jsonb($2)))",
        "SELECT CAST(json_agg(json_build_array(category, uid, payload, content_hash, hash_ok)) AS TEXT) FROM backup_items \
         WHERE backup_id = $1 AND category IN (SELECT value FROM jsonb_array_elements_text(CAST($2 AS jsonb)))",
    ))
    .bind(backup_id)
    .bind(cats_json(cats))
    .fetch_one(&mut **tx)
    .await?;
    let rows: Vec<BackupRow> = parse_agg(json, "backup items")?;
    let mut out: HashMap<Category, Vec<BackupItem>> = HashMap::new();
    for (cat, uid, payload, content_hash, ok) in rows {
        // An unreadable payload cannot match its hash: the item is corrupt.
        let (payload, readable) = match serde_json::from_str::<Value>(&payload) {
            Ok(v) => (v, true),
            Err(_) => (Value::String(payload), false),
        };
        out.entry(category(&cat)?).or_default().push(BackupItem {
            uid,
            payload,
            content_hash,
            hash_ok: readable && json_bool(&ok),
        });
    }
    Ok(out)
}

pub(super) async fn live_items(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    cats: &[Category],
) -> Result<HashMap<Category, Vec<LiveItem>>> {
    let json: Option<String> = sqlx::query_scalar(pick(
        "SELECT json_group_array(json_array(id, category, uid, natural_key, payload, content_hash, review)) FROM live_items \
         WHERE account_id = $1 AND category IN (SELECT value FROM jsonb_each(jsonb($2)))",
        "SELECT CAST(json_agg(json_build_array(id, category, uid, natural_key, payload, content_hash, review)) AS TEXT) FROM live_items \
         WHERE account_id = $1 AND category IN (SELECT value FROM jsonb_array_elements_text(CAST($2 AS jsonb)))",
    ))
    .bind(account_id)
    .bind(cats_json(cats))
    .fetch_one(&mut **tx)
    .await?;
    let rows: Vec<LiveRow> = parse_agg(json, "live items")?;
    let mut out: HashMap<Category, Vec<LiveItem>> = HashMap::new();
    for (id, cat, uid, natural_key, payload, content_hash, review) in rows {
        // A live payload that is not JSON is kept as text: merge never touches it.
        let payload = serde_json::from_str(&payload).unwrap_or(Value::String(payload));
        out.entry(category(&cat)?).or_default().push(LiveItem {
            id,
            uid,
            natural_key,
            payload,
            content_hash,
            review: json_bool(&review),
        });
    }
    for items in out.values_mut() {
        items.sort_by_key(|l| l.id);
    }
    Ok(out)
}

/// (category, uid, natural_key, content_hash) of the live items of `cats`, as read back.
pub(super) async fn live_keys(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    cats: &[Category],
) -> Result<Vec<(String, String, String, String)>> {
    let json: Option<String> = sqlx::query_scalar(pick(
        "SELECT json_group_array(json_array(category, uid, natural_key, content_hash)) FROM live_items \
         WHERE account_id = $1 AND category IN (SELECT value FROM jsonb_each(jsonb($2)))",
        "SELECT CAST(json_agg(json_build_array(category, uid, natural_key, content_hash)) AS TEXT) FROM live_items \
         WHERE account_id = $1 AND category IN (SELECT value FROM jsonb_array_elements_text(CAST($2 AS jsonb)))",
    ))
    .bind(account_id)
    .bind(cats_json(cats))
    .fetch_one(&mut **tx)
    .await?;
    parse_agg(json, "live items")
}

/// Everything a restore of `cats` from `backup_id` needs, checked and planned.
pub(super) struct Gathered {
    pub(super) verification: crate::domain::Verification,
    pub(super) plans: Vec<CategoryPlan>,
    pub(super) live: HashMap<Category, Vec<LiveItem>>,
    pub(super) impact: HashMap<Category, ImpactFacts>,
}

pub(super) async fn gather(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    account_no: &str,
    backup_id: &str,
    requested: &[Category],
    mode: Mode,
) -> Result<Gathered> {
    let Some(head) = backup_head(tx, backup_id).await? else {
        return Err(Error::invalid(format!(
            "there is no backup \"{}\"",
            crate::domain::sanitize(backup_id)
        )));
    };
    if head.account_id != account_id {
        return Err(Error::invalid(format!(
            "the backup {backup_id} is account {}'s, not account {account_no}'s",
            head.account_no
        )));
    }
    let items: i64 = head.categories.iter().map(|c| c.1).sum();
    let bad: i64 = head.categories.iter().map(|c| c.2).sum();
    match head.verification {
        crate::domain::Verification::Corrupt => {
            let why = if bad == 0 {
                "its checksum does not match its items".to_string()
            } else if bad >= items {
                format!("none of its {items} items match their hashes")
            } else {
                format!("{bad} of its {items} items do not match their hashes")
            };
            return Err(Error::refused(format!(
                "the backup {backup_id} is corrupt ({why}); it cannot be restored from"
            )));
        }
        crate::domain::Verification::Manifest => {
            return Err(Error::refused(format!(
                "the backup {backup_id} holds only a manifest: its items are not loaded yet, so it cannot be restored from; \
                 load them with `caredesk import backups FILE`"
            )));
        }
        _ => {}
    }
    let held: Vec<Category> = head.categories.iter().map(|c| c.0).collect();
    let mut cats: Vec<Category> = if requested.is_empty() {
        held.clone()
    } else {
        requested.to_vec()
    };
    cats.sort();
    cats.dedup();
    if let Some(missing) = cats.iter().find(|c| !held.contains(c)) {
        return Err(Error::invalid(format!(
            "the backup {backup_id} holds no {missing}; it holds {}",
            if held.is_empty() {
                "nothing".to_string()
            } else {
                held.iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        )));
    }
    if cats.is_empty() {
        return Err(Error::invalid(format!(
            "the backup {backup_id} holds no items"
        )));
    }
    let mut backup = backup_items(tx, backup_id, &cats).await?;
    let live = live_items(tx, account_id, &cats).await?;
    let impact = impact_of(tx, account_id).await?;
    let plans = cats
        .iter()
        .map(|&c| {
            rules::plan_category(
                c,
                mode,
                backup_id,
                &backup.remove(&c).unwrap_or_default(),
                live.get(&c).map(Vec::as_slice).unwrap_or(&[]),
            )
        })
        .collect();
    Ok(Gathered {
        verification: head.verification,
        plans,
        live,
        impact,
    })
}

pub(super) fn report_category(p: &CategoryPlan, impact: Option<&ImpactFacts>) -> RestoreCategory {
    let prior = impact.and_then(|i| i.recovered);
    let set = impact.map(|_| prior.unwrap_or(0).max(p.counts.recovered));
    let full = match (impact, set) {
        (Some(i), Some(set)) => set >= i.items_before,
        _ => p.counts.recovered >= p.counts.in_backup,
    };
    RestoreCategory {
        category: p.category,
        counts: p.counts.clone(),
        items_before: impact.map(|i| i.items_before),
        result: if full {
            CategoryStatus::RestoredFull.as_str()
        } else {
            CategoryStatus::RestoredPartial.as_str()
        }
        .to_string(),
        status: impact.map(|i| i.status),
        prior_recovered: prior,
        set_recovered: set,
    }
}

pub(super) fn overall(cats: &[RestoreCategory]) -> String {
    if cats
        .iter()
        .all(|c| c.result == CategoryStatus::RestoredFull.as_str())
    {
        CategoryStatus::RestoredFull.as_str().to_string()
    } else {
        CategoryStatus::RestoredPartial.as_str().to_string()
    }
}

/// Checks what the database holds after the writes against the plan: every category's count,
/// every written item with its content, no removed item left, and every good backup item's
/// key live. Any difference fails the restore, which rolls it back.
pub(super) async fn verify_restore(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    plans: &[CategoryPlan],
) -> Result<()> {
    let cats: Vec<Category> = plans.iter().map(|p| p.category).collect();
    let rows = live_keys(tx, account_id, &cats).await?;
    let fail = |what: String| {
        Err(Error::System(format!(
            "the restore did not verify ({what}); nothing was changed"
        )))
    };
    for p in plans {
        let name = p.category.as_str();
        let mine: HashMap<&str, (&str, &str)> = rows
            .iter()
            .filter(|r| r.0 == name)
            .map(|r| (r.1.as_str(), (r.2.as_str(), r.3.as_str())))
            .collect();
        if mine.len() as i64 != p.counts.live_after {
            return fail(format!(
                "{name}: {} live items, {} expected",
                mine.len(),
                p.counts.live_after
            ));
        }
        for w in p.adds.iter().chain(&p.updates) {
            if mine.get(w.uid.as_str()).map(|m| m.1) != Some(w.content_hash.as_str()) {
                return fail(format!("{name}: item {} was not written", w.uid));
            }
        }
        let written: HashSet<&str> = p.adds.iter().map(|a| a.uid.as_str()).collect();
        if let Some((_, uid)) = p
            .removes
            .iter()
            .find(|(_, uid)| mine.contains_key(uid.as_str()) && !written.contains(uid.as_str()))
        {
            return fail(format!("{name}: item {uid} was not removed"));
        }
        let keys: HashSet<&str> = mine.values().map(|m| m.0).collect();
        let covered = rules::covered(&p.good_keys, &keys);
        if covered != p.counts.recovered {
            return fail(format!(
                "{name}: {covered} backup items live, {} expected",
                p.counts.recovered
            ));
        }
    }
    Ok(())
}

pub(super) async fn statuses(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
) -> Result<HashMap<Category, CategoryStatus>> {
    Ok(impact_of(tx, account_id)
        .await?
        .into_iter()
        .map(|(c, f)| (c, f.status))
        .collect())
}

/// Restore records without their lists of changes (which can hold thousands of entries).
pub(super) const RECORD_BY_ID: &str = "SELECT r.id, r.backup_id, r.mode, r.categories, r.agent, r.counts, r.result, r.created_at, \
     r.undone_by, r.undone_at, a.account_no FROM restores r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1";
pub(super) const RECORDS_OF_ACCOUNT: &str = "SELECT r.id, r.backup_id, r.mode, r.categories, r.agent, r.counts, r.result, r.created_at, \
     r.undone_by, r.undone_at, a.account_no FROM restores r JOIN accounts a ON a.id = r.account_id \
     WHERE r.account_id = $1 ORDER BY r.id DESC";
pub(super) fn restore_record(row: &super::DbRow) -> Result<RestoreRecord> {
    let counts: String = row.try_get("counts")?;
    let counts: Value = serde_json::from_str(&counts).map_err(sys("restore counts"))?;
    let categories: Vec<RestoreCategory> =
        serde_json::from_value(counts.get("categories").cloned().unwrap_or(json!([])))
            .map_err(sys("restore counts"))?;
    Ok(RestoreRecord {
        id: row.try_get("id")?,
        account_no: row.try_get("account_no")?,
        backup_id: row.try_get("backup_id")?,
        mode: super::col(row, "mode")?,
        categories,
        agent: row.try_get("agent")?,
        result: row.try_get("result")?,
        created_at: row.try_get("created_at")?,
        undone_by: row.try_get("undone_by")?,
        undone_at: row.try_get("undone_at")?,
    })
}
