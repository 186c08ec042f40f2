//! Incidents and the dashboard's totals.

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::incident::{CreateDecision, IncidentEdit, decide_create, decide_edit};
use crate::domain::{CategoryStatus, IncidentRefusal};
use crate::error::Result;

/// One incident by id, read in the transaction that decides about it.
async fn incident_by_id(tx: &mut Transaction<'_, Db>, id: &str) -> Result<Option<Incident>> {
    let row = sqlx::query("SELECT * FROM incidents WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    row.as_ref().map(incident).transpose()
}

/// How many credits exist against an incident (its credit policy is frozen from the first),
/// read on the pool or inside the transaction that decides about it.
async fn credits_against<'e>(ex: impl sqlx::Executor<'e, Database = Db>, id: &str) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM credits WHERE incident_id = $1")
            .bind(id)
            .fetch_one(ex)
            .await?,
    )
}

/// The audit detail of a definition: what it says, without any customer's data.
pub(super) fn definition(inc: &Incident) -> String {
    let cats: Vec<&str> = inc.categories.iter().map(|c| c.as_str()).collect();
    format!(
        "{}; start {}; end {}; snapshot {}; {}; credit {} month(s), appreciation {} {}",
        crate::domain::sanitize(&inc.title),
        inc.started_at.to_rfc3339(),
        inc.ended_at.map_or("open".to_string(), |e| e.to_rfc3339()),
        inc.snapshot_as_of.to_rfc3339(),
        cats.join(","),
        inc.credit_months,
        inc.appreciation_cents,
        inc.currency
    )
}

pub(crate) async fn insert_incident(tx: &mut Transaction<'_, Db>, inc: &Incident) -> Result<()> {
    let cats: Vec<&str> = inc.categories.iter().map(|c| c.as_str()).collect();
    sqlx::query(
        "INSERT INTO incidents (id, title, started_at, ended_at, snapshot_as_of, categories, advisory, credit_months, appreciation_cents, currency) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&inc.id)
    .bind(&inc.title)
    .bind(inc.started_at)
    .bind(inc.ended_at)
    .bind(inc.snapshot_as_of)
    .bind(cats.join(","))
    .bind(&inc.advisory)
    .bind(inc.credit_months)
    .bind(inc.appreciation_cents)
    .bind(&inc.currency)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

impl SqlStore {
    // ----- incidents ----------------------------------------------------------------------

    pub async fn incidents(&self) -> Result<Vec<Incident>> {
        let rows = sqlx::query("SELECT * FROM incidents ORDER BY started_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(incident).collect()
    }

    pub async fn incident_credit_count(&self, id: &str) -> Result<i64> {
        credits_against(&self.pool, id).await
    }

    /// `incident create`: stores a new definition with its audit record; the same definition
    /// again is a replay that writes nothing.
    pub async fn create_incident(
        &self,
        actor: &Actor,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<CreateDecision> {
        let mut tx = self.begin_write().await?;
        let existing = incident_by_id(&mut tx, &inc.id).await?;
        let decision = match decide_create(inc, existing.as_ref()) {
            Ok(d) => d,
            Err(refused) => {
                tx.rollback().await?;
                return Err(refused.into());
            }
        };
        if decision == CreateDecision::AlreadyExists {
            recheck_actor(&mut tx, actor).await?;
            tx.rollback().await?;
        } else {
            insert_incident(&mut tx, inc).await?;
            append_audit(
                &mut tx,
                actor,
                now,
                &[AuditEntry::new("incident.create", "ok", definition(inc)).object(&inc.id)],
            )
            .await?;
            tx.commit().await?;
        }
        Ok(decision)
    }

    /// `incident edit`: the incident after the edit and the fields it changed (none: a
    /// replay that writes nothing). The credit policy is decided against the credits that
    /// exist inside this transaction.
    pub async fn edit_incident(
        &self,
        actor: &Actor,
        id: &str,
        edit: &IncidentEdit,
        now: DateTime<Utc>,
    ) -> Result<(Incident, Vec<&'static str>)> {
        let mut tx = self.begin_write().await?;
        let Some(current) = incident_by_id(&mut tx, id).await? else {
            let known = sqlx::query_scalar("SELECT id FROM incidents ORDER BY started_at, id")
                .fetch_all(&mut *tx)
                .await?;
            return Err(IncidentRefusal::Unknown {
                id: crate::domain::sanitize(id).into_owned(),
                known,
            }
            .into());
        };
        if BACKEND == Backend::Postgres {
            // A credit inserted meanwhile would see the old policy: hold the incident's row.
            sqlx::query("SELECT id FROM incidents WHERE id = $1 FOR UPDATE")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        let credits = credits_against(&mut *tx, id).await?;
        let decided = decide_edit(&current, edit, credits);
        let Ok(Some((next, changed))) = decided else {
            recheck_actor(&mut tx, actor).await?;
            // The row lock ends now, not when the connection is next used.
            tx.rollback().await?;
            return decided.map(|_| (current, Vec::new())).map_err(Into::into);
        };
        sqlx::query(
            "UPDATE incidents SET title = $2, ended_at = $3, advisory = $4, credit_months = $5, appreciation_cents = $6 WHERE id = $1",
        )
        .bind(id)
        .bind(&next.title)
        .bind(next.ended_at)
        .bind(&next.advisory)
        .bind(next.credit_months)
        .bind(next.appreciation_cents)
        .execute(&mut *tx)
        .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "incident.edit",
                "ok",
                format!("changed {}: {}", changed.join(", "), definition(&next)),
            )
            .object(id)],
        )
        .await?;
        tx.commit().await?;
        Ok((next, changed))
    }

    // ----- dashboard ----------------------------------------------------------------------

    pub async fn totals(&self) -> Result<IncidentTotals> {
        let mut t = IncidentTotals::default();
        let rows = sqlx::query(
            "SELECT loss_rank, COUNT(*) AS n FROM accounts GROUP BY loss_rank ORDER BY loss_rank",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let rank: i64 = row.try_get("loss_rank")?;
            let n: i64 = row.try_get("n")?;
            t.accounts += n;
            if let Some(s) = CategoryStatus::from_rank(rank) {
                if s != CategoryStatus::NotAffected {
                    t.affected += n;
                }
                t.by_status.push((s, n));
            }
        }
        // Per incident, the count is of incident credits; the amount is the ledger's net:
        // every credit of any kind, less the reversals (negative rows) that undo some of them.
        let rows = sqlx::query(
            "SELECT i.id, i.currency, \
                    CAST(COALESCE(SUM(CASE WHEN c.kind = 'incident' THEN 1 ELSE 0 END), 0) AS BIGINT) AS n, \
                    CAST(COALESCE(SUM(c.amount_cents), 0) AS BIGINT) AS net \
             FROM incidents i LEFT JOIN credits c ON c.incident_id = i.id \
             GROUP BY i.id, i.currency, i.started_at ORDER BY i.started_at, i.id",
        )
        .fetch_all(&self.pool)
        .await?;
        for row in &rows {
            let one = IncidentCredits {
                incident: row.try_get("id")?,
                currency: row.try_get("currency")?,
                credited: row.try_get("n")?,
                net_credited_cents: row.try_get("net")?,
            };
            t.credited += one.credited;
            t.net_credited_cents += one.net_credited_cents;
            t.by_incident.push(one);
        }
        Ok(t)
    }
}
