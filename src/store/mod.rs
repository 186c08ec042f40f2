//! Storage: one set of use-case transactions written once (`ops.rs`) and compiled for each
//! backend (`sqlite.rs`, `postgres.rs`), chosen at run time from the database URL.
//!
//! `ops.rs` is included as a module of both backend files with `Db` fixed to the backend's
//! sqlx database type, so every query is monomorphised and checked for both without a wall of
//! generic bounds; dialect differences are explicit `pick(sqlite, postgres)` choices between
//! static SQL strings. All SQL is static text with bound parameters.

pub mod backup;
pub mod postgres;
pub mod restore_types;
pub mod sqlite;
pub mod types;
pub mod watch;

use std::path::PathBuf;

pub use crate::domain::privacy::redact_url;
pub use restore_types::*;
pub use types::*;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// The OS login: the acting agent's last fallback on SQLite, and PostgreSQL's user when
/// neither the URL nor `PGUSER` names one (as psql does).
pub fn os_login() -> String {
    whoami::username()
}

/// Where the database is, as the user gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DbUrl {
    /// `sqlite:PATH`, `sqlite://PATH`, `postgres://…` or `postgresql://…`.
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(Error::invalid(
                    "the database URL \"sqlite:\" names no file; use sqlite:PATH",
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        Err(Error::invalid(format!(
            "the database URL \"{}\" is neither sqlite:PATH nor postgres://…",
            redact_url(url)
        )))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL in full (with any password), to hand to a child process such as a server.
    pub fn to_url_string(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite:{}", p.display()),
            Self::Postgres(u) => u.clone(),
        }
    }

    /// The URL with any password hidden, for messages and the status bar.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite:{}", p.display()),
            Self::Postgres(u) => redact_url(u),
        }
    }
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub acquire_timeout: std::time::Duration,
    /// Create the SQLite file when it does not exist.
    pub create: bool,
    /// SQLite page cache per connection, in KiB. Small for the screen and commands (memory
    /// stays flat whatever the database size); large for bulk builds.
    pub cache_kib: u32,
    /// How long a statement waits for a lock another session holds before it fails (SQLite's
    /// busy timeout for the write lock; PostgreSQL's `lock_timeout`).
    pub lock_timeout: std::time::Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: std::time::Duration::from_secs(10),
            create: true,
            cache_kib: 8 * 1024,
            lock_timeout: std::time::Duration::from_secs(30),
        }
    }
}

impl ConnectOptions {
    /// The defaults, tuned by the environment: `CAREDESK_POOL` (connections, 1 to 500),
    /// `CAREDESK_ACQUIRE_TIMEOUT` (seconds to wait for a free connection, 1 to 3600) and
    /// `CAREDESK_LOCK_TIMEOUT` (seconds to wait for a lock, 1 to 3600).
    pub fn from_env() -> crate::error::Result<Self> {
        Self::default().tuned(|k| std::env::var(k).ok())
    }

    /// The settings `var` names override (`from_env` with the environment as `var`).
    pub fn tuned(mut self, var: impl Fn(&str) -> Option<String>) -> crate::error::Result<Self> {
        let read = |key: &str, max: u64| -> crate::error::Result<Option<u64>> {
            let Some(v) = var(key).filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            match v.trim().parse::<u64>() {
                Ok(n) if (1..=max).contains(&n) => Ok(Some(n)),
                _ => Err(crate::error::Error::invalid(format!(
                    "{key} must be a whole number from 1 to {max}, not \"{}\"",
                    crate::domain::sanitize(v.trim())
                ))),
            }
        };
        if let Some(n) = read("CAREDESK_POOL", 500)? {
            self.max_connections = u32::try_from(n).unwrap_or(500);
        }
        if let Some(s) = read("CAREDESK_ACQUIRE_TIMEOUT", 3600)? {
            self.acquire_timeout = std::time::Duration::from_secs(s);
        }
        if let Some(s) = read("CAREDESK_LOCK_TIMEOUT", 3600)? {
            self.lock_timeout = std::time::Duration::from_secs(s);
        }
        Ok(self)
    }
}

/// The store of either backend.
#[derive(Clone)]
pub enum Store {
    Sqlite(sqlite::SqlStore),
    Postgres(postgres::SqlStore),
}

/// Runs the same expression against whichever backend the store holds.
#[macro_export]
macro_rules! with_store {
    ($store:expr, $s:ident => $body:expr) => {
        match $store {
            $crate::store::Store::Sqlite($s) => $body,
            $crate::store::Store::Postgres($s) => $body,
        }
    };
}

impl Store {
    /// Opens (and for SQLite creates) the database, without migrating it.
    /// Errors name the database (`Error::on_database`).
    pub async fn connect(url: &DbUrl, opts: &ConnectOptions) -> Result<Self> {
        let store = match url {
            DbUrl::Sqlite(path) => sqlite::SqlStore::connect_sqlite(path, opts)
                .await
                .map(Self::Sqlite),
            DbUrl::Postgres(u) => postgres::SqlStore::connect_postgres(u, opts)
                .await
                .map(Self::Postgres),
        };
        store.map_err(|e| e.on_database(&url.display()))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectOptions;

    #[test]
    fn pool_and_timeouts_are_tuned_by_the_environment_and_checked() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(key, _)| *key == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let o = ConnectOptions::default()
            .tuned(env(&[
                ("CAREDESK_POOL", "32"),
                ("CAREDESK_ACQUIRE_TIMEOUT", "5"),
                ("CAREDESK_LOCK_TIMEOUT", " 2 "),
            ]))
            .expect("valid");
        assert_eq!(o.max_connections, 32);
        assert_eq!(o.acquire_timeout.as_secs(), 5);
        assert_eq!(o.lock_timeout.as_secs(), 2);
        let d = ConnectOptions::default().tuned(env(&[])).expect("defaults");
        assert_eq!(d.max_connections, 8);
        for bad in [
            [("CAREDESK_POOL", "0")],
            [("CAREDESK_POOL", "many")],
            [("CAREDESK_LOCK_TIMEOUT", "-1")],
        ] {
            let leaked: &'static [(&'static str, &'static str)] = Box::leak(Box::new(bad));
            let e = ConnectOptions::default()
                .tuned(env(leaked))
                .expect_err("refused");
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(leaked[0].0), "{e}");
        }
    }
}
