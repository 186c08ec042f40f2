//! The store's SQL, written once and compiled per backend: `sqlite.rs` and `postgres.rs` each
//! include this folder with `Db` fixed to their sqlx database type, so every statement is
//! checked for both. One file per topic; `tx.rs` holds what every write transaction shares
//! (the audit append), `rows.rs` the row mapping. Dialect differences are explicit
//! `pick(sqlite, postgres)` choices between static SQL strings with bound parameters.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::{BACKEND, Backend, Db};
use crate::domain::{
    AccountDetail, AccountOutcome, AccountSummary, Actor, Agent, Backup, BackupCategory, BatchRun,
    CategoryState, Credit, CreditOutcome, CreditRequest, Incident, Note, Outcome, Plan,
    RejectOutcome, RequestOutcome, RequestStatus, RequestView, RestoreCategory, RestoreOutcome,
    RestoreRecord, RestoreReport, ResyncReport, Tally, TimelineEvent, UndoCategory, UndoReport,
};
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
     WHERE a.loss_rank BETWEEN $1 AND $2 ORDER BY a.loss_rank, a.account_no LIMIT $3",
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank BETWEEN $1 AND $2 ORDER BY a.loss_rank, a.account_no LIMIT $3"
);
hot_sql!(
    SQL_NOT_ADVISED,
    EXPLAIN_NOT_ADVISED,
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank = 0 AND EXISTS (SELECT 1 FROM impact i WHERE i.account_id = a.id AND i.status = 'at-risk' \
       AND NOT EXISTS (SELECT 1 FROM advice v WHERE v.account_id = i.account_id AND v.incident_id = i.incident_id)) \
     ORDER BY a.loss_rank, a.account_no LIMIT $1",
    "SELECT a.id, a.account_no, a.msisdn, a.name, a.email, a.status, a.loss_rank FROM accounts a \
     WHERE a.loss_rank = 0 AND EXISTS (SELECT 1 FROM impact i WHERE i.account_id = a.id AND i.status = 'at-risk' \
       AND NOT EXISTS (SELECT 1 FROM advice v WHERE v.account_id = i.account_id AND v.incident_id = i.incident_id)) \
     ORDER BY a.loss_rank, a.account_no LIMIT $1"
);

/// The requests of every account with the account's number and name and the incident's
/// currency (what `rows::request_view` reads), and `$tail`'s filter and order.
macro_rules! request_select {
    ($tail:literal) => {
        concat!(
            "SELECT r.*, a.account_no, a.name, i.currency FROM credit_requests r \
             JOIN accounts a ON a.id = r.account_id JOIN incidents i ON i.id = r.incident_id ",
            $tail
        )
    };
}

// The approvals queue, which every supervisor's screen re-reads as requests come and go: the
// pending requests through their partial index, oldest first.
hot_sql!(
    SQL_REQUESTS_PENDING,
    EXPLAIN_REQUESTS_PENDING,
    "SELECT r.*, a.account_no, a.name, i.currency FROM credit_requests r \
     JOIN accounts a ON a.id = r.account_id JOIN incidents i ON i.id = r.incident_id \
     WHERE r.decided_at IS NULL ORDER BY r.requested_at, r.id LIMIT $1",
    "SELECT r.*, a.account_no, a.name, i.currency FROM credit_requests r \
     JOIN accounts a ON a.id = r.account_id JOIN incidents i ON i.id = r.incident_id \
     WHERE r.decided_at IS NULL ORDER BY r.requested_at, r.id LIMIT $1"
);

#[derive(Clone)]
pub struct SqlStore {
    pub(super) pool: sqlx::Pool<Db>,
    migrator: &'static sqlx::migrate::Migrator,
    /// Accounts in one SQLite import above which the search index stops merging while the
    /// rows go in (`imports::FTS_BULK_ACCOUNTS` unless a test sets it smaller).
    pub(super) fts_bulk_accounts: usize,
}

pub(super) fn col<T: FromStr>(row: &DbRow, name: &str) -> Result<T> {
    let text: String = row.try_get(name)?;
    text.parse::<T>()
        .map_err(|_| Error::System(format!("the database holds an unknown {name} \"{text}\"")))
}

/// Where a plan history starts when an import does not say (before any incident).
pub(super) fn history_start() -> DateTime<Utc> {
    DateTime::from_timestamp(946_684_800, 0).unwrap_or_default()
}

/// A ledger row with its account number (what `rows::credit` reads), and `$tail`'s filter.
macro_rules! credit_select {
    ($tail:literal) => {
        concat!(
            "SELECT c.*, a.account_no FROM credits c JOIN accounts a ON a.id = c.account_id ",
            $tail
        )
    };
}

mod accounts;
mod admin;
mod agents;
mod audit;
mod batch;
mod contact;
mod credits;
mod demo_load;
mod eligibility;
mod import_backups;
mod imports;
mod incidents;
mod live;
mod restore_facts;
mod restores;
mod resync;
mod rows;
mod search;
mod sessions;
mod statuses;
mod tx;
mod undo;

use agents::*;
use eligibility::*;
use imports::*;
use incidents::*;
use restore_facts::*;
use rows::*;
use statuses::*;
pub(super) use tx::append_audit;
use tx::*;

impl SqlStore {
    pub(crate) fn from_pool(
        pool: sqlx::Pool<Db>,
        migrator: &'static sqlx::migrate::Migrator,
    ) -> Self {
        Self {
            pool,
            migrator,
            fts_bulk_accounts: FTS_BULK_ACCOUNTS,
        }
    }

    /// Sets the import size above which SQLite's search index is merged once at the end
    /// instead of as the rows go in.
    pub fn set_fts_bulk_accounts(&mut self, accounts: usize) {
        self.fts_bulk_accounts = accounts;
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
}
