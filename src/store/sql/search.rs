//! Lookups as the agent types: exact account and phone, name prefix, substrings, the worklist, and the EXPLAIN guard of the hot queries.

use sqlx::Row;

use super::*;
use crate::error::Result;
use crate::store::*;

/// Most candidates a substring search ranks before it caps its answer.
pub(super) const SEARCH_CANDIDATES: i64 = 200;

pub(super) fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl SqlStore {
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
                    format!("msisdn : {quoted}")
                } else {
                    format!("{{name_norm email}} : {quoted}")
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
            Backend::Sqlite => "{name_norm email} : \"ann\"".to_string(),
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
                        Backend::Sqlite => "msisdn : \"555\"",
                        Backend::Postgres => "%555%",
                    })
                    .bind(SEARCH_CANDIDATES)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "worklist",
                sqlx::query(EXPLAIN_WORKLIST)
                    .bind(0_i64)
                    .bind(4_i64)
                    .bind(50_i64)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "worklist by status",
                sqlx::query(EXPLAIN_WORKLIST)
                    .bind(2_i64)
                    .bind(2_i64)
                    .bind(50_i64)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "at risk, not advised",
                sqlx::query(EXPLAIN_NOT_ADVISED)
                    .bind(50_i64)
                    .fetch_all(&mut *conn)
                    .await?,
            ),
            (
                "approvals queue",
                sqlx::query(EXPLAIN_REQUESTS_PENDING)
                    .bind(200_i64)
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
}
