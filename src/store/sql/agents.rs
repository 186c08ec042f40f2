//! Agents: reading them, the first supervisor, adding and disabling (each audited).

use chrono::{DateTime, Utc};
use sqlx::Transaction;

use super::*;
use crate::domain::Role;
use crate::error::{Error, Result};

pub(super) async fn insert_agent(
    tx: &mut Transaction<'_, Db>,
    login: &str,
    display_name: &str,
    role: Role,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO agents (login, display_name, role, active, created_at) VALUES ($1, $2, $3, TRUE, $4)")
        .bind(login)
        .bind(display_name)
        .bind(role.as_str())
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl SqlStore {
    // ----- agents -------------------------------------------------------------------------

    pub async fn agent(&self, login: &str) -> Result<Option<Agent>> {
        let row = sqlx::query(
            "SELECT login, display_name, role, active, created_at FROM agents WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_row).transpose()
    }

    pub async fn agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(
            "SELECT login, display_name, role, active, created_at FROM agents ORDER BY login",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(agent_row).collect()
    }

    /// Registers the first supervisor of an empty database (`init --admin`); refused once any
    /// agent exists, so it can never be used to mint a supervisor later.
    pub async fn bootstrap_admin(
        &self,
        login: &str,
        incident: &Incident,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let any: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents)")
            .fetch_one(&mut *tx)
            .await?;
        if any {
            return Err(Error::refused(
                "this database already has agents; a supervisor adds more with `caredesk agent add`",
            ));
        }
        insert_agent(&mut tx, login, login, Role::Supervisor, now).await?;
        insert_incident(&mut tx, incident).await?;
        let actor = Actor {
            login: login.to_string(),
            role: Role::Supervisor,
        };
        append_audit(
            &mut tx,
            &actor,
            now,
            &[
                AuditEntry::new("agent.init", "ok", format!("first supervisor {login}"))
                    .object(login),
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn add_agent(
        &self,
        actor: &Actor,
        login: &str,
        display_name: &str,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE login = $1)")
                .bind(login)
                .fetch_one(&mut *tx)
                .await?;
        if exists {
            return Err(Error::invalid(format!(
                "the agent \"{login}\" already exists"
            )));
        }
        insert_agent(&mut tx, login, display_name, role, now).await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("agent.add", "ok", format!("role {}", role.as_str())).object(login)],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn disable_agent(
        &self,
        actor: &Actor,
        login: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query("UPDATE agents SET active = FALSE WHERE login = $1 AND active")
            .bind(login)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed == 0 {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM agents WHERE login = $1)")
                    .bind(login)
                    .fetch_one(&mut *tx)
                    .await?;
            if !exists {
                return Err(Error::invalid(format!("there is no agent \"{login}\"")));
            }
            return Ok(false);
        }
        // Disabling ends the agent's sessions at once, in the same transaction.
        super::sessions::revoke_sessions_of(&mut tx, login, now).await?;
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new("agent.disable", "ok", "").object(login)],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
