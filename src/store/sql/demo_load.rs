//! Loading the demo generator's chunks, one statement per table.

use chrono::{DateTime, Utc};
use sqlx::Transaction;

use super::*;
use crate::domain::Role;
use crate::error::{Error, Result};
use crate::store::*;

/// One chunk of demo rows (JSON arrays of row arrays), one statement per table. The JSON is
/// bound as a parameter; the SQL stays static.
pub(super) async fn write_demo_chunk(tx: &mut Transaction<'_, Db>, c: &DemoChunk) -> Result<()> {
    let statements: [(&str, &String); 7] = [
        (
            pick(
                "INSERT INTO accounts (id, account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9 FROM jsonb_each(jsonb($1))",
                "INSERT INTO accounts (id, account_no, msisdn, name, name_norm, email, status, device_model, loss_rank, created_at) \
                 SELECT CAST(value->>0 AS BIGINT), value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, \
                        CAST(value->>8 AS BIGINT), CAST(value->>9 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.accounts,
        ),
        (
            pick(
                "INSERT INTO plans (account_id, plan_code, data_plan, price_cents, currency, valid_from, valid_to) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM jsonb_each(jsonb($1))",
                "INSERT INTO plans (account_id, plan_code, data_plan, price_cents, currency, valid_from, valid_to) \
                 SELECT CAST(value->>0 AS BIGINT), value->>1, CAST(value->>2 AS BOOLEAN), CAST(value->>3 AS BIGINT), value->>4, \
                        CAST(value->>5 AS TIMESTAMPTZ), CAST(value->>6 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.plans,
        ),
        (
            pick(
                "INSERT INTO impact (account_id, incident_id, category, server_lost, device_state, items_before, status, updated_at) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7 FROM jsonb_each(jsonb($1))",
                "INSERT INTO impact (account_id, incident_id, category, server_lost, device_state, items_before, status, updated_at) \
                 SELECT CAST(value->>0 AS BIGINT), value->>1, value->>2, CAST(value->>3 AS BOOLEAN), value->>4, CAST(value->>5 AS BIGINT), \
                        value->>6, CAST(value->>7 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.impact,
        ),
        (
            pick(
                "INSERT INTO backups (id, account_id, taken_at, source, checksum, verification, imported_at) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM jsonb_each(jsonb($1))",
                "INSERT INTO backups (id, account_id, taken_at, source, checksum, verification, imported_at) \
                 SELECT value->>0, CAST(value->>1 AS BIGINT), CAST(value->>2 AS TIMESTAMPTZ), value->>3, value->>4, value->>5, \
                        CAST(value->>6 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.backups,
        ),
        (
            pick(
                "INSERT INTO backup_categories (backup_id, category, item_count, bad_items) \
                 SELECT value->>0, value->>1, value->>2, value->>3 FROM jsonb_each(jsonb($1))",
                "INSERT INTO backup_categories (backup_id, category, item_count, bad_items) \
                 SELECT value->>0, value->>1, CAST(value->>2 AS BIGINT), CAST(value->>3 AS BIGINT) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.backup_categories,
        ),
        (
            pick(
                "INSERT INTO backup_items (backup_id, category, uid, payload, content_hash, hash_ok) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5 FROM jsonb_each(jsonb($1))",
                "INSERT INTO backup_items (backup_id, category, uid, payload, content_hash, hash_ok) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, CAST(value->>5 AS BOOLEAN) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.backup_items,
        ),
        (
            pick(
                "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, created_at, updated_at) \
                 SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8 FROM jsonb_each(jsonb($1))",
                "INSERT INTO live_items (account_id, category, uid, natural_key, payload, content_hash, origin, created_at, updated_at) \
                 SELECT CAST(value->>0 AS BIGINT), value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, \
                        CAST(value->>7 AS TIMESTAMPTZ), CAST(value->>8 AS TIMESTAMPTZ) FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
            ),
            &c.live_items,
        ),
    ];
    for (sql, rows) in statements {
        if rows.len() > 2 {
            sqlx::query(sql)
                .bind(rows.as_str())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

impl SqlStore {
    // ----- demo ---------------------------------------------------------------------------

    /// Writes one chunk of demo rows (JSON arrays of row arrays), one statement per table, in
    /// one transaction. The JSON is bound as a parameter; the SQL stays static.
    pub async fn demo_load_chunk(&self, c: &DemoChunk) -> Result<()> {
        let mut tx = self.begin_write().await?;
        write_demo_chunk(&mut tx, c).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The import bench's baseline where the database must stay empty (PostgreSQL): the
    /// incident and every chunk `next` yields, in one transaction rolled back once timed.
    pub async fn demo_load_rolled_back(
        &self,
        inc: &Incident,
        next: &mut (dyn FnMut() -> Option<Result<DemoChunk>> + Send),
    ) -> Result<std::time::Duration> {
        let started = std::time::Instant::now();
        let mut tx = self.begin_write().await?;
        insert_incident(&mut tx, inc).await?;
        while let Some(c) = next() {
            write_demo_chunk(&mut tx, &c?).await?;
        }
        sqlx::query("SELECT 1").execute(&mut *tx).await?;
        let elapsed = started.elapsed();
        tx.rollback().await?;
        Ok(elapsed)
    }

    /// The demo's first transaction: the incidents its rows refer to, and the mark of a demo
    /// being built (`demo_building`): a build that fails half-way (a full disk) leaves a
    /// database `demo` knows it may rebuild, never one that looks like someone's data.
    pub async fn demo_start(&self, incidents: &[Incident]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        // SQLite: `demo` removed such a file before; PostgreSQL: caredesk never drops data.
        let unfinished: Option<String> =
            sqlx::query_scalar("SELECT value FROM meta WHERE key = 'demo_building'")
                .fetch_optional(&mut *tx)
                .await?;
        if unfinished.is_some() {
            return Err(Error::refused(
                "this database holds a demo whose build stopped half-way; drop the database, create it again (dropdb, createdb) and run `caredesk demo` again",
            ));
        }
        for inc in incidents {
            insert_incident(&mut tx, inc).await?;
        }
        sqlx::query("INSERT INTO meta (key, value) VALUES ('demo_building', 'started')")
            .execute(&mut *tx)
            .await?;
        if BACKEND == Backend::Sqlite {
            // While the bulk load runs, the search index does not merge its segments after
            // every chunk; one full merge at the end (`optimize`) is cheaper than many.
            sqlx::query("INSERT INTO accounts_fts (accounts_fts, rank) VALUES ('automerge', 0)")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The demo's last transaction: the incident, its agents, the demo marker and the audit
    /// record of the build; on PostgreSQL the account ids' sequence moves past the demo's.
    pub async fn demo_finish(
        &self,
        actor: &Actor,
        agents: &[(String, String, Role)],
        detail: &str,
        seed: u64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for (login, name, role) in agents {
            insert_agent(&mut tx, login, name, *role, now).await?;
        }
        sqlx::query("INSERT INTO meta (key, value) VALUES ('demo', $1)")
            .bind(format!("seed={seed}"))
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM meta WHERE key = 'demo_building'")
            .execute(&mut *tx)
            .await?;
        if BACKEND == Backend::Postgres {
            sqlx::query("SELECT setval(pg_get_serial_sequence('accounts', 'id'), GREATEST((SELECT MAX(id) FROM accounts), 1))")
                .execute(&mut *tx)
                .await?;
        }
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("demo.build", "ok", detail)],
        )
        .await?;
        if BACKEND == Backend::Sqlite {
            // Later writes merge the index's segments as they go again (SQLite's default).
            sqlx::query("INSERT INTO accounts_fts (accounts_fts, rank) VALUES ('automerge', 4)")
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        // The bulk load's indexes made ready for searches, and the planner's statistics.
        self.optimize().await
    }
}
