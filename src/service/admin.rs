//! The operator's use cases: bringing a database's schema up to date behind a backup of the
//! data it holds, and importing a file of accounts, impact rows or backups the way
//! `caredesk import` does (one connection with a large cache).

use std::path::{Path, PathBuf};

use super::Service;
use crate::domain::{Actor, Permission};
use crate::error::{Error, Result};
use crate::store::{ConnectOptions, DbUrl, ImportCounts, Store, backup};
use crate::with_store;

/// What `db migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Migrations applied (0: the database was up to date).
    pub applied: usize,
    /// Where the data was copied before migrating (a database with data only): the SQLite
    /// copy or the pg_dump archive caredesk wrote, or the archive `--backup-taken` named.
    pub backup: Option<PathBuf>,
    /// Whether `backup` is the operator's own archive (`--backup-taken`), checked, not taken.
    pub backup_checked: bool,
}

impl Service {
    /// Applies the pending migrations. A database that holds data is never migrated without a
    /// backup: a SQLite file is copied beside itself first (`PATH.pre-migrate-STAMP.bak`); a
    /// PostgreSQL database is dumped with pg_dump into `dump_dir`
    /// (`DB.pre-migrate-STAMP.dump`), or, when pg_dump is not installed, refused with the
    /// command to run unless `backup_taken` names a pg_dump archive of it (checked:
    /// `store::backup::check_archive`). Open the service with `OpenMode::Raw` to call this.
    pub async fn migrate_with_backup(
        &self,
        backup_taken: Option<&Path>,
        dump_dir: &Path,
    ) -> Result<Migration> {
        if backup_taken.is_some() && matches!(self.url(), DbUrl::Sqlite(_)) {
            return Err(Error::invalid(
                "--backup-taken applies to PostgreSQL; caredesk copies a SQLite database beside itself before migrating it",
            ));
        }
        let pending = with_store!(self.store(), s => s.pending_migrations().await)?;
        if pending.is_empty() {
            tracing::debug!("no pending migration");
            return Ok(Migration {
                applied: 0,
                backup: None,
                backup_checked: false,
            });
        }
        let holds = with_store!(self.store(), s => s.holds_data().await)?;
        let mut backup = None;
        let mut backup_checked = false;
        if holds {
            let stamp = self.now().format("%Y%m%dT%H%M%SZ");
            match (self.url(), backup_taken) {
                (DbUrl::Postgres(_), Some(file)) => {
                    let (f, name, now) =
                        (file.to_path_buf(), self.database_name().await?, self.now());
                    blocking(move || backup::check_archive(&f, &name, now)).await?;
                    tracing::info!(backup = %file.display(), "migrating behind the operator's pg_dump archive");
                    backup = Some(file.to_path_buf());
                    backup_checked = true;
                }
                (url, _) => {
                    let target = match url {
                        DbUrl::Sqlite(path) => {
                            let mut target = path.as_os_str().to_owned();
                            target.push(format!(".pre-migrate-{stamp}.bak"));
                            PathBuf::from(target)
                        }
                        DbUrl::Postgres(_) => dump_dir.join(format!(
                            "{}.pre-migrate-{stamp}.dump",
                            self.database_name().await?
                        )),
                    };
                    self.backup_to(&target).await.map_err(|e| {
                        if e.exit_code() == 3 {
                            // pg_dump is not installed: the command to run, then how to say so.
                            Error::refused(format!(
                                "{e}; then: caredesk db migrate --backup-taken {}",
                                target.display()
                            ))
                        } else {
                            Error::System(format!("the backup failed; nothing was migrated ({e})"))
                        }
                    })?;
                    tracing::info!(backup = %target.display(), "backup written before migrating");
                    backup = Some(target);
                }
            }
        }
        with_store!(self.store(), s => s.migrate().await)
            .map_err(|e| e.on_database(&self.url().display()))?;
        tracing::info!(applied = pending.len(), "migrations applied");
        Ok(Migration {
            applied: pending.len(),
            backup,
            backup_checked,
        })
    }

    /// `db backup PATH`: a consistent copy of the database, whole or not at all, never over an
    /// existing file nor into a missing folder. SQLite: `VACUUM INTO`; PostgreSQL: `pg_dump
    /// --format=custom` (refused with the command to run when pg_dump is not installed).
    pub async fn backup_to(&self, path: &Path) -> Result<()> {
        match self.url() {
            DbUrl::Sqlite(_) => with_store!(self.store(), s => s.backup_to(path).await),
            DbUrl::Postgres(url) => {
                let (url, path) = (url.clone(), path.to_path_buf());
                blocking(move || backup::dump(&url, &path)).await
            }
        }
    }

    /// The PostgreSQL database's own name (what pg_dump records in an archive).
    async fn database_name(&self) -> Result<String> {
        match self.store() {
            Store::Postgres(s) => s.current_database().await,
            Store::Sqlite(_) => Ok(String::new()),
        }
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

/// A SQLite demo file may be rebuilt, finished or not (a build that failed half-way left its
/// `demo_building` mark), as may a file with nothing in it yet; anything else is never
/// deleted.
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
    let mut is_demo = false;
    for key in ["demo", "demo_building"] {
        is_demo |= with_store!(&store, s => s.meta(key).await)
            .ok()
            .flatten()
            .is_some();
    }
    let is_demo = is_demo || !with_store!(&store, s => s.holds_anything().await)?;
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

/// Runs blocking work (a child process, file checks) off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::System(format!("a backup task stopped: {e}")))?
}
