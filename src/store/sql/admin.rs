//! Connection administration: migrations, backups, optimising, settings (`meta`), the session's login.

use chrono::{DateTime, Utc};

use super::*;
use crate::error::{Error, Result};
use crate::store::*;

/// PostgreSQL: merges the trigram indexes' pending lists. A bulk load leaves its entries
/// there and every search walks them until autovacuum merges them (a manual ANALYZE does not):
/// 148 pending pages after a million accounts made one search 15 ms instead of 6.
pub(super) const GIN_MERGE_PENDING: &str = "SELECT gin_clean_pending_list('accounts_search_trgm'), gin_clean_pending_list('accounts_digits_trgm')";

impl SqlStore {
    // ----- schema -------------------------------------------------------------------------

    /// Migrations this binary knows that the database has not applied yet. The first read of
    /// every service that opens the database (and of `db migrate`): a PostgreSQL login without
    /// rights on caredesk's tables is told here, once, where agents and auditors work.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        // pg_catalog lists every table; information_schema only those the login may use.
        let exists: bool = sqlx::query_scalar(pick(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')",
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = '_sqlx_migrations')",
        ))
        .fetch_one(&self.pool)
        .await?;
        let applied: Vec<i64> = if exists {
            match sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
            {
                Ok(v) => v,
                Err(e) => return Err(self.without_rights(e.into()).await),
            }
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

    /// `e`, or, when it is PostgreSQL's "permission denied" (SQLSTATE 42501,
    /// insufficient_privilege), the one sentence that tells the login it has no rights here:
    /// agents and auditors have none (docs/security.md), they work through `caredesk serve`.
    async fn without_rights(&self, e: Error) -> Error {
        let denied = matches!(
            &e,
            Error::Db(sqlx::Error::Database(d)) if d.code().as_deref() == Some("42501")
        );
        if !denied || BACKEND != Backend::Postgres {
            return e;
        }
        let login = match self.session_user().await {
            Ok(Some(login)) => crate::domain::sanitize(&login).into_owned(),
            _ => return e,
        };
        Error::refused(format!(
            "the database login \"{login}\" has no rights on caredesk's tables; agents and auditors work through the server: caredesk login {login} --server URL"
        ))
    }

    pub async fn migrate(&self) -> Result<()> {
        self.migrator.run(&self.pool).await?;
        Ok(())
    }

    /// Whether the database holds anything worth a backup before a migration.
    pub async fn holds_data(&self) -> Result<bool> {
        let exists: bool = sqlx::query_scalar(pick(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agents')",
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'agents')",
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

    /// Whether the database holds any agent or account (a demo that failed half-way holds
    /// accounts and no agent yet).
    pub async fn holds_anything(&self) -> Result<bool> {
        let exists: bool = sqlx::query_scalar(pick(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'accounts')",
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND tablename = 'accounts')",
        ))
        .fetch_one(&self.pool)
        .await?;
        if !exists {
            return Ok(false);
        }
        Ok(self.holds_data().await?
            || sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM accounts)")
                .fetch_one(&self.pool)
                .await?)
    }

    /// A consistent copy of a SQLite database in one file (`VACUUM INTO`), never over an
    /// existing file nor into a missing folder, written as `PATH.partial` and renamed only once
    /// whole: a copy cut short (a full disk, `kill -9`) never looks like a backup. PostgreSQL
    /// is backed up by pg_dump (`store::backup::dump`).
    pub async fn backup_to(&self, path: &std::path::Path) -> Result<()> {
        use crate::store::backup;
        if BACKEND == Backend::Postgres {
            return Err(Error::refused(
                "a PostgreSQL database is backed up with pg_dump (caredesk db backup PATH runs it)",
            ));
        }
        backup::check_folder(path)?;
        let partial = backup::partial_path(path);
        backup::discard(&partial);
        let copied = sqlx::query("VACUUM INTO $1")
            .bind(partial.to_string_lossy().to_string())
            .execute(&self.pool)
            .await;
        let done = match copied {
            Ok(_) => backup::publish(&partial, path),
            Err(e) => Err(Error::System(format!(
                "cannot write the backup {}: {}",
                path.display(),
                backup_failure(&e)
            ))),
        };
        if done.is_err() {
            backup::discard(&partial);
        }
        done
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

    /// The PostgreSQL database's name (what pg_dump records in an archive); "main" on SQLite.
    pub async fn current_database(&self) -> Result<String> {
        Ok(sqlx::query_scalar(pick(
            "SELECT 'main'",
            "SELECT CAST(current_database() AS TEXT)",
        ))
        .fetch_one(&self.pool)
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

    pub async fn set_meta(
        &self,
        actor: &Actor,
        key: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(&mut *tx)
            .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "config.set",
                "ok",
                format!("{key} = {value}"),
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Why SQLite could not write a copy, in words (the copy's disk, not the database's).
fn backup_failure(e: &sqlx::Error) -> String {
    let code = match e {
        sqlx::Error::Database(d) => d.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    match code.map(|c| c & 0xff) {
        Some(13) => "the disk is full".to_string(),
        Some(10) => {
            "a write failed (a disk error, or a limit on the size of files this process may write)"
                .to_string()
        }
        Some(14) => "the file cannot be created there".to_string(),
        Some(8) => "its folder is read-only".to_string(),
        _ => crate::error::db_sentence(e, None),
    }
}
