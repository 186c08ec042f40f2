//! Undoing a restore: the domain decides from the archive, the changes and the live items; this writes it back.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::Category;
use crate::domain::restore::{self as rules};
use crate::error::{Error, Result};

/// (category, uid, natural_key, payload, content_hash, origin, review, created_at, updated_at)
/// of the live items of `cats`, or of a restore's archive, sorted: what "exactly" compares.
pub(super) async fn full_rows(
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
            recheck_actor(&mut tx, actor).await?;
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
}
