//! Restores: preview (read only) and apply (archive, write, verify, statuses, audit in one transaction), and restores as recorded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::*;
use crate::domain::Category;
use crate::domain::restore::{CategoryPlan, Mode};
use crate::error::{Error, Result};

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
        let account_no = account_no_of(&mut tx, account_id).await?;
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
            // Nothing to write, and still answered only to an agent who may act.
            recheck_actor(&mut tx, actor).await?;
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
}
