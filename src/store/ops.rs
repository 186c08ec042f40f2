//! The store's operations, written once and compiled per backend (see `store/mod.rs`): every
//! write is one transaction that also appends its audit records to the hash chain.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::{BACKEND, Backend, Db};
use crate::audit::Canonical;
use crate::domain::{Category, CategoryStatus, Role};
use crate::error::{Error, Result};
use crate::store::*;

pub(super) type DbRow = <Db as sqlx::Database>::Row;

/// Chooses between the two dialects' texts of one statement.
pub(super) const fn pick(sqlite: &'static str, postgres: &'static str) -> &'static str {
    match BACKEND {
        Backend::Sqlite => sqlite,
        Backend::Postgres => postgres,
    }
}

/// PostgreSQL: merges the trigram indexes' pending lists. A bulk load leaves its entries
/// there and every search walks them until autovacuum merges them (a manual ANALYZE does not):
/// 148 pending pages after a million accounts made one search 15 ms instead of 6.
const GIN_MERGE_PENDING: &str = "SELECT gin_clean_pending_list('accounts_search_trgm'), gin_clean_pending_list('accounts_digits_trgm')";

/// Most candidates a substring search ranks before it caps its answer.
const SEARCH_CANDIDATES: i64 = 200;

/// The hot queries (every keystroke, every lookup) with their `EXPLAIN` twins, so a test can
/// check on both backends that each one is answered through an index, never a full scan.
macro_rules! hot_sql {
    ($name:ident, $explain:ident, $sqlite:literal, $postgres:literal) => {
        pub(super) const $name: &str = pick($sqlite, $postgres);
        const $explain: &str = pick(
            concat!("EXPLAIN QUERY PLAN ", $sqlite),
            concat!("EXPLAIN ", $postgres),
        );
    };
}

hot_sql!(
    SQL_BY_NO,
    EXPLAIN_BY_NO,
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a WHERE a.account_no = $1",
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a WHERE a.account_no = $1"
);
hot_sql!(
    SQL_BY_MSISDN,
    EXPLAIN_BY_MSISDN,
    "SELECT id FROM accounts WHERE msisdn = $1 ORDER BY id",
    "SELECT id FROM accounts WHERE msisdn = $1 ORDER BY id"
);
hot_sql!(
    SQL_NAME_PREFIX,
    EXPLAIN_NAME_PREFIX,
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.name_norm >= $1 AND a.name_norm < $2 ORDER BY a.name_norm, a.id LIMIT $3",
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.name_norm COLLATE \"C\" LIKE $1 ESCAPE '\\' ORDER BY a.name_norm COLLATE \"C\", a.id LIMIT $2"
);
hot_sql!(
    SQL_SUBSTRING,
    EXPLAIN_SUBSTRING,
    "SELECT json_group_array(json_array(a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank)) \
     FROM (SELECT rowid FROM accounts_fts WHERE accounts_fts MATCH $1 LIMIT $2) AS f JOIN accounts a ON a.id = f.rowid",
    "SELECT CAST(json_agg(json_build_array(a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank)) AS TEXT) \
     FROM (SELECT id FROM accounts WHERE search_text LIKE $1 ESCAPE '\\' LIMIT $2) AS f JOIN accounts a ON a.id = f.id"
);
hot_sql!(
    SQL_DIGITS,
    EXPLAIN_DIGITS,
    "SELECT json_group_array(json_array(a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank)) \
     FROM (SELECT rowid FROM accounts_fts WHERE accounts_fts MATCH $1 LIMIT $2) AS f JOIN accounts a ON a.id = f.rowid",
    "SELECT CAST(json_agg(json_build_array(a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank)) AS TEXT) \
     FROM (SELECT id FROM accounts WHERE substr(msisdn, 2) LIKE $1 ESCAPE '\\' LIMIT $2) AS f JOIN accounts a ON a.id = f.id"
);
hot_sql!(
    SQL_WORKLIST,
    EXPLAIN_WORKLIST,
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank <= $1 ORDER BY a.loss_rank, a.account_no LIMIT $2",
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank <= $1 ORDER BY a.loss_rank, a.account_no LIMIT $2"
);
hot_sql!(
    SQL_WORKLIST_STATUS,
    EXPLAIN_WORKLIST_STATUS,
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank = $1 ORDER BY a.account_no LIMIT $2",
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank = $1 ORDER BY a.account_no LIMIT $2"
);

#[derive(Clone)]
pub struct SqlStore {
    pub(super) pool: sqlx::Pool<Db>,
    migrator: &'static sqlx::migrate::Migrator,
}

pub(super) fn col<T: FromStr>(row: &DbRow, name: &str) -> Result<T> {
    let text: String = row.try_get(name)?;
    text.parse::<T>()
        .map_err(|_| Error::System(format!("the database holds an unknown {name} \"{text}\"")))
}

fn summary(row: &DbRow) -> Result<AccountSummary> {
    let rank: i64 = row.try_get("loss_rank")?;
    Ok(AccountSummary {
        id: row.try_get("id")?,
        account_no: row.try_get("account_no")?,
        msisdn: row.try_get("msisdn")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        account_status: col(row, "status")?,
        status: CategoryStatus::from_rank(rank).unwrap_or(CategoryStatus::NotAffected),
    })
}

/// Account summaries aggregated by the database into one JSON array of
/// [id, account_no, msisdn, name, email, status, loss_rank].
fn summaries_from_json(json: Option<&str>) -> Result<Vec<AccountSummary>> {
    let rows: Vec<(i64, String, String, String, String, String, i64)> = match json {
        None | Some("") => Vec::new(),
        Some(j) => serde_json::from_str(j)
            .map_err(|e| Error::System(format!("unreadable search results: {e}")))?,
    };
    rows.into_iter()
        .map(|(id, account_no, msisdn, name, email, status, rank)| {
            Ok(AccountSummary {
                id,
                account_no,
                msisdn,
                name,
                email,
                account_status: status.parse().map_err(|_| {
                    Error::System(format!("the database holds an unknown status \"{status}\""))
                })?,
                status: CategoryStatus::from_rank(rank).unwrap_or(CategoryStatus::NotAffected),
            })
        })
        .collect()
}

fn incident(row: &DbRow) -> Result<Incident> {
    let cats: String = row.try_get("categories")?;
    Ok(Incident {
        id: row.try_get("id")?,
        title: row.try_get("title")?,
        started_at: row.try_get("started_at")?,
        ended_at: row.try_get("ended_at")?,
        snapshot_as_of: row.try_get("snapshot_as_of")?,
        categories: cats
            .split(',')
            .filter(|c| !c.is_empty())
            .map(Category::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| Error::System(format!("the incident's categories are unreadable: {e}")))?,
        advisory: row.try_get("advisory")?,
        credit_months: row.try_get("credit_months")?,
        appreciation_cents: row.try_get("appreciation_cents")?,
        currency: row.try_get("currency")?,
    })
}

pub(super) fn credit(row: &DbRow) -> Result<Credit> {
    Ok(Credit {
        id: row.try_get("id")?,
        account_no: row.try_get("account_no")?,
        incident: row.try_get("incident_id")?,
        kind: col(row, "kind")?,
        amount_cents: row.try_get("amount_cents")?,
        currency: row.try_get("currency")?,
        agent: row.try_get("agent")?,
        approver: row.try_get("approver")?,
        reason: row.try_get("reason")?,
        batch_run_id: row.try_get("batch_run_id")?,
        reverses: row.try_get("reverses")?,
        created_at: row.try_get("created_at")?,
    })
}

fn audit_record(row: &DbRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        agent: row.try_get("agent")?,
        role: row.try_get("role")?,
        action: row.try_get("action")?,
        account_no: row.try_get("account_no")?,
        object_id: row.try_get("object_id")?,
        outcome: row.try_get("outcome")?,
        detail: row.try_get("detail")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// One audit record as a JSON array, in the audit table's column order.
#[derive(serde::Serialize)]
struct AuditRowJson<'a>(
    i64,
    String,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    &'a str,
    &'a str,
    String,
    String,
);

/// Appends `entries` to the audit chain inside `tx`. Taking the head row with an UPDATE locks
/// it until the transaction ends, so concurrent writers on PostgreSQL queue here and the chain
/// never forks (on SQLite the write transaction already serialises them).
pub(crate) async fn append_audit(
    tx: &mut Transaction<'_, Db>,
    actor: &Actor,
    now: DateTime<Utc>,
    entries: &[AuditEntry],
) -> Result<i64> {
    let head = sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await?;
    let mut seq: i64 = head.try_get("seq")?;
    let mut hash: String = head.try_get("hash")?;
    let role = actor.role.as_str();
    // Many records (a batch chunk) go in as one JSON array, one statement.
    let mut rows: Vec<AuditRowJson<'_>> = Vec::with_capacity(entries.len());
    let at = now.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false);
    for e in entries {
        seq += 1;
        let next = Canonical {
            seq,
            at: now,
            agent: &actor.login,
            role,
            action: &e.action,
            account_no: e.account_no.as_deref(),
            object_id: e.object_id.as_deref(),
            outcome: &e.outcome,
            detail: &e.detail,
            prev_hash: &hash,
        }
        .hash();
        let prev = std::mem::replace(&mut hash, next.clone());
        rows.push(AuditRowJson(
            seq,
            at.clone(),
            &actor.login,
            role,
            &e.action,
            e.account_no.as_deref(),
            e.object_id.as_deref(),
            &e.outcome,
            &e.detail,
            prev,
            next,
        ));
    }
    if rows.len() == 1 {
        let r = &rows[0];
        sqlx::query(
            "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(r.0)
        .bind(now)
        .bind(r.2)
        .bind(r.3)
        .bind(r.4)
        .bind(r.5)
        .bind(r.6)
        .bind(r.7)
        .bind(r.8)
        .bind(&r.9)
        .bind(&r.10)
        .execute(&mut **tx)
        .await?;
    } else if !rows.is_empty() {
        let json = serde_json::to_string(&rows)
            .map_err(|e| Error::System(format!("cannot encode audit records: {e}")))?;
        sqlx::query(pick(
            "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
             SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10 \
             FROM jsonb_each(jsonb($1))",
            "INSERT INTO audit (seq, at, agent, role, action, account_no, object_id, outcome, detail, prev_hash, hash) \
             SELECT CAST(value->>0 AS BIGINT), CAST(value->>1 AS TIMESTAMPTZ), value->>2, value->>3, value->>4, value->>5, value->>6, \
                    value->>7, value->>8, value->>9, value->>10 FROM jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)",
        ))
        .bind(json)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&hash)
        .execute(&mut **tx)
        .await?;
    Ok(seq)
}

/// Recomputes the derived statuses of one account's categories and the account's rank, from
/// the impact facts and the backups, inside the transaction that changed them.
pub(crate) async fn refresh_status(
    tx: &mut Transaction<'_, Db>,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    super::bulk_ops::refresh_statuses(tx, &[account_id], now).await
}

impl SqlStore {
    pub(crate) fn from_pool(
        pool: sqlx::Pool<Db>,
        migrator: &'static sqlx::migrate::Migrator,
    ) -> Self {
        Self { pool, migrator }
    }

    pub fn pool(&self) -> &sqlx::Pool<Db> {
        &self.pool
    }

    /// A write transaction. SQLite's must take the write lock up front (`BEGIN IMMEDIATE`):
    /// a deferred transaction that reads and then writes can fail with SQLITE_BUSY when
    /// another writer got in between, whatever the busy timeout.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Db>> {
        Ok(match BACKEND {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ----- schema -------------------------------------------------------------------------

    /// Migrations this binary knows that the database has not applied yet.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let exists: bool = sqlx::query_scalar(pick(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations')",
        ))
        .fetch_one(&self.pool)
        .await?;
        let applied: Vec<i64> = if exists {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await?
        } else {
            Vec::new()
        };
        Ok(self
            .migrator
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    pub async fn migrate(&self) -> Result<()> {
        self.migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database holds anything worth a backup before a migration.
    pub async fn holds_data(&self) -> Result<bool> {
        let exists: bool = sqlx::query_scalar(pick(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agents')",
            "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'agents')",
        ))
        .fetch_one(&self.pool)
        .await?;
        if !exists {
            return Ok(false);
        }
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents)")
            .fetch_one(&self.pool)
            .await?)
    }

    /// A consistent copy of a SQLite database in one file (`VACUUM INTO`).
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        match BACKEND {
            Backend::Sqlite => {
                let target = path.to_string_lossy().to_string();
                sqlx::query("VACUUM INTO $1")
                    .bind(target)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
            Backend::Postgres => Err(Error::refused(
                "caredesk does not copy a PostgreSQL database; back it up with pg_dump",
            )),
        }
    }

    /// Planner statistics, and the search indexes made ready after bulk writes: on SQLite
    /// merged into one segment, on PostgreSQL their pending entries merged.
    pub async fn optimize(&self) -> Result<()> {
        if BACKEND == Backend::Sqlite {
            sqlx::query("INSERT INTO accounts_fts (accounts_fts) VALUES ('optimize')")
                .execute(&self.pool)
                .await?;
            // Sampled statistics are as good for these indexes and take a fraction of the time.
            let mut conn = self.pool.acquire().await?;
            sqlx::query("PRAGMA analysis_limit = 2000")
                .execute(&mut *conn)
                .await?;
            sqlx::query("ANALYZE").execute(&mut *conn).await?;
            return Ok(());
        }
        sqlx::query(GIN_MERGE_PENDING).execute(&self.pool).await?;
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// The login of the PostgreSQL connection (the only identity an agent has there).
    pub async fn session_user(&self) -> Result<Option<String>> {
        match BACKEND {
            Backend::Sqlite => Ok(None),
            Backend::Postgres => Ok(Some(
                sqlx::query_scalar("SELECT CAST(session_user AS TEXT)")
                    .fetch_one(&self.pool)
                    .await?,
            )),
        }
    }

    // ----- agents -------------------------------------------------------------------------

    pub async fn agent(&self, login: &str) -> Result<Option<Agent>> {
        let row = sqlx::query(
            "SELECT login, display_name, role, active, created_at FROM agents WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_row).transpose()
    }

    pub async fn agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(
            "SELECT login, display_name, role, active, created_at FROM agents ORDER BY login",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_row).collect()
    }

    /// Registers the first supervisor of an empty database (`init --admin`); refused once any
    /// agent exists, so it can never be used to mint a supervisor later.
    pub async fn bootstrap_admin(
        &self,
        login: &str,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents)")
            .fetch_one(&mut *tx)
            .await?;
        if any {
            return Err(Error::refused(
                "this database already has agents; a supervisor adds more with `caredesk agent add`",
            ));
        }
        insert_agent(&mut tx, login, login, Role::Supervisor, now).await?;
        insert_incident(&mut tx, incident).await?;
        let actor = Actor {
            login: login.to_string(),
            role: Role::Supervisor,
        };
        append_audit(
            &mut tx,
            &actor,
            now,
            &[
                AuditEntry::new("agent.init", "ok", format!("first supervisor {login}"))
                    .object(login),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_agent(
        &self,
        actor: &Actor,
        login: &str,
        display_name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE login = $1)")
                .bind(login)
                .fetch_one(&mut *tx)
                .await?;
        if exists {
            return Err(Error::invalid(format!(
                "the agent \"{login}\" already exists"
            )));
        }
        insert_agent(&mut tx, login, display_name, role, now).await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("agent.add", "ok", format!("role {}", role.as_str())).object(login)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn disable_agent(
        &self,
        actor: &Actor,
        login: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query("UPDATE agents SET active = FALSE WHERE login = $1 AND active")
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE login = $1)")
                    .bind(login)
                    .fetch_one(&mut *tx)
                    .await?;
            if !exists {
                return Err(Error::invalid(format!("there is no agent \"{login}\"")));
            }
            return Ok(false);
        }
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("agent.disable", "ok", "").object(login)],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

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

    // ----- lookup -------------------------------------------------------------------------

    pub async fn account_by_no(&self, account_no: &str) -> Result<Option<AccountSummary>> {
        let row = sqlx::query(SQL_BY_NO)
            .bind(account_no)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(summary).transpose()
    }

    pub async fn account_ids_by_msisdn(&self, msisdn: &str) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(SQL_BY_MSISDN)
            .bind(msisdn)
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn summaries_by_ids(&self, ids: &[i64]) -> Result<Vec<AccountSummary>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let row = sqlx::query("SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a WHERE a.id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
            if let Some(row) = row {
                out.push(summary(&row)?);
            }
        }
        Ok(out)
    }

    /// Accounts whose normalized name starts with `prefix`, by index.
    pub async fn search_name_prefix(
        &self,
        prefix: &str,
        limit: i64,
    ) -> Result<Vec<AccountSummary>> {
        let rows = match BACKEND {
            Backend::Sqlite => {
                let upper = format!("{prefix}\u{10FFFF}");
                sqlx::query(SQL_NAME_PREFIX)
                    .bind(prefix)
                    .bind(upper)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::query(SQL_NAME_PREFIX)
                    .bind(format!("{}%", escape_like(prefix)))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(summary).collect()
    }

    /// Accounts whose name or e-mail (`digits == false`) or phone digits (`digits == true`)
    /// contain `needle` (at least three characters), through the trigram index.
    pub async fn search_substring(
        &self,
        needle: &str,
        digits: bool,
    ) -> Result<Vec<AccountSummary>> {
        // The candidates come back as one JSON row: handing two hundred rows one by one
        // through the driver costs more than the index lookup itself.
        let json: Option<String> = match BACKEND {
            Backend::Sqlite => {
                let quoted = format!("\"{}\"", needle.replace('"', "\"\""));
                let expr = if digits {
                    format!("digits : {quoted}")
                } else {
                    format!("{{name email}} : {quoted}")
                };
                sqlx::query_scalar(SQL_SUBSTRING)
                    .bind(expr)
                    .bind(SEARCH_CANDIDATES)
                    .fetch_one(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::query_scalar(if digits { SQL_DIGITS } else { SQL_SUBSTRING })
                    .bind(format!("%{}%", escape_like(&needle.to_lowercase())))
                    .bind(SEARCH_CANDIDATES)
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        summaries_from_json(json.as_deref())
    }

    /// Accounts needing action, most urgent first (or all accounts of one status).
    pub async fn worklist(
        &self,
        status: Option<CategoryStatus>,
        limit: i64,
    ) -> Result<Vec<AccountSummary>> {
        let rows = match status {
            Some(s) => {
                sqlx::query(SQL_WORKLIST_STATUS)
                    .bind(s.rank())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query(SQL_WORKLIST)
                    .bind(CategoryStatus::RestoredPartial.rank())
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(summary).collect()
    }

    // ----- account detail -----------------------------------------------------------------

    /// Everything the account screen shows. The view is audited in the same transaction that
    /// reads it (SPEC.md §2: every view of an account's details has its audit record).
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
        let detail = read_detail(&mut tx, account_id).await?;
        let entry = if reveal {
            AuditEntry::new(
                "account.reveal",
                "ok",
                "unmasked name, e-mail and phone number",
            )
        } else {
            AuditEntry::new("account.view", "ok", "")
        };
        append_audit(
            &mut tx,
            actor,
            now,
            &[entry.account(&detail.summary.account_no)],
        )
        .await?;
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
        let account_no: String =
            sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
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
        let account_no: String =
            sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?;
        let row = sqlx::query("SELECT server_lost, permanent_loss FROM impact WHERE account_id = $1 AND incident_id = $2 AND category = $3")
            .bind(account_id)
            .bind(incident)
            .bind(category.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Err(Error::invalid(format!(
                "account {account_no} has no {} recorded for {incident}",
                category.as_str()
            )));
        };
        if !row.try_get::<bool, _>("server_lost")? {
            return Err(Error::refused(format!(
                "account {account_no}'s {} were not lost by the server",
                category.as_str()
            )));
        }
        if row.try_get::<bool, _>("permanent_loss")? {
            return Ok(false);
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

    // ----- audit --------------------------------------------------------------------------

    /// Recomputes the whole chain in sequence order and names the first record that does not
    /// match: a changed field, a broken link, a gap, or a head that disagrees with the tail.
    pub async fn audit_verify(&self) -> Result<AuditVerification> {
        self.audit_verify_at(&[]).await
    }

    /// `audit_verify`, also reporting the stored hash of each record in `anchors` (the
    /// sequence numbers of exported checkpoints) found on the way. The records and the head
    /// are read in one snapshot, so a write committing meanwhile cannot look like a gap.
    pub async fn audit_verify_at(&self, anchors: &[i64]) -> Result<AuditVerification> {
        use futures_util::TryStreamExt;
        let wanted: std::collections::HashSet<i64> = anchors.iter().copied().collect();
        let mut tx = match BACKEND {
            Backend::Sqlite => self.pool.begin().await?,
            Backend::Postgres => {
                self.pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?
            }
        };
        let mut rows = sqlx::query("SELECT * FROM audit ORDER BY seq").fetch(&mut *tx);
        let mut prev = crate::audit::GENESIS.to_string();
        let mut expected_seq = 1_i64;
        let mut records = 0_i64;
        let mut first_bad = None;
        let mut first_hash = None;
        let mut found = std::collections::BTreeMap::new();
        while let Some(row) = rows.try_next().await? {
            let r = audit_record(&row)?;
            records += 1;
            if r.seq == 1 {
                first_hash = Some(r.hash.clone());
            }
            if wanted.contains(&r.seq) {
                found.insert(r.seq, r.hash.clone());
            }
            if first_bad.is_none() {
                let computed = Canonical {
                    seq: r.seq,
                    at: r.at,
                    agent: &r.agent,
                    role: &r.role,
                    action: &r.action,
                    account_no: r.account_no.as_deref(),
                    object_id: r.object_id.as_deref(),
                    outcome: &r.outcome,
                    detail: &r.detail,
                    prev_hash: &r.prev_hash,
                }
                .hash();
                if r.seq != expected_seq {
                    first_bad = Some((
                        r.seq,
                        format!(
                            "record {} follows record {} (records are missing)",
                            r.seq,
                            expected_seq - 1
                        ),
                    ));
                } else if r.prev_hash != prev {
                    first_bad = Some((
                        r.seq,
                        format!("record {} does not link to record {}", r.seq, r.seq - 1),
                    ));
                } else if computed != r.hash {
                    first_bad = Some((
                        r.seq,
                        format!(
                            "record {} was altered: its content does not match its hash",
                            r.seq
                        ),
                    ));
                }
            }
            prev = r.hash;
            expected_seq = r.seq + 1;
        }
        drop(rows);
        let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        tx.rollback().await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("hash")?;
        let last_seq = expected_seq - 1;
        if first_bad.is_none() && (head_seq != last_seq || head_hash != prev) {
            first_bad = Some((
                head_seq,
                format!(
                    "the chain's head (record {head_seq}) does not match its last record ({last_seq}): records were removed or rewritten"
                ),
            ));
        }
        Ok(AuditVerification {
            records,
            head_seq,
            head_hash,
            last_seq,
            first_hash,
            anchors: found,
            first_bad,
        })
    }

    pub async fn audit_log(
        &self,
        account_no: Option<&str>,
        since: Option<DateTime<Utc>>,
        limit: i64,
    ) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT * FROM (SELECT * FROM audit WHERE ($1 IS NULL OR account_no = $1) AND ($2 IS NULL OR at >= $2) \
             ORDER BY seq DESC LIMIT $3) AS recent ORDER BY seq",
        )
        .bind(account_no)
        .bind(since)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_record).collect()
    }

    // ----- query plans --------------------------------------------------------------------

    /// The plan of every hot query, as (name, plan text). On PostgreSQL sequential scans are
    /// switched off for the session first, so a plan that still scans has no usable index
    /// (on a small test table the planner would scan anyway).
    pub async fn explain_hot_queries(&self) -> Result<Vec<(&'static str, String)>> {
        let mut conn = self.pool.acquire().await?;
        if BACKEND == Backend::Postgres {
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut *conn)
                .await?;
        }
        let fts_or_like = match BACKEND {
            Backend::Sqlite => "{name email} : \"ann\"".to_string(),
            Backend::Postgres => "%ann%".to_string(),
        };
        let plans = [
            (
                "account by number",
                sqlx::query(EXPLAIN_BY_NO)
                    .bind("310000001")
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "account by phone",
                sqlx::query(EXPLAIN_BY_MSISDN)
                    .bind("+12065550123")
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "name prefix",
                match BACKEND {
                    Backend::Sqlite => {
                        sqlx::query(EXPLAIN_NAME_PREFIX)
                            .bind("ann")
                            .bind("ann\u{10FFFF}")
                            .bind(50_i64)
                            .fetch_all(&mut *conn)
                            .await?
                    }
                    Backend::Postgres => {
                        sqlx::query(EXPLAIN_NAME_PREFIX)
                            .bind("ann%")
                            .bind(50_i64)
                            .fetch_all(&mut *conn)
                            .await?
                    }
                },
            ),
            (
                "substring",
                sqlx::query(EXPLAIN_SUBSTRING)
                    .bind(fts_or_like)
                    .bind(SEARCH_CANDIDATES)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "phone digits",
                sqlx::query(EXPLAIN_DIGITS)
                    .bind(match BACKEND {
                        Backend::Sqlite => "digits : \"555\"",
                        Backend::Postgres => "%555%",
                    })
                    .bind(SEARCH_CANDIDATES)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "worklist",
                sqlx::query(EXPLAIN_WORKLIST)
                    .bind(4_i64)
                    .bind(50_i64)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "worklist by status",
                sqlx::query(EXPLAIN_WORKLIST_STATUS)
                    .bind(0_i64)
                    .bind(50_i64)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
        ];
        if BACKEND == Backend::Postgres {
            sqlx::query("RESET enable_seqscan")
                .execute(&mut *conn)
                .await?;
        }
        let mut out = Vec::new();
        for (name, rows) in plans {
            let mut text = String::new();
            for r in &rows {
                // SQLite: (id, parent, notused, detail); PostgreSQL: one text column per line.
                let line: String = match BACKEND {
                    Backend::Sqlite => r.try_get(3)?,
                    Backend::Postgres => r.try_get(0)?,
                };
                text.push_str(&line);
                text.push('\n');
            }
            out.push((name, text));
        }
        Ok(out)
    }

    // ----- demo ---------------------------------------------------------------------------

    /// Writes one chunk of demo rows (JSON arrays of row arrays), one statement per table, in
    /// one transaction. The JSON is bound as a parameter; the SQL stays static.
    pub async fn demo_load_chunk(&self, c: &crate::demo::Chunk) -> Result<()> {
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
        next: &mut (dyn FnMut() -> Option<Result<crate::demo::Chunk>> + Send),
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

    /// The demo's first transaction: the incident its rows refer to.
    pub async fn demo_start(&self, inc: &Incident) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_incident(&mut tx, inc).await?;
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
        let row = sqlx::query("SELECT COUNT(*) AS n, CAST(COALESCE(SUM(amount_cents), 0) AS BIGINT) AS total FROM credits WHERE kind = 'incident'")
            .fetch_one(&self.pool)
            .await?;
        t.credited = row.try_get("n")?;
        t.credited_cents = row.try_get("total")?;
        Ok(t)
    }
}

/// Where a plan history starts when an import does not say (before any incident).
pub(super) fn history_start() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default()
}

fn agent_row(row: &DbRow) -> Result<Agent> {
    Ok(Agent {
        login: row.try_get("login")?,
        display_name: row.try_get("display_name")?,
        role: col::<Role>(row, "role")?,
        active: row.try_get("active")?,
        created_at: row.try_get("created_at")?,
    })
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

async fn insert_agent(
    tx: &mut Transaction<'_, Db>,
    login: &str,
    display_name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO agents (login, display_name, role, active, created_at) VALUES ($1, $2, $3, TRUE, $4)")
        .bind(login)
        .bind(display_name)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

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

async fn read_detail(tx: &mut Transaction<'_, Db>, account_id: i64) -> Result<AccountDetail> {
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
    for b in &mut backups {
        for r in sqlx::query("SELECT category, item_count, bad_items FROM backup_categories WHERE backup_id = $1 ORDER BY category")
            .bind(&b.id)
            .fetch_all(&mut **tx)
            .await?
        {
            b.categories.push(BackupCategory {
                category: col(&r, "category")?,
                item_count: r.try_get("item_count")?,
                bad_items: r.try_get("bad_items")?,
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
        .map(|r| {
            Ok(CreditRequest {
                id: r.try_get("id")?,
                incident: r.try_get("incident_id")?,
                kind: col(r, "kind")?,
                amount_cents: r.try_get("amount_cents")?,
                reason: r.try_get("reason")?,
                requested_by: r.try_get("requested_by")?,
                requested_at: r.try_get("requested_at")?,
                decided_by: r.try_get("decided_by")?,
                credit_id: r.try_get("credit_id")?,
            })
        })
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

    let mut timeline: Vec<TimelineEvent> = sqlx::query("SELECT at, agent, action, detail FROM audit WHERE account_no = $1 AND action <> 'note.add' ORDER BY seq DESC LIMIT 50")
        .bind(&summary.account_no)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(TimelineEvent {
                at: r.try_get("at")?,
                agent: r.try_get("agent")?,
                action: r.try_get("action")?,
                text: r.try_get("detail")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    timeline.extend(notes.iter().map(|n| TimelineEvent {
        at: n.created_at,
        agent: n.agent.clone(),
        action: "note".to_string(),
        text: n.body.clone(),
    }));
    timeline.sort_by_key(|e| std::cmp::Reverse(e.at));
    timeline.truncate(50);

    let incident = sqlx::query("SELECT * FROM incidents ORDER BY started_at DESC LIMIT 1")
        .fetch_optional(&mut **tx)
        .await?
        .as_ref()
        .map(incident)
        .transpose()?;

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
        incident,
        masked: false,
    })
}

/// One chunk of demo rows (JSON arrays of row arrays), one statement per table. The JSON is
/// bound as a parameter; the SQL stays static.
async fn write_demo_chunk(tx: &mut Transaction<'_, Db>, c: &crate::demo::Chunk) -> Result<()> {
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
