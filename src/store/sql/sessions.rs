//! Passwords and sessions of agents working through a server. Every change is one transaction
//! with its audit record; only a token's SHA-256 is kept.

use super::*;

impl SqlStore {
    pub async fn credentials(&self, login: &str) -> Result<Option<Credentials>> {
        let row = sqlx::query(
            "SELECT a.login, a.role, a.active, c.password_hash, c.one_time, c.failed_logins \
             FROM agents a LEFT JOIN agent_credentials c ON c.login = a.login WHERE a.login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            Ok(Credentials {
                login: r.try_get("login")?,
                role: col(&r, "role")?,
                active: r.try_get("active")?,
                password_hash: r.try_get("password_hash")?,
                one_time: r.try_get::<Option<bool>, _>("one_time")?.unwrap_or(false),
                // INTEGER: 32 bits on PostgreSQL.
                failed_logins: r
                    .try_get::<Option<i32>, _>("failed_logins")?
                    .map_or(0, i64::from),
            })
        })
        .transpose()
    }

    /// Sets `login`'s password to a one-time password (its hash) and ends its open sessions.
    pub async fn set_one_time_password(
        &self,
        actor: &Actor,
        login: &str,
        hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE login = $1)")
                .bind(login)
                .fetch_one(&mut *tx)
                .await?;
        if !exists {
            return Err(Error::invalid(format!("there is no agent \"{login}\"")));
        }
        sqlx::query(
            "INSERT INTO agent_credentials (login, password_hash, one_time, failed_logins, set_by, set_at) \
             VALUES ($1, $2, TRUE, 0, $3, $4) \
             ON CONFLICT (login) DO UPDATE SET password_hash = excluded.password_hash, one_time = TRUE, \
             failed_logins = 0, set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(login)
        .bind(hash)
        .bind(&actor.login)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let ended = revoke_sessions_of(&mut tx, login, now).await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(
                "agent.password",
                "ok",
                format!("one-time password set; {ended} session(s) ended"),
            )
            .object(login)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A failed login: counted against the agent (when it exists) and audited.
    pub async fn login_failed(
        &self,
        actor: &Actor,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE agent_credentials SET failed_logins = failed_logins + 1 WHERE login = $1",
        )
        .bind(&actor.login)
        .execute(&mut *tx)
        .await?;
        let failures: Option<i32> =
            sqlx::query_scalar("SELECT failed_logins FROM agent_credentials WHERE login = $1")
                .bind(&actor.login)
                .fetch_optional(&mut *tx)
                .await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("session.login", "refused", reason).object(&actor.login)],
        )
        .await?;
        tx.commit().await?;
        Ok(failures.map_or(1, i64::from))
    }

    /// Opens a session (and, after a one-time password, stores the agent's new one).
    pub async fn start_session(
        &self,
        actor: &Actor,
        token_hash: &str,
        new_password_hash: Option<&str>,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let mut entries = Vec::with_capacity(2);
        if let Some(hash) = new_password_hash {
            sqlx::query(
                "UPDATE agent_credentials SET password_hash = $2, one_time = FALSE, set_by = $1, set_at = $3 WHERE login = $1",
            )
            .bind(&actor.login)
            .bind(hash)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            entries.push(
                AuditEntry::new("agent.password", "ok", "one-time password changed")
                    .object(&actor.login),
            );
        }
        sqlx::query("UPDATE agent_credentials SET failed_logins = 0 WHERE login = $1")
            .bind(&actor.login)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, login, created_at, expires_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(token_hash)
        .bind(&actor.login)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        entries.push(
            AuditEntry::new(
                "session.login",
                "ok",
                format!(
                    "until {}",
                    expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ),
            )
            .object(&actor.login),
        );
        append_audit(&mut tx, actor, now, &entries).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        let row =
            sqlx::query("SELECT login, expires_at, revoked_at FROM sessions WHERE token_hash = $1")
                .bind(token_hash)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| {
            Ok(SessionRow {
                login: r.try_get("login")?,
                expires_at: r.try_get("expires_at")?,
                revoked_at: r.try_get("revoked_at")?,
            })
        })
        .transpose()
    }

    /// Ends one session (`logout`); false when it had already ended.
    pub async fn end_session(
        &self,
        actor: &Actor,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let ended = sqlx::query(
            "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if ended == 0 {
            return Ok(false);
        }
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("session.logout", "ok", "").object(&actor.login)],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Ends every open session of `login` inside `tx` (a password reset, a disabled agent).
pub(crate) async fn revoke_sessions_of(
    tx: &mut Transaction<'_, Db>,
    login: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    Ok(
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE login = $1 AND revoked_at IS NULL")
            .bind(login)
            .bind(now)
            .execute(&mut **tx)
            .await?
            .rows_affected(),
    )
}
