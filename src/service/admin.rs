//! The operator's use cases: bringing a database's schema up to date behind a backup of the
//! data it holds, and importing a file of accounts, impact rows or backups the way
//! `caredesk import` does (one connection with a large cache).

use std::path::{Path, PathBuf};

use super::Service;
use crate::domain::{Actor, Permission};
use crate::error::{Error, Result};
use crate::store::{ConnectOptions, DbUrl, ImportCounts, Store};
use crate::with_store;

/// What `db migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Migrations applied (0: the database was up to date).
    pub applied: usize,
    /// Where the data was copied before migrating (SQLite with data only).
    pub backup: Option<PathBuf>,
}

impl Service {
    /// Applies the pending migrations. A database that holds data is never migrated without a
    /// backup: a SQLite file is copied beside itself first (`PATH.pre-migrate-STAMP.bak`); a
    /// PostgreSQL database is refused unless the operator says a backup (pg_dump) exists.
    /// Open the service with `OpenMode::Raw` to call this.
    pub async fn migrate_with_backup(&self, backup_taken: bool) -> Result<Migration> {
        let pending = with_store!(self.store(), s => s.pending_migrations().await)?;
        if pending.is_empty() {
            tracing::debug!("no pending migration");
            return Ok(Migration {
                applied: 0,
                backup: None,
            });
        }
        let holds = with_store!(self.store(), s => s.holds_data().await)?;
        let mut backup = None;
        if holds {
            match self.url() {
                DbUrl::Sqlite(path) => {
                    let stamp = self.now().format("%Y%m%dT%H%M%SZ");
                    let mut target = path.as_os_str().to_owned();
                    target.push(format!(".pre-migrate-{stamp}.bak"));
                    let target = PathBuf::from(target);
                    with_store!(self.store(), s => s.backup_to(&target).await)?;
                    tracing::info!(backup = %target.display(), "backup written before migrating");
                    backup = Some(target);
                }
                DbUrl::Postgres(_) if !backup_taken => {
                    return Err(Error::refused(
                        "this PostgreSQL database holds data; back it up (pg_dump) and run again with --backup-taken",
                    ));
                }
                DbUrl::Postgres(_) => {}
            }
        }
        with_store!(self.store(), s => s.migrate().await)?;
        tracing::info!(applied = pending.len(), "migrations applied");
        Ok(Migration {
            applied: pending.len(),
            backup,
        })
    }

    /// `db grant` (PostgreSQL): this database's two groups, their privileges, the logins of
    /// `caredesk serve` (`servers`, created when missing), every active supervisor's login in
    /// the operator group, and nothing for anyone else (see `store::postgres::grants`).
    pub async fn grant_rights(
        &self,
        actor: &Actor,
        servers: &[String],
    ) -> Result<crate::store::postgres::GrantReport> {
        Self::require(actor, Permission::GrantRights)?;
        let Store::Postgres(s) = self.store() else {
            return Err(Error::invalid(
                "db grant applies to PostgreSQL only: a SQLite file has no logins, and who may open it is up to the file's permissions",
            ));
        };
        let mut logins: Vec<String> = Vec::with_capacity(servers.len());
        for login in servers {
            // Quoted by the server whatever it holds; kept to what a role name can be.
            if login.is_empty() || login.len() > 63 || login.chars().any(char::is_control) {
                return Err(Error::invalid(format!(
                    "\"{}\" is not a valid server login (1 to 63 bytes, no control characters)",
                    crate::domain::sanitize(login)
                )));
            }
            if s.agent(login).await?.is_some() {
                return Err(Error::invalid(format!(
                    "\"{login}\" is an agent's login; give the server a database login of its own (an agent's rights follow the agent's role)"
                )));
            }
            if !logins.contains(login) {
                logins.push(login.clone());
            }
        }
        s.grant_rights(actor, &logins, self.now()).await
    }

    /// Imports one file in one transaction, parsing on a thread of its own while the rows
    /// already parsed are written (every bad row is reported, and nothing written).
    pub async fn import_file(
        &self,
        actor: &Actor,
        what: ImportFile,
        file: &Path,
    ) -> Result<ImportCounts> {
        let source = crate::import::source_name(file);
        let data = crate::import::read_input(file)?;
        let counts = match what {
            ImportFile::Accounts => self.import_accounts_file(actor, &source, data).await,
            ImportFile::Impact => self.import_impact_file(actor, &source, data).await,
            ImportFile::Backups => self.import_backups_file(actor, &source, data).await,
        }?;
        tracing::info!(file = %source, ?what, rows = counts.rows, "file imported");
        Ok(counts)
    }
}

/// What a file given to `import_file` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFile {
    /// Accounts (CSV).
    Accounts,
    /// Impact rows (CSV).
    Impact,
    /// Backups (JSON Lines).
    Backups,
}

/// How an import opens the database: one connection with a large SQLite page cache (an
/// import of a million accounts updates indexes all over the file; with the default cache it
/// would spill and re-read pages many times).
pub fn import_connect_options() -> ConnectOptions {
    ConnectOptions {
        create: false,
        max_connections: 1,
        cache_kib: 256 * 1024,
        ..Default::default()
    }
}

/// A SQLite demo file may be rebuilt; anything else is never deleted.
pub async fn clear_old_demo(path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let url = DbUrl::Sqlite(path.to_path_buf());
    let store = Store::connect(
        &url,
        &ConnectOptions {
            create: false,
            max_connections: 1,
            ..Default::default()
        },
    )
    .await?;
    let is_demo = with_store!(&store, s => s.meta("demo").await)
        .ok()
        .flatten()
        .is_some();
    with_store!(&store, s => s.close().await);
    if !is_demo {
        return Err(Error::refused(format!(
            "{} is not a demo database; the demo never overwrites it (choose another --db)",
            path.display()
        )));
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p)
                .map_err(|e| Error::io(format!("cannot remove the old demo {}", p.display()), e))?;
        }
    }
    Ok(())
}
