//! One account: its detail for the screen (the view audited), notes, and a supervisor's declaration of permanent loss.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::{Category, LossFacts};
use crate::error::Result;

pub(super) async fn read_detail(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
) -> Result<AccountDetail> {
    let row = sqlx::query("SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank, a.device_model, a.created_at FROM accounts a WHERE a.id = $1")
        .bind(account_id)
        .fetch_one(&mut **tx)
        .await?;
    let summary = summary(&row)?;
    let device_model: String = row.try_get("device_model")?;
    let created_at: DateTime<Utc> = row.try_get("created_at")?;

    let plans = sqlx::query("SELECT plan_code, data_plan, price_cents, currency, valid_from, valid_to FROM plans WHERE account_id = $1 ORDER BY valid_from")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(Plan {
                plan_code: r.try_get("plan_code")?,
                data_plan: r.try_get("data_plan")?,
                price_cents: r.try_get("price_cents")?,
                currency: r.try_get("currency")?,
                valid_from: r.try_get("valid_from")?,
                valid_to: r.try_get("valid_to")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let mut backups: Vec<Backup> = Vec::new();
    for r in sqlx::query("SELECT id, taken_at, source, verification FROM backups WHERE account_id = $1 ORDER BY taken_at DESC, id")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?
    {
        backups.push(Backup {
            id: r.try_get("id")?,
            taken_at: r.try_get("taken_at")?,
            source: r.try_get("source")?,
            verification: col(&r, "verification")?,
            categories: Vec::new(),
        });
    }
    // The categories each backup was restored into (restores not undone): a backup whose
    // items were tried no longer stands in the way of declaring the rest lost.
    let mut restored: Vec<(String, Category)> = Vec::new();
    for r in sqlx::query(
        "SELECT backup_id, categories FROM restores WHERE account_id = $1 AND undone_at IS NULL",
    )
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?
    {
        let backup_id: String = r.try_get("backup_id")?;
        for c in super::restore_facts::parse_cats(&r.try_get::<String, _>("categories")?)? {
            restored.push((backup_id.clone(), c));
        }
    }
    for b in &mut backups {
        for r in sqlx::query("SELECT category, item_count, bad_items FROM backup_categories WHERE backup_id = $1 ORDER BY category")
            .bind(&b.id)
            .fetch_all(&mut **tx)
            .await?
        {
            let category: Category = col(&r, "category")?;
            b.categories.push(BackupCategory {
                category,
                item_count: r.try_get("item_count")?,
                bad_items: r.try_get("bad_items")?,
                restored: restored.iter().any(|(id, c)| *id == b.id && *c == category),
            });
        }
        b.categories.sort_by_key(|c| c.category);
    }

    let live: HashMap<String, i64> = sqlx::query(
        "SELECT category, COUNT(*) AS n FROM live_items WHERE account_id = $1 GROUP BY category",
    )
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get::<String, _>("category")?,
            r.try_get::<i64, _>("n")?,
        ))
    })
    .collect::<Result<_>>()?;

    let mut categories = Vec::new();
    for r in sqlx::query("SELECT incident_id, category, status, server_lost, device_state, items_before FROM impact WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?
    {
        let category: Category = col(&r, "category")?;
        let items_backup = backups
            .iter()
            .filter(|b| b.verified())
            .flat_map(|b| b.categories.iter())
            .filter(|c| c.category == category)
            .map(|c| c.item_count - c.bad_items)
            .max();
        categories.push(CategoryState {
            incident: r.try_get("incident_id")?,
            category,
            status: col(&r, "status")?,
            server_lost: r.try_get("server_lost")?,
            device_state: col(&r, "device_state")?,
            items_before: r.try_get("items_before")?,
            items_live: live.get(category.as_str()).copied().unwrap_or(0),
            items_backup,
        });
    }
    categories.sort_by_key(|c| (c.incident.clone(), c.category));

    let credits = sqlx::query("SELECT c.*, a.account_no FROM credits c JOIN accounts a ON a.id = c.account_id WHERE c.account_id = $1 ORDER BY c.id")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(credit)
        .collect::<Result<Vec<_>>>()?;

    let requests = sqlx::query("SELECT * FROM credit_requests WHERE account_id = $1 ORDER BY id")
        .bind(account_id)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(request_row)
        .collect::<Result<Vec<_>>>()?;

    let notes = sqlx::query(
        "SELECT id, agent, body, created_at FROM notes WHERE account_id = $1 ORDER BY id DESC",
    )
    .bind(account_id)
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|r| {
        Ok(Note {
            id: r.try_get("id")?,
            agent: r.try_get("agent")?,
            body: r.try_get("body")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;

    // The newest audit records of the account, in the order they were written; a note's
    // record (which keeps only its size) shows as the note itself.
    let timeline: Vec<TimelineEvent> = sqlx::query("SELECT at, agent, action, object_id, detail FROM audit WHERE account_no = $1 ORDER BY seq DESC LIMIT 50")
        .bind(&summary.account_no)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            let action: String = r.try_get("action")?;
            let object_id: Option<String> = r.try_get("object_id")?;
            let note = (action == "note.add")
                .then(|| object_id.as_deref().and_then(|id| id.parse::<i64>().ok()))
                .flatten()
                .and_then(|id| notes.iter().find(|n| n.id == id));
            Ok(match note {
                Some(n) => TimelineEvent {
                    at: r.try_get("at")?,
                    agent: n.agent.clone(),
                    action: "note".to_string(),
                    text: n.body.clone(),
                    object_id,
                },
                None => TimelineEvent {
                    at: r.try_get("at")?,
                    agent: r.try_get("agent")?,
                    action,
                    text: r.try_get("detail")?,
                    object_id,
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;

    let incidents = sqlx::query("SELECT * FROM incidents ORDER BY started_at, id")
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(incident)
        .collect::<Result<Vec<_>>>()?;

    let advice = super::contact::advice_of(tx, account_id).await?;
    let callbacks = super::contact::pending_callbacks_of(tx, account_id).await?;

    Ok(AccountDetail {
        summary,
        device_model,
        created_at,
        plans,
        categories,
        backups,
        credits,
        requests,
        notes,
        timeline,
        incidents,
        advice,
        callbacks,
        masked: false,
    })
}

impl SqlStore {
    // ----- account detail -----------------------------------------------------------------

    /// Everything the account screen shows. The view is audited in the same transaction that
    /// reads it (docs/commands.md, "Rules the commands keep": every view of an account's details has its audit record).
    /// One account's details, with the audit record of the view in the same transaction:
    /// `account.reveal` when a role that sees masked details asked to see them in full.
    pub async fn account_detail(
        &self,
        actor: &Actor,
        account_id: i64,
        reveal: bool,
        now: DateTime<Utc>,
    ) -> Result<AccountDetail> {
        let mut tx = self.begin_write().await?;
        let account_no = account_no_of(&mut tx, account_id).await?;
        let entry = if reveal {
            AuditEntry::new(
                "account.reveal",
                "ok",
                "unmasked name, e-mail and phone number",
            )
        } else {
            AuditEntry::new("account.view", "ok", "")
        };
        append_audit(&mut tx, actor, now, &[entry.account(&account_no)]).await?;
        // Read after the view's record, so the timeline shows this view too (the first view
        // of an account shows itself).
        let detail = read_detail(&mut tx, account_id).await?;
        tx.commit().await?;
        Ok(detail)
    }

    // ----- notes --------------------------------------------------------------------------

    pub async fn add_note(
        &self,
        actor: &Actor,
        account_id: i64,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let account_no = account_no_of(&mut tx, account_id).await?;
        let id: i64 = sqlx::query_scalar("INSERT INTO notes (account_id, agent, body, created_at) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(account_id)
            .bind(&actor.login)
            .bind(body)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
        // The note's text may carry what the customer said; the audit keeps only its size.
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "note.add",
                "ok",
                format!("{} characters", body.chars().count()),
            )
            .account(&account_no)
            .object(id)],
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    // ----- recovery -----------------------------------------------------------------------

    /// A supervisor declares a category permanently lost (recovery exhausted); the derived
    /// statuses follow in the same transaction. Returns false when it already was.
    pub async fn declare_loss(
        &self,
        actor: &Actor,
        account_id: i64,
        incident: &str,
        category: Category,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // Restores, undos and re-syncs of the account wait for this declaration (and it for
        // them), so the facts it is decided on hold until it commits.
        let account_no = super::restore_facts::lock_account(&mut tx, account_id).await?;
        let detail = read_detail(&mut tx, account_id).await?;
        let facts = detail
            .categories
            .iter()
            .find(|c| c.incident == incident && c.category == category)
            .map(|c| LossFacts::of(&detail, c));
        match crate::domain::loss::declare_loss(&account_no, category, incident, facts.as_ref())? {
            crate::domain::LossDecision::AlreadyDeclared => {
                recheck_actor(&mut tx, actor).await?;
                return Ok(false);
            }
            crate::domain::LossDecision::Declare => {}
        }
        sqlx::query("UPDATE impact SET permanent_loss = TRUE, updated_at = $1 WHERE account_id = $2 AND incident_id = $3 AND category = $4")
            .bind(now)
            .bind(account_id)
            .bind(incident)
            .bind(category.as_str())
            .execute(&mut *tx)
            .await?;
        refresh_status(&mut tx, account_id, now).await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "loss.declare",
                "ok",
                format!(
                    "{} permanently lost: {} characters of reason",
                    category.as_str(),
                    reason.chars().count()
                ),
            )
            .account(&account_no)
            .object(category.as_str())],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
