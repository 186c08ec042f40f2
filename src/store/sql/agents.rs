//! Agents: reading them, the first supervisor, adding them, and a supervisor's changes
//! (disable, enable, role), each audited.

use chrono::{DateTime, Utc};
use sqlx::{Row, Transaction};

use super::*;
use crate::domain::{AgentChange, AgentRefusal, AgentState, Role};
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
            "SELECT login, display_name, role, active, created_at, changed_by, changed_at FROM agents WHERE login = $1",
        )
        .bind(login)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(agent_row).transpose()
    }

    pub async fn agents(&self) -> Result<Vec<Agent>> {
        let rows = sqlx::query(
            "SELECT login, display_name, role, active, created_at, changed_by, changed_at FROM agents ORDER BY login",
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
        incident: Option<&Incident>,
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
        let actor = Actor {
            login: login.to_string(),
            role: Role::Supervisor,
        };
        let mut entries = vec![
            AuditEntry::new("agent.init", "ok", format!("first supervisor {login}")).object(login),
        ];
        if let Some(inc) = incident {
            insert_incident(&mut tx, inc).await?;
            entries.push(
                AuditEntry::new("incident.create", "ok", super::incidents::definition(inc))
                    .object(&inc.id),
            );
        }
        append_audit(&mut tx, &actor, now, &entries).await?;
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

    /// A supervisor's `change` of the agent `login`, decided by `domain::decide_change` on the
    /// agent's row as this transaction reads it: `false` for a replay (the agent is in that
    /// state already), which writes nothing.
    pub async fn change_agent(
        &self,
        actor: &Actor,
        login: &str,
        change: AgentChange,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        // A replay writes no audit record, so the acting supervisor is re-checked here too.
        recheck_actor(&mut tx, actor).await?;
        // Locked on PostgreSQL, so two supervisors changing one agent at once queue here.
        let target =
            agent_state(&mut tx, login, true)
                .await?
                .ok_or_else(|| AgentRefusal::NoSuchAgent {
                    login: login.to_string(),
                })?;
        let Some(next) = crate::domain::decide_change(actor, &target, change, now)? else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE agents SET active = $1, role = $2, changed_by = $3, changed_at = $4 WHERE login = $5",
        )
        .bind(next.active)
        .bind(next.role.as_str())
        .bind(&next.changed_by)
        .bind(next.changed_at)
        .bind(login)
        .execute(&mut *tx)
        .await?;
        let mut detail = match change {
            AgentChange::Role(_) => format!("role {} -> {}", target.role, next.role),
            AgentChange::Disable | AgentChange::Enable => format!("role {}", next.role),
        };
        // A disabled agent's sessions with every server end at once.
        if !next.active {
            let ended = super::sessions::revoke_sessions_of(&mut tx, login, now).await?;
            if ended > 0 {
                detail.push_str(&format!("; {ended} session(s) ended"));
            }
        }
        append_audit(
            &mut tx,
            actor,
            now,
            &[AuditEntry::new(change.action(), "ok", detail).object(login)],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// The agent `login`'s row as `tx` reads it: one primary-key read. `lock` takes the row for
/// update on PostgreSQL (for a change of the agent; only a login that may update `agents`
/// can), so concurrent changes of one agent queue.
pub(super) async fn agent_state(
    tx: &mut Transaction<'_, Db>,
    login: &str,
    lock: bool,
) -> Result<Option<AgentState>> {
    let sql = match (BACKEND, lock) {
        (Backend::Postgres, true) => {
            "SELECT login, role, active, changed_by, changed_at FROM agents WHERE login = $1 FOR UPDATE"
        }
        _ => "SELECT login, role, active, changed_by, changed_at FROM agents WHERE login = $1",
    };
    let row = sqlx::query(sql)
        .bind(login)
        .fetch_optional(&mut **tx)
        .await?;
    row.map(|r| {
        Ok(AgentState {
            login: r.try_get("login")?,
            role: col::<Role>(&r, "role")?,
            active: r.try_get("active")?,
            changed_by: r.try_get("changed_by")?,
            changed_at: r.try_get("changed_at")?,
        })
    })
    .transpose()
}
