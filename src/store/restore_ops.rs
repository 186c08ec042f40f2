//! Restores, their undo and device re-syncs, compiled per backend like
//! `ops.rs`. A restore is one transaction: lock the account, read the snapshot's items and the
//! live items (one JSON row each), plan in the domain (`domain::restore`), record the restore,
//! archive the live state of the categories it touches, write, read the result back and check
//! it against the plan, set the recovered counts and the statuses they drive, audit. Killed at
//! any point, it leaves the whole result or nothing.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sqlx::{Row, Transaction};

use super::Db;
use super::ops::{SqlStore, append_audit, pick, refresh_status};
use crate::domain::restore::{self as rules, BackupItem, CategoryPlan, LiveItem, Mode};
use crate::domain::{Category, CategoryStatus, DeviceState};
use crate::error::{Error, Result};
use crate::store::*;

fn sys(what: &str) -> impl Fn(serde_json::Error) -> Error + '_ {
    move |e| Error::System(format!("unreadable {what}: {e}"))
}

/// Rows aggregated into one JSON array by the database (one row instead of thousands).
fn parse_agg<T: DeserializeOwned>(json: Option<String>, what: &str) -> Result<Vec<T>> {
    match json.as_deref() {
        None | Some("") => Ok(Vec::new()),
        Some(j) => serde_json::from_str(j).map_err(sys(what)),
    }
}

/// A boolean column inside aggregated JSON: SQLite writes 0 or 1, PostgreSQL true or false.
fn json_bool(v: &Value) -> bool {
    v.as_bool().unwrap_or_else(|| v.as_i64() == Some(1))
}

fn category(s: &str) -> Result<Category> {
    Category::from_str(s)
        .map_err(|_| Error::System(format!("the database holds an unknown category \"{s}\"")))
}

fn cats_json(cats: &[Category]) -> String {
    let names: Vec<&str> = cats.iter().map(|c| c.as_str()).collect();
    json!(names).to_string()
}

fn cats_text(cats: &[Category]) -> String {
    cats.iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_cats(s: &str) -> Result<Vec<Category>> {
    s.split(',')
        .filter(|c| !c.is_empty())
        .map(category)
        .collect()
}

/// Takes the account's row lock on PostgreSQL so restores, undos and re-syncs of one account
/// run one after another (SQLite's write transaction already does); returns its number.
async fn lock_account(tx: &mut Transaction<'_, Db>, account_id: i64) -> Result<String> {
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
struct Head {
    account_id: i64,
    account_no: String,
    verification: crate::domain::Verification,
    /// (category, items, bad items), in category order.
    categories: Vec<(Category, i64, i64)>,
}

async fn backup_head(tx: &mut Transaction<'_, Db>, backup_id: &str) -> Result<Option<Head>> {
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
        verification: super::ops::col(&row, "verification")?,
        categories,
    }))
}

/// The impact facts of one category (over incidents: the largest pre-incident count and
/// recovery, the most urgent status).
#[derive(Debug, Clone, Copy)]
struct ImpactFacts {
    items_before: i64,
    recovered: Option<i64>,
    status: CategoryStatus,
}

async fn impact_of(
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
type BackupRow = (String, String, String, String, Value);
/// (id, category, uid, natural_key, payload, content_hash, review)
type LiveRow = (i64, String, String, String, String, String, Value);

async fn backup_items(
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

async fn live_items(
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
async fn live_keys(
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
struct Gathered {
    verification: crate::domain::Verification,
    plans: Vec<CategoryPlan>,
    live: HashMap<Category, Vec<LiveItem>>,
    impact: HashMap<Category, ImpactFacts>,
}

async fn gather(
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

fn report_category(p: &CategoryPlan, impact: Option<&ImpactFacts>) -> RestoreCategory {
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

fn overall(cats: &[RestoreCategory]) -> String {
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
async fn verify_restore(
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

async fn statuses(
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
const RECORD_BY_ID: &str = "SELECT r.id, r.backup_id, r.mode, r.categories, r.agent, r.counts, r.result, r.created_at, \
     r.undone_by, r.undone_at, a.account_no FROM restores r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1";
const RECORDS_OF_ACCOUNT: &str = "SELECT r.id, r.backup_id, r.mode, r.categories, r.agent, r.counts, r.result, r.created_at, \
     r.undone_by, r.undone_at, a.account_no FROM restores r JOIN accounts a ON a.id = r.account_id \
     WHERE r.account_id = $1 ORDER BY r.id DESC";
fn restore_record(row: &super::ops::DbRow) -> Result<RestoreRecord> {
    let counts: String = row.try_get("counts")?;
    let counts: Value = serde_json::from_str(&counts).map_err(sys("restore counts"))?;
    let categories: Vec<RestoreCategory> =
        serde_json::from_value(counts.get("categories").cloned().unwrap_or(json!([])))
            .map_err(sys("restore counts"))?;
    Ok(RestoreRecord {
        id: row.try_get("id")?,
        account_no: row.try_get("account_no")?,
        backup_id: row.try_get("backup_id")?,
        mode: super::ops::col(row, "mode")?,
        categories,
        agent: row.try_get("agent")?,
        result: row.try_get("result")?,
        created_at: row.try_get("created_at")?,
        undone_by: row.try_get("undone_by")?,
        undone_at: row.try_get("undone_at")?,
    })
}

/// (category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at)
/// of the live items of `cats`, or of a restore's archive, sorted: what "exactly" compares.
async fn full_rows(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    cats: &[Category],
    archive_of: Option<i64>,
) -> Result<Vec<Value>> {
    let json: Option<String> = match archive_of {
        None => sqlx::query_scalar(pick(
            "SELECT json_group_array(json_array(category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at)) \
             FROM live_items WHERE account_id = $1 AND category IN (SELECT value FROM jsonb_each(jsonb($2)))",
            "SELECT CAST(json_agg(json_build_array(category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at)) AS TEXT) \
             FROM live_items WHERE account_id = $1 AND category IN (SELECT value FROM jsonb_array_elements_text(CAST($2 AS jsonb)))",
        ))
        .bind(account_id)
        .bind(cats_json(cats))
        .fetch_one(&mut **tx)
        .await?,
        Some(restore_id) => sqlx::query_scalar(pick(
            "SELECT json_group_array(json_array(category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at)) \
             FROM restore_archive WHERE restore_id = $1",
            "SELECT CAST(json_agg(json_build_array(category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at)) AS TEXT) \
             FROM restore_archive WHERE restore_id = $1",
        ))
        .bind(restore_id)
        .fetch_one(&mut **tx)
        .await?,
    };
    let mut rows: Vec<Value> = parse_agg(json, "items")?;
    // Normalise booleans so both sides compare alike on SQLite (0/1) and PostgreSQL.
    for r in &mut rows {
        if let Some(v) = r.get_mut(6) {
            *v = Value::Bool(json_bool(v));
        }
    }
    rows.sort_by(|a, b| (a[0].as_str(), a[1].as_str()).cmp(&(b[0].as_str(), b[1].as_str())));
    Ok(rows)
}

impl SqlStore {
    /// What a restore would do, writing nothing.
    pub async fn restore_preview(
        &self,
        account_id: i64,
        backup_id: &str,
        categories: &[Category],
        mode: Mode,
    ) -> Result<RestoreReport> {
        let mut tx = self.pool.begin().await?;
        let account_no: String =
            sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let g = gather(
            &mut tx,
            account_id,
            &account_no,
            backup_id,
            categories,
            mode,
        )
        .await?;
        tx.rollback().await?;
        let cats: Vec<RestoreCategory> = g
            .plans
            .iter()
            .map(|p| report_category(p, g.impact.get(&p.category)))
            .collect();
        Ok(RestoreReport {
            restore_id: None,
            outcome: RestoreOutcome::Preview,
            account_no,
            backup_id: backup_id.to_string(),
            verification: g.verification,
            mode,
            result: overall(&cats),
            categories: cats,
        })
    }

    /// Restores `categories` (all the backup holds when empty) of an account from one backup,
    /// in one transaction with its pre-restore archive, verification, statuses and audit.
    /// A replay that would write nothing records nothing and names the earlier restore.
    pub async fn restore_apply(
        &self,
        actor: &Actor,
        account_id: i64,
        backup_id: &str,
        categories: &[Category],
        mode: Mode,
        now: DateTime<Utc>,
    ) -> Result<RestoreReport> {
        let mut tx = self.begin_write().await?;
        let account_no = lock_account(&mut tx, account_id).await?;
        let g = gather(
            &mut tx,
            account_id,
            &account_no,
            backup_id,
            categories,
            mode,
        )
        .await?;
        let mut cats: Vec<RestoreCategory> = g
            .plans
            .iter()
            .map(|p| report_category(p, g.impact.get(&p.category)))
            .collect();
        let touched: Vec<Category> = g.plans.iter().map(|p| p.category).collect();
        let mut report = RestoreReport {
            restore_id: None,
            outcome: RestoreOutcome::Restored,
            account_no: account_no.clone(),
            backup_id: backup_id.to_string(),
            verification: g.verification,
            mode,
            result: overall(&cats),
            categories: Vec::new(),
        };
        let writes = g.plans.iter().any(CategoryPlan::writes_anything);
        let facts_change = cats.iter().any(|c| c.set_recovered != c.prior_recovered);
        if !writes && !facts_change {
            let earlier: Option<i64> = sqlx::query_scalar(
                "SELECT id FROM restores WHERE account_id = $1 AND backup_id = $2 AND mode = $3 AND categories = $4 \
                 AND undone_at IS NULL ORDER BY id DESC LIMIT 1",
            )
            .bind(account_id)
            .bind(backup_id)
            .bind(mode.as_str())
            .bind(cats_text(&touched))
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            report.restore_id = earlier;
            report.outcome = if earlier.is_some() {
                RestoreOutcome::AlreadyRestored
            } else {
                RestoreOutcome::NothingToRestore
            };
            report.categories = cats;
            return Ok(report);
        }

        let mut removes: Vec<i64> = Vec::new();
        let mut updates: Vec<(i64, &str, String, &str, bool)> = Vec::new();
        let mut adds: Vec<(&str, &str, &str, String, &str, bool)> = Vec::new();
        let mut changes: Vec<(&str, &str, &str, &str)> = Vec::new();
        for p in &g.plans {
            let cat = p.category.as_str();
            let hashes: HashMap<i64, &str> = g
                .live
                .get(&p.category)
                .map(|l| l.iter().map(|i| (i.id, i.content_hash.as_str())).collect())
                .unwrap_or_default();
            for (id, uid) in &p.removes {
                removes.push(*id);
                changes.push((
                    cat,
                    uid.as_str(),
                    "removed",
                    hashes.get(id).copied().unwrap_or(""),
                ));
            }
            for u in &p.updates {
                let id = u.live_id.ok_or_else(|| {
                    Error::System("an update of a live item without its id".to_string())
                })?;
                updates.push((
                    id,
                    u.natural_key.as_str(),
                    u.payload.to_string(),
                    u.content_hash.as_str(),
                    u.review,
                ));
                changes.push((cat, u.uid.as_str(), "updated", u.content_hash.as_str()));
            }
            for a in &p.adds {
                adds.push((
                    cat,
                    a.uid.as_str(),
                    a.natural_key.as_str(),
                    a.payload.to_string(),
                    a.content_hash.as_str(),
                    a.review,
                ));
                changes.push((cat, a.uid.as_str(), "added", a.content_hash.as_str()));
            }
        }
        let enc = |e: serde_json::Error| Error::System(format!("cannot encode items: {e}"));
        let counts = json!({ "categories": cats }).to_string();
        let restore_id: i64 = sqlx::query_scalar(
            "INSERT INTO restores (account_id, backup_id, mode, categories, agent, counts, result, created_at, changes) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(account_id)
        .bind(backup_id)
        .bind(mode.as_str())
        .bind(cats_text(&touched))
        .bind(&actor.login)
        .bind(&counts)
        .bind(&report.result)
        .bind(now)
        .bind(serde_json::to_string(&changes).map_err(enc)?)
        .fetch_one(&mut *tx)
        .await?;

        // The live state of every touched category, before anything changes.
        sqlx::query(pick(
            "INSERT INTO restore_archive (restore_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
             SELECT $1, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at FROM live_items \
             WHERE account_id = $2 AND category IN (SELECT value FROM jsonb_each(jsonb($3)))",
            "INSERT INTO restore_archive (restore_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
             SELECT $1, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at FROM live_items \
             WHERE account_id = $2 AND category IN (SELECT value FROM jsonb_array_elements_text(CAST($3 AS jsonb)))",
        ))
        .bind(restore_id)
        .bind(account_id)
        .bind(cats_json(&touched))
        .execute(&mut *tx)
        .await?;

        if !removes.is_empty() {
            sqlx::query(pick(
                "DELETE FROM live_items WHERE account_id = $1 AND id IN (SELECT value FROM jsonb_each(jsonb($2)))",
                "DELETE FROM live_items WHERE account_id = $1 AND id IN (SELECT CAST(value AS BIGINT) FROM jsonb_array_elements_text(CAST($2 AS jsonb)))",
            ))
            .bind(account_id)
            .bind(serde_json::to_string(&removes).map_err(enc)?)
            .execute(&mut *tx)
            .await?;
        }
        if !updates.is_empty() {
            sqlx::query(pick(
                "UPDATE live_items SET natural_key = v.value->>1, payload = v.value->>2, content_hash = v.value->>3, \
                 review = v.value->>4, updated_at = $2 FROM jsonb_each(jsonb($1)) AS v \
                 WHERE live_items.id = v.value->>0 AND live_items.account_id = $3",
                "UPDATE live_items SET natural_key = e.value->>1, payload = e.value->>2, content_hash = e.value->>3, \
                 review = CAST(e.value->>4 AS BOOLEAN), updated_at = $2 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value) \
                 WHERE live_items.id = CAST(e.value->>0 AS BIGINT) AND live_items.account_id = $3",
            ))
            .bind(serde_json::to_string(&updates).map_err(enc)?)
            .bind(now)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        }
        if !adds.is_empty() {
            sqlx::query(pick(
                "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
                 SELECT $1, value->>0, value->>1, value->>2, value->>3, value->>4, 'restore', value->>5, $2, $2 FROM jsonb_each(jsonb($3))",
                "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
                 SELECT $1, value->>0, value->>1, value->>2, value->>3, value->>4, 'restore', CAST(value->>5 AS BOOLEAN), $2, $2 \
                 FROM jsonb_array_elements(CAST($3 AS jsonb)) AS e(value)",
            ))
            .bind(account_id)
            .bind(now)
            .bind(serde_json::to_string(&adds).map_err(enc)?)
            .execute(&mut *tx)
            .await?;
        }
        verify_restore(&mut tx, account_id, &g.plans).await?;

        for c in &cats {
            if c.set_recovered != c.prior_recovered {
                sqlx::query("UPDATE impact SET recovered_items = $1, updated_at = $2 WHERE account_id = $3 AND category = $4")
                    .bind(c.set_recovered)
                    .bind(now)
                    .bind(account_id)
                    .bind(c.category.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        refresh_status(&mut tx, account_id, now).await?;
        let after = statuses(&mut tx, account_id).await?;
        for c in &mut cats {
            c.status = after.get(&c.category).copied();
        }
        let detail = format!(
            "backup {backup_id}, {mode}: {}; {}",
            cats.iter()
                .map(|c| format!(
                    "{} {} in backup, {} added, {} filled, {} flagged, {} removed, {} corrupt",
                    c.category,
                    c.counts.in_backup,
                    c.counts.add,
                    c.counts.fill,
                    c.counts.flag,
                    c.counts.remove,
                    c.counts.corrupt
                ))
                .collect::<Vec<_>>()
                .join("; "),
            report.result
        );
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("restore.apply", &report.result, detail)
                .account(&account_no)
                .object(format!("restore {restore_id}"))],
        )
        .await?;
        tx.commit().await?;
        report.restore_id = Some(restore_id);
        report.categories = cats;
        Ok(report)
    }

    /// Puts the live items of the categories a restore touched back exactly as its archive
    /// holds them, unless anything changed since the restore: then it refuses and says what.
    pub async fn restore_undo(
        &self,
        actor: &Actor,
        restore_id: i64,
        now: DateTime<Utc>,
    ) -> Result<UndoReport> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(
            "SELECT r.*, a.account_no FROM restores r JOIN accounts a ON a.id = r.account_id WHERE r.id = $1",
        )
        .bind(restore_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(Error::invalid(format!("there is no restore #{restore_id}")));
        };
        let account_id: i64 = row.try_get("account_id")?;
        let account_no = lock_account(&mut tx, account_id).await?;
        let record = restore_record(&row)?;
        let cats = parse_cats(&row.try_get::<String, _>("categories")?)?;
        // Read again under the lock: another undo may have finished in between.
        let undone_by: Option<String> =
            sqlx::query_scalar("SELECT undone_by FROM restores WHERE id = $1")
                .bind(restore_id)
                .fetch_one(&mut *tx)
                .await?;
        if undone_by.is_some() {
            tx.rollback().await?;
            return Ok(UndoReport {
                restore_id,
                account_no,
                already_undone: true,
                undone_by,
                categories: Vec::new(),
            });
        }
        let mut later = Vec::new();
        for r in sqlx::query("SELECT id, categories FROM restores WHERE account_id = $1 AND id > $2 AND undone_at IS NULL ORDER BY id DESC")
            .bind(account_id)
            .bind(restore_id)
            .fetch_all(&mut *tx)
            .await?
        {
            later.push((
                r.try_get::<i64, _>("id")?,
                parse_cats(&r.try_get::<String, _>("categories")?)?,
            ));
        }
        rules::undo::check_later_restores(restore_id, &account_no, &cats, &later)?;

        // The archive (the live state before), the restore's changes and the live items now:
        // the domain decides whether undoing loses anything, and what to write.
        type Triple = (String, String, String);
        let archive: Vec<Triple> = parse_agg(
            sqlx::query_scalar(pick(
                "SELECT json_group_array(json_array(category, uid, content_hash)) FROM restore_archive WHERE restore_id = $1",
                "SELECT CAST(json_agg(json_build_array(category, uid, content_hash)) AS TEXT) FROM restore_archive WHERE restore_id = $1",
            ))
            .bind(restore_id)
            .fetch_one(&mut *tx)
            .await?,
            "archive",
        )?;
        let changes: Vec<(String, String, String, String)> =
            parse_agg(Some(row.try_get("changes")?), "the restore's changes")?;
        let live: rules::undo::ItemHashes = live_keys(&mut tx, account_id, &cats)
            .await?
            .into_iter()
            .map(|(c, u, _, h)| ((c, u), h))
            .collect();
        let rules::UndoPlan {
            per_category: per_cat,
            by_change,
        } = rules::undo::plan_undo(restore_id, &account_no, archive, changes, &live)?;

        let enc = |e: serde_json::Error| Error::System(format!("cannot encode items: {e}"));
        let list = |change: &str| -> Result<Option<String>> {
            match by_change.get(change) {
                Some(l) if !l.is_empty() => Ok(Some(serde_json::to_string(l).map_err(enc)?)),
                _ => Ok(None),
            }
        };
        if let Some(added) = list("added")? {
            sqlx::query(pick(
                "DELETE FROM live_items WHERE account_id = $1 AND (category, uid) IN (SELECT value->>0, value->>1 FROM jsonb_each(jsonb($2)))",
                "DELETE FROM live_items WHERE account_id = $1 AND (category, uid) IN \
                 (SELECT e.value->>0, e.value->>1 FROM jsonb_array_elements(CAST($2 AS jsonb)) AS e(value))",
            ))
            .bind(account_id)
            .bind(added)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(updated) = list("updated")? {
            sqlx::query(pick(
                "UPDATE live_items SET natural_key = a.natural_key, payload = a.payload, content_hash = a.content_hash, origin = a.origin, \
                 review = a.review, created_at = a.created_at, updated_at = a.updated_at FROM restore_archive a \
                 WHERE a.restore_id = $1 AND (a.category, a.uid) IN (SELECT value->>0, value->>1 FROM jsonb_each(jsonb($3))) \
                 AND live_items.account_id = $2 AND live_items.category = a.category AND live_items.uid = a.uid",
                "UPDATE live_items SET natural_key = a.natural_key, payload = a.payload, content_hash = a.content_hash, origin = a.origin, \
                 review = a.review, created_at = a.created_at, updated_at = a.updated_at FROM restore_archive a \
                 WHERE a.restore_id = $1 AND (a.category, a.uid) IN \
                 (SELECT e.value->>0, e.value->>1 FROM jsonb_array_elements(CAST($3 AS jsonb)) AS e(value)) \
                 AND live_items.account_id = $2 AND live_items.category = a.category AND live_items.uid = a.uid",
            ))
            .bind(restore_id)
            .bind(account_id)
            .bind(updated)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(removed) = list("removed")? {
            sqlx::query(pick(
                "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
                 SELECT $2, a.category, a.uid, a.natural_key, a.payload, a.content_hash, a.origin, a.review, a.created_at, a.updated_at \
                 FROM restore_archive a WHERE a.restore_id = $1 AND (a.category, a.uid) IN (SELECT value->>0, value->>1 FROM jsonb_each(jsonb($3)))",
                "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at) \
                 SELECT $2, a.category, a.uid, a.natural_key, a.payload, a.content_hash, a.origin, a.review, a.created_at, a.updated_at \
                 FROM restore_archive a WHERE a.restore_id = $1 AND (a.category, a.uid) IN \
                 (SELECT e.value->>0, e.value->>1 FROM jsonb_array_elements(CAST($3 AS jsonb)) AS e(value))",
            ))
            .bind(restore_id)
            .bind(account_id)
            .bind(removed)
            .execute(&mut *tx)
            .await?;
        }

        // Exactly the archive, field by field, or nothing.
        let now_rows = full_rows(&mut tx, account_id, &cats, None).await?;
        let then_rows = full_rows(&mut tx, account_id, &cats, Some(restore_id)).await?;
        if now_rows != then_rows {
            return Err(Error::System(format!(
                "the undo of restore #{restore_id} did not give back the archived items; nothing was changed"
            )));
        }

        let impact = impact_of(&mut tx, account_id).await?;
        for c in &record.categories {
            let now_recovered = impact.get(&c.category).and_then(|i| i.recovered);
            // Only a recovery this restore set goes back; a later re-sync's stays.
            if c.set_recovered != c.prior_recovered && now_recovered == c.set_recovered {
                sqlx::query("UPDATE impact SET recovered_items = $1, updated_at = $2 WHERE account_id = $3 AND category = $4")
                    .bind(c.prior_recovered)
                    .bind(now)
                    .bind(account_id)
                    .bind(c.category.as_str())
                    .execute(&mut *tx)
                    .await?;
            }
        }
        refresh_status(&mut tx, account_id, now).await?;
        let after = statuses(&mut tx, account_id).await?;
        let done = sqlx::query(
            "UPDATE restores SET undone_by = $1, undone_at = $2 WHERE id = $3 AND undone_at IS NULL",
        )
        .bind(&actor.login)
        .bind(now)
        .bind(restore_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if done != 1 {
            return Err(Error::System(format!(
                "restore #{restore_id} was undone by someone else meanwhile"
            )));
        }
        let categories: Vec<UndoCategory> = cats
            .iter()
            .map(|c| {
                let (removed, put_back) = per_cat.get(c.as_str()).copied().unwrap_or_default();
                UndoCategory {
                    category: *c,
                    removed,
                    put_back,
                    live_after: then_rows
                        .iter()
                        .filter(|r| r[0].as_str() == Some(c.as_str()))
                        .count() as i64,
                    status: after.get(c).copied(),
                }
            })
            .collect();
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "restore.undo",
                "ok",
                format!(
                    "restore {restore_id} of backup {}: {}",
                    record.backup_id,
                    categories
                        .iter()
                        .map(|c| format!(
                            "{} {} removed, {} put back",
                            c.category, c.removed, c.put_back
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
            )
            .account(&account_no)
            .object(format!("restore {restore_id}"))],
        )
        .await?;
        tx.commit().await?;
        Ok(UndoReport {
            restore_id,
            account_no,
            already_undone: false,
            undone_by: Some(actor.login.clone()),
            categories,
        })
    }

    pub async fn restore_by_id(&self, restore_id: i64) -> Result<Option<RestoreRecord>> {
        let row = sqlx::query(RECORD_BY_ID)
            .bind(restore_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(restore_record).transpose()
    }

    /// An account's restores, newest first.
    pub async fn restores_of(&self, account_id: i64) -> Result<Vec<RestoreRecord>> {
        sqlx::query(RECORDS_OF_ACCOUNT)
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(restore_record)
            .collect()
    }

    /// Records that the customer's device re-synced its copy of a category (`items` of it,
    /// by default the pre-incident count): the category's recovery, and the status it drives.
    pub async fn record_resync(
        &self,
        actor: &Actor,
        account_id: i64,
        incident: &str,
        cat: Category,
        items: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<ResyncReport> {
        let mut tx = self.begin_write().await?;
        let account_no = lock_account(&mut tx, account_id).await?;
        let Some(row) = sqlx::query(
            "SELECT server_lost, device_state, items_before, recovered_items, status FROM impact \
             WHERE account_id = $1 AND incident_id = $2 AND category = $3",
        )
        .bind(account_id)
        .bind(incident)
        .bind(cat.as_str())
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(Error::invalid(format!(
                "account {account_no} has no {cat} recorded for {incident}"
            )));
        };
        if !row.try_get::<bool, _>("server_lost")? {
            return Err(Error::refused(format!(
                "account {account_no}'s {cat} were not lost by the server; there is nothing to re-sync"
            )));
        }
        let device: String = row.try_get("device_state")?;
        if device == DeviceState::Wiped.as_str() {
            return Err(Error::refused(format!(
                "account {account_no}'s device was wiped: it holds no {cat} to re-sync; restore them from a backup instead"
            )));
        }
        let items_before: i64 = row.try_get("items_before")?;
        let recovered: Option<i64> = row.try_get("recovered_items")?;
        let status: String = row.try_get("status")?;
        let status_before = CategoryStatus::from_str(&status)
            .map_err(|_| Error::System(format!("unknown status \"{status}\"")))?;
        let n = items.unwrap_or(items_before);
        let new = recovered.unwrap_or(0).max(n);
        let mut report = ResyncReport {
            account_no: account_no.clone(),
            category: cat,
            items: n,
            items_before,
            changed: recovered != Some(new),
            status_before,
            status: status_before,
        };
        if !report.changed {
            tx.rollback().await?;
            return Ok(report);
        }
        sqlx::query("UPDATE impact SET recovered_items = $1, updated_at = $2 WHERE account_id = $3 AND incident_id = $4 AND category = $5")
            .bind(new)
            .bind(now)
            .bind(account_id)
            .bind(incident)
            .bind(cat.as_str())
            .execute(&mut *tx)
            .await?;
        refresh_status(&mut tx, account_id, now).await?;
        let status: String = sqlx::query_scalar(
            "SELECT status FROM impact WHERE account_id = $1 AND incident_id = $2 AND category = $3",
        )
        .bind(account_id)
        .bind(incident)
        .bind(cat.as_str())
        .fetch_one(&mut *tx)
        .await?;
        report.status = CategoryStatus::from_str(&status)
            .map_err(|_| Error::System(format!("unknown status \"{status}\"")))?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "device.resync",
                "ok",
                format!(
                    "{cat}: {n} of {items_before} items re-synced from the device; {} -> {}",
                    status_before, report.status
                ),
            )
            .account(&account_no)
            .object(cat.as_str())],
        )
        .await?;
        tx.commit().await?;
        Ok(report)
    }
}
