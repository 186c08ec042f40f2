//! The embedded SQLite backend: the shared operations with `Db = Sqlite`, plus how to open a
//! file with the pragmas caredesk relies on (WAL, foreign keys, busy timeout).

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Backend, ConnectOptions};
use crate::error::{Error, Result};

type Db = sqlx::Sqlite;
const BACKEND: Backend = Backend::Sqlite;

// The same SQL is compiled once per backend on purpose (see store/sql/mod.rs).
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
pub use sql::SqlStore;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

impl SqlStore {
    pub async fn connect_sqlite(path: &Path, opts: &ConnectOptions) -> Result<Self> {
        if !opts.create && !path.exists() {
            return Err(Error::invalid(format!(
                "the database {} does not exist; create it with `caredesk init --admin LOGIN` or `caredesk demo`",
                path.display()
            )));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io(format!("cannot create the folder {}", dir.display()), e))?;
        }
        let options = SqliteConnectOptions::from_str("sqlite:")
            .map_err(Error::Db)?
            .filename(path)
            .create_if_missing(opts.create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(opts.lock_timeout)
            .pragma("cache_size", format!("-{}", opts.cache_kib))
            .pragma("temp_store", "memory");
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await?;
        Ok(Self::from_pool(pool, &MIGRATOR))
    }
}
