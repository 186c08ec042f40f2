//! A team on one database: presence (who has an account open on a screen) and the audit tail
//! that tells SQLite's screens what a commit changed. Presence is not audited: the view that
//! opened the account was.

use chrono::TimeDelta;

use super::*;
use crate::domain::Presence;

/// Rows past their lapse by this many lapses are deleted by the next heartbeat of anyone.
const PRESENCE_KEEP_LAPSES: i32 = 10;

impl SqlStore {
    /// A screen's heartbeat: `screen` (a random id the screen chose) of `login` has
    /// `account_id` open, or no account (`None`: the screen's row goes). Answers the other
    /// agents whose screens have that account open now, longest first.
    pub async fn presence_beat(
        &self,
        screen: &str,
        login: &str,
        account_id: Option<i64>,
        now: DateTime<Utc>,
        lapse: TimeDelta,
    ) -> Result<Vec<Presence>> {
        let mut tx = self.begin_write().await?;
        match account_id {
            None => {
                sqlx::query("DELETE FROM presence WHERE screen = $1 AND login = $2")
                    .bind(screen)
                    .bind(login)
                    .execute(&mut *tx)
                    .await?;
            }
            Some(id) => {
                // A screen id is the screen's own: another login's row is never taken over.
                sqlx::query(
                    "INSERT INTO presence (screen, login, account_id, since, seen_at) VALUES ($1, $2, $3, $4, $4) \
                     ON CONFLICT (screen) DO UPDATE SET \
                       since = CASE WHEN presence.account_id = excluded.account_id THEN presence.since ELSE excluded.since END, \
                       account_id = excluded.account_id, seen_at = excluded.seen_at \
                     WHERE presence.login = excluded.login",
                )
                .bind(screen)
                .bind(login)
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        sqlx::query("DELETE FROM presence WHERE seen_at < $1")
            .bind(now - lapse * PRESENCE_KEEP_LAPSES)
            .execute(&mut *tx)
            .await?;
        let others = match account_id {
            None => Vec::new(),
            Some(id) => {
                let rows = sqlx::query(
                    "SELECT p.login, g.display_name, MIN(p.since) AS since FROM presence p \
                     JOIN agents g ON g.login = p.login \
                     WHERE p.account_id = $1 AND p.login <> $2 AND p.seen_at > $3 \
                     GROUP BY p.login, g.display_name ORDER BY since, p.login",
                )
                .bind(id)
                .bind(login)
                .bind(now - lapse)
                .fetch_all(&mut *tx)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok(Presence {
                            login: r.try_get("login")?,
                            display_name: r.try_get("display_name")?,
                            since: r.try_get("since")?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?
            }
        };
        tx.commit().await?;
        Ok(others)
    }

    /// Whether `login` has `account_id` open on a screen whose heartbeat is within `lapse`.
    pub async fn is_open_by(
        &self,
        login: &str,
        account_id: i64,
        now: DateTime<Utc>,
        lapse: TimeDelta,
    ) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM presence WHERE account_id = $1 AND login = $2 AND seen_at > $3)",
        )
        .bind(account_id)
        .bind(login)
        .bind(now - lapse)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn account_no_by_id(&self, account_id: i64) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT account_no FROM accounts WHERE id = $1")
                .bind(account_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// An account's details as its screen re-reads them after a change, without a view record
    /// (the service checks the account is open on the agent's screen).
    pub async fn account_detail_unaudited(&self, account_id: i64) -> Result<AccountDetail> {
        let mut tx = self.pool.begin().await?;
        let detail = super::accounts::read_detail(&mut tx, account_id).await?;
        tx.commit().await?;
        Ok(detail)
    }

    /// The audit chain's last sequence number.
    pub async fn audit_head_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Audit records after `after`, oldest first, at most `limit`: their sequence number,
    /// action and account.
    pub async fn audit_tail(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, String, Option<String>)>> {
        let rows = sqlx::query(
            "SELECT seq, action, account_no FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("seq")?,
                    r.try_get("action")?,
                    r.try_get("account_no")?,
                ))
            })
            .collect()
    }
}

/// On PostgreSQL, tells the listening servers and screens which accounts the transaction's
/// audit records name, when it commits (a notification carries ids only; identical ones in a
/// transaction arrive once). SQLite's screens read the audit tail instead.
pub(super) async fn notify_change(
    tx: &mut Transaction<'_, Db>,
    entries: &[AuditEntry],
) -> Result<()> {
    if BACKEND != Backend::Postgres {
        return Ok(());
    }
    let Some(change) = crate::domain::Change::of_records(
        entries
            .iter()
            .map(|e| (e.action.as_str(), e.account_no.as_deref())),
    ) else {
        return Ok(());
    };
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::store::watch::CHANGES_CHANNEL)
        .bind(change.to_payload())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
