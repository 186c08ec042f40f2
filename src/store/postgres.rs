//! The shared PostgreSQL backend: the shared operations with `Db = Postgres`, plus how to open
//! a pool.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{Backend, ConnectOptions};
use crate::error::{Error, Result};

type Db = sqlx::Postgres;
const BACKEND: Backend = Backend::Postgres;

// The same SQL is compiled once per backend on purpose (see store/sql/mod.rs).
mod grants;
#[allow(clippy::duplicate_mod)]
#[path = "sql/mod.rs"]
mod sql;
pub use grants::GrantReport;
pub use sql::SqlStore;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl SqlStore {
    pub async fn connect_postgres(url: &str, opts: &ConnectOptions) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|_| {
                Error::invalid(format!(
                    "the database URL \"{}\" is not a valid PostgreSQL URL",
                    super::redact_url(url)
                ))
            })?
            .application_name("caredesk")
            // Plan every statement with its actual parameters. A generic plan cannot tell a
            // search for "jos" (seen in a tenth of all names: a sequential scan stops after the
            // first 200 matches) from a rare one (the trigram index wins), and after five runs
            // PostgreSQL would settle on the index for both: 75 ms instead of 1 ms.
            .options([
                ("plan_cache_mode", "force_custom_plan".to_string()),
                (
                    "lock_timeout",
                    format!("{}ms", opts.lock_timeout.as_millis()),
                ),
            ]);
        // Like psql: without a user in the URL or PGUSER, connect as the OS login.
        let options = if url_has_user(url) || std::env::var_os("PGUSER").is_some() {
            options
        } else {
            options.username(&super::os_login())
        };
        // One connection first, so a server that is down or refuses the login says why at
        // once (the pool would retry until its timeout and say only that it timed out).
        let unreachable = |e: sqlx::Error| {
            Error::System(format!(
                "cannot connect to the database {}: {}",
                super::redact_url(url),
                super::redact_url(&crate::error::driver_text(&e))
            ))
        };
        let probe = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
            .await
            .map_err(unreachable)?;
        let _ = sqlx::Connection::close(probe).await;
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(unreachable)?;
        Ok(Self::from_pool(pool, &MIGRATOR))
    }
}

fn url_has_user(url: &str) -> bool {
    url.split_once("://")
        .map(|(_, rest)| rest.split(['/', '?']).next().unwrap_or("").contains('@'))
        .unwrap_or(false)
}
