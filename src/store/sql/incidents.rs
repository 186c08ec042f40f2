//! Incidents and the dashboard's totals.

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::CategoryStatus;
use crate::error::Result;

pub(crate) async fn insert_incident(tx: &mut Transaction<'_, Db>, inc: &Incident) -> Result<()> {
    let cats: Vec<&str> = inc.categories.iter().map(|c| c.as_str()).collect();
    sqlx::query(
        "INSERT INTO incidents (id, title, started_at, ended_at, snapshot_as_of, categories, advisory, credit_months, appreciation_cents, currency) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (id) DO UPDATE SET title = excluded.title, ended_at = excluded.ended_at, advisory = excluded.advisory",
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

    pub async fn upsert_incident(
        &self,
        actor: &Actor,
        inc: &Incident,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_incident(&mut tx, inc).await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("incident.define", "ok", "").object(&inc.id)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
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
        // The count is of incident credits; the amount is the whole ledger's net: every
        // credit of any kind, less the reversals (negative rows) that undo some of them.
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'incident' THEN 1 ELSE 0 END), 0) AS BIGINT) AS n, \
                    CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS net FROM credits",
        )
        .fetch_one(&self.pool)
        .await?;
        t.credited = row.try_get("n")?;
        t.net_credited_cents = row.try_get("net")?;
        Ok(t)
    }
}
