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
        let pool_options = SqlitePoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout);
        let pool = match pool_options.clone().connect_with(options.clone()).await {
            Ok(pool) => pool,
            Err(e) if read_only_folder(path, &e) => {
                // SQLite in WAL mode creates `-wal` and `-shm` files beside the database even
                // to read it; in a folder this user cannot write, only an immutable read-only
                // open reads it (writes then fail, saying why).
                tracing::warn!(
                    db = %path.display(),
                    "the database's folder is read-only for this user: opened read-only"
                );
                pool_options
                    .connect_with(options.read_only(true).immutable(true))
                    .await?
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Self::from_pool(pool, &MIGRATOR))
    }
}

/// Whether opening `path` failed because its folder cannot be written (SQLITE_READONLY or
/// SQLITE_CANTOPEN on an existing file whose folder refuses a new file).
fn read_only_folder(path: &Path, e: &sqlx::Error) -> bool {
    let code = match e {
        sqlx::Error::Database(d) => d.code().and_then(|c| c.parse::<i32>().ok()),
        _ => None,
    };
    if !matches!(code.map(|c| c & 0xff), Some(8 | 14)) || !path.is_file() {
        return false;
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    matches!(
        tempfile::tempfile_in(dir),
        Err(e) if matches!(
            e.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
        )
    )
}
