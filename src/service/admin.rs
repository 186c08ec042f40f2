//! The operator's use cases: bringing a database's schema up to date behind a backup of the
//! data it holds, and importing a file of accounts, impact rows or backups the way
//! `caredesk import` does (one connection with a large cache).

use std::path::{Path, PathBuf};

use super::Service;
use crate::domain::Actor;
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

    /// Imports one file in one transaction, parsing on a thread of its own while the rows
    /// already parsed are written (every bad row is reported, and nothing written).
    pub async fn import_file(
        &self,
        actor: &Actor,
        what: ImportFile,
        file: &Path,
    ) -> Result<ImportCounts> {
        let source = file.display().to_string();
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
